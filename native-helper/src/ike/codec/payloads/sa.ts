/**
 * Security Association payload, RFC 7296 §3.3.
 *
 *                      1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * | Next Payload  |C|  RESERVED   |         Payload Length        |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                                                               |
 * ~                          <Proposals>                          ~
 * |                                                               |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 * Proposal Substructure, RFC 7296 §3.3.1:
 *
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * | Last Substruc |   RESERVED    |         Proposal Length       |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * | Proposal Num  |  Protocol ID  |    SPI Size   |Num  Transforms|
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * ~                        SPI (variable)                         ~
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                                                               |
 * ~                        <Transforms>                           ~
 * |                                                               |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 * Transform Substructure, RFC 7296 §3.3.2:
 *
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * | Last Substruc |   RESERVED    |        Transform Length       |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |Transform Type |   RESERVED    |          Transform ID         |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                                                               |
 * ~                      Transform Attributes                     ~
 * |                                                               |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 * Data Attributes, RFC 7296 §3.3.5:
 *
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |A|       Attribute Type        |    AF=0  Attribute Length     |
 * |F|                             |    AF=1  Attribute Value      |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                   AF=0  Attribute Value                       |
 * |                   AF=1  Not Transmitted                       |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 */
import { ProtocolId, TransformAttr } from '../../constants.js';
import type { Reader } from '../reader.js';
import type { Proposal, SaPayload, Transform, TransformAttribute } from '../types.js';
import type { Writer } from '../writer.js';
import type { PayloadBody } from './payload-body.js';

export type SaBody = PayloadBody<SaPayload>;

/** RFC 7296 §3.3.1: "0 (last) or 2 (more)" for proposals. */
const PROPOSAL_MORE = 2;
/** RFC 7296 §3.3.2: "0 (last) or 3 (more)" for transforms (the IKEv1 payload numbers, kept for compatibility). */
const TRANSFORM_MORE = 3;
const LAST = 0;
/** RFC 7296 §3.3.5: Attribute Format bit; set = TV (2-octet value), clear = TLV. */
const AF_TV = 0x8000;
const PROPOSAL_HEADER = 8;
const TRANSFORM_HEADER = 8;

/** RFC 7296 §3.3.1 SPI Size per protocol: IKE 0 (initial) or 8 (rekey), AH/ESP 4. */
function spiSizeAllowed(protocol: number, size: number): boolean {
  switch (protocol) {
    case ProtocolId.IKE:
      return size === 0 || size === 8;
    case ProtocolId.AH:
    case ProtocolId.ESP:
      return size === 4;
    default:
      // Unknown protocols are the exchange layer's to reject (NO_PROPOSAL_CHOSEN), not a syntax error.
      return true;
  }
}

/** Checks the Last Substruc field against what actually follows (RFC 7296 §3.3.1, §3.3.2). */
function checkLastFlag(r: Reader, flag: number, more: number, what: string): void {
  const isLast = r.remaining === 0;
  if (isLast && flag !== LAST) r.fail('INVALID_VALUE', `${what}: Last Substruc is ${flag} but this is the last one (must be ${LAST})`);
  if (!isLast && flag !== more) r.fail('INVALID_VALUE', `${what}: Last Substruc is ${flag} but ${r.remaining} octet(s) follow (must be ${more})`);
}

function decodeTransform(r: Reader): Transform {
  const type = r.u8('transform type');
  r.skip(1, 'RESERVED');
  const id = r.u16('transform id');
  let keyLength: number | undefined;
  let others: TransformAttribute[] | undefined;
  while (r.remaining > 0) {
    const head = r.u16('attribute type');
    const attrType = head & 0x7fff;
    let value: number | Uint8Array;
    if (head & AF_TV) {
      value = r.u16('attribute value');
    } else {
      const len = r.u16('attribute length');
      value = r.bytes(len, 'attribute value');
    }
    if (attrType === TransformAttr.KEY_LENGTH) {
      // RFC 7296 §3.3.5: Key Length is a TV attribute, and one key length per transform.
      if (typeof value !== 'number') r.fail('INVALID_VALUE', 'KEY_LENGTH attribute must use the TV format (AF=1)');
      if (keyLength !== undefined) r.fail('INVALID_VALUE', 'duplicate KEY_LENGTH attribute');
      keyLength = value;
    } else {
      (others ??= []).push({ type: attrType, value });
    }
  }
  const t: { -readonly [K in keyof Transform]: Transform[K] } = { type, id };
  if (keyLength !== undefined) t.keyLength = keyLength;
  if (others !== undefined) t.otherAttributes = others;
  return t;
}

