/**
 * Where a profile's secrets live: the OS keychain of the logged-in user
 * (DESIGN.md "Data and secrets"). User-side processes only (Electron main,
 * the CLI); straitd never imports this folder (eslint enforces it) — secrets
 * reach the helper inside a connect request and live there only in memory.
 *
 * Entries are keyed by service `org.strait.vpn` and account
 * `<ownerId>:<kind>`, where ownerId is a profile id (or, for a client
 * identity, the profile's `auth.certificateRef`, which import sets to the
 * profile id).
 */

export const KEYCHAIN_SERVICE = 'org.strait.vpn';

export const SECRET_KINDS = [
  'psk',
  'eap-password',
  'identity-pkcs12',
  'identity-pkcs12-password',
  'identity-key-pem',
  'identity-cert-pem',
] as const;
export type SecretKind = (typeof SECRET_KINDS)[number];

/** The one binary kind: the PKCS#12 file exactly as imported. Every other kind is text. */
export type BinarySecretKind = 'identity-pkcs12';
export type TextSecretKind = Exclude<SecretKind, BinarySecretKind>;
export type SecretValue<K extends SecretKind> = K extends BinarySecretKind ? Uint8Array : string;

export const isBinaryKind = (kind: SecretKind): kind is BinarySecretKind => kind === 'identity-pkcs12';

/** Owner ids are profile ids (UUIDs) or other plain tokens; never anything with ':' so the account splits back unambiguously. */
const OWNER_ID = /^[A-Za-z0-9._-]{1,128}$/u;

export const keychainAccount = (ownerId: string, kind: SecretKind): string => {
  if (!OWNER_ID.test(ownerId)) throw new RangeError(`keychain owner id ${JSON.stringify(ownerId)} is not a plain token`);
  return `${ownerId}:${kind}`;
};

export interface SecretStore {
  /** A human name for messages, e.g. "Secret Service (org.freedesktop.secrets)". */
  readonly backend: string;
  /** Checks that the store is reachable and writable now; throws KeychainUnavailableError otherwise. */
  probe(): Promise<void>;
  set<K extends SecretKind>(ownerId: string, kind: K, value: SecretValue<K>): Promise<void>;
  get<K extends SecretKind>(ownerId: string, kind: K): Promise<SecretValue<K> | null>;
  /** true if an entry was deleted, false if there was none. */
  delete(ownerId: string, kind: SecretKind): Promise<boolean>;
  /** Deletes every kind for this owner; returns the kinds that existed. */
  deleteAll(ownerId: string): Promise<SecretKind[]>;
}

/** What is missing when the keychain cannot be used. Stable values: the UI maps them to help text. */
export type KeychainMissing =
  | 'dbus-session-bus' // no D-Bus session bus reachable (DBUS_SESSION_BUS_ADDRESS unset or dead)
  | 'secret-service-provider' // a bus, but nothing owns org.freedesktop.secrets (no gnome-keyring / KWallet / KeePassXC)
  | 'unlocked-collection' // a provider, but its default collection is locked or does not exist
  | 'platform-keychain'; // any other platform failure (macOS Keychain, Windows Credential Manager)

const MISSING_TEXT: Record<KeychainMissing, string> = {
  'dbus-session-bus': 'no D-Bus session bus is reachable (DBUS_SESSION_BUS_ADDRESS is unset or the bus is gone)',
  'secret-service-provider': 'no Secret Service provider owns org.freedesktop.secrets on the session bus (install and start gnome-keyring, KWallet or KeePassXC)',
  'unlocked-collection': 'the Secret Service has no unlocked default collection (the login keyring is locked or missing; unlock it and retry)',
  'platform-keychain': 'the operating system keychain refused the request',
};

/**
 * The keychain cannot be used. Strait never falls back to storing secrets in
 * plaintext; callers show `message` and stop. `detail` is the store's own
 * error text (it never contains a secret: we never pass secrets into errors).
 */
export class KeychainUnavailableError extends Error {
  override readonly name = 'KeychainUnavailableError';
  constructor(
    readonly missing: KeychainMissing,
    readonly detail: string,
  ) {
    super(`Keychain unavailable: ${MISSING_TEXT[missing]}. Strait does not store secrets without a keychain.`);
  }
}

/** A keychain operation failed for another reason (ambiguous entry, bad data). */
export class SecretStoreError extends Error {
  override readonly name = 'SecretStoreError';
}
