/**
 * Random ECP groups 19/20/21 (RFC 5903) through OpenSSL (node:crypto).
 * The KE data is x | y, each coordinate the field length (RFC 5903 §7); the
 * shared secret is the x coordinate of the product (§9). RFC 6989 §2.3: the
 * peer's point must lie on the curve and not be the point at infinity;
 * OpenSSL's point decoding refuses coordinates ≥ p and points off the curve,
 * and infinity has no x | y encoding. The cofactor is 1, so no subgroup test.
 */
import { createECDH } from 'node:crypto';

import { KeId } from '../constants.js';
import { asBytes, concatBytes, leftPad } from './bytes.js';
import { KeyExchangeError } from './errors.js';
import type { KeyExchange } from './ke.js';

interface Curve {
  /** OpenSSL's curve name */
  readonly name: string;
  /** octets per coordinate */
  readonly coordinateLength: number;
}

const CURVES: ReadonlyMap<number, Curve> = new Map([
  [KeId.ECP_256, { name: 'prime256v1', coordinateLength: 32 }],
  [KeId.ECP_384, { name: 'secp384r1', coordinateLength: 48 }],
  [KeId.ECP_521, { name: 'secp521r1', coordinateLength: 66 }],
]);

export const ECP_GROUPS: readonly number[] = [...CURVES.keys()];

/** SEC 1 §2.3.3: the uncompressed point marker OpenSSL wants in front of x | y */
const UNCOMPRESSED = Uint8Array.of(0x04);

export function createEcpKeyExchange(group: number, privateKey: Uint8Array | undefined): KeyExchange {
  const curve = CURVES.get(group);
  if (curve === undefined) throw new RangeError(`not an ECP group: ${group}`);
  const ecdh = createECDH(curve.name);
  let point: Uint8Array;
  if (privateKey === undefined) {
    point = asBytes(ecdh.generateKeys());
  } else {
    try {
      ecdh.setPrivateKey(Buffer.from(privateKey));
    } catch {
      throw new RangeError(`private value is not valid for ${curve.name}`);
    }
    point = asBytes(ecdh.getPublicKey());
  }
  const publicValue = point.slice(1);
  const valueLength = 2 * curve.coordinateLength;
  if (point[0] !== 0x04 || publicValue.length !== valueLength) throw new Error(`unexpected public point encoding for ${curve.name}`);
  return Object.freeze({
    group,
    publicValue,
    computeSharedSecret(peerValue: Uint8Array): Uint8Array {
      if (peerValue.length !== valueLength) {
        throw new KeyExchangeError(group, 'WRONG_LENGTH', `expected ${valueLength} octets (x | y), got ${peerValue.length}`);
      }
      let secret: Buffer;
      try {
        secret = ecdh.computeSecret(Buffer.from(concatBytes(UNCOMPRESSED, peerValue)));
      } catch {
        throw new KeyExchangeError(group, 'NOT_ON_CURVE', 'the point is not on the curve (RFC 6989 §2.3)');
      }
      return leftPad(asBytes(secret), curve.coordinateLength);
    },
  });
}
