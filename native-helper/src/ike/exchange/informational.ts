/**
 * INFORMATIONAL exchanges (RFC 7296 §1.4): answering the gateway's requests
 * (liveness checks, DELETE of CHILD_SAs or of the IKE SA, notifies) and our
 * own DELETE of the IKE SA when the user disconnects.
 *
 *   <-- HDR, SK { }                       HDR, SK { }                  -->   liveness (§2.4)
 *   <-- HDR, SK { D(ESP, SPI_gw) }        HDR, SK { D(ESP, SPI_ours) } -->   CHILD_SA delete (§1.4.1)
 *   <-- HDR, SK { D(IKE) }                HDR, SK { }                  -->   IKE SA delete
 *       HDR, SK { D(IKE) }  -->           <-- HDR, SK { }                    our close
 */
import { ExchangeType, NotifyType, PayloadType, ProtocolId, exchangeName, isErrorNotify, notifyName } from '../constants.js';
import type { DeletePayload, Payload } from '../codec/types.js';
import { emit, fromU32, u32 } from './context.js';
import type { ExchangeContext } from './context.js';
import { notifies, notifyPayload, payloadsOf } from './payloads.js';
import type { IncomingResponse, Task, TaskRequest, TaskResult } from './task.js';

export interface PeerRequestOutcome {
  /** inner payloads of our response */
  readonly response: readonly Payload[];
  /** the gateway deleted the IKE SA (and with it every CHILD_SA, §1.4.1) */
  readonly ikeDeleted: boolean;
  /** our CHILD_SAs the gateway deleted */
  readonly removedChildren: readonly number[];
}

/** Answers an INFORMATIONAL request from the gateway. */
export function answerInformational(ctx: ExchangeContext, inner: readonly Payload[]): PeerRequestOutcome {
  for (const n of notifies(inner)) {
    emit(ctx, isErrorNotify(n.notifyType) ? 'warn' : 'info', 'notify.received', `${notifyName(n.notifyType)} in an INFORMATIONAL request of the gateway`, {
      notify: notifyName(n.notifyType),
      exchange: 'INFORMATIONAL',
      error: isErrorNotify(n.notifyType),
    });
  }
  const deletes = payloadsOf(inner, PayloadType.DELETE);
  if (deletes.some((d) => d.protocol === ProtocolId.IKE)) {
    emit(ctx, 'warn', 'ike_sa.deleted_by_peer', 'the gateway deleted the IKE SA');
    // §1.4.1: the response to an IKE SA delete is empty; every CHILD_SA goes with it.
    return { response: [], ikeDeleted: true, removedChildren: [...ctx.children.keys()] };
  }
  const removed: number[] = [];
  const ourSpis: Uint8Array[] = [];
  for (const d of deletes) {
    if (d.protocol !== ProtocolId.ESP) continue;
    for (const spiBytes of d.spis) {
      // §1.4.1: the SPIs are the ones the deleting side expects inbound, i.e. our outbound SPIs.
      const spi = u32(spiBytes);
      const child = [...ctx.children.values()].find((c) => c.outboundSpi === spi);
      if (child === undefined) {
        emit(ctx, 'debug', 'child_sa.delete_unknown', `the gateway deleted unknown ESP SPI 0x${spi.toString(16)}`);
        continue;
      }
      ctx.children.delete(child.id);
      removed.push(child.id);
      ourSpis.push(fromU32(child.inboundSpi));
      emit(ctx, 'warn', 'child_sa.deleted_by_peer', `the gateway deleted CHILD_SA ${child.id} (SPIs in 0x${child.inboundSpi.toString(16)} out 0x${spi.toString(16)})`, { child: child.id });
    }
  }
  const response: Payload[] = [];
  // §1.4.1: "the responder ... MUST respond with the SPIs of the other direction" in one Delete payload.
  if (ourSpis.length > 0) response.push({ type: PayloadType.DELETE, protocol: ProtocolId.ESP, spis: ourSpis } satisfies DeletePayload);
  if (deletes.length === 0 && inner.length === 0) emit(ctx, 'debug', 'liveness.answered', 'answered a liveness check from the gateway');
  return { response, ikeDeleted: false, removedChildren: removed };
}

/**
 * Requests we do not serve (CREATE_CHILD_SA: rekeying by the gateway,
 * additional CHILD_SAs) are refused with NO_ADDITIONAL_SAS (§1.3), which
 * leaves the IKE SA and the existing tunnel intact.
 */
export function refuseRequest(ctx: ExchangeContext, exchange: number): readonly Payload[] {
  emit(ctx, 'warn', 'request.refused', `refusing the gateway's ${exchangeName(exchange)} request with NO_ADDITIONAL_SAS (not supported by this client)`, {
    exchange: exchangeName(exchange),
  });
  return [notifyPayload(NotifyType.NO_ADDITIONAL_SAS)];
}

/** Our DELETE of the IKE SA (§1.4.1); the wait for the answer is bounded, then we close anyway. */
export class DeleteIkeSaTask implements Task {
  readonly name = 'ike_delete';
  readonly exchange = ExchangeType.INFORMATIONAL;
  readonly stage = 'deleting' as const;
  readonly protected = true;
  readonly onTimeout = 'close' as const;
  /** a disconnect should not hang for the full connect backoff */
  readonly maxTries = 2;

  constructor(private readonly ctx: ExchangeContext) {}

  build(): TaskRequest {
    return { payloads: [{ type: PayloadType.DELETE, protocol: ProtocolId.IKE, spis: [] } satisfies DeletePayload] };
  }

  process(r: IncomingResponse): TaskResult {
    emit(this.ctx, 'info', 'ike_sa.deleted', `the gateway confirmed the deletion of the IKE SA${r.payloads.length > 0 ? ` (${r.payloads.length} payload(s) in the answer)` : ''}`);
    return { kind: 'done' };
  }
}

/** A one-way notice (e.g. AUTHENTICATION_FAILED after the gateway failed to authenticate, §2.21.2); never retransmitted. */
export function noticePayloads(notifyType: number): readonly Payload[] {
  return [notifyPayload(notifyType)];
}

/**
 * Our liveness check (RFC 7296 §2.4, "dead peer detection"): an empty
 * INFORMATIONAL request. Any authenticated answer proves the gateway alive;
 * none after the retransmission schedule means it is dead.
 */
export class LivenessTask implements Task {
  readonly name = 'liveness';
  readonly exchange = ExchangeType.INFORMATIONAL;
  readonly protected = true;
  readonly onTimeout = 'dead_peer' as const;

  constructor(
    private readonly ctx: ExchangeContext,
    /** when we last heard from the gateway */
    readonly lastHeard: number,
  ) {}

  build(): TaskRequest {
    emit(this.ctx, 'debug', 'dpd.probe', `no sign of the gateway for ${((this.ctx.now - this.lastHeard) / 1000).toFixed(1)} s: sending a liveness check`);
    return { payloads: [] };
  }

  process(): TaskResult {
    emit(this.ctx, 'debug', 'dpd.alive', 'the gateway answered our liveness check');
    return { kind: 'done' };
  }
}
