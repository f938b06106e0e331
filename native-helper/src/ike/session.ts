/**
 * IkeSession: the IKEv2 initiator as a sans-I/O state machine (DESIGN.md).
 * It takes a datagram or a tick with the injected clock `now` (milliseconds
 * since the Unix epoch; certificates are checked against it) and returns
 * IkeAction[]; randomness comes from `deps.random`.
 *
 * It is the task manager of strongSwan's task_manager_v2.c in small:
 *   - one exchange of ours in flight (a window of one, RFC 7296 §2.3), with
 *     Message IDs counted per direction; a response must match the
 *     outstanding request (ID and exchange) or it is dropped;
 *   - retransmission of the identical request octets with exponential
 *     backoff on tick (§2.1), then GATEWAY_UNREACHABLE;
 *   - the gateway's requests are answered in order, and a retransmitted one
 *     from a response cache (§2.1);
 *   - malformed or unauthenticated input is dropped, or answered as §2.21
 *     says; nothing a peer sends makes an exception escape (an internal bug
 *     becomes an INTERNAL_ERROR failure, which the fuzzer counts).
 *
 * State transitions are guarded (created → init_sent → auth_sent →
 * established → deleting → closed, any → failed) and logged `old -> new`.
 */
import { createHash } from 'node:crypto';

import type { Endpoint, IkeAction, IkeFailure, IkeStage } from './actions.js';
import { ExchangeType, IKE_VERSION, NotifyType, PayloadType, ProtocolId, exchangeName, isErrorNotify, notifyName } from './constants.js';
import { describeMessage } from './codec/describe.js';
import { decodeMessage, encodeMessage } from './codec/message.js';
import type { IkeMessage, Payload } from './codec/types.js';
import { formatEspSuite, formatIkeSuite } from './crypto/suite.js';
import { emit, hex } from './exchange/context.js';
import type { ExchangeContext, NatState } from './exchange/context.js';
import { IkeAuthTask } from './exchange/ike-auth.js';
import { IkeSaInitTask } from './exchange/ike-sa-init.js';
import { NONCE_LENGTH } from './exchange/ike-sa-init.js';
import { DeleteIkeSaTask, LivenessTask, answerInformational, refuseRequest } from './exchange/informational.js';
import { DeleteChildSaTask, RekeyChildSaTask, answerCreateChildSa } from './exchange/child-rekey.js';
import { IKE_REKEY_RETRY_MS, RekeyIkeSaTask, answerIkeRekey, ikeRekeyTime, isIkeRekeyRequest, oursIsRedundant } from './exchange/ike-rekey.js';
import type { RekeyedIkeSa } from './exchange/ike-rekey.js';
import { RetiringIkeSa } from './exchange/retiring-ike-sa.js';
import { UpdateSaAddressesTask, mobikeNegotiated } from './exchange/mobike.js';
import { notifyPayload } from './exchange/payloads.js';
import { DEFAULT_NATT_PORT, validateConfig } from './exchange/session-config.js';
import type { IkeSessionConfig } from './exchange/session-config.js';
import type { Task, TaskFailure } from './exchange/task.js';
import { makeFailure, unreachableFailure } from './failures.js';
import { DEFAULT_REASSEMBLY_LIMITS, FragmentReassembler, protect, unprotect } from './protection.js';
import type { MessageHeader, ReassemblyResult, UnprotectResult } from './protection.js';

export type { IkeSessionConfig, LocalAuth } from './exchange/session-config.js';
export { DEFAULT_IKE_MTU, DEFAULT_RETRANSMIT } from './exchange/session-config.js';

/**
 * How long our answer to the gateway's CHILD_SA rekey waits for the host's
 * install report (childSaInstalled) at most. The gateway switches to the new
 * SA when it has our answer, so the answer must not overtake the install of
 * our inbound SA (which took up to ~2 s in a loaded lab); below charon's
 * first retransmission (4 s).
 */
export const PEER_REKEY_HOLD_MS = 3000;

/** How long after a rekey of ours the predecessor is deleted if the host does not report the install earlier. */
export const REKEY_DELETE_DELAY_MS = 2000;

/** After the gateway's CHILD_SA rekey: switch outbound to the new SA at the latest this long after our answer, if the gateway's DELETE of the old pair never comes. */
export const PEER_REKEY_OUTBOUND_GRACE_MS = 5000;

export interface IkeSessionDeps {
  /** cryptographically strong random octets (node:crypto randomBytes in the daemon; a seeded generator in tests) */
  random(n: number): Uint8Array;
}

export type IkeSaState = 'created' | 'init_sent' | 'auth_sent' | 'established' | 'deleting' | 'closed' | 'failed';

/** iked's sa_state / charon's ike_sa_state_t, as an allow-list. */
const TRANSITIONS: Readonly<Record<IkeSaState, readonly IkeSaState[]>> = {
  created: ['init_sent', 'closed', 'failed'],
  init_sent: ['auth_sent', 'closed', 'failed'],
  auth_sent: ['established', 'closed', 'failed'],
  established: ['deleting', 'closed', 'failed'],
  deleting: ['closed', 'failed'],
  closed: [],
  failed: [],
};

export interface Datagram {
  /** the IKE message, WITHOUT the non-ESP marker of port 4500 */
  readonly data: Uint8Array;
  readonly from: Endpoint;
  readonly to: Endpoint;
}

/** Secret-free facts about the negotiation, for status displays and tests. */
export interface NegotiatedInfo {
  readonly ike?: string;
  readonly esp: readonly string[];
  readonly nat?: NatState;
  readonly encapsulation: boolean;
  readonly peerFragmentation: boolean;
  readonly peerSignatureHashes: readonly number[];
  readonly local: Endpoint;
  readonly remote: Endpoint;
}

interface Outstanding {
  readonly task: Task;
  readonly messageId: number;
  readonly datagrams: readonly Uint8Array[];
  /** where retransmissions go: a MOBIKE move (updateAddresses) re-targets them */
  from: Endpoint;
  to: Endpoint;
  readonly firstSentAt: number;
  readonly maxTries: number;
  sends: number;
  nextAt: number;
}

interface CachedResponse {
  readonly messageId: number;
  readonly datagrams: readonly Uint8Array[];
  /** hashes of the request's datagrams (every fragment), to recognise a retransmission */
  readonly requestHashes: ReadonlySet<string>;
}

const digest = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');
const sameBytes = (a: Uint8Array, b: Uint8Array): boolean => a.length === b.length && a.every((x, i) => x === b[i]);
const sameAddress = (a: string, b: string): boolean => a.toLowerCase() === b.toLowerCase();
/** IPv4 20 + UDP 8; IPv6 40 + UDP 8 (RFC 7383 §2.5.1: the fragment must fit the IP MTU). */
const ipUdpOverhead = (address: string): number => (address.includes(':') ? 48 : 28);
const NON_ESP_MARKER = 4;

