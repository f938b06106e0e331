/**
 * Certificates as the user sees them at import: subject, issuer, SAN,
 * validity, key type and fingerprint, with a warning when one expires
 * within 30 days. Parsing is node:crypto's X509Certificate (OpenSSL 3).
 *
 * Supported key types everywhere in Strait (import, IKE AUTH, bundle
 * signers): RSA ≥ 2048 bits (RFC 8247 §3.2: shorter is a MUST NOT for
 * new use) and ECDSA on P-256, P-384 and P-521 (RFC 4754).
 */
import { createPrivateKey, X509Certificate, type KeyObject } from 'node:crypto';

import { decodePem, encodePem, looksLikePem, PemError } from './pem.js';

export const EXPIRY_WARNING_DAYS = 30;
const DAY_MS = 86_400_000;

export type KeyType = { readonly kind: 'rsa'; readonly bits: number } | { readonly kind: 'ecdsa'; readonly curve: 'P-256' | 'P-384' | 'P-521' } | { readonly kind: 'unsupported'; readonly name: string };

export interface CertificateInfo {
  /** strongSwan-style DN, e.g. "C=XX, O=Example, CN=vpn.example" */
  readonly subject: string;
  readonly issuer: string;
  readonly serialNumber: string;
  /** e.g. ["DNS:vpn.example", "IP Address:192.0.2.1", "email:me@example"] */
  readonly subjectAltNames: string[];
  readonly notBefore: Date;
  readonly notAfter: Date;
  readonly keyType: KeyType;
  /** "RSA 3072", "ECDSA P-256" */
  readonly keyDescription: string;
  /** SHA-256 over the DER, "AB:CD:…" */
  readonly fingerprintSha256: string;
  readonly isCa: boolean;
  readonly selfSigned: boolean;
  /** Human sentences: expired, not yet valid, expires in N days, unsupported key. */
  readonly warnings: string[];
}

export class CertificateError extends Error {
  override readonly name = 'CertificateError';
}

const CURVES: Record<string, 'P-256' | 'P-384' | 'P-521'> = { prime256v1: 'P-256', secp384r1: 'P-384', secp521r1: 'P-521' };

export function keyTypeOf(key: KeyObject): KeyType {
  const details = key.asymmetricKeyDetails ?? {};
  if (key.asymmetricKeyType === 'rsa') {
    const bits = details.modulusLength ?? 0;
    return bits >= 2048 ? { kind: 'rsa', bits } : { kind: 'unsupported', name: `RSA ${bits} (shorter than 2048 bits)` };
  }
  if (key.asymmetricKeyType === 'ec') {
    const curve = CURVES[details.namedCurve ?? ''];
    return curve === undefined ? { kind: 'unsupported', name: `EC ${details.namedCurve ?? 'unknown curve'}` } : { kind: 'ecdsa', curve };
  }
  return { kind: 'unsupported', name: key.asymmetricKeyType ?? 'unknown' };
}

export const describeKeyType = (t: KeyType): string => (t.kind === 'rsa' ? `RSA ${t.bits}` : t.kind === 'ecdsa' ? `ECDSA ${t.curve}` : t.name);

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** OpenSSL's ASN1_TIME_print form, "Nov  3 00:48:10 2026 GMT" (Node 20 has no validToDate yet). */
export function parseOpenSslTime(text: string): Date {
  const m = /^([A-Z][a-z]{2}) +(\d{1,2}) (\d{2}):(\d{2}):(\d{2}) (\d{4}) GMT$/u.exec(text.trim());
  const month = m === null ? -1 : MONTHS.indexOf(m[1] ?? '');
  if (m === null || month < 0) throw new CertificateError(`unreadable certificate time "${text}"`);
  return new Date(Date.UTC(Number(m[6]), month, Number(m[2]), Number(m[3]), Number(m[4]), Number(m[5])));
}

/** OpenSSL prints one RDN per line; strongSwan and users write them comma-separated. */
export const formatDn = (multiline: string): string =>
  multiline
    .split('\n')
    .map((s) => s.trim())
    .filter((s) => s.length > 0)
    .join(', ');

