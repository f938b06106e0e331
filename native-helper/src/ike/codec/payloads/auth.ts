/**
 * Authentication payload, RFC 7296 §3.8.
 *
 *                      1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * | Next Payload  |C|  RESERVED   |         Payload Length        |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * | Auth Method   |                RESERVED                       |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                                                               |
 * ~                      Authentication Data                      ~
 * |                                                               |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 * For DIGITAL_SIGNATURE (RFC 7427 §3) the data starts with an
 * AlgorithmIdentifier; that is `crypto/`'s to parse.
 */
import type { Reader } from '../reader.js';
import type { AuthPayload } from '../types.js';
import type { Writer } from '../writer.js';
import type { PayloadBody } from './payload-body.js';

export type AuthBody = PayloadBody<AuthPayload>;

export function decodeAuth(r: Reader): AuthBody {
  const method = r.u8('auth method');
  r.skip(3, 'RESERVED');
  if (r.remaining === 0) r.fail('INVALID_VALUE', 'empty Authentication Data');
  return { method, data: r.rest() };
}

export function encodeAuth(p: AuthBody, w: Writer): void {
  w.u8(p.method).zeros(3).bytes(p.data);
}
