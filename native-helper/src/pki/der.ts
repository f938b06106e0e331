/**
 * A strict, bounds-checked DER reader (ITU-T X.690 §8 and §10) for the few
 * structures this module reads from untrusted bytes: certificates' TBS
 * fields and extensions, and Distinguished Names received in IKE ID payloads
 * (RFC 7296 §3.5). It never copies: every TLV is a view into the input.
 *
 * Only low tag numbers (< 31) occur in X.509, so the high-tag-number form is
 * rejected, as are indefinite lengths and non-minimal length encodings,
 * which DER forbids (X.690 §10.1). Anything malformed throws `DerError`.
 */

export class DerError extends Error {
  override readonly name = 'DerError';
  constructor(
    /** where: e.g. "tbsCertificate/extensions[2]" */
    readonly path: string,
    /** byte offset within the buffer being read */
    readonly offset: number,
    detail: string,
  ) {
    super(`${path} @${offset}: ${detail}`);
  }
}

/** Universal tags, as the full identifier octet (class, constructed bit and number). */
export const Tag = {
  BOOLEAN: 0x01,
  INTEGER: 0x02,
  BIT_STRING: 0x03,
  OCTET_STRING: 0x04,
  NULL: 0x05,
  OID: 0x06,
  UTF8_STRING: 0x0c,
  NUMERIC_STRING: 0x12,
  PRINTABLE_STRING: 0x13,
  TELETEX_STRING: 0x14,
  IA5_STRING: 0x16,
  UTC_TIME: 0x17,
  GENERALIZED_TIME: 0x18,
  VISIBLE_STRING: 0x1a,
  UNIVERSAL_STRING: 0x1c,
  BMP_STRING: 0x1e,
  SEQUENCE: 0x30,
  SET: 0x31,
} as const;

/** Context-specific tag `[n]`, primitive or constructed. */
export function contextTag(n: number, constructed: boolean): number {
  return 0x80 | (constructed ? 0x20 : 0) | n;
}

export interface Tlv {
  /** identifier octet */
  readonly tag: number;
  readonly constructed: boolean;
  /** offset of the identifier octet in `source` */
  readonly start: number;
  /** offset just past the last content octet in `source` */
  readonly end: number;
  /** the whole encoding (identifier, length, content) */
  readonly bytes: Uint8Array;
  /** the content octets only */
  readonly content: Uint8Array;
  /** the buffer this TLV was read from, for error offsets */
  readonly source: Uint8Array;
  readonly path: string;
}

/** Largest content length accepted: far above any certificate or DN we read. */
const MAX_LENGTH = 1 << 24;
/** Most children one constructed value may have before we call it hostile. */
const MAX_CHILDREN = 4096;

/** Reads one TLV starting at `offset`; it must end at or before `limit`. */
export function readTlv(source: Uint8Array, offset: number, limit: number, path: string): Tlv {
  if (offset + 2 > limit) throw new DerError(path, offset, 'truncated: no room for identifier and length');
  const tag = source[offset] as number;
  if ((tag & 0x1f) === 0x1f) throw new DerError(path, offset, 'high tag numbers are not used in X.509');
  const first = source[offset + 1] as number;
  let length: number;
  let headerLength: number;
  if (first < 0x80) {
    length = first;
    headerLength = 2;
  } else {
    const count = first & 0x7f;
    // X.690 §10.1: DER uses definite lengths only, in the fewest octets.
    if (count === 0) throw new DerError(path, offset, 'indefinite length is not DER');
    if (count > 3) throw new DerError(path, offset, `length of ${count} octets is too large`);
    if (offset + 2 + count > limit) throw new DerError(path, offset, 'truncated length');
    length = 0;
    for (let i = 0; i < count; i++) length = length * 256 + (source[offset + 2 + i] as number);
    if (source[offset + 2] === 0 || length < 0x80) throw new DerError(path, offset, 'non-minimal length encoding');
    headerLength = 2 + count;
  }
  if (length > MAX_LENGTH) throw new DerError(path, offset, `length ${length} is too large`);
  const contentStart = offset + headerLength;
  const end = contentStart + length;
  if (end > limit) throw new DerError(path, offset, `truncated: needs ${length} content octets, ${limit - contentStart} left`);
  return {
    tag,
    constructed: (tag & 0x20) !== 0,
    start: offset,
    end,
    bytes: source.subarray(offset, end),
    content: source.subarray(contentStart, end),
    source,
    path,
  };
}

