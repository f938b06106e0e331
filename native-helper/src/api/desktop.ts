/**
 * The desktop bridge: what the renderer sees as `window.strait`. The preload
 * forwards each method over Electron IPC to Electron main's handlers
 * (electron/main/ipc-handlers.ts), which validate the input with the schemas
 * below and then talk to straitd (rpc.ts), the profile store and the
 * keychain. The renderer imports the types from here and nothing else.
 *
 * Rules:
 * - Every method takes one plain object (or nothing) and resolves a
 *   DesktopResult: expected failures (wrong password, bad import, helper not
 *   running) are values the UI renders, never exceptions it must guess at.
 * - Only structured-clone/JSON-safe data crosses: no Date, no Uint8Array
 *   (file contents travel as base64), no functions.
 * - Secrets travel renderer → main only inside `connect` (a password typed
 *   into the prompt) and `importCertificate` (a PKCS#12 password); they are
 *   never sent back, and never in an event or a log record.
 * This file is imported by the renderer bundle: no Node built-ins.
 */
import * as v from 'valibot';

import type { FailureCode } from './errors.js';
import type { Profile, ProfileIssue } from './profile.js';
import { LOGS_MAX_LIMIT, LogLevelSchema, type ConnectionState, type LogRecord, type NotificationParams } from './rpc.js';

// ---------------------------------------------------------------- results

/** Codes the desktop layer adds to straitd's FailureCodes. */
export type DesktopErrorCode =
  | FailureCode
  | 'HELPER_UNAVAILABLE' // straitd not installed, not running, or not reachable by this user
  | 'HELPER_BUSY' // another connection is active
  | 'INVALID_INPUT' // the request failed its schema
  | 'NOT_FOUND'
  | 'LOCKED_FIELD' // a managed profile's locked field was changed
  | 'MANAGED_READ_ONLY'
  | 'KEYCHAIN_UNAVAILABLE'
  | 'IMPORT_FAILED'
  | 'CERTIFICATE_INVALID'
  | 'WRONG_PASSWORD';

/** What a connect needs from the person before it can start. */
export type NeededSecret = 'eap-password' | 'psk' | 'certificate' | 'certificate-password';

export interface DesktopError {
  readonly code: DesktopErrorCode;
  /** plain language, one or two sentences */
  readonly message: string;
  /** for INVALID_INPUT / profile validation: which fields, by RFC 6901 path */
  readonly issues?: readonly ProfileIssue[];
  /** for LOCKED_FIELD: the locked JSON pointers that were changed */
  readonly fields?: readonly string[];
  /** for SECRET_MISSING: what to ask for */
  readonly needs?: NeededSecret;
  /** extra machine-readable detail, e.g. an ImportError code */
  readonly detail?: string;
}

export type DesktopResult<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: DesktopError };

// ---------------------------------------------------------------- views

export type HelperStatus =
  | { readonly status: 'up'; readonly version: string; readonly backend: string }
  | { readonly status: 'connecting' }
  | {
      readonly status: 'down';
      /** not-installed: no socket and no service; not-running: installed but stopped; permission-denied: user not in group `strait`; untrusted-socket: not owned by root */
      readonly reason: 'not-installed' | 'not-running' | 'permission-denied' | 'untrusted-socket' | 'error';
      readonly message: string;
      /** when the next automatic retry happens (ms since epoch), if one is scheduled */
      readonly retryAt?: number;
    };

export interface ProfileView {
  readonly profile: Profile;
  readonly source: 'user' | 'managed';
  /** the bundle issuer, when IT manages this profile */
  readonly managedBy?: string;
  /** locked JSON pointers (managed.lockedFields); the editor shows these read-only */
  readonly lockedFields: readonly string[];
  /** a password / PSK / identity for this profile is in the keychain */
  readonly secretStored: boolean;
}

export interface ProfilesView {
  readonly profiles: readonly ProfileView[];
  /** files in the profile folders that could not be read, with why */
  readonly unreadable: readonly { readonly file: string; readonly problems: readonly string[] }[];
}