function decodeProposal(r: Reader): Proposal {
  const number = r.u8('proposal number');
  const protocol = r.u8('protocol id');
  const spiSize = r.u8('SPI size');
  const count = r.u8('number of transforms');
  if (!spiSizeAllowed(protocol, spiSize)) r.fail('INVALID_VALUE', `SPI size ${spiSize} is not valid for protocol ${protocol}`);
  const spi = r.bytes(spiSize, 'SPI');
  const transforms: Transform[] = [];
  while (r.remaining > 0) {
    const i = transforms.length;
    const flag = r.u8('Last Substruc');
    r.skip(1, 'RESERVED');
    const length = r.u16('transform length');
    if (length < TRANSFORM_HEADER) r.fail('BAD_LENGTH', `transform length ${length} is below the ${TRANSFORM_HEADER}-octet header`);
    if (length - 4 > r.remaining) r.fail('TRUNCATED', `transform length ${length} exceeds the ${r.remaining + 4} octet(s) left`);
    const sub = r.sub(length - 4, `transform[${i}]`);
    checkLastFlag(r, flag, TRANSFORM_MORE, `transform[${i}]`);
    transforms.push(decodeTransform(sub));
  }
  if (transforms.length !== count) {
    r.fail('INVALID_VALUE', `Num Transforms says ${count} but the proposal holds ${transforms.length}`);
  }
  return { number, protocol, spi, transforms };
}

export function decodeSa(r: Reader): SaBody {
  const proposals: Proposal[] = [];
  while (r.remaining > 0) {
    const i = proposals.length;
    const flag = r.u8('Last Substruc');
    r.skip(1, 'RESERVED');
    const length = r.u16('proposal length');
    if (length < PROPOSAL_HEADER) r.fail('BAD_LENGTH', `proposal length ${length} is below the ${PROPOSAL_HEADER}-octet header`);
    if (length - 4 > r.remaining) r.fail('TRUNCATED', `proposal length ${length} exceeds the ${r.remaining + 4} octet(s) left`);
    const sub = r.sub(length - 4, `proposal[${i}]`);
    checkLastFlag(r, flag, PROPOSAL_MORE, `proposal[${i}]`);
    const p = decodeProposal(sub);
    // RFC 7296 §3.3.1: proposals in an offer are numbered 1, 2, 3...; a
    // response carries one proposal with the number it accepted.
    if (p.number === 0) sub.fail('INVALID_VALUE', 'proposal number 0 (numbering starts at 1)');
    if (i > 0 && p.number !== (proposals[i - 1] as Proposal).number + 1) {
      sub.fail('INVALID_VALUE', `proposal number ${p.number} does not follow ${(proposals[i - 1] as Proposal).number}`);
    }
    if (i === 1 && (proposals[0] as Proposal).number !== 1) {
      sub.fail('INVALID_VALUE', `the first of several proposals is numbered ${(proposals[0] as Proposal).number}, not 1`);
    }
    proposals.push(p);
  }
  if (proposals.length === 0) r.fail('INVALID_VALUE', 'an SA payload needs at least one proposal');
  return { proposals };
}

function encodeAttribute(a: TransformAttribute, w: Writer): void {
  if (a.type < 0 || a.type > 0x7fff) throw new RangeError(`attribute type out of range: ${a.type}`);
  if (typeof a.value === 'number') {
    w.u16(a.type | AF_TV).u16(a.value);
  } else {
    w.u16(a.type).u16(a.value.length).bytes(a.value);
  }
}

function encodeTransform(t: Transform, last: boolean, w: Writer): void {
  w.u8(last ? LAST : TRANSFORM_MORE).zeros(1);
  const patch = w.placeholder16();
  const start = w.length - 4;
  w.u8(t.type).zeros(1).u16(t.id);
  if (t.keyLength !== undefined) encodeAttribute({ type: TransformAttr.KEY_LENGTH, value: t.keyLength }, w);
  for (const a of t.otherAttributes ?? []) {
    if (a.type === TransformAttr.KEY_LENGTH) throw new RangeError('KEY_LENGTH belongs in Transform.keyLength');
    encodeAttribute(a, w);
  }
  patch(w.length - start);
}

function encodeProposal(p: Proposal, last: boolean, w: Writer): void {
  if (p.transforms.length > 0xff) throw new RangeError(`too many transforms: ${p.transforms.length}`);
  w.u8(last ? LAST : PROPOSAL_MORE).zeros(1);
  const patch = w.placeholder16();
  const start = w.length - 4;
  w.u8(p.number).u8(p.protocol).u8(p.spi.length).u8(p.transforms.length).bytes(p.spi);
  p.transforms.forEach((t, i) => encodeTransform(t, i === p.transforms.length - 1, w));
  patch(w.length - start);
}

export function encodeSa(p: SaBody, w: Writer): void {
  if (p.proposals.length === 0) throw new RangeError('an SA payload needs at least one proposal');
  p.proposals.forEach((proposal, i) => encodeProposal(proposal, i === p.proposals.length - 1, w));
}