export class IkeSession {
  private readonly ctx: ExchangeContext;
  private readonly configProblem: string | undefined;
  private st: IkeSaState = 'created';
  private readonly queue: Task[] = [];
  private outstanding: Outstanding | undefined;
  /** a request the peer asked us to send again, after a pause (COOKIE back-off, RFC 7296 §2.6) */
  private delayedRetry: { readonly task: Task; readonly at: number } | undefined;
  private nextMessageId = 0;
  private peerNextMessageId = 0;
  private lastResponse: CachedResponse | undefined;
  /** hashes of the fragments of the peer request being reassembled */
  private requestFragmentHashes: { messageId: number; hashes: Set<string> } | undefined;
  private readonly reassembler: FragmentReassembler;
  private timerAt: number | undefined;
  private stageNow: IkeStage | undefined;
  private icvFailures = 0;
  /**
   * Old CHILD_SAs we replaced, to DELETE once the host installed the
   * successor (childSaInstalled) or at the latest at `at` (make-before-break:
   * the gateway switches its outbound SA when it gets our DELETE).
   */
  private readonly pendingDeletes: { childId: number; successor: number; at: number }[] = [];
  /**
   * Our response to the gateway's CHILD_SA rekey, held until the host has
   * installed the new pair (childSaInstalled) or until `at`: the gateway
   * switches to the new SA as soon as it has our response (make-before-break).
   */
  private heldResponse: { datagrams: readonly Uint8Array[]; from: Endpoint; to: Endpoint; successor: number; at: number } | undefined;
  /**
   * The gateway's CHILD_SA rekeys whose outbound SA is held back: it goes in
   * when the gateway deletes `replaces` (then the gateway surely has the new
   * inbound SA, RFC 7296 §2.8) or at `at` (lossless on both sides).
   */
  private readonly deferredOutbound: { childId: number; replaces: number; at: number }[] = [];
  /** RFC 4478: when to tell the host to reauthenticate (a new IKE SA), and whether we did */
  private reauth: { at: number; deadline: number; lifetimeS: number; signalled: boolean } | undefined;
  /** when we last heard from the gateway: an authenticated IKE message, or ESP the host reported (§2.4) */
  private lastHeard = 0;
  /** set when the gateway deleted our last CHILD_SA: we delete the IKE SA, then report this */
  private afterClose: IkeFailure | undefined;
  /** RFC 7296 §2.18: we are the original initiator of the CURRENT IKE SA (not after the gateway rekeyed it) */
  private originalInitiator = true;
  /** when we rekey the IKE SA (config ikeRekeySeconds, with jitter) */
  private ikeRekeyAt: number | undefined;
  /** IKE SAs a rekey replaced, until they are deleted (exchange/retiring-ike-sa.ts) */
  private readonly retiring: RetiringIkeSa[] = [];

  constructor(
    private readonly config: IkeSessionConfig,
    private readonly deps: IkeSessionDeps,
  ) {
    this.configProblem = validateConfig(config);
    this.ctx = {
      config,
      random: (n) => {
        const r = deps.random(n);
        if (r.length !== n) throw new RangeError(`random(${n}) returned ${r.length} octets`);
        return r;
      },
      now: 0,
      spiI: new Uint8Array(8),
      spiR: new Uint8Array(8),
      local: { ...config.local },
      remote: { ...config.remote },
      nonceI: new Uint8Array(0),
      encapsulation: false,
      peer: { fragmentation: false, hashAlgorithms: [], certificateRequests: 0 },
      children: new Map(),
      nextChildId: config.firstChildId ?? 1,
      timings: {},
      pending: [],
    };
    this.reassembler = new FragmentReassembler(config.reassembly ?? DEFAULT_REASSEMBLY_LIMITS);
  }

  get state(): IkeSaState {
    return this.st;
  }

  /** The IKE SA's SPIs in hex (public values: they are in every header). */
  get spis(): { readonly initiator: string; readonly responder: string } {
    return { initiator: hex(this.ctx.spiI), responder: hex(this.ctx.spiR) };
  }

  get negotiated(): NegotiatedInfo {
    const c = this.ctx;
    const info: { -readonly [K in keyof NegotiatedInfo]: NegotiatedInfo[K] } = {
      esp: [...c.children.values()].map((ch) => formatEspSuite(ch.suite)),
      encapsulation: c.encapsulation,
      peerFragmentation: c.peer.fragmentation,
      peerSignatureHashes: [...c.peer.hashAlgorithms],
      local: { ...c.local },
      remote: { ...c.remote },
    };
    if (c.keys !== undefined) info.ike = formatIkeSuite(c.keys.suite);
    if (c.nat !== undefined) info.nat = c.nat;
    return info;
  }

  // ------------------------------------------------------------ entry points

  start(now: number): IkeAction[] {
    return this.guard(now, () => {
      if (this.st !== 'created') {
        emit(this.ctx, 'warn', 'session.start_ignored', `start() in state ${this.st}`);
        return;
      }
      if (this.configProblem !== undefined) {
        this.terminate({ kind: 'failed', failure: makeFailure('PROFILE_INVALID', `The connection settings are invalid: ${this.configProblem}.`) });
        return;
      }
      const ctx = this.ctx;
      ctx.spiI = ctx.random(8);
      ctx.nonceI = ctx.random(NONCE_LENGTH);
      ctx.timings.started = now;
      this.queue.push(new IkeSaInitTask(ctx), new IkeAuthTask(ctx));
      this.transition('init_sent');
      this.setStage('ike_sa_init');
      this.initiateNext();
    });
  }

  receive(datagram: Datagram, now: number): IkeAction[] {
    return this.guard(now, () => {
      if (this.isTerminal() || this.st === 'created') return;
      this.handleDatagram(datagram);
    });
  }

  tick(now: number): IkeAction[] {
    return this.guard(now, () => {
      if (this.isTerminal()) return;
      this.retransmitDue(now);
      this.delayedRetryDue(now);
      this.retiringDue(now);
      if (this.st === 'established') this.scheduledWork(now);
    });
  }

  private dpdDue(): number | undefined {
    const interval = this.config.dpdIntervalMs ?? 0;
    if (interval <= 0 || this.st !== 'established' || this.outstanding !== undefined || this.queue.length > 0) return undefined;
    return this.lastHeard + interval;
  }

