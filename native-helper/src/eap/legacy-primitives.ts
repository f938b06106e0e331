/**
 * The two legacy primitives EAP-MSCHAPv2 (RFC 2759) is built on, which
 * Node's OpenSSL 3 no longer offers directly (LAB.md: MD4 and DES live in
 * its unloaded legacy provider):
 *
 *  - MD4 (RFC 1320) from hash-wasm, a maintained library whose WebAssembly
 *    is compiled from reference C code and ships inside the npm package;
 *    checked against the RFC 1320 §A.5 suite in test/unit/eap.
 *  - single DES (FIPS 46-3) from node:crypto itself: three-key
 *    triple-DES (EDE) with K1 = K2 = K3 computes E(K, D(K, E(K, x))) =
 *    E(K, x), i.e. single DES (SP 800-67 §3.2 keying option 3 is exactly
 *    this backwards-compatible case). Checked against FIPS 81 / RFC 2759
 *    vectors. Only used on one 8-octet block at a time (ECB, no padding).
 *
 * hash-wasm instantiates its WebAssembly asynchronously, once, at module
 * load (top-level await); after that every MD4 is synchronous, as the
 * sans-I/O engine needs.
 */
import { createCipheriv } from 'node:crypto';

import { createMD4 } from 'hash-wasm';

const md4Hasher = await createMD4();

/** MD4 of `data` (16 octets). */
export function md4(data: Uint8Array): Uint8Array {
  md4Hasher.init();
  md4Hasher.update(data);
  return md4Hasher.digest('binary');
}

/**
 * RFC 2759 §8.6 DesEncrypt: a 7-octet key, expanded to the 8-octet DES key
 * by inserting a parity bit after every 7 bits (the parity value itself is
 * ignored by DES), then one ECB block.
 */
export function desEncrypt7(clear: Uint8Array, key7: Uint8Array): Uint8Array {
  if (clear.length !== 8) throw new RangeError(`DES block must be 8 octets, got ${clear.length}`);
  if (key7.length !== 7) throw new RangeError(`DES key material must be 7 octets, got ${key7.length}`);
  const k = new Uint8Array(8);
  // Take the 56 key bits 7 at a time, most significant first, each into the top 7 bits of an octet.
  let bits = 0n;
  for (const b of key7) bits = (bits << 8n) | BigInt(b);
  for (let i = 0; i < 8; i++) k[i] = Number((bits >> BigInt(49 - 7 * i)) & 0x7fn) << 1;
  const key = Buffer.concat([k, k, k]);
  const c = createCipheriv('des-ede3', key, null);
  c.setAutoPadding(false);
  const out = Buffer.concat([c.update(clear), c.final()]);
  key.fill(0);
  k.fill(0);
  return new Uint8Array(out);
}
