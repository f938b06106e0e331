/**
 * X.509 certificates (RFC 5280) as a typed, read-only view.
 *
 * node:crypto (OpenSSL) parses the certificate, its public key, dates and
 * fingerprint; our strict DER reader walks the TBSCertificate for what
 * OpenSSL does not expose: the raw subject/issuer/SPKI octets, every
 * extension with its criticality, the SAN entries as typed values, path
 * length and key usage bits. Both must accept the bytes, or the
 * certificate is CERT_INVALID.
 */
import { type KeyObject, X509Certificate, createHash } from 'node:crypto';

import {
  DerCursor,
  DerError,
  Tag,
  type Tlv,
  childrenOf,
  contextTag,
  decodeBitString,
  decodeBoolean,
  decodeOid,
  decodeSmallUnsigned,
  decodeTime,
  printable,
  readSingle,
} from './der.js';
import { type DistinguishedName, dnEqual, dnFromTlv, formatDn } from './distinguished-name.js';
import { CertificateError } from './errors.js';
import { formatIp } from './ip-address.js';

/** Largest certificate accepted (RFC 7296 CERT payloads are bounded by the message anyway). */
export const MAX_CERTIFICATE_BYTES = 64 * 1024;

export type KeyType = 'rsa' | 'ec' | 'ed25519' | 'ed448' | 'rsa-pss';

export interface SubjectAltNames {
  dns: string[];
  /** canonical text (RFC 5952 for IPv6) */
  ip: string[];
  email: string[];
  uri: string[];
}

export interface CertificateInfo {
  der: Uint8Array;
  /** strongSwan-style DN text, e.g. "C=XX, O=VPN Lab, CN=vpn.lab.example" */
  subject: string;
  issuer: string;
  /** the subject Name exactly as encoded in the certificate */
  subjectDer: Uint8Array;
  issuerDer: Uint8Array;
  /** upper-case hex, as OpenSSL prints it */
  serialNumber: string;
  notBefore: Date;
  notAfter: Date;
  /** true when the SubjectAltName extension is present (RFC 6125 §6.4.4: no CN fallback then) */
  hasSubjectAltName: boolean;
  san: SubjectAltNames;
  keyType: KeyType;
  /** "ECDSA P-256", "RSA 3072", "Ed25519" */
  keyDescription: string;
  /** colon-separated upper-case hex of SHA-256 over the DER */
  fingerprintSha256: string;
  isCa: boolean;
  pathLength?: number;
  /** RFC 5280 §4.2.1.3 bit names; empty when the extension is absent (it may not be empty when present) */
  keyUsage: KeyUsage[];
  /** names from EKU_NAMES for known purposes, dotted OIDs otherwise; empty when absent */
  extendedKeyUsage: string[];
  publicKey: KeyObject;
  /** RFC 7296 §3.7 CERTREQ hash: SHA-1 of the SubjectPublicKeyInfo */
  spkiSha1: Uint8Array;
  /** RFC 5280 §4.2.1.2 */
  subjectKeyId?: Uint8Array;
  /** RFC 5280 §4.2.1.1 keyIdentifier */
  authorityKeyId?: Uint8Array;
  /** dotted OID of the issuer's signature algorithm */
  signatureAlgorithm: string;
  /** critical extensions this module does not process (RFC 5280 §4.2: such a certificate must be rejected) */
  unsupportedCriticalExtensions: string[];
  /** subject and issuer are the same name (RFC 5280 §6.1: self-issued) */
  selfIssued: boolean;
}

export type KeyUsage =
  | 'digitalSignature'
  | 'nonRepudiation'
  | 'keyEncipherment'
  | 'dataEncipherment'
  | 'keyAgreement'
  | 'keyCertSign'
  | 'cRLSign'
  | 'encipherOnly'
  | 'decipherOnly';

const KEY_USAGE_BITS: readonly KeyUsage[] = [
  'digitalSignature',
  'nonRepudiation',
  'keyEncipherment',
  'dataEncipherment',
  'keyAgreement',
  'keyCertSign',
  'cRLSign',
  'encipherOnly',
  'decipherOnly',
];

