/**
 * Signature schemes of RFC 7427 DIGITAL_SIGNATURE authentication and their
 * ASN.1 AlgorithmIdentifiers (RFC 7427 §3 and Appendix A, RFC 4055 §3.1 for
 * RSASSA-PSS, RFC 8410 §3 for EdDSA, RFC 5758 §3.2 for ECDSA).
 *
 * Parsing is a lookup over a small set of known OIDs with explicit bounds
 * (der.ts); anything else is reported as unsupported, never thrown.
 */
import { HashAlgorithm } from '../constants.js';
import { DerError, DerTag, derSmallInteger, derTlv, readDerSequence, readDerSmallInteger, readDerWhole } from './der.js';
import type { DerElement } from './der.js';

/** The SHA-2 hashes we sign and verify with; node:crypto names. */
export type SignatureHash = 'sha256' | 'sha384' | 'sha512';

export type SignatureScheme =
  | { readonly kind: 'ecdsa'; readonly hash: SignatureHash }
  | { readonly kind: 'rsa-pkcs1'; readonly hash: SignatureHash }
  | { readonly kind: 'rsa-pss'; readonly hash: SignatureHash; readonly saltLength: number }
  | { readonly kind: 'ed25519' }
  | { readonly kind: 'ed448' };

export const HASH_OUTPUT_LENGTH: Readonly<Record<SignatureHash, number>> = { sha256: 32, sha384: 48, sha512: 64 };

/** RFC 7427 §4 hash algorithm numbers ↔ node:crypto names */
export const HASH_BY_ID: ReadonlyMap<number, SignatureHash> = new Map([
  [HashAlgorithm.SHA2_256, 'sha256'],
  [HashAlgorithm.SHA2_384, 'sha384'],
  [HashAlgorithm.SHA2_512, 'sha512'],
]);

export function hashId(hash: SignatureHash): number {
  for (const [id, name] of HASH_BY_ID) if (name === hash) return id;
  throw new RangeError(`unknown hash ${String(hash)}`);
}

/** A short stable name for logs, e.g. "ecdsa-sha384", "rsa-pss-sha256", "ed25519". */
export function schemeName(s: SignatureScheme): string {
  switch (s.kind) {
    case 'ecdsa':
      return `ecdsa-${s.hash}`;
    case 'rsa-pkcs1':
      return `rsa-pkcs1-${s.hash}`;
    case 'rsa-pss':
      return `rsa-pss-${s.hash}`;
    default:
      return s.kind;
  }
}

// OID contents octets (X.690 §8.19), hex
const OID = {
  ecdsaWithSha256: '2a8648ce3d040302', // 1.2.840.10045.4.3.2
  ecdsaWithSha384: '2a8648ce3d040303',
  ecdsaWithSha512: '2a8648ce3d040304',
  sha256WithRsa: '2a864886f70d01010b', // 1.2.840.113549.1.1.11
  sha384WithRsa: '2a864886f70d01010c',
  sha512WithRsa: '2a864886f70d01010d',
  rsassaPss: '2a864886f70d01010a', // 1.2.840.113549.1.1.10
  mgf1: '2a864886f70d010108', // 1.2.840.113549.1.1.8
  sha1: '2b0e03021a', // 1.3.14.3.2.26
  sha256: '608648016503040201', // 2.16.840.1.101.3.4.2.1
  sha384: '608648016503040202',
  sha512: '608648016503040203',
  ed25519: '2b6570', // 1.3.101.112
  ed448: '2b6571', // 1.3.101.113
  sha1WithRsa: '2a864886f70d010105',
} as const;

const ECDSA_OIDS: Readonly<Record<SignatureHash, string>> = { sha256: OID.ecdsaWithSha256, sha384: OID.ecdsaWithSha384, sha512: OID.ecdsaWithSha512 };
const RSA_OIDS: Readonly<Record<SignatureHash, string>> = { sha256: OID.sha256WithRsa, sha384: OID.sha384WithRsa, sha512: OID.sha512WithRsa };
const HASH_OIDS: Readonly<Record<SignatureHash, string>> = { sha256: OID.sha256, sha384: OID.sha384, sha512: OID.sha512 };

