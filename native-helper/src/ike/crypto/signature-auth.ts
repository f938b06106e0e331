/**
 * Signature authentication (RFC 7296 §2.15, §3.8):
 *   - RFC 7427 DIGITAL_SIGNATURE (14) when the peer announced
 *     SIGNATURE_HASH_ALGORITHMS: AUTH data = ASN.1 length (1 octet) |
 *     AlgorithmIdentifier | signature; ECDSA signatures are DER
 *     Ecdsa-Sig-Value, Ed25519/Ed448 sign the octets themselves (RFC 8420);
 *   - otherwise the classic methods: RSA_SIG (1, PKCS#1 v1.5 with SHA-1, as
 *     RFC 7296 §3.8 fixes it; used only in this fallback) and ECDSA_256/384/521
 *     (9/10/11, RFC 4754: r | s, each the curve's length, with the curve's hash).
 *
 * Verification never throws for malformed input: it returns `{ ok: false, reason }`.
 */
import { constants, sign, verify } from 'node:crypto';
import type { KeyObject } from 'node:crypto';

import { AuthMethod, HashAlgorithm, authMethodName } from '../constants.js';
import { asBytes, concatBytes } from './bytes.js';
import { UnsupportedAlgorithmError } from './errors.js';
import { HASH_BY_ID, HASH_OUTPUT_LENGTH, encodeAlgorithmIdentifier, parseAlgorithmIdentifier, schemeName } from './signature-algorithm.js';
import type { SignatureHash, SignatureScheme } from './signature-algorithm.js';

/**
 * What we announce in SIGNATURE_HASH_ALGORITHMS (RFC 7427 §4): the SHA-2
 * family, and IDENTITY because Ed25519/Ed448 are supported (RFC 8420 §2).
 */
export const SUPPORTED_HASH_ALGORITHMS: readonly number[] = [HashAlgorithm.SHA2_256, HashAlgorithm.SHA2_384, HashAlgorithm.SHA2_512, HashAlgorithm.IDENTITY];

/** RFC 8247 §3 / NIST SP 800-131A: smaller RSA moduli are refused both ways. */
export const MIN_RSA_BITS = 2048;

type EcCurve = 'P-256' | 'P-384' | 'P-521';

type KeyClass =
  | {
      readonly kind: 'rsa';
      readonly bits: number;
      /** an RSASSA-PSS key (id-RSASSA-PSS SubjectPublicKeyInfo): PSS signatures only */
      readonly pssOnly: boolean;
      /** RFC 4055 §3.3 parameters an RSA-PSS key may carry, restricting the hash and the minimum salt */
      readonly pssHash?: string;
      readonly pssMinSalt?: number;
    }
  | { readonly kind: 'ec'; readonly curve: EcCurve }
  | { readonly kind: 'ed25519' }
  | { readonly kind: 'ed448' }
  | { readonly kind: 'unsupported'; readonly what: string };

const EC_CURVES: Readonly<Record<string, EcCurve>> = { prime256v1: 'P-256', secp384r1: 'P-384', secp521r1: 'P-521' };

interface EcCurveInfo {
  readonly method: number;
  readonly hash: SignatureHash;
  readonly coordinateLength: number;
}

/** RFC 4754 §3 / §8: method, hash and r/s length per curve */
const EC_INFO: Readonly<Record<EcCurve, EcCurveInfo>> = {
  'P-256': { method: AuthMethod.ECDSA_256, hash: 'sha256', coordinateLength: 32 },
  'P-384': { method: AuthMethod.ECDSA_384, hash: 'sha384', coordinateLength: 48 },
  'P-521': { method: AuthMethod.ECDSA_521, hash: 'sha512', coordinateLength: 66 },
};

function classify(key: KeyObject): KeyClass {
  const details = key.asymmetricKeyDetails ?? {};
  switch (key.asymmetricKeyType) {
    case 'rsa':
      return { kind: 'rsa', bits: details.modulusLength ?? 0, pssOnly: false };
    case 'rsa-pss':
      return { kind: 'rsa', bits: details.modulusLength ?? 0, pssOnly: true, pssHash: details.hashAlgorithm, pssMinSalt: details.saltLength };
    case 'ec': {
      const curve = EC_CURVES[details.namedCurve ?? ''];
      return curve === undefined ? { kind: 'unsupported', what: `EC curve ${details.namedCurve ?? '?'}` } : { kind: 'ec', curve };
    }
    case 'ed25519':
      return { kind: 'ed25519' };
    case 'ed448':
      return { kind: 'ed448' };
    default:
      return { kind: 'unsupported', what: `${key.asymmetricKeyType ?? key.type} key` };
  }
}

