/**
 * Curve25519 and Curve448 (RFC 8031, X25519/X448 of RFC 7748) through
 * OpenSSL (node:crypto). KE data is the raw 32/56-octet u-coordinate
 * (RFC 8031 §2); the shared secret is the raw X25519/X448 output. RFC 8031
 * §2.3: an all-zero result (the peer sent a low-order point) MUST be
 * refused. OpenSSL already refuses it; the explicit check below makes the
 * rule independent of that.
 */
import { createPrivateKey, createPublicKey, diffieHellman, generateKeyPairSync } from 'node:crypto';
import type { KeyObject } from 'node:crypto';

import { KeId } from '../constants.js';
import { asBytes, concatBytes } from './bytes.js';
import { KeyExchangeError } from './errors.js';
import type { KeyExchange } from './ke.js';

interface MontgomeryCurve {
  readonly type: 'x25519' | 'x448';
  readonly length: number;
  /** DER SubjectPublicKeyInfo up to the key bits (RFC 8410 §4) */
  readonly spkiPrefix: Uint8Array;
  /** DER PKCS#8 PrivateKeyInfo up to the key octets (RFC 8410 §7) */
  readonly pkcs8Prefix: Uint8Array;
}

const fromHex = (h: string): Uint8Array => Uint8Array.from(Buffer.from(h, 'hex'));

const CURVES: ReadonlyMap<number, MontgomeryCurve> = new Map([
  [
    KeId.CURVE25519,
    { type: 'x25519', length: 32, spkiPrefix: fromHex('302a300506032b656e032100'), pkcs8Prefix: fromHex('302e020100300506032b656e04220420') },
  ],
  [
    KeId.CURVE448,
    { type: 'x448', length: 56, spkiPrefix: fromHex('3042300506032b656f033900'), pkcs8Prefix: fromHex('3046020100300506032b656f043a0438') },
  ],
]);

export const MONTGOMERY_GROUPS: readonly number[] = [...CURVES.keys()];

function rawPublic(key: KeyObject, curve: MontgomeryCurve): Uint8Array {
  const der = asBytes(key.export({ format: 'der', type: 'spki' }));
  const prefix = der.subarray(0, curve.spkiPrefix.length);
  if (der.length !== curve.spkiPrefix.length + curve.length || !prefix.every((b, i) => b === curve.spkiPrefix[i])) {
    throw new Error(`unexpected ${curve.type} public key encoding`);
  }
  return der.slice(curve.spkiPrefix.length);
}

export function createMontgomeryKeyExchange(group: number, privateValue: Uint8Array | undefined): KeyExchange {
  const curve = CURVES.get(group);
  if (curve === undefined) throw new RangeError(`not a Montgomery-curve group: ${group}`);
  let privateKey: KeyObject;
  if (privateValue === undefined) {
    privateKey = curve.type === 'x25519' ? generateKeyPairSync('x25519').privateKey : generateKeyPairSync('x448').privateKey;
  } else {
    if (privateValue.length !== curve.length) throw new RangeError(`${curve.type} private value must be ${curve.length} octets`);
    privateKey = createPrivateKey({ key: Buffer.from(concatBytes(curve.pkcs8Prefix, privateValue)), format: 'der', type: 'pkcs8' });
  }
  const publicValue = rawPublic(createPublicKey(privateKey), curve);
  return Object.freeze({
    group,
    publicValue,
    computeSharedSecret(peerValue: Uint8Array): Uint8Array {
      if (peerValue.length !== curve.length) {
        throw new KeyExchangeError(group, 'WRONG_LENGTH', `expected ${curve.length} octets, got ${peerValue.length}`);
      }
      let publicKey: KeyObject;
      try {
        publicKey = createPublicKey({ key: Buffer.from(concatBytes(curve.spkiPrefix, peerValue)), format: 'der', type: 'spki' });
      } catch {
        throw new KeyExchangeError(group, 'REJECTED', 'OpenSSL refused the value');
      }
      let secret: Uint8Array;
      try {
        secret = asBytes(diffieHellman({ privateKey, publicKey }));
      } catch {
        // OpenSSL's X25519/X448 derive fails only when the result is all zero.
        throw new KeyExchangeError(group, 'ZERO_SHARED_SECRET', 'low-order point: the shared secret is all zero (RFC 8031 §2.3)');
      }
      let acc = 0;
      for (const b of secret) acc |= b;
      if (acc === 0) throw new KeyExchangeError(group, 'ZERO_SHARED_SECRET', 'low-order point: the shared secret is all zero (RFC 8031 §2.3)');
      return secret;
    },
  });
}
