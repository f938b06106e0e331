/**
 * The cipher that protects the Encrypted payload (SK, RFC 7296 §3.14) and
 * its fragments (SKF, RFC 7383):
 *   - ENCR_AES_CBC 128/256 with a separate HMAC-SHA-2 INTEG (RFC 3602, RFC 4868);
 *   - ENCR_AES_GCM_16 (and the _8/_12 ICV variants) 128/256 (RFC 5282, RFC 4106);
 *   - ENCR_CHACHA20_POLY1305 (RFC 7634).
 *
 * The caller hands over the octets exactly as they sit in the message:
 * `aad` is everything from the start of the IKE header up to the IV (header,
 * any unencrypted payloads, the SK payload's generic header); `iv` is the
 * Initialization Vector field; `plaintext` already carries the Padding and
 * Pad Length octet (see sk-padding.ts). The result of `seal` is
 * ciphertext || ICV, which is what follows the IV on the wire.
 *
 * Keys come from deriveIkeKeys (SK_e/SK_a). For AEAD, SK_e ends with the
 * 4-octet salt (RFC 5282 §7.1, RFC 7634 §3) and the nonce is salt || IV
 * (RFC 5282 §4, RFC 7634 §2).
 */
import { createCipheriv, createDecipheriv } from 'node:crypto';
import type { CipherChaCha20Poly1305, CipherGCM, CipherGCMTypes, DecipherChaCha20Poly1305, DecipherGCM } from 'node:crypto';

import { EncrId, IntegId } from '../constants.js';
import { asBytes, concatBytes } from './bytes.js';
import { UnsupportedAlgorithmError } from './errors.js';
import { createInteg } from './integ.js';
import type { Integ } from './integ.js';

export interface SkSealInput {
  readonly encKey: Uint8Array;
  readonly integKey?: Uint8Array;
  readonly iv: Uint8Array;
  readonly aad: Uint8Array;
  readonly plaintext: Uint8Array;
}

export interface SkOpenInput {
  readonly encKey: Uint8Array;
  readonly integKey?: Uint8Array;
  readonly iv: Uint8Array;
  readonly aad: Uint8Array;
  readonly ciphertextAndIcv: Uint8Array;
}

export interface SkCipher {
  /** strongSwan-style name for logs, e.g. "aes256gcm16" or "aes128-sha256" */
  readonly name: string;
  readonly aead: boolean;
  /** 16 for AES-CBC, 8 for GCM and ChaCha20-Poly1305 */
  readonly ivLength: number;
  /**
   * Alignment for plaintext || padding || pad-length octet: 16 for CBC, 1 for
   * the AEAD ciphers (RFC 5282 §3 and RFC 7634 §2 need no padding).
   */
  readonly blockSize: number;
  /** 16 for GCM-16/ChaCha20-Poly1305 (8/12 for GCM-8/12), the integ's ICV for CBC */
  readonly icvLength: number;
  /** octets of SK_e, including the 4-octet salt for AEAD */
  readonly encKeyLength: number;
  /** octets of SK_a; 0 for AEAD */
  readonly integKeyLength: number;
  /**
   * Returns ciphertext || ICV. AEAD: AAD = `aad`, nonce = salt || iv.
   * CBC: ICV = integ(integKey, aad || iv || ciphertext).
   * Throws RangeError for caller mistakes (wrong key or IV length, CBC
   * plaintext not a multiple of the block size).
   */
  seal(p: SkSealInput): Uint8Array;
  /**
   * Returns the plaintext (still padded) or null when the ICV does not
   * verify. Never throws because of what came off the wire (IV or
   * ciphertext of the wrong length, bad tag): those return null. A key of the
   * wrong length is a caller mistake and throws RangeError.
   */
  open(p: SkOpenInput): Uint8Array | null;
}

const AES_BLOCK = 16;
/** RFC 5282 §4, RFC 7634 §2: the explicit IV of the AEAD ciphers */
const AEAD_IV_LENGTH = 8;
/** RFC 5282 §7.1, RFC 7634 §3 */
const AEAD_SALT_LENGTH = 4;

function expectLength(what: string, value: Uint8Array | undefined, length: number): Uint8Array {
  if (value === undefined || value.length !== length) {
    throw new RangeError(`${what} must be ${length} octets, got ${value === undefined ? 'none' : value.length}`);
  }
  return value;
}