/** Our order of preference among the hashes the peer announced. */
const HASH_PREFERENCE: readonly SignatureHash[] = ['sha512', 'sha384', 'sha256'];

function pickHash(peerHashes: ReadonlySet<SignatureHash>, first?: SignatureHash): SignatureHash | undefined {
  const order = first === undefined ? HASH_PREFERENCE : [first, ...HASH_PREFERENCE];
  return order.find((h) => peerHashes.has(h));
}

export interface CreateSignatureAuthInput {
  readonly privateKey: KeyObject;
  /** InitiatorSignedOctets / ResponderSignedOctets (signedOctets()) */
  readonly octets: Uint8Array;
  /** hash ids from the peer's SIGNATURE_HASH_ALGORITHMS notify; empty when it sent none */
  readonly peerHashAlgorithms: readonly number[];
  /** RSA with RFC 7427: PKCS#1 v1.5 (default, widest interop) or RSASSA-PSS; RSA-PSS keys always use PSS */
  readonly rsaPadding?: 'pkcs1' | 'pss';
}

export interface SignatureAuth {
  /** AUTH method (RFC 7296 §3.8) */
  readonly method: number;
  /** AUTH payload data after the method and reserved octets */
  readonly data: Uint8Array;
  /** e.g. "ecdsa-sha384", for logs */
  readonly scheme: string;
}

function signScheme(scheme: SignatureScheme, key: KeyObject, octets: Uint8Array): Uint8Array {
  switch (scheme.kind) {
    case 'ecdsa':
      return asBytes(sign(scheme.hash, octets, { key, dsaEncoding: 'der' }));
    case 'rsa-pkcs1':
      return asBytes(sign(scheme.hash, octets, { key, padding: constants.RSA_PKCS1_PADDING }));
    case 'rsa-pss':
      return asBytes(sign(scheme.hash, octets, { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: scheme.saltLength }));
    case 'ed25519':
    case 'ed448':
      return asBytes(sign(null, octets, key));
  }
}

function digitalSignatureScheme(k: KeyClass, peer: ReadonlySet<number>, rsaPadding: 'pkcs1' | 'pss'): SignatureScheme {
  const fail = (detail: string): never => {
    throw new UnsupportedAlgorithmError('AUTH', AuthMethod.DIGITAL_SIGNATURE, detail);
  };
  const peerHashes = new Set<SignatureHash>();
  for (const id of peer) {
    const h = HASH_BY_ID.get(id);
    if (h !== undefined) peerHashes.add(h);
  }
  switch (k.kind) {
    case 'ed25519':
    case 'ed448':
      // RFC 8420 §2: EdDSA signs the octets directly, announced as the IDENTITY hash.
      if (!peer.has(HashAlgorithm.IDENTITY)) return fail(`${k.kind} needs the peer to announce IDENTITY (RFC 8420)`);
      return { kind: k.kind };
    case 'ec': {
      // The curve's own hash first (RFC 5656-style pairing), then our general preference.
      const hash = pickHash(peerHashes, EC_INFO[k.curve].hash) ?? fail('the peer announced no SHA-2 hash we support');
      return { kind: 'ecdsa', hash };
    }
    case 'rsa': {
      if (k.pssHash !== undefined) {
        // An RSA-PSS key with parameters may sign with its own hash only (RFC 4055 §3.3).
        const own = HASH_PREFERENCE.find((h) => h === k.pssHash) ?? fail(`RSA-PSS key restricted to ${k.pssHash}`);
        if (!peerHashes.has(own)) return fail(`RSA-PSS key restricted to ${own}, which the peer did not announce`);
        return { kind: 'rsa-pss', hash: own, saltLength: Math.max(HASH_OUTPUT_LENGTH[own], k.pssMinSalt ?? 0) };
      }
      const hash = pickHash(peerHashes) ?? fail('the peer announced no SHA-2 hash we support');
      // RFC 4055 §3.1 recommends a salt as long as the hash; strongSwan uses the same.
      if (k.pssOnly || rsaPadding === 'pss') return { kind: 'rsa-pss', hash, saltLength: HASH_OUTPUT_LENGTH[hash] };
      return { kind: 'rsa-pkcs1', hash };
    }
    case 'unsupported':
      return fail(k.what);
  }
}

