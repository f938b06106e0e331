/**
 * A minimal, bounds-checked DER reader and writer (X.690) for the few
 * structures AUTH needs: AlgorithmIdentifier and RSASSA-PSS parameters
 * (RFC 7427 §3, RFC 4055 §3.1). Single-octet tags only; definite, minimal
 * lengths only (DER). Anything else is a DerError, never an out-of-bounds
 * read.
 */

export class DerError extends Error {
  override readonly name = 'DerError';
}

export interface DerElement {
  /** the identifier octet, e.g. 0x30 SEQUENCE, 0x06 OID, 0xa0 [0] constructed */
  readonly tag: number;
  /** the contents octets (a view) */
  readonly value: Uint8Array;
  /** offset just past this element */
  readonly end: number;
}

export const DerTag = {
  INTEGER: 0x02,
  NULL: 0x05,
  OID: 0x06,
  SEQUENCE: 0x30,
  /** [0], [1], [2], [3] constructed, context-specific */
  CONTEXT_0: 0xa0,
  CONTEXT_1: 0xa1,
  CONTEXT_2: 0xa2,
  CONTEXT_3: 0xa3,
} as const;

/** Reads one TLV at `offset`, which must end within `buf`. */
export function readDer(buf: Uint8Array, offset = 0): DerElement {
  if (offset + 2 > buf.length) throw new DerError(`truncated header at ${offset}`);
  const tag = buf[offset] as number;
  if ((tag & 0x1f) === 0x1f) throw new DerError(`multi-octet tag at ${offset}`);
  const first = buf[offset + 1] as number;
  let pos = offset + 2;
  let length: number;
  if (first < 0x80) {
    length = first;
  } else {
    const count = first & 0x7f;
    if (count === 0) throw new DerError(`indefinite length at ${offset}`);
    if (count > 3) throw new DerError(`length of ${count} octets at ${offset}`);
    if (pos + count > buf.length) throw new DerError(`truncated length at ${offset}`);
    length = 0;
    for (let i = 0; i < count; i++) length = length * 256 + (buf[pos + i] as number);
    if (buf[pos] === 0 || length < 0x80) throw new DerError(`non-minimal length at ${offset}`);
    pos += count;
  }
  const end = pos + length;
  if (end > buf.length) throw new DerError(`element at ${offset} claims ${length} octets, ${buf.length - pos} left`);
  return { tag, value: buf.subarray(pos, end), end };
}

/** Reads all elements of a constructed value's contents, in order. */
export function readDerSequence(contents: Uint8Array): DerElement[] {
  const out: DerElement[] = [];
  let offset = 0;
  while (offset < contents.length) {
    const el = readDer(contents, offset);
    out.push(el);
    offset = el.end;
  }
  return out;
}

/** Reads exactly one element filling `buf`. */
export function readDerWhole(buf: Uint8Array): DerElement {
  const el = readDer(buf, 0);
  if (el.end !== buf.length) throw new DerError(`${buf.length - el.end} trailing octet(s)`);
  return el;
}

/** Reads a small non-negative INTEGER (≤ 2^31). */
export function readDerSmallInteger(el: DerElement): number {
  if (el.tag !== DerTag.INTEGER) throw new DerError('expected INTEGER');
  const v = el.value;
  if (v.length === 0 || v.length > 4) throw new DerError(`INTEGER of ${v.length} octets`);
  if (((v[0] as number) & 0x80) !== 0) throw new DerError('negative INTEGER');
  if (v.length > 1 && v[0] === 0 && ((v[1] as number) & 0x80) === 0) throw new DerError('non-minimal INTEGER');
  let n = 0;
  for (const b of v) n = n * 256 + b;
  return n;
}

/** Encodes one TLV. */
export function derTlv(tag: number, ...contents: readonly Uint8Array[]): Uint8Array {
  let length = 0;
  for (const c of contents) length += c.length;
  let header: number[];
  if (length < 0x80) header = [tag, length];
  else if (length < 0x100) header = [tag, 0x81, length];
  else if (length < 0x10000) header = [tag, 0x82, length >> 8, length & 0xff];
  else throw new RangeError('DER element too long');
  const out = new Uint8Array(header.length + length);
  out.set(header, 0);
  let offset = header.length;
  for (const c of contents) {
    out.set(c, offset);
    offset += c.length;
  }
  return out;
}

/** Encodes a small non-negative INTEGER. */
export function derSmallInteger(n: number): Uint8Array {
  if (!Number.isInteger(n) || n < 0 || n > 0x7fffffff) throw new RangeError(`bad INTEGER ${n}`);
  const bytes: number[] = [];
  do {
    bytes.unshift(n & 0xff);
    n = Math.floor(n / 256);
  } while (n > 0);
  if (((bytes[0] as number) & 0x80) !== 0) bytes.unshift(0);
  return derTlv(DerTag.INTEGER, Uint8Array.from(bytes));
}
