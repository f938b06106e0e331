/** Test helpers: strict hex (whitespace allowed between octets) to bytes and back. */
export function hex(s: string): Uint8Array {
  const clean = s.replace(/\s+/g, '');
  if (!/^(?:[0-9a-f]{2})*$/i.test(clean)) throw new Error(`bad hex: ${s}`);
  return Uint8Array.from(Buffer.from(clean, 'hex'));
}

export function toHex(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.length).toString('hex');
}

/** `n` copies of one octet, as hex. */
export const rep = (octet: string, n: number): string => octet.repeat(n);

export const ascii = (s: string): Uint8Array => new TextEncoder().encode(s);
