/**
 * The connection supervisor: one connection at a time, with explicit states
 *
 *   Disconnected → Connecting(stage) → Connected → Disconnecting → Disconnected
 *                        └──────────────┴──→ Error(code) ──(connect|disconnect)──→ …
 *
 * and a stage timeline (resolve, ike_sa_init, ike_auth, eap, install,
 * configure → connected). It is the glue of DESIGN.md's "thin shell": it
 * resolves the gateway, builds the IkeSessionConfig, runs IkeSession inside
 * IkeDriver (UDP + timers) and carries out the engine's platform actions
 * (installChildSa, removeChildSa, assignConfig) on the PlatformBackend, one
 * at a time in arrival order, so a CHILD_SA rekey is install-new-then-
 * remove-old exactly as the engine emits it. On failure, disconnect and
 * shutdown everything the platform added is torn down.
 *
 * Staying connected: once a connection has been up, losing it (DEAD_PEER,
 * PEER_DELETED, a restarted gateway, RFC 4478 reauthentication) does not end
 * it: the state goes back to Connecting with a `reconnect` block, the old
 * SAs are torn down, and a fresh IkeSession with the same profile and
 * secrets (kept in memory for the life of the connection only) is started
 * after a bounded exponential backoff. The leak guard (LEAK-GUARD.md) stays
 * on across reconnects and goes on user disconnect and on the final Error.
 *
 * Roaming (RFC 4555): while connected, roaming.ts watches our outer address
 * towards the gateway. When it changes the supervisor escalates: a MOBIKE
 * update (rebind, UPDATE_SA_ADDRESSES, move the kernel SAs, re-route, then
 * look for inbound ESP as proof of the data path) → a new IKE SA (the
 * reconnect path above, without delay) → Error once the policy gives up.
 * A platform failure while a connection that was up is re-established is
 * retried within the same backoff.
 *
 * Reauthentication (RFC 4478 §3, RFC 7296 §2.8.3) is make-before-break, as
 * charon's make_before_break: when the engine says the gateway's
 * AUTH_LIFETIME is about to run out, a second IkeSession (on the same local
 * ports, the driver telling the two apart by IKE SPI; no INITIAL_CONTACT;
 * asking for the current virtual IP) signs in while the first one carries the traffic; its
 * CHILD_SA goes in next to the old one (same selectors, same reqid), the
 * connection moves to the new session, and only then is the old IKE SA
 * deleted (with its CHILD_SAs). The state stays Connected throughout. If the
 * new IKE SA fails, the old one is kept until its lifetime is over, then the
 * reconnect path above takes over.
 */
import { randomUUID } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { lookup } from 'node:dns/promises';
import { EventEmitter } from 'node:events';
import { isIP } from 'node:net';

import type { FailureCode } from '../api/errors.js';
import { FailureCodes } from '../api/errors.js';
import type { ConnectSecrets, Profile } from '../api/profile.js';
import type { ActiveStage, ConnectedState, ConnectingState, ConnectionState, Stage, StageTiming, TrafficCountersView } from '../api/rpc.js';
import type { AssignedConfig, ChildSaSpec, IkeAction, IkeFailure, IkeStage } from '../ike/actions.js';
import { IkeSession } from '../ike/session.js';
import type { LeakGuardSpec, PlatformBackend, PlatformLogEntry, TeardownReport } from '../platform/backend.js';
import { pickProbeTargets, probeDataPath, udpProbeSender, type ProbePolicy, type ProbeResult, type ProbeSender, type ProbeTarget } from './data-path-probe.js';
import { IkeDriver, type IkeDriverOutcome } from './ike-driver.js';
import type { LogInput, LogStore } from './log-store.js';
import { PathWatcher } from './roaming.js';
import { RandomPool } from './random-pool.js';
import { buildSessionConfig, type BuiltConfig } from './session-config.js';

export type StageEvent = { readonly sessionId: string; readonly profileId: string; readonly stage: Stage; readonly at: number; readonly finished: StageTiming | null };

export interface SupervisorOptions {
  readonly platform: PlatformBackend;
  readonly log: LogStore;
  readonly clock?: () => number;
  readonly random?: (n: number) => Uint8Array;
  /** host name → address (default: dns.lookup, the system resolver) */
  readonly resolve?: (host: string) => Promise<string>;
  /** our source address towards the gateway (default: ask the kernel's routing via a connected UDP socket) */
  readonly localAddressFor?: (remote: string, port: number) => Promise<string>;
  /** local IKE ports (default 500/4500) */
  readonly ports?: { readonly ike: number; readonly natt: number };
  /** the whole attempt, request → connected (default 30 s) */
  readonly connectTimeoutMs?: number;
  /** how long a disconnect waits for the gateway to answer our DELETE (default 3 s) */
  readonly deleteTimeoutMs?: number;
  /** automatic reconnect after a connection that was up is lost (defaults: RECONNECT_DEFAULTS) */
  readonly reconnect?: Partial<ReconnectPolicy>;
  /** IKE retransmission schedule override (tests shorten it; default the engine's, RFC 7296 §2.1) */
  readonly retransmit?: { readonly timeoutMs: number; readonly base: number; readonly tries: number };
  /** how often the outer path to the gateway is checked while connected (roaming.ts; default 1000 ms, 0 = never) */
  readonly pathPollMs?: number;
  /** the data-path probe after a reconnect or a MOBIKE move (data-path-probe.ts): its sender (tests) and schedule */
  readonly probe?: { readonly send?: ProbeSender; readonly policy?: Partial<ProbePolicy> };
}

/** Bounded exponential backoff between reconnect attempts. */
export interface ReconnectPolicy {
  /** delay before the first attempt after a loss (doubles per attempt) */
  readonly initialDelayMs: number;
  /** the delay never grows beyond this */
  readonly maxDelayMs: number;
  /** give up after this many failed attempts (0 = never reconnect) */
  readonly maxAttempts: number;
  /** … or once the outage has lasted this long */
  readonly maxDurationMs: number;
}

/** 1, 2, 4, 8, 16, 30, 30 … s; at most 10 attempts or 5 minutes. */
export const RECONNECT_DEFAULTS: ReconnectPolicy = { initialDelayMs: 1000, maxDelayMs: 30_000, maxAttempts: 10, maxDurationMs: 300_000 };

/**
 * Failures worth another attempt: the gateway went away or lost our state.
 * Credential, certificate and proposal failures would fail the same way again.
 */
const TRANSIENT: ReadonlySet<FailureCode> = new Set<FailureCode>([
  'GATEWAY_UNREACHABLE',
  'DNS_RESOLUTION_FAILED',
  'DEAD_PEER',
  'PEER_DELETED',
  'INTERNAL_ADDRESS_FAILURE',
  // IKE came up but nothing came back through the tunnel (data-path-probe.ts): the path may heal.
  'DATA_PATH_FAILED',
  // While reconnecting, the system is often still settling (an interface or
  // address going away under a route we add): retried within the backoff.
  // A first connect still ends in Error on it (prepareReconnect).
  'PLATFORM_ERROR',
]);

/** A connect request that ended without a tunnel. */
export class ConnectFailure extends Error {
  override readonly name = 'ConnectFailure';
  constructor(
    readonly code: FailureCode,
    message: string,
    readonly state: ConnectionState,
  ) {
    super(message);
  }
}

/** Another connection is active or in progress. */
export class BusyError extends Error {
  override readonly name = 'BusyError';
  constructor(readonly state: ConnectionState) {
    super('A connection is already active or in progress; disconnect first.');
  }
}

/** disconnect({profileId}) named a profile that is not the active one. */
export class NotActiveError extends Error {
  override readonly name = 'NotActiveError';
  constructor(readonly state: ConnectionState) {
    super('That profile is not the active connection.');
  }
}

type Phase = 'connecting' | 'connected' | 'ending';
type End = { readonly kind: 'failed'; readonly failure: IkeFailure } | { readonly kind: 'disconnect'; readonly reason: string; readonly cancelled: boolean };

/** Why a live tunnel is being re-established. */
type Loss = { readonly kind: 'failed'; readonly failure: IkeFailure } | { readonly kind: 'reauth'; readonly message: string } | { readonly kind: 'roam'; readonly message: string };

