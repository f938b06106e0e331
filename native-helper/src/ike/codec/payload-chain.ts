/**
 * The chain of payloads after the IKE header (or inside a decrypted SK
 * payload), linked by each generic header's Next Payload field.
 *
 * Generic payload header, RFC 7296 §3.2:
 *
 *                      1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * | Next Payload  |C|  RESERVED   |         Payload Length        |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 * Each payload is validated before it is parsed, as OpenBSD iked's
 * `ikev2_validate_pld` does: at least 4 octets left for the generic header,
 * Payload Length ≥ 4, and Payload Length ≤ what is left. The body then
 * goes to its payload module through a sub-reader that must be consumed
 * exactly.
 */
import { GENERIC_PAYLOAD_HEADER_LENGTH, PayloadType, payloadName } from '../constants.js';
import { Reader } from './reader.js';
import type { KnownPayload, Payload, UnknownPayload } from './types.js';
import { Writer } from './writer.js';
import { decodeAuth, encodeAuth } from './payloads/auth.js';
import { decodeCert, encodeCert } from './payloads/cert.js';
import { decodeCertReq, encodeCertReq } from './payloads/certreq.js';
import { decodeCp, encodeCp } from './payloads/cp.js';
import { decodeDelete, encodeDelete } from './payloads/delete.js';
import { decodeEap, encodeEap } from './payloads/eap.js';
import { decodeId, encodeId } from './payloads/id.js';
import { decodeKe, encodeKe } from './payloads/ke.js';
import { decodeNonce, encodeNonce } from './payloads/nonce.js';
import { decodeNotify, encodeNotify } from './payloads/notify.js';
import { decodeSa, encodeSa } from './payloads/sa.js';
import { decodeSk, encodeSk } from './payloads/sk.js';
import { decodeSkf, encodeSkf } from './payloads/skf.js';
import { decodeTs, encodeTs } from './payloads/ts.js';
import { decodeVendor, encodeVendor } from './payloads/vendor.js';

/** RFC 7296 §3.2: the critical bit, the top bit of the octet after Next Payload. */
const CRITICAL = 0x80;

export function isUnknownPayload(p: Payload): p is UnknownPayload {
  return 'unknown' in p && p.unknown === true;
}

/** SK and SKF end a message: their Next Payload is the first inner payload (RFC 7296 §3.14, RFC 7383 §2.5). */
export function isEncryptedPayload(p: Payload): p is Extract<KnownPayload, { innerNext: number }> {
  return !isUnknownPayload(p) && (p.type === PayloadType.SK || p.type === PayloadType.SKF);
}

/** Builds the typed payload from its body; `next` is needed only by SK/SKF. */
type BodyDecoder = (r: Reader, next: number) => KnownPayload;

const decoders = new Map<number, BodyDecoder>([
  [PayloadType.SA, (r) => ({ type: PayloadType.SA, ...decodeSa(r) })],
  [PayloadType.KE, (r) => ({ type: PayloadType.KE, ...decodeKe(r) })],
  [PayloadType.IDi, (r) => ({ type: PayloadType.IDi, ...decodeId(r) })],
  [PayloadType.IDr, (r) => ({ type: PayloadType.IDr, ...decodeId(r) })],
  [PayloadType.CERT, (r) => ({ type: PayloadType.CERT, ...decodeCert(r) })],
  [PayloadType.CERTREQ, (r) => ({ type: PayloadType.CERTREQ, ...decodeCertReq(r) })],
  [PayloadType.AUTH, (r) => ({ type: PayloadType.AUTH, ...decodeAuth(r) })],
  [PayloadType.NONCE, (r) => ({ type: PayloadType.NONCE, ...decodeNonce(r) })],
  [PayloadType.NOTIFY, (r) => ({ type: PayloadType.NOTIFY, ...decodeNotify(r) })],
  [PayloadType.DELETE, (r) => ({ type: PayloadType.DELETE, ...decodeDelete(r) })],
  [PayloadType.VENDOR, (r) => ({ type: PayloadType.VENDOR, ...decodeVendor(r) })],
  [PayloadType.TSi, (r) => ({ type: PayloadType.TSi, ...decodeTs(r) })],
  [PayloadType.TSr, (r) => ({ type: PayloadType.TSr, ...decodeTs(r) })],
  [PayloadType.CP, (r) => ({ type: PayloadType.CP, ...decodeCp(r) })],
  [PayloadType.EAP, (r) => ({ type: PayloadType.EAP, ...decodeEap(r) })],
  [PayloadType.SK, (r, next) => ({ type: PayloadType.SK, innerNext: next, ...decodeSk(r) })],
  [PayloadType.SKF, (r, next) => ({ type: PayloadType.SKF, innerNext: next, ...decodeSkf(r) })],
]);

/**
 * Decodes the payloads of `bytes`, the first of type `firstType`.
 * `path` names the container in errors ("IKE_AUTH", "SK"); `baseOffset` is
 * where `bytes` starts in the datagram, so error offsets are absolute.
 * Returned byte fields are views into `bytes` (no copies).
 *
 * @throws DecodeError for any malformed input, and with code
 *   'UNSUPPORTED_CRITICAL_PAYLOAD' (and `payloadType`) for an unknown
 *   payload with the critical bit set (RFC 7296 §2.5).
 */
