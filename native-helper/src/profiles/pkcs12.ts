/**
 * PKCS#12 (RFC 7292) client identities: a private key, its certificate and
 * the chain, protected by a password. Decoded with pkijs (structure, PBES2
 * and the HMAC integrity check) and node:crypto (keys, 3DES PBE via
 * pkijs-engine.ts). The password is used in memory only; errors never
 * contain it.
 */
import { createPrivateKey, X509Certificate, type KeyObject } from 'node:crypto';

import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';

import { certificateToPem, describeKeyType, keyTypeOf, privateKeyToPkcs8Pem, type KeyType } from './certificates.js';
import { ensurePkijsEngine, Pkcs12DecryptError, toArrayBuffer, UnsupportedPkcs12CipherError } from './pkijs-engine.js';

export type Pkcs12ErrorCode = 'BAD_PASSWORD' | 'UNSUPPORTED' | 'MALFORMED' | 'NO_KEY' | 'NO_CERTIFICATE';

export class Pkcs12Error extends Error {
  override readonly name = 'Pkcs12Error';
  constructor(
    readonly code: Pkcs12ErrorCode,
    message: string,
  ) {
    super(message);
  }
}

export interface Pkcs12Identity {
  readonly privateKey: KeyObject;
  /** Unencrypted PKCS#8 PEM — for the keychain or the connect request only. */
  readonly privateKeyPem: string;
  /** The certificate whose public key matches the private key. */
  readonly certificate: X509Certificate;
  readonly certificatePem: string;
  /** The other certificates in the file (intermediates, often the root). */
  readonly chain: X509Certificate[];
  readonly chainPem: string[];
  readonly keyType: KeyType;
}

const MAX_PKCS12_BYTES = 256 * 1024;
const MAX_BAGS = 64;

const OID_KEY_BAG = '1.2.840.113549.1.12.10.1.1';
const OID_SHROUDED_KEY_BAG = '1.2.840.113549.1.12.10.1.2';
const OID_CERT_BAG = '1.2.840.113549.1.12.10.1.3';
const OID_X509_CERT = '1.2.840.113549.1.9.22.1';

const mapError = (error: unknown, what: string): Pkcs12Error => {
  if (error instanceof Pkcs12Error) return error;
  if (error instanceof UnsupportedPkcs12CipherError) return new Pkcs12Error('UNSUPPORTED', error.message);
  if (error instanceof Pkcs12DecryptError) return new Pkcs12Error('BAD_PASSWORD', 'the PKCS#12 password is wrong');
  const text = error instanceof Error ? error.message : String(error);
  if (/integrity|mac/iu.test(text)) return new Pkcs12Error('BAD_PASSWORD', 'the PKCS#12 password is wrong (integrity check failed)');
  if (/Unknown "contentEncryptionAlgorithm"|Unsupported|not supported/iu.test(text)) return new Pkcs12Error('UNSUPPORTED', `unsupported PKCS#12 encryption: ${text}`);
  return new Pkcs12Error('MALFORMED', `${what}: ${text}`);
};