function aesKeyBits(encr: number, keyLengthBits: number | undefined): 128 | 256 {
  if (keyLengthBits === 128 || keyLengthBits === 256) return keyLengthBits;
  throw new UnsupportedAlgorithmError(
    'ENCR',
    encr,
    keyLengthBits === undefined ? 'a Key Length attribute (128 or 256) is required' : `key length ${keyLengthBits} bits (128 or 256 supported)`,
  );
}

function createAesCbc(keyBits: 128 | 256, integ: Integ): SkCipher {
  const keyLength = keyBits / 8;
  const algorithm = `aes-${keyBits}-cbc`;
  return Object.freeze({
    name: `aes${keyBits}-${integ.name}`,
    aead: false,
    ivLength: AES_BLOCK,
    blockSize: AES_BLOCK,
    icvLength: integ.icvLength,
    encKeyLength: keyLength,
    integKeyLength: integ.keyLength,
    seal(p: SkSealInput): Uint8Array {
      const encKey = expectLength('SK_e', p.encKey, keyLength);
      const integKey = expectLength('SK_a', p.integKey, integ.keyLength);
      const iv = expectLength('IV', p.iv, AES_BLOCK);
      if (p.plaintext.length === 0 || p.plaintext.length % AES_BLOCK !== 0) {
        throw new RangeError(`AES-CBC plaintext (with padding) must be a positive multiple of ${AES_BLOCK} octets, got ${p.plaintext.length}`);
      }
      // IKE pads itself (RFC 7296 §3.14); OpenSSL's PKCS#7 padding stays off.
      const cipher = createCipheriv(algorithm, encKey, iv).setAutoPadding(false);
      const ciphertext = asBytes(Buffer.concat([cipher.update(p.plaintext), cipher.final()]));
      const icv = integ.compute(integKey, concatBytes(p.aad, iv, ciphertext));
      return concatBytes(ciphertext, icv);
    },
    open(p: SkOpenInput): Uint8Array | null {
      const encKey = expectLength('SK_e', p.encKey, keyLength);
      const integKey = expectLength('SK_a', p.integKey, integ.keyLength);
      if (p.iv.length !== AES_BLOCK) return null;
      const ctLength = p.ciphertextAndIcv.length - integ.icvLength;
      if (ctLength <= 0 || ctLength % AES_BLOCK !== 0) return null;
      const ciphertext = p.ciphertextAndIcv.subarray(0, ctLength);
      const icv = p.ciphertextAndIcv.subarray(ctLength);
      // Encrypt-then-MAC (RFC 7296 §3.14): check the ICV before decrypting anything.
      if (!integ.verify(integKey, concatBytes(p.aad, p.iv, ciphertext), icv)) return null;
      try {
        const decipher = createDecipheriv(algorithm, encKey, p.iv).setAutoPadding(false);
        return asBytes(Buffer.concat([decipher.update(ciphertext), decipher.final()]));
      } catch {
        return null;
      }
    },
  });
}

interface AeadSpec {
  readonly name: string;
  readonly algorithm: CipherGCMTypes | 'chacha20-poly1305';
  readonly keyLength: number;
  readonly icvLength: number;
}

// Two branches because node's typings overload createCipheriv per algorithm family.
function aeadCipher(spec: AeadSpec, key: Uint8Array, nonce: Uint8Array): CipherGCM | CipherChaCha20Poly1305 {
  const options = { authTagLength: spec.icvLength };
  return spec.algorithm === 'chacha20-poly1305' ? createCipheriv(spec.algorithm, key, nonce, options) : createCipheriv(spec.algorithm, key, nonce, options);
}

function aeadDecipher(spec: AeadSpec, key: Uint8Array, nonce: Uint8Array): DecipherGCM | DecipherChaCha20Poly1305 {
  const options = { authTagLength: spec.icvLength };
  return spec.algorithm === 'chacha20-poly1305' ? createDecipheriv(spec.algorithm, key, nonce, options) : createDecipheriv(spec.algorithm, key, nonce, options);
}