export function decodePayloadChain(firstType: number, bytes: Uint8Array, path: string, baseOffset = 0): Payload[] {
  const r = new Reader(bytes, path, baseOffset);
  const out: Payload[] = [];
  let type = firstType;
  while (type !== PayloadType.NONE) {
    const name = payloadName(type);
    if (r.remaining < GENERIC_PAYLOAD_HEADER_LENGTH) {
      r.fail('TRUNCATED', `${name}: a generic payload header needs ${GENERIC_PAYLOAD_HEADER_LENGTH} octets, ${r.remaining} left`);
    }
    const next = r.u8('next payload');
    const critical = (r.u8('critical/RESERVED') & CRITICAL) !== 0;
    const length = r.u16('payload length');
    if (length < GENERIC_PAYLOAD_HEADER_LENGTH) {
      r.fail('BAD_LENGTH', `${name}: payload length ${length} is below the ${GENERIC_PAYLOAD_HEADER_LENGTH}-octet generic header`);
    }
    if (length - GENERIC_PAYLOAD_HEADER_LENGTH > r.remaining) {
      r.fail('TRUNCATED', `${name}: payload length ${length} exceeds the ${r.remaining + GENERIC_PAYLOAD_HEADER_LENGTH} octet(s) left`);
    }
    const body = r.sub(length - GENERIC_PAYLOAD_HEADER_LENGTH, `${name}[${out.length}]`);
    const decode = decoders.get(type);
    if (decode === undefined) {
      // RFC 7296 §2.5: skip unknown payloads unless they are critical.
      if (critical) body.fail('UNSUPPORTED_CRITICAL_PAYLOAD', `unknown payload type ${type} marked critical`, type);
      out.push({ type, critical, body: body.rest(), unknown: true });
      type = next;
      continue;
    }
    const p = decode(body, next);
    body.finish();
    // The critical bit is ignored for payloads we understand (RFC 7296 §3.2); kept only so re-encoding is faithful.
    out.push(critical ? { ...p, critical: true } : p);
    if (type === PayloadType.SK || type === PayloadType.SKF) {
      if (r.remaining !== 0) r.fail('TRAILING_BYTES', `${name} must be the last payload, ${r.remaining} octet(s) follow it`);
      return out;
    }
    type = next;
  }
  r.finish();
  return out;
}

function encodeBody(p: KnownPayload, w: Writer): void {
  switch (p.type) {
    case PayloadType.SA:
      return encodeSa(p, w);
    case PayloadType.KE:
      return encodeKe(p, w);
    case PayloadType.IDi:
    case PayloadType.IDr:
      return encodeId(p, w);
    case PayloadType.CERT:
      return encodeCert(p, w);
    case PayloadType.CERTREQ:
      return encodeCertReq(p, w);
    case PayloadType.AUTH:
      return encodeAuth(p, w);
    case PayloadType.NONCE:
      return encodeNonce(p, w);
    case PayloadType.NOTIFY:
      return encodeNotify(p, w);
    case PayloadType.DELETE:
      return encodeDelete(p, w);
    case PayloadType.VENDOR:
      return encodeVendor(p, w);
    case PayloadType.TSi:
    case PayloadType.TSr:
      return encodeTs(p, w);
    case PayloadType.CP:
      return encodeCp(p, w);
    case PayloadType.EAP:
      return encodeEap(p, w);
    case PayloadType.SK:
      return encodeSk(p, w);
    case PayloadType.SKF:
      return encodeSkf(p, w);
  }
}

/**
 * Writes `payloads` with their generic headers into `w` and returns the type
 * of the first one (for the IKE header's or an SK payload's Next Payload).
 * An SK/SKF payload must be last; it is written last, so its body ends the
 * buffer and can be overwritten in place after encryption.
 */
export function writePayloadChain(payloads: readonly Payload[], w: Writer): number {
  const last = payloads.length - 1;
  payloads.forEach((p, i) => {
    const encrypted = isEncryptedPayload(p);
    if (encrypted && i !== last) throw new RangeError(`${payloadName(p.type)} must be the last payload`);
    if (p.type === PayloadType.NONE || p.type < 0 || p.type > 0xff) throw new RangeError(`invalid payload type ${p.type}`);
    const next = encrypted ? p.innerNext : i < last ? (payloads[i + 1] as Payload).type : PayloadType.NONE;
    w.u8(next).u8(p.critical === true ? CRITICAL : 0);
    const patch = w.placeholder16();
    const start = w.length - GENERIC_PAYLOAD_HEADER_LENGTH;
    if (isUnknownPayload(p)) {
      if (decoders.has(p.type)) throw new RangeError(`payload type ${p.type} is known; encode it typed`);
      w.bytes(p.body);
    } else {
      encodeBody(p, w);
    }
    patch(w.length - start);
  });
  return payloads[0]?.type ?? PayloadType.NONE;
}

/** Encodes a payload chain on its own (e.g. the plaintext of an SK payload, RFC 7296 §3.14). */
export function encodePayloadChain(payloads: readonly Payload[]): { first: number; bytes: Uint8Array } {
  const w = new Writer();
  const first = writePayloadChain(payloads, w);
  return { first, bytes: w.finish() };
}