export function describeCertificate(cert: X509Certificate, now: Date): CertificateInfo {
  const notBefore = parseOpenSslTime(cert.validFrom);
  const notAfter = parseOpenSslTime(cert.validTo);
  const keyType = keyTypeOf(cert.publicKey);
  const warnings: string[] = [];
  const subject = formatDn(cert.subject);
  if (notAfter.getTime() < now.getTime()) warnings.push(`${subject}: expired on ${notAfter.toISOString()}`);
  else if (notAfter.getTime() - now.getTime() < EXPIRY_WARNING_DAYS * DAY_MS) {
    const days = Math.floor((notAfter.getTime() - now.getTime()) / DAY_MS);
    warnings.push(`${subject}: expires in ${days} day${days === 1 ? '' : 's'} (${notAfter.toISOString()})`);
  }
  if (notBefore.getTime() > now.getTime()) warnings.push(`${subject}: not valid before ${notBefore.toISOString()} (check the clock)`);
  if (keyType.kind === 'unsupported') warnings.push(`${subject}: key type ${keyType.name} is not supported (use RSA ≥ 2048 or ECDSA P-256/P-384/P-521)`);
  return {
    subject,
    issuer: formatDn(cert.issuer),
    serialNumber: cert.serialNumber,
    subjectAltNames: (cert.subjectAltName ?? '')
      .split(/, (?=[A-Za-z ]+:)/u)
      .map((s) => s.trim())
      .filter((s) => s.length > 0),
    notBefore,
    notAfter,
    keyType,
    keyDescription: describeKeyType(keyType),
    fingerprintSha256: cert.fingerprint256,
    isCa: cert.ca,
    selfSigned: cert.checkIssued(cert) && cert.verify(cert.publicKey),
    warnings,
  };
}

const asCertificate = (der: Uint8Array): X509Certificate => {
  try {
    return new X509Certificate(der);
  } catch (error) {
    throw new CertificateError(`not a valid X.509 certificate: ${error instanceof Error ? error.message : String(error)}`);
  }
};

/** One or more certificates from PEM text (CERTIFICATE blocks) or a single DER certificate. */
export function parseCertificates(bytes: Uint8Array): X509Certificate[] {
  if (bytes.length === 0) throw new CertificateError('empty certificate file');
  if (bytes.length > 1024 * 1024) throw new CertificateError('certificate file is larger than 1 MiB');
  if (looksLikePem(bytes)) {
    let blocks;
    try {
      blocks = decodePem(new TextDecoder().decode(bytes));
    } catch (error) {
      throw new CertificateError(error instanceof PemError ? error.message : String(error));
    }
    const certs = blocks.filter((b) => b.label === 'CERTIFICATE' || b.label === 'TRUSTED CERTIFICATE' || b.label === 'X509 CERTIFICATE');
    if (certs.length === 0) throw new CertificateError('no CERTIFICATE block in the PEM file');
    return certs.map((b) => asCertificate(b.der));
  }
  return [asCertificate(bytes)];
}

export const certificateToPem = (cert: X509Certificate): string => encodePem('CERTIFICATE', new Uint8Array(cert.raw));

/**
 * A private key from PEM or DER (PKCS#8, or traditional RSA/EC), optionally
 * passphrase-protected. The passphrase goes to OpenSSL in memory only.
 */
export function parsePrivateKey(bytes: Uint8Array, passphrase?: string): KeyObject {
  try {
    if (looksLikePem(bytes)) return createPrivateKey(passphrase === undefined ? { key: Buffer.from(bytes), format: 'pem' } : { key: Buffer.from(bytes), format: 'pem', passphrase });
    return createPrivateKey(
      passphrase === undefined ? { key: Buffer.from(bytes), format: 'der', type: 'pkcs8' } : { key: Buffer.from(bytes), format: 'der', type: 'pkcs8', passphrase },
    );
  } catch (error) {
    const text = error instanceof Error ? error.message : String(error);
    // Deliberately not echoing anything about the passphrase itself.
    if (/passphrase|bad decrypt|interrupted or cancelled/iu.test(text)) throw new CertificateError('the private key is encrypted and the password is missing or wrong');
    throw new CertificateError(`not a readable private key (${text})`);
  }
}

export const isEncryptedPrivateKeyPem = (bytes: Uint8Array): boolean => {
  const text = new TextDecoder().decode(bytes.subarray(0, Math.min(bytes.length, 65_536)));
  return text.includes('-----BEGIN ENCRYPTED PRIVATE KEY-----') || text.includes('Proc-Type: 4,ENCRYPTED');
};

/** True if the certificate carries the public half of `key`. */
export const certificateMatchesKey = (cert: X509Certificate, key: KeyObject): boolean => cert.checkPrivateKey(key);

export const privateKeyToPkcs8Pem = (key: KeyObject): string => key.export({ format: 'pem', type: 'pkcs8' }).toString();
