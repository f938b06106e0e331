/**
 * CMS SignedData (RFC 5652) with attached content: verification for signed
 * bundles and signed .mobileconfig files, and signing for `strait bundle
 * sign`. pkijs parses and checks the signature (RSA, RSA-PSS, ECDSA);
 * pkijs' CertificateChainValidationEngine builds the path to an installed
 * trust anchor; node:crypto signs.
 *
 * Verification is deliberately narrow. Everything of the file outside the
 * signed attributes is unprotected by the signature, so it is either
 * checked against what the signature covers or refused:
 * - strict DER (der-strict.ts), nothing after the ContentInfo;
 * - exactly one SignerInfo, with signed attributes (RFC 5652 §5.3) whose
 *   content-type equals eContentType (id-data) and whose message-digest
 *   matches the content; no unsigned attributes, no CRLs;
 * - SignedData.version and SignerInfo.version as RFC 5652 §5.1/§5.3 compute
 *   them; digestAlgorithms exactly the signer's digest (SHA-2 only);
 * - the signature algorithm fits the signer key and the digest;
 * - every embedded certificate lies on the validated path to an anchor (or
 *   is a copy of an anchor), and each one's outer signatureAlgorithm equals
 *   its TBS signature field (RFC 5280 §4.1.1.2).
 */
import { createHash, sign as cryptoSign, verify as cryptoVerify, X509Certificate, type KeyObject } from 'node:crypto';

import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';

import { formatDn, keyTypeOf, parseOpenSslTime } from './certificates.js';
import { assertStrictDer, DerStrictError } from './der-strict.js';
import { encodePem } from './pem.js';
import { ensurePkijsEngine, toArrayBuffer } from './pkijs-engine.js';

export type CmsFailure = 'UNSIGNED' | 'MALFORMED' | 'TAMPERED' | 'UNKNOWN_SIGNER' | 'SIGNER_EXPIRED';

export class CmsVerifyError extends Error {
  override readonly name = 'CmsVerifyError';
  constructor(
    readonly code: CmsFailure,
    message: string,
  ) {
    super(message);
  }
}

export interface TrustAnchor {
  readonly certificate: X509Certificate;
  /** Where it came from (file path), for messages. */
  readonly source: string;
}

export interface VerifiedSignedData {
  readonly content: Uint8Array;
  readonly signer: X509Certificate;
  /** strongSwan-style subject DN of the signer */
  readonly signerSubject: string;
  /** signer first, anchor last */
  readonly path: X509Certificate[];
  readonly anchor: TrustAnchor;
  readonly signingTime?: Date;
}

export const OID = {
  signedData: '1.2.840.113549.1.7.2',
  data: '1.2.840.113549.1.7.1',
  contentType: '1.2.840.113549.1.9.3',
  messageDigest: '1.2.840.113549.1.9.4',
  signingTime: '1.2.840.113549.1.9.5',
  sha256: '2.16.840.1.101.3.4.2.1',
  sha384: '2.16.840.1.101.3.4.2.2',
  sha512: '2.16.840.1.101.3.4.2.3',
  rsaEncryption: '1.2.840.113549.1.1.1',
  rsaPss: '1.2.840.113549.1.1.10',
  sha256WithRsa: '1.2.840.113549.1.1.11',
  sha384WithRsa: '1.2.840.113549.1.1.12',
  sha512WithRsa: '1.2.840.113549.1.1.13',
  ecdsaWithSha256: '1.2.840.10045.4.3.2',
  ecdsaWithSha384: '1.2.840.10045.4.3.3',
  ecdsaWithSha512: '1.2.840.10045.4.3.4',
  keyUsage: '2.5.29.15',
} as const;

