/**
 * Puts what an importer produced where it belongs: the profile in the user
 * or managed store, its secrets in the user's keychain, a bundle's CA
 * certificates in each profile's trust, and the bundle serial in the
 * rollback state. Secrets are written before the profile and removed again
 * if the profile cannot be written, so a failed import leaves nothing half
 * done.
 */
import { join } from 'node:path';

import type { Profile } from '../api/profile.js';
import type { SecretKind, SecretStore } from '../keychain/secret-store.js';
import { BundleError, type VerifiedBundle } from './bundle.js';
import { DEFAULT_LOCKED_FIELDS } from './bundle-format.js';
import { BUNDLE_STATE_FILE, lastSerial, recordImport } from './bundle-state.js';
import { describeCertificate, parseCertificates, type CertificateInfo } from './certificates.js';
import { ImportError, type ImportedSecrets, type ImportResult } from './import-types.js';
import { decodePkcs12 } from './pkcs12.js';
import type { ProfileStore, StoredProfile } from './profile-store.js';

export type InstallTarget = 'user' | 'managed';

export interface InstallContext {
  readonly store: ProfileStore;
  readonly target: InstallTarget;
  /** The user's keychain; absent for an administrator's managed import (root has no user session). */
  readonly secrets?: SecretStore;
  /** Asks for a PKCS#12 password. Resolving undefined stores the PKCS#12 as is, to be unlocked at connect time. */
  readonly pkcs12Password?: (prompt: string) => Promise<string | undefined>;
  /** The user's Strait folder (per-user bundle rollback state lives there). */
  readonly userConfigDir: string;
  readonly now: Date;
}

export const bundleStatePaths = (ctx: Pick<InstallContext, 'store' | 'userConfigDir'>): { managed: string; user: string } => ({
  managed: join(ctx.store.managedDir, BUNDLE_STATE_FILE),
  user: join(ctx.userConfigDir, BUNDLE_STATE_FILE),
});

export interface InstalledSecrets {
  readonly stored: SecretKind[];
  readonly identity?: CertificateInfo;
  readonly notes: string[];
}

/** The identity's keychain owner: the profile's certificateRef (import sets it to the profile id). */
const identityOwner = (profile: Profile): string | undefined =>
  profile.auth.method === 'certificate' || profile.auth.method === 'eap-tls' || profile.auth.method === 'certificate-eap' ? profile.auth.certificateRef : undefined;

interface PreparedSecret {
  readonly owner: string;
  readonly kind: SecretKind;
  readonly value: string | Uint8Array;
}

/** Decodes and checks every secret before anything is written (a wrong PKCS#12 password fails here). */
async function prepareSecrets(profile: Profile, secrets: ImportedSecrets, ctx: InstallContext): Promise<{ items: PreparedSecret[]; identity?: CertificateInfo; notes: string[] }> {
  const items: PreparedSecret[] = [];
  const notes: string[] = [];
  let identity: CertificateInfo | undefined;
  if (secrets.psk !== undefined) items.push({ owner: profile.id, kind: 'psk', value: secrets.psk });
  if (secrets.eapPassword !== undefined) items.push({ owner: profile.id, kind: 'eap-password', value: secrets.eapPassword });
  if (secrets.identityPem !== undefined) {
    const owner = identityOwner(profile);
    if (owner === undefined) notes.push('the client certificate is not used by this profile and was not stored');
    else {
      const [cert] = parseCertificates(new TextEncoder().encode(secrets.identityPem.certificatePem));
      if (cert !== undefined) identity = describeCertificate(cert, ctx.now);
      items.push({ owner, kind: 'identity-key-pem', value: secrets.identityPem.privateKeyPem });
      items.push({ owner, kind: 'identity-cert-pem', value: [secrets.identityPem.certificatePem, ...secrets.identityPem.chainPem].join('') });
    }
  } else if (secrets.identity !== undefined) {
    const owner = identityOwner(profile);
    if (owner === undefined) notes.push('the client certificate in the file is not used by this profile and was not stored');
    else {
      const password = secrets.identity.password ?? (await ctx.pkcs12Password?.(`Password for the client certificate of "${profile.name}"`));
      if (password === undefined) {
        items.push({ owner, kind: 'identity-pkcs12', value: secrets.identity.pkcs12 });
        notes.push('the client certificate was stored locked; its password is asked at connect time');
      } else {
        const decoded = await decodePkcs12(secrets.identity.pkcs12, password);
        identity = describeCertificate(decoded.certificate, ctx.now);
        items.push({ owner, kind: 'identity-key-pem', value: decoded.privateKeyPem });
        items.push({ owner, kind: 'identity-cert-pem', value: [decoded.certificatePem, ...decoded.chainPem].join('') });
      }
    }
  }
  return identity === undefined ? { items, notes } : { items, identity, notes };
}

