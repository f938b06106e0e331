/**
 * One entry point for every file a user or admin imports: recognise it by
 * content (never by file name), verify it if signed, and map it.
 *
 *   CMS SignedData (DER/PEM) → verify → bundle JSON  → signed bundle
 *                                     → XML plist    → signed .mobileconfig
 *   XML plist                                       → .mobileconfig
 *   JSON with format "strait-bundle"                → refused: UNSIGNED
 *   JSON with version + gateway                     → Strait profile
 *   JSON with uuid/remote/type                      → .sswan
 */
import { acceptSignedBundle, BundleError, looksLikeUnsignedBundle, type VerifiedBundle } from './bundle.js';
import { CmsVerifyError, looksLikeCms, verifySignedData, type TrustAnchor } from './cms.js';
import { ImportError, type ImportResult } from './import-types.js';
import { importMobileconfig } from './mobileconfig.js';
import { looksLikeXmlPlist } from './plist.js';
import { importSswan } from './sswan.js';
import { importStraitProfile } from './strait-format.js';

export type ReadImport = { readonly kind: 'profiles'; readonly results: ImportResult[] } | { readonly kind: 'bundle'; readonly verified: VerifiedBundle };

export interface ReadImportOptions {
  /** Loaded lazily: only signed files need them. */
  readonly anchors: () => Promise<readonly TrustAnchor[]>;
  readonly now: Date;
  readonly lastSerial?: (issuer: string) => Promise<number | undefined>;
}

const MAX_IMPORT_BYTES = 8 * 1024 * 1024;

const asJson = (bytes: Uint8Array): unknown => {
  try {
    return JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf ? 3 : 0)));
  } catch {
    return undefined;
  }
};

export async function readImportFile(bytes: Uint8Array, options: ReadImportOptions): Promise<ReadImport> {
  if (bytes.length === 0) throw new ImportError('UNKNOWN_FORMAT', 'the file is empty');
  if (bytes.length > MAX_IMPORT_BYTES) throw new ImportError('UNKNOWN_FORMAT', `the file is larger than ${MAX_IMPORT_BYTES} bytes`);
  if (looksLikeCms(bytes)) {
    let signature;
    try {
      signature = await verifySignedData(bytes, { anchors: await options.anchors(), now: options.now });
    } catch (error) {
      if (error instanceof CmsVerifyError) throw new ImportError(error.code, error.message);
      throw error;
    }
    const verified = { signer: signature.signerSubject, anchor: signature.anchor.source };
    if (looksLikeXmlPlist(signature.content)) return { kind: 'profiles', results: importMobileconfig(signature.content, { now: options.now, verified }) };
    try {
      const lastSerial = options.lastSerial;
      return { kind: 'bundle', verified: await acceptSignedBundle(signature, lastSerial === undefined ? { now: options.now } : { now: options.now, lastSerial }) };
    } catch (error) {
      if (error instanceof BundleError) throw new ImportError(error.code, error.message, error.issues);
      throw error;
    }
  }
  if (looksLikeXmlPlist(bytes)) return { kind: 'profiles', results: importMobileconfig(bytes, { now: options.now }) };
  const json = asJson(bytes);
  if (json === undefined || json === null || typeof json !== 'object' || Array.isArray(json)) {
    throw new ImportError('UNKNOWN_FORMAT', 'not a profile file Strait knows (signed bundle, .mobileconfig, .sswan or Strait profile JSON)');
  }
  if (looksLikeUnsignedBundle(bytes)) throw new ImportError('UNSIGNED', 'the bundle is not signed: IT must sign it (openssl cms -sign -nodetach -binary, or strait bundle sign)');
  const doc = json as Record<string, unknown>;
  if ('version' in doc && 'gateway' in doc) return { kind: 'profiles', results: [importStraitProfile(doc, options.now)] };
  if ('remote' in doc || 'uuid' in doc || 'type' in doc) return { kind: 'profiles', results: [importSswan(bytes, { now: options.now })] };
  throw new ImportError('UNKNOWN_FORMAT', 'JSON, but neither a Strait profile nor a .sswan file');
}