type Hash = 'sha256' | 'sha384' | 'sha512';
const DIGESTS: Record<string, Hash> = { [OID.sha256]: 'sha256', [OID.sha384]: 'sha384', [OID.sha512]: 'sha512' };
const RSA_SIG: Record<Hash, string> = { sha256: OID.sha256WithRsa, sha384: OID.sha384WithRsa, sha512: OID.sha512WithRsa };
const ECDSA_SIG: Record<Hash, string> = { sha256: OID.ecdsaWithSha256, sha384: OID.ecdsaWithSha384, sha512: OID.ecdsaWithSha512 };
const DIGEST_OID: Record<Hash, string> = { sha256: OID.sha256, sha384: OID.sha384, sha512: OID.sha512 };

const MAX_CMS_BYTES = 8 * 1024 * 1024;
const MAX_CERTS = 16;
/** Clock skew tolerated for a signing time in the future. */
const SIGNING_TIME_SKEW_MS = 5 * 60_000;

/** DER `SEQUENCE { OID pkcs7-* …` (any CMS content type, RFC 5652 §3) at the start, or a PEM CMS/PKCS7 block. */
export function looksLikeCms(bytes: Uint8Array): boolean {
  const signedDataOid = Uint8Array.of(0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07);
  if (bytes[0] === 0x30) {
    const head = bytes.subarray(0, 32);
    for (let i = 0; i + signedDataOid.length <= head.length; i++) {
      if (signedDataOid.every((b, k) => head[i + k] === b)) return true;
    }
    return false;
  }
  const text = new TextDecoder('utf-8', { fatal: false }).decode(bytes.subarray(0, 4096));
  return /-----BEGIN (?:CMS|PKCS7)-----/u.test(text);
}

const STRICT_CMS_PEM = /^-----BEGIN (CMS|PKCS7)-----\r?\n((?:[A-Za-z0-9+/=]+\r?\n)+)-----END \1-----(?:\r?\n)?$/u;

/**
 * The DER of a CMS file given as DER or PEM ("CMS" from openssl cms,
 * "PKCS7" from openssl smime). The PEM form is read strictly (RFC 7468 §3
 * "strict" plus canonical base64): one block, nothing around it, and base64
 * that re-encodes to itself — so a changed byte anywhere in the armour
 * cannot leave the file acceptable.
 */
export function cmsDer(bytes: Uint8Array): Uint8Array {
  if (bytes[0] === 0x30) return bytes;
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new CmsVerifyError('MALFORMED', 'neither DER nor PEM text');
  }
  const m = STRICT_CMS_PEM.exec(text);
  if (m === null) throw new CmsVerifyError('MALFORMED', 'expected exactly one PEM block labelled CMS or PKCS7, and nothing else');
  const b64 = (m[2] ?? '').replace(/\r?\n/gu, '');
  const der = Buffer.from(b64, 'base64');
  if (der.length === 0 || der.toString('base64') !== b64) throw new CmsVerifyError('MALFORMED', 'the PEM body is not canonical base64');
  return new Uint8Array(der);
}

const toX509 = (cert: pkijs.Certificate): X509Certificate => new X509Certificate(Buffer.from(cert.toSchema(false).toBER(false)));
const toPkijs = (cert: X509Certificate): pkijs.Certificate => pkijs.Certificate.fromBER(toArrayBuffer(new Uint8Array(cert.raw)));
const derOf = (cert: pkijs.Certificate): Uint8Array => new Uint8Array(cert.toSchema(false).toBER(false));
const sameBytes = (a: Uint8Array, b: Uint8Array): boolean => a.length === b.length && a.every((x, i) => x === b[i]);

const algorithmDer = (alg: pkijs.AlgorithmIdentifier): Uint8Array => new Uint8Array(alg.toSchema().toBER(false));

const hasNullOrNoParams = (alg: pkijs.AlgorithmIdentifier): boolean => alg.algorithmParams === undefined || alg.algorithmParams instanceof asn1js.Null;