async function writeSecrets(items: readonly PreparedSecret[], store: SecretStore): Promise<() => Promise<void>> {
  await store.probe();
  const written: PreparedSecret[] = [];
  for (const item of items) {
    // Replace, don't merge: a stale PKCS#12 next to a fresh PEM key would be ambiguous at connect time.
    if (item.kind.startsWith('identity-')) for (const k of ['identity-pkcs12', 'identity-pkcs12-password', 'identity-key-pem', 'identity-cert-pem'] as const) await store.delete(item.owner, k);
  }
  for (const item of items) {
    if (typeof item.value === 'string') await store.set(item.owner, item.kind as Exclude<SecretKind, 'identity-pkcs12'>, item.value);
    else await store.set(item.owner, 'identity-pkcs12', item.value);
    written.push(item);
  }
  return async () => {
    for (const item of written) await store.delete(item.owner, item.kind).catch(() => false);
  };
}

export interface InstalledProfile {
  readonly stored: StoredProfile;
  readonly secrets: InstalledSecrets;
}

/** Installs one imported profile (.sswan, .mobileconfig, Strait JSON). */
export async function installImported(result: ImportResult, ctx: InstallContext): Promise<InstalledProfile> {
  let profile = result.profile;
  if (ctx.target === 'managed') {
    if (result.verified === undefined) throw new ImportError('UNSIGNED', 'only signed files can be installed as managed profiles');
    profile = { ...profile, managed: { bundleIssuer: result.verified.signer, bundleSerial: 0, signedBy: result.verified.signer, lockedFields: [...DEFAULT_LOCKED_FIELDS] } };
  }
  const carried = (['psk', 'eapPassword', 'identity', 'identityPem'] as const).filter((k) => result.secrets[k] !== undefined);
  // Without a user keychain (an administrator's managed import) secrets are neither decoded nor kept.
  const prepared = ctx.secrets === undefined ? { items: [], notes: [] } : await prepareSecrets(profile, result.secrets, ctx);
  const notes: string[] = [...prepared.notes];
  if (ctx.secrets === undefined && carried.length > 0) notes.push(`not stored (no user keychain in this session): ${carried.join(', ')}; each user imports the file once to store them`);
  let rollback: (() => Promise<void>) | undefined;
  const storedKinds: SecretKind[] = [];
  if (ctx.secrets !== undefined && prepared.items.length > 0) {
    rollback = await writeSecrets(prepared.items, ctx.secrets);
    storedKinds.push(...prepared.items.map((i) => i.kind));
  }
  let stored: StoredProfile;
  try {
    const existing = ctx.target === 'user' ? await ctx.store.get(profile.id) : undefined;
    if (existing?.source === 'managed') {
      // The administrator installed this profile system-wide; the user's import only adds their secrets.
      stored = existing;
      notes.push(`the profile itself is already installed by your administrator (${existing.managedBy ?? 'managed'}); only your secrets were added`);
    } else stored = ctx.target === 'managed' ? await ctx.store.saveManaged(profile) : await ctx.store.saveUser(profile);
  } catch (error) {
    await rollback?.();
    throw error;
  }
  const secrets: InstalledSecrets = prepared.identity === undefined ? { stored: storedKinds, notes } : { stored: storedKinds, identity: prepared.identity, notes };
  return { stored, secrets };
}

export interface BundleInstallReport {
  readonly issuer: string;
  readonly serial: number;
  readonly signer: string;
  readonly installed: StoredProfile[];
  /** Profiles left alone because the administrator already installed them system-wide. */
  readonly skipped: string[];
  /** Profiles of this issuer that the new bundle no longer contains, removed. */
  readonly removed: string[];
  readonly identities: { readonly profileId: string; readonly secrets: InstalledSecrets }[];
  readonly caCertificates: CertificateInfo[];
  readonly warnings: string[];
}