/** RFC 5280 §4.2.1.12, RFC 4945 §5.1.3.12, RFC 4809 */
export const EKU_NAMES: Readonly<Record<string, string>> = {
  '2.5.29.37.0': 'anyExtendedKeyUsage',
  '1.3.6.1.5.5.7.3.1': 'serverAuth',
  '1.3.6.1.5.5.7.3.2': 'clientAuth',
  '1.3.6.1.5.5.7.3.3': 'codeSigning',
  '1.3.6.1.5.5.7.3.4': 'emailProtection',
  '1.3.6.1.5.5.7.3.8': 'timeStamping',
  '1.3.6.1.5.5.7.3.9': 'OCSPSigning',
  '1.3.6.1.5.5.7.3.17': 'ipsecIKE',
  '1.3.6.1.5.5.8.2.2': 'ikeIntermediate',
};

const OID = {
  basicConstraints: '2.5.29.19',
  keyUsage: '2.5.29.15',
  extKeyUsage: '2.5.29.37',
  subjectAltName: '2.5.29.17',
  issuerAltName: '2.5.29.18',
  subjectKeyId: '2.5.29.14',
  authorityKeyId: '2.5.29.35',
  certificatePolicies: '2.5.29.32',
  crlDistributionPoints: '2.5.29.31',
  freshestCrl: '2.5.29.46',
  authorityInfoAccess: '1.3.6.1.5.5.7.1.1',
} as const;

/**
 * Extensions that may be critical without making us reject the certificate:
 * the ones we process, plus those that carry no constraint for a client
 * that does not do policy processing or revocation fetching itself.
 */
const UNDERSTOOD_EXTENSIONS: ReadonlySet<string> = new Set(Object.values(OID));

/**
 * Parses a DER certificate. Throws CertificateError('CERT_INVALID') for
 * anything that is not a well-formed X.509 certificate with a supported
 * key (RSA, RSA-PSS, ECDSA, Ed25519, Ed448); never a raw exception.
 */
export function parseCertificate(der: Uint8Array): CertificateInfo {
  if (der.length === 0) throw invalid('The certificate is empty.');
  if (der.length > MAX_CERTIFICATE_BYTES) {
    throw invalid(`The certificate is ${der.length} bytes; at most ${MAX_CERTIFICATE_BYTES} are accepted.`);
  }
  const bytes = Uint8Array.from(der);
  let tbs: TbsFields;
  try {
    tbs = readTbs(bytes);
  } catch (e) {
    if (e instanceof DerError) throw invalid(`The certificate is malformed (${e.message}).`, { detail: e.message });
    throw e;
  }
  let x509: X509Certificate;
  let publicKey: KeyObject;
  try {
    x509 = new X509Certificate(bytes);
    publicKey = x509.publicKey;
  } catch (e) {
    const detail = e instanceof Error ? e.message : String(e);
    throw invalid(`The certificate could not be parsed (${detail}).`, { detail });
  }
  const key = describeKey(publicKey);
  const info: CertificateInfo = {
    der: bytes,
    subject: formatDn(tbs.subject),
    issuer: formatDn(tbs.issuer),
    subjectDer: tbs.subject.der,
    issuerDer: tbs.issuer.der,
    serialNumber: x509.serialNumber.toUpperCase(),
    notBefore: tbs.notBefore,
    notAfter: tbs.notAfter,
    hasSubjectAltName: tbs.ext.hasSan,
    san: tbs.ext.san,
    keyType: key.type,
    keyDescription: key.description,
    fingerprintSha256: x509.fingerprint256,
    isCa: tbs.ext.isCa,
    keyUsage: tbs.ext.keyUsage,
    extendedKeyUsage: tbs.ext.extendedKeyUsage,
    publicKey,
    spkiSha1: new Uint8Array(createHash('sha1').update(tbs.spki).digest()),
    signatureAlgorithm: tbs.signatureAlgorithm,
    unsupportedCriticalExtensions: tbs.ext.unsupportedCritical,
    selfIssued: dnEqual(tbs.subject, tbs.issuer),
  };
  x509Cache.set(info, x509);
  if (tbs.ext.pathLength !== undefined) info.pathLength = tbs.ext.pathLength;
  if (tbs.ext.subjectKeyId !== undefined) info.subjectKeyId = tbs.ext.subjectKeyId;
  if (tbs.ext.authorityKeyId !== undefined) info.authorityKeyId = tbs.ext.authorityKeyId;
  return info;
}

const x509Cache = new WeakMap<CertificateInfo, X509Certificate>();

