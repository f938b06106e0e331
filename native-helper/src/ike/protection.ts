/**
 * Message protection after IKE_SA_INIT: the Encrypted payload (SK, RFC 7296
 * §3.14) and its fragments (SKF, RFC 7383).
 *
 *   protect:   inner payloads → one SK message, or, when it would exceed the
 *              IKE MTU and the peer supports it, SKF fragments each padded and
 *              encrypted on its own (RFC 7383 §2.5);
 *   unprotect: integrity (ICV or AEAD tag) is checked BEFORE anything of the
 *              inner chain is parsed (§2.21.2: a message that fails it is
 *              dropped silently); fragments are verified one by one and only
 *              then stored for reassembly (RFC 7383 §2.6).
 *
 * The associated data / integrity prefix is every octet of the message
 * before the IV: the IKE header, the SK (SKF) generic header and, for SKF,
 * Fragment Number and Total Fragments (RFC 5282 §5.1, RFC 7383 §2.5).
 */
import { PayloadType } from './constants.js';
import { DecodeError } from './codec/errors.js';
import { encodeMessage } from './codec/message.js';
import { decodePayloadChain, encodePayloadChain } from './codec/payload-chain.js';
import type { IkeHeader, IkeMessage, Payload, SkPayload, SkfPayload } from './codec/types.js';
import type { SkCipher } from './crypto/sk-cipher.js';
import { padSkPlaintext, unpadSkPlaintext } from './crypto/sk-padding.js';

/** The cipher and keys of one direction (SK_ei/SK_ai for what we send, SK_er/SK_ar for what we receive). */
export interface SkDirection {
  readonly cipher: SkCipher;
  readonly encKey: Uint8Array;
  readonly integKey?: Uint8Array;
}

export type MessageHeader = Omit<IkeHeader, 'length' | 'nextPayload'>;

export interface ProtectInput {
  readonly header: MessageHeader;
  readonly inner: readonly Payload[];
  readonly keys: SkDirection;
  readonly random: (n: number) => Uint8Array;
  /**
   * Largest IKE message (UDP payload, without the non-ESP marker) to send
   * whole; above it the message is fragmented (RFC 7383 §2.5.1). Undefined:
   * never fragment (the peer did not announce IKEV2_FRAGMENTATION_SUPPORTED).
   */
  readonly maxMessageSize?: number;
}

/** IKE header + generic payload header */
const SK_OVERHEAD = 28 + 4;
/** + Fragment Number + Total Fragments */
const SKF_OVERHEAD = SK_OVERHEAD + 4;

function seal(msg: Uint8Array, bodyLength: number, content: Uint8Array, keys: SkDirection, random: (n: number) => Uint8Array): Uint8Array {
  const { cipher } = keys;
  const plaintext = padSkPlaintext(content, cipher.blockSize);
  // RFC 7296 §3.14: "The IV MUST be chosen at random" per message (for CBC
  // unpredictable; for the AEAD ciphers unique, RFC 5282 §3.1).
  const iv = random(cipher.ivLength);
  const aad = msg.subarray(0, msg.length - bodyLength);
  const sealed = cipher.seal({ encKey: keys.encKey, integKey: keys.integKey, iv, aad, plaintext });
  if (iv.length + sealed.length !== bodyLength) throw new RangeError(`sealed body of ${iv.length + sealed.length} octets, expected ${bodyLength}`);
  msg.set(iv, msg.length - bodyLength);
  msg.set(sealed, msg.length - bodyLength + iv.length);
  return msg;
}

const sealedLength = (cipher: SkCipher, contentLength: number): number =>
  cipher.ivLength + padSkPlaintext(new Uint8Array(contentLength), cipher.blockSize).length + cipher.icvLength;

/**
 * Builds the protected message(s) for `inner`. Returns one datagram, or
 * the SKF fragments in order when fragmentation applies.
 * @throws RangeError for caller mistakes (an MTU too small for one octet per fragment)
 */