  /** Our own timers: CHILD_SA rekeys at their soft lifetime (RFC 7296 §2.8), liveness checks (§2.4). */
  private scheduledWork(now: number): void {
    const held = this.heldResponse;
    if (held !== undefined && now >= held.at) {
      this.heldResponse = undefined;
      for (const d of held.datagrams) this.ctx.pending.push({ kind: 'send', data: d, from: held.from, to: held.to });
    }
    for (const d of this.deferredOutbound.filter((x) => now >= x.at)) this.switchOutbound(d.childId, 'the gateway did not delete the old CHILD_SA in time');
    for (let i = 0; i < this.pendingDeletes.length; ) {
      const d = this.pendingDeletes[i] as { childId: number; at: number };
      if (now >= d.at) {
        this.queue.push(new DeleteChildSaTask(this.ctx, d.childId));
        this.pendingDeletes.splice(i, 1);
      } else i++;
    }
    const dpd = this.dpdDue();
    if (dpd !== undefined && now >= dpd) this.queue.push(new LivenessTask(this.ctx, this.lastHeard));
    if (this.ikeRekeyAt !== undefined && now >= this.ikeRekeyAt) {
      this.ikeRekeyAt = undefined;
      this.queue.push(new RekeyIkeSaTask(this.ctx));
    }
    const r = this.reauth;
    if (r !== undefined && !r.signalled && now >= r.at) {
      r.signalled = true;
      // RFC 4478 §3: the client reauthenticates by creating a new IKE SA from scratch; the host does that.
      emit(this.ctx, 'warn', 'ike_sa.reauth_required', `the gateway requires a new sign-in within ${r.lifetimeS} s of the last one (AUTH_LIFETIME); reconnect before ${new Date(r.deadline).toISOString()}`, {
        lifetimeS: r.lifetimeS,
        deadline: r.deadline,
        remainingMs: r.deadline - now,
      });
    }
    for (const child of this.ctx.children.values()) {
      if (child.phase !== 'installed' || child.rekeyAt === undefined || now < child.rekeyAt) continue;
      child.phase = 'rekeying';
      child.rekeyAt = undefined;
      this.queue.push(new RekeyChildSaTask(this.ctx, child.id));
    }
    this.initiateNext();
  }

  /** The earliest time tick() has work: a retransmission, or a rekey when established. */
  private nextDeadline(): number | undefined {
    const times: number[] = [];
    if (this.outstanding !== undefined) times.push(this.outstanding.nextAt);
    if (this.delayedRetry !== undefined) times.push(this.delayedRetry.at);
    for (const r of this.retiring) times.push(r.nextAt);
    if (this.st === 'established') {
      for (const c of this.ctx.children.values()) if (c.phase === 'installed' && c.rekeyAt !== undefined) times.push(c.rekeyAt);
      const dpd = this.dpdDue();
      if (dpd !== undefined) times.push(dpd);
      if (this.reauth !== undefined && !this.reauth.signalled) times.push(this.reauth.at);
      if (this.ikeRekeyAt !== undefined) times.push(this.ikeRekeyAt);
      for (const d of this.pendingDeletes) times.push(d.at);
      for (const d of this.deferredOutbound) times.push(d.at);
      if (this.heldResponse !== undefined) times.push(this.heldResponse.at);
    }
    return times.length === 0 ? undefined : Math.min(...times);
  }

  private retiringDue(now: number): void {
    for (const r of this.retiring) r.due(now);
    this.dropRetired();
  }

  private dropRetired(): void {
    for (let i = this.retiring.length - 1; i >= 0; i--) if (this.retiring[i]?.done === true) this.retiring.splice(i, 1);
  }

  /**
   * Makes `n` the current IKE SA (RFC 7296 §2.18): the CHILD_SAs move with
   * it, Message IDs restart at 0, and the replaced one retires; we DELETE it
   * when we initiated what replaced it, else the gateway does.
   */
  private adoptIkeSa(n: RekeyedIkeSa, deleteOld: boolean, why: string): void {
    const ctx = this.ctx;
    const keys = ctx.keys;
    if (keys === undefined) return;
    const old = new RetiringIkeSa(
      ctx,
      { spiI: ctx.spiI, spiR: ctx.spiR, keys, initiator: this.originalInitiator, nextMessageId: this.nextMessageId, peerNextMessageId: this.peerNextMessageId, ...(this.lastResponse === undefined ? {} : { lastResponse: this.lastResponse }) },
      why,
    );
    const oldName = old.name;
    ctx.spiI = n.spiI;
    ctx.spiR = n.spiR;
    ctx.keys = n.keys;
    this.originalInitiator = n.weInitiated;
    this.nextMessageId = 0;
    this.peerNextMessageId = 0;
    this.lastResponse = undefined;
    this.requestFragmentHashes = undefined;
    this.reassembler.clear();
    this.retiring.push(old);
    if (deleteOld) old.sendDelete();
    // A rekey of ours still waiting in the queue would only replace the brand-new IKE SA again.
    for (let i = this.queue.length - 1; i >= 0; i--) if (this.queue[i] instanceof RekeyIkeSaTask) this.queue.splice(i, 1);
    const seconds = this.config.ikeRekeySeconds;
    this.ikeRekeyAt = seconds !== undefined && seconds > 0 ? ikeRekeyTime(ctx, seconds) : undefined;
    emit(ctx, 'info', 'ike_sa.rekeyed', `IKE SA ${oldName} replaced by ${hex(n.spiI)}_i ${hex(n.spiR)}_r (${why}); ${ctx.children.size} CHILD_SA(s) moved to it`, {
      oldSpiI: oldName.slice(0, 16),
      spiI: hex(n.spiI),
      spiR: hex(n.spiR),
      by: n.weInitiated ? 'us' : 'gateway',
      ike: formatIkeSuite(n.keys.suite),
    });
  }

  /** Our IKE SA rekey finished: adopt the new IKE SA, or sort out a collision (§2.8.2). */
  private ikeRekeyDone(task: RekeyIkeSaTask): void {
    const ours = task.result;
    const theirs = task.collision;
    if (ours === undefined) {
      // Refused or broken: keep the current IKE SA and try again later (a collision's winner was adopted already if any).
      if (theirs !== undefined) this.adoptIkeSa(theirs, false, 'the gateway rekeyed it');
      else this.ikeRekeyAt = this.ctx.now + IKE_REKEY_RETRY_MS;
      return;
    }
    if (theirs === undefined) {
      this.adoptIkeSa(ours, true, 'our rekey');
      return;
    }
    const redundant = oursIsRedundant(ours, theirs);
    emit(this.ctx, 'info', 'ike_sa.rekey_collision', `the gateway rekeyed the IKE SA at the same time; ${redundant ? 'ours' : "the gateway's"} new IKE SA is redundant (lowest nonce, RFC 7296 §2.8.2)`, {
      redundant: redundant ? 'ours' : 'gateway',
    });
    if (redundant) {
      // The gateway's wins: it deletes the old IKE SA; we delete the redundant one we made.
      this.adoptIkeSa(theirs, false, "the gateway's rekey won a collision");
      const loser = new RetiringIkeSa(this.ctx, { spiI: ours.spiI, spiR: ours.spiR, keys: ours.keys, initiator: true, nextMessageId: 0, peerNextMessageId: 0 }, 'redundant after a rekey collision');
      this.retiring.push(loser);
      loser.sendDelete();
    } else {
      // Ours wins: we delete the old IKE SA; the gateway deletes its redundant one, which we keep answering until then.
      const loser = new RetiringIkeSa(this.ctx, { spiI: theirs.spiI, spiR: theirs.spiR, keys: theirs.keys, initiator: false, nextMessageId: 0, peerNextMessageId: 0 }, 'redundant after a rekey collision');
      this.adoptIkeSa(ours, true, 'our rekey won a collision');
      this.retiring.push(loser);
    }
  }

