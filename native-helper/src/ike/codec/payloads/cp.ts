/**
 * Configuration payload (CP), RFC 7296 §3.15.
 *
 *                      1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * | Next Payload  |C| RESERVED    |         Payload Length        |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |   CFG Type    |                    RESERVED                   |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                                                               |
 * ~                   Configuration Attributes                    ~
 * |                                                               |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 * Configuration Attribute, RFC 7296 §3.15.1:
 *
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |R|         Attribute Type      |            Length             |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                                                               |
 * ~                             Value                             ~
 * |                                                               |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 * The R bit "MUST be set to zero and MUST be ignored on receipt": we send
 * zero and mask it off when decoding, so the attribute type is 15 bits.
 * Attribute lengths fixed by the §3.15.1 table (e.g. INTERNAL_IP4_ADDRESS
 * "0 or 4 octets") are checked here; a zero length is how a CFG_REQUEST asks
 * for an attribute.
 */
import { CfgAttr } from '../../constants.js';
import type { Reader } from '../reader.js';
import type { CfgAttribute, CpPayload } from '../types.js';
import type { Writer } from '../writer.js';
import type { PayloadBody } from './payload-body.js';

export type CpBody = PayloadBody<CpPayload>;

const R_BIT = 0x8000;
const TYPE_MASK = 0x7fff;

/** RFC 7296 §3.15.1 value lengths: a list of allowed lengths, or 'even' for lists of 2-octet values. */
const ATTRIBUTE_LENGTHS: ReadonlyMap<number, readonly number[] | 'even'> = new Map<number, readonly number[] | 'even'>([
  [CfgAttr.INTERNAL_IP4_ADDRESS, [0, 4]],
  [CfgAttr.INTERNAL_IP4_NETMASK, [0, 4]],
  [CfgAttr.INTERNAL_IP4_DNS, [0, 4]],
  [CfgAttr.INTERNAL_IP4_NBNS, [0, 4]],
  [CfgAttr.INTERNAL_IP4_DHCP, [0, 4]],
  [CfgAttr.INTERNAL_IP6_ADDRESS, [0, 17]],
  [CfgAttr.INTERNAL_IP6_DNS, [0, 16]],
  [CfgAttr.INTERNAL_IP6_DHCP, [0, 16]],
  [CfgAttr.INTERNAL_IP4_SUBNET, [0, 8]],
  [CfgAttr.SUPPORTED_ATTRIBUTES, 'even'],
  [CfgAttr.INTERNAL_IP6_SUBNET, [0, 17]],
]);

function lengthAllowed(type: number, length: number): boolean {
  const rule = ATTRIBUTE_LENGTHS.get(type);
  if (rule === undefined) return true;
  if (rule === 'even') return length % 2 === 0;
  return rule.includes(length);
}

export function decodeCp(r: Reader): CpBody {
  const cfgType = r.u8('CFG type');
  r.skip(3, 'RESERVED');
  const attributes: CfgAttribute[] = [];
  while (r.remaining > 0) {
    const type = r.u16('attribute type') & TYPE_MASK;
    const length = r.u16('attribute length');
    if (!lengthAllowed(type, length)) r.fail('BAD_LENGTH', `attribute ${type} with a ${length}-octet value`);
    attributes.push({ type, value: r.bytes(length, 'attribute value') });
  }
  return { cfgType, attributes };
}

export function encodeCp(p: CpBody, w: Writer): void {
  w.u8(p.cfgType).zeros(3);
  for (const a of p.attributes) {
    if (a.type < 0 || a.type > TYPE_MASK) throw new RangeError(`configuration attribute type out of range: ${a.type}`);
    if (!lengthAllowed(a.type, a.value.length)) throw new RangeError(`attribute ${a.type} with a ${a.value.length}-octet value`);
    w.u16(a.type & ~R_BIT).u16(a.value.length).bytes(a.value);
  }
}