interface Attempt {
  readonly sessionId: string;
  readonly profile: Profile;
  /** start of the current IKE attempt (the first connect or the latest reconnect) */
  startedAt: number;
  phase: Phase;
  stage: ActiveStage;
  stageStartedAt: number;
  readonly stages: StageTiming[];
  gatewayAddress?: string;
  localAddress?: string;
  built?: BuiltConfig;
  session?: IkeSession;
  driver?: IkeDriver;
  outcome?: Promise<IkeDriverOutcome>;
  child?: ChildSaSpec;
  config?: AssignedConfig;
  connected?: ConnectedState;
  /** platform operations, strictly one after another */
  ops: Promise<void>;
  ending?: Promise<{ clean: boolean; state: ConnectionState }>;
  readonly settle: { resolve: (s: ConnectedState) => void; reject: (e: ConnectFailure) => void };
  readonly forgetSecrets: () => void;
  timer?: NodeJS.Timeout;
  /** the tunnel was up at least once: a loss now means reconnect, not Error */
  everConnected: boolean;
  /** set while re-establishing a lost tunnel */
  reconnect?: {
    /** the outage's start: the gateway's last sign of life when DPD knows it, else the detection */
    readonly since: number;
    readonly detectedAt: number;
    readonly reason: string;
    attempts: number;
    nextAttemptAt?: number;
    lastFailure?: IkeFailure;
  };
  /** the engine asked for a new sign-in (RFC 4478): the close that follows is a reconnect */
  reauth?: string;
  /** a reconnect attempt ran out of time: the failure to report instead of the driver's outcome */
  attemptFailure?: IkeFailure;
  /** wakes a backoff wait early (disconnect) */
  wake?: () => void;
  /** the leak guard is on, for these gateway addresses */
  guard?: readonly string[];
  /** inbound-counter poll for DPD proof of life */
  poll?: NodeJS.Timeout;
  /** every installed CHILD_SA of the session by id (MOBIKE moves them all) */
  readonly children: Map<number, ChildSaSpec>;
  /** watches the outer path to the gateway while connected (roaming.ts) */
  watcher?: PathWatcher;
  /** our address changed and MOBIKE cannot move the SAs: the close that follows is a reconnect */
  roam?: string;
  /** a MOBIKE move in progress */
  roaming?: { readonly from: string; readonly to: string; readonly startedAt: number };
  /** a make-before-break reauthentication in progress (its new session not adopted yet) */
  reauthing?: Reauth;
  /** sessions started by reauthentication within this connection (their CHILD_SA ids start apart) */
  generation?: number;
}

/** The new IKE SA of a make-before-break reauthentication (RFC 4478 §3) while it is being built. */
interface Reauth {
  readonly startedAt: number;
  /** the old IKE SA's AUTH_LIFETIME is over at this time (the gateway may delete it then) */
  readonly deadline: number;
  readonly reason: string;
  readonly session: IkeSession;
  readonly driver: IkeDriver;
  readonly built: BuiltConfig;
  outcome?: Promise<IkeDriverOutcome>;
  /** the first CHILD_SA of the new session (routing moves to it) */
  child?: ChildSaSpec;
  readonly children: Map<number, ChildSaSpec>;
  config?: AssignedConfig;
  /** IKE_AUTH done (ms since startedAt) */
  establishedMs?: number;
  /** the connection runs on this session now: its actions go to onAction */
  adopted: boolean;
  /** bounds the attempt (connectTimeoutMs) */
  timer?: NodeJS.Timeout;
  /**
   * The new session's log lines until its first CHILD_SA is in the kernel:
   * the gateway sends on the new SA from its IKE_AUTH response on, and each
   * millisecond before our inbound SA exists loses packets; writing some
   * twenty lines first cost tens of ms in the lab. Undefined once written.
   */
  held?: LogInput[];
}

const ZERO_COUNTERS: TrafficCountersView = { bytesIn: 0, bytesOut: 0, packetsIn: 0, packetsOut: 0 };
const EMPTY_CONFIG: AssignedConfig = { dns: [], dnsDomains: [], subnets: [] };
const DEFAULT_CONNECT_TIMEOUT_MS = 30_000;
const DEFAULT_DELETE_TIMEOUT_MS = 3_000;
/** after a MOBIKE move: how long inbound ESP is awaited as proof of the data path before (and after) re-routing */
const ROAM_PROOF_MS = 1500;
/** … and the probe's schedule there: two tries within ROAM_PROOF_MS before re-routing, two after */
const ROAM_PROBE: Partial<ProbePolicy> = { tries: 2, tryMs: ROAM_PROOF_MS / 2 };
/** CHILD_SA ids of a reauthenticated session start this far above the previous session's (the platform keys SAs by id) */
const CHILD_ID_STRIDE = 100_000;

const errorText = (e: unknown): string => (e instanceof Error ? e.message : String(e));

/** Which of our stages an engine stage belongs to (child_sa happens inside IKE_AUTH, RFC 7296 §1.2). */
const STAGE_OF: Readonly<Partial<Record<IkeStage, ActiveStage>>> = { ike_sa_init: 'ike_sa_init', ike_auth: 'ike_auth', eap: 'eap' };

async function defaultLocalAddressFor(remote: string, port: number): Promise<string> {
  // connect() on a UDP socket sends nothing: the kernel picks the route and source address.
  const socket = createSocket(remote.includes(':') ? 'udp6' : 'udp4');
  try {
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.connect(port, remote, () => resolve());
    });
    return socket.address().address;
  } finally {
    socket.close();
  }
}

async function defaultResolve(host: string): Promise<string> {
  if (isIP(host) !== 0) return host;
  return (await lookup(host)).address;
}

/** SPIs, nonces and IVs for every session of this daemon (random-pool.ts: one DRBG call per block, not per value). */
const randomPool = new RandomPool();

export class Supervisor extends EventEmitter<{ state: [ConnectionState]; stage: [StageEvent] }> {
  private current: ConnectionState = { state: 'disconnected' };
  private active: Attempt | undefined;
  private readonly clock: () => number;
  private readonly random: (n: number) => Uint8Array;
  private readonly resolveHost: (host: string) => Promise<string>;
  private readonly localAddressFor: (remote: string, port: number) => Promise<string>;

  constructor(private readonly opts: SupervisorOptions) {
    super();
    this.clock = opts.clock ?? Date.now;
    this.random = opts.random ?? ((n) => randomPool.take(n));
    this.resolveHost = opts.resolve ?? defaultResolve;
    this.localAddressFor = opts.localAddressFor ?? defaultLocalAddressFor;
  }

  get state(): ConnectionState {
    return this.current;
  }

  /** The session id platform log records belong to (the live attempt's), for the daemon's platform log hook. */
  get sessionId(): string | null {
    return this.active?.sessionId ?? null;
  }

  /** At daemon start, before any connection: remove what a crashed run left behind. */
  async sweepStale(): Promise<void> {
    const t0 = this.clock();
    try {
      const r = await this.opts.platform.sweepStale();
      const total = (c: Readonly<Record<string, number>>): number => Object.values(c).reduce((a, b) => a + b, 0);
      this.log({
        level: r.clean ? 'info' : 'warn',
        component: 'platform',
        event: 'platform.sweep',
        message: `stale-state sweep: removed ${total(r.fromJournal)} journaled and ${total(r.fromMarkers)} marked objects${r.clean ? '' : `; problems: ${r.problems.map((p) => p.message).join('; ')}`}`,
        fields: { clean: r.clean, fromJournal: total(r.fromJournal), fromMarkers: total(r.fromMarkers), ms: this.clock() - t0, ...Object.fromEntries(Object.entries(r.fromMarkers).map(([k, n]) => [`marked_${k}`, n])) },
      });
    } catch (e) {
      this.log({ level: 'error', component: 'platform', event: 'platform.sweep_failed', message: `stale-state sweep failed: ${errorText(e)}` });
    }
  }

  /** Platform backend log entries, attributed to the live session. */
  platformLog(e: PlatformLogEntry): void {
    this.log({ level: e.level, session: this.sessionId, component: 'platform', event: e.event, message: e.message, ...(e.fields !== undefined ? { fields: e.fields } : {}) });
  }

  /** Connects; resolves once the tunnel is up, rejects with ConnectFailure or BusyError. */
  connect(profile: Profile, secrets: ConnectSecrets): Promise<ConnectedState> {
    if (this.active !== undefined) return Promise.reject(new BusyError(this.current));
    const forget = [secrets.psk, secrets.eapPassword, secrets.privateKeyPem].filter((s): s is string => s !== undefined && s.length > 0).map((s) => this.opts.log.redact.add(s));
    const now = this.clock();
    let settle!: Attempt['settle'];
    const done = new Promise<ConnectedState>((resolve, reject) => (settle = { resolve, reject }));
    const a: Attempt = {
      sessionId: randomUUID(),
      profile,
      startedAt: now,
      phase: 'connecting',
      stage: 'resolve',
      stageStartedAt: now,
      stages: [],
      ops: Promise.resolve(),
      settle,
      forgetSecrets: () => forget.forEach((f) => f()),
      everConnected: false,
      children: new Map(),
    };
    this.active = a;
    this.pendingSecrets.set(a, secrets);
    this.log({ level: 'info', session: a.sessionId, component: 'supervisor', event: 'connect.requested', stage: 'resolve', message: `connecting "${profile.name}" to ${profile.gateway.host}[${profile.gateway.port}] (${profile.auth.method})`, fields: { profileId: profile.id, gateway: profile.gateway.host, auth: profile.auth.method } });
    this.emit('stage', { sessionId: a.sessionId, profileId: profile.id, stage: 'resolve', at: now, finished: null });
    this.publishConnecting(a);
    this.armAttemptTimer(a);
    void this.run(a).catch((e: unknown) => this.finish(a, { kind: 'failed', failure: { code: 'INTERNAL_ERROR', message: `${FailureCodes.INTERNAL_ERROR} (${errorText(e)})` } }));
    return done;
  }