  /** Asks the host to install the held-back outbound SA of CHILD_SA `childId` (the gateway's rekey). */
  private switchOutbound(childId: number, why: string): void {
    const i = this.deferredOutbound.findIndex((d) => d.childId === childId);
    if (i < 0) return;
    const d = this.deferredOutbound.splice(i, 1)[0] as { replaces: number };
    this.ctx.pending.push({ kind: 'installOutboundSa', id: childId });
    emit(this.ctx, 'info', 'child_sa.outbound_switched', `sending on CHILD_SA ${childId} from now on (it replaces CHILD_SA ${d.replaces}): ${why}`, { child: childId, replaces: d.replaces });
  }

  private retransmitDue(now: number): void {
    {
      const o = this.outstanding;
      if (o === undefined || now < o.nextAt) return;
      if (o.sends - 1 >= o.maxTries) {
        this.timedOut(o);
        return;
      }
      o.sends++;
      const cfg = this.config.retransmit;
      o.nextAt = now + cfg.timeoutMs * cfg.base ** (o.sends - 1);
      emit(this.ctx, 'info', 'message.retransmit', `retransmitting ${exchangeName(o.task.exchange)} request ${o.messageId} (${o.sends - 1} of ${o.maxTries})`, {
        exchange: exchangeName(o.task.exchange),
        messageId: o.messageId,
        retransmit: o.sends - 1,
      });
      for (const d of o.datagrams) this.ctx.pending.push({ kind: 'send', data: d, from: o.from, to: o.to });
    }
  }

  private delayedRetryDue(now: number): void {
    const d = this.delayedRetry;
    if (d === undefined || now < d.at || this.outstanding !== undefined) return;
    this.delayedRetry = undefined;
    this.sendRequest(d.task, now);
  }

  /**
   * The host saw inbound ESP on one of our CHILD_SAs (kernel counters grew):
   * proof of life that postpones the next liveness check (RFC 7296 §2.4:
   * checks are needed only when nothing was heard).
   */
  trafficSeen(now: number): IkeAction[] {
    return this.guard(now, () => {
      if (now > this.lastHeard) this.lastHeard = now;
    });
  }

  /**
   * The host finished installing CHILD_SA `id` (an `installChildSa` action).
   * After a rekey of ours this lets the DELETE of the predecessor go out at
   * once instead of after REKEY_DELETE_DELAY_MS.
   */
  childSaInstalled(id: number, now: number): IkeAction[] {
    return this.guard(now, () => {
      for (const d of this.pendingDeletes) if (d.successor === id) d.at = Math.min(d.at, now);
      if (this.heldResponse?.successor === id) this.heldResponse.at = Math.min(this.heldResponse.at, now);
      if (this.st === 'established') this.scheduledWork(now);
    });
  }

  /** Both sides announced MOBIKE (RFC 4555 §3.3) and the IKE SA is up: updateAddresses() can move it. */
  get mobike(): boolean {
    return this.st === 'established' && mobikeNegotiated(this.ctx);
  }

  /**
   * The host's outer address changed (RFC 4555 §3.5): move the IKE SA to
   * `localAddress` on the NAT-T port with an UPDATE_SA_ADDRESSES exchange
   * (exchange/mobike.ts). The host must already receive on the new address.
   * On success an `updateSaAddresses` action follows; a refusal or no
   * answer ends the session (`failed`), and the host starts a new IKE SA.
   * Without MOBIKE this only logs `mobike.unavailable`.
   */
  updateAddresses(localAddress: string, now: number): IkeAction[] {
    return this.guard(now, () => {
      const ctx = this.ctx;
      if (!this.mobike) {
        emit(ctx, 'warn', 'mobike.unavailable', `cannot move the IKE SA to ${localAddress}: ${this.st !== 'established' ? `state ${this.st}` : ctx.config.mobike === true ? 'the gateway does not support MOBIKE' : 'MOBIKE is off in this profile'}`);
        return;
      }
      const previous = { ...ctx.local };
      const natt = this.config.nattPorts ?? { local: DEFAULT_NATT_PORT, remote: DEFAULT_NATT_PORT };
      ctx.local = { address: localAddress, port: natt.local };
      ctx.remote = { ...ctx.remote, port: natt.remote };
      // The old path is gone: a request in flight retransmits on the new one (its answer comes there).
      const o = this.outstanding;
      if (o !== undefined) {
        o.from = { ...ctx.local };
        o.to = { ...ctx.remote };
      }
      // A newer move supersedes an update still waiting in the queue.
      for (let i = this.queue.length - 1; i >= 0; i--) if (this.queue[i] instanceof UpdateSaAddressesTask) this.queue.splice(i, 1);
      this.queue.unshift(new UpdateSaAddressesTask(ctx, { ...ctx.local }, previous));
      this.initiateNext();
    });
  }

  /** Disconnect: DELETE the IKE SA and wait (bounded) for the answer; before that, just stop. */
  close(now: number): IkeAction[] {
    return this.guard(now, () => {
      switch (this.st) {
        case 'created':
        case 'init_sent':
        case 'auth_sent':
          this.terminate({ kind: 'closed', reason: this.st === 'created' ? 'closed before connecting' : 'connection attempt cancelled' });
          return;
        case 'established':
          this.transition('deleting');
          this.setStage('deleting');
          this.queue.length = 0;
          this.queue.push(new DeleteIkeSaTask(this.ctx));
          this.initiateNext();
          return;
        default:
          return;
      }
    });
  }

  // ------------------------------------------------------------ plumbing

  private isTerminal(): boolean {
    return this.st === 'closed' || this.st === 'failed';
  }

  /** Runs one entry point: sets the clock, drains actions, adds the timer; an internal bug becomes INTERNAL_ERROR. */
  private guard(now: number, body: () => void): IkeAction[] {
    this.ctx.now = now;
    try {
      body();
    } catch (e) {
      if (!this.isTerminal()) {
        const detail = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
        this.terminate({ kind: 'failed', failure: makeFailure('INTERNAL_ERROR', `Internal error in the IKE engine (${detail}).`, { detail }) });
      }
    }
    const actions = this.ctx.pending.splice(0);
    const deadline = this.isTerminal() ? undefined : this.nextDeadline();
    if (deadline !== undefined && deadline !== this.timerAt) actions.push({ kind: 'timer', at: deadline });
    this.timerAt = deadline;
    return actions;
  }

  private transition(next: IkeSaState): void {
    const old = this.st;
    if (!TRANSITIONS[old].includes(next)) throw new RangeError(`illegal IKE SA state transition ${old} -> ${next}`);
    this.st = next;
    emit(this.ctx, 'debug', 'ike_sa.state', `IKE SA ${hex(this.ctx.spiI)}_i ${old} -> ${next}`, { from: old, to: next });
  }

  private setStage(stage: IkeStage): void {
    if (this.stageNow === stage) return;
    this.stageNow = stage;
    this.ctx.pending.push({ kind: 'stage', stage });
  }

