/**
 * IKEv2 pseudo-random functions (RFC 7296 §2.13, RFC 4868 §2.1) and prf+.
 *
 * Only HMAC-based PRFs: the key is used whole (HMAC hashes keys longer than
 * its block size), and the preferred key length is the output length
 * (RFC 4868 §2.1.2: "the key length ... is equal to the output length").
 * PRF_HMAC_SHA1 exists for interop tests against old peers only; it is never
 * part of a default proposal.
 */
import { createHmac } from 'node:crypto';

import { PrfId } from '../constants.js';
import { asBytes, concatBytes, wipe } from './bytes.js';
import { UnsupportedAlgorithmError } from './errors.js';

export interface Prf {
  /** IKEv2 PRF transform id (RFC 7296 §3.3.2) */
  readonly id: number;
  /** strongSwan-style name for logs, e.g. "prfsha256" */
  readonly name: string;
  /** octets per output block */
  readonly outputLength: number;
  /** octets of the keys derived for this PRF (SK_d, SK_pi, SK_pr; RFC 7296 §2.14) */
  readonly preferredKeyLength: number;
  compute(key: Uint8Array, data: Uint8Array): Uint8Array;
}

interface HmacPrfSpec {
  readonly hash: string;
  readonly name: string;
  readonly outputLength: number;
}

const HMAC_PRFS: ReadonlyMap<number, HmacPrfSpec> = new Map([
  [PrfId.HMAC_SHA2_256, { hash: 'sha256', name: 'prfsha256', outputLength: 32 }],
  [PrfId.HMAC_SHA2_384, { hash: 'sha384', name: 'prfsha384', outputLength: 48 }],
  [PrfId.HMAC_SHA2_512, { hash: 'sha512', name: 'prfsha512', outputLength: 64 }],
  // RFC 2104 / RFC 7296: interop only, never offered by default (RFC 8247 §2.2: SHOULD NOT ... MUST- for new).
  [PrfId.HMAC_SHA1, { hash: 'sha1', name: 'prfsha1', outputLength: 20 }],
]);

/** The PRF ids `createPrf` accepts. */
export const SUPPORTED_PRFS: readonly number[] = [...HMAC_PRFS.keys()];

export function createPrf(id: number): Prf {
  const spec = HMAC_PRFS.get(id);
  if (spec === undefined) throw new UnsupportedAlgorithmError('PRF', id);
  return Object.freeze({
    id,
    name: spec.name,
    outputLength: spec.outputLength,
    preferredKeyLength: spec.outputLength,
    compute(key: Uint8Array, data: Uint8Array): Uint8Array {
      return asBytes(createHmac(spec.hash, key).update(data).digest());
    },
  });
}

/** RFC 7296 §2.13: the counter is one octet, so at most 255 blocks. */
export const PRF_PLUS_MAX_ITERATIONS = 255;

/**
 * prf+ (RFC 7296 §2.13):
 *   T1 = prf(K, S | 0x01), Tn = prf(K, Tn-1 | S | n), prf+ = T1 | T2 | ...
 * Returns exactly `length` octets. Throws RangeError when that needs more
 * than 255 iterations.
 */
export function prfPlus(prf: Prf, key: Uint8Array, seed: Uint8Array, length: number): Uint8Array {
  if (!Number.isInteger(length) || length < 0) throw new RangeError(`prf+ length must be a non-negative integer, got ${length}`);
  const iterations = Math.ceil(length / prf.outputLength);
  if (iterations > PRF_PLUS_MAX_ITERATIONS) {
    throw new RangeError(
      `prf+ cannot produce ${length} octets with ${prf.name}: ${iterations} iterations needed, at most ${PRF_PLUS_MAX_ITERATIONS} allowed (RFC 7296 §2.13)`,
    );
  }
  const out = new Uint8Array(iterations * prf.outputLength);
  let previous: Uint8Array = new Uint8Array(0);
  for (let n = 1; n <= iterations; n++) {
    const input = concatBytes(previous, seed, Uint8Array.of(n));
    const block = prf.compute(key, input);
    wipe(input, previous);
    out.set(block, (n - 1) * prf.outputLength);
    previous = block;
  }
  wipe(previous);
  if (out.length === length) return out;
  const result = out.slice(0, length);
  wipe(out);
  return result;
}
