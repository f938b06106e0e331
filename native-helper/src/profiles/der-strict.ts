/**
 * A strict X.690 DER structure check for untrusted input before any ASN.1
 * library sees it: definite lengths in minimal form, tags in the
 * single-octet or minimal multi-octet form, constructed values that are
 * exactly a sequence of TLVs, nothing after the outermost value, bounded
 * depth. A signed file that passes this and then verifies has only one
 * encoding: BER leniency cannot give a tampered file a second, "equivalent"
 * reading.
 */

export class DerStrictError extends Error {
  override readonly name = 'DerStrictError';
  constructor(
    message: string,
    readonly offset: number,
  ) {
    super(`${message} at offset ${offset}`);
  }
}

const MAX_DEPTH = 48;

/** Throws DerStrictError unless `bytes` is exactly one DER-encoded value. */
export function assertStrictDer(bytes: Uint8Array): void {
  const end = walk(bytes, 0, bytes.length, 0);
  if (end !== bytes.length) throw new DerStrictError('trailing data after the DER value', end);
}

function walk(bytes: Uint8Array, start: number, limit: number, depth: number): number {
  if (depth > MAX_DEPTH) throw new DerStrictError('nesting too deep', start);
  let pos = start;
  const byte = (): number => {
    if (pos >= limit) throw new DerStrictError('truncated', pos);
    return bytes[pos++] as number;
  };
  const tag = byte();
  const constructed = (tag & 0x20) !== 0;
  if ((tag & 0x1f) === 0x1f) {
    // High tag number form: base-128, no leading 0x80, and only for numbers ≥ 31 (X.690 §8.1.2.4).
    let first = true;
    let number = 0;
    for (;;) {
      const b = byte();
      if (first && b === 0x80) throw new DerStrictError('non-minimal tag', pos - 1);
      first = false;
      number = number * 128 + (b & 0x7f);
      if (number > 0x1fffff) throw new DerStrictError('tag number too large', pos - 1);
      if ((b & 0x80) === 0) break;
    }
    if (number < 31) throw new DerStrictError('non-minimal tag', pos - 1);
  }
  const first = byte();
  let length: number;
  if (first < 0x80) length = first;
  else if (first === 0x80) throw new DerStrictError('indefinite length (BER, not DER)', pos - 1);
  else {
    const count = first & 0x7f;
    if (count > 4) throw new DerStrictError('length too large', pos - 1);
    length = 0;
    for (let i = 0; i < count; i++) {
      const b = byte();
      if (i === 0 && b === 0) throw new DerStrictError('non-minimal length', pos - 1);
      length = length * 256 + b;
    }
    if (length < 0x80) throw new DerStrictError('non-minimal length', pos - 1);
  }
  // X.690 §10.2: DER encodes strings primitively; of the universal types only SEQUENCE and SET are constructed.
  if (constructed && (tag & 0xc0) === 0 && tag !== 0x30 && tag !== 0x31) throw new DerStrictError('constructed encoding of a universal type other than SEQUENCE/SET', start);
  const valueEnd = pos + length;
  if (valueEnd > limit) throw new DerStrictError('length exceeds the enclosing value', pos);
  if (constructed) {
    while (pos < valueEnd) pos = walk(bytes, pos, valueEnd, depth + 1);
  } else if (tag === 0x01 && (length !== 1 || (bytes[pos] !== 0x00 && bytes[pos] !== 0xff))) {
    throw new DerStrictError('BOOLEAN must be one octet 0x00 or 0xFF', pos);
  } else if (tag === 0x02 && length > 1 && ((bytes[pos] === 0x00 && ((bytes[pos + 1] as number) & 0x80) === 0) || (bytes[pos] === 0xff && ((bytes[pos + 1] as number) & 0x80) !== 0))) {
    throw new DerStrictError('non-minimal INTEGER', pos);
  } else if (tag === 0x02 && length === 0) {
    throw new DerStrictError('empty INTEGER', pos);
  } else if (tag === 0x03) {
    // X.690 §11.2: the unused-bits count is 0–7, 0 for an empty string, and the unused bits are zero.
    const unused = length === 0 ? -1 : (bytes[pos] as number);
    if (unused < 0 || unused > 7 || (length === 1 && unused !== 0)) throw new DerStrictError('bad BIT STRING', pos);
    if (unused > 0 && ((bytes[valueEnd - 1] as number) & ((1 << unused) - 1)) !== 0) throw new DerStrictError('BIT STRING unused bits are not zero', pos);
  }
  return valueEnd;
}