/** Decodes and decrypts a PKCS#12 file. Throws Pkcs12Error. */
export async function decodePkcs12(bytes: Uint8Array, password: string): Promise<Pkcs12Identity> {
  ensurePkijsEngine();
  if (bytes.length === 0 || bytes.length > MAX_PKCS12_BYTES) throw new Pkcs12Error('MALFORMED', `a PKCS#12 file must be 1 byte to ${MAX_PKCS12_BYTES} bytes`);
  // asn1js throws plain Errors on some malformed primitives (a GeneralizedTime that is not a time): map them.
  let asn1: ReturnType<typeof asn1js.fromBER>;
  try {
    asn1 = asn1js.fromBER(toArrayBuffer(bytes));
  } catch (error) {
    throw mapError(error, 'not a PKCS#12 file (bad DER)');
  }
  if (asn1.offset === -1 || asn1.offset !== bytes.length) throw new Pkcs12Error('MALFORMED', 'not a PKCS#12 file (bad DER)');
  const passwordBuffer = toArrayBuffer(new TextEncoder().encode(password));
  let pfx: pkijs.PFX;
  try {
    pfx = new pkijs.PFX({ schema: asn1.result });
  } catch (error) {
    throw mapError(error, 'not a PKCS#12 file');
  }
  const keys: KeyObject[] = [];
  const certs: X509Certificate[] = [];
  try {
    // RFC 7292 §4: the MAC over the AuthenticatedSafe, keyed from the password. A wrong password fails here first.
    await pfx.parseInternalValues({ password: passwordBuffer, checkIntegrity: pfx.macData !== undefined });
    const safe = pfx.parsedValue?.authenticatedSafe;
    if (safe === undefined) throw new Pkcs12Error('MALFORMED', 'PKCS#12 has no AuthenticatedSafe (public-key integrity mode is not supported)');
    await safe.parseInternalValues({ safeContents: safe.safeContents.map(() => ({ password: passwordBuffer })) });
    let bagCount = 0;
    for (const contents of safe.parsedValue?.safeContents ?? []) {
      for (const bag of contents.value.safeBags) {
        if (++bagCount > MAX_BAGS) throw new Pkcs12Error('MALFORMED', `more than ${MAX_BAGS} bags`);
        if (bag.bagId === OID_SHROUDED_KEY_BAG && bag.bagValue instanceof pkijs.PKCS8ShroudedKeyBag) {
          await bag.bagValue.parseInternalValues({ password: passwordBuffer });
          const info = bag.bagValue.parsedValue;
          if (info === undefined) throw new Pkcs12Error('MALFORMED', 'empty key bag');
          keys.push(createPrivateKey({ key: Buffer.from(info.toSchema().toBER(false)), format: 'der', type: 'pkcs8' }));
        } else if (bag.bagId === OID_KEY_BAG && bag.bagValue instanceof pkijs.PrivateKeyInfo) {
          keys.push(createPrivateKey({ key: Buffer.from(bag.bagValue.toSchema().toBER(false)), format: 'der', type: 'pkcs8' }));
        } else if (bag.bagId === OID_CERT_BAG && bag.bagValue instanceof pkijs.CertBag && bag.bagValue.certId === OID_X509_CERT) {
          const value: unknown = bag.bagValue.parsedValue;
          if (value instanceof pkijs.Certificate) certs.push(new X509Certificate(Buffer.from(value.toSchema().toBER(false))));
        }
        // CRL and secret bags carry nothing an IKE client uses.
      }
    }
  } catch (error) {
    throw mapError(error, 'cannot read the PKCS#12 contents');
  }
  if (keys.length === 0) throw new Pkcs12Error('NO_KEY', 'the PKCS#12 file holds no private key');
  if (keys.length > 1) throw new Pkcs12Error('MALFORMED', 'the PKCS#12 file holds more than one private key; export one identity per file');
  const privateKey = keys[0] as KeyObject;
  const certificate = certs.find((c) => c.checkPrivateKey(privateKey));
  if (certificate === undefined) throw new Pkcs12Error('NO_CERTIFICATE', 'the PKCS#12 file holds no certificate for its private key');
  const chain = certs.filter((c) => c !== certificate);
  const keyType = keyTypeOf(privateKey);
  if (keyType.kind === 'unsupported') throw new Pkcs12Error('UNSUPPORTED', `key type ${describeKeyType(keyType)} is not supported (use RSA ≥ 2048 or ECDSA P-256/P-384/P-521)`);
  return {
    privateKey,
    privateKeyPem: privateKeyToPkcs8Pem(privateKey),
    certificate,
    certificatePem: certificateToPem(certificate),
    chain,
    chainPem: chain.map(certificateToPem),
    keyType,
  };
}
