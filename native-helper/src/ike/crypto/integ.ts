/**
 * IKEv2/ESP integrity algorithms (RFC 7296 §3.3.2, RFC 4868 §2): HMAC-SHA-2
 * truncated to half the hash output. The key length equals the hash output
 * length (RFC 4868 §2.1.1).
 */
import { createHmac } from 'node:crypto';

import { IntegId } from '../constants.js';
import { asBytes, constantTimeEqual } from './bytes.js';
import { UnsupportedAlgorithmError } from './errors.js';

export interface Integ {
  /** IKEv2 INTEG transform id */
  readonly id: number;
  /** strongSwan-style name for logs, e.g. "sha256" (= HMAC-SHA-256-128) */
  readonly name: string;
  /** octets of SK_a / the ESP integrity key */
  readonly keyLength: number;
  /** octets of the truncated ICV */
  readonly icvLength: number;
  /** the truncated ICV */
  compute(key: Uint8Array, data: Uint8Array): Uint8Array;
  /** constant-time check of a received ICV */
  verify(key: Uint8Array, data: Uint8Array, icv: Uint8Array): boolean;
}

interface HmacIntegSpec {
  readonly hash: string;
  readonly name: string;
  readonly keyLength: number;
  readonly icvLength: number;
}

const HMAC_INTEGS: ReadonlyMap<number, HmacIntegSpec> = new Map([
  [IntegId.HMAC_SHA2_256_128, { hash: 'sha256', name: 'sha256', keyLength: 32, icvLength: 16 }],
  [IntegId.HMAC_SHA2_384_192, { hash: 'sha384', name: 'sha384', keyLength: 48, icvLength: 24 }],
  [IntegId.HMAC_SHA2_512_256, { hash: 'sha512', name: 'sha512', keyLength: 64, icvLength: 32 }],
]);

export const SUPPORTED_INTEGS: readonly number[] = [...HMAC_INTEGS.keys()];

export function createInteg(id: number): Integ {
  const spec = HMAC_INTEGS.get(id);
  if (spec === undefined) throw new UnsupportedAlgorithmError('INTEG', id);
  const compute = (key: Uint8Array, data: Uint8Array): Uint8Array =>
    asBytes(createHmac(spec.hash, key).update(data).digest()).slice(0, spec.icvLength);
  return Object.freeze({
    id,
    name: spec.name,
    keyLength: spec.keyLength,
    icvLength: spec.icvLength,
    compute,
    verify(key: Uint8Array, data: Uint8Array, icv: Uint8Array): boolean {
      if (icv.length !== spec.icvLength) return false;
      return constantTimeEqual(compute(key, data), icv);
    },
  });
}