/** keyUsage, if present, must allow signatures (digitalSignature or nonRepudiation, RFC 5280 §4.2.1.3). */
function allowsSigning(cert: pkijs.Certificate): boolean {
  const ext = cert.extensions?.find((e) => e.extnID === OID.keyUsage);
  if (ext === undefined) return true;
  const bits: unknown = ext.parsedValue;
  if (!(bits instanceof asn1js.BitString)) return false;
  const first = bits.valueBlock.valueHexView[0] ?? 0;
  return (first & 0xc0) !== 0;
}

const validAt = (cert: X509Certificate, at: Date): boolean =>
  parseOpenSslTime(cert.validFrom).getTime() <= at.getTime() && at.getTime() <= parseOpenSslTime(cert.validTo).getTime();

interface ParsedCms {
  readonly signed: pkijs.SignedData;
  readonly signerInfo: pkijs.SignerInfo;
  readonly content: Uint8Array;
  readonly hash: Hash;
  readonly signingTime?: Date;
}

function parseStrict(der: Uint8Array): ParsedCms {
  try {
    assertStrictDer(der);
  } catch (error) {
    throw new CmsVerifyError('MALFORMED', `not valid DER: ${error instanceof DerStrictError ? error.message : String(error)}`);
  }
  let asn1: ReturnType<typeof asn1js.fromBER>;
  try {
    asn1 = asn1js.fromBER(toArrayBuffer(der));
  } catch (error) {
    // asn1js throws plain Errors for some malformed primitives (a GeneralizedTime that is not a time).
    throw new CmsVerifyError('MALFORMED', `not a CMS structure (${error instanceof Error ? error.message : String(error)})`);
  }
  if (asn1.offset === -1 || asn1.offset !== der.length) throw new CmsVerifyError('MALFORMED', 'not a CMS structure');
  let signed: pkijs.SignedData;
  try {
    const info = new pkijs.ContentInfo({ schema: asn1.result });
    if (info.contentType === OID.data) throw new CmsVerifyError('UNSIGNED', 'the CMS file carries plain data without a signature');
    if (info.contentType !== OID.signedData) throw new CmsVerifyError('MALFORMED', `the CMS content type ${info.contentType} is not SignedData`);
    signed = new pkijs.SignedData({ schema: info.content });
  } catch (error) {
    if (error instanceof CmsVerifyError) throw error;
    throw new CmsVerifyError('MALFORMED', `not a CMS SignedData structure (${error instanceof Error ? error.message : String(error)})`);
  }
  if (signed.signerInfos.length === 0) throw new CmsVerifyError('UNSIGNED', 'the SignedData has no signature (no SignerInfo)');
  if (signed.signerInfos.length !== 1) throw new CmsVerifyError('MALFORMED', `exactly one signer is supported, found ${signed.signerInfos.length}`);
  const signerInfo = signed.signerInfos[0] as pkijs.SignerInfo;

  const encap = signed.encapContentInfo;
  if (encap.eContentType !== OID.data) throw new CmsVerifyError('MALFORMED', `encapsulated content type ${encap.eContentType} is not id-data`);
  const eContent = encap.eContent;
  if (eContent === undefined) throw new CmsVerifyError('MALFORMED', 'the content is detached; sign with -nodetach so the content is inside the file');
  if (!(eContent instanceof asn1js.OctetString) || eContent.idBlock.isConstructed) throw new CmsVerifyError('MALFORMED', 'the encapsulated content is not a primitive OCTET STRING');
  const content = new Uint8Array(eContent.valueBlock.valueHexView);

  // RFC 5652 §5.1: version 1 when only X.509 certs, id-data and v1 SignerInfos (issuerAndSerialNumber); 3 if any SignerInfo is v3.
  const sidIsIssuerSerial = signerInfo.sid instanceof pkijs.IssuerAndSerialNumber;
  const expectedSignerVersion = sidIsIssuerSerial ? 1 : 3;
  if (signerInfo.version !== expectedSignerVersion) throw new CmsVerifyError('MALFORMED', `SignerInfo version ${signerInfo.version} does not match its signer identifier`);
  if (signed.version !== expectedSignerVersion) throw new CmsVerifyError('MALFORMED', `SignedData version ${signed.version} is not ${expectedSignerVersion} (RFC 5652 §5.1)`);
  if (signed.crls !== undefined && signed.crls.length > 0) throw new CmsVerifyError('MALFORMED', 'revocation data inside the file is not supported');
  if (signerInfo.unsignedAttrs !== undefined) throw new CmsVerifyError('MALFORMED', 'unsigned attributes are not accepted (they are not covered by the signature)');

  const hash = DIGESTS[signerInfo.digestAlgorithm.algorithmId];
  if (hash === undefined) throw new CmsVerifyError('MALFORMED', `digest algorithm ${signerInfo.digestAlgorithm.algorithmId} is not SHA-256/384/512`);
  if (!hasNullOrNoParams(signerInfo.digestAlgorithm)) throw new CmsVerifyError('MALFORMED', 'digest algorithm parameters must be absent or NULL');
  if (signed.digestAlgorithms.length !== 1 || !sameBytes(algorithmDer(signed.digestAlgorithms[0] as pkijs.AlgorithmIdentifier), algorithmDer(signerInfo.digestAlgorithm))) {
    throw new CmsVerifyError('MALFORMED', "SignedData.digestAlgorithms must list exactly the signer's digest algorithm");
  }

  // RFC 5652 §5.3/§11: signed attributes with exactly one content-type (= eContentType) and one message-digest.
  const attrs = signerInfo.signedAttrs?.attributes;
  if (attrs === undefined || attrs.length === 0) throw new CmsVerifyError('MALFORMED', 'the signature has no signed attributes');
  const only = (type: string): asn1js.AsnType | undefined => {
    const found = attrs.filter((a) => a.type === type);
    if (found.length > 1 || (found.length === 1 && found[0]?.values.length !== 1)) throw new CmsVerifyError('MALFORMED', `signed attribute ${type} must occur once with one value`);
    return found[0]?.values[0];
  };
  const contentTypeValue = only(OID.contentType);
  if (!(contentTypeValue instanceof asn1js.ObjectIdentifier) || contentTypeValue.valueBlock.toString() !== encap.eContentType) {
    throw new CmsVerifyError('TAMPERED', 'the signed content-type attribute does not match the content type');
  }
  if (!(only(OID.messageDigest) instanceof asn1js.OctetString)) throw new CmsVerifyError('MALFORMED', 'the signed message-digest attribute is missing');
  const timeValue = only(OID.signingTime);
  let signingTime: Date | undefined;
  if (timeValue !== undefined) {
    if (!(timeValue instanceof asn1js.UTCTime) && !(timeValue instanceof asn1js.GeneralizedTime)) throw new CmsVerifyError('MALFORMED', 'the signing-time attribute is not a time');
    signingTime = timeValue.toDate();
  }
  return signingTime === undefined ? { signed, signerInfo, content, hash } : { signed, signerInfo, content, hash, signingTime };
}

