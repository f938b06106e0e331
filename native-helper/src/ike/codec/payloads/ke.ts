/**
 * Key Exchange payload, RFC 7296 §3.4.
 *
 *                      1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * | Next Payload  |C|  RESERVED   |         Payload Length        |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |   Diffie-Hellman Group Num    |           RESERVED            |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                                                               |
 * ~                       Key Exchange Data                       ~
 * |                                                               |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 * The data's length depends on the group; checking it (and the value
 * checks of RFC 6989) is the key exchange's job in `crypto/`, which knows
 * the group. Here it only has to be present.
 */
import type { Reader } from '../reader.js';
import type { KePayload } from '../types.js';
import type { Writer } from '../writer.js';
import type { PayloadBody } from './payload-body.js';

export type KeBody = PayloadBody<KePayload>;

export function decodeKe(r: Reader): KeBody {
  const group = r.u16('group');
  r.skip(2, 'RESERVED');
  if (r.remaining === 0) r.fail('INVALID_VALUE', 'empty Key Exchange Data');
  return { group, data: r.rest() };
}

export function encodeKe(p: KeBody, w: Writer): void {
  w.u16(p.group).zeros(2).bytes(p.data);
}