export interface CertificateView {
  readonly id: string;
  /** what the person called it (file name at import) */
  readonly label: string;
  readonly subject: string;
  readonly issuer: string;
  readonly subjectAltNames: readonly string[];
  readonly notBefore: number;
  readonly notAfter: number;
  readonly keyDescription: string;
  readonly fingerprintSha256: string;
  readonly isCa: boolean;
  /** expired, expires within 30 days, not yet valid, unsupported key */
  readonly warnings: readonly string[];
  /** profiles whose auth uses this certificate */
  readonly usedBy: readonly string[];
}

export interface ImportedProfileSummary {
  readonly id: string;
  readonly name: string;
}

export type ImportReportView =
  | {
      readonly kind: 'bundle';
      readonly issuer: string;
      readonly serial: number;
      /** the signer's subject; the bundle verified against an installed trust anchor */
      readonly signer: string;
      readonly installed: readonly ImportedProfileSummary[];
      readonly removed: readonly string[];
      readonly skipped: readonly string[];
      readonly caCertificates: readonly string[];
      readonly warnings: readonly string[];
      readonly notes: readonly string[];
    }
  | {
      readonly kind: 'profiles';
      readonly format: 'strait' | 'sswan' | 'mobileconfig';
      /** present when the file was signed and verified */
      readonly verified?: { readonly signer: string; readonly anchor: string };
      readonly installed: readonly ImportedProfileSummary[];
      readonly ignoredKeys: readonly string[];
      readonly warnings: readonly string[];
      readonly notes: readonly string[];
    };

export interface ExportedProfile {
  readonly fileName: string;
  /** the profile JSON (never a secret: profiles hold none) */
  readonly text: string;
}

export interface LogsView {
  readonly records: readonly LogRecord[];
  readonly truncated: boolean;
}

export interface DesktopSettings {
  readonly startAtLogin: boolean;
}

/** Pushed from main to every window. */
export type DesktopEvent =
  | { readonly kind: 'state'; readonly state: ConnectionState }
  | { readonly kind: 'stage'; readonly stage: NotificationParams<'strait.stage'> }
  | { readonly kind: 'log'; readonly record: LogRecord }
  | { readonly kind: 'helper'; readonly helper: HelperStatus }
  | { readonly kind: 'profiles-changed' };

// ---------------------------------------------------------------- inputs

const id = v.pipe(v.string('id must be a string'), v.uuid('id must be a UUID'));
const secretText = (what: string) => v.pipe(v.string(`${what} must be a string`), v.minLength(1, `${what} must not be empty`), v.maxLength(4096, `${what} is too long`));
/** 8 MiB of file as base64 (4/3 expansion). */
const base64File = v.pipe(v.string('contentBase64 must be a string'), v.maxLength(Math.ceil((8 * 1024 * 1024 * 4) / 3) + 4, 'the file is larger than 8 MiB'), v.regex(/^[A-Za-z0-9+/]*={0,2}$/u, 'contentBase64 must be base64'));
const fileName = v.pipe(v.string('fileName must be a string'), v.maxLength(255, 'fileName is too long'));

