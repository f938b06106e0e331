/**
 * EAP packets (RFC 3748 §4): decoding what the gateway sends (Request,
 * Success, Failure) with explicit bounds checks, and encoding our Responses.
 *
 *   Code (1) | Identifier (1) | Length (2) | Type (1, Request/Response only) | Type-Data
 *
 * The IKE codec already checked that Length equals the payload size
 * (codec/payloads/eap.ts); this module checks it again so it stands alone.
 */
import { EapCode } from '../ike/constants.js';

export interface EapRequest {
  readonly code: typeof EapCode.REQUEST;
  readonly identifier: number;
  readonly type: number;
  readonly typeData: Uint8Array;
}

export interface EapResult {
  readonly code: typeof EapCode.SUCCESS | typeof EapCode.FAILURE;
  readonly identifier: number;
}

export type EapIncoming = EapRequest | EapResult;

export type EapDecodeResult = { readonly ok: true; readonly packet: EapIncoming } | { readonly ok: false; readonly error: string };

const HEADER = 4;

/** Decodes a packet from the gateway (the authenticator). A Response from it is malformed by definition. */
export function decodeEapFromGateway(bytes: Uint8Array): EapDecodeResult {
  if (bytes.length < HEADER) return { ok: false, error: `EAP packet of ${bytes.length} octet(s), shorter than its 4-octet header` };
  const code = bytes[0] as number;
  const identifier = bytes[1] as number;
  const length = ((bytes[2] as number) << 8) | (bytes[3] as number);
  if (length !== bytes.length) return { ok: false, error: `EAP Length says ${length}, the packet holds ${bytes.length} octet(s)` };
  switch (code) {
    case EapCode.REQUEST:
      // §4.1: a Request carries at least the Type octet.
      if (length < HEADER + 1) return { ok: false, error: 'EAP Request without a Type' };
      return { ok: true, packet: { code, identifier, type: bytes[HEADER] as number, typeData: bytes.subarray(HEADER + 1) } };
    case EapCode.SUCCESS:
    case EapCode.FAILURE:
      // §4.2: Success and Failure are exactly the 4-octet header.
      if (length !== HEADER) return { ok: false, error: `EAP ${code === EapCode.SUCCESS ? 'Success' : 'Failure'} of ${length} octets (must be 4)` };
      return { ok: true, packet: { code, identifier } };
    default:
      return { ok: false, error: `EAP Code ${code} is not one a gateway sends to a peer` };
  }
}

/** An EAP Response (§4.1) with the Request's Identifier. */
export function encodeEapResponse(identifier: number, type: number, typeData: Uint8Array): Uint8Array {
  const length = HEADER + 1 + typeData.length;
  if (length > 0xffff) throw new RangeError('EAP Response too long');
  const out = new Uint8Array(length);
  out[0] = EapCode.RESPONSE;
  out[1] = identifier & 0xff;
  out[2] = length >> 8;
  out[3] = length & 0xff;
  out[4] = type;
  out.set(typeData, HEADER + 1);
  return out;
}
