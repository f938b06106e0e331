/**
 * Electron main's handlers for `window.strait` (api/desktop.ts). One function
 * per method; each validates its untrusted input with the contract's schemas
 * before anything else, then talks to straitd (through HelperLink), the
 * profile store or the keychain. Main holds no VPN logic: it checks,
 * forwards, and reads secrets from the keychain at connect time.
 *
 * The same module serves Electron (registered on ipcMain in ipc-register.ts)
 * and the e2e test (bridged to Chromium with page.exposeFunction), so the
 * handlers, validation and helper client under test are the real ones.
 */
import * as v from 'valibot';

import {
  ConnectInputSchema,
  DisconnectInputSchema,
  ImportCertificateInputSchema,
  ImportFileInputSchema,
  LogsInputSchema,
  ProfileIdInputSchema,
  SaveProfileInputSchema,
  SettingsInputSchema,
  type CertificateView,
  type DesktopError,
  type DesktopEvent,
  type DesktopMethod,
  type DesktopResult,
  type DesktopSettings,
  type ImportReportView,
  type NeededSecret,
  type ProfileView,
  type StraitDesktopApi,
} from '../../native-helper/src/api/desktop.js';
import { isFailureCode } from '../../native-helper/src/api/errors.js';
import { ConnectSecretsSchema, formatIssues, parseProfile, toIssues, type ConnectSecrets, type Profile } from '../../native-helper/src/api/profile.js';
import { RpcErrorCode, type ConnectionState } from '../../native-helper/src/api/rpc.js';
import { readConnectSecrets } from '../../native-helper/src/keychain/connect-secrets.js';
import { KeychainUnavailableError, SecretStoreError, type SecretKind, type SecretStore } from '../../native-helper/src/keychain/secret-store.js';
import { BundleError } from '../../native-helper/src/profiles/bundle.js';
import { lastSerial } from '../../native-helper/src/profiles/bundle-state.js';
import type { TrustAnchor } from '../../native-helper/src/profiles/cms.js';
import { ImportError } from '../../native-helper/src/profiles/import-types.js';
import { readImportFile } from '../../native-helper/src/profiles/importer.js';
import { bundleStatePaths, installBundle, installImported, type InstallContext } from '../../native-helper/src/profiles/install.js';
import { Pkcs12Error } from '../../native-helper/src/profiles/pkcs12.js';
import { ProfileStoreError, type ProfileStore, type StoredProfile } from '../../native-helper/src/profiles/profile-store.js';
import { TrustStoreError } from '../../native-helper/src/profiles/trust-anchors.js';
import { CertificateLibraryError, type CertificateLibrary } from './certificate-library.js';
import type { HelperLink } from './helper-link.js';
import { HelperUnavailableError } from './helper-link.js';

export interface SettingsStore {
  get(): Promise<DesktopSettings>;
  set(settings: DesktopSettings): Promise<DesktopSettings>;
}

export interface HandlerLog {
  info(message: string): void;
  warn(message: string): void;
}

export interface HandlerDeps {
  readonly helper: Pick<HelperLink, 'call' | 'current'>;
  readonly store: ProfileStore;
  readonly secrets: SecretStore;
  readonly certificates: CertificateLibrary;
  readonly userConfigDir: string;
  /** bundle-signer trust anchors (profiles/trust-anchors.ts loadTrustAnchors over the admin's folder) */
  readonly trustAnchors: () => Promise<readonly TrustAnchor[]>;
  readonly settings: SettingsStore;
  readonly now: () => Date;
  readonly emit: (event: DesktopEvent) => void;
  readonly log: HandlerLog;
  /** straitd connect timeout; IKE retransmissions alone can take a minute (RFC 7296 §2.1) */
  readonly connectTimeoutMs?: number;
}

type ResultOfMethod<M extends DesktopMethod> = Awaited<ReturnType<StraitDesktopApi[M]>>;
export type DesktopHandlers = { readonly [M in DesktopMethod]: (input: unknown) => Promise<ResultOfMethod<M>> };

const ok = <T>(value: T): DesktopResult<T> => ({ ok: true, value });
const fail = (error: DesktopError): { ok: false; error: DesktopError } => ({ ok: false, error });

