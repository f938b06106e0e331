/**
 * Padding inside the Encrypted payload (RFC 7296 §3.14): the inner payloads
 * are followed by Padding and a one-octet Pad Length so that the total is a
 * multiple of the cipher's block size (1 for the AEAD ciphers, RFC 5282 §3,
 * RFC 7634 §2).
 */

/**
 * Appends Padding (zeros; RFC 7296 §3.14 lets the sender choose the value)
 * and the Pad Length octet. `extraBlocks` adds whole blocks of padding to
 * hide the length (at most what fits in the 255 Pad Length).
 */
export function padSkPlaintext(inner: Uint8Array, blockSize: number, extraBlocks = 0): Uint8Array {
  if (!Number.isInteger(blockSize) || blockSize < 1 || blockSize > 256) throw new RangeError(`bad block size ${blockSize}`);
  const minimal = (blockSize - ((inner.length + 1) % blockSize)) % blockSize;
  const padLength = minimal + extraBlocks * blockSize;
  if (!Number.isInteger(extraBlocks) || extraBlocks < 0 || padLength > 255) throw new RangeError(`padding of ${padLength} octets does not fit the Pad Length octet`);
  const out = new Uint8Array(inner.length + padLength + 1);
  out.set(inner, 0);
  out[out.length - 1] = padLength;
  return out;
}

/**
 * Strips Padding and Pad Length. Returns null when the Pad Length claims more
 * octets than there are (a decrypted but malformed payload, RFC 7296 §2.21).
 * The padding's contents are not checked (§3.14: any value).
 */
export function unpadSkPlaintext(padded: Uint8Array): Uint8Array | null {
  const last = padded.length - 1;
  if (last < 0) return null;
  const padLength = padded[last] as number;
  if (padLength > last) return null;
  return padded.subarray(0, last - padLength);
}
