/**
 * Identification payloads IDi and IDr, RFC 7296 §3.5.
 *
 *                      1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * | Next Payload  |C|  RESERVED   |         Payload Length        |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |   ID Type     |                 RESERVED                      |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                                                               |
 * ~                   Identification Data                         ~
 * |                                                               |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 * The body is kept raw (type + data): AUTH is computed over exactly these
 * octets (RFC 7296 §2.15, "RestOfInitIDPayload"), and the typed view of
 * an identity (address, FQDN, DN...) lives in `pki/identity.ts`.
 */
import type { Reader } from '../reader.js';
import type { IdPayload } from '../types.js';
import type { Writer } from '../writer.js';
import type { PayloadBody } from './payload-body.js';

export type IdBody = PayloadBody<IdPayload>;

export function decodeId(r: Reader): IdBody {
  const idType = r.u8('ID type');
  r.skip(3, 'RESERVED');
  return { idType, data: r.rest() };
}

export function encodeId(p: IdBody, w: Writer): void {
  w.u8(p.idType).zeros(3).bytes(p.data);
}