/**
 * Signs `octets` for our AUTH payload. Throws UnsupportedAlgorithmError when
 * the key cannot be used with what the peer announced (e.g. Ed25519 without
 * RFC 7427, an RSA key under 2048 bits).
 */
export function createSignatureAuth(p: CreateSignatureAuthInput): SignatureAuth {
  const k = classify(p.privateKey);
  if (k.kind === 'rsa' && k.bits < MIN_RSA_BITS) {
    throw new UnsupportedAlgorithmError('AUTH', AuthMethod.RSA_SIG, `RSA key of ${k.bits} bits (at least ${MIN_RSA_BITS})`);
  }
  if (p.peerHashAlgorithms.length > 0) {
    const scheme = digitalSignatureScheme(k, new Set(p.peerHashAlgorithms), p.rsaPadding ?? 'pkcs1');
    const algorithmIdentifier = encodeAlgorithmIdentifier(scheme);
    const signature = signScheme(scheme, p.privateKey, p.octets);
    return {
      method: AuthMethod.DIGITAL_SIGNATURE,
      data: concatBytes(Uint8Array.of(algorithmIdentifier.length), algorithmIdentifier, signature),
      scheme: schemeName(scheme),
    };
  }
  // The peer does not do RFC 7427: the classic methods of RFC 7296 §3.8 / RFC 4754.
  switch (k.kind) {
    case 'rsa':
      if (k.pssOnly) throw new UnsupportedAlgorithmError('AUTH', AuthMethod.RSA_SIG, 'an RSA-PSS key needs RFC 7427 (the peer did not announce it)');
      return {
        method: AuthMethod.RSA_SIG,
        data: asBytes(sign('sha1', p.octets, { key: p.privateKey, padding: constants.RSA_PKCS1_PADDING })),
        scheme: 'rsa-pkcs1-sha1',
      };
    case 'ec': {
      const info = EC_INFO[k.curve];
      return {
        method: info.method,
        data: asBytes(sign(info.hash, p.octets, { key: p.privateKey, dsaEncoding: 'ieee-p1363' })),
        scheme: `ecdsa-${info.hash}`,
      };
    }
    case 'ed25519':
    case 'ed448':
      throw new UnsupportedAlgorithmError('AUTH', AuthMethod.DIGITAL_SIGNATURE, `${k.kind} needs RFC 7427 (the peer did not announce SIGNATURE_HASH_ALGORITHMS)`);
    case 'unsupported':
      throw new UnsupportedAlgorithmError('AUTH', AuthMethod.DIGITAL_SIGNATURE, k.what);
  }
}

export interface VerifySignatureAuthInput {
  readonly method: number;
  readonly data: Uint8Array;
  readonly publicKey: KeyObject;
  readonly octets: Uint8Array;
}

export type SignatureVerdict = { readonly ok: true; readonly scheme: string } | { readonly ok: false; readonly reason: string };

function keyFits(scheme: SignatureScheme, k: KeyClass): string | undefined {
  switch (scheme.kind) {
    case 'ecdsa':
      return k.kind === 'ec' ? undefined : `an ECDSA signature but a ${k.kind} key`;
    case 'rsa-pkcs1':
      if (k.kind !== 'rsa') return `an RSA signature but a ${k.kind} key`;
      return k.pssOnly ? 'a PKCS#1 v1.5 signature but an RSA-PSS-only key' : undefined;
    case 'rsa-pss':
      return k.kind === 'rsa' ? undefined : `an RSA-PSS signature but a ${k.kind} key`;
    case 'ed25519':
    case 'ed448':
      return k.kind === scheme.kind ? undefined : `an ${scheme.kind} signature but a ${k.kind} key`;
  }
}

