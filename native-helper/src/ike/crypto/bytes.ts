/** Small byte helpers shared by the crypto modules (no cryptography here). */
import { timingSafeEqual } from 'node:crypto';

export function concatBytes(...parts: readonly Uint8Array[]): Uint8Array {
  let length = 0;
  for (const p of parts) length += p.length;
  const out = new Uint8Array(length);
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.length;
  }
  return out;
}

/**
 * Compares two byte strings in time independent of their contents (for
 * ICVs and AUTH data). Lengths are public (they come off the wire), so a
 * length mismatch returns false at once.
 */
export function constantTimeEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  return timingSafeEqual(a, b);
}

/** Overwrites key material that is no longer needed. Best effort: JS may hold copies. */
export function wipe(...buffers: readonly Uint8Array[]): void {
  for (const b of buffers) b.fill(0);
}

/** Left-pads a big-endian integer to `length` octets (RFC 7296 §3.4 / §2.14: fixed-length DH values). */
export function leftPad(value: Uint8Array, length: number): Uint8Array {
  if (value.length === length) return value;
  if (value.length > length) throw new RangeError(`value of ${value.length} octets does not fit in ${length}`);
  const out = new Uint8Array(length);
  out.set(value, length - value.length);
  return out;
}

/** A Uint8Array view of a Node Buffer without copying. */
export function asBytes(b: Buffer): Uint8Array {
  return new Uint8Array(b.buffer, b.byteOffset, b.length);
}
