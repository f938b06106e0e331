/**
 * pkijs on Node's WebCrypto (OpenSSL 3), plus the one PKCS#12 cipher family
 * pkijs leaves out: the RFC 7292 Appendix C password-based encryption with
 * 3DES (pbeWithSHAAnd3-KeyTripleDES-CBC). Apple only accepts PKCS#12 in that
 * legacy form (FEATURES.md b2), so .mobileconfig identities use it. The
 * cipher is node:crypto's des-ede3-cbc; the key derivation is RFC 7292
 * Appendix B.2, a composition of SHA-1 like prf+.
 *
 * RC2-40 (openssl's old `-legacy` default for certificate bags) is disabled
 * in OpenSSL 3's default provider; we report it instead of guessing.
 */
import { createDecipheriv, createHash, webcrypto } from 'node:crypto';

import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';

const PBE_SHA1_3DES_3KEY = '1.2.840.113549.1.12.1.3';
const PBE_SHA1_3DES_2KEY = '1.2.840.113549.1.12.1.4';
const PBE_SHA1_RC2_128 = '1.2.840.113549.1.12.1.5';
const PBE_SHA1_RC2_40 = '1.2.840.113549.1.12.1.6';
const PBE_SHA1_RC4_128 = '1.2.840.113549.1.12.1.1';
const PBE_SHA1_RC4_40 = '1.2.840.113549.1.12.1.2';

/** A PKCS#12 uses a cipher this platform cannot run. */
export class UnsupportedPkcs12CipherError extends Error {
  override readonly name = 'UnsupportedPkcs12CipherError';
}

/** The password did not decrypt the data (bad padding). */
export class Pkcs12DecryptError extends Error {
  override readonly name = 'Pkcs12DecryptError';
}

/** BMPString (UTF-16BE) with two zero octets, RFC 7292 Appendix B.1. */
function bmpPassword(password: string): Uint8Array {
  const out = new Uint8Array(password.length * 2 + 2);
  for (let i = 0; i < password.length; i++) {
    const unit = password.charCodeAt(i);
    out[i * 2] = unit >> 8;
    out[i * 2 + 1] = unit & 0xff;
  }
  return out;
}

const repeatTo = (src: Uint8Array, length: number): Uint8Array => {
  const out = new Uint8Array(length);
  if (src.length > 0) for (let i = 0; i < length; i++) out[i] = src[i % src.length] as number;
  return out;
};

/**
 * RFC 7292 Appendix B.2 with SHA-1 (u = 20, v = 64). `id` is 1 for key
 * material, 2 for the IV, 3 for the MAC key.
 */
export function pkcs12Kdf(password: string, salt: Uint8Array, iterations: number, id: 1 | 2 | 3, length: number): Uint8Array {
  const u = 20;
  const v = 64;
  const D = new Uint8Array(v).fill(id);
  const S = repeatTo(salt, v * Math.ceil(salt.length / v));
  const pw = password.length === 0 ? new Uint8Array(0) : bmpPassword(password);
  const P = repeatTo(pw, v * Math.ceil(pw.length / v));
  const I = new Uint8Array(S.length + P.length);
  I.set(S);
  I.set(P, S.length);
  const out = new Uint8Array(length);
  const c = Math.ceil(length / u);
  for (let i = 0; i < c; i++) {
    let A: Uint8Array = createHash('sha1').update(D).update(I).digest();
    for (let r = 1; r < iterations; r++) A = createHash('sha1').update(A).digest();
    out.set(A.subarray(0, Math.min(u, length - i * u)), i * u);
    if (i === c - 1) break;
    // I_j = (I_j + B + 1) mod 2^(8v) for every v-octet block of I (step 6C).
    const B = repeatTo(A, v);
    for (let j = 0; j < I.length; j += v) {
      let carry = 1;
      for (let k = v - 1; k >= 0; k--) {
        const sum = (I[j + k] as number) + (B[k] as number) + carry;
        I[j + k] = sum & 0xff;
        carry = sum >> 8;
      }
    }
  }
  return out;
}