/** Parses `bytes` as exactly one TLV, with nothing after it. */
export function readSingle(bytes: Uint8Array, path: string): Tlv {
  const tlv = readTlv(bytes, 0, bytes.length, path);
  if (tlv.end !== bytes.length) throw new DerError(path, tlv.end, `${bytes.length - tlv.end} trailing octets`);
  return tlv;
}

/** The children of a constructed TLV, which must exactly fill its content. */
export function childrenOf(parent: Tlv, path = parent.path): Tlv[] {
  if (!parent.constructed) throw new DerError(path, parent.start, 'expected a constructed value');
  const out: Tlv[] = [];
  const base = parent.content;
  let offset = 0;
  while (offset < base.length) {
    if (out.length >= MAX_CHILDREN) throw new DerError(path, offset, `more than ${MAX_CHILDREN} elements`);
    const child = readTlv(base, offset, base.length, `${path}[${out.length}]`);
    out.push(child);
    offset = child.end;
  }
  return out;
}

/** Sequential access to the children of a SEQUENCE, with optional elements. */
export class DerCursor {
  private readonly items: Tlv[];
  private index = 0;

  constructor(
    parent: Tlv,
    private readonly path: string = parent.path,
  ) {
    this.items = childrenOf(parent, path);
  }

  peekTag(): number | undefined {
    return this.items[this.index]?.tag;
  }

  /** The next element, which must carry `tag`. */
  expect(tag: number, what: string): Tlv {
    const item = this.items[this.index];
    if (item === undefined) throw new DerError(this.path, 0, `missing ${what}`);
    if (item.tag !== tag) {
      throw new DerError(this.path, item.start, `${what}: expected tag 0x${hex2(tag)}, found 0x${hex2(item.tag)}`);
    }
    this.index++;
    return item;
  }

  /** The next element if it carries `tag`, else undefined (nothing consumed). */
  optional(tag: number): Tlv | undefined {
    const item = this.items[this.index];
    if (item === undefined || item.tag !== tag) return undefined;
    this.index++;
    return item;
  }

  /** The next element, whatever its tag. */
  any(what: string): Tlv {
    const item = this.items[this.index];
    if (item === undefined) throw new DerError(this.path, 0, `missing ${what}`);
    this.index++;
    return item;
  }

  /** Asserts that every element was consumed. */
  end(what: string): void {
    const item = this.items[this.index];
    if (item !== undefined) throw new DerError(this.path, item.start, `unexpected element after ${what}`);
  }
}

function hex2(n: number): string {
  return n.toString(16).padStart(2, '0');
}

/** X.690 §8.19: dotted-decimal text of an OBJECT IDENTIFIER's content octets. */
export function decodeOid(content: Uint8Array, path: string): string {
  if (content.length === 0) throw new DerError(path, 0, 'empty OBJECT IDENTIFIER');
  if (content.length > 128) throw new DerError(path, 0, 'OBJECT IDENTIFIER too long');
  const arcs: number[] = [];
  let value = 0;
  let started = false;
  for (let i = 0; i < content.length; i++) {
    const b = content[i] as number;
    // X.690 §8.19.2: each subidentifier in the fewest octets (no leading 0x80).
    if (!started && b === 0x80) throw new DerError(path, i, 'non-minimal OBJECT IDENTIFIER arc');
    started = true;
    value = value * 128 + (b & 0x7f);
    if (value > Number.MAX_SAFE_INTEGER / 128) throw new DerError(path, i, 'OBJECT IDENTIFIER arc too large');
    if ((b & 0x80) === 0) {
      arcs.push(value);
      value = 0;
      started = false;
    }
  }
  if (started) throw new DerError(path, content.length, 'truncated OBJECT IDENTIFIER');
  const first = arcs[0] as number;
  const head = first < 40 ? [0, first] : first < 80 ? [1, first - 40] : [2, first - 80];
  return [...head, ...arcs.slice(1)].join('.');
}

