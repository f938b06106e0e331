/**
 * RFC 4739 multiple authentication, the initiator's second round: after the
 * gateway accepted our certificate AUTH (we sent N(MULTIPLE_AUTH_SUPPORTED)
 * and N(ANOTHER_AUTH_FOLLOWS) with it), the next IKE_AUTH request carries
 * only the second identity and no AUTH, so the gateway starts EAP (§3,
 * "HDR, SK { IDi }"). The AUTH after EAP then signs this IDi (RFC 7296
 * §2.15 applied per round), which is why the task keeps its body.
 */
import { PayloadType } from '../constants.js';
import type { IdPayload } from '../codec/types.js';
import { makeFailure } from '../failures.js';
import { formatIdentity, identityToPayload } from '../../pki/identity.js';
import { emit } from './context.js';
import type { ExchangeContext } from './context.js';
import { idBody } from './peer-auth.js';
import type { TaskFailure, TaskRequest } from './task.js';

export function secondRoundRequest(ctx: ExchangeContext, keepIdBody: (body: Uint8Array) => void): TaskRequest | TaskFailure {
  const a = ctx.config.auth;
  if (a.method !== 'signature' || a.secondRound === undefined) throw new RangeError('second authentication round without one configured');
  let id: { idType: number; data: Uint8Array };
  try {
    id = identityToPayload(a.secondRound.identity);
  } catch (e) {
    return { kind: 'failed', failure: makeFailure('PROFILE_INVALID', `The EAP identity cannot be sent as IDi: ${e instanceof Error ? e.message : String(e)}`) };
  }
  keepIdBody(idBody(id.idType, id.data));
  emit(ctx, 'info', 'ike_auth.second_round', `second authentication round as "${formatIdentity(a.secondRound.identity)}"`, { localId: formatIdentity(a.secondRound.identity) });
  return { payloads: [{ type: PayloadType.IDi, idType: id.idType, data: id.data } satisfies IdPayload] };
}
