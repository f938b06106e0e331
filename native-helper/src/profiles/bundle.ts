/**
 * Signed profile bundles from IT: CMS SignedData (DER or PEM, content
 * attached) around the bundle JSON (bundle-format.ts). Accepted only if
 *   1. the signature verifies and the file is exactly what was signed (cms.ts),
 *   2. the signer chains to a trust anchor the administrator installed,
 *   3. the signer's certificates are valid now,
 *   4. the bundle has not expired, and
 *   5. its serial is not older than one already imported from its issuer.
 * Everything else is refused with a BundleError naming the reason.
 */
import type { KeyObject, X509Certificate } from 'node:crypto';

import { formatIssues, type ProfileIssue } from '../api/profile.js';
import { CmsVerifyError, looksLikeCms, signData, verifySignedData, type TrustAnchor, type VerifiedSignedData } from './cms.js';
import { BUNDLE_FORMAT, parseBundle, type Bundle } from './bundle-format.js';

export type BundleErrorCode = 'UNSIGNED' | 'MALFORMED' | 'TAMPERED' | 'UNKNOWN_SIGNER' | 'SIGNER_EXPIRED' | 'BUNDLE_EXPIRED' | 'ROLLBACK' | 'INVALID_CONTENT';

export class BundleError extends Error {
  override readonly name = 'BundleError';
  constructor(
    readonly code: BundleErrorCode,
    message: string,
    readonly issues: readonly ProfileIssue[] = [],
  ) {
    super(message);
  }
}

export interface VerifiedBundle {
  readonly bundle: Bundle;
  readonly signature: VerifiedSignedData;
}

export interface BundleVerifyOptions {
  readonly anchors: readonly TrustAnchor[];
  readonly now: Date;
  /** The highest serial already imported from this issuer, if any. */
  readonly lastSerial?: (issuer: string) => Promise<number | undefined>;
}

const MAX_CONTENT_BYTES = 4 * 1024 * 1024;
/** A bundle issued a little in the future is clock skew; more is a mistake. */
const ISSUED_SKEW_MS = 10 * 60_000;

/** Parses the signed content: UTF-8 JSON in the bundle format. */
export function parseBundleContent(content: Uint8Array): Bundle {
  if (content.length > MAX_CONTENT_BYTES) throw new BundleError('INVALID_CONTENT', `the bundle content is larger than ${MAX_CONTENT_BYTES} bytes`);
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(content));
  } catch (error) {
    throw new BundleError('INVALID_CONTENT', `the signed content is not UTF-8 JSON (${error instanceof Error ? error.message : String(error)})`);
  }
  const parsed = parseBundle(json);
  if (!parsed.ok) throw new BundleError('INVALID_CONTENT', `the bundle content is invalid:\n${formatIssues(parsed.issues)}`, parsed.issues);
  return parsed.bundle;
}

export const looksLikeUnsignedBundle = (bytes: Uint8Array): boolean => {
  try {
    const json: unknown = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
    return json !== null && typeof json === 'object' && (json as Record<string, unknown>)['format'] === BUNDLE_FORMAT;
  } catch {
    return false;
  }
};

export async function verifyBundle(bytes: Uint8Array, options: BundleVerifyOptions): Promise<VerifiedBundle> {
  if (!looksLikeCms(bytes)) {
    if (looksLikeUnsignedBundle(bytes)) throw new BundleError('UNSIGNED', 'the bundle is not signed: IT must sign it (openssl cms -sign -nodetach -binary, or strait bundle sign)');
    throw new BundleError('MALFORMED', 'not a signed bundle (expected CMS SignedData, DER or PEM)');
  }
  let signature: VerifiedSignedData;
  try {
    signature = await verifySignedData(bytes, { anchors: options.anchors, now: options.now });
  } catch (error) {
    if (error instanceof CmsVerifyError) throw new BundleError(error.code, error.message);
    throw error;
  }
  return acceptSignedBundle(signature, options);
}

/** Steps 4–5 (content, expiry, rollback) for content whose signature already verified. */
export async function acceptSignedBundle(signature: VerifiedSignedData, options: Pick<BundleVerifyOptions, 'now' | 'lastSerial'>): Promise<VerifiedBundle> {
  const bundle = parseBundleContent(signature.content);
  if (bundle.expiresAt.getTime() <= options.now.getTime()) throw new BundleError('BUNDLE_EXPIRED', `the bundle expired on ${bundle.expiresAt.toISOString()}; ask IT for a current one`);
  if (bundle.issuedAt.getTime() > options.now.getTime() + ISSUED_SKEW_MS) throw new BundleError('INVALID_CONTENT', `the bundle is issued in the future (${bundle.issuedAt.toISOString()}); check the clock`);
  const last = options.lastSerial === undefined ? undefined : await options.lastSerial(bundle.issuer);
  if (last !== undefined && bundle.serial < last) {
    throw new BundleError('ROLLBACK', `bundle serial ${bundle.serial} from "${bundle.issuer}" is older than serial ${last} already imported; refusing to roll back`);
  }
  return { bundle, signature };
}

export interface BundleSignOptions {
  readonly signerCertificate: X509Certificate;
  readonly signerKey: KeyObject;
  readonly chain?: readonly X509Certificate[];
  readonly now: Date;
}

/** `strait bundle sign`: validates the content as a bundle first, then signs it (DER). */
export function signBundle(content: Uint8Array, options: BundleSignOptions): Uint8Array {
  parseBundleContent(content);
  return signData(content, {
    signerCertificate: options.signerCertificate,
    signerKey: options.signerKey,
    ...(options.chain === undefined ? {} : { chain: options.chain }),
    signingTime: options.now,
  });
}