/** X.690 §8.2 / §11.1: DER BOOLEAN is one octet, 0x00 or 0xFF. */
export function decodeBoolean(tlv: Tlv): boolean {
  if (tlv.tag !== Tag.BOOLEAN || tlv.content.length !== 1) throw new DerError(tlv.path, tlv.start, 'malformed BOOLEAN');
  const v = tlv.content[0];
  if (v === 0x00) return false;
  if (v === 0xff) return true;
  throw new DerError(tlv.path, tlv.start, 'BOOLEAN must be 0x00 or 0xFF in DER');
}

/** A non-negative INTEGER small enough for a JavaScript number (path lengths, versions). */
export function decodeSmallUnsigned(tlv: Tlv): number {
  const c = tlv.content;
  if (tlv.tag !== Tag.INTEGER || c.length === 0) throw new DerError(tlv.path, tlv.start, 'malformed INTEGER');
  if (((c[0] as number) & 0x80) !== 0) throw new DerError(tlv.path, tlv.start, 'negative INTEGER where a count is expected');
  if (c.length > 1 && c[0] === 0 && ((c[1] as number) & 0x80) === 0) {
    throw new DerError(tlv.path, tlv.start, 'non-minimal INTEGER');
  }
  if (c.length > 7) throw new DerError(tlv.path, tlv.start, 'INTEGER too large');
  let v = 0;
  for (const b of c) v = v * 256 + b;
  return v;
}

/** X.690 §8.6: BIT STRING content is an unused-bits count then the bits. */
export function decodeBitString(tlv: Tlv): { unusedBits: number; bytes: Uint8Array } {
  const c = tlv.content;
  if (tlv.tag !== Tag.BIT_STRING || c.length === 0) throw new DerError(tlv.path, tlv.start, 'malformed BIT STRING');
  const unusedBits = c[0] as number;
  if (unusedBits > 7 || (c.length === 1 && unusedBits !== 0)) {
    throw new DerError(tlv.path, tlv.start, 'BIT STRING with an invalid unused-bits count');
  }
  return { unusedBits, bytes: c.subarray(1) };
}

/**
 * RFC 5280 §4.1.2.5: UTCTime is YYMMDDHHMMSSZ (YY ≥ 50 means 19YY) and
 * GeneralizedTime is YYYYMMDDHHMMSSZ; both in UTC, with seconds and no
 * fractions. Other forms are not valid in certificates.
 */
export function decodeTime(tlv: Tlv): Date {
  const text = asciiOf(tlv.content);
  let m: RegExpExecArray | null;
  let year: number;
  if (tlv.tag === Tag.UTC_TIME) {
    m = /^(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/.exec(text);
    if (m === null) throw new DerError(tlv.path, tlv.start, `malformed UTCTime "${printable(text)}"`);
    const yy = Number(m[1]);
    year = yy >= 50 ? 1900 + yy : 2000 + yy;
  } else if (tlv.tag === Tag.GENERALIZED_TIME) {
    m = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/.exec(text);
    if (m === null) throw new DerError(tlv.path, tlv.start, `malformed GeneralizedTime "${printable(text)}"`);
    year = Number(m[1]);
  } else {
    throw new DerError(tlv.path, tlv.start, 'expected UTCTime or GeneralizedTime');
  }
  const [month, day, hour, minute, second] = [m[2], m[3], m[4], m[5], m[6]].map(Number) as [number, number, number, number, number];
  const ms = Date.UTC(year, month - 1, day, hour, minute, second);
  const d = new Date(ms);
  // Reject dates that Date.UTC silently normalises (Feb 30, hour 25, …).
  if (
    d.getUTCFullYear() !== year ||
    d.getUTCMonth() !== month - 1 ||
    d.getUTCDate() !== day ||
    d.getUTCHours() !== hour ||
    d.getUTCMinutes() !== minute ||
    d.getUTCSeconds() !== second
  ) {
    throw new DerError(tlv.path, tlv.start, `impossible date "${text}"`);
  }
  return d;
}

function asciiOf(bytes: Uint8Array): string {
  let s = '';
  for (const b of bytes) s += String.fromCharCode(b);
  return s;
}

/** For error messages: control and non-ASCII characters shown as \xNN. */
export function printable(text: string): string {
  return text.replace(/[^\x20-\x7e]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

export function toHex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}

export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