function checkSignatureAlgorithm(signerInfo: pkijs.SignerInfo, signer: X509Certificate, hash: Hash): void {
  const oid = signerInfo.signatureAlgorithm.algorithmId;
  const key = keyTypeOf(signer.publicKey);
  if (key.kind === 'unsupported') throw new CmsVerifyError('UNKNOWN_SIGNER', `the signer's key type ${key.name} is not supported`);
  let fits: boolean;
  if (key.kind === 'ecdsa') fits = oid === ECDSA_SIG[hash] && signerInfo.signatureAlgorithm.algorithmParams === undefined;
  else if (oid === OID.rsaPss) fits = true; // RFC 4056: the PSS parameters name the hash; pkijs checks them when verifying
  else fits = (oid === OID.rsaEncryption || oid === RSA_SIG[hash]) && hasNullOrNoParams(signerInfo.signatureAlgorithm);
  if (!fits) throw new CmsVerifyError('MALFORMED', `signature algorithm ${oid} does not fit a ${key.kind.toUpperCase()} signer with ${hash.toUpperCase()}`);
}

/**
 * pkijs finds the signer by comparing names the X.500 way (case-folded), so
 * a sid with a changed letter case still matches. The identifier is not
 * covered by the signature: require it byte for byte.
 */
function checkSignerIdentifier(signerInfo: pkijs.SignerInfo, signer: pkijs.Certificate): void {
  const sid: unknown = signerInfo.sid;
  if (sid instanceof pkijs.IssuerAndSerialNumber) {
    const sameIssuer = sameBytes(new Uint8Array(sid.issuer.valueBeforeDecode), new Uint8Array(signer.issuer.valueBeforeDecode));
    const sameSerial = sameBytes(sid.serialNumber.valueBlock.valueHexView, signer.serialNumber.valueBlock.valueHexView);
    if (!sameIssuer || !sameSerial) throw new CmsVerifyError('TAMPERED', "the signer identifier does not match the signer's certificate exactly");
  }
}

