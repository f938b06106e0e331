/** Test helpers: hex (whitespace allowed) to bytes and back, ASCII, repetition. */
export function hex(s: string): Uint8Array {
  const clean = s.replace(/\s+/g, '');
  if (!/^(?:[0-9a-f]{2})*$/i.test(clean)) throw new Error(`bad hex: ${s.slice(0, 40)}`);
  return Uint8Array.from(Buffer.from(clean, 'hex'));
}

export function toHex(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.length).toString('hex');
}

export const ascii = (s: string): Uint8Array => new TextEncoder().encode(s);

/** `n` copies of one octet */
export const fill = (octet: number, n: number): Uint8Array => new Uint8Array(n).fill(octet);

export function concat(...parts: readonly Uint8Array[]): Uint8Array {
  return Uint8Array.from(Buffer.concat(parts.map((p) => Buffer.from(p.buffer, p.byteOffset, p.length))));
}

/** A copy of `b` with bit `bit` (0 = MSB of octet 0) flipped. */
export function flipBit(b: Uint8Array, bit: number): Uint8Array {
  const out = Uint8Array.from(b);
  const i = Math.floor(bit / 8);
  out[i] = (out[i] as number) ^ (0x80 >> bit % 8);
  return out;
}