const toHex = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.length).toString('hex');
const oid = (hex: string): Uint8Array => derTlv(DerTag.OID, Uint8Array.from(Buffer.from(hex, 'hex')));
const NULL = derTlv(DerTag.NULL);

function hashAlgorithmIdentifier(hash: SignatureHash): Uint8Array {
  // RFC 4055 §2.1: the SHA-2 identifiers are written with NULL parameters.
  return derTlv(DerTag.SEQUENCE, oid(HASH_OIDS[hash]), NULL);
}

/** The DER AlgorithmIdentifier of a signature scheme (RFC 7427 Appendix A encodings). */
export function encodeAlgorithmIdentifier(s: SignatureScheme): Uint8Array {
  switch (s.kind) {
    case 'ecdsa':
      // RFC 5758 §3.2: ecdsa-with-SHA* carry no parameters.
      return derTlv(DerTag.SEQUENCE, oid(ECDSA_OIDS[s.hash]));
    case 'rsa-pkcs1':
      // RFC 4055 §5: parameters NULL.
      return derTlv(DerTag.SEQUENCE, oid(RSA_OIDS[s.hash]), NULL);
    case 'rsa-pss': {
      // RFC 4055 §3.1: RSASSA-PSS-params; trailerField 1 is the default and omitted.
      const params = derTlv(
        DerTag.SEQUENCE,
        derTlv(DerTag.CONTEXT_0, hashAlgorithmIdentifier(s.hash)),
        derTlv(DerTag.CONTEXT_1, derTlv(DerTag.SEQUENCE, oid(OID.mgf1), hashAlgorithmIdentifier(s.hash))),
        derTlv(DerTag.CONTEXT_2, derSmallInteger(s.saltLength)),
      );
      return derTlv(DerTag.SEQUENCE, oid(OID.rsassaPss), params);
    }
    case 'ed25519':
      return derTlv(DerTag.SEQUENCE, oid(OID.ed25519));
    case 'ed448':
      return derTlv(DerTag.SEQUENCE, oid(OID.ed448));
  }
}

export type ParsedAlgorithm = { readonly ok: true; readonly scheme: SignatureScheme } | { readonly ok: false; readonly reason: string };

function lookup(table: Readonly<Record<SignatureHash, string>>, oidHex: string): SignatureHash | undefined {
  for (const [hash, value] of Object.entries(table) as [SignatureHash, string][]) if (value === oidHex) return hash;
  return undefined;
}

/** Absent or NULL parameters (both occur in the wild for the RSA and hash OIDs). */
function noParameters(rest: readonly DerElement[]): boolean {
  return rest.length === 0 || (rest.length === 1 && rest[0]?.tag === DerTag.NULL && rest[0].value.length === 0);
}

function expectOidHash(el: DerElement, what: string): SignatureHash {
  if (el.tag !== DerTag.SEQUENCE) throw new DerError(`${what}: expected AlgorithmIdentifier`);
  const [algorithm, ...rest] = readDerSequence(el.value);
  if (algorithm?.tag !== DerTag.OID || !noParameters(rest)) throw new DerError(`${what}: bad AlgorithmIdentifier`);
  const hex = toHex(algorithm.value);
  if (hex === OID.sha1) throw new DerError(`${what}: SHA-1 is not accepted`);
  const hash = lookup(HASH_OIDS, hex);
  if (hash === undefined) throw new DerError(`${what}: unknown hash OID ${hex}`);
  return hash;
}