/**
 * A second, independent check of the signature by OpenSSL (node:crypto):
 * it insists on canonical DER for ECDSA signatures, where the JavaScript
 * path is lenient about the encoding around r and s. RSA-PSS stays with
 * pkijs (its parameters are checked there).
 */
function checkSignatureWithOpenSsl(signerInfo: pkijs.SignerInfo, signer: X509Certificate, hash: Hash): void {
  if (signerInfo.signatureAlgorithm.algorithmId === OID.rsaPss) return;
  const attrs = signerInfo.signedAttrs;
  if (attrs === undefined) throw new CmsVerifyError('MALFORMED', 'the signature has no signed attributes');
  // RFC 5652 §5.4: the signature covers the attributes DER-encoded as a SET OF (tag 0x31).
  const data = new Uint8Array(attrs.encodedValue.byteLength === 0 ? attrs.toSchema().toBER(false) : attrs.encodedValue.slice(0));
  data[0] = 0x31;
  const ok = cryptoVerify(hash, data, signer.publicKey, new Uint8Array(signerInfo.signature.valueBlock.valueHexView));
  if (!ok) throw new CmsVerifyError('TAMPERED', 'the signature does not verify (non-canonical or changed signature value)');
}

/** Every link of the path, signature-checked again by OpenSSL (canonical DER ECDSA, see above). */
function checkPathWithOpenSsl(path: readonly X509Certificate[]): void {
  for (let i = 0; i + 1 < path.length; i++) {
    const child = path[i] as X509Certificate;
    const parent = path[i + 1] as X509Certificate;
    if (!child.checkIssued(parent) || !child.verify(parent.publicKey)) {
      throw new CmsVerifyError('TAMPERED', `the certificate "${formatDn(child.subject)}" does not verify against its issuer`);
    }
  }
}

/**
 * The path from the signer to an anchor ignoring validity dates (OpenSSL
 * name and signature checks only). Used only to tell "expired" from
 * "unknown" once the real, dated validation has failed.
 */
function pathIgnoringTime(signer: X509Certificate, embedded: readonly X509Certificate[], anchors: readonly TrustAnchor[]): X509Certificate[] | undefined {
  const path = [signer];
  const pool = [...embedded, ...anchors.map((a) => a.certificate)];
  for (let depth = 0; depth < MAX_CERTS; depth++) {
    const current = path[path.length - 1] as X509Certificate;
    if (anchors.some((a) => sameBytes(new Uint8Array(a.certificate.raw), new Uint8Array(current.raw)))) return path;
    const issuer = pool.find((c) => !path.includes(c) && current.checkIssued(c) && current.verify(c.publicKey));
    if (issuer === undefined) return undefined;
    path.push(issuer);
  }
  return undefined;
}

