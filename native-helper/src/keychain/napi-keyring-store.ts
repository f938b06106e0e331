/**
 * SecretStore over @napi-rs/keyring (keyring-rs behind N-API), the
 * maintained successor of the archived keytar. On Linux every entry is
 * pinned to the Secret Service: left to its default, keyring-rs silently
 * falls back to the kernel keyutils keyring, which forgets everything at
 * logout — a secret the user thinks is saved would vanish, and nothing
 * would say why. Pinned, an unreachable Secret Service is an error we can
 * name (KeychainUnavailableError).
 */
import { AsyncEntry, type EntryOptions } from '@napi-rs/keyring';

import {
  isBinaryKind,
  KEYCHAIN_SERVICE,
  keychainAccount,
  KeychainUnavailableError,
  SECRET_KINDS,
  SecretStoreError,
  type KeychainMissing,
  type SecretKind,
  type SecretStore,
  type SecretValue,
} from './secret-store.js';

const ENTRY_OPTIONS: EntryOptions = { linux: { store: 'secret-service' } };
const PROBE_OWNER = 'strait-probe';

/**
 * Maps a keyring-rs failure to what is missing. The crate reports every
 * platform failure with a message only (code "GenericFailure"), so the
 * message is all we can go on; the texts matched here were observed against
 * dbus-daemon 1.14 and gnome-keyring 42 (see test/unit/keychain).
 */
export const classifyKeyringError = (error: unknown, platform: NodeJS.Platform = process.platform): KeychainUnavailableError | SecretStoreError => {
  const message = error instanceof Error ? error.message : String(error);
  if (platform !== 'linux') {
    return /platform (?:storage|failure)|no storage access/iu.test(message)
      ? new KeychainUnavailableError('platform-keychain', message)
      : new SecretStoreError(`keychain error: ${message}`);
  }
  let missing: KeychainMissing | undefined;
  if (/was not provided by any \.service files|ServiceUnknown|has no owner/iu.test(message)) missing = 'secret-service-provider';
  else if (/DBUS_SESSION_BUS_ADDRESS|autolaunch|Failed to connect to socket|Could not connect|Connection refused|DBus error|D-Bus/iu.test(message)) missing = 'dbus-session-bus';
  else if (/locked|unlock prompt|prompt was dismissed|no result found|Couldn't access platform storage/iu.test(message)) missing = 'unlocked-collection';
  return missing === undefined ? new SecretStoreError(`keychain error: ${message}`) : new KeychainUnavailableError(missing, message);
};

export class NapiKeyringStore implements SecretStore {
  readonly backend =
    process.platform === 'linux' ? 'Secret Service (org.freedesktop.secrets)' : process.platform === 'darwin' ? 'macOS Keychain' : 'Windows Credential Manager';

  constructor(private readonly service: string = KEYCHAIN_SERVICE) {}

  private entry(ownerId: string, kind: SecretKind): AsyncEntry {
    const account = keychainAccount(ownerId, kind);
    try {
      // The constructor already talks to D-Bus on Linux (and throws without a bus).
      return new AsyncEntry(this.service, account, ENTRY_OPTIONS);
    } catch (error) {
      throw classifyKeyringError(error);
    }
  }

  private async call<T>(op: () => Promise<T>): Promise<T> {
    try {
      return await op();
    } catch (error) {
      throw classifyKeyringError(error);
    }
  }

  async probe(): Promise<void> {
    // A read of a missing entry succeeds even when no collection exists, so probe with a write.
    const entry = this.entry(PROBE_OWNER, 'psk');
    await this.call(() => entry.setPassword('probe'));
    await this.call(() => entry.deleteCredential());
  }

  async set<K extends SecretKind>(ownerId: string, kind: K, value: SecretValue<K>): Promise<void> {
    const entry = this.entry(ownerId, kind);
    if (typeof value === 'string') {
      if (isBinaryKind(kind)) throw new SecretStoreError(`${kind} must be stored as bytes`);
      await this.call(() => entry.setPassword(value));
    } else {
      if (!isBinaryKind(kind)) throw new SecretStoreError(`${kind} must be stored as text`);
      await this.call(() => entry.setSecret(value));
    }
  }

  async get<K extends SecretKind>(ownerId: string, kind: K): Promise<SecretValue<K> | null> {
    const entry = this.entry(ownerId, kind);
    if (isBinaryKind(kind)) {
      const bytes = await this.call(() => entry.getSecret());
      return (bytes === null ? null : Uint8Array.from(bytes)) as SecretValue<K> | null;
    }
    return (await this.call(() => entry.getPassword())) as SecretValue<K> | null;
  }

  async delete(ownerId: string, kind: SecretKind): Promise<boolean> {
    const entry = this.entry(ownerId, kind);
    return this.call(() => entry.deleteCredential());
  }

  async deleteAll(ownerId: string): Promise<SecretKind[]> {
    const deleted: SecretKind[] = [];
    for (const kind of SECRET_KINDS) if (await this.delete(ownerId, kind)) deleted.push(kind);
    return deleted;
  }
}
