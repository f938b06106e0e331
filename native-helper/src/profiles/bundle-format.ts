/**
 * The bundle JSON: what IT signs (docs/profiles.md has an example).
 *
 *   { "format": "strait-bundle", "formatVersion": 1,
 *     "issuer": "Example Corp IT", "serial": 7,
 *     "issuedAt": "2026-11-01T00:00:00Z", "expiresAt": "2027-05-01T00:00:00Z",
 *     "lockedFields": ["/gateway", ...],            // optional, default below
 *     "profiles": [ <Profile>, ... ],
 *     "caCertificates": [ "-----BEGIN CERTIFICATE-----...", ... ],
 *     "identities": [ { "profileId": "<uuid>", "pkcs12": "<base64>" } ] }
 *
 * Profiles are validated one by one with the contract's parseProfile, so an
 * issue names its place in the bundle ("/profiles/2/gateway/port").
 */
import * as v from 'valibot';

import { parseProfile, toIssues, type Profile, type ProfileIssue } from '../api/profile.js';
import { decodeBase64 } from './pem.js';
import { proposalIssues } from './proposal-check.js';

export const BUNDLE_FORMAT = 'strait-bundle';
export const BUNDLE_FORMAT_VERSION = 1;

/** What a bundle locks unless it says otherwise: where to connect, who the gateway is, how to authenticate, what to trust. */
export const DEFAULT_LOCKED_FIELDS = ['/gateway', '/remoteId', '/auth/method', '/trust', '/proposals'] as const;

const ISO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?(?:Z|[+-]\d{2}:\d{2})$/u;
const isoTime = (what: string) =>
  v.pipe(
    v.string(`${what} must be a string`),
    v.check((s) => ISO_TIME.test(s) && !Number.isNaN(Date.parse(s)), `${what} must be an ISO 8601 time such as 2026-11-01T00:00:00Z`),
  );

const pemCertificate = v.pipe(
  v.string('must be a string'),
  v.check((s) => /^\s*-----BEGIN CERTIFICATE-----[\s\S]+-----END CERTIFICATE-----\s*$/u.test(s), 'must be a PEM certificate'),
);

const BundleEnvelopeSchema = v.pipe(
  v.looseObject(
    {
      format: v.literal(BUNDLE_FORMAT, `format must be "${BUNDLE_FORMAT}"`),
      formatVersion: v.literal(BUNDLE_FORMAT_VERSION, `formatVersion must be ${BUNDLE_FORMAT_VERSION}`),
      issuer: v.pipe(v.string('issuer must be a string'), v.check((s) => s.trim().length > 0, 'issuer must not be empty'), v.maxLength(200, 'issuer is too long')),
      serial: v.pipe(v.number('serial must be a number'), v.integer('serial must be a whole number'), v.minValue(0, 'serial must not be negative'), v.maxValue(Number.MAX_SAFE_INTEGER, 'serial is too large')),
      issuedAt: isoTime('issuedAt'),
      expiresAt: isoTime('expiresAt'),
      lockedFields: v.optional(
        v.array(v.pipe(v.string(), v.check((s) => /^(?:\/(?:[^~/]|~[01])*)*$/u.test(s), 'must be a JSON pointer such as /gateway')), 'lockedFields must be a list'),
        () => [...DEFAULT_LOCKED_FIELDS],
      ),
      profiles: v.pipe(v.array(v.unknown(), 'profiles must be a list'), v.minLength(1, 'a bundle needs at least one profile'), v.maxLength(64, 'at most 64 profiles per bundle')),
      caCertificates: v.optional(v.pipe(v.array(pemCertificate, 'caCertificates must be a list'), v.maxLength(32, 'at most 32 CA certificates')), () => []),
      identities: v.optional(
        v.pipe(
          v.array(
            v.looseObject({
              profileId: v.pipe(v.string('profileId must be a string'), v.uuid('profileId must be a UUID')),
              pkcs12: v.pipe(
                v.string('pkcs12 must be a base64 string'),
                v.maxLength(512 * 1024, 'pkcs12 is too large'),
                v.check((s) => decodeBase64(s) !== undefined, 'pkcs12 must be base64 (a password-protected PKCS#12 file)'),
              ),
            }),
            'identities must be a list',
          ),
          v.maxLength(64, 'at most 64 identities'),
        ),
        () => [],
      ),
    },
    'a bundle must be a JSON object',
  ),
  v.forward(
    v.partialCheck([['issuedAt'], ['expiresAt']], (b) => Date.parse(b.expiresAt) > Date.parse(b.issuedAt), 'expiresAt must be after issuedAt'),
    ['expiresAt'],
  ),
);

type BundleEnvelope = v.InferOutput<typeof BundleEnvelopeSchema>;

export interface BundleIdentity {
  readonly profileId: string;
  readonly pkcs12: Uint8Array;
}

export interface Bundle {
  readonly issuer: string;
  readonly serial: number;
  readonly issuedAt: Date;
  readonly expiresAt: Date;
  readonly lockedFields: string[];
  readonly profiles: Profile[];
  readonly caCertificates: string[];
  readonly identities: BundleIdentity[];
  /** The JSON as signed, unknown keys included. */
  readonly raw: BundleEnvelope;
}

export type ParseBundleResult = { ok: true; bundle: Bundle } | { ok: false; issues: ProfileIssue[] };

const needsIdentity = (p: Profile): boolean => p.auth.method === 'certificate' || p.auth.method === 'eap-tls' || p.auth.method === 'certificate-eap';

export function parseBundle(json: unknown): ParseBundleResult {
  const envelope = v.safeParse(BundleEnvelopeSchema, json);
  if (!envelope.success) return { ok: false, issues: toIssues(envelope.issues) };
  const raw = envelope.output;
  const issues: ProfileIssue[] = [];
  const profiles: Profile[] = [];
  raw.profiles.forEach((doc, index) => {
    const parsed = parseProfile(doc);
    if (parsed.ok) {
      profiles.push(parsed.profile);
      issues.push(...proposalIssues(parsed.profile, `/profiles/${index}`));
    }
    else issues.push(...parsed.issues.map((i) => ({ path: `/profiles/${index}${i.path}`, message: i.message })));
  });
  const ids = profiles.map((p) => p.id.toLowerCase());
  ids.forEach((id, index) => {
    if (ids.indexOf(id) !== index) issues.push({ path: `/profiles/${index}/id`, message: `duplicate profile id ${id}` });
  });
  const identities: BundleIdentity[] = [];
  raw.identities.forEach((identity, index) => {
    const profile = profiles.find((p) => p.id.toLowerCase() === identity.profileId.toLowerCase());
    if (profile === undefined) issues.push({ path: `/identities/${index}/profileId`, message: 'no profile in this bundle has this id' });
    else if (!needsIdentity(profile)) issues.push({ path: `/identities/${index}/profileId`, message: `profile "${profile.name}" uses ${profile.auth.method}, which needs no client certificate` });
    identities.push({ profileId: identity.profileId.toLowerCase(), pkcs12: decodeBase64(identity.pkcs12) as Uint8Array });
  });
  if (issues.length > 0) return { ok: false, issues };
  return {
    ok: true,
    bundle: {
      issuer: raw.issuer.trim(),
      serial: raw.serial,
      issuedAt: new Date(raw.issuedAt),
      expiresAt: new Date(raw.expiresAt),
      lockedFields: raw.lockedFields,
      profiles,
      caCertificates: raw.caCertificates,
      identities,
      raw,
    },
  };
}