  /** Disconnects (or cancels a connect in progress). Idempotent. */
  async disconnect(reason: string, profileId?: string): Promise<{ wasActive: boolean; clean: boolean; state: ConnectionState }> {
    const a = this.active;
    if (a === undefined) {
      if (profileId !== undefined && this.current.state === 'error' && this.current.profileId !== profileId) throw new NotActiveError(this.current);
      // Acknowledging an Error returns to Disconnected.
      if (this.current.state === 'error') this.setState({ state: 'disconnected' });
      return { wasActive: false, clean: true, state: this.current };
    }
    if (profileId !== undefined && profileId !== a.profile.id) throw new NotActiveError(this.current);
    const r = await this.finish(a, { kind: 'disconnect', reason, cancelled: a.phase === 'connecting' });
    return { wasActive: true, clean: r.clean, state: r.state };
  }

  /** The current state; when connected, with fresh kernel SA counters. */
  async status(): Promise<ConnectionState> {
    const a = this.active;
    if (a?.phase === 'connected' && a.connected !== undefined) {
      try {
        await this.refreshCounters(a);
      } catch (e) {
        this.log({ level: 'warn', session: a.sessionId, component: 'platform', event: 'platform.counters_failed', message: `could not read SA counters: ${errorText(e)}` });
      }
    }
    return this.current;
  }

  /** SIGTERM: disconnect (DELETE sent) and tear down. */
  async shutdown(): Promise<void> {
    if (this.active !== undefined) await this.disconnect('straitd is stopping');
  }

  // ------------------------------------------------------------ the attempt

  /** Bounds one attempt: the first connect ends in Error; a reconnect attempt is abandoned and retried. */
  private armAttemptTimer(a: Attempt): void {
    const timeout = this.opts.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
    if (a.timer !== undefined) clearTimeout(a.timer);
    a.timer = setTimeout(() => {
      const code: FailureCode = a.stage === 'resolve' ? 'DNS_RESOLUTION_FAILED' : a.stage === 'install' || a.stage === 'configure' ? 'PLATFORM_ERROR' : 'GATEWAY_UNREACHABLE';
      const failure: IkeFailure = { code, message: `The connection was not up within ${Math.round(timeout / 1000)} s (stuck in stage ${a.stage}). ${FailureCodes[code]}`, fields: { stage: a.stage, timeoutMs: timeout } };
      if (!a.everConnected) return void this.finish(a, { kind: 'failed', failure });
      a.attemptFailure = failure;
      a.driver?.abort('reconnect attempt timed out');
    }, timeout);
  }

  /** The connection: the first attempt, then reconnects while the policy allows. */
  private async run(a: Attempt): Promise<void> {
    for (;;) {
      const loss = await this.runSession(a);
      if (loss === undefined || a.ending !== undefined) return;
      if (!(await this.prepareReconnect(a, loss))) return;
    }
  }

  /** One IKE session from resolve to its end; undefined when the connection is already ending. */
  private async runSession(a: Attempt): Promise<Loss | undefined> {
    const p = a.profile;
    const abandoned = (): Loss | undefined => (a.attemptFailure !== undefined ? { kind: 'failed', failure: a.attemptFailure } : undefined);
    let address: string;
    try {
      address = await this.resolveHost(p.gateway.host);
    } catch (e) {
      return { kind: 'failed', failure: { code: 'DNS_RESOLUTION_FAILED', message: `The gateway host name ${p.gateway.host} could not be resolved (${errorText(e)}).`, fields: { host: p.gateway.host } } };
    }
    if (a.phase !== 'connecting') return undefined;
    if (a.attemptFailure !== undefined) return abandoned();
    let local: string;
    try {
      local = await this.localAddressFor(address, p.gateway.port);
    } catch (e) {
      return { kind: 'failed', failure: { code: 'GATEWAY_UNREACHABLE', message: `There is no route to the gateway ${address} (${errorText(e)}).`, fields: { address } } };
    }
    if (a.phase !== 'connecting') return undefined;
    if (a.attemptFailure !== undefined) return abandoned();
    a.gatewayAddress = address;
    a.localAddress = local;
    this.log({ level: 'info', session: a.sessionId, component: 'supervisor', event: 'resolve.done', stage: 'resolve', message: `${p.gateway.host} is ${address}; our address towards it is ${local}`, fields: { address, local } });
    // LEAK-GUARD.md: a guard that is on must allow the new gateway address before IKE goes to it.
    if (a.guard !== undefined && !a.guard.includes(address)) {
      try {
        await this.setGuard(a, [address]);
      } catch (e) {
        // a reconnect retries within the backoff (prepareReconnect); only the first connect ends here
        return { kind: 'failed', failure: { code: 'PLATFORM_ERROR', message: `${FailureCodes.PLATFORM_ERROR} (leak guard: ${errorText(e)})`, fields: { detail: errorText(e) } } };
      }
    }
    const ports = this.opts.ports ?? { ike: 500, natt: 4500 };
    const built = buildSessionConfig(p, this.secretsOf(a), { local: { address: local, port: ports.ike }, remote: { address, port: p.gateway.port }, localNattPort: ports.natt });
    if (!built.ok) return void this.finish(a, { kind: 'failed', failure: { code: built.code, message: built.message } });
    a.built = built.config;
    this.enterStage(a, 'ike_sa_init');
    const sessionConfig = this.opts.retransmit !== undefined ? { ...built.config.session, retransmit: this.opts.retransmit } : built.config.session;
    const session = new IkeSession(sessionConfig, { random: this.random });
    const driver = new IkeDriver(session, { localAddress: local, ports, clock: this.clock, onAction: (act) => this.onAction(a, act) });
    a.session = session;
    a.driver = driver;
    a.outcome = driver.run();
    let current = a.outcome;
    let outcome = await current;
    // A make-before-break reauthentication handed the connection to a new session (adoptReauth): follow it.
    while (a.outcome !== undefined && a.outcome !== current && a.ending === undefined) {
      current = a.outcome;
      outcome = await current;
    }
    if (a.ending !== undefined) return undefined;
    if (a.attemptFailure !== undefined) return abandoned();
    if (a.roam !== undefined) return { kind: 'roam', message: a.roam };
    if (outcome.kind === 'failed') return { kind: 'failed', failure: outcome.failure };
    if (a.reauth !== undefined) return { kind: 'reauth', message: a.reauth };
    // The engine closed without being asked: the gateway deleted the IKE SA or our last CHILD_SA.
    return { kind: 'failed', failure: { code: 'PEER_DELETED', message: `${FailureCodes.PEER_DELETED} (${outcome.reason})`, fields: { reason: outcome.reason } } };
  }

  /**
   * After a session ended without being asked: either ends the connection
   * (never connected, a failure that would repeat, the policy's limit) and
   * returns false, or tears the old SAs down (the leak guard stays), waits
   * out the backoff and resets the attempt for a fresh session.
   */
  private async prepareReconnect(a: Attempt, loss: Loss): Promise<boolean> {
    const policy = { ...RECONNECT_DEFAULTS, ...this.opts.reconnect };
    const failure = loss.kind === 'failed' ? loss.failure : undefined;
    if (!a.everConnected || policy.maxAttempts <= 0) {
      void this.finish(a, { kind: 'failed', failure: failure ?? { code: 'PEER_DELETED', message: `${FailureCodes.PEER_DELETED} (${loss.kind !== 'failed' ? loss.message : ''})` } });
      return false;
    }
    const now = this.clock();
    const reason = loss.kind === 'failed' ? loss.failure.message : loss.message;
    let r = a.reconnect;
    if (r === undefined) {
      const silentMs = failure?.fields?.['silentMs'];
      r = { since: typeof silentMs === 'number' && silentMs >= 0 && silentMs <= now ? now - silentMs : now, detectedAt: now, reason, attempts: 0 };
      a.reconnect = r;
      this.log({
        level: 'warn',
        session: a.sessionId,
        component: 'supervisor',
        event: 'connection.lost',
        message: `the tunnel was lost (${reason}); reconnecting`,
        // silentMs (DPD, ike/ACTIONS.md): how long the gateway had been silent when the loss was detected
        fields: { code: failure?.code ?? (loss.kind === 'roam' ? 'NETWORK_CHANGED' : 'REAUTH'), upMs: a.connected !== undefined ? now - a.connected.since : 0, ...(typeof failure?.fields?.['silentMs'] === 'number' ? { silentMs: failure.fields['silentMs'] } : {}) },
      });
    } else if (failure !== undefined) {
      r.lastFailure = failure;
    }
    const outageMs = now - r.since;
    const giveUp =
      (r.attempts > 0 && failure !== undefined && !TRANSIENT.has(failure.code)) ? 'a failure that would repeat' : r.attempts >= policy.maxAttempts ? `${r.attempts} attempts` : outageMs >= policy.maxDurationMs ? `${Math.round(outageMs / 1000)} s` : undefined;
    if (giveUp !== undefined) {
      const last = failure ?? r.lastFailure;
      const code: FailureCode = last?.code ?? 'GATEWAY_UNREACHABLE';
      void this.finish(a, {
        kind: 'failed',
        failure: {
          code,
          message: `The connection was lost (${r.reason}) and could not be restored: gave up after ${giveUp}, ${r.attempts} attempt(s) over ${Math.round(outageMs / 1000)} s. Last error: ${last?.message ?? FailureCodes[code]}`,
          fields: { attempts: r.attempts, outage_ms: outageMs, ...(last?.fields ?? {}) },
        },
      });
      return false;
    }
    // Tear the old session down: its driver has ended; its SAs, routes and DNS go, the guard stays.
    await this.abandonReauth(a, `the connection is being re-established: ${reason}`);
    this.stopWatcher(a);
    if (a.poll !== undefined) clearInterval(a.poll);
    a.poll = undefined;
    if (a.timer !== undefined) clearTimeout(a.timer);
    a.phase = 'connecting';
    await a.ops;
    if (a.ending !== undefined) return false;
    try {
      await this.opts.platform.teardown(`reconnect: ${reason}`.slice(0, 200));
    } catch (e) {
      this.log({ level: 'error', session: a.sessionId, component: 'platform', event: 'platform.teardown_failed', message: `teardown before reconnect failed: ${errorText(e)}` });
    }
    if (a.ending !== undefined) return false;
    // RFC 4478 asks for a new sign-in, not a pause; a lost gateway gets time to come back.
    // A new network (roam) is usable at once, too.
    const delay = loss.kind !== 'failed' && r.attempts === 0 ? 0 : Math.min(policy.maxDelayMs, policy.initialDelayMs * 2 ** r.attempts);
    r.nextAttemptAt = this.clock() + delay;
    this.resetAttempt(a);
    this.publishConnecting(a);
    this.log({ level: 'info', session: a.sessionId, component: 'supervisor', event: 'reconnect.scheduled', message: `reconnect attempt ${r.attempts + 1} in ${delay} ms`, fields: { attempt: r.attempts + 1, delayMs: delay } });
    await new Promise<void>((resolve) => {
      const t = setTimeout(resolve, delay);
      a.wake = () => {
        clearTimeout(t);
        resolve();
      };
    });
    a.wake = undefined;
    if (a.ending !== undefined) return false;
    r.attempts++;
    r.nextAttemptAt = undefined;
    a.attemptFailure = undefined;
    a.reauth = undefined;
    a.roam = undefined;
    a.roaming = undefined;
    this.resetAttempt(a);
    this.emit('stage', { sessionId: a.sessionId, profileId: a.profile.id, stage: 'resolve', at: a.startedAt, finished: null });
    this.publishConnecting(a);
    this.armAttemptTimer(a);
    return true;
  }

