/**
 * An IKE SA that a rekey replaced (RFC 7296 §2.18), kept only until it is
 * deleted: "after the new equivalent IKE SA is created, the initiator
 * deletes the old IKE SA". Its initiator (us, after our rekey; the gateway
 * after its own) sends INFORMATIONAL D(IKE) on it, with its own SPIs, keys
 * and Message IDs. Meanwhile it still answers what the gateway sends on it
 * (a retransmitted rekey request gets the cached response, §2.1), and it
 * never carries new work: other requests get TEMPORARY_FAILURE (§2.25).
 */
import type { Endpoint } from '../actions.js';
import { ExchangeType, IKE_VERSION, NotifyType, PayloadType, ProtocolId, exchangeName } from '../constants.js';
import type { DeletePayload, IkeMessage, Payload } from '../codec/types.js';
import { protect, unprotect } from '../protection.js';
import { emit, hex } from './context.js';
import type { ExchangeContext, IkeSaKeys } from './context.js';
import { notifyPayload, payloadsOf } from './payloads.js';

/** How long a replaced IKE SA waits for the gateway's DELETE before it is simply forgotten. */
export const RETIRING_IKE_SA_TTL_MS = 60_000;

export interface IkeSaIdentity {
  readonly spiI: Uint8Array;
  readonly spiR: Uint8Array;
  readonly keys: IkeSaKeys;
  /** our messages on it carry the I flag (we were its original initiator) */
  readonly initiator: boolean;
  readonly nextMessageId: number;
  readonly peerNextMessageId: number;
  readonly lastResponse?: { readonly messageId: number; readonly datagrams: readonly Uint8Array[] };
}

const same = (a: Uint8Array, b: Uint8Array): boolean => a.length === b.length && a.every((x, i) => x === b[i]);

export class RetiringIkeSa {
  private del: { readonly messageId: number; readonly datagrams: readonly Uint8Array[]; sends: number; nextAt: number } | undefined;
  private peerNext: number;
  private cached: { readonly messageId: number; readonly datagrams: readonly Uint8Array[] } | undefined;
  private readonly expiresAt: number;
  private readonly from: Endpoint;
  private readonly to: Endpoint;
  /** deleted (either way) or given up: the session drops it */
  done = false;

  constructor(
    private readonly ctx: ExchangeContext,
    private readonly sa: IkeSaIdentity,
    /** why it was replaced, for the events */
    private readonly label: string,
  ) {
    this.peerNext = sa.peerNextMessageId;
    this.cached = sa.lastResponse;
    this.expiresAt = ctx.now + RETIRING_IKE_SA_TTL_MS;
    this.from = { ...ctx.local };
    this.to = { ...ctx.remote };
  }

  get name(): string {
    return `${hex(this.sa.spiI)}_i ${hex(this.sa.spiR)}_r`;
  }

  matches(spiI: Uint8Array, spiR: Uint8Array): boolean {
    return same(spiI, this.sa.spiI) && same(spiR, this.sa.spiR);
  }

  /** Sends D(IKE) on this IKE SA (we initiated what replaced it). */
  sendDelete(): void {
    const ctx = this.ctx;
    const messageId = this.sa.nextMessageId;
    const datagrams = this.seal(ExchangeType.INFORMATIONAL, messageId, false, [{ type: PayloadType.DELETE, protocol: ProtocolId.IKE, spis: [] } satisfies DeletePayload]);
    this.del = { messageId, datagrams, sends: 1, nextAt: ctx.now + ctx.config.retransmit.timeoutMs };
    emit(ctx, 'info', 'ike_sa.old_delete_sent', `deleting the replaced IKE SA ${this.name} (${this.label})`, { spiI: hex(this.sa.spiI), spiR: hex(this.sa.spiR) });
    this.push(datagrams);
  }

  /** The next time `due` has work (a retransmission or the expiry). */
  get nextAt(): number {
    return Math.min(this.del?.nextAt ?? Number.POSITIVE_INFINITY, this.expiresAt);
  }