function createAead(spec: AeadSpec): SkCipher {
  const encKeyLength = spec.keyLength + AEAD_SALT_LENGTH;
  const split = (encKeyIn: Uint8Array): { key: Uint8Array; salt: Uint8Array } => {
    const encKey = expectLength('SK_e', encKeyIn, encKeyLength);
    return { key: encKey.subarray(0, spec.keyLength), salt: encKey.subarray(spec.keyLength) };
  };
  return Object.freeze({
    name: spec.name,
    aead: true,
    ivLength: AEAD_IV_LENGTH,
    blockSize: 1,
    icvLength: spec.icvLength,
    encKeyLength,
    integKeyLength: 0,
    seal(p: SkSealInput): Uint8Array {
      const { key, salt } = split(p.encKey);
      const iv = expectLength('IV', p.iv, AEAD_IV_LENGTH);
      if (p.integKey !== undefined && p.integKey.length !== 0) throw new RangeError(`${spec.name} takes no SK_a`);
      const cipher = aeadCipher(spec, key, concatBytes(salt, iv));
      cipher.setAAD(p.aad, { plaintextLength: p.plaintext.length });
      const ciphertext = Buffer.concat([cipher.update(p.plaintext), cipher.final()]);
      return concatBytes(ciphertext, cipher.getAuthTag());
    },
    open(p: SkOpenInput): Uint8Array | null {
      const { key, salt } = split(p.encKey);
      if (p.iv.length !== AEAD_IV_LENGTH) return null;
      const ctLength = p.ciphertextAndIcv.length - spec.icvLength;
      if (ctLength < 0) return null;
      try {
        // OpenSSL compares the tag in constant time inside final().
        const decipher = aeadDecipher(spec, key, concatBytes(salt, p.iv));
        decipher.setAuthTag(p.ciphertextAndIcv.subarray(ctLength));
        decipher.setAAD(p.aad, { plaintextLength: ctLength });
        const plaintext = decipher.update(p.ciphertextAndIcv.subarray(0, ctLength));
        const rest = decipher.final();
        return asBytes(Buffer.concat([plaintext, rest]));
      } catch {
        return null;
      }
    },
  });
}

const GCM_ICV: ReadonlyMap<number, number> = new Map([
  [EncrId.AES_GCM_8, 8],
  [EncrId.AES_GCM_12, 12],
  [EncrId.AES_GCM_16, 16],
]);

function rejectInteg(encr: number, integ: number | undefined): void {
  // RFC 5282 §8 / RFC 7634 §4: AEAD proposals carry no integrity transform (or NONE).
  if (integ !== undefined && integ !== IntegId.NONE) {
    throw new UnsupportedAlgorithmError('INTEG', integ, `not allowed with the AEAD cipher ENCR ${encr}`);
  }
}

/** ENCR ids `createSkCipher` accepts (with a valid key length and integ). */
export const SUPPORTED_SK_ENCRS: readonly number[] = [EncrId.AES_CBC, EncrId.AES_GCM_8, EncrId.AES_GCM_12, EncrId.AES_GCM_16, EncrId.CHACHA20_POLY1305];

/**
 * The SK payload cipher for a negotiated ENCR (+ Key Length attribute in
 * bits) and INTEG. Throws UnsupportedAlgorithmError naming the transform
 * for anything else (unknown ids, AES-CBC without integ, AEAD with integ,
 * unsupported key lengths).
 */
export function createSkCipher(encr: number, keyLengthBits: number | undefined, integ: number | undefined): SkCipher {
  if (encr === EncrId.AES_CBC) {
    const bits = aesKeyBits(encr, keyLengthBits);
    if (integ === undefined || integ === IntegId.NONE) {
      throw new UnsupportedAlgorithmError('ENCR', encr, 'AES-CBC needs an integrity algorithm (RFC 7296 §3.3.3)');
    }
    return createAesCbc(bits, createInteg(integ));
  }
  const gcmIcv = GCM_ICV.get(encr);
  if (gcmIcv !== undefined) {
    const bits = aesKeyBits(encr, keyLengthBits);
    rejectInteg(encr, integ);
    const algorithm: CipherGCMTypes = bits === 128 ? 'aes-128-gcm' : 'aes-256-gcm';
    return createAead({ name: `aes${bits}gcm${gcmIcv}`, algorithm, keyLength: bits / 8, icvLength: gcmIcv });
  }
  if (encr === EncrId.CHACHA20_POLY1305) {
    // RFC 7634 §2: the transform has a fixed 256-bit key and carries no Key Length attribute.
    if (keyLengthBits !== undefined && keyLengthBits !== 256) {
      throw new UnsupportedAlgorithmError('ENCR', encr, `key length ${keyLengthBits} bits (only 256)`);
    }
    rejectInteg(encr, integ);
    return createAead({ name: 'chacha20poly1305', algorithm: 'chacha20-poly1305', keyLength: 32, icvLength: 16 });
  }
  throw new UnsupportedAlgorithmError('ENCR', encr);
}