  /** A fresh attempt's bookkeeping: stage timeline from `resolve`, no session or SAs yet. */
  private resetAttempt(a: Attempt): void {
    const now = this.clock();
    a.startedAt = now;
    a.stage = 'resolve';
    a.stageStartedAt = now;
    a.stages.length = 0;
    a.session = undefined;
    a.driver = undefined;
    a.outcome = undefined;
    a.child = undefined;
    a.children.clear();
    a.config = undefined;
    a.built = undefined;
    a.ops = Promise.resolve();
  }

  // ------------------------------------------------------------ reauthentication (RFC 4478)

  /**
   * Make-before-break reauthentication (RFC 4478 §3, RFC 7296 §2.8.3): a new
   * IKE SA with the same profile and secrets, from the same local address and
   * ports (IkeDriver `share`: the gateway knows us by them, and charon gives a
   * second IKE SA of ours the same virtual IP only from there), without
   * INITIAL_CONTACT (§2.4: it would make the gateway drop the old IKE SA
   * first), asking for the virtual IP we have (§3.15.1). Its actions go to
   * onReauthAction until adoptReauth hands the connection over.
   */
  private async reauthenticate(a: Attempt, old: IkeSession | undefined, reason: string, deadline: number): Promise<void> {
    const oldDriver = a.driver;
    if (a.phase !== 'connected' || a.ending !== undefined || a.session !== old || old === undefined || oldDriver === undefined || a.reauthing !== undefined) return;
    const local = oldDriver.localAddress;
    const gateway = a.gatewayAddress;
    if (gateway === undefined) return;
    const startedAt = this.clock();
    const ports = this.opts.ports ?? { ike: 500, natt: 4500 };
    const p = a.profile;
    const built = buildSessionConfig(p, this.secretsOf(a), { local: { address: local, port: ports.ike }, remote: { address: gateway, port: p.gateway.port }, localNattPort: ports.natt });
    if (!built.ok) return this.reauthFailed(a, undefined, reason, deadline, built.message);
    const generation = (a.generation ?? 0) + 1;
    a.generation = generation;
    const base = built.config.session;
    const requested = { ...(a.config?.ipv4 !== undefined ? { ipv4: a.config.ipv4.address } : {}), ...(a.config?.ipv6 !== undefined ? { ipv6: a.config.ipv6.address } : {}) };
    const sessionConfig = {
      ...base,
      ...(this.opts.retransmit !== undefined ? { retransmit: this.opts.retransmit } : {}),
      initialContact: false,
      firstChildId: generation * CHILD_ID_STRIDE + 1,
      requestConfig: { ...base.requestConfig, requested },
    };
    const session = new IkeSession(sessionConfig, { random: this.random });
    const slot: { r?: Reauth } = {}; // the driver's callback needs the record the driver is part of
    const driver = new IkeDriver(session, {
      localAddress: local,
      ports,
      share: oldDriver,
      clock: this.clock,
      onAction: (act) => {
        const r = slot.r;
        if (r === undefined) return;
        if (r.adopted) this.onAction(a, act);
        else this.onReauthAction(a, r, act);
      },
    });
    const r: Reauth = { startedAt, deadline, reason, session, driver, built: built.config, children: new Map(), adopted: false, held: [] };
    slot.r = r;
    a.reauthing = r;
    const lead = deadline - startedAt;
    this.log({
      level: 'info',
      session: a.sessionId,
      component: 'supervisor',
      event: 'reauth.started',
      message: `${reason}: signing in again make-before-break, ${Math.round(lead / 1000)} s before the current sign-in expires; the tunnel stays up meanwhile`,
      fields: { leadMs: lead, requested: [requested.ipv4, requested.ipv6].filter((x): x is string => x !== undefined) },
    });
    const limit = this.opts.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
    const attempt = r;
    attempt.timer = setTimeout(() => {
      if (a.reauthing === attempt && !attempt.adopted) attempt.driver.abort(`no new IKE SA within ${Math.round(limit / 1000)} s`);
    }, limit);
    attempt.outcome = driver.run();
    const outcome = await attempt.outcome;
    clearTimeout(attempt.timer);
    this.flushHeld(a, attempt);
    if (attempt.adopted || a.reauthing !== attempt) return; // adopted: runSession follows this outcome now
    this.reauthFailed(a, attempt, reason, deadline, outcome.kind === 'failed' ? `${outcome.failure.code}: ${outcome.failure.message}` : outcome.reason);
  }

  /** The pending new session's actions: its CHILD_SA goes in next to the old one; on `established` the connection moves over. */
  private onReauthAction(a: Attempt, r: Reauth, act: IkeAction): void {
    const platform = this.opts.platform;
    switch (act.kind) {
      case 'event': {
        const fields = { ...(act.event.fields ?? {}), reauth: true };
        const line = (f: Record<string, unknown>): LogInput => ({ level: act.event.level, session: a.sessionId, component: 'ike', event: act.event.event, message: `[reauthentication] ${act.event.message}`, fields: f });
        // a held line is written later: it keeps when it happened
        if (r.held !== undefined) r.held.push(line({ ...fields, happenedAt: new Date(act.event.at).toISOString() }));
        else this.log(line(fields));
        return;
      }
      case 'installChildSa': {
        const sa = act.sa;
        r.child ??= sa;
        r.children.set(sa.id, sa);
        this.reauthOp(a, r, async () => {
          const defer = act.deferOutbound === true && platform.installOutboundSa !== undefined;
          await platform.installChildSa(sa, defer ? { deferOutbound: true } : undefined);
          this.flushHeld(a, r);
          r.driver.inform((session, now) => session.childSaInstalled(sa.id, now));
        });
        return;
      }
      case 'installOutboundSa': {
        const id = act.id;
        this.reauthOp(a, r, async () => platform.installOutboundSa?.(id));
        return;
      }
      case 'removeChildSa': {
        const id = act.id;
        r.children.delete(id);
        // also after the reauthentication was given up: what it installed must go
        a.ops = a.ops.then(() => platform.removeChildSa(id)).catch((e: unknown) => this.log({ level: 'warn', session: a.sessionId, component: 'platform', event: 'reauth.remove_failed', message: `removing CHILD_SA ${id} of the abandoned reauthentication failed: ${errorText(e)}` }));
        return;
      }
      case 'assignConfig':
        r.config = act.config;
        return;
      case 'stage':
        if (act.stage === 'established') {
          r.establishedMs = this.clock() - r.startedAt;
          this.reauthOp(a, r, () => this.adoptReauth(a, r));
        }
        return;
      default:
        return; // send/timer: the driver's; failed/closed: its outcome (reauthenticate); no MOBIKE before adoption
    }
  }