/** Parses the input or answers INVALID_INPUT naming the fields (never echoing values: they may be secrets). */
function parse<S extends v.GenericSchema>(schema: S, input: unknown): { ok: true; value: v.InferOutput<S> } | { ok: false; error: DesktopError } {
  const r = v.safeParse(schema, input);
  if (r.success) return { ok: true, value: r.output };
  const issues = toIssues(r.issues);
  return fail({ code: 'INVALID_INPUT', message: `The request was refused: ${issues.map((i) => `${i.path === '' ? '(input)' : i.path}: ${i.message}`).join('; ')}`, issues });
}

const decodeBase64 = (text: string): Uint8Array => new Uint8Array(Buffer.from(text, 'base64'));

/** Maps anything thrown by the helper link, store, keychain or importers to a DesktopError. */
export function toDesktopError(error: unknown): DesktopError {
  if (error instanceof HelperUnavailableError) {
    return { code: 'HELPER_UNAVAILABLE', message: error.status.status === 'down' ? error.status.message : 'Strait is still connecting to the VPN service. Try again in a moment.' };
  }
  if (error instanceof KeychainUnavailableError) return { code: 'KEYCHAIN_UNAVAILABLE', message: error.message, detail: error.missing };
  if (error instanceof SecretStoreError) return { code: 'KEYCHAIN_UNAVAILABLE', message: error.message };
  if (error instanceof ProfileStoreError) {
    const code = error.code === 'NOT_FOUND' ? 'NOT_FOUND' : error.code === 'LOCKED_FIELD' ? 'LOCKED_FIELD' : error.code === 'MANAGED_READ_ONLY' ? 'MANAGED_READ_ONLY' : error.code === 'INVALID' ? 'PROFILE_INVALID' : 'INTERNAL_ERROR';
    return { code, message: error.message, fields: error.fields };
  }
  if (error instanceof ImportError || error instanceof BundleError) return { code: 'IMPORT_FAILED', message: importMessage(error.code, error.message), detail: error.code, issues: error.issues };
  if (error instanceof TrustStoreError) return { code: 'IMPORT_FAILED', message: `The trusted signers folder cannot be used: ${error.message}`, detail: error.code };
  if (error instanceof Pkcs12Error) return { code: error.code === 'BAD_PASSWORD' ? 'WRONG_PASSWORD' : 'CERTIFICATE_INVALID', message: error.message, detail: error.code };
  if (error instanceof CertificateLibraryError) {
    const code = error.code === 'WRONG_PASSWORD' ? 'WRONG_PASSWORD' : error.code === 'NEEDS_PASSWORD' ? 'SECRET_MISSING' : error.code === 'NOT_FOUND' ? 'NOT_FOUND' : 'CERTIFICATE_INVALID';
    return code === 'SECRET_MISSING' ? { code, message: error.message, needs: 'certificate-password' } : { code, message: error.message };
  }
  if (error !== null && typeof error === 'object' && 'code' in error && typeof error.code === 'number') {
    // An RpcError from straitd (api/client.ts).
    const rpc = error as { code: number; message: string; data?: { failure?: string } };
    if (rpc.code === RpcErrorCode.CONNECT_FAILED && isFailureCode(rpc.data?.failure)) return { code: rpc.data.failure, message: stripCode(rpc.message) };
    if (rpc.code === RpcErrorCode.BUSY) return { code: 'HELPER_BUSY', message: 'Another VPN connection is active. Disconnect it first.' };
    return { code: 'INTERNAL_ERROR', message: rpc.message };
  }
  if (error !== null && typeof error === 'object' && 'kind' in error && error instanceof Error) {
    // A ClientError: the socket went away mid-request, or timed out.
    return { code: 'HELPER_UNAVAILABLE', message: `The VPN service did not answer: ${error.message}` };
  }
  return { code: 'INTERNAL_ERROR', message: error instanceof Error ? error.message : String(error) };
}

/** describeRpcError appends " [CODE]" for machines; people get the sentence. */
const stripCode = (message: string): string => message.replace(/ \[[A-Z_]+\]$/u, '');

const IMPORT_WORDS: Readonly<Record<string, string>> = {
  UNSIGNED: 'This bundle is not signed, so Strait cannot tell who made it.',
  TAMPERED: 'This file was changed after it was signed. Ask IT for a fresh copy.',
  UNKNOWN_SIGNER: 'This file is signed by someone this computer does not trust.',
  SIGNER_EXPIRED: "The signer's certificate has expired. Ask IT for a newly signed file.",
  BUNDLE_EXPIRED: 'This bundle has expired. Ask IT for a current one.',
  ROLLBACK: 'This bundle is older than one already installed.',
  UNKNOWN_FORMAT: 'Strait does not recognise this file.',
};

