/**
 * A single Strait profile as a JSON file (what `strait profiles export
 * --format strait` writes). Export never contains a secret — profiles hold
 * none — and drops the `managed` block: a copy is not the signed original,
 * so it must not claim to be managed. Unknown future fields are kept.
 */
import { parseProfile, type Profile } from '../api/profile.js';
import { describeCertificate, parseCertificates, type CertificateInfo } from './certificates.js';
import { ImportError, type ImportResult } from './import-types.js';
import { proposalIssues } from './proposal-check.js';

export function exportStraitProfile(profile: Profile): string {
  const copy: Record<string, unknown> = { ...profile };
  delete copy['managed'];
  return `${JSON.stringify(copy, null, 2)}\n`;
}

export function importStraitProfile(json: unknown, now: Date): ImportResult {
  const warnings: string[] = [];
  let doc = json;
  if (doc !== null && typeof doc === 'object' && !Array.isArray(doc) && 'managed' in doc) {
    const { managed: _managed, ...rest } = doc as Record<string, unknown>;
    doc = rest;
    warnings.push('the file claimed to be a managed profile; only a signed bundle can install one, so it is imported as your own profile');
  }
  const parsed = parseProfile(doc);
  if (!parsed.ok) throw new ImportError('INVALID', 'the file is not a valid Strait profile', parsed.issues);
  const unsupported = proposalIssues(parsed.profile);
  if (unsupported.length > 0) throw new ImportError('UNSUPPORTED', unsupported.map((i) => `${i.path}: ${i.message}`).join('\n'), unsupported);
  const caCertificates: CertificateInfo[] = parsed.profile.trust.caCertificates.flatMap((pem) =>
    parseCertificates(new TextEncoder().encode(pem)).map((c) => describeCertificate(c, now)),
  );
  for (const info of caCertificates) warnings.push(...info.warnings);
  return { format: 'strait', profile: parsed.profile, secrets: {}, ignoredKeys: [], caCertificates, warnings };
}