export const ProfileIdInputSchema = v.strictObject({ id });
export const SaveProfileInputSchema = v.strictObject({
  /** validated again, fully, by the profile schema in main */
  profile: v.unknown(),
  /** an EAP password or PSK to store in the keychain with the profile */
  secret: v.optional(secretText('secret')),
});
export const ConnectInputSchema = v.strictObject({
  profileId: id,
  /** typed into the prompt; used for this connect and stored only if `remember` */
  eapPassword: v.optional(secretText('password')),
  psk: v.optional(secretText('pre-shared key')),
  certificatePassword: v.optional(secretText('certificate password')),
  remember: v.optional(v.boolean('remember must be true or false'), false),
});
export const DisconnectInputSchema = v.optional(v.strictObject({ profileId: v.optional(id) }), {});
export const ImportFileInputSchema = v.strictObject({ fileName, contentBase64: base64File, pkcs12Password: v.optional(secretText('certificate password')) });
export const ImportCertificateInputSchema = v.strictObject({ fileName, contentBase64: base64File, password: v.optional(secretText('certificate password')) });
export const LogsInputSchema = v.optional(
  v.strictObject({
    level: v.optional(LogLevelSchema),
    session: v.optional(id),
    text: v.optional(v.pipe(v.string(), v.maxLength(256))),
    limit: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(LOGS_MAX_LIMIT))),
  }),
  {},
);
export const SettingsInputSchema = v.strictObject({ startAtLogin: v.boolean('startAtLogin must be true or false') });

export type SaveProfileInput = v.InferInput<typeof SaveProfileInputSchema>;
export type ConnectInput = v.InferInput<typeof ConnectInputSchema>;
export type ImportFileInput = v.InferInput<typeof ImportFileInputSchema>;
export type ImportCertificateInput = v.InferInput<typeof ImportCertificateInputSchema>;
export type LogsInput = v.InferInput<typeof LogsInputSchema>;

// ---------------------------------------------------------------- the API

/** `window.strait`. Every call resolves; failures are `{ ok: false, error }`. */
export interface StraitDesktopApi {
  helperStatus(): Promise<DesktopResult<HelperStatus>>;
  status(): Promise<DesktopResult<ConnectionState>>;
  listProfiles(): Promise<DesktopResult<ProfilesView>>;
  saveProfile(input: SaveProfileInput): Promise<DesktopResult<ProfileView>>;
  deleteProfile(input: { id: string }): Promise<DesktopResult<null>>;
  exportProfile(input: { id: string }): Promise<DesktopResult<ExportedProfile>>;
  importFile(input: ImportFileInput): Promise<DesktopResult<ImportReportView>>;
  forgetSecret(input: { id: string }): Promise<DesktopResult<null>>;
  /** Resolves when connected (or failed); stages arrive meanwhile as events. */
  connect(input: ConnectInput): Promise<DesktopResult<ConnectionState>>;
  disconnect(input?: { profileId?: string }): Promise<DesktopResult<ConnectionState>>;
  logs(input?: LogsInput): Promise<DesktopResult<LogsView>>;
  listCertificates(): Promise<DesktopResult<readonly CertificateView[]>>;
  importCertificate(input: ImportCertificateInput): Promise<DesktopResult<CertificateView>>;
  deleteCertificate(input: { id: string }): Promise<DesktopResult<null>>;
  getSettings(): Promise<DesktopResult<DesktopSettings>>;
  setSettings(input: DesktopSettings): Promise<DesktopResult<DesktopSettings>>;
  /** Events pushed by main; returns the unsubscribe function. */
  onEvent(listener: (event: DesktopEvent) => void): () => void;
}

export type DesktopMethod = Exclude<keyof StraitDesktopApi, 'onEvent'>;

/** Every invokable method, for the preload and the IPC registration (one channel each: `strait:<method>`). */
export const DESKTOP_METHODS = [
  'helperStatus',
  'status',
  'listProfiles',
  'saveProfile',
  'deleteProfile',
  'exportProfile',
  'importFile',
  'forgetSecret',
  'connect',
  'disconnect',
  'logs',
  'listCertificates',
  'importCertificate',
  'deleteCertificate',
  'getSettings',
  'setSettings',
] as const satisfies readonly DesktopMethod[];

// A compile-time check that DESKTOP_METHODS lists every method exactly.
type _AllListed = Exclude<DesktopMethod, (typeof DESKTOP_METHODS)[number]> extends never ? true : never;
export const DESKTOP_METHODS_COMPLETE: _AllListed = true;

export const desktopChannel = (method: DesktopMethod): string => `strait:${method}`;
export const DESKTOP_EVENT_CHANNEL = 'strait:event';