/** node:crypto's view of a parsed certificate, for signature checks (RFC 5280 §6.1.3 (a)(1)). */
export function nodeCertificateOf(info: CertificateInfo): X509Certificate {
  let x509 = x509Cache.get(info);
  if (x509 === undefined) {
    x509 = new X509Certificate(info.der);
    x509Cache.set(info, x509);
  }
  return x509;
}

function invalid(message: string, fields: Record<string, string> = {}): CertificateError {
  return new CertificateError('CERT_INVALID', message, fields);
}

function describeKey(key: KeyObject): { type: KeyType; description: string } {
  const details = key.asymmetricKeyDetails ?? {};
  switch (key.asymmetricKeyType) {
    case 'rsa':
      return { type: 'rsa', description: `RSA ${details.modulusLength ?? '?'}` };
    case 'rsa-pss':
      return { type: 'rsa-pss', description: `RSA-PSS ${details.modulusLength ?? '?'}` };
    case 'ec': {
      const curve = details.namedCurve ?? 'unknown curve';
      const nist: Record<string, string> = { prime256v1: 'P-256', secp384r1: 'P-384', secp521r1: 'P-521' };
      return { type: 'ec', description: `ECDSA ${nist[curve] ?? curve}` };
    }
    case 'ed25519':
      return { type: 'ed25519', description: 'Ed25519' };
    case 'ed448':
      return { type: 'ed448', description: 'Ed448' };
    default:
      throw invalid(`The certificate's public key type (${key.asymmetricKeyType ?? 'unknown'}) cannot sign IKE messages.`, {
        keyType: key.asymmetricKeyType ?? 'unknown',
      });
  }
}

// ---------------------------------------------------------------- TBSCertificate walk

interface TbsFields {
  subject: DistinguishedName;
  issuer: DistinguishedName;
  spki: Uint8Array;
  notBefore: Date;
  notAfter: Date;
  signatureAlgorithm: string;
  ext: Extensions;
}

interface Extensions {
  hasSan: boolean;
  san: SubjectAltNames;
  isCa: boolean;
  pathLength?: number;
  keyUsage: KeyUsage[];
  extendedKeyUsage: string[];
  subjectKeyId?: Uint8Array;
  authorityKeyId?: Uint8Array;
  unsupportedCritical: string[];
}

/** RFC 5280 §4.1: Certificate and TBSCertificate. */
function readTbs(der: Uint8Array): TbsFields {
  const cert = readSingle(der, 'Certificate');
  if (cert.tag !== Tag.SEQUENCE) throw new DerError('Certificate', 0, 'not a SEQUENCE');
  const outer = new DerCursor(cert);
  const tbs = outer.expect(Tag.SEQUENCE, 'tbsCertificate');
  const sigAlg = outer.expect(Tag.SEQUENCE, 'signatureAlgorithm');
  outer.expect(Tag.BIT_STRING, 'signatureValue');
  outer.end('signatureValue');
  const signatureAlgorithm = decodeOid(new DerCursor(sigAlg, 'signatureAlgorithm').expect(Tag.OID, 'algorithm').content, 'signatureAlgorithm');

  const c = new DerCursor(tbs, 'tbsCertificate');
  let version = 0;
  const versionTlv = c.optional(contextTag(0, true));
  if (versionTlv !== undefined) {
    const v = new DerCursor(versionTlv, 'tbsCertificate/version');
    version = decodeSmallUnsigned(v.expect(Tag.INTEGER, 'version'));
    v.end('version');
    if (version > 2) throw new DerError('tbsCertificate/version', versionTlv.start, `unknown version ${version + 1}`);
  }
  c.expect(Tag.INTEGER, 'serialNumber');
  const innerAlg = c.expect(Tag.SEQUENCE, 'signature');
  // RFC 5280 §4.1.1.2: the inner and outer algorithm identifiers must be identical.
  if (Buffer.compare(innerAlg.bytes, sigAlg.bytes) !== 0) {
    throw new DerError('tbsCertificate/signature', innerAlg.start, 'differs from the outer signatureAlgorithm');
  }
  const issuer = dnFromTlv(withPath(c.expect(Tag.SEQUENCE, 'issuer'), 'issuer'));
  const validity = new DerCursor(c.expect(Tag.SEQUENCE, 'validity'), 'validity');
  const notBefore = decodeTime(withPath(validity.any('notBefore'), 'validity/notBefore'));
  const notAfter = decodeTime(withPath(validity.any('notAfter'), 'validity/notAfter'));
  validity.end('notAfter');
  const subject = dnFromTlv(withPath(c.expect(Tag.SEQUENCE, 'subject'), 'subject'));
  const spki = c.expect(Tag.SEQUENCE, 'subjectPublicKeyInfo');
  c.optional(contextTag(1, false)); // issuerUniqueID
  c.optional(contextTag(2, false)); // subjectUniqueID
  const extTlv = c.optional(contextTag(3, true));
  c.end('extensions');
  let ext = emptyExtensions();
  if (extTlv !== undefined) {
    if (version !== 2) throw new DerError('tbsCertificate/extensions', extTlv.start, 'extensions in a certificate that is not v3');
    const list = new DerCursor(extTlv, 'extensions');
    ext = readExtensions(list.expect(Tag.SEQUENCE, 'Extensions'));
    list.end('Extensions');
  }
  return { subject, issuer, spki: spki.bytes, notBefore, notAfter, signatureAlgorithm, ext };
}

