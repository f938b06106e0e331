/**
 * Key exchange methods (RFC 7296 §3.4, transform type 4). One object per
 * exchange: it holds our private value, exposes the KE payload data we send
 * and turns the peer's KE data into the shared secret g^ir. Peer values
 * are checked as RFC 6989 requires before they are used.
 *
 *   MODP 14–18   RFC 3526     KE data and g^ir: the modulus length, big-endian, zero-padded
 *   ECP 19/20/21 RFC 5903     KE data: x | y (fixed length, no 0x04); g^ir: x
 *   Curve25519/448 (31/32) RFC 8031  raw 32/56-octet u-coordinates; an all-zero g^ir is refused
 *
 * Private values come from OpenSSL's generator. `opts.privateKey` fixes
 * the private value and exists for known-answer tests only.
 */
import { KeId } from '../constants.js';
import { UnsupportedAlgorithmError } from './errors.js';
import { createEcpKeyExchange, ECP_GROUPS } from './ke-ecp.js';
import { createModpKeyExchange, MODP_GROUPS } from './ke-modp.js';
import { createMontgomeryKeyExchange, MONTGOMERY_GROUPS } from './ke-montgomery.js';

export interface KeyExchange {
  /** the KE transform id (Diffie-Hellman group number) */
  readonly group: number;
  /** our KE payload data */
  readonly publicValue: Uint8Array;
  /**
   * g^ir from the peer's KE payload data. Throws KeyExchangeError (naming
   * the group, never the values) when the peer value is invalid (RFC 6989).
   */
  computeSharedSecret(peerValue: Uint8Array): Uint8Array;
}

export interface KeyExchangeOptions {
  /** a fixed private value (big-endian for MODP/ECP, RFC 7748 scalar bytes for Curve25519/448); tests only */
  readonly privateKey?: Uint8Array;
}

/** Every group `createKeyExchange` accepts, in no particular preference. */
export const SUPPORTED_KE_GROUPS: readonly number[] = [...MODP_GROUPS, ...ECP_GROUPS, ...MONTGOMERY_GROUPS];

export function createKeyExchange(group: number, opts: KeyExchangeOptions = {}): KeyExchange {
  if (MODP_GROUPS.includes(group)) return createModpKeyExchange(group, opts.privateKey);
  if (ECP_GROUPS.includes(group)) return createEcpKeyExchange(group, opts.privateKey);
  if (MONTGOMERY_GROUPS.includes(group)) return createMontgomeryKeyExchange(group, opts.privateKey);
  throw new UnsupportedAlgorithmError('KE', group, group >= KeId.ML_KEM_512 && group <= KeId.ML_KEM_1024 ? 'ML-KEM is not implemented here' : undefined);
}
