/**
 * Shared wiring for the daemon tests: a loopback UDP "gateway" around the
 * in-process TestResponder, free ports, a test profile, and a RECORDING
 * platform backend (the host kernel has no ESP, so the real XFRM install is
 * exercised in the lab; here we check what the supervisor asks of the
 * platform, in which order, with which CHILD_SA).
 */
import { createSocket, type Socket } from 'node:dgram';
import { randomUUID } from 'node:crypto';

import { parseProfile, type Profile } from '../../../native-helper/src/api/profile.js';
import type { ChildSaSpec, Endpoint } from '../../../native-helper/src/ike/actions.js';
import type { ApplyConfigParams, InstallChildSaOptions, LeakGuardSpec, PlatformBackend, SweepReport, TeardownReport, TrafficCounters } from '../../../native-helper/src/platform/backend.js';
import { PlatformError } from '../../../native-helper/src/platform/backend.js';
import type { ProbeSender, ProbeTarget } from '../../../native-helper/src/daemon/data-path-probe.js';
import type { ConnectionState } from '../../../native-helper/src/api/rpc.js';
import type { Supervisor } from '../../../native-helper/src/daemon/supervisor.js';
import type { LogStore } from '../../../native-helper/src/daemon/log-store.js';
import { TestResponder, seededRandom, type ResponderConfig } from '../../support/test-responder.js';
import { responderConfig } from '../ike/session/harness.js';

export const LOOPBACK = '127.0.0.1';
export const TEST_PSK = 'test-psk-0123456789';