export function protect(p: ProtectInput): Uint8Array[] {
  const { first, bytes } = encodePayloadChain(p.inner);
  const { cipher } = p.keys;
  const skBodyLength = sealedLength(cipher, bytes.length);
  if (p.maxMessageSize === undefined || SK_OVERHEAD + skBodyLength <= p.maxMessageSize) {
    const sk: SkPayload = { type: PayloadType.SK, innerNext: first, body: new Uint8Array(skBodyLength) };
    const msg = encodeMessage(p.header, [sk]);
    return [seal(msg, skBodyLength, bytes, p.keys, p.random)];
  }
  // RFC 7383 §2.5.1: each fragment, with its own IV, padding and ICV, fits the MTU.
  const room = p.maxMessageSize - SKF_OVERHEAD - cipher.ivLength - cipher.icvLength;
  const perFragment = Math.floor(room / cipher.blockSize) * cipher.blockSize - 1;
  if (perFragment < 1) throw new RangeError(`IKE MTU of ${p.maxMessageSize} octets leaves no room for fragment content`);
  const total = Math.ceil(bytes.length / perFragment);
  if (total > 0xffff) throw new RangeError(`message needs ${total} fragments`);
  const out: Uint8Array[] = [];
  for (let i = 0; i < total; i++) {
    const chunk = bytes.subarray(i * perFragment, Math.min(bytes.length, (i + 1) * perFragment));
    const bodyLength = sealedLength(cipher, chunk.length);
    const skf: SkfPayload = {
      type: PayloadType.SKF,
      // RFC 7383 §2.5: the first inner payload type in fragment 1, zero in the others.
      innerNext: i === 0 ? first : PayloadType.NONE,
      fragmentNumber: i + 1,
      totalFragments: total,
      body: new Uint8Array(bodyLength),
    };
    const msg = encodeMessage(p.header, [skf]);
    out.push(seal(msg, bodyLength, chunk, p.keys, p.random));
  }
  return out;
}

/** Why a protected message was not accepted. */
export type UnprotectFailure =
  /** integrity check failed (or the body cannot even hold IV and ICV): drop silently, RFC 7296 §2.21.2 */
  | { readonly kind: 'icv' }
  /** authenticated, but the content is malformed (bad padding, bad inner chain) */
  | { readonly kind: 'malformed'; readonly detail: string; readonly error?: DecodeError };

export type UnprotectResult = { readonly kind: 'ok'; readonly inner: Payload[] } | UnprotectFailure;

/** Verifies and decrypts an SK/SKF body; null when the integrity check fails. Never throws for wire input. */
function open(datagram: Uint8Array, body: Uint8Array, keys: SkDirection): Uint8Array | null {
  const { cipher } = keys;
  if (body.length < cipher.ivLength + cipher.icvLength) return null;
  const aad = datagram.subarray(0, datagram.length - body.length);
  return cipher.open({
    encKey: keys.encKey,
    integKey: keys.integKey,
    iv: body.subarray(0, cipher.ivLength),
    aad,
    ciphertextAndIcv: body.subarray(cipher.ivLength),
  });
}

function decodeInner(firstType: number, plain: Uint8Array): UnprotectResult {
  try {
    return { kind: 'ok', inner: decodePayloadChain(firstType, plain, 'SK') };
  } catch (e) {
    if (e instanceof DecodeError) return { kind: 'malformed', detail: e.message, error: e };
    throw e;
  }
}

function lastPayload(msg: IkeMessage): Payload | undefined {
  return msg.payloads[msg.payloads.length - 1];
}

/**
 * Opens an SK message. `datagram` is the exact octets `msg` was decoded
 * from (decodeMessage guarantees header Length = datagram length), so the
 * SK body is its tail and everything before the body is the AAD.
 */
export function unprotect(msg: IkeMessage, datagram: Uint8Array, keys: SkDirection): UnprotectResult {
  const sk = lastPayload(msg);
  if (sk === undefined || sk.type !== PayloadType.SK || !('innerNext' in sk)) {
    return { kind: 'malformed', detail: 'no Encrypted payload (SK) in a protected exchange' };
  }
  const padded = open(datagram, sk.body, keys);
  if (padded === null) return { kind: 'icv' };
  const plain = unpadSkPlaintext(padded);
  if (plain === null) return { kind: 'malformed', detail: 'Pad Length exceeds the decrypted content' };
  return decodeInner(sk.innerNext, plain);
}

// ---------------------------------------------------------------- reassembly

