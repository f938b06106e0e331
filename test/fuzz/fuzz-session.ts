/**
 * The session fuzzer: IkeSession is driven to each of its states and fed
 * mutated datagrams; nothing may escape receive() or tick() and no input
 * may provoke an internal error (the session turns a bug into an
 * INTERNAL_ERROR failure, which counts here as uncaught).
 *
 *   init_sent    mutated IKE_SA_INIT responses (normal, COOKIE, INVALID_KE, NO_PROPOSAL_CHOSEN)
 *   auth_sent    mutated IKE_AUTH responses, both on the wire (mostly stopped
 *                by the ICV) and INSIDE the encryption: the genuine inner
 *                payload chain is mutated and sealed again with the real keys,
 *                so the post-decryption parser and the exchange logic see it
 *   established  gateway INFORMATIONAL / CREATE_CHILD_SA requests, mutated
 *                the same two ways
 *
 * Deterministic for a (count, seed): the PRNG drives mutations, the clock
 * and the sessions' randomness (key exchange private values excepted).
 */
import type { Endpoint, IkeAction } from '../../native-helper/src/ike/actions.js';
import { EncrId, ExchangeType, KeId, NotifyType, PayloadType, PrfId, ProtocolId } from '../../native-helper/src/ike/constants.js';
import { encodePayloadChain } from '../../native-helper/src/ike/codec/payload-chain.js';
import type { Payload } from '../../native-helper/src/ike/codec/types.js';
import { parseEspProposals, parseIkeProposals } from '../../native-helper/src/ike/proposals.js';
import { IkeSession } from '../../native-helper/src/ike/session.js';
import type { IkeSaState, IkeSessionConfig } from '../../native-helper/src/ike/session.js';
import { selectorFromCidr } from '../../native-helper/src/ike/traffic-selectors.js';
import { parseIdentity } from '../../native-helper/src/pki/identity.js';
import { TestResponder, seededRandom } from '../support/test-responder.js';
import type { Header, Misbehaviour } from '../support/test-responder.js';
import type { FuzzReport } from './fuzz-report.js';
import { Prng, analyze, mutate } from './mutate.js';
import type { Golden } from './mutate.js';

export interface SessionFuzzReport extends FuzzReport {
  /** sessions built to reach the states */
  readonly sessions: number;
  /** inputs that decrypted fine and reached the inner parser (a measure of depth) */
  readonly sealed: number;
  /** inputs per target state, "init_sent/auth_sent/established" */
  readonly perState: string;
  /** sessions built per target state, same order */
  readonly builtPerState: string;
}

const CLIENT: Endpoint = { address: '192.0.2.2', port: 500 };
const GATEWAY: Endpoint = { address: '192.0.2.1', port: 500 };
const PSK = new TextEncoder().encode('fuzz-psk');
const T0 = Date.UTC(2025, 0, 1);

/** Curve25519 and AES-GCM keep building sessions cheap. */
function config(): IkeSessionConfig {
  return {
    local: CLIENT,
    remote: GATEWAY,
    localId: parseIdentity('fuzz@lab.example'),
    remoteId: parseIdentity('vpn.lab.example'),
    auth: { method: 'psk', psk: PSK },
    trust: { caCertificates: [] },
    ikeProposals: parseIkeProposals(['aes128gcm16-prfsha256-x25519-ecp256']),
    espProposals: parseEspProposals(['aes128gcm16', 'aes128-sha256']),
    trafficSelectors: { local: [selectorFromCidr('0.0.0.0/0')], remote: [selectorFromCidr('10.10.0.0/24')] },
    requestConfig: { ipv4: true, ipv6: false, dns: true },
    forceEncapsulation: false,
    fragmentation: true,
    ikeMtu: 1280,
    retransmit: { timeoutMs: 1000, base: 1.8, tries: 2 },
    childLifetime: { soft: 3000, hard: 3600 },
    replayWindow: 64,
  };
}

function responder(random: (n: number) => Uint8Array, misbehave?: Misbehaviour, fragmentSize?: number): TestResponder {
  return new TestResponder({
    endpoint: GATEWAY,
    id: parseIdentity('vpn.lab.example'),
    auth: { method: 'psk', psk: PSK },
    peerPsk: PSK,
    ike: [{ encr: EncrId.AES_GCM_16, encrKeyLength: 128, prf: PrfId.HMAC_SHA2_256, ke: KeId.CURVE25519 }],
    esp: [{ encr: EncrId.AES_GCM_16, encrKeyLength: 128, esn: false }],
    pool: { ipv4: '10.99.0.1', dns: ['10.10.0.53'], domains: ['lab.example'] },
    localTs: [selectorFromCidr('10.10.0.0/24')],
    random,
    ...(misbehave === undefined ? {} : { misbehave }),
    ...(fragmentSize === undefined ? {} : { fragmentSize }),
  });
}