  private terminate(end: { kind: 'failed'; failure: IkeFailure } | { kind: 'closed'; reason: string }): void {
    if (this.isTerminal()) return;
    for (const id of [...this.ctx.children.keys()]) this.ctx.pending.push({ kind: 'removeChildSa', id });
    this.ctx.children.clear();
    this.deferredOutbound.length = 0;
    this.retiring.length = 0;
    this.ikeRekeyAt = undefined;
    this.outstanding = undefined;
    this.queue.length = 0;
    this.reassembler.clear();
    this.transition(end.kind);
    this.setStage('closed');
    if (end.kind === 'failed') {
      emit(this.ctx, 'error', 'session.failed', `${end.failure.code}: ${end.failure.message}`, { code: end.failure.code });
      this.ctx.pending.push({ kind: 'failed', failure: end.failure });
    } else {
      emit(this.ctx, 'info', 'session.closed', end.reason);
      this.ctx.pending.push({ kind: 'closed', reason: end.reason });
    }
  }

  private header(exchange: number, messageId: number, response: boolean): MessageHeader {
    const ctx = this.ctx;
    // We are the original initiator: the I flag is set in everything we send (RFC 7296 §3.1).
    return { spiI: ctx.spiI, spiR: exchange === ExchangeType.IKE_SA_INIT ? new Uint8Array(8) : ctx.spiR, version: IKE_VERSION, exchange, initiator: this.originalInitiator, response, messageId };
  }

  /** Protects inner payloads, fragmenting when the gateway supports it and the message is too big (RFC 7383 §2.5.1). */
  private protectedDatagrams(header: MessageHeader, inner: readonly Payload[]): Uint8Array[] {
    const ctx = this.ctx;
    const keys = ctx.keys;
    if (keys === undefined) throw new RangeError('no keys to protect a message');
    const fragment = this.config.fragmentation && ctx.peer.fragmentation;
    const maxMessageSize = this.config.ikeMtu - ipUdpOverhead(ctx.remote.address) - (ctx.encapsulation ? NON_ESP_MARKER : 0);
    return protect({ header, inner, keys: keys.outbound, random: ctx.random, ...(fragment ? { maxMessageSize } : {}) });
  }

  private describeSent(header: MessageHeader, payloads: readonly Payload[], datagrams: readonly Uint8Array[], isProtected: boolean): void {
    const msg: IkeMessage = {
      header: { ...header, nextPayload: isProtected ? PayloadType.SK : (payloads[0]?.type ?? 0), length: datagrams[0]?.length ?? 0 },
      payloads: isProtected ? [{ type: PayloadType.SK, innerNext: payloads[0]?.type ?? 0, body: new Uint8Array(0) }] : payloads,
    };
    const line = describeMessage(msg, isProtected ? payloads : undefined);
    const frag = datagrams.length > 1 ? ` in ${datagrams.length} fragments` : '';
    emit(this.ctx, 'info', 'message.sent', `sending ${line}${frag} to ${this.ctx.remote.address}[${this.ctx.remote.port}]`, {
      summary: line,
      octets: datagrams.reduce((a, d) => a + d.length, 0),
      fragments: datagrams.length,
    });
  }

  // ------------------------------------------------------------ our requests

  private initiateNext(): void {
    if (this.outstanding !== undefined || this.delayedRetry !== undefined || this.isTerminal()) return;
    const task = this.queue.shift();
    if (task === undefined) return;
    if (task.stage !== undefined && this.st !== 'deleting') this.setStage(task.stage);
    this.sendRequest(task, this.ctx.now);
  }

  private sendRequest(task: Task, firstSentAt: number): void {
    const ctx = this.ctx;
    const built = task.build();
    if ('kind' in built) {
      this.fail(built);
      return;
    }
    const messageId = task.exchange === ExchangeType.IKE_SA_INIT ? 0 : this.nextMessageId;
    const header = this.header(task.exchange, messageId, false);
    const datagrams = task.protected ? this.protectedDatagrams(header, built.payloads) : [encodeMessage(header, built.payloads)];
    task.sent?.(datagrams);
    const from = { ...ctx.local };
    const to = { ...ctx.remote };
    this.outstanding = {
      task,
      messageId,
      datagrams,
      from,
      to,
      firstSentAt,
      maxTries: Math.min(this.config.retransmit.tries, task.maxTries ?? Number.POSITIVE_INFINITY),
      sends: 1,
      nextAt: ctx.now + this.config.retransmit.timeoutMs,
    };
    this.describeSent(header, built.payloads, datagrams, task.protected);
    for (const d of datagrams) ctx.pending.push({ kind: 'send', data: d, from, to });
  }

  private timedOut(o: Outstanding): void {
    const elapsed = this.ctx.now - o.firstSentAt;
    if (o.task.onTimeout === 'close') {
      const reason = `the gateway did not confirm our ${exchangeName(o.task.exchange)} after ${o.sends} attempt(s) over ${(elapsed / 1000).toFixed(1)} s; closed anyway`;
      // When the gateway had deleted our tunnel, that stays the reason we report.
      this.terminate(this.afterClose === undefined ? { kind: 'closed', reason } : { kind: 'failed', failure: this.afterClose });
      return;
    }
    if (o.task.onTimeout === 'dead_peer' || this.st === 'established') {
      // §2.4: no answer to a request of an established IKE SA: the gateway is gone (or lost our state).
      const silentMs = this.ctx.now - this.lastHeard;
      this.terminate({
        kind: 'failed',
        failure: makeFailure(
          'DEAD_PEER',
          `The gateway ${o.to.address} stopped answering: nothing heard for ${(silentMs / 1000).toFixed(1)} s, and our ${o.task.name === 'liveness' ? 'liveness check' : exchangeName(o.task.exchange)} went unanswered ${o.sends} time(s) over ${(elapsed / 1000).toFixed(1)} s.`,
          { exchange: exchangeName(o.task.exchange), task: o.task.name, sends: o.sends, elapsedMs: Math.round(elapsed), silentMs: Math.round(silentMs), lastHeardAt: this.lastHeard, detectedAt: this.ctx.now, remote: `${o.to.address}[${o.to.port}]` },
        ),
      });
      return;
    }
    this.terminate({ kind: 'failed', failure: unreachableFailure(exchangeName(o.task.exchange), o.sends, elapsed, `${o.to.address}[${o.to.port}]`) });
  }