/** Installs a verified bundle: profiles (locked), CA certificates into each profile's trust, identities into the keychain. */
export async function installBundle(verified: VerifiedBundle, ctx: InstallContext): Promise<BundleInstallReport> {
  const { bundle, signature } = verified;
  const paths = bundleStatePaths(ctx);
  // Checked again right before writing: another import may have landed since verification.
  const last = await lastSerial([paths.managed, paths.user], bundle.issuer);
  if (last !== undefined && bundle.serial < last) throw new BundleError('ROLLBACK', `bundle serial ${bundle.serial} from "${bundle.issuer}" is older than serial ${last} already imported`);

  const caInfo = bundle.caCertificates.flatMap((pem) => parseCertificates(new TextEncoder().encode(pem)).map((c) => describeCertificate(c, ctx.now)));
  const warnings = caInfo.flatMap((c) => c.warnings);
  const identityIds = new Set(bundle.identities.map((i) => i.profileId));
  const profiles: Profile[] = bundle.profiles.map((p) => {
    const auth = identityIds.has(p.id.toLowerCase()) && (p.auth.method === 'certificate' || p.auth.method === 'eap-tls' || p.auth.method === 'certificate-eap') ? { ...p.auth, certificateRef: p.id.toLowerCase() } : p.auth;
    return {
      ...p,
      auth,
      trust: { ...p.trust, caCertificates: [...new Set([...p.trust.caCertificates, ...bundle.caCertificates])] },
      // The bundle's word on who manages it, never the profile's own claim.
      managed: { bundleIssuer: bundle.issuer, bundleSerial: bundle.serial, signedBy: signature.signerSubject, lockedFields: p.managed?.lockedFields ?? bundle.lockedFields },
    };
  });

  const listing = await ctx.store.list();
  const keepIds = new Set(profiles.map((p) => p.id.toLowerCase()));
  const installed: StoredProfile[] = [];
  const skipped: string[] = [];
  const removed: string[] = [];
  const identities: { profileId: string; secrets: InstalledSecrets }[] = [];

  // Identities first: a wrong password stops the import before any profile changes.
  const preparedIdentities: { profile: Profile; prepared: Awaited<ReturnType<typeof prepareSecrets>> }[] = [];
  if (ctx.secrets !== undefined) {
    for (const identity of bundle.identities) {
      const profile = profiles.find((p) => p.id.toLowerCase() === identity.profileId) as Profile;
      preparedIdentities.push({ profile, prepared: await prepareSecrets(profile, { identity: { pkcs12: identity.pkcs12 } }, ctx) });
    }
  } else {
    for (const identity of bundle.identities) identities.push({ profileId: identity.profileId, secrets: { stored: [], notes: ['client certificate not installed (no user keychain in this session); each user imports the bundle once to install it'] } });
  }
  for (const { profile, prepared } of preparedIdentities) {
    await writeSecrets(prepared.items, ctx.secrets as SecretStore);
    identities.push({
      profileId: profile.id,
      secrets: prepared.identity === undefined ? { stored: prepared.items.map((i) => i.kind), notes: prepared.notes } : { stored: prepared.items.map((i) => i.kind), identity: prepared.identity, notes: prepared.notes },
    });
  }

  if (ctx.target === 'managed') {
    for (const p of profiles) installed.push(await ctx.store.saveManaged(p));
    for (const old of listing.profiles) {
      if (old.source === 'managed' && old.profile.managed?.bundleIssuer === bundle.issuer && !keepIds.has(old.profile.id.toLowerCase())) {
        await ctx.store.removeManaged(old.profile.id);
        removed.push(old.profile.id);
      }
    }
    await recordImport(paths.managed, bundle.issuer, bundle.serial, signature.signerSubject, ctx.now);
  } else {
    const managedIds = new Set(listing.profiles.filter((s) => s.source === 'managed').map((s) => s.profile.id.toLowerCase()));
    for (const p of profiles) {
      if (managedIds.has(p.id.toLowerCase())) skipped.push(p.id);
      else installed.push(await ctx.store.saveUser(p, { replaceLocked: true }));
    }
    for (const old of listing.profiles) {
      if (old.source === 'user' && old.profile.managed?.bundleIssuer === bundle.issuer && !keepIds.has(old.profile.id.toLowerCase())) {
        await ctx.store.removeUser(old.profile.id);
        await ctx.secrets?.deleteAll(old.profile.id);
        removed.push(old.profile.id);
      }
    }
    await recordImport(paths.user, bundle.issuer, bundle.serial, signature.signerSubject, ctx.now);
  }
  return { issuer: bundle.issuer, serial: bundle.serial, signer: signature.signerSubject, installed, skipped, removed, identities, caCertificates: caInfo, warnings };
}
