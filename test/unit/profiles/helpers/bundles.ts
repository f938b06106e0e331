/** Bundle JSON documents for tests. */
import { profileDoc } from './fixtures.js';

export interface BundleDocOptions {
  issuer?: string;
  serial?: number;
  issuedAt?: Date;
  expiresAt?: Date;
  profiles?: Record<string, unknown>[];
  caCertificates?: string[];
  identities?: { profileId: string; pkcs12: string }[];
  lockedFields?: string[];
  extra?: Record<string, unknown>;
}

export function bundleDoc(options: BundleDocOptions = {}): Record<string, unknown> {
  const now = Date.now();
  return {
    format: 'strait-bundle',
    formatVersion: 1,
    issuer: options.issuer ?? 'Example Corp IT',
    serial: options.serial ?? 1,
    issuedAt: (options.issuedAt ?? new Date(now - 3600_000)).toISOString(),
    expiresAt: (options.expiresAt ?? new Date(now + 90 * 86_400_000)).toISOString(),
    ...(options.lockedFields === undefined ? {} : { lockedFields: options.lockedFields }),
    profiles: options.profiles ?? [profileDoc({ name: 'Corp VPN', gateway: { host: 'vpn.corp.example' } })],
    caCertificates: options.caCertificates ?? [],
    identities: options.identities ?? [],
    ...options.extra,
  };
}

export const bundleBytes = (options: BundleDocOptions = {}): Uint8Array => new TextEncoder().encode(JSON.stringify(bundleDoc(options), null, 2));