async function buildPath(signer: pkijs.Certificate, embedded: pkijs.Certificate[], anchors: readonly TrustAnchor[], at: Date): Promise<pkijs.Certificate[] | string> {
  const signerDer = derOf(signer);
  const pinned = anchors.find((a) => sameBytes(new Uint8Array(a.certificate.raw), signerDer));
  if (pinned !== undefined) return validAt(pinned.certificate, at) ? [signer] : 'The certificate is either not yet valid or expired';
  const engine = new pkijs.CertificateChainValidationEngine({
    trustedCerts: anchors.map((a) => toPkijs(a.certificate)),
    certs: [...embedded.filter((c) => !sameBytes(derOf(c), signerDer)), signer],
    checkDate: at,
  });
  try {
    const result = await engine.verify();
    if (result.result && result.certificatePath !== undefined) return result.certificatePath;
    return result.resultMessage;
  } catch (error) {
    return error instanceof Error ? error.message : typeof error === 'object' && error !== null && 'resultMessage' in error ? String(error.resultMessage) : String(error);
  }
}

export interface VerifyOptions {
  readonly anchors: readonly TrustAnchor[];
  readonly now: Date;
}

/** Verifies an attached-content CMS SignedData. Throws CmsVerifyError with a precise code and reason. */
export async function verifySignedData(bytes: Uint8Array, options: VerifyOptions): Promise<VerifiedSignedData> {
  try {
    return await verifyUnguarded(bytes, options);
  } catch (error) {
    if (error instanceof CmsVerifyError) throw error;
    // ASN.1 and X.509 libraries throw plain errors on odd input; to the caller it is all one thing: an unreadable file.
    throw new CmsVerifyError('MALFORMED', `unreadable signed file (${error instanceof Error ? error.message : String(error)})`);
  }
}