interface Live {
  readonly session: IkeSession;
  readonly responder: TestResponder;
  readonly state: IkeSaState;
  /** genuine datagrams the session would accept in this state */
  readonly outer: readonly Golden[];
  /** genuine inner payload chains (wrapped in a dummy IKE header for the mutators) with the header to seal them under */
  readonly inner: readonly { golden: Golden; header: Header }[];
  /** the next Message ID the session expects from the gateway */
  peerMid: number;
}

/** Read through a function, so TypeScript does not keep a narrowing of the getter across calls. */
const stateOf = (s: IkeSession): IkeSaState => s.state;

const sends = (actions: readonly IkeAction[]): Extract<IkeAction, { kind: 'send' }>[] => actions.filter((a): a is Extract<IkeAction, { kind: 'send' }> => a.kind === 'send');

/** A dummy IKE header in front of an inner chain, so the structural mutators find its fields. */
function wrapInner(payloads: readonly Payload[]): Golden {
  const { first, bytes } = encodePayloadChain(payloads);
  const b = new Uint8Array(28 + bytes.length);
  b[16] = first;
  b[17] = 0x20;
  b[18] = ExchangeType.INFORMATIONAL;
  new DataView(b.buffer).setUint32(24, b.length);
  b.set(bytes, 28);
  return analyze(b);
}

function unwrapInner(b: Uint8Array): { first: number; body: Uint8Array } {
  return { first: b[16] ?? 0, body: b.length > 28 ? b.subarray(28) : new Uint8Array(0) };
}

