/**
 * Encrypted and Authenticated Fragment payload (SKF), RFC 7383 §2.5.
 *
 *                      1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * | Next Payload  |C|  RESERVED   |         Payload Length        |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |        Fragment Number        |        Total Fragments        |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                     Initialization Vector                     |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * ~                      Encrypted content                        ~
 * +               +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |               |             Padding (0-255 octets)            |
 * +-+-+-+-+-+-+-+-+                               +-+-+-+-+-+-+-+-+
 * |                                               |  Pad Length   |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * ~                    Integrity Checksum Data                    ~
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 * Fragment Number starts at 1 and "MUST be less than or equal to Total
 * Fragments". Next Payload is the first inner payload in fragment 1 and 0
 * in the others (`innerNext`, handled by `payload-chain.ts`). The
 * encrypted part is opaque here, as for SK.
 */
import type { Reader } from '../reader.js';
import type { SkfPayload } from '../types.js';
import type { Writer } from '../writer.js';
import type { PayloadBody } from './payload-body.js';

export type SkfBody = PayloadBody<SkfPayload>;

export function decodeSkf(r: Reader): SkfBody {
  const fragmentNumber = r.u16('fragment number');
  const totalFragments = r.u16('total fragments');
  if (fragmentNumber < 1 || fragmentNumber > totalFragments) {
    r.fail('INVALID_VALUE', `fragment ${fragmentNumber} of ${totalFragments} (need 1 <= number <= total)`);
  }
  return { fragmentNumber, totalFragments, body: r.rest() };
}

export function encodeSkf(p: SkfBody, w: Writer): void {
  if (p.fragmentNumber < 1 || p.fragmentNumber > p.totalFragments) {
    throw new RangeError(`fragment ${p.fragmentNumber} of ${p.totalFragments}`);
  }
  w.u16(p.fragmentNumber).u16(p.totalFragments).bytes(p.body);
}
