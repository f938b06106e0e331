/**
 * MODP Diffie-Hellman groups 14–18 (RFC 3526), generator 2, through
 * OpenSSL (node:crypto). RFC 6989 §2.1: the peer's value must satisfy
 * 1 < y < p−1; the groups have safe primes, so with fresh exponents the
 * subgroup test (y^q = 1) is not required (RFC 6989 §2.2) and is skipped
 * for its cost.
 */
import { createDiffieHellman, getDiffieHellman } from 'node:crypto';
import type { DiffieHellman } from 'node:crypto';

import { KeId } from '../constants.js';
import { asBytes, leftPad } from './bytes.js';
import { KeyExchangeError } from './errors.js';
import type { KeyExchange } from './ke.js';

/** Node's names for the RFC 3526 primes */
const MODP_NAMES: ReadonlyMap<number, string> = new Map([
  [KeId.MODP_2048, 'modp14'],
  [KeId.MODP_3072, 'modp15'],
  [KeId.MODP_4096, 'modp16'],
  [KeId.MODP_6144, 'modp17'],
  [KeId.MODP_8192, 'modp18'],
]);

export const MODP_GROUPS: readonly number[] = [...MODP_NAMES.keys()];

interface ModpParams {
  readonly prime: Buffer;
  /** p − 1, for the RFC 6989 range check */
  readonly pMinus1: bigint;
}

const paramsCache = new Map<number, ModpParams>();

function params(group: number): ModpParams {
  let p = paramsCache.get(group);
  if (p === undefined) {
    const name = MODP_NAMES.get(group);
    if (name === undefined) throw new RangeError(`not a MODP group: ${group}`);
    const prime = getDiffieHellman(name).getPrime();
    p = { prime, pMinus1: toBigInt(prime) - 1n };
    paramsCache.set(group, p);
  }
  return p;
}

function toBigInt(bytes: Uint8Array): bigint {
  return bytes.length === 0 ? 0n : BigInt(`0x${Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString('hex')}`);
}

export function createModpKeyExchange(group: number, privateKey: Uint8Array | undefined): KeyExchange {
  const { prime, pMinus1 } = params(group);
  const length = prime.length;
  const dh: DiffieHellman = createDiffieHellman(prime, 2);
  if (privateKey !== undefined) {
    const x = toBigInt(privateKey);
    if (privateKey.length > length || x < 2n || x >= pMinus1) throw new RangeError('MODP private value out of range');
    dh.setPrivateKey(Buffer.from(privateKey));
  }
  // With a private value set, OpenSSL derives only the public value from it.
  const publicValue = leftPad(asBytes(dh.generateKeys()), length);
  return Object.freeze({
    group,
    publicValue,
    computeSharedSecret(peerValue: Uint8Array): Uint8Array {
      // RFC 7296 §3.4: the value is padded with zeros to the length of the modulus.
      if (peerValue.length !== length) {
        throw new KeyExchangeError(group, 'WRONG_LENGTH', `expected ${length} octets, got ${peerValue.length}`);
      }
      const y = toBigInt(peerValue);
      if (y <= 1n || y >= pMinus1) throw new KeyExchangeError(group, 'OUT_OF_RANGE', 'value is 0, 1, p-1 or not below p (RFC 6989 §2.1)');
      let secret: Buffer;
      try {
        secret = dh.computeSecret(Buffer.from(peerValue));
      } catch {
        throw new KeyExchangeError(group, 'REJECTED', 'OpenSSL refused the value');
      }
      // RFC 7296 §2.14: g^ir has the length of the modulus.
      return leftPad(asBytes(secret), length);
    },
  });
}
