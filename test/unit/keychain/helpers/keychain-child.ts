/**
 * Child process for the "no keychain" tests: runs against whatever D-Bus
 * environment the parent gave it and prints one JSON line.
 *   probe               → NapiKeyringStore.probe()
 *   install <userDir> <managedDir> → install a PSK profile; must fail before writing anything
 */
import { parseProfile } from '../../../../native-helper/src/api/profile.js';
import { NapiKeyringStore } from '../../../../native-helper/src/keychain/napi-keyring-store.js';
import { KeychainUnavailableError } from '../../../../native-helper/src/keychain/secret-store.js';
import { installImported } from '../../../../native-helper/src/profiles/install.js';
import { ProfileStore } from '../../../../native-helper/src/profiles/profile-store.js';

const [mode, userDir, managedDir] = process.argv.slice(2);
const report = (value: unknown): void => {
  process.stdout.write(`${JSON.stringify(value)}\n`);
};
const describeError = (error: unknown): Record<string, unknown> =>
  error instanceof KeychainUnavailableError
    ? { ok: false, name: error.name, missing: error.missing, message: error.message }
    : { ok: false, name: error instanceof Error ? error.name : 'unknown', message: String(error) };

const store = new NapiKeyringStore('org.strait.vpn.test-child');
try {
  if (mode === 'probe') {
    await store.probe();
    report({ ok: true });
  } else if (mode === 'install' && userDir !== undefined && managedDir !== undefined) {
    const parsed = parseProfile({ version: 1, id: '6f1d2c3b-4a5e-4f60-8a7b-9c0d1e2f3a4b', name: 'PSK', gateway: { host: 'vpn.example' }, auth: { method: 'psk', localId: 'me@example' } });
    if (!parsed.ok) throw new Error('bad fixture');
    await installImported(
      { format: 'strait', profile: parsed.profile, secrets: { psk: 'child-test-psk' }, ignoredKeys: [], caCertificates: [], warnings: [] },
      { store: new ProfileStore({ userProfilesDir: userDir, managedDir }), target: 'user', secrets: store, userConfigDir: userDir, now: new Date() },
    );
    report({ ok: true });
  } else {
    report({ ok: false, message: `bad mode ${String(mode)}` });
  }
} catch (error) {
  report(describeError(error));
}
