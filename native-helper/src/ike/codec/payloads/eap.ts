/**
 * EAP payload, RFC 7296 §3.16: the body is one EAP message (RFC 3748 §4).
 *
 *                      1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * | Next Payload  |C|  RESERVED   |         Payload Length        |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                                                               |
 * ~                       EAP Message                             ~
 * |                                                               |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 * EAP message, RFC 3748 §4:
 *
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |     Code      |  Identifier   |            Length             |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |    Data ...
 * +-+-+-+-+
 *
 * The EAP Length covers the whole EAP message, so here it must equal the
 * payload body length. Everything past the 4-octet header is `eap/`'s.
 */
import type { Reader } from '../reader.js';
import type { EapPayload } from '../types.js';
import type { Writer } from '../writer.js';
import type { PayloadBody } from './payload-body.js';

export type EapBody = PayloadBody<EapPayload>;

const EAP_HEADER = 4;

export function decodeEap(r: Reader): EapBody {
  const total = r.remaining;
  if (total < EAP_HEADER) r.fail('TRUNCATED', `EAP message of ${total} octet(s), the header alone is ${EAP_HEADER}`);
  const head = r.peek(EAP_HEADER, 'EAP header');
  const length = ((head[2] as number) << 8) | (head[3] as number);
  if (length !== total) r.fail('BAD_LENGTH', `EAP Length field says ${length}, the payload holds ${total} octet(s)`);
  return { message: r.rest() };
}

export function encodeEap(p: EapBody, w: Writer): void {
  const m = p.message;
  if (m.length < EAP_HEADER || (((m[2] as number) << 8) | (m[3] as number)) !== m.length) {
    throw new RangeError('EAP message length field does not match its size');
  }
  w.bytes(m);
}