/** RFC 4055 §3.1 RSASSA-PSS-params, with its defaults (SHA-1, MGF1-SHA-1, salt 20, trailer 1). */
function parsePssParameters(params: DerElement | undefined): SignatureScheme {
  if (params?.tag !== DerTag.SEQUENCE) throw new DerError('RSASSA-PSS without parameters (SHA-1 defaults are not accepted)');
  let hash: SignatureHash | undefined;
  let mgfHash: SignatureHash | undefined;
  let saltLength = 20;
  let lastTag = 0;
  for (const field of readDerSequence(params.value)) {
    if (field.tag <= lastTag) throw new DerError('RSASSA-PSS parameters out of order');
    lastTag = field.tag;
    const inner = readDerWhole(field.value);
    switch (field.tag) {
      case DerTag.CONTEXT_0:
        hash = expectOidHash(inner, 'hashAlgorithm');
        break;
      case DerTag.CONTEXT_1: {
        if (inner.tag !== DerTag.SEQUENCE) throw new DerError('maskGenAlgorithm: expected AlgorithmIdentifier');
        const [algorithm, mgfParams, ...extra] = readDerSequence(inner.value);
        if (algorithm?.tag !== DerTag.OID || toHex(algorithm.value) !== OID.mgf1 || mgfParams === undefined || extra.length > 0) {
          throw new DerError('maskGenAlgorithm: only MGF1 is supported');
        }
        mgfHash = expectOidHash(mgfParams, 'MGF1 hash');
        break;
      }
      case DerTag.CONTEXT_2:
        saltLength = readDerSmallInteger(inner);
        break;
      case DerTag.CONTEXT_3:
        if (readDerSmallInteger(inner) !== 1) throw new DerError('trailerField must be 1');
        break;
      default:
        throw new DerError(`unexpected RSASSA-PSS field 0x${field.tag.toString(16)}`);
    }
  }
  if (hash === undefined || mgfHash === undefined) throw new DerError('RSASSA-PSS with SHA-1 defaults is not accepted');
  // node:crypto's PSS uses MGF1 over the message hash; other combinations are not produced by common peers.
  if (mgfHash !== hash) throw new DerError(`RSASSA-PSS with MGF1-${mgfHash} and ${hash} is not supported`);
  return { kind: 'rsa-pss', hash, saltLength };
}

/**
 * Parses the AlgorithmIdentifier of an RFC 7427 AUTH payload. Returns
 * `{ ok: false, reason }` for malformed DER and for anything we do not
 * accept (unknown OIDs, SHA-1, odd parameters).
 */
export function parseAlgorithmIdentifier(der: Uint8Array): ParsedAlgorithm {
  try {
    const top = readDerWhole(der);
    if (top.tag !== DerTag.SEQUENCE) return { ok: false, reason: 'AlgorithmIdentifier is not a SEQUENCE' };
    const [algorithm, ...rest] = readDerSequence(top.value);
    if (algorithm?.tag !== DerTag.OID) return { ok: false, reason: 'AlgorithmIdentifier has no OID' };
    const hex = toHex(algorithm.value);
    const ecdsa = lookup(ECDSA_OIDS, hex);
    if (ecdsa !== undefined) {
      return rest.length === 0 ? { ok: true, scheme: { kind: 'ecdsa', hash: ecdsa } } : { ok: false, reason: 'ECDSA AlgorithmIdentifier with parameters' };
    }
    const rsa = lookup(RSA_OIDS, hex);
    if (rsa !== undefined) {
      return noParameters(rest) ? { ok: true, scheme: { kind: 'rsa-pkcs1', hash: rsa } } : { ok: false, reason: 'RSA AlgorithmIdentifier with unexpected parameters' };
    }
    if (hex === OID.rsassaPss) {
      if (rest.length > 1) return { ok: false, reason: 'RSASSA-PSS AlgorithmIdentifier with trailing elements' };
      return { ok: true, scheme: parsePssParameters(rest[0]) };
    }
    if (hex === OID.ed25519 || hex === OID.ed448) {
      if (rest.length !== 0) return { ok: false, reason: 'EdDSA AlgorithmIdentifier with parameters (RFC 8410 §3: absent)' };
      return { ok: true, scheme: { kind: hex === OID.ed25519 ? 'ed25519' : 'ed448' } };
    }
    if (hex === OID.sha1WithRsa) return { ok: false, reason: 'sha1WithRSAEncryption is not accepted' };
    return { ok: false, reason: `unsupported signature algorithm OID ${hex}` };
  } catch (e) {
    if (e instanceof DerError) return { ok: false, reason: `malformed AlgorithmIdentifier: ${e.message}` };
    throw e;
  }
}