async function verifyUnguarded(bytes: Uint8Array, options: VerifyOptions): Promise<VerifiedSignedData> {
  ensurePkijsEngine();
  if (bytes.length > MAX_CMS_BYTES) throw new CmsVerifyError('MALFORMED', `the file is larger than ${MAX_CMS_BYTES} bytes`);
  const der = cmsDer(bytes);
  const { signed, signerInfo, content, hash, signingTime } = parseStrict(der);

  const embedded: pkijs.Certificate[] = [];
  for (const c of signed.certificates ?? []) {
    if (!(c instanceof pkijs.Certificate)) throw new CmsVerifyError('MALFORMED', 'only X.509 certificates may be embedded');
    embedded.push(c);
  }
  if (embedded.length > MAX_CERTS) throw new CmsVerifyError('MALFORMED', `more than ${MAX_CERTS} embedded certificates`);
  for (const c of embedded) {
    if (!sameBytes(algorithmDer(c.signatureAlgorithm), algorithmDer(c.signature))) {
      throw new CmsVerifyError('TAMPERED', 'an embedded certificate has inconsistent signature algorithms (RFC 5280 §4.1.1.2)');
    }
    // RSA and ECDSA signature values are whole octets; verifiers ignore a non-zero unused-bits count, so refuse it.
    if (c.signatureValue.valueBlock.unusedBits !== 0) throw new CmsVerifyError('TAMPERED', 'an embedded certificate signature has unused bits');
  }

  // Signature and content digest (pkijs), without chain: we build the path ourselves to name the failure precisely.
  let verdict: pkijs.SignedDataVerifyResult;
  try {
    verdict = await signed.verify({ signer: 0, checkChain: false, extendedMode: true });
  } catch (error) {
    const code = error instanceof pkijs.SignedDataVerifyError ? error.code : -1;
    const message = error instanceof Error ? error.message : String(error);
    if (code === 2 || code === 3) throw new CmsVerifyError('UNKNOWN_SIGNER', "the signer's certificate is not included in the file");
    if (/digest doesn't match/iu.test(message)) throw new CmsVerifyError('TAMPERED', 'the content does not match its signature (message digest differs)');
    throw new CmsVerifyError('TAMPERED', `the signature does not verify (${message})`);
  }
  const signerPkijs = verdict.signerCertificate;
  if (signerPkijs === null || signerPkijs === undefined) throw new CmsVerifyError('UNKNOWN_SIGNER', "the signer's certificate is not included in the file");
  const signer = toX509(signerPkijs);
  checkSignatureAlgorithm(signerInfo, signer, hash);
  if (verdict.signatureVerified !== true) throw new CmsVerifyError('TAMPERED', 'the signature does not verify: the file was changed after signing');
  checkSignerIdentifier(signerInfo, signerPkijs);
  checkSignatureWithOpenSsl(signerInfo, signer, hash);
  if (!allowsSigning(signerPkijs)) throw new CmsVerifyError('UNKNOWN_SIGNER', "the signer's certificate is not allowed to sign (keyUsage)");

  const signerSubject = formatDn(signer.subject);
  if (options.anchors.length === 0) throw new CmsVerifyError('UNKNOWN_SIGNER', `signed by "${signerSubject}", but no trust anchors are installed`);
  const path = await buildPath(signerPkijs, embedded, options.anchors, options.now);
  if (typeof path === 'string') {
    // Would the chain hold if time did not matter? Then the only problem is time.
    const timeless = pathIgnoringTime(signer, embedded.map(toX509), options.anchors);
    const stale = timeless?.find((c) => !validAt(c, options.now));
    if (stale !== undefined) {
      const when =
        parseOpenSslTime(stale.validTo).getTime() < options.now.getTime()
          ? `expired on ${parseOpenSslTime(stale.validTo).toISOString()}`
          : `is not valid before ${parseOpenSslTime(stale.validFrom).toISOString()}`;
      throw new CmsVerifyError('SIGNER_EXPIRED', `the signing certificate chain is not valid now: "${formatDn(stale.subject)}" ${when}`);
    }
    throw new CmsVerifyError('UNKNOWN_SIGNER', `signed by "${signerSubject}" (issuer "${formatDn(signer.issuer)}"), which does not chain to an installed trust anchor (${path})`);
  }
  const pathDer = path.map(derOf);
  const anchorDer = options.anchors.map((a) => new Uint8Array(a.certificate.raw));
  for (const c of embedded) {
    const d = derOf(c);
    if (!pathDer.some((p) => sameBytes(p, d)) && !anchorDer.some((a) => sameBytes(a, d))) {
      throw new CmsVerifyError('MALFORMED', `embedded certificate "${formatDn(toX509(c).subject)}" is not on the signer's path to a trust anchor`);
    }
  }
  if (signingTime !== undefined) {
    if (signingTime.getTime() > options.now.getTime() + SIGNING_TIME_SKEW_MS) throw new CmsVerifyError('MALFORMED', `the signing time ${signingTime.toISOString()} is in the future`);
    if (!validAt(signer, signingTime)) throw new CmsVerifyError('SIGNER_EXPIRED', `signed at ${signingTime.toISOString()}, outside the signer certificate's validity`);
  }
  // pkijs ends the path with the trusted certificate it reached (a pinned signer is its own anchor).
  const last = pathDer[pathDer.length - 1] as Uint8Array;
  const anchor = options.anchors.find((a) => sameBytes(new Uint8Array(a.certificate.raw), last));
  if (anchor === undefined) throw new CmsVerifyError('UNKNOWN_SIGNER', `signed by "${signerSubject}", but the validated path does not end at an installed anchor`);
  const fullPath = path.map(toX509);
  checkPathWithOpenSsl(fullPath);
  return signingTime === undefined
    ? { content, signer, signerSubject, path: fullPath, anchor }
    : { content, signer, signerSubject, path: fullPath, anchor, signingTime };
}

// ------------------------------------------------------------------ signing

export interface SignOptions {
  readonly signerCertificate: X509Certificate;
  readonly signerKey: KeyObject;
  /** Intermediates to embed so verifiers can reach their anchor. */
  readonly chain?: readonly X509Certificate[];
  readonly signingTime: Date;
}

export class CmsSignError extends Error {
  override readonly name = 'CmsSignError';
}

const hashFor = (key: KeyObject): Hash => {
  const t = keyTypeOf(key);
  if (t.kind === 'ecdsa') return t.curve === 'P-384' ? 'sha384' : t.curve === 'P-521' ? 'sha512' : 'sha256';
  if (t.kind === 'rsa') return 'sha256';
  throw new CmsSignError(`key type ${t.name} cannot sign bundles (use RSA ≥ 2048 or ECDSA P-256/P-384/P-521)`);
};

/**
 * Signs `content` as attached id-data, like `openssl cms -sign -nodetach
 * -binary`: signed attributes content-type, signing-time, message-digest.
 * Returns DER.
 */
export function signData(content: Uint8Array, options: SignOptions): Uint8Array {
  ensurePkijsEngine();
  const { signerCertificate, signerKey } = options;
  if (!signerCertificate.checkPrivateKey(signerKey)) throw new CmsSignError('the private key does not belong to the signer certificate');
  const hash = hashFor(signerKey);
  const isEc = signerKey.asymmetricKeyType === 'ec';
  const cert = toPkijs(signerCertificate);
  const digest = createHash(hash).update(content).digest();
  const signedAttrs = new pkijs.SignedAndUnsignedAttributes({
    type: 0,
    attributes: [
      new pkijs.Attribute({ type: OID.contentType, values: [new asn1js.ObjectIdentifier({ value: OID.data })] }),
      new pkijs.Attribute({ type: OID.signingTime, values: [new asn1js.UTCTime({ valueDate: options.signingTime })] }),
      new pkijs.Attribute({ type: OID.messageDigest, values: [new asn1js.OctetString({ valueHex: toArrayBuffer(digest) })] }),
    ],
  });
  // RFC 5652 §5.4: the signature covers the DER of the attributes with an explicit SET OF tag.
  const attrsDer = new Uint8Array(signedAttrs.toSchema().toBER(false));
  attrsDer[0] = 0x31;
  const signature = cryptoSign(hash, attrsDer, signerKey);
  const signerInfo = new pkijs.SignerInfo({
    version: 1,
    sid: new pkijs.IssuerAndSerialNumber({ issuer: cert.issuer, serialNumber: cert.serialNumber }),
    digestAlgorithm: new pkijs.AlgorithmIdentifier({ algorithmId: DIGEST_OID[hash], algorithmParams: new asn1js.Null() }),
    signedAttrs,
    signatureAlgorithm: isEc
      ? new pkijs.AlgorithmIdentifier({ algorithmId: ECDSA_SIG[hash] })
      : new pkijs.AlgorithmIdentifier({ algorithmId: OID.rsaEncryption, algorithmParams: new asn1js.Null() }),
    signature: new asn1js.OctetString({ valueHex: toArrayBuffer(signature) }),
  });
  const encapContentInfo = new pkijs.EncapsulatedContentInfo({ eContentType: OID.data });
  // Set after construction: pkijs' constructor would split the content into a constructed (BER) OCTET STRING; DER wants it primitive.
  encapContentInfo.eContent = new asn1js.OctetString({ valueHex: toArrayBuffer(content) });
  const signed = new pkijs.SignedData({
    version: 1,
    digestAlgorithms: [new pkijs.AlgorithmIdentifier({ algorithmId: DIGEST_OID[hash], algorithmParams: new asn1js.Null() })],
    encapContentInfo,
    certificates: [cert, ...(options.chain ?? []).map(toPkijs)],
    signerInfos: [signerInfo],
  });
  const info = new pkijs.ContentInfo({ contentType: OID.signedData, content: signed.toSchema(true) });
  return new Uint8Array(info.toSchema().toBER(false));
}

export const cmsToPem = (der: Uint8Array): string => encodePem('CMS', der);
