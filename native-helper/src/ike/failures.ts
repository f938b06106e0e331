/**
 * Typed failures of the IKE engine: the stable code (api/errors.ts) plus a
 * plain-language message that names the concrete mismatch, what we offered
 * and what came back (DESIGN.md "Logs"). Error notifies (RFC 7296 §3.10.1)
 * map here; the exchange tasks add the context they know.
 *
 * Messages carry identities, algorithm names, selectors and notify names,
 * never keys, PSKs or AUTH data.
 */
import type { FailureCode } from '../api/errors.js';
import type { IkeFailure } from './actions.js';
import { NotifyType, keName, notifyName } from './constants.js';

type Fields = NonNullable<IkeFailure['fields']>;

export function makeFailure(code: FailureCode, message: string, fields?: Fields): IkeFailure {
  return fields === undefined ? { code, message } : { code, message, fields };
}

/** What the exchange that got the error notify asked for, to name in the message. */
export interface FailureContext {
  readonly exchange: 'IKE_SA_INIT' | 'IKE_AUTH' | 'INFORMATIONAL';
  readonly authMethod: 'psk' | 'signature' | 'eap';
  readonly localId: string;
  readonly remoteId?: string;
  readonly offeredIke: readonly string[];
  readonly offeredEsp: readonly string[];
  readonly requestedTs?: { readonly local: readonly string[]; readonly remote: readonly string[] };
  readonly requestedConfig?: string;
}

function list(xs: readonly string[]): string {
  return xs.length === 0 ? '(none)' : xs.join(', ');
}

/**
 * The failure for an error notify from the gateway (RFC 7296 §3.10.1).
 * `data` is the notify's data (e.g. the group of INVALID_KE_PAYLOAD).
 */
export function failureFromNotify(notifyType: number, data: Uint8Array, ctx: FailureContext): IkeFailure {
  const name = notifyName(notifyType);
  const base = { notify: name, exchange: ctx.exchange };
  switch (notifyType) {
    case NotifyType.NO_PROPOSAL_CHOSEN:
      if (ctx.exchange === 'IKE_SA_INIT') {
        return makeFailure(
          'NO_PROPOSAL_CHOSEN',
          `The gateway accepted none of our IKE proposals (NO_PROPOSAL_CHOSEN). We offered: ${list(ctx.offeredIke)}.`,
          { ...base, offered: ctx.offeredIke },
        );
      }
      return makeFailure(
        'NO_PROPOSAL_CHOSEN',
        `The gateway accepted none of our ESP (tunnel) proposals (NO_PROPOSAL_CHOSEN in ${ctx.exchange}). We offered: ${list(ctx.offeredEsp)}.`,
        { ...base, offered: ctx.offeredEsp },
      );
    case NotifyType.INVALID_KE_PAYLOAD: {
      const group = data.length === 2 ? ((data[0] as number) << 8) | (data[1] as number) : undefined;
      const wanted = group === undefined ? 'an unspecified group' : `group ${keName(group)} (${group})`;
      return makeFailure('INVALID_KE_PAYLOAD', `The gateway wants key exchange ${wanted}, which none of our IKE proposals offers. We offered: ${list(ctx.offeredIke)}.`, {
        ...base,
        offered: ctx.offeredIke,
        ...(group === undefined ? {} : { requestedGroup: group }),
      });
    }
    case NotifyType.AUTHENTICATION_FAILED:
      if (ctx.authMethod === 'psk') {
        return makeFailure(
          'PSK_MISMATCH',
          `The gateway rejected our authentication (AUTHENTICATION_FAILED): either the pre-shared key is wrong, or the gateway does not expect our identity "${ctx.localId}".`,
          { ...base, localId: ctx.localId },
        );
      }
      if (ctx.authMethod === 'eap') {
        return makeFailure(
          'EAP_FAILED',
          `The gateway rejected our sign-in as "${ctx.localId}" (AUTHENTICATION_FAILED): it may not accept this identity or EAP method.`,
          { ...base, localId: ctx.localId },
        );
      }
      return makeFailure(
        'AUTH_FAILED',
        `The gateway rejected our certificate authentication as "${ctx.localId}" (AUTHENTICATION_FAILED): it may not trust the CA that issued our certificate, or it does not accept this identity.`,
        { ...base, localId: ctx.localId },
      );
    case NotifyType.TS_UNACCEPTABLE:
    case NotifyType.SINGLE_PAIR_REQUIRED: {
      const ts = ctx.requestedTs;
      const asked = ts === undefined ? '' : ` We asked for local ${list(ts.local)} and remote ${list(ts.remote)}.`;
      return makeFailure('TS_UNACCEPTABLE', `The gateway refused the networks we asked for (${name}).${asked}`, {
        ...base,
        ...(ts === undefined ? {} : { localTs: ts.local, remoteTs: ts.remote }),
      });
    }
    case NotifyType.INTERNAL_ADDRESS_FAILURE:
      return makeFailure(
        'INTERNAL_ADDRESS_FAILURE',
        `The gateway could not assign us a virtual IP address (INTERNAL_ADDRESS_FAILURE); we requested ${ctx.requestedConfig ?? 'a configuration'}. Its address pool may be exhausted or not configured for this connection.`,
        base,
      );
    case NotifyType.FAILED_CP_REQUIRED:
      return makeFailure(
        'FAILED_CP_REQUIRED',
        `The gateway requires a configuration request (FAILED_CP_REQUIRED); we requested ${ctx.requestedConfig ?? 'nothing'}. Enable virtual IP assignment in the profile.`,
        base,
      );
    case NotifyType.NO_ADDITIONAL_SAS:
    case NotifyType.TEMPORARY_FAILURE:
    case NotifyType.CHILD_SA_NOT_FOUND:
    case NotifyType.INVALID_SELECTORS:
      return makeFailure('CHILD_SA_FAILED', `The gateway refused to create the tunnel (${name} in ${ctx.exchange}).`, base);
    default:
      return makeFailure('PROTOCOL_ERROR', `The gateway reported an error: ${name} in ${ctx.exchange}.`, base);
  }
}

/** RFC 7296 §2.1: no response after every retransmission. */
export function unreachableFailure(exchange: string, sends: number, elapsedMs: number, remote: string): IkeFailure {
  const seconds = (elapsedMs / 1000).toFixed(1);
  return makeFailure(
    'GATEWAY_UNREACHABLE',
    `The gateway ${remote} did not answer our ${exchange} request: sent ${sends} time(s) over ${seconds} s without a valid reply.`,
    { exchange, sends, elapsedMs: Math.round(elapsedMs), remote },
  );
}
