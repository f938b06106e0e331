/** What every importer (.sswan, .mobileconfig, Strait JSON) hands back, and how it fails. */
import type { Profile, ProfileIssue } from '../api/profile.js';
import type { CertificateInfo } from './certificates.js';
import type { BundleErrorCode } from './bundle.js';

/** Secrets found in an imported file. They go to the keychain, never into the profile. */
export interface ImportedSecrets {
  psk?: string;
  eapPassword?: string;
  /** A PKCS#12 client identity; `password` only when the file itself carried it (Apple's pkcs12 payload). */
  identity?: { readonly pkcs12: Uint8Array; readonly password?: string };
  /** A client identity given as separate PEM/DER files (already decrypted and checked to match). */
  identityPem?: { readonly privateKeyPem: string; readonly certificatePem: string; readonly chainPem: readonly string[] };
}

export type ImportFormat = 'strait' | 'sswan' | 'mobileconfig';

export interface ImportResult {
  readonly format: ImportFormat;
  readonly profile: Profile;
  readonly secrets: ImportedSecrets;
  /** Keys of the source file that Strait does not map, as paths ("remote.certreq", "IKEv2.OnDemandRules"). */
  readonly ignoredKeys: string[];
  /** Present when the file was CMS-signed and verified against the installed trust anchors. */
  readonly verified?: { readonly signer: string; readonly anchor: string };
  /** CA certificates the profile now trusts, for display. */
  readonly caCertificates: CertificateInfo[];
  readonly warnings: string[];
}

/** A signed file fails with the bundle codes (UNSIGNED, TAMPERED, UNKNOWN_SIGNER, …); a readable but wrong one with INVALID. */
export type ImportErrorCode = BundleErrorCode | 'UNKNOWN_FORMAT' | 'INVALID' | 'UNSUPPORTED';

export class ImportError extends Error {
  override readonly name = 'ImportError';
  constructor(
    readonly code: ImportErrorCode,
    message: string,
    readonly issues: readonly ProfileIssue[] = [],
  ) {
    super(message);
  }
}