  /**
   * A task failed. If the gateway already holds an authenticated IKE SA, tell
   * it (RFC 7296 §2.21.2) and delete it (§1.4.1) in one last INFORMATIONAL,
   * sent once: we are gone and will not wait for the answer.
   */
  private fail(f: TaskFailure): void {
    const ctx = this.ctx;
    if ((f.ikeSaExists === true || f.notifyPeer !== undefined) && ctx.keys !== undefined) {
      const inner: Payload[] = [];
      if (f.notifyPeer !== undefined) inner.push(notifyPayload(f.notifyPeer));
      inner.push({ type: PayloadType.DELETE, protocol: ProtocolId.IKE, spis: [] });
      const header = this.header(ExchangeType.INFORMATIONAL, this.nextMessageId, false);
      const datagrams = this.protectedDatagrams(header, inner);
      this.describeSent(header, inner, datagrams, true);
      for (const d of datagrams) ctx.pending.push({ kind: 'send', data: d, from: { ...ctx.local }, to: { ...ctx.remote } });
    }
    this.terminate({ kind: 'failed', failure: f.failure });
  }

  private taskDone(task: Task): void {
    const ctx = this.ctx;
    this.outstanding = undefined;
    this.nextMessageId++;
    this.reassembler.clear('response');
    switch (task.name) {
      case 'ike_sa_init': {
        ctx.timings.initDone = ctx.now;
        const ms = ctx.now - (ctx.timings.started ?? ctx.now);
        if (ctx.encapsulation) {
          // RFC 7296 §2.23: after NAT detection (or when forced) the initiator moves to port 4500.
          const natt = this.config.nattPorts ?? { local: DEFAULT_NATT_PORT, remote: DEFAULT_NATT_PORT };
          ctx.local = { ...ctx.local, port: natt.local };
          ctx.remote = { ...ctx.remote, port: natt.remote };
          emit(ctx, 'info', 'nat.floated', `moving IKE to ${ctx.local.address}[${ctx.local.port}] -> ${ctx.remote.address}[${ctx.remote.port}]`);
        }
        emit(ctx, 'info', 'stage.timing', `IKE_SA_INIT completed in ${ms} ms`, { stage: 'ike_sa_init', ms }, 'ike_sa_init');
        this.transition('auth_sent');
        break;
      }
      case 'ike_auth': {
        ctx.timings.authDone = ctx.now;
        const authMs = ctx.now - (ctx.timings.initDone ?? ctx.now);
        const totalMs = ctx.now - (ctx.timings.started ?? ctx.now);
        emit(ctx, 'info', 'stage.timing', `IKE_AUTH completed in ${authMs} ms (connected in ${totalMs} ms)`, { stage: 'ike_auth', ms: authMs, totalMs }, 'ike_auth');
        this.transition('established');
        this.setStage('established');
        if (this.config.ikeRekeySeconds !== undefined && this.config.ikeRekeySeconds > 0) this.ikeRekeyAt = ikeRekeyTime(ctx, this.config.ikeRekeySeconds);
        emit(ctx, 'info', 'ike_sa.established', `IKE SA ${hex(ctx.spiI)}_i ${hex(ctx.spiR)}_r established with ${ctx.remote.address} (${this.negotiated.ike ?? '?'})`, {
          ike: this.negotiated.ike,
          esp: this.negotiated.esp,
        });
        break;
      }
      case 'child_rekey': {
        const r = task instanceof RekeyChildSaTask ? task : undefined;
        // Make-before-break: the new pair is installed (its action went out first); now the redundant one goes.
        if (r?.result !== undefined) {
          // The redundant SA of a collision carries no traffic yet: delete it now. The old one waits for its successor.
          if (r.result.redundant) this.queue.push(new DeleteChildSaTask(ctx, r.result.childId));
          else this.pendingDeletes.push({ childId: r.oldId, successor: r.result.childId, at: ctx.now + (this.config.rekeyDeleteDelayMs ?? REKEY_DELETE_DELAY_MS) });
          // §2.8.1: we won a collision, so the gateway's new SA is the redundant one: never send on it.
          const theirs = r.collision?.childId;
          if (!r.result.redundant && theirs !== undefined) {
            const i = this.deferredOutbound.findIndex((d) => d.childId === theirs);
            if (i >= 0) this.deferredOutbound.splice(i, 1);
          }
        }
        break;
      }
      case 'mobike_update': {
        const u = task instanceof UpdateSaAddressesTask ? task.result : undefined;
        if (u !== undefined) {
          // RFC 4555 §3.5: the gateway now uses the new addresses for every CHILD_SA of this IKE SA.
          ctx.pending.push({
            kind: 'updateSaAddresses',
            childIds: [...ctx.children.keys()],
            local: { ...u.local },
            remote: { ...u.remote },
            encap: u.encapsulation ? { localPort: u.local.port, remotePort: u.remote.port } : null,
          });
        }
        break;
      }
      case 'ike_rekey':
        if (task instanceof RekeyIkeSaTask) this.ikeRekeyDone(task);
        break;
      case 'ike_delete': {
        const after = this.afterClose;
        this.terminate(after === undefined ? { kind: 'closed', reason: 'disconnected: the IKE SA was deleted' } : { kind: 'failed', failure: after });
        return;
      }
      default:
        break;
    }
    this.initiateNext();
  }

  // ------------------------------------------------------------ receiving

  /** One event per notify the gateway sent (error notifies as warnings), with the exchange it came in. */
  private notifiesReceived(msg: IkeMessage, payloads: readonly Payload[]): void {
    for (const p of payloads) {
      if (p.type !== PayloadType.NOTIFY || !('notifyType' in p)) continue;
      if (p.notifyType === NotifyType.AUTH_LIFETIME && p.data.length === 4) {
        // RFC 4478 §2: seconds from now; ask for the new sign-in a little before (10 %, at most 60 s).
        const lifetimeS = new DataView(p.data.buffer, p.data.byteOffset, 4).getUint32(0);
        const deadline = this.ctx.now + lifetimeS * 1000;
        this.reauth = { at: deadline - Math.min(60_000, lifetimeS * 100), deadline, lifetimeS, signalled: false };
        emit(this.ctx, 'info', 'ike_sa.auth_lifetime', `the gateway asks for a new sign-in every ${lifetimeS} s (AUTH_LIFETIME)`, { lifetimeS });
      }
      const error = isErrorNotify(p.notifyType);
      emit(this.ctx, error ? 'warn' : 'debug', 'notify.received', `${notifyName(p.notifyType)} in ${exchangeName(msg.header.exchange)} ${msg.header.response ? 'response' : 'request'} ${msg.header.messageId}`, {
        notify: notifyName(p.notifyType),
        exchange: exchangeName(msg.header.exchange),
        error,
      });
    }
  }

  private drop(reason: string, fields?: Record<string, string | number | boolean>): void {
    emit(this.ctx, 'debug', 'message.dropped', `dropped a datagram: ${reason}`, fields);
  }