  private flushHeld(a: Attempt, r: Reauth): void {
    const held = r.held;
    r.held = undefined;
    for (const line of held ?? []) this.log(line);
  }

  /** Platform work of the pending session, in the connection's queue; a failure gives the reauthentication up (the old IKE SA stays). */
  private reauthOp(a: Attempt, r: Reauth, op: () => Promise<void>): void {
    a.ops = a.ops.then(async () => {
      if (a.ending !== undefined || a.reauthing !== r || r.adopted) return;
      try {
        await op();
      } catch (e) {
        this.log({ level: 'warn', session: a.sessionId, component: 'platform', event: 'reauth.platform_failed', message: `the new IKE SA's CHILD_SA could not be installed (${errorText(e)}); giving the reauthentication up` });
        r.driver.close(); // its outcome ends reauthenticate(): reauthFailed
      }
    });
  }

  /**
   * Make, then break: the new session's CHILD_SA is installed next to the
   * old one (same selectors, so the Linux backend keeps the reqid and the
   * policies; the kernel sends on the newest SA). Routing and configuration
   * move only if the virtual IP changed. Then the old IKE SA is deleted
   * (RFC 7296 §1.4.1: its CHILD_SAs with it). Runs in the operation queue.
   */
  private async adoptReauth(a: Attempt, r: Reauth): Promise<void> {
    this.flushHeld(a, r);
    if (a.phase !== 'connected' || a.connected === undefined) return;
    const child = r.child;
    if (child === undefined) {
      this.log({ level: 'warn', session: a.sessionId, component: 'supervisor', event: 'reauth.no_child', message: 'the new IKE SA came up without a CHILD_SA; keeping the old one' });
      r.driver.close();
      return;
    }
    const oldDriver = a.driver;
    const oldOutcome = a.outcome;
    const oldSession = a.session;
    const before = [a.config?.ipv4?.address, a.config?.ipv6?.address];
    const cfg = r.config ?? a.config ?? EMPTY_CONFIG;
    const vipChanged = before[0] !== cfg.ipv4?.address || before[1] !== cfg.ipv6?.address;
    if (r.timer !== undefined) clearTimeout(r.timer);
    r.adopted = true;
    a.reauthing = undefined;
    a.session = r.session;
    a.driver = r.driver;
    a.outcome = r.outcome;
    a.built = r.built;
    a.config = cfg;
    a.child = child;
    for (const [id, sa] of r.children) a.children.set(id, sa); // the old ones leave with the old session's removeChildSa
    if (vipChanged) await this.applyConfig(a); // the new address and routes, through the new CHILD_SA
    const neg = r.session.negotiated;
    a.connected = {
      ...a.connected,
      gateway: { ...a.connected.gateway, address: neg.remote.address, port: neg.remote.port },
      localAddress: neg.local.address,
      virtualIps: [cfg.ipv4?.address, cfg.ipv6?.address].filter((x): x is string => x !== undefined),
      algorithms: { ike: neg.ike ?? '', esp: neg.esp[0] ?? '' },
      encapsulation: neg.encapsulation,
    };
    this.setState(a.connected);
    const installedMs = this.clock() - r.startedAt;
    const old = oldSession?.spis.initiator ?? '';
    // Break: DELETE the old IKE SA, bounded; not awaited (this runs in the queue the old session's removeChildSa needs).
    void (async () => {
      if (oldDriver !== undefined && oldOutcome !== undefined) await this.closeBounded(a, oldDriver, oldOutcome, 'the old IKE SA');
      const now = this.clock();
      this.log({
        level: 'info',
        session: a.sessionId,
        component: 'supervisor',
        event: 'reauth.completed',
        message: `signed in again make-before-break in ${now - r.startedAt} ms (new IKE SA in ${r.establishedMs ?? 0} ms, its CHILD_SA installed at ${installedMs} ms, old IKE SA deleted at ${now - r.startedAt} ms); virtual IP ${vipChanged ? `changed to ${a.connected?.virtualIps.join(', ') ?? ''}, routes moved` : 'kept'}; the tunnel stayed up`,
        fields: { totalMs: now - r.startedAt, ikeMs: r.establishedMs ?? 0, installedMs, oldDeletedMs: now - r.startedAt, vipChanged, spiI: r.session.spis.initiator, oldSpiI: old },
      });
    })();
  }

  /** The new IKE SA could not be made: keep the old one until its sign-in expires, then reconnect (runSession → prepareReconnect). */
  private reauthFailed(a: Attempt, r: Reauth | undefined, reason: string, deadline: number, why: string): void {
    if (r !== undefined && a.reauthing !== r) return;
    a.reauthing = undefined;
    const old = a.session;
    const wait = Math.max(0, deadline - this.clock());
    this.log({ level: 'warn', session: a.sessionId, component: 'supervisor', event: 'reauth.failed', message: `signing in again failed (${why}); keeping the current IKE SA for the ${Math.round(wait / 1000)} s it has left, then reconnecting`, fields: { why, remainingMs: wait } });
    const t = setTimeout(() => {
      if (a.phase !== 'connected' || a.ending !== undefined || a.session !== old || a.reauth !== undefined) return;
      a.reauth = reason;
      a.driver?.close(); // the close reconnects
    }, wait);
    t.unref();
  }

  /** Disconnect or reconnect while a reauthentication is being built: close its IKE SA too (its CHILD_SA goes with the teardown). */
  private async abandonReauth(a: Attempt, why: string): Promise<void> {
    const r = a.reauthing;
    if (r === undefined) return;
    a.reauthing = undefined;
    if (r.timer !== undefined) clearTimeout(r.timer);
    this.log({ level: 'info', session: a.sessionId, component: 'supervisor', event: 'reauth.abandoned', message: `the reauthentication in progress is abandoned: ${why}` });
    if (r.outcome !== undefined) await this.closeBounded(a, r.driver, r.outcome, 'the new IKE SA');
  }

  /** DELETE of an IKE SA (RFC 7296 §1.4.1), waiting for the answer at most deleteTimeoutMs. */
  private async closeBounded(a: Attempt, driver: IkeDriver, outcome: Promise<IkeDriverOutcome>, what: string): Promise<void> {
    driver.close();
    const limit = this.opts.deleteTimeoutMs ?? DEFAULT_DELETE_TIMEOUT_MS;
    let timer: NodeJS.Timeout | undefined;
    const timedOut = await Promise.race([outcome.then(() => false), new Promise<boolean>((res) => (timer = setTimeout(() => res(true), limit)))]);
    if (timer !== undefined) clearTimeout(timer);
    if (timedOut) {
      this.log({ level: 'warn', session: a.sessionId, component: 'ike', event: 'delete.unanswered', message: `the gateway did not answer the DELETE of ${what} within ${limit} ms; closing it anyway` });
      driver.abort('DELETE unanswered');
      await outcome;
    }
  }

  // ------------------------------------------------------------ roaming (RFC 4555)

  /** While connected: watch the outer path to the gateway (roaming.ts). */
  private startWatcher(a: Attempt): void {
    const interval = this.opts.pathPollMs ?? 1000;
    if (interval <= 0 || a.watcher !== undefined || a.gatewayAddress === undefined || a.localAddress === undefined) return;
    a.watcher = new PathWatcher(
      {
        gateway: a.gatewayAddress,
        port: a.profile.gateway.port,
        localAddressFor: this.localAddressFor,
        ignore: () => [a.config?.ipv4?.address, a.config?.ipv6?.address].filter((x): x is string => x !== undefined),
        onChange: (from, to) => void this.roam(a, from, to),
        onNoPath: (detail) => this.log({ level: 'warn', session: a.sessionId, component: 'supervisor', event: 'roaming.no_path', message: `no route to the gateway ${a.gatewayAddress ?? ''} at the moment (${detail}); waiting for the network` }),
        intervalMs: interval,
      },
      a.localAddress,
    );
    a.watcher.start();
  }

  private stopWatcher(a: Attempt): void {
    a.watcher?.stop();
    a.watcher = undefined;
  }

  /**
   * Our outer address changed. With MOBIKE (both sides announced it, the
   * platform can move SAs): rebind the IKE sockets and send
   * UPDATE_SA_ADDRESSES; the engine answers with `updateSaAddresses`
   * (moveChildSas). Otherwise, or if the sockets cannot move: a new IKE SA
   * (the reconnect path). A failed update ends the session, which reconnects too.
   */
  private async roam(a: Attempt, from: string, to: string): Promise<void> {
    if (a.phase !== 'connected' || a.ending !== undefined) return;
    const session = a.session;
    const driver = a.driver;
    if (session === undefined || driver === undefined) return;
    const now = this.clock();
    const why =
      !a.profile.mobike ? 'MOBIKE is off in this profile'
      : !session.mobike ? 'the gateway does not support MOBIKE'
      : this.opts.platform.updateChildSaAddresses === undefined ? `the ${this.opts.platform.name} platform cannot move SAs`
      : undefined;
    this.log({
      level: 'info',
      session: a.sessionId,
      component: 'supervisor',
      event: 'roaming.detected',
      message: `our address towards the gateway changed from ${from} to ${to}; ${why === undefined ? 'moving the connection (MOBIKE)' : `reconnecting (${why})`}`,
      fields: { from, to, mobike: why === undefined },
    });
    if (why !== undefined) return this.escalateRoam(a, `our network address changed from ${from} to ${to} and ${why}`);
    a.roaming = { from, to, startedAt: a.roaming?.startedAt ?? now };
    try {
      await driver.rebind(to);
    } catch (e) {
      return this.escalateRoam(a, `our network address changed from ${from} to ${to} and the IKE ports could not be opened there (${errorText(e)})`);
    }
    if (a.phase !== 'connected' || a.driver !== driver) return;
    a.localAddress = to;
    driver.inform((s, n) => s.updateAddresses(to, n));
  }