function verifyScheme(scheme: SignatureScheme, key: KeyObject, octets: Uint8Array, signature: Uint8Array): boolean {
  switch (scheme.kind) {
    case 'ecdsa':
      return verify(scheme.hash, octets, { key, dsaEncoding: 'der' }, signature);
    case 'rsa-pkcs1':
      return verify(scheme.hash, octets, { key, padding: constants.RSA_PKCS1_PADDING }, signature);
    case 'rsa-pss':
      return verify(scheme.hash, octets, { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: scheme.saltLength }, signature);
    case 'ed25519':
    case 'ed448':
      return verify(null, octets, key, signature);
  }
}

function verifyDigitalSignature(data: Uint8Array, key: KeyObject, k: KeyClass, octets: Uint8Array): SignatureVerdict {
  // RFC 7427 §3: ASN.1 Length (1 octet) | AlgorithmIdentifier | Signature Value
  if (data.length < 1) return { ok: false, reason: 'empty AUTH data' };
  const algLength = data[0] as number;
  if (algLength === 0 || data.length <= 1 + algLength) return { ok: false, reason: `AUTH data of ${data.length} octets cannot hold an AlgorithmIdentifier of ${algLength} and a signature` };
  const parsed = parseAlgorithmIdentifier(data.subarray(1, 1 + algLength));
  if (!parsed.ok) return parsed;
  const mismatch = keyFits(parsed.scheme, k);
  if (mismatch !== undefined) return { ok: false, reason: `${mismatch} in the certificate` };
  const name = schemeName(parsed.scheme);
  return verifyScheme(parsed.scheme, key, octets, data.subarray(1 + algLength)) ? { ok: true, scheme: name } : { ok: false, reason: `${name} signature does not verify` };
}

/**
 * Checks the peer's AUTH payload against its public key. Returns the scheme
 * on success and a plain reason otherwise; never throws.
 */
export function verifySignatureAuth(p: VerifySignatureAuthInput): SignatureVerdict {
  try {
    const k = classify(p.publicKey);
    if (k.kind === 'unsupported') return { ok: false, reason: `unsupported ${k.what}` };
    if (k.kind === 'rsa' && k.bits < MIN_RSA_BITS) return { ok: false, reason: `RSA key of ${k.bits} bits (at least ${MIN_RSA_BITS} required)` };
    switch (p.method) {
      case AuthMethod.DIGITAL_SIGNATURE:
        return verifyDigitalSignature(p.data, p.publicKey, k, p.octets);
      case AuthMethod.RSA_SIG:
        if (k.kind !== 'rsa' || k.pssOnly) return { ok: false, reason: `RSA_SIG with a ${k.kind === 'rsa' ? 'RSA-PSS-only' : k.kind} key` };
        return verify('sha1', p.octets, { key: p.publicKey, padding: constants.RSA_PKCS1_PADDING }, p.data)
          ? { ok: true, scheme: 'rsa-pkcs1-sha1' }
          : { ok: false, reason: 'RSA_SIG signature does not verify' };
      case AuthMethod.ECDSA_256:
      case AuthMethod.ECDSA_384:
      case AuthMethod.ECDSA_521: {
        const method = authMethodName(p.method);
        if (k.kind !== 'ec' || EC_INFO[k.curve].method !== p.method) {
          return { ok: false, reason: `${method} with a ${k.kind === 'ec' ? k.curve : k.kind} key` };
        }
        const info = EC_INFO[k.curve];
        // RFC 4754 §7: r | s, each exactly the curve's length.
        if (p.data.length !== 2 * info.coordinateLength) return { ok: false, reason: `${method} signature of ${p.data.length} octets, expected ${2 * info.coordinateLength}` };
        return verify(info.hash, p.octets, { key: p.publicKey, dsaEncoding: 'ieee-p1363' }, p.data)
          ? { ok: true, scheme: `ecdsa-${info.hash}` }
          : { ok: false, reason: `${method} signature does not verify` };
      }
      default:
        return { ok: false, reason: `AUTH method ${authMethodName(p.method)} is not a signature method` };
    }
  } catch {
    // OpenSSL refuses some malformed signatures (e.g. bad DER) by raising instead of returning false.
    return { ok: false, reason: 'malformed signature' };
  }
}