const MAX_PBE_ITERATIONS = 10_000_000;

class StraitCryptoEngine extends pkijs.CryptoEngine {
  override async decryptEncryptedContentInfo(parameters: pkijs.CryptoEngineDecryptParams): Promise<ArrayBuffer> {
    const algorithm = parameters.encryptedContentInfo.contentEncryptionAlgorithm;
    const oid = algorithm.algorithmId;
    if (oid === PBE_SHA1_RC2_40 || oid === PBE_SHA1_RC2_128 || oid === PBE_SHA1_RC4_40 || oid === PBE_SHA1_RC4_128) {
      throw new UnsupportedPkcs12CipherError(
        'the PKCS#12 file uses RC2/RC4 encryption, which OpenSSL 3 disables; re-export it with AES (openssl pkcs12 -export -certpbe AES-256-CBC -keypbe AES-256-CBC) or 3DES (-certpbe PBE-SHA1-3DES -keypbe PBE-SHA1-3DES)',
      );
    }
    if (oid !== PBE_SHA1_3DES_3KEY && oid !== PBE_SHA1_3DES_2KEY) {
      try {
        return await super.decryptEncryptedContentInfo(parameters);
      } catch (error) {
        // WebCrypto reports a wrong password as a padding failure ("OperationError").
        if (error instanceof Error && (error.name === 'OperationError' || /decrypt/iu.test(error.message))) throw new Pkcs12DecryptError('decryption failed');
        throw error;
      }
    }
    // pkcs-12PbeParams ::= SEQUENCE { salt OCTET STRING, iterations INTEGER } (RFC 7292 Appendix C)
    const params: unknown = algorithm.algorithmParams;
    if (!(params instanceof asn1js.Sequence) || params.valueBlock.value.length !== 2) throw new Pkcs12DecryptError('malformed PBE parameters');
    const [saltNode, iterNode] = params.valueBlock.value;
    if (!(saltNode instanceof asn1js.OctetString) || !(iterNode instanceof asn1js.Integer)) throw new Pkcs12DecryptError('malformed PBE parameters');
    const iterations = iterNode.valueBlock.valueDec;
    if (!Number.isSafeInteger(iterations) || iterations < 1 || iterations > MAX_PBE_ITERATIONS) throw new Pkcs12DecryptError('PBE iteration count out of range');
    const salt = new Uint8Array(saltNode.valueBlock.valueHexView);
    const password = new TextDecoder().decode(parameters.password);
    const threeKey = oid === PBE_SHA1_3DES_3KEY;
    const key = pkcs12Kdf(password, salt, iterations, 1, threeKey ? 24 : 16);
    const iv = pkcs12Kdf(password, salt, iterations, 2, 8);
    try {
      const decipher = createDecipheriv(threeKey ? 'des-ede3-cbc' : 'des-ede-cbc', key, iv);
      const plain = Buffer.concat([decipher.update(new Uint8Array(parameters.encryptedContentInfo.getEncryptedContent())), decipher.final()]);
      return plain.buffer.slice(plain.byteOffset, plain.byteOffset + plain.byteLength);
    } catch {
      throw new Pkcs12DecryptError('decryption failed');
    }
  }
}

let installed = false;

/** Installs the engine for pkijs (idempotent). Every pkijs user in this folder calls it first. */
export function ensurePkijsEngine(): void {
  if (installed) return;
  pkijs.setEngine('strait-node', new StraitCryptoEngine({ name: 'strait-node', crypto: webcrypto as unknown as pkijs.CryptoEngineParameters['crypto'] }));
  installed = true;
}

/** A copy of the bytes as a standalone ArrayBuffer (pkijs/asn1js want ArrayBuffer, not a view). */
export const toArrayBuffer = (bytes: Uint8Array): ArrayBuffer => {
  const copy = new Uint8Array(bytes.length);
  copy.set(bytes);
  return copy.buffer;
};