  /** MOBIKE is out: a new IKE SA from the new address (prepareReconnect, without delay). */
  private escalateRoam(a: Attempt, message: string): void {
    if (a.phase !== 'connected' || a.ending !== undefined) return;
    a.roam = message;
    a.driver?.abort(`network changed: ${message}`);
  }

  /**
   * The gateway accepted the new address: move every CHILD_SA in the kernel
   * (same SPIs, keys and sequence numbers), then prove the data path by
   * inbound ESP on the moved SAs. Only when none arrives are the virtual IP
   * and the routes re-applied on the new path to the gateway (the gateway's
   * own address stays outside the tunnel either way): applyConfig replaces
   * the configuration by removing it first, a gap of its own in a flowing
   * tunnel, while the routes as they are keep working as long as their
   * interface is up (XFRM picks the outer path by the SA's addresses).
   */
  private async moveChildSas(a: Attempt, u: Extract<IkeAction, { kind: 'updateSaAddresses' }>): Promise<void> {
    const platform = this.opts.platform;
    const move = platform.updateChildSaAddresses?.bind(platform);
    if (move === undefined) throw new Error('the platform cannot move SAs');
    for (const id of u.childIds) {
      const old = a.children.get(id);
      if (old === undefined) continue;
      const moved: ChildSaSpec = { ...old, local: u.local, remote: u.remote, encap: u.encap };
      await move(moved);
      a.children.set(id, moved);
      if (a.child?.id === id) a.child = moved;
    }
    const movedAt = this.clock();
    // Issue 4: prove the data path with a probe through the tunnel (data-path-probe.ts); without a
    // target, inbound ESP the connection's own traffic brings is all the proof there can be.
    const targets = this.probeTargets(a);
    const cancelled = (): boolean => a.phase !== 'connected' || a.ending !== undefined;
    const prove = async (last: boolean): Promise<number | undefined> => {
      if (targets.length === 0) return this.inboundEsp(a, ROAM_PROOF_MS);
      const res = await this.runProbe(a, targets, cancelled, 'MOBIKE move', ROAM_PROBE, last);
      return res.ok ? this.clock() - movedAt : undefined;
    };
    let proof = await prove(false);
    let rerouted = false;
    if (proof === undefined && a.phase === 'connected') {
      await this.applyConfig(a);
      rerouted = true;
      proof = await prove(true);
    }
    const r = a.roaming;
    a.roaming = undefined;
    const now = this.clock();
    if (a.connected !== undefined && a.phase === 'connected') {
      a.connected = { ...a.connected, localAddress: u.local.address, encapsulation: u.encap !== null };
      this.setState(a.connected);
    }
    const ms = r !== undefined ? movedAt - r.startedAt : 0;
    this.log({
      level: 'info',
      session: a.sessionId,
      component: 'supervisor',
      event: 'roaming.updated',
      message: `moved the connection to ${u.local.address}${u.encap !== null ? ' (ESP in UDP: NAT on the new path)' : ''} ${ms} ms after the change was noticed, with MOBIKE; ${u.childIds.length} CHILD_SA(s) kept; ${
        proof !== undefined ? `ESP from the gateway arrives there (${proof} ms after the move)` : 'no inbound ESP seen yet (no traffic to prove the path with)'
      }${rerouted ? '; routes re-applied on the new path' : ''}`,
      fields: { from: r?.from ?? '', to: u.local.address, ms, encap: u.encap !== null, children: u.childIds.length, dataPath: proof !== undefined, ...(proof !== undefined ? { dataPathMs: proof } : {}), rerouted, totalMs: now - (r?.startedAt ?? now) },
    });
    if (proof !== undefined) a.driver?.inform((session, n) => session.trafficSeen(n));
    else if (targets.length > 0 && r !== undefined) {
      // The escalation (issue 4): MOBIKE moved the SAs but the tunnel carries nothing: a new IKE SA.
      this.escalateRoam(a, `our network address changed from ${r.from} to ${u.local.address}; MOBIKE moved the connection, but no traffic came back through the tunnel (probe to ${targets.map((t) => t.address).join(', ')})`);
    }
  }

  /** Where the data-path probe goes (data-path-probe.ts); logged when there is nothing to probe. */
  private probeTargets(a: Attempt): ProbeTarget[] {
    const targets = a.child !== undefined && a.config !== undefined ? pickProbeTargets(a.config, a.child.remoteTs) : [];
    if (targets.length === 0) {
      this.log({ level: 'info', session: a.sessionId, component: 'supervisor', event: 'probe.skipped', message: 'no data-path probe: neither a pushed DNS server nor a remote network inside the tunnel to send it to' });
    }
    return targets;
  }

  /** Sends the probe and logs its outcome (`probe.ok` / `probe.failed`, with target and ms). */
  private async runProbe(a: Attempt, targets: readonly ProbeTarget[], cancelled: () => boolean, after: 'reconnect' | 'MOBIKE move', policy?: Partial<ProbePolicy>, logFailure = true): Promise<ProbeResult> {
    const p = this.opts.probe;
    const where = targets.map((t) => `${t.address}[${t.port}] (${t.kind === 'dns' ? 'pushed DNS server' : 'remote network'})`).join(' and ');
    const from = [...new Set(targets.map((t) => t.from))].join(', ');
    const fields = { after, targets: targets.map((t) => t.address), target: targets[0]?.address ?? '', from };
    const result = await probeDataPath({
      targets,
      readInbound: async () => (await this.opts.platform.readCounters()).packetsIn,
      send: p?.send ?? udpProbeSender,
      clock: this.clock,
      random: this.random,
      policy: { ...p?.policy, ...policy },
      cancelled,
    });
    if (result.ok) {
      this.log({
        level: 'info',
        session: a.sessionId,
        component: 'supervisor',
        event: 'probe.ok',
        message: `data path proven after the ${after}: a probe from ${from} to ${where} got an answer through the tunnel in ${result.ms} ms (${result.tries} tr${result.tries === 1 ? 'y' : 'ies'})`,
        fields: { ...fields, ms: result.ms, tries: result.tries },
      });
    } else if (result.detail !== 'cancelled' && logFailure) {
      this.log({
        level: 'warn',
        session: a.sessionId,
        component: 'supervisor',
        event: 'probe.failed',
        message: `no traffic came back through the tunnel after the ${after}: ${result.tries} tr${result.tries === 1 ? 'y' : 'ies'} of probes from ${from} to ${where} over ${result.ms} ms went unanswered (${result.detail})`,
        fields: { ...fields, ms: result.ms, tries: result.tries, detail: result.detail },
      });
    }
    return result;
  }

  /**
   * Proof that ESP flows: the kernel's inbound packet counters of our SAs
   * grow within `windowMs` (the gateway sends to our address and we decrypt
   * it). The ms it took, or undefined (no traffic, or no path).
   */
  private async inboundEsp(a: Attempt, windowMs: number): Promise<number | undefined> {
    const since = this.clock();
    let base: number | undefined;
    while (a.phase === 'connected' && a.ending === undefined) {
      try {
        const c = await this.opts.platform.readCounters();
        if (base === undefined) base = c.packetsIn;
        else if (c.packetsIn > base) return this.clock() - since;
      } catch {
        // counters are best effort
      }
      if (this.clock() - since >= windowMs) return undefined;
      await new Promise((r) => setTimeout(r, 50));
    }
    return undefined;
  }

  /** Leak guard on (or replaced) for these gateway addresses (LEAK-GUARD.md). */
  private async setGuard(a: Attempt, gateways: readonly string[]): Promise<void> {
    const port = a.profile.gateway.port;
    // The gateway's ports: its IKE port and RFC 3948's 4500 (session-config.ts: GATEWAY_NATT_PORT).
    // allowLan: the link towards the gateway stays reachable (platform reads its networks now).
    const spec: LeakGuardSpec = { gateways, ports: { ike: port === 4500 ? 500 : port, natt: 4500 }, allowLan: [], ...(a.profile.allowLan ? { allowLocalNetworks: true } : {}) };
    a.guard = gateways; // before awaiting: a half-applied guard is still removed on the way out
    await this.opts.platform.enableLeakGuard(spec);
    this.log({ level: 'info', session: a.sessionId, component: 'supervisor', event: 'leak_guard.enabled', message: `leak guard on: only the tunnel and IKE/ESP with ${gateways.join(', ')} may pass`, fields: { gateways: [...gateways] } });
  }