  private handleDatagram(d: Datagram): void {
    const ctx = this.ctx;
    const decoded = decodeMessage(d.data);
    if (!decoded.ok) {
      this.drop(`malformed (${decoded.error.code}: ${decoded.error.message})`, { code: decoded.error.code });
      return;
    }
    const msg = decoded.value;
    const h = msg.header;
    const retired = this.retiring.find((r) => r.matches(h.spiI, h.spiR));
    if (retired !== undefined && sameAddress(d.from.address, ctx.remote.address)) {
      retired.handle(msg, d.data);
      this.dropRetired();
      return;
    }
    if (!sameBytes(h.spiI, ctx.spiI)) return this.drop(`unknown initiator SPI ${hex(h.spiI)}`);
    // §3.1: the I flag marks the original initiator, which is us.
    if (h.initiator === this.originalInitiator) return this.drop(`the Initiator flag is ${h.initiator ? 'set' : 'clear'} in a message from the gateway`);
    if (!sameAddress(d.from.address, ctx.remote.address)) return this.drop(`from ${d.from.address}, not the gateway`);
    if (h.response) this.handleResponse(msg, d);
    else this.handleRequest(msg, d);
  }

  private openProtected(msg: IkeMessage, d: Datagram): ReassemblyResult | UnprotectResult | undefined {
    const keys = this.ctx.keys;
    if (keys === undefined) return undefined;
    const last = msg.payloads[msg.payloads.length - 1];
    if (last?.type === PayloadType.SK) return unprotect(msg, d.data, keys.inbound);
    if (last?.type === PayloadType.SKF) return this.reassembler.add(msg, d.data, keys.inbound);
    return undefined;
  }

  /** Common handling of what openProtected returned; the inner payloads when complete. */
  private innerPayloads(msg: IkeMessage, opened: ReassemblyResult | UnprotectResult | undefined): Payload[] | 'malformed' | undefined {
    const h = msg.header;
    if (opened === undefined) {
      this.drop(`${exchangeName(h.exchange)} ${h.response ? 'response' : 'request'} ${h.messageId} without an Encrypted payload`);
      return undefined;
    }
    switch (opened.kind) {
      case 'icv':
        this.icvFailures++;
        emit(this.ctx, 'warn', 'message.icv_failed', `dropped ${exchangeName(h.exchange)} ${h.response ? 'response' : 'request'} ${h.messageId}: integrity check failed (${this.icvFailures} so far)`, {
          count: this.icvFailures,
        });
        return undefined;
      case 'pending':
        emit(this.ctx, 'debug', 'fragment.received', `fragment of ${exchangeName(h.exchange)} ${h.messageId}: ${opened.received}/${opened.total}`, opened);
        return undefined;
      case 'ignored':
        this.drop(`fragment ignored: ${opened.reason}`);
        return undefined;
      case 'malformed':
        emit(this.ctx, 'warn', 'message.malformed', `authenticated ${exchangeName(h.exchange)} ${h.response ? 'response' : 'request'} ${h.messageId} is malformed: ${opened.detail}`);
        return 'malformed';
      case 'ok':
        if ('fragments' in opened) emit(this.ctx, 'debug', 'fragment.reassembled', `reassembled ${exchangeName(h.exchange)} ${h.messageId} from ${opened.fragments} fragments`, { fragments: opened.fragments });
        return opened.inner;
    }
  }

  private handleResponse(msg: IkeMessage, d: Datagram): void {
    const ctx = this.ctx;
    const h = msg.header;
    const o = this.outstanding;
    if (o === undefined || h.messageId !== o.messageId || h.exchange !== o.task.exchange) {
      return this.drop(`unexpected ${exchangeName(h.exchange)} response ${h.messageId}${o === undefined ? ' (nothing outstanding)' : ` (waiting for ${exchangeName(o.task.exchange)} ${o.messageId})`}`);
    }
    let payloads: readonly Payload[];
    if (!o.task.protected) {
      payloads = msg.payloads;
      emit(ctx, 'info', 'message.received', `received ${describeMessage(msg)} from ${d.from.address}[${d.from.port}]`, { summary: describeMessage(msg), octets: d.data.length });
    } else {
      if (!sameBytes(h.spiR, ctx.spiR)) return this.drop(`unknown responder SPI ${hex(h.spiR)}`);
      const inner = this.innerPayloads(msg, this.openProtected(msg, d));
      if (inner === undefined) return;
      if (inner === 'malformed') {
        // §2.21.2: an initiator that finds a protected response malformed reports INVALID_SYNTAX in a separate INFORMATIONAL.
        this.outstanding = undefined;
        this.nextMessageId++;
        this.fail({ kind: 'failed', failure: makeFailure('PROTOCOL_ERROR', `The gateway's ${exchangeName(h.exchange)} response is malformed after decryption.`), notifyPeer: NotifyType.INVALID_SYNTAX });
        return;
      }
      payloads = inner;
      emit(ctx, 'info', 'message.received', `received ${describeMessage(msg, inner)} from ${d.from.address}[${d.from.port}]`, { summary: describeMessage(msg, inner), octets: d.data.length });
    }
    this.notifiesReceived(msg, payloads);
    this.lastHeard = ctx.now;
    const result = o.task.process({ header: h, payloads, datagram: d.data });
    switch (result.kind) {
      case 'done':
        this.taskDone(o.task);
        return;
      case 'retry':
        this.outstanding = undefined;
        // A pause the task asks for (COOKIE back-off): tick() sends it when due (nextDeadline).
        if (result.delayMs !== undefined && result.delayMs > 0) this.delayedRetry = { task: o.task, at: ctx.now + result.delayMs };
        else this.sendRequest(o.task, ctx.now);
        return;
      case 'next':
        this.outstanding = undefined;
        this.nextMessageId++;
        this.reassembler.clear('response');
        if (o.task.stage !== undefined) this.setStage(o.task.stage);
        this.sendRequest(o.task, ctx.now);
        return;
      case 'failed':
        // The exchange itself completed: a last INFORMATIONAL takes the next Message ID.
        this.outstanding = undefined;
        this.nextMessageId++;
        this.fail(result);
        return;
    }
  }

