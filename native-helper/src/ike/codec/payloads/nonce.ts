/**
 * Nonce payload, RFC 7296 §3.9.
 *
 *                      1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * | Next Payload  |C|  RESERVED   |         Payload Length        |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                                                               |
 * ~                            Nonce Data                         ~
 * |                                                               |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 * "The size of the Nonce Data MUST be between 16 and 256 octets, inclusive."
 */
import type { Reader } from '../reader.js';
import type { NoncePayload } from '../types.js';
import type { Writer } from '../writer.js';
import type { PayloadBody } from './payload-body.js';

export type NonceBody = PayloadBody<NoncePayload>;

export const NONCE_MIN = 16;
export const NONCE_MAX = 256;

export function decodeNonce(r: Reader): NonceBody {
  const n = r.remaining;
  if (n < NONCE_MIN || n > NONCE_MAX) r.fail('INVALID_VALUE', `nonce of ${n} octet(s), must be ${NONCE_MIN}..${NONCE_MAX}`);
  return { nonce: r.rest() };
}

export function encodeNonce(p: NonceBody, w: Writer): void {
  const n = p.nonce.length;
  if (n < NONCE_MIN || n > NONCE_MAX) throw new RangeError(`nonce of ${n} octet(s), must be ${NONCE_MIN}..${NONCE_MAX}`);
  w.bytes(p.nonce);
}