  /** Inbound ESP is proof of life: the engine postpones its next DPD probe (RFC 7296 §2.4). */
  private async refreshCounters(a: Attempt): Promise<void> {
    const c = await this.opts.platform.readCounters();
    if (a.phase !== 'connected' || a.connected === undefined) return;
    if (c.bytesIn > a.connected.counters.bytesIn) a.driver?.inform((session, now) => session.trafficSeen(now));
    a.connected = { ...a.connected, counters: { bytesIn: c.bytesIn, bytesOut: c.bytesOut, packetsIn: c.packetsIn, packetsOut: c.packetsOut } };
    this.current = a.connected;
  }

  /** The request's secrets, in memory only for the life of the connection (reconnects need them); never logged. */
  private readonly pendingSecrets = new WeakMap<Attempt, ConnectSecrets>();
  private secretsOf(a: Attempt): ConnectSecrets {
    return this.pendingSecrets.get(a) ?? {};
  }

  private onAction(a: Attempt, act: IkeAction): void {
    switch (act.kind) {
      case 'send':
      case 'timer':
        return; // the driver's own business
      case 'stage': {
        const ours = STAGE_OF[act.stage];
        if (ours !== undefined && a.phase === 'connecting') this.enterStage(a, ours);
        if (act.stage === 'established' && a.phase === 'connecting') this.enqueue(a, () => this.completeConnect(a));
        return;
      }
      case 'event':
        if (act.event.event === 'ike_sa.reauth_required' && a.phase === 'connected' && a.reauth === undefined && a.reauthing === undefined) {
          // RFC 4478 §3: a new IKE SA from scratch, built before the old one goes (reauthenticate).
          const f = act.event.fields ?? {};
          const deadline = typeof f['deadline'] === 'number' ? f['deadline'] : this.clock() + (typeof f['remainingMs'] === 'number' ? f['remainingMs'] : 0);
          const reason = `the gateway requires a new sign-in (AUTH_LIFETIME ${String(f['lifetimeS'] ?? '?')} s)`;
          const session = a.session;
          setImmediate(() => void this.reauthenticate(a, session, reason, deadline)); // not from inside the driver's own action loop
        }
        this.log({
          level: act.event.level,
          session: a.sessionId,
          component: 'ike',
          event: act.event.event,
          ...(act.event.stage !== undefined && STAGE_OF[act.event.stage] !== undefined ? { stage: STAGE_OF[act.event.stage] } : {}),
          message: act.event.message,
          ...(act.event.fields !== undefined ? { fields: act.event.fields } : {}),
        });
        return;
      case 'installChildSa': {
        const sa = act.sa;
        const first = a.child === undefined;
        if (first) a.child = sa;
        this.enqueue(a, async () => {
          if (first && a.phase === 'connecting') this.enterStage(a, 'install');
          // The gateway's rekey: the outbound half waits for installOutboundSa (ike/ACTIONS.md), if the platform can split.
          const defer = act.deferOutbound === true && this.opts.platform.installOutboundSa !== undefined;
          await this.opts.platform.installChildSa(sa, defer ? { deferOutbound: true } : undefined);
          if (!first) a.child = sa; // a rekeyed CHILD_SA takes over routing references
          a.children.set(sa.id, sa);
          // make-before-break (ike/ACTIONS.md): the old pair's DELETE / our held rekey answer may go now
          a.driver?.inform((session, now) => session.childSaInstalled(sa.id, now));
        });
        return;
      }
      case 'installOutboundSa': {
        const id = act.id;
        this.enqueue(a, async () => {
          await this.opts.platform.installOutboundSa?.(id);
        });
        return;
      }
      case 'removeChildSa': {
        const id = act.id;
        this.enqueue(a, async () => {
          await this.opts.platform.removeChildSa(id);
          a.children.delete(id);
        });
        return;
      }
      case 'updateSaAddresses': {
        const u = act;
        this.enqueue(a, () => this.moveChildSas(a, u));
        return;
      }
      case 'assignConfig': {
        a.config = act.config;
        if (a.phase === 'connected') this.enqueue(a, () => this.applyConfig(a));
        return;
      }
      case 'failed':
      case 'closed':
        return; // the driver's outcome carries these (run())
      default: {
        const unhandled: never = act;
        this.log({ level: 'warn', session: a.sessionId, component: 'supervisor', event: 'action.unhandled', message: `unhandled engine action ${JSON.stringify((unhandled as { kind?: unknown }).kind)}` });
      }
    }
  }

  /**
   * Runs platform work in order; a failure ends the connection with PLATFORM_ERROR.
   * An operation must never await finish(): finish() awaits this queue.
   */
  private enqueue(a: Attempt, op: () => Promise<void>): void {
    a.ops = a.ops.then(async () => {
      if (a.ending !== undefined) return;
      try {
        await op();
      } catch (e) {
        const failure: IkeFailure = { code: 'PLATFORM_ERROR', message: `${FailureCodes.PLATFORM_ERROR} (${errorText(e)})`, fields: { detail: errorText(e) } };
        if (a.everConnected && a.driver !== undefined) {
          // A connection that was up is re-established (within the reconnect backoff) instead of ending in Error.
          this.log({ level: 'warn', session: a.sessionId, component: 'platform', event: 'platform.failed_reconnecting', message: `${failure.message}; starting a new connection` });
          a.attemptFailure = failure;
          a.driver.abort('platform failure');
          return;
        }
        void this.finish(a, { kind: 'failed', failure });
      }
    });
  }

  private async applyConfig(a: Attempt): Promise<void> {
    const built = a.built;
    const child = a.child;
    if (built === undefined || child === undefined) throw new Error('no CHILD_SA to route through');
    await this.opts.platform.applyConfig({
      config: a.config ?? EMPTY_CONFIG,
      childSa: child,
      tunnel: built.tunnel,
      ...(built.dnsOverride !== undefined ? { dnsOverride: built.dnsOverride } : {}),
      ...(built.mtu !== undefined ? { mtu: built.mtu } : {}),
    });
  }

  private async completeConnect(a: Attempt): Promise<void> {
    if (a.phase !== 'connecting') return;
    if (a.child === undefined) {
      // not awaited: finish() waits for the operation queue this runs in
      void this.finish(a, { kind: 'failed', failure: { code: 'CHILD_SA_FAILED', message: `${FailureCodes.CHILD_SA_FAILED} (the IKE SA came up without a CHILD_SA)` } });
      return;
    }
    this.enterStage(a, 'configure');
    await this.applyConfig(a);
    if (a.phase !== 'connecting' || a.ending !== undefined) return;
    // LEAK-GUARD.md: on once the CHILD_SA and the configuration are up; kept across reconnects.
    if (a.profile.leakGuard && a.guard === undefined && a.gatewayAddress !== undefined) await this.setGuard(a, [a.gatewayAddress]);
    if (a.phase !== 'connecting' || a.ending !== undefined) return;
    // Issue 4: after a reconnect, Connected again only once traffic flows both ways. The first
    // connect reports Connected without it, as strongSwan does (a failure there is the user's to see).
    let probe: ProbeResult | undefined;
    if (a.reconnect !== undefined) {
      this.enterStage(a, 'probe');
      const targets = this.probeTargets(a);
      if (targets.length > 0) {
        probe = await this.runProbe(a, targets, () => a.phase !== 'connecting' || a.ending !== undefined, 'reconnect');
        if (a.phase !== 'connecting' || a.ending !== undefined) return;
        if (!probe.ok) {
          // A failed attempt (runSession → prepareReconnect): the next one, or Error once the policy gives up.
          a.attemptFailure = {
            code: 'DATA_PATH_FAILED',
            message: `${FailureCodes.DATA_PATH_FAILED} (the new IKE SA is up, but nothing came back through the tunnel from ${probe.targets.map((t) => t.address).join(' or ')} within ${probe.ms} ms: ${probe.detail})`,
            fields: { probeTargets: probe.targets.map((t) => t.address), probeMs: probe.ms, probeTries: probe.tries },
          };
          a.driver?.close(); // DELETE the useless IKE SA; its end starts the next attempt
          return;
        }
      }
    }
    const now = this.clock();
    a.stages.push({ stage: a.stage, startedAt: a.stageStartedAt, ms: now - a.stageStartedAt });
    // No counter read here: the tunnel is brand new (zero), and a kernel query would delay the
    // connect answer; status() reads them.
    const counters = ZERO_COUNTERS;
    const session = a.session as IkeSession;
    const neg = session.negotiated;
    const cfg = a.config ?? EMPTY_CONFIG;
    const built = a.built as BuiltConfig;
    const state: ConnectedState = {
      state: 'connected',
      sessionId: a.sessionId,
      profileId: a.profile.id,
      profileName: a.profile.name,
      gateway: { host: a.profile.gateway.host, address: neg.remote.address, port: neg.remote.port },
      localAddress: neg.local.address,
      virtualIps: [cfg.ipv4?.address, cfg.ipv6?.address].filter((x): x is string => x !== undefined),
      dns: built.dnsOverride?.servers !== undefined ? [...built.dnsOverride.servers] : [...cfg.dns],
      algorithms: { ike: neg.ike ?? '', esp: neg.esp[0] ?? '' },
      saLifetimes: { ...built.lifetimes },
      encapsulation: neg.encapsulation,
      since: now,
      connectMs: now - a.startedAt,
      stages: [...a.stages],
      counters,
    };
    a.phase = 'connected';
    a.connected = state;
    a.everConnected = true;
    if (a.timer !== undefined) clearTimeout(a.timer);
    const dpdMs = built.session.dpdIntervalMs ?? 0;
    if (dpdMs > 0) {
      // Proof of life for DPD at most once per DPD interval (ike/ACTIONS.md: trafficSeen).
      a.poll = setInterval(() => {
        if (a.phase === 'connected') this.refreshCounters(a).catch((e: unknown) => this.log({ level: 'debug', session: a.sessionId, component: 'platform', event: 'platform.counters_failed', message: `could not read SA counters: ${errorText(e)}` }));
      }, dpdMs);
      a.poll.unref();
    }
    const restored = a.reconnect;
    a.reconnect = undefined;
    this.emit('stage', { sessionId: a.sessionId, profileId: a.profile.id, stage: 'connected', at: now, finished: a.stages[a.stages.length - 1] ?? null });
    this.log({
      level: 'info',
      session: a.sessionId,
      component: 'supervisor',
      event: 'connected',
      stage: 'connected',
      message: `connected to ${state.gateway.address} in ${state.connectMs} ms (${a.stages.map((s) => `${s.stage} ${s.ms} ms`).join(', ')}); virtual IP ${state.virtualIps.join(', ') || 'none'}`,
      fields: { connectMs: state.connectMs, ike: state.algorithms.ike, esp: state.algorithms.esp, virtualIps: state.virtualIps, ...Object.fromEntries(a.stages.map((s) => [`${s.stage}Ms`, s.ms])) },
    });
    if (restored !== undefined) {
      const outageMs = now - restored.since;
      this.log({
        level: 'info',
        session: a.sessionId,
        component: 'supervisor',
        event: 'connection.restored',
        stage: 'connected',
        message: `connection restored after an outage of ${outageMs} ms (${now - restored.detectedAt} ms after it was noticed, ${restored.attempts} attempt(s)); it was lost because: ${restored.reason}`,
        // outage_ms: from the gateway's last sign of life (DPD) or the loss's detection, to Connected again
        fields: { outage_ms: outageMs, reconnect_ms: now - restored.detectedAt, attempts: restored.attempts, ...(probe !== undefined ? { probe_ms: probe.ms, probeTargets: probe.targets.map((t) => t.address) } : { probe: 'none' }) },
      });
    }
    this.setState(state);
    this.startWatcher(a);
    a.settle.resolve(state); // no-op after a reconnect: the connect request was answered the first time
  }