export function fuzzSession(count: number, seed: number): SessionFuzzReport {
  const rng = new Prng(seed);
  let uncaught = 0;
  let firstFailure: string | undefined;
  let sessions = 0;
  let sealed = 0;
  let now = T0;
  const perState = { init_sent: 0, auth_sent: 0, established: 0 };
  const builtPerState = { init_sent: 0, auth_sent: 0, established: 0 };
  const random = seededRandom(`fuzz-session/${seed}`);

  const fail = (i: number, what: string, input: Uint8Array | undefined, e: unknown): void => {
    uncaught++;
    if (firstFailure === undefined) {
      const detail = e instanceof Error ? (e.stack ?? e.message) : String(e);
      firstFailure = `seed=${seed} message=${i} ${what} input=${input === undefined ? '-' : Buffer.from(input).toString('hex')}: ${detail}`;
    }
  };

  /** Runs one call of the session; exceptions and INTERNAL_ERROR failures are findings. */
  const call = (i: number, what: string, input: Uint8Array | undefined, fn: () => IkeAction[]): IkeAction[] => {
    try {
      const out = fn();
      for (const a of out) if (a.kind === 'failed' && a.failure.code === 'INTERNAL_ERROR') fail(i, what, input, new Error(a.failure.message));
      return out;
    } catch (e) {
      fail(i, what, input, e);
      return [];
    }
  };

  // Genuine IKE_SA_INIT responses of several kinds for the init_sent corpus.
  const initCorpus: Golden[] = [];
  for (const m of [undefined, { cookie: true }, { demandGroup: KeId.ECP_256 }, { ikeNoProposal: true }] as (Misbehaviour | undefined)[]) {
    const s = new IkeSession(config(), { random });
    const r = responder(random, m);
    const [init] = sends(s.start(now));
    if (init !== undefined) for (const d of r.handle(init.data, CLIENT)) initCorpus.push(analyze(d));
  }

  const build = (target: IkeSaState): Live | undefined => {
    sessions++;
    const session = new IkeSession(config(), { random });
    const [init] = sends(session.start(now));
    if (init === undefined) return undefined;
    if (target === 'init_sent') {
      // The corpus answers other sessions: give them this session's SPIi (it is checked first) and keep their structure.
      const outer = initCorpus.map((g) => {
        const b = Uint8Array.from(g.bytes);
        b.set(init.data.subarray(0, 8), 0);
        return { ...g, bytes: b };
      });
      return { session, responder: responder(random), state: 'init_sent', outer, inner: [], peerMid: 0 };
    }
    // Some IKE_AUTH responses come fragmented, so SKF reassembly is fuzzed too.
    const r = responder(random, undefined, rng.chance(0.2) ? 200 : undefined);
    const initAnswer = r.handle(init.data, CLIENT);
    let authRequest: Extract<IkeAction, { kind: 'send' }>[] = [];
    for (const d of initAnswer) authRequest = authRequest.concat(sends(session.receive({ data: d, from: GATEWAY, to: CLIENT }, now)));
    if (session.state !== 'auth_sent') return undefined;
    let authAnswer: Uint8Array[] = [];
    for (const a of authRequest) authAnswer = authAnswer.concat(r.handle(a.data, CLIENT));
    const authInner = r.lastSealed;
    if (authInner === undefined) return undefined;
    if (target === 'auth_sent') {
      return { session, responder: r, state: 'auth_sent', outer: authAnswer.map(analyze), inner: [{ golden: wrapInner(authInner.inner), header: authInner.header }], peerMid: 0 };
    }
    for (const d of authAnswer) session.receive({ data: d, from: GATEWAY, to: CLIENT }, now);
    if (stateOf(session) !== 'established') return undefined;
    const child = r.children[0];
    const spi = new Uint8Array(4);
    new DataView(spi.buffer).setUint32(0, child?.responderSpi ?? 0xc1000001);
    const requests: { payloads: Payload[]; exchange: number }[] = [
      { payloads: [], exchange: ExchangeType.INFORMATIONAL },
      { payloads: [{ type: PayloadType.DELETE, protocol: ProtocolId.ESP, spis: [spi] }], exchange: ExchangeType.INFORMATIONAL },
      { payloads: [{ type: PayloadType.NOTIFY, protocol: 0, spi: new Uint8Array(0), notifyType: NotifyType.INVALID_SPI, data: spi }], exchange: ExchangeType.INFORMATIONAL },
      { payloads: [{ type: PayloadType.DELETE, protocol: ProtocolId.IKE, spis: [] }], exchange: ExchangeType.INFORMATIONAL },
      { payloads: [{ type: PayloadType.NONCE, nonce: random(32) }], exchange: ExchangeType.CREATE_CHILD_SA },
    ];
    const outer: Golden[] = [];
    const inner: { golden: Golden; header: Header }[] = [];
    for (const q of requests) {
      const header: Header = { spiI: r.spiI, spiR: r.spiR, version: 0x20, exchange: q.exchange, initiator: false, response: false, messageId: 0 };
      inner.push({ golden: wrapInner(q.payloads), header });
      for (const d of r.seal(header, q.payloads)) outer.push(analyze(d));
    }
    return { session, responder: r, state: 'established', outer, inner, peerMid: 0 };
  };

  const live = new Map<IkeSaState, Live>();
  const targets: readonly IkeSaState[] = ['init_sent', 'auth_sent', 'established'];
  let i = 0;
  let attempts = 0;
  while (i < count && attempts < count * 4 + 100) {
    attempts++;
    const target = rng.pick(targets);
    let l = live.get(target);
    if (l === undefined || l.session.state !== l.state) {
      l = build(target);
      builtPerState[target as keyof typeof builtPerState]++;
      if (l === undefined) continue;
      live.set(target, l);
    }
    if (rng.chance(0.05)) {
      now += rng.below(5000);
      const session = l.session;
      call(i, `tick(${target})`, undefined, () => session.tick(now));
      continue;
    }
    let input: Uint8Array;
    let what: string;
    // Inside-the-encryption inputs usually end an auth_sent session (which then costs a rebuild): fewer of them there.
    if (l.inner.length > 0 && rng.chance(target === 'auth_sent' ? 0.3 : 0.5)) {
      // Mutate INSIDE the encryption and seal with the real keys.
      const pick = rng.pick(l.inner);
      const m = mutate([pick.golden], rng);
      const { first, body } = unwrapInner(m.bytes);
      const header = target === 'established' ? { ...pick.header, messageId: rng.chance(0.9) ? l.peerMid : rng.below(4) } : pick.header;
      const datagrams = l.responder.sealRaw(header, first, body);
      input = datagrams[rng.below(datagrams.length)] as Uint8Array;
      what = `sealed ${target} [${m.ops.join(',')}]`;
      sealed++;
    } else {
      const m = mutate(l.outer, rng);
      input = m.bytes;
      what = `wire ${target} [${m.ops.join(',')}]`;
    }
    const session = l.session;
    const from = rng.chance(0.95) ? GATEWAY : { address: GATEWAY.address, port: 4500 };
    const out = call(i, what, input, () => session.receive({ data: input, from, to: CLIENT }, now));
    if (target === 'established' && sends(out).length > 0) l.peerMid++;
    perState[target as keyof typeof perState]++;
    i++;
  }
  return { messages: i, uncaught, sessions, sealed, perState: `${perState.init_sent}/${perState.auth_sent}/${perState.established}`,
    builtPerState: `${builtPerState.init_sent}/${builtPerState.auth_sent}/${builtPerState.established}`, ...(firstFailure === undefined ? {} : { firstFailure }) };
}