  due(now: number): void {
    const d = this.del;
    if (d !== undefined && now >= d.nextAt) {
      const cfg = this.ctx.config.retransmit;
      if (d.sends - 1 >= Math.min(cfg.tries, 3)) {
        // The new IKE SA works; the gateway will expire the old one itself.
        this.finish('warn', 'ike_sa.old_delete_unanswered', `the gateway did not confirm the deletion of the replaced IKE SA ${this.name}; forgetting it`);
        return;
      }
      d.sends++;
      d.nextAt = now + cfg.timeoutMs * cfg.base ** (d.sends - 1);
      this.push(d.datagrams);
    }
    if (!this.done && now >= this.expiresAt) this.finish('info', 'ike_sa.old_expired', `the replaced IKE SA ${this.name} was not deleted by the gateway within ${RETIRING_IKE_SA_TTL_MS / 1000} s; forgetting it`);
  }

  /** A message with this IKE SA's SPIs (the caller matched them). */
  handle(msg: IkeMessage, datagram: Uint8Array): void {
    const ctx = this.ctx;
    const h = msg.header;
    // §3.1: the I flag is set by the original initiator of THIS IKE SA only.
    if (h.initiator === this.sa.initiator) return this.debug('wrong Initiator flag');
    if (h.response) {
      if (this.del === undefined || h.messageId !== this.del.messageId || h.exchange !== ExchangeType.INFORMATIONAL) return this.debug(`unexpected ${exchangeName(h.exchange)} response ${h.messageId}`);
      if (this.open(msg, datagram) === undefined) return;
      this.finish('info', 'ike_sa.old_deleted', `the gateway confirmed the deletion of the replaced IKE SA ${this.name}`);
      return;
    }
    const c = this.cached;
    if (c !== undefined && h.messageId === c.messageId) {
      if (this.open(msg, datagram) === undefined) return;
      emit(ctx, 'info', 'message.response_retransmitted', `the gateway retransmitted ${exchangeName(h.exchange)} request ${h.messageId} on the replaced IKE SA: resending our response`);
      this.push(c.datagrams);
      return;
    }
    if (h.messageId !== this.peerNext) return this.debug(`request ${h.messageId} outside the window (expecting ${this.peerNext})`);
    const inner = this.open(msg, datagram);
    if (inner === undefined) return;
    const deletesIke = h.exchange === ExchangeType.INFORMATIONAL && payloadsOf(inner, PayloadType.DELETE).some((d) => d.protocol === ProtocolId.IKE);
    // §1.4.1: an empty answer to D(IKE) and to liveness checks; nothing new starts on a replaced IKE SA (§2.25).
    const response: Payload[] = h.exchange === ExchangeType.INFORMATIONAL ? [] : [notifyPayload(NotifyType.TEMPORARY_FAILURE)];
    const datagrams = this.seal(h.exchange, h.messageId, true, response);
    this.cached = { messageId: h.messageId, datagrams };
    this.peerNext++;
    this.push(datagrams);
    if (deletesIke) this.finish('info', 'ike_sa.old_deleted_by_peer', `the gateway deleted the replaced IKE SA ${this.name}`);
  }

  private open(msg: IkeMessage, datagram: Uint8Array): readonly Payload[] | undefined {
    const r = unprotect(msg, datagram, this.sa.keys.inbound);
    if (r.kind === 'ok') return r.inner;
    this.debug(r.kind === 'icv' ? 'integrity check failed' : `malformed: ${r.detail}`);
    return undefined;
  }

  private seal(exchange: number, messageId: number, response: boolean, inner: readonly Payload[]): Uint8Array[] {
    const header = { spiI: this.sa.spiI, spiR: this.sa.spiR, version: IKE_VERSION, exchange, initiator: this.sa.initiator, response, messageId };
    return protect({ header, inner, keys: this.sa.keys.outbound, random: this.ctx.random });
  }

  private push(datagrams: readonly Uint8Array[]): void {
    for (const d of datagrams) this.ctx.pending.push({ kind: 'send', data: d, from: { ...this.from }, to: { ...this.to } });
  }

  private debug(why: string): void {
    emit(this.ctx, 'debug', 'message.dropped', `dropped a datagram for the replaced IKE SA ${this.name}: ${why}`);
  }

  private finish(level: 'info' | 'warn', event: string, message: string): void {
    this.done = true;
    this.del = undefined;
    // The old keys are of no use any more (RFC 7296 §2.18: the old IKE SA is gone).
    this.sa.keys.skD.fill(0);
    emit(this.ctx, level, event, message, { spiI: hex(this.sa.spiI), spiR: hex(this.sa.spiR) });
  }
}
