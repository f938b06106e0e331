/**
 * The typed errors the crypto layer throws. Messages name the transform or
 * group and the offending length, never a key, a shared secret or any other
 * secret byte (DESIGN.md "Secrets").
 */
import { authMethodName, encrName, hashAlgorithmName, integName, keName, prfName } from '../constants.js';

/** Which IKEv2 transform type (RFC 7296 §3.3.2) or other algorithm family was asked for. */
export type AlgorithmKind = 'ENCR' | 'PRF' | 'INTEG' | 'KE' | 'AUTH' | 'HASH';

function describe(kind: AlgorithmKind, id: number): string {
  switch (kind) {
    case 'ENCR':
      return encrName(id);
    case 'PRF':
      return prfName(id);
    case 'INTEG':
      return integName(id);
    case 'KE':
      return keName(id);
    case 'AUTH':
      return authMethodName(id);
    case 'HASH':
      return hashAlgorithmName(id);
  }
}

/**
 * A transform id (or a combination, e.g. AES-CBC without an integrity
 * algorithm) that this implementation does not support. Thrown by the
 * factories (`createPrf`, `createSkCipher`, ...) so that proposal selection
 * can skip what we cannot do.
 */
export class UnsupportedAlgorithmError extends Error {
  override readonly name = 'UnsupportedAlgorithmError';
  /** e.g. "ENCR AES_CTR (13)" */
  readonly transform: string;
  constructor(
    readonly kind: AlgorithmKind,
    readonly id: number,
    detail?: string,
  ) {
    const transform = `${kind} ${describe(kind, id)} (${id})`;
    super(detail === undefined ? `unsupported ${transform}` : `unsupported ${transform}: ${detail}`);
    this.transform = transform;
  }
}

/** Why a peer's key exchange value was refused (RFC 6989). */
export type KeyExchangeErrorCode =
  /** the KE data does not have the length the group fixes (RFC 7296 §3.4, RFC 5903 §7, RFC 8031 §3) */
  | 'WRONG_LENGTH'
  /** MODP: y ≤ 1 or y ≥ p−1 (RFC 6989 §2.1) */
  | 'OUT_OF_RANGE'
  /** ECP: not a point on the curve, or a coordinate ≥ p (RFC 6989 §2.3) */
  | 'NOT_ON_CURVE'
  /** Curve25519/448: the shared secret is all zero, i.e. a low-order point (RFC 8031 §2.3, RFC 7748 §6) */
  | 'ZERO_SHARED_SECRET'
  /** the underlying library refused the value for another reason */
  | 'REJECTED';

export class KeyExchangeError extends Error {
  override readonly name = 'KeyExchangeError';
  /** e.g. "ECP_256 (19)" */
  readonly groupName: string;
  constructor(
    readonly group: number,
    readonly code: KeyExchangeErrorCode,
    detail: string,
  ) {
    const groupName = `${keName(group)} (${group})`;
    super(`invalid key exchange value for ${groupName}: ${detail}`);
    this.groupName = groupName;
  }
}