function withPath(tlv: Tlv, path: string): Tlv {
  return { ...tlv, path };
}

function emptyExtensions(): Extensions {
  return { hasSan: false, san: { dns: [], ip: [], email: [], uri: [] }, isCa: false, keyUsage: [], extendedKeyUsage: [], unsupportedCritical: [] };
}

function readExtensions(seq: Tlv): Extensions {
  const ext = emptyExtensions();
  const items = childrenOf(seq, 'extensions');
  if (items.length === 0) throw new DerError('extensions', seq.start, 'empty Extensions (RFC 5280 §4.1: SIZE (1..MAX))');
  const seen = new Set<string>();
  items.forEach((item, i) => {
    const path = `extensions[${i}]`;
    if (item.tag !== Tag.SEQUENCE) throw new DerError(path, item.start, 'an Extension must be a SEQUENCE');
    const c = new DerCursor(item, path);
    const oid = decodeOid(c.expect(Tag.OID, 'extnID').content, path);
    const criticalTlv = c.optional(Tag.BOOLEAN);
    const critical = criticalTlv === undefined ? false : decodeBoolean(criticalTlv);
    const value = c.expect(Tag.OCTET_STRING, 'extnValue').content;
    c.end('extnValue');
    // RFC 5280 §4.2: "A certificate MUST NOT include more than one instance of a particular extension."
    if (seen.has(oid)) throw new DerError(path, item.start, `duplicate extension ${oid}`);
    seen.add(oid);
    const inner = `${path}(${oid})`;
    switch (oid) {
      case OID.basicConstraints:
        readBasicConstraints(readSingle(value, inner), ext);
        break;
      case OID.keyUsage:
        ext.keyUsage = readKeyUsage(readSingle(value, inner));
        break;
      case OID.extKeyUsage:
        ext.extendedKeyUsage = readExtKeyUsage(readSingle(value, inner));
        break;
      case OID.subjectAltName:
        ext.hasSan = true;
        ext.san = readGeneralNames(readSingle(value, inner));
        break;
      case OID.subjectKeyId: {
        const ski = readSingle(value, inner);
        if (ski.tag !== Tag.OCTET_STRING) throw new DerError(inner, ski.start, 'SubjectKeyIdentifier must be an OCTET STRING');
        ext.subjectKeyId = Uint8Array.from(ski.content);
        break;
      }
      case OID.authorityKeyId: {
        const aki = readSingle(value, inner);
        if (aki.tag !== Tag.SEQUENCE) throw new DerError(inner, aki.start, 'AuthorityKeyIdentifier must be a SEQUENCE');
        const keyId = new DerCursor(aki, inner).optional(contextTag(0, false));
        if (keyId !== undefined) ext.authorityKeyId = Uint8Array.from(keyId.content);
        break;
      }
      default:
        if (critical && !UNDERSTOOD_EXTENSIONS.has(oid)) ext.unsupportedCritical.push(oid);
    }
  });
  return ext;
}

/** RFC 5280 §4.2.1.9 */
function readBasicConstraints(seq: Tlv, ext: Extensions): void {
  if (seq.tag !== Tag.SEQUENCE) throw new DerError(seq.path, seq.start, 'BasicConstraints must be a SEQUENCE');
  const c = new DerCursor(seq);
  const ca = c.optional(Tag.BOOLEAN);
  ext.isCa = ca === undefined ? false : decodeBoolean(ca);
  const pathLen = c.optional(Tag.INTEGER);
  if (pathLen !== undefined) ext.pathLength = decodeSmallUnsigned(pathLen);
  c.end('pathLenConstraint');
}