export async function freePorts(n: number): Promise<number[]> {
  const sockets: Socket[] = [];
  const ports: number[] = [];
  for (let i = 0; i < n; i++) {
    const s = createSocket('udp4');
    await new Promise<void>((resolve) => s.bind(0, LOOPBACK, () => resolve()));
    ports.push(s.address().port);
    sockets.push(s);
  }
  await Promise.all(sockets.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
  return ports;
}

export interface UdpGateway {
  readonly port: number;
  /** the responder serving the current IKE SA (a new one per IKE_SA_INIT after an SA was up) */
  readonly responder: TestResponder;
  /** IKE SAs started on this gateway (1 + reconnects) */
  readonly sessions: number;
  /** stop answering (a dead gateway) */
  mute: boolean;
  /** answer IKE_SA_INIT of new IKE SAs with NO_PROPOSAL_CHOSEN while one is up (a reauthentication that fails) */
  refuseNew: boolean;
  received: number;
  /** the source ports datagrams came from */
  readonly sourcePorts: Set<number>;
  /** sends gateway-initiated datagrams (e.g. responder.request([...])) to an endpoint */
  push(datagrams: readonly Uint8Array[], to: Endpoint): void;
  close(): Promise<void>;
}

/** The TestResponder behind a UDP socket on loopback (IKE port only: no NAT on loopback). */
export async function udpGateway(over: Partial<ResponderConfig> = {}): Promise<UdpGateway> {
  const [port] = await freePorts(1);
  if (port === undefined) throw new Error('no port');
  const fresh = (extra: Partial<ResponderConfig> = {}): TestResponder => new TestResponder(responderConfig({ endpoint: { address: LOOPBACK, port }, random: seededRandom(randomUUID()), ...over, ...extra }));
  let responder = fresh();
  /** responders of earlier IKE SAs: a make-before-break reauthentication deletes its old IKE SA after the new one is up */
  const earlier: TestResponder[] = [];
  let sessions = 1;
  const s = createSocket('udp4');
  await new Promise<void>((resolve) => s.bind(port, LOOPBACK, () => resolve()));
  const gw: UdpGateway = {
    port,
    get responder() {
      return responder;
    },
    get sessions() {
      return sessions;
    },
    mute: false,
    refuseNew: false,
    received: 0,
    sourcePorts: new Set(),
    push: (datagrams, to) => datagrams.forEach((d) => s.send(d, to.port, to.address)),
    close: () => new Promise<void>((resolve) => s.close(() => resolve())),
  };
  s.on('message', (msg, rinfo) => {
    gw.received++;
    gw.sourcePorts.add(rinfo.port);
    if (gw.mute) return;
    // RFC 7296 §3.1: a new IKE_SA_INIT request (responder SPI zero) after an SA was up is a new
    // IKE SA (a reconnect): a real gateway keeps state per SA, so a fresh responder serves it.
    const isNewInit = msg.length >= 28 && msg[18] === 34 && (msg[19] ?? 0) & 0x08 && !((msg[19] ?? 0) & 0x20) && msg.subarray(8, 16).every((b) => b === 0);
    if (isNewInit && responder.authenticated && gw.refuseNew) {
      const refuser = fresh({ misbehave: { ...over.misbehave, ikeNoProposal: true } });
      for (const answer of refuser.handle(new Uint8Array(msg), { address: rinfo.address, port: rinfo.port })) s.send(answer, rinfo.port, rinfo.address);
      return;
    }
    if (isNewInit && responder.authenticated) {
      earlier.push(responder);
      responder = fresh();
      sessions++;
    }
    // RFC 7296 §2.2: the initiator's SPI picks the IKE SA, so an earlier one is still answered.
    const spiI = msg.subarray(0, 8);
    const target = isNewInit || Buffer.from(responder.spiI).equals(spiI) ? responder : (earlier.find((x) => Buffer.from(x.spiI).equals(spiI)) ?? responder);
    const from: Endpoint = { address: rinfo.address, port: rinfo.port };
    for (const answer of target.handle(new Uint8Array(msg), from)) s.send(answer, rinfo.port, rinfo.address);
  });
  return gw;
}

export function testProfile(gatewayPort: number, over: Record<string, unknown> = {}): Profile {
  const r = parseProfile({
    version: 1,
    id: randomUUID(),
    name: 'Loopback test',
    gateway: { host: LOOPBACK, port: gatewayPort },
    remoteId: 'vpn.lab.example',
    auth: { method: 'psk', localId: 'psk-client@lab.example' },
    ...over,
  });
  if (!r.ok) throw new Error(JSON.stringify(r.issues));
  return r.profile;
}

export type PlatformCall =
  | { readonly op: 'installChildSa'; readonly spec: ChildSaSpec; readonly deferOutbound?: boolean }
  | { readonly op: 'installOutboundSa'; readonly id: number }
  | { readonly op: 'removeChildSa'; readonly id: number }
  | { readonly op: 'applyConfig'; readonly params: ApplyConfigParams }
  | { readonly op: 'readCounters' }
  | { readonly op: 'teardown'; readonly reason: string }
  | { readonly op: 'sweepStale' }
  | { readonly op: 'enableLeakGuard'; readonly spec: LeakGuardSpec }
  | { readonly op: 'disableLeakGuard' };

const zero = { sa: 0, policy: 0, route: 0, rule: 0, address: 0, dns: 0 } as const;

/** Records every call; can be told to fail one operation or to hang. */
export class RecordingPlatform implements PlatformBackend {
  readonly name = 'recording';
  readonly calls: PlatformCall[] = [];
  failOn: 'installChildSa' | 'applyConfig' | undefined;
  private live = new Set<number>();
  /** the inbound packet count readCounters reports */
  packetsIn = 10;
  /** whether a data-path probe "gets an answer" (the inbound count rises), as a working tunnel would */
  answerProbes = true;
  /** every data-path probe sent, with its payload */
  readonly probes: { readonly target: ProbeTarget; readonly payload: Uint8Array }[] = [];
  /** the supervisor's probe sender for tests (SupervisorOptions.probe.send): no socket, the answer shows in the counters */
  readonly probeSend: ProbeSender = (target, payload) => {
    this.probes.push({ target, payload });
    if (this.answerProbes) setTimeout(() => (this.packetsIn += 1), 5);
    return Promise.resolve();
  };

  async installChildSa(spec: ChildSaSpec, options?: InstallChildSaOptions): Promise<void> {
    this.calls.push({ op: 'installChildSa', spec, ...(options?.deferOutbound === true ? { deferOutbound: true } : {}) });
    await Promise.resolve();
    if (this.failOn === 'installChildSa') throw new PlatformError('command-failed', 'installChildSa', 'RTNETLINK answers: Function not implemented (recorded failure)');
    this.live.add(spec.id);
  }
  async installOutboundSa(id: number): Promise<void> {
    this.calls.push({ op: 'installOutboundSa', id });
    await Promise.resolve();
  }
  async removeChildSa(id: number): Promise<void> {
    this.calls.push({ op: 'removeChildSa', id });
    this.live.delete(id);
    await Promise.resolve();
  }
  async applyConfig(params: ApplyConfigParams): Promise<void> {
    this.calls.push({ op: 'applyConfig', params });
    await Promise.resolve();
    if (this.failOn === 'applyConfig') throw new PlatformError('command-failed', 'applyConfig', 'route add failed (recorded failure)');
  }
  async readCounters(): Promise<TrafficCounters> {
    this.calls.push({ op: 'readCounters' });
    await Promise.resolve();
    return { bytesIn: 1000 * this.live.size, bytesOut: 2000 * this.live.size, packetsIn: this.packetsIn, packetsOut: 20, sas: [] };
  }
  async teardown(reason: string): Promise<TeardownReport> {
    this.calls.push({ op: 'teardown', reason });
    const removed = { ...zero, sa: this.live.size * 2 };
    this.live.clear();
    await Promise.resolve();
    return { reason, removed, problems: [], clean: true, durationMs: 1 };
  }
  async sweepStale(): Promise<SweepReport> {
    this.calls.push({ op: 'sweepStale' });
    await Promise.resolve();
    return { fromJournal: { ...zero }, fromMarkers: { ...zero, sa: 2 }, problems: [], clean: true, durationMs: 1 };
  }
  async enableLeakGuard(spec: LeakGuardSpec): Promise<void> {
    this.calls.push({ op: 'enableLeakGuard', spec });
    await Promise.resolve();
  }
  async disableLeakGuard(): Promise<void> {
    this.calls.push({ op: 'disableLeakGuard' });
    await Promise.resolve();
  }
  ops(): string[] {
    return this.calls.map((c) => c.op);
  }
}

/** Resolves with the supervisor's first state that matches `pred` (rejects after `ms`). */
export function until<T extends ConnectionState>(sv: Supervisor, pred: (s: ConnectionState) => s is T, what: string, ms = 15_000): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`timed out waiting for ${what}; state ${JSON.stringify(sv.state).slice(0, 400)}`)), ms);
    const on = (s: ConnectionState): void => {
      if (!pred(s)) return;
      clearTimeout(t);
      sv.off('state', on);
      resolve(s);
    };
    sv.on('state', on);
  });
}
export const isReconnecting = (s: ConnectionState): s is Extract<ConnectionState, { state: 'connecting' }> => s.state === 'connecting' && s.reconnect !== undefined;
export const isConnected = (s: ConnectionState): s is Extract<ConnectionState, { state: 'connected' }> => s.state === 'connected';
export const isError = (s: ConnectionState): s is Extract<ConnectionState, { state: 'error' }> => s.state === 'error';

/** The fields of every record of `event` in the log, oldest first. */
export function logFields(log: LogStore, event: string): Readonly<Record<string, unknown>>[] {
  return log
    .query({ limit: 10_000 })
    .records.filter((x) => x.event === event)
    .map((x) => x.fields);
}