export interface ReassemblyLimits {
  /** most fragments one message may have */
  readonly maxFragments: number;
  /** most decrypted octets one message may reassemble to */
  readonly maxBytes: number;
}

/** charon's defaults are in the same range (max_packet 10000); a CERT chain fits easily. */
export const DEFAULT_REASSEMBLY_LIMITS: ReassemblyLimits = { maxFragments: 32, maxBytes: 65_535 };

export type ReassemblyResult =
  | UnprotectFailure
  | { readonly kind: 'ok'; readonly inner: Payload[]; readonly fragments: number }
  | { readonly kind: 'pending'; readonly received: number; readonly total: number }
  | { readonly kind: 'ignored'; readonly reason: string };

interface PendingMessage {
  readonly messageId: number;
  readonly total: number;
  readonly parts: Map<number, Uint8Array>;
  firstInner: number;
  bytes: number;
}

/**
 * Collects SKF fragments of one message per direction (our responses, the
 * peer's requests). Memory is bounded by `limits` and by holding at most one
 * message per direction: a fragment of a newer Message ID replaces the older
 * message (the session only passes IDs it would accept).
 */
export class FragmentReassembler {
  private readonly pending = new Map<'request' | 'response', PendingMessage>();

  constructor(private readonly limits: ReassemblyLimits = DEFAULT_REASSEMBLY_LIMITS) {}

  /** Drops any partial message (e.g. when the exchange it belongs to is over). */
  clear(direction?: 'request' | 'response'): void {
    if (direction === undefined) this.pending.clear();
    else this.pending.delete(direction);
  }

  add(msg: IkeMessage, datagram: Uint8Array, keys: SkDirection): ReassemblyResult {
    const skf = lastPayload(msg);
    if (skf === undefined || skf.type !== PayloadType.SKF || !('fragmentNumber' in skf)) {
      return { kind: 'malformed', detail: 'no Encrypted Fragment payload (SKF)' };
    }
    const { fragmentNumber: number, totalFragments: total } = skf;
    if (total > this.limits.maxFragments) return { kind: 'ignored', reason: `${total} fragments exceed the limit of ${this.limits.maxFragments}` };
    const direction = msg.header.response ? 'response' : 'request';
    let entry = this.pending.get(direction);
    if (entry !== undefined && entry.messageId === msg.header.messageId) {
      if (total < entry.total) return { kind: 'ignored', reason: `fragment of ${total} while collecting ${entry.total} (RFC 7383 §2.6)` };
      if (total === entry.total && entry.parts.has(number)) return { kind: 'ignored', reason: `duplicate fragment ${number}/${total}` };
    }
    // Integrity first: nothing of an unverified fragment is kept (RFC 7383 §2.6).
    const padded = open(datagram, skf.body, keys);
    if (padded === null) return { kind: 'icv' };
    const plain = unpadSkPlaintext(padded);
    if (plain === null) return { kind: 'malformed', detail: `Pad Length exceeds fragment ${number}'s content` };
    if (entry === undefined || entry.messageId !== msg.header.messageId || total > entry.total) {
      // RFC 7383 §2.6: a larger Total Fragments means the sender re-fragmented (e.g. a smaller PMTU): start over.
      entry = { messageId: msg.header.messageId, total, parts: new Map(), firstInner: PayloadType.NONE, bytes: 0 };
      this.pending.set(direction, entry);
    }
    if (entry.bytes + plain.length > this.limits.maxBytes) {
      this.pending.delete(direction);
      return { kind: 'ignored', reason: `reassembled message would exceed ${this.limits.maxBytes} octets` };
    }
    entry.parts.set(number, Uint8Array.from(plain));
    entry.bytes += plain.length;
    if (number === 1) entry.firstInner = skf.innerNext;
    if (entry.parts.size < entry.total) return { kind: 'pending', received: entry.parts.size, total: entry.total };
    this.pending.delete(direction);
    const whole = new Uint8Array(entry.bytes);
    let offset = 0;
    for (let i = 1; i <= entry.total; i++) {
      const part = entry.parts.get(i) as Uint8Array;
      whole.set(part, offset);
      offset += part.length;
    }
    const decoded = decodeInner(entry.firstInner, whole);
    return decoded.kind === 'ok' ? { kind: 'ok', inner: decoded.inner, fragments: entry.total } : decoded;
  }
}