/** RFC 5280 §4.2.1.3 */
function readKeyUsage(tlv: Tlv): KeyUsage[] {
  const { bytes } = decodeBitString(tlv);
  const out: KeyUsage[] = [];
  KEY_USAGE_BITS.forEach((name, bit) => {
    const byte = bytes[bit >> 3];
    if (byte !== undefined && (byte & (0x80 >> (bit & 7))) !== 0) out.push(name);
  });
  // "When the keyUsage extension appears in a certificate, at least one of the bits MUST be set to 1."
  if (out.length === 0) throw new DerError(tlv.path, tlv.start, 'keyUsage with no bit set');
  return out;
}

/** RFC 5280 §4.2.1.12 */
function readExtKeyUsage(seq: Tlv): string[] {
  if (seq.tag !== Tag.SEQUENCE) throw new DerError(seq.path, seq.start, 'ExtKeyUsageSyntax must be a SEQUENCE');
  const items = childrenOf(seq);
  if (items.length === 0) throw new DerError(seq.path, seq.start, 'empty ExtKeyUsageSyntax');
  return items.map((item) => {
    if (item.tag !== Tag.OID) throw new DerError(item.path, item.start, 'KeyPurposeId must be an OBJECT IDENTIFIER');
    const oid = decodeOid(item.content, item.path);
    return EKU_NAMES[oid] ?? oid;
  });
}

/** RFC 5280 §4.2.1.6 GeneralNames: the entry kinds IKE identities can match. */
function readGeneralNames(seq: Tlv): SubjectAltNames {
  if (seq.tag !== Tag.SEQUENCE) throw new DerError(seq.path, seq.start, 'GeneralNames must be a SEQUENCE');
  const names: SubjectAltNames = { dns: [], ip: [], email: [], uri: [] };
  const items = childrenOf(seq);
  if (items.length === 0) throw new DerError(seq.path, seq.start, 'empty GeneralNames');
  for (const item of items) {
    switch (item.tag) {
      case contextTag(1, false): // rfc822Name IA5String
        names.email.push(ia5(item));
        break;
      case contextTag(2, false): // dNSName IA5String
        names.dns.push(ia5(item));
        break;
      case contextTag(6, false): // uniformResourceIdentifier IA5String
        names.uri.push(ia5(item));
        break;
      case contextTag(7, false): {
        // iPAddress: 4 or 16 octets (8 or 32 only in name constraints, RFC 5280 §4.2.1.10)
        const ip = formatIp(item.content);
        if (ip === undefined) throw new DerError(item.path, item.start, `iPAddress of ${item.content.length} octets`);
        names.ip.push(ip);
        break;
      }
      default:
      // otherName, x400Address, directoryName, ediPartyName, registeredID: not IKE-matchable here.
    }
  }
  return names;
}

function ia5(tlv: Tlv): string {
  for (const b of tlv.content) {
    if (b < 0x20 || b > 0x7e) {
      const text = Buffer.from(tlv.content).toString('latin1');
      throw new DerError(tlv.path, tlv.start, `SAN entry "${printable(text)}" is not printable IA5 text`);
    }
  }
  return Buffer.from(tlv.content).toString('ascii');
}

// ---------------------------------------------------------------- expiry

/**
 * A warning to show ahead of expiry ("expires in 12 days"), or once expired;
 * undefined while more than `days` days remain.
 */
export function expiryWarning(info: CertificateInfo, now: Date, days = 30): string | undefined {
  const who = `The certificate "${info.subject}"`;
  const remainingMs = info.notAfter.getTime() - now.getTime();
  if (remainingMs < 0) return `${who} expired on ${formatDate(info.notAfter)}.`;
  if (remainingMs > days * 86_400_000) return undefined;
  const left = Math.floor(remainingMs / 86_400_000);
  const when = left === 0 ? 'within a day' : left === 1 ? 'in 1 day' : `in ${left} days`;
  return `${who} expires ${when}, on ${formatDate(info.notAfter)}.`;
}

/** "2026-11-23 00:47:57 UTC" */
export function formatDate(d: Date): string {
  return `${d.toISOString().slice(0, 19).replace('T', ' ')} UTC`;
}