  /**
   * Ends an attempt exactly once: stop IKE (DELETE when established, bounded
   * wait), let queued platform work drain, tear the platform down, settle
   * the connect promise, and publish Error or Disconnected.
   */
  private finish(a: Attempt, end: End): Promise<{ clean: boolean; state: ConnectionState }> {
    if (a.ending !== undefined) return a.ending;
    const wasPhase = a.phase;
    a.phase = 'ending';
    a.ending = (async () => {
      if (a.timer !== undefined) clearTimeout(a.timer);
      if (a.poll !== undefined) clearInterval(a.poll);
      this.stopWatcher(a);
      a.wake?.();
      const reason = end.kind === 'disconnect' ? end.reason : `${end.failure.code}: ${end.failure.message}`;
      if (end.kind === 'disconnect') {
        this.log({ level: 'info', session: a.sessionId, component: 'supervisor', event: 'disconnect.requested', message: `disconnecting: ${end.reason}` });
        this.setState({ state: 'disconnecting', sessionId: a.sessionId, profileId: a.profile.id, profileName: a.profile.name, since: this.clock(), reason: end.reason.slice(0, 1024) });
      } else {
        this.log({ level: 'error', session: a.sessionId, component: 'supervisor', event: 'connection.failed', ...(wasPhase === 'connecting' ? { stage: a.stage } : {}), message: end.failure.message, fields: { code: end.failure.code, stage: wasPhase === 'connecting' ? a.stage : 'connected', ...(end.failure.fields ?? {}) } });
      }
      await Promise.all([this.stopIke(a), this.abandonReauth(a, reason)]);
      await a.ops;
      let report: TeardownReport | undefined;
      try {
        report = await this.opts.platform.teardown(reason.slice(0, 200));
      } catch (e) {
        this.log({ level: 'error', session: a.sessionId, component: 'platform', event: 'platform.teardown_failed', message: `teardown failed: ${errorText(e)}` });
      }
      if (a.guard !== undefined) {
        // LEAK-GUARD.md: off on user disconnect and on the final Error, so a failed connection never leaves the user offline.
        try {
          await this.opts.platform.disableLeakGuard();
          this.log({ level: 'info', session: a.sessionId, component: 'supervisor', event: 'leak_guard.disabled', message: 'leak guard off' });
        } catch (e) {
          this.log({ level: 'error', session: a.sessionId, component: 'platform', event: 'leak_guard.disable_failed', message: `the leak guard could not be removed: ${errorText(e)}` });
        }
        a.guard = undefined;
      }
      this.pendingSecrets.delete(a);
      a.forgetSecrets();
      const now = this.clock();
      let state: ConnectionState;
      if (end.kind === 'failed') {
        const stages = wasPhase === 'connecting' ? [...a.stages, { stage: a.stage, startedAt: a.stageStartedAt, ms: now - a.stageStartedAt }] : [...a.stages];
        state = {
          state: 'error',
          sessionId: a.sessionId,
          profileId: a.profile.id,
          profileName: a.profile.name,
          code: end.failure.code,
          message: end.failure.message.slice(0, 4096),
          at: now,
          ...(wasPhase === 'connecting' ? { stage: a.stage } : {}),
          stages,
        };
      } else {
        state = { state: 'disconnected' };
        this.log({ level: 'info', session: a.sessionId, component: 'supervisor', event: 'disconnected', message: `disconnected (${end.reason}); platform ${report?.clean === true ? 'clean' : 'NOT clean'}` });
      }
      this.active = undefined;
      this.setState(state);
      if (wasPhase === 'connecting') {
        const code: FailureCode = end.kind === 'failed' ? end.failure.code : 'CANCELLED';
        const message = end.kind === 'failed' ? end.failure.message : `${FailureCodes.CANCELLED} (${end.reason})`;
        a.settle.reject(new ConnectFailure(code, message, state));
      }
      return { clean: report?.clean ?? false, state };
    })();
    return a.ending;
  }

  private async stopIke(a: Attempt): Promise<void> {
    const driver = a.driver;
    const outcome = a.outcome;
    if (driver === undefined || outcome === undefined) return;
    driver.close(); // RFC 7296 §1.4.1: DELETE of the IKE SA when established
    const limit = this.opts.deleteTimeoutMs ?? DEFAULT_DELETE_TIMEOUT_MS;
    let timer: NodeJS.Timeout | undefined;
    const timedOut = await Promise.race([outcome.then(() => false), new Promise<boolean>((r) => (timer = setTimeout(() => r(true), limit)))]);
    if (timer !== undefined) clearTimeout(timer);
    if (timedOut) {
      this.log({ level: 'warn', session: a.sessionId, component: 'ike', event: 'delete.unanswered', message: `the gateway did not answer our DELETE within ${limit} ms; closing anyway` });
      driver.abort('DELETE unanswered');
      await outcome;
    }
  }

  private enterStage(a: Attempt, stage: ActiveStage): void {
    if (a.stage === stage || a.phase !== 'connecting') return;
    const now = this.clock();
    const finished: StageTiming = { stage: a.stage, startedAt: a.stageStartedAt, ms: now - a.stageStartedAt };
    a.stages.push(finished);
    a.stage = stage;
    a.stageStartedAt = now;
    this.emit('stage', { sessionId: a.sessionId, profileId: a.profile.id, stage, at: now, finished });
    this.log({ level: 'info', session: a.sessionId, component: 'supervisor', event: 'stage', stage, message: `stage ${stage} (after ${finished.stage} took ${finished.ms} ms)`, fields: { previous: finished.stage, ms: finished.ms } });
    this.publishConnecting(a);
  }

  private publishConnecting(a: Attempt): void {
    const r = a.reconnect;
    const reconnect: ConnectingState['reconnect'] =
      r === undefined ? undefined : { since: r.since, attempt: r.attempts, reason: r.reason.slice(0, 1024), ...(r.nextAttemptAt !== undefined ? { nextAttemptAt: r.nextAttemptAt } : {}) };
    this.setState({
      state: 'connecting',
      sessionId: a.sessionId,
      profileId: a.profile.id,
      profileName: a.profile.name,
      gateway: { host: a.profile.gateway.host, port: a.profile.gateway.port },
      startedAt: a.startedAt,
      stage: a.stage,
      stageStartedAt: a.stageStartedAt,
      stages: [...a.stages],
      ...(reconnect !== undefined ? { reconnect } : {}),
    });
  }

  private setState(s: ConnectionState): void {
    this.current = s;
    this.emit('state', s);
  }

  private log(input: LogInput): void {
    this.opts.log.append(input);
  }
}
