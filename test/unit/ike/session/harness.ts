/**
 * Wiring for exchange tests: an IkeSession (the initiator under test) and a
 * TestResponder exchanging datagrams in memory, with the clock under the
 * test's control. Every datagram the session sends goes to the responder
 * (unless a test's `drop` says otherwise) and every answer comes back.
 */
import type { ChildSaSpec, Endpoint, IkeAction, IkeEvent, IkeFailure } from '../../../../native-helper/src/ike/actions.js';
import { EncrId, IntegId, KeId, PrfId } from '../../../../native-helper/src/ike/constants.js';
import type { EspSuite, IkeSuite } from '../../../../native-helper/src/ike/crypto/suite.js';
import { parseEspProposals, parseIkeProposals } from '../../../../native-helper/src/ike/proposals.js';
import { IkeSession } from '../../../../native-helper/src/ike/session.js';
import type { IkeSessionConfig } from '../../../../native-helper/src/ike/session.js';
import { selectorFromCidr } from '../../../../native-helper/src/ike/traffic-selectors.js';
import { parseIdentity } from '../../../../native-helper/src/pki/identity.js';
import { TestResponder, seededRandom } from '../../../support/test-responder.js';
import type { ResponderConfig } from '../../../support/test-responder.js';

export const CLIENT: Endpoint = { address: '192.0.2.2', port: 500 };
export const GATEWAY: Endpoint = { address: '192.0.2.1', port: 500 };
export const T0 = Date.UTC(2025, 0, 15, 12, 0, 0);
export const PSK = new TextEncoder().encode('test-psk-0123456789');

export const GW_IKE: readonly IkeSuite[] = [
  { encr: EncrId.AES_GCM_16, encrKeyLength: 256, prf: PrfId.HMAC_SHA2_256, ke: KeId.ECP_256 },
  { encr: EncrId.AES_CBC, encrKeyLength: 256, prf: PrfId.HMAC_SHA2_256, integ: IntegId.HMAC_SHA2_256_128, ke: KeId.MODP_2048 },
];
export const GW_ESP: readonly EspSuite[] = [
  { encr: EncrId.AES_GCM_16, encrKeyLength: 256, esn: false },
  { encr: EncrId.AES_CBC, encrKeyLength: 256, integ: IntegId.HMAC_SHA2_256_128, esn: false },
];

export function sessionConfig(over: Partial<IkeSessionConfig> = {}): IkeSessionConfig {
  return {
    local: CLIENT,
    remote: GATEWAY,
    localId: parseIdentity('psk-client@lab.example'),
    remoteId: parseIdentity('vpn.lab.example'),
    auth: { method: 'psk', psk: PSK },
    trust: { caCertificates: [] },
    ikeProposals: parseIkeProposals([]),
    espProposals: parseEspProposals([]),
    trafficSelectors: { local: [selectorFromCidr('0.0.0.0/0'), selectorFromCidr('::/0')], remote: [selectorFromCidr('10.10.0.0/24'), selectorFromCidr('fd00:10::/64')] },
    requestConfig: { ipv4: true, ipv6: true, dns: true },
    forceEncapsulation: false,
    fragmentation: true,
    ikeMtu: 1280,
    retransmit: { timeoutMs: 1000, base: 1.8, tries: 3 },
    childLifetime: { soft: 3000, hard: 3600 },
    replayWindow: 64,
    ...over,
  };
}

export function responderConfig(over: Partial<ResponderConfig> = {}): ResponderConfig {
  return {
    endpoint: GATEWAY,
    id: parseIdentity('vpn.lab.example'),
    auth: { method: 'psk', psk: PSK },
    peerPsk: PSK,
    ike: GW_IKE,
    esp: GW_ESP,
    pool: { ipv4: '10.99.0.1', ipv6: 'fd00:99::1', dns: ['10.10.0.53', 'fd00:10::53'], domains: ['lab.example'] },
    localTs: [selectorFromCidr('10.10.0.0/24'), selectorFromCidr('fd00:10::/64')],
    random: seededRandom('responder'),
    ...over,
  };
}

export interface Pair {
  readonly session: IkeSession;
  readonly responder: TestResponder;
  /** everything the session returned, in order */
  readonly actions: IkeAction[];
  /** datagrams the session sent, in order */
  readonly sent: { data: Uint8Array; from: Endpoint; to: Endpoint }[];
  now: number;
}

export function makePair(config: Partial<IkeSessionConfig> = {}, responder: Partial<ResponderConfig> = {}, seed = 'initiator'): Pair {
  return {
    session: new IkeSession(sessionConfig(config), { random: seededRandom(seed) }),
    responder: new TestResponder(responderConfig(responder)),
    actions: [],
    sent: [],
    now: T0,
  };
}

export interface PumpOptions {
  /** return true to lose this datagram of the session (index counts the session's sends) */
  readonly drop?: (datagram: Uint8Array, index: number) => boolean;
  /** rewrite the responder's answers before the session sees them */
  readonly rewrite?: (datagrams: Uint8Array[]) => Uint8Array[];
  /** ms between a send and its answer */
  readonly rtt?: number;
}

/**
 * Delivers `actions` (from the session) to the responder and its answers
 * back to the session, until nothing is left to deliver. Returns every
 * action the session produced along the way (also appended to `pair.actions`).
 */
export function pump(pair: Pair, actions: readonly IkeAction[], opts: PumpOptions = {}): IkeAction[] {
  const all: IkeAction[] = [...actions];
  pair.actions.push(...actions);
  const queue: IkeAction[] = [...actions];
  while (queue.length > 0) {
    const a = queue.shift() as IkeAction;
    if (a.kind !== 'send') continue;
    const index = pair.sent.length;
    pair.sent.push({ data: a.data, from: a.from, to: a.to });
    if (opts.drop?.(a.data, index) === true) continue;
    let answers = pair.responder.handle(a.data, a.from);
    if (opts.rewrite !== undefined) answers = opts.rewrite(answers);
    pair.now += opts.rtt ?? 5;
    for (const data of answers) {
      const more = pair.session.receive({ data, from: a.to, to: a.from }, pair.now);
      all.push(...more);
      pair.actions.push(...more);
      queue.push(...more);
    }
  }
  return all;
}

/** start() and pump until quiet. */
export function connect(pair: Pair, opts: PumpOptions = {}): IkeAction[] {
  return pump(pair, pair.session.start(pair.now), opts);
}

export function events(actions: readonly IkeAction[]): IkeEvent[] {
  return actions.flatMap((a) => (a.kind === 'event' ? [a.event] : []));
}

export function installed(actions: readonly IkeAction[]): ChildSaSpec[] {
  return actions.flatMap((a) => (a.kind === 'installChildSa' ? [a.sa] : []));
}

export function failure(actions: readonly IkeAction[]): IkeFailure | undefined {
  for (const a of actions) if (a.kind === 'failed') return a.failure;
  return undefined;
}

export function sends(actions: readonly IkeAction[]): Extract<IkeAction, { kind: 'send' }>[] {
  return actions.filter((a): a is Extract<IkeAction, { kind: 'send' }> => a.kind === 'send');
}

export const toHex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