const importMessage = (code: string, message: string): string => `${IMPORT_WORDS[code] ?? 'The file could not be imported.'} (${message})`;

const secretKindFor = (profile: Profile): Extract<SecretKind, 'psk' | 'eap-password'> | undefined =>
  profile.auth.method === 'psk' ? 'psk' : profile.auth.method === 'eap-mschapv2' || profile.auth.method === 'certificate-eap' ? 'eap-password' : undefined;

const neededFor = (kind: SecretKind): NeededSecret =>
  kind === 'psk' ? 'psk' : kind === 'eap-password' ? 'eap-password' : kind === 'identity-pkcs12-password' ? 'certificate-password' : 'certificate';

/** Failures after which the typed or saved password/PSK is the likely culprit: ask for it again. */
const ASK_AGAIN: ReadonlySet<string> = new Set(['EAP_FAILED', 'EAP_PASSWORD_WRONG', 'AUTH_FAILED', 'PSK_MISMATCH']);

const slug = (name: string): string =>
  name
    .normalize('NFKD')
    .replace(/[^A-Za-z0-9]+/gu, '-')
    .replace(/^-+|-+$/gu, '')
    .toLowerCase()
    .slice(0, 64) || 'profile';

export function createDesktopHandlers(deps: HandlerDeps): DesktopHandlers {
  const secretStored = async (profile: Profile): Promise<boolean> => {
    try {
      const kind = secretKindFor(profile);
      if (kind !== undefined) return (await deps.secrets.get(profile.id, kind)) !== null;
      if (profile.auth.method === 'certificate' || profile.auth.method === 'eap-tls' || profile.auth.method === 'certificate-eap') {
        const ref = profile.auth.certificateRef;
        return (await deps.secrets.get(ref, 'identity-key-pem')) !== null || (await deps.secrets.get(ref, 'identity-pkcs12')) !== null;
      }
    } catch {
      // A locked or absent keychain: the profile shows "not saved", and connect asks.
    }
    return false;
  };

  const view = async (stored: StoredProfile): Promise<ProfileView> => {
    const base = { profile: stored.profile, source: stored.source, lockedFields: stored.profile.managed?.lockedFields ?? [], secretStored: await secretStored(stored.profile) };
    return stored.managedBy === undefined ? base : { ...base, managedBy: stored.managedBy };
  };

  const allProfiles = async (): Promise<Profile[]> => (await deps.store.list()).profiles.map((s) => s.profile);

  const guard =
    <M extends DesktopMethod>(name: M, body: (input: unknown) => Promise<ResultOfMethod<M>>) =>
    async (input: unknown): Promise<ResultOfMethod<M>> => {
      try {
        return await body(input);
      } catch (error) {
        const e = toDesktopError(error);
        if (e.code === 'INTERNAL_ERROR') deps.log.warn(`${name} failed: ${e.message}`);
        return fail(e) as ResultOfMethod<M>;
      }
    };

  /** Secrets for a connect: typed ones first, then the keychain; what is still missing is asked for. */
  const gatherSecrets = async (profile: Profile, typed: { eapPassword?: string | undefined; psk?: string | undefined; certificatePassword?: string | undefined }): Promise<{ secrets: ConnectSecrets; fromKeychain: boolean } | { missing: NeededSecret }> => {
    const typedSecrets: ConnectSecrets = {};
    if (typed.eapPassword !== undefined && (profile.auth.method === 'eap-mschapv2' || profile.auth.method === 'certificate-eap')) typedSecrets.eapPassword = typed.eapPassword;
    if (typed.psk !== undefined && profile.auth.method === 'psk') typedSecrets.psk = typed.psk;
    const needTyped = profile.auth.method === 'eap-mschapv2' ? typedSecrets.eapPassword : profile.auth.method === 'psk' ? typedSecrets.psk : undefined;
    if (needTyped !== undefined) return { secrets: v.parse(ConnectSecretsSchema, typedSecrets), fromKeychain: false };
    const gathered = await readConnectSecrets(deps.secrets, profile, { pkcs12Password: async () => typed.certificatePassword });
    // certificate-eap (RFC 4739): the identity from the keychain, the password typed or saved.
    const [first] = gathered.missing.filter((k) => !(k === 'eap-password' && typedSecrets.eapPassword !== undefined));
    if (first !== undefined) return { missing: neededFor(first) };
    return { secrets: { ...gathered.secrets, ...typedSecrets }, fromKeychain: typedSecrets.eapPassword === undefined };
  };

  return {
    helperStatus: guard('helperStatus', async () => ok(deps.helper.current)),

    status: guard('status', async () => ok((await deps.helper.call('status', {})).state)),

    listProfiles: guard('listProfiles', async () => {
      const listing = await deps.store.list();
      return ok({
        profiles: await Promise.all(listing.profiles.map(view)),
        unreadable: listing.unreadable.map((u) => ({ file: u.path, problems: u.issues.map((i) => `${i.path === '' ? '' : `${i.path}: `}${i.message}`) })),
      });
    }),

    saveProfile: guard('saveProfile', async (input) => {
      const p = parse(SaveProfileInputSchema, input);
      if (!p.ok) return p;
      const parsed = parseProfile(p.value.profile);
      if (!parsed.ok) return fail({ code: 'PROFILE_INVALID', message: `Please fix: ${formatIssues(parsed.issues).replace(/\n/gu, '; ')}`, issues: parsed.issues });
      const stored = await deps.store.saveUser(parsed.profile);
      const kind = secretKindFor(parsed.profile);
      if (p.value.secret !== undefined && kind !== undefined) await deps.secrets.set(parsed.profile.id, kind, p.value.secret);
      deps.emit({ kind: 'profiles-changed' });
      return ok(await view(stored));
    }),

    deleteProfile: guard('deleteProfile', async (input) => {
      const p = parse(ProfileIdInputSchema, input);
      if (!p.ok) return p;
      await deps.store.removeUser(p.value.id);
      try {
        await deps.secrets.deleteAll(p.value.id);
      } catch (error) {
        deps.log.warn(`profile ${p.value.id} removed; its keychain entries could not be: ${error instanceof Error ? error.message : String(error)}`);
      }
      deps.emit({ kind: 'profiles-changed' });
      return ok(null);
    }),

    exportProfile: guard('exportProfile', async (input) => {
      const p = parse(ProfileIdInputSchema, input);
      if (!p.ok) return p;
      const stored = await deps.store.get(p.value.id);
      if (stored === undefined) return fail({ code: 'NOT_FOUND', message: 'That profile no longer exists.' });
      return ok({ fileName: `${slug(stored.profile.name)}.strait.json`, text: `${JSON.stringify(stored.profile, null, 2)}\n` });
    }),

    forgetSecret: guard('forgetSecret', async (input) => {
      const p = parse(ProfileIdInputSchema, input);
      if (!p.ok) return p;
      for (const kind of ['psk', 'eap-password'] as const) await deps.secrets.delete(p.value.id, kind);
      deps.emit({ kind: 'profiles-changed' });
      return ok(null);
    }),

    importFile: guard('importFile', async (input) => {
      const p = parse(ImportFileInputSchema, input);
      if (!p.ok) return p;
      const now = deps.now();
      const ctx: InstallContext = {
        store: deps.store,
        target: 'user',
        secrets: deps.secrets,
        pkcs12Password: async () => p.value.pkcs12Password,
        userConfigDir: deps.userConfigDir,
        now,
      };
      const states = bundleStatePaths(ctx);
      const read = await readImportFile(decodeBase64(p.value.contentBase64), {
        anchors: async () => [...(await deps.trustAnchors())],
        now,
        lastSerial: (issuer) => lastSerial([states.managed, states.user], issuer),
      });
      let report: ImportReportView;
      if (read.kind === 'bundle') {
        const r = await installBundle(read.verified, ctx);
        report = {
          kind: 'bundle',
          issuer: r.issuer,
          serial: r.serial,
          signer: r.signer,
          installed: r.installed.map((s) => ({ id: s.profile.id, name: s.profile.name })),
          removed: r.removed,
          skipped: r.skipped,
          caCertificates: r.caCertificates.map((c) => c.subject),
          warnings: r.warnings,
          notes: r.identities.flatMap((i) => i.secrets.notes),
        };
      } else {
        const installed = [];
        const notes: string[] = [];
        for (const result of read.results) {
          const done = await installImported(result, ctx);
          installed.push({ id: done.stored.profile.id, name: done.stored.profile.name });
          notes.push(...done.secrets.notes);
        }
        const first = read.results[0];
        const base = {
          kind: 'profiles' as const,
          format: first?.format ?? 'strait',
          installed,
          ignoredKeys: read.results.flatMap((r) => r.ignoredKeys),
          warnings: read.results.flatMap((r) => r.warnings),
          notes,
        };
        report = first?.verified === undefined ? base : { ...base, verified: first.verified };
      }
      deps.emit({ kind: 'profiles-changed' });
      deps.log.info(`imported ${p.value.fileName}: ${report.installed.length} profile(s)`);
      return ok(report);
    }),

    connect: guard('connect', async (input) => {
      const p = parse(ConnectInputSchema, input);
      if (!p.ok) return p;
      const stored = await deps.store.get(p.value.profileId);
      if (stored === undefined) return fail({ code: 'NOT_FOUND', message: 'That profile no longer exists.' });
      const profile = stored.profile;
      let gathered;
      try {
        gathered = await gatherSecrets(profile, p.value);
      } catch (error) {
        if (error instanceof Pkcs12Error && error.code === 'BAD_PASSWORD') return fail({ code: 'WRONG_PASSWORD', message: 'The certificate password is wrong.', needs: 'certificate-password' });
        throw error;
      }
      if ('missing' in gathered) {
        const what = gathered.missing === 'eap-password' ? 'your password' : gathered.missing === 'psk' ? 'the pre-shared key' : gathered.missing === 'certificate-password' ? "your certificate's password" : 'a client certificate';
        return fail({ code: 'SECRET_MISSING', message: `Strait needs ${what} to connect to ${profile.name}.`, needs: gathered.missing });
      }
      try {
        const result = await deps.helper.call('connect', { profile, secrets: gathered.secrets }, { timeoutMs: deps.connectTimeoutMs ?? 120_000 });
        // Remember a typed secret only once the gateway accepted it: a wrong password is never saved.
        const kind = secretKindFor(profile);
        const typed = kind === 'psk' ? p.value.psk : p.value.eapPassword;
        if (p.value.remember && !gathered.fromKeychain && kind !== undefined && typed !== undefined) {
          await deps.secrets.set(profile.id, kind, typed).catch((error: unknown) => deps.log.warn(`connected, but the password could not be saved: ${error instanceof Error ? error.message : String(error)}`));
          deps.emit({ kind: 'profiles-changed' });
        }
        return ok(result.state as ConnectionState);
      } catch (error) {
        const e = toDesktopError(error);
        // A saved password the gateway now rejects: ask again rather than fail the same way forever.
        if (ASK_AGAIN.has(e.code) && secretKindFor(profile) !== undefined) {
          return fail({ ...e, needs: profile.auth.method === 'psk' ? 'psk' : 'eap-password' });
        }
        return fail(e);
      }
    }),

    disconnect: guard('disconnect', async (input) => {
      const p = parse(DisconnectInputSchema, input ?? {});
      if (!p.ok) return p;
      const r = await deps.helper.call('disconnect', p.value.profileId === undefined ? {} : { profileId: p.value.profileId }, { timeoutMs: 30_000 });
      return ok(r.state);
    }),

    logs: guard('logs', async (input) => {
      const p = parse(LogsInputSchema, input ?? {});
      if (!p.ok) return p;
      const q = p.value;
      const r = await deps.helper.call('logs', {
        ...(q.level === undefined ? {} : { level: q.level }),
        ...(q.session === undefined ? {} : { session: q.session }),
        ...(q.text === undefined || q.text === '' ? {} : { text: q.text }),
        limit: q.limit ?? 10_000,
      });
      return ok({ records: r.records, truncated: r.truncated });
    }),

    listCertificates: guard('listCertificates', async () => ok<readonly CertificateView[]>(await deps.certificates.list(await allProfiles()))),

    importCertificate: guard('importCertificate', async (input) => {
      const p = parse(ImportCertificateInputSchema, input);
      if (!p.ok) return p;
      const view = await deps.certificates.import(p.value.fileName, decodeBase64(p.value.contentBase64), p.value.password, await allProfiles());
      return ok(view);
    }),

    deleteCertificate: guard('deleteCertificate', async (input) => {
      const p = parse(ProfileIdInputSchema, input);
      if (!p.ok) return p;
      await deps.certificates.remove(p.value.id);
      return ok(null);
    }),

    getSettings: guard('getSettings', async () => ok(await deps.settings.get())),

    setSettings: guard('setSettings', async (input) => {
      const p = parse(SettingsInputSchema, input);
      if (!p.ok) return p;
      return ok(await deps.settings.set(p.value));
    }),
  };
}