  private handleRequest(msg: IkeMessage, d: Datagram): void {
    const ctx = this.ctx;
    const h = msg.header;
    if (ctx.keys === undefined) return this.drop(`${exchangeName(h.exchange)} request before the IKE SA has keys`);
    if (!sameBytes(h.spiR, ctx.spiR)) return this.drop(`unknown responder SPI ${hex(h.spiR)}`);
    const hash = digest(d.data);
    const cached = this.lastResponse;
    if (cached !== undefined && h.messageId === cached.messageId) {
      const last = msg.payloads[msg.payloads.length - 1];
      const laterFragment = last !== undefined && 'fragmentNumber' in last && last.fragmentNumber !== 1;
      // §2.1: a retransmitted request gets the same response again (RFC 7383 §2.6.1: on its first fragment only).
      if (cached.requestHashes.has(hash) && !laterFragment) {
        emit(ctx, 'info', 'message.response_retransmitted', `the gateway retransmitted ${exchangeName(h.exchange)} request ${h.messageId}: resending our response`);
        for (const r of cached.datagrams) ctx.pending.push({ kind: 'send', data: r, from: { ...d.to }, to: { ...d.from } });
      } else if (!cached.requestHashes.has(hash)) {
        this.drop(`${exchangeName(h.exchange)} request ${h.messageId} was already answered`);
      }
      return;
    }
    if (h.messageId !== this.peerNextMessageId) return this.drop(`request ${h.messageId} outside the window (expecting ${this.peerNextMessageId})`);
    if (this.requestFragmentHashes?.messageId !== h.messageId) this.requestFragmentHashes = { messageId: h.messageId, hashes: new Set() };
    const opened = this.openProtected(msg, d);
    if (opened !== undefined && opened.kind !== 'icv' && !(opened.kind === 'ignored')) this.requestFragmentHashes.hashes.add(hash);
    const inner = this.innerPayloads(msg, opened);
    if (inner === undefined) return;
    this.lastHeard = ctx.now;
    let response: readonly Payload[];
    let outcome: ReturnType<typeof answerInformational> | undefined;
    let heldFor: number | undefined;
    let ikeCreated: RekeyedIkeSa | undefined;
    if (inner === 'malformed') {
      const error = opened !== undefined && 'error' in opened ? opened.error : undefined;
      // §2.5 / §2.21.2: authenticated but unparsable: UNSUPPORTED_CRITICAL_PAYLOAD (with the type) or INVALID_SYNTAX.
      response =
        error?.code === 'UNSUPPORTED_CRITICAL_PAYLOAD' && error.payloadType !== undefined
          ? [notifyPayload(NotifyType.UNSUPPORTED_CRITICAL_PAYLOAD, Uint8Array.of(error.payloadType))]
          : [notifyPayload(NotifyType.INVALID_SYNTAX)];
    } else {
      emit(ctx, 'info', 'message.received', `received ${describeMessage(msg, inner)} from ${d.from.address}[${d.from.port}]`, { summary: describeMessage(msg, inner), octets: d.data.length });
      if (h.exchange === ExchangeType.INFORMATIONAL && inner.some((p) => p.type === PayloadType.NOTIFY && 'notifyType' in p && p.notifyType === NotifyType.AUTH_LIFETIME)) {
        this.notifiesReceived(msg, inner.filter((p) => p.type === PayloadType.NOTIFY && 'notifyType' in p && p.notifyType === NotifyType.AUTH_LIFETIME));
      }
      if (h.exchange === ExchangeType.INFORMATIONAL) {
        outcome = answerInformational(ctx, inner);
        response = outcome.response;
      } else if (h.exchange === ExchangeType.CREATE_CHILD_SA && this.st === 'established' && isIkeRekeyRequest(inner)) {
        const mine = this.outstanding?.task;
        if (mine !== undefined && !(mine instanceof RekeyIkeSaTask)) {
          // charon does the same: no IKE SA rekey while another exchange of ours is in flight on it (§2.25).
          emit(ctx, 'info', 'ike_sa.peer_rekey_deferred', `asked the gateway to retry its IKE SA rekey later: our ${exchangeName(mine.exchange)} is in flight`);
          response = [notifyPayload(NotifyType.TEMPORARY_FAILURE)];
        } else {
          const answer = answerIkeRekey(ctx, inner);
          response = answer.response;
          ikeCreated = answer.created;
        }
      } else if (h.exchange === ExchangeType.CREATE_CHILD_SA && this.st === 'established') {
        const answer = answerCreateChildSa(ctx, inner);
        response = answer.response;
        heldFor = answer.rekeyed?.newId;
        if (answer.rekeyed !== undefined) {
          this.deferredOutbound.push({ childId: answer.rekeyed.newId, replaces: answer.rekeyed.oldId, at: ctx.now + (this.config.peerRekeyOutboundGraceMs ?? PEER_REKEY_OUTBOUND_GRACE_MS) });
        }
        const mine = this.outstanding?.task;
        // §2.8.1: the gateway rekeyed the CHILD_SA our own rekey is in flight for.
        if (answer.rekeyed !== undefined && mine instanceof RekeyChildSaTask && mine.oldId === answer.rekeyed.oldId) {
          mine.collision = { nonceI: answer.rekeyed.nonceI, nonceR: answer.rekeyed.nonceR, childId: answer.rekeyed.newId };
        }
      } else if (h.exchange === ExchangeType.CREATE_CHILD_SA) {
        response = refuseRequest(ctx, h.exchange);
      } else {
        emit(ctx, 'warn', 'request.unexpected', `the gateway sent an unexpected ${exchangeName(h.exchange)} request`);
        response = [notifyPayload(NotifyType.INVALID_SYNTAX)];
      }
    }
    const header = this.header(h.exchange, h.messageId, true);
    const datagrams = this.protectedDatagrams(header, response);
    this.describeSent(header, response, datagrams, true);
    if (heldFor !== undefined) {
      this.heldResponse = { datagrams, from: { ...d.to }, to: { ...d.from }, successor: heldFor, at: ctx.now + (this.config.peerRekeyHoldMs ?? PEER_REKEY_HOLD_MS) };
    } else {
      for (const r of datagrams) ctx.pending.push({ kind: 'send', data: r, from: { ...d.to }, to: { ...d.from } });
    }
    this.lastResponse = { messageId: h.messageId, datagrams, requestHashes: this.requestFragmentHashes.hashes };
    this.requestFragmentHashes = undefined;
    this.peerNextMessageId++;
    if (ikeCreated !== undefined) {
      // Our answer went out on the old IKE SA; from now on the new one is current (§2.18) unless
      // our own rekey crosses it (§2.8.2: decided when our response arrives).
      const mine = this.outstanding?.task;
      if (mine instanceof RekeyIkeSaTask) mine.collision = ikeCreated;
      else this.adoptIkeSa(ikeCreated, false, 'the gateway rekeyed it');
      return;
    }
    if (outcome === undefined) return;
    if (outcome.ikeDeleted) {
      if (this.st === 'deleting') this.terminate({ kind: 'closed', reason: 'the IKE SA was deleted (by both sides at once)' });
      else this.terminate({ kind: 'failed', failure: makeFailure('PEER_DELETED', `The gateway ${ctx.remote.address} closed the connection (it deleted the IKE SA).`) });
      return;
    }
    for (const id of outcome.removedChildren) {
      // Make-before-break (§2.8): the gateway deleting the old pair means it has the new inbound SA.
      for (const d of this.deferredOutbound.filter((x) => x.replaces === id)) this.switchOutbound(d.childId, `the gateway deleted CHILD_SA ${id}`);
      const gone = this.deferredOutbound.findIndex((x) => x.childId === id);
      if (gone >= 0) this.deferredOutbound.splice(gone, 1);
      ctx.pending.push({ kind: 'removeChildSa', id });
    }
    if (outcome.removedChildren.length > 0 && ctx.children.size === 0 && this.st === 'established') {
      // A remote-access connection without a tunnel is of no use: close the IKE SA too.
      this.afterClose = makeFailure('PEER_DELETED', `The gateway ${ctx.remote.address} deleted the tunnel (CHILD_SA); the connection was closed.`);
      this.transition('deleting');
      this.setStage('deleting');
      this.queue.length = 0;
      this.queue.push(new DeleteIkeSaTask(ctx));
      this.initiateNext();
    }
  }
}
