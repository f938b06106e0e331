/**
 * Traffic Selector payloads TSi and TSr, RFC 7296 §3.13.
 *
 *                      1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * | Next Payload  |C|  RESERVED   |         Payload Length        |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * | Number of TSs |                 RESERVED                      |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                                                               |
 * ~                       <Traffic Selectors>                     ~
 * |                                                               |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 * Traffic Selector, RFC 7296 §3.13.1:
 *
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |   TS Type     |IP Protocol ID*|       Selector Length         |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |           Start Port*         |           End Port*           |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                                                               |
 * ~                         Starting Address*                     ~
 * |                                                               |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                                                               |
 * ~                         Ending Address*                       ~
 * |                                                               |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 * TS_IPV4_ADDR_RANGE selectors are 16 octets long, TS_IPV6_ADDR_RANGE 40.
 * Other TS types (e.g. RFC 9478 security labels) are only sent if we
 * proposed them, which we never do, so they are rejected here. Port ranges
 * are not ordered-checked: start 65535 / end 0 means OPAQUE (§3.13.1).
 */
import { TsType } from '../../constants.js';
import type { Reader } from '../reader.js';
import type { TrafficSelector, TsPayload } from '../types.js';
import type { Writer } from '../writer.js';
import type { PayloadBody } from './payload-body.js';

export type TsBody = PayloadBody<TsPayload>;

/** Address length per TS type; the selector is 8 octets of header plus two addresses. */
function addressLength(tsType: number): number | undefined {
  if (tsType === TsType.TS_IPV4_ADDR_RANGE) return 4;
  if (tsType === TsType.TS_IPV6_ADDR_RANGE) return 16;
  return undefined;
}

function decodeSelector(r: Reader): TrafficSelector {
  const tsType = r.u8('TS type');
  const ipProtocol = r.u8('IP protocol id');
  const length = r.u16('selector length');
  const addrLen = addressLength(tsType);
  if (addrLen === undefined) r.fail('INVALID_VALUE', `unsupported TS type ${tsType}`);
  const want = 8 + 2 * addrLen;
  if (length !== want) r.fail('BAD_LENGTH', `selector length ${length}, TS type ${tsType} needs ${want}`);
  const startPort = r.u16('start port');
  const endPort = r.u16('end port');
  const startAddress = r.bytes(addrLen, 'starting address');
  const endAddress = r.bytes(addrLen, 'ending address');
  return { tsType, ipProtocol, startPort, endPort, startAddress, endAddress };
}

export function decodeTs(r: Reader): TsBody {
  const count = r.u8('number of TSs');
  r.skip(3, 'RESERVED');
  if (count === 0) r.fail('INVALID_VALUE', 'a TS payload needs at least one traffic selector');
  const selectors: TrafficSelector[] = [];
  for (let i = 0; i < count; i++) {
    if (r.remaining === 0) r.fail('TRUNCATED', `Number of TSs says ${count} but the payload holds ${i}`);
    selectors.push(decodeSelector(r));
  }
  if (r.remaining !== 0) r.fail('TRAILING_BYTES', `${r.remaining} octet(s) after the ${count} traffic selector(s) announced`);
  return { selectors };
}

export function encodeTs(p: TsBody, w: Writer): void {
  const n = p.selectors.length;
  if (n === 0 || n > 0xff) throw new RangeError(`number of traffic selectors out of range: ${n}`);
  w.u8(n).zeros(3);
  for (const s of p.selectors) {
    const addrLen = addressLength(s.tsType);
    if (addrLen === undefined) throw new RangeError(`unsupported TS type ${s.tsType}`);
    if (s.startAddress.length !== addrLen || s.endAddress.length !== addrLen) {
      throw new RangeError(`TS type ${s.tsType} needs ${addrLen}-octet addresses`);
    }
    w.u8(s.tsType).u8(s.ipProtocol).u16(8 + 2 * addrLen).u16(s.startPort).u16(s.endPort).bytes(s.startAddress).bytes(s.endAddress);
  }
}
