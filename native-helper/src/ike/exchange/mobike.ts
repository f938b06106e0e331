/**
 * MOBIKE (RFC 4555), initiator side: moving an established IKE SA and its
 * CHILD_SAs to a new local address when the client's network changes.
 *
 *   HDR, SK { N(UPDATE_SA_ADDRESSES), N(NAT_DETECTION_SOURCE_IP),
 *             N(NAT_DETECTION_DESTINATION_IP), N(COOKIE2) }  -->
 *                  <--  HDR, SK { N(NAT_DETECTION_SOURCE_IP),
 *                                 N(NAT_DETECTION_DESTINATION_IP), N(COOKIE2) }
 *
 * - §3.3: support is announced with MOBIKE_SUPPORTED in IKE_AUTH (both sides);
 *   only then may addresses be updated.
 * - §3.5: the request is sent from the new address. MOBIKE peers use UDP 4500
 *   once an update may follow (a new path may have a NAT), so the update and
 *   all IKE after it use the NAT-T port, with the non-ESP marker.
 * - §3.5: the gateway takes the new addresses from the IP header of this
 *   request, so the NAT detection hashes are computed over the addresses we
 *   send from; the answer's hashes tell whether the new path has a NAT, and
 *   with it whether ESP must be UDP-encapsulated from now on.
 * - §3.8 (and the §2.6-style return-routability note there): COOKIE2 is a
 *   fresh random value the gateway must copy into its response; an answer
 *   without the same COOKIE2 is not from the path we asked on and is refused.
 * - An error notify (UNACCEPTABLE_ADDRESSES, UNEXPECTED_NAT_DETECTED, §3.13)
 *   or no answer means the update failed: the host escalates to a new IKE SA.
 */
import type { Endpoint } from '../actions.js';
import { ExchangeType, NotifyType, notifyName } from '../constants.js';
import { constantTimeEqual } from '../crypto/bytes.js';
import { makeFailure } from '../failures.js';
import { emit, hex } from './context.js';
import type { ExchangeContext, NatState } from './context.js';
import { natHash, detectNat } from './nat-detection.js';
import { errorNotify, findNotify, notifyPayload } from './payloads.js';
import type { IncomingResponse, Task, TaskRequest, TaskResult } from './task.js';

/** RFC 4555 §3.8: COOKIE2 is 8..64 octets; 16 random octets are unguessable. */
export const COOKIE2_LENGTH = 16;

/** Whether both sides announced MOBIKE in IKE_AUTH (RFC 4555 §3.3). */
export function mobikeNegotiated(ctx: ExchangeContext): boolean {
  return ctx.config.mobike === true && ctx.peer.mobike === true;
}

/** What a successful update changed, for the session to report to the host. */
export interface AddressUpdate {
  readonly local: Endpoint;
  readonly remote: Endpoint;
  readonly nat: NatState | undefined;
  readonly encapsulation: boolean;
}

export class UpdateSaAddressesTask implements Task {
  readonly name = 'mobike_update';
  readonly exchange = ExchangeType.INFORMATIONAL;
  readonly protected = true;
  readonly onTimeout = 'dead_peer' as const;
  private cookie2: Uint8Array | undefined;
  /** set when the gateway accepted the update */
  result: AddressUpdate | undefined;

  constructor(
    private readonly ctx: ExchangeContext,
    /** the addresses the request leaves from and goes to (already in ctx.local/ctx.remote) */
    readonly from: Endpoint,
    readonly previous: Endpoint,
  ) {}

  build(): TaskRequest {
    const ctx = this.ctx;
    // A retransmission after a further move is built again: always a fresh cookie (§3.8).
    this.cookie2 = ctx.random(COOKIE2_LENGTH);
    emit(ctx, 'info', 'mobike.update_sent', `moving the IKE SA from ${this.previous.address}[${this.previous.port}] to ${ctx.local.address}[${ctx.local.port}] (UPDATE_SA_ADDRESSES, RFC 4555 §3.5)`, {
      from: this.previous.address,
      to: ctx.local.address,
    });
    return {
      payloads: [
        notifyPayload(NotifyType.UPDATE_SA_ADDRESSES),
        // RFC 7296 §2.23 hashes with the real SPIs of the IKE SA, over the addresses of this packet.
        notifyPayload(NotifyType.NAT_DETECTION_SOURCE_IP, natHash(ctx.spiI, ctx.spiR, ctx.local)),
        notifyPayload(NotifyType.NAT_DETECTION_DESTINATION_IP, natHash(ctx.spiI, ctx.spiR, ctx.remote)),
        notifyPayload(NotifyType.COOKIE2, this.cookie2),
      ],
    };
  }

  process(r: IncomingResponse): TaskResult {
    const ctx = this.ctx;
    const p = r.payloads;
    const error = errorNotify(p);
    if (error !== undefined) {
      const name = notifyName(error.notifyType);
      emit(ctx, 'warn', 'mobike.update_refused', `the gateway refused to move the IKE SA to ${ctx.local.address}: ${name}`, { notify: name });
      return {
        kind: 'failed',
        failure: makeFailure('PEER_DELETED', `The gateway refused our new network address ${ctx.local.address} (${name}, RFC 4555 §3.5); a new connection is needed.`, { notify: name, local: ctx.local.address }),
        ikeSaExists: true,
      };
    }
    const echoed = findNotify(p, NotifyType.COOKIE2);
    const sent = this.cookie2;
    if (sent === undefined || echoed === undefined || !constantTimeEqual(echoed.data, sent)) {
      // §3.8: the response must carry our COOKIE2 unchanged.
      emit(ctx, 'warn', 'mobike.cookie2_mismatch', `the answer to UPDATE_SA_ADDRESSES ${echoed === undefined ? 'has no COOKIE2' : `carries COOKIE2 ${hex(echoed.data).slice(0, 16)}… instead of ours`}`);
      return {
        kind: 'failed',
        failure: makeFailure('PROTOCOL_ERROR', 'The gateway answered our address update without the COOKIE2 we sent (RFC 4555 §3.8); the answer cannot be trusted.'),
        ikeSaExists: true,
      };
    }
    const nat = detectNat(p, ctx.spiI, ctx.spiR, ctx.local, ctx.remote);
    const natNow = nat !== undefined && (nat.local || nat.remote);
    // §3.5: behind a NAT on the new path ESP travels in UDP; without one, plain ESP again unless forced.
    const encapsulation = ctx.config.forceEncapsulation || natNow;
    if (nat !== undefined) ctx.nat = nat;
    ctx.encapsulation = encapsulation;
    this.result = { local: { ...ctx.local }, remote: { ...ctx.remote }, nat, encapsulation };
    emit(ctx, 'info', 'mobike.updated', `the gateway moved the IKE SA to ${ctx.local.address}[${ctx.local.port}]${natNow ? ' (behind a NAT: ESP in UDP)' : ''}`, {
      local: ctx.local.address,
      nat: natNow,
      encapsulation,
    });
    return { kind: 'done' };
  }
}
