/**
 * The keychain against a real Secret Service (gnome-keyring on a private
 * D-Bus session): run this suite under test/keychain/with-secret-service.sh.
 * Without a session bus these tests FAIL and say how to run them — except
 * the ones that deliberately take the bus (or the provider, or the unlocked
 * collection) away in a child process and expect KeychainUnavailableError.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';

import { readConnectSecrets } from '../../../native-helper/src/keychain/connect-secrets.js';
import { classifyKeyringError, NapiKeyringStore } from '../../../native-helper/src/keychain/napi-keyring-store.js';
import { keychainAccount, KeychainUnavailableError, SECRET_KINDS, SecretStoreError } from '../../../native-helper/src/keychain/secret-store.js';
import { runHelper } from '../profiles/helpers/child.js';
import { profile } from '../profiles/helpers/fixtures.js';
import { TestPki, type Issued } from '../profiles/helpers/pki.js';

const SERVICE = `org.strait.vpn.test-${randomBytes(4).toString('hex')}`;

function requireSecretService(): void {
  if (process.env['DBUS_SESSION_BUS_ADDRESS'] === undefined || process.env['DBUS_SESSION_BUS_ADDRESS'] === '') {
    assert.fail('no D-Bus session bus: run the keychain tests under a real Secret Service, e.g.\n  sh test/keychain/with-secret-service.sh npx tsx --test test/unit/keychain/*.test.ts');
  }
}

const secretTool = (args: readonly string[]): Promise<string> =>
  new Promise((resolve, reject) => {
    execFile('secret-tool', [...args], { encoding: 'utf8' }, (error, stdout, stderr) => (error ? reject(new Error(stderr)) : resolve(stdout)));
  });

const wrapperScript = (): string => {
  const candidates = ['../../keychain/with-secret-service.sh', '../../../../test/keychain/with-secret-service.sh'].map((rel) => fileURLToPath(new URL(rel, import.meta.url)));
  const found = candidates.find((c) => existsSync(c));
  assert.ok(found !== undefined, `with-secret-service.sh not found (${candidates.join(', ')})`);
  return found;
};

const childEnv = (drop: readonly string[]): NodeJS.ProcessEnv => {
  const env = { ...process.env };
  for (const k of drop) delete env[k];
  return env;
};

const childReport = (stdout: string): Record<string, unknown> => JSON.parse(stdout.trim().split('\n').pop() ?? '{}') as Record<string, unknown>;

describe('Secret Service keychain (real gnome-keyring)', () => {
  const store = new NapiKeyringStore(SERVICE);
  const owner = randomUUID();

  after(async () => {
    if (process.env['DBUS_SESSION_BUS_ADDRESS'] !== undefined) await store.deleteAll(owner).catch(() => []);
  });

  it('probes, stores, reads and deletes every text kind', async () => {
    requireSecretService();
    await store.probe();
    for (const kind of SECRET_KINDS.filter((k) => k !== 'identity-pkcs12')) {
      const value = `${kind}-värde-${randomBytes(6).toString('hex')}`;
      await store.set(owner, kind, value);
      assert.equal(await store.get(owner, kind), value);
    }
    assert.equal(await store.delete(owner, 'psk'), true);
    assert.equal(await store.get(owner, 'psk'), null);
    assert.equal(await store.delete(owner, 'psk'), false);
  });

  it('stores binary secrets (a PKCS#12 blob) byte for byte', async () => {
    requireSecretService();
    const blob = new Uint8Array(Array.from({ length: 512 }, (_, i) => i % 256));
    await store.set(owner, 'identity-pkcs12', blob);
    assert.deepEqual(await store.get(owner, 'identity-pkcs12'), blob);
  });

  it('really lands in the Secret Service under service/account (not the kernel keyring)', async () => {
    requireSecretService();
    await store.set(owner, 'eap-password', 'visible-to-secret-tool');
    const looked = await secretTool(['lookup', 'service', SERVICE, 'username', keychainAccount(owner, 'eap-password')]);
    assert.equal(looked, 'visible-to-secret-tool');
  });

  it('deleteAll removes every kind of an owner and reports which existed', async () => {
    requireSecretService();
    const other = randomUUID();
    await store.set(other, 'psk', 'a');
    await store.set(other, 'identity-cert-pem', 'b');
    assert.deepEqual((await store.deleteAll(other)).sort(), ['identity-cert-pem', 'psk']);
    assert.deepEqual(await store.deleteAll(other), []);
  });

  it('refuses owner ids that would make ambiguous accounts', () => {
    assert.throws(() => keychainAccount('a:b', 'psk'), RangeError);
    assert.throws(() => keychainAccount('', 'psk'), RangeError);
    assert.equal(keychainAccount('6f1d2c3b-4a5e-4f60-8a7b-9c0d1e2f3a4b', 'identity-key-pem'), '6f1d2c3b-4a5e-4f60-8a7b-9c0d1e2f3a4b:identity-key-pem');
  });
});

describe('connect secrets from the keychain', () => {
  const store = new NapiKeyringStore(SERVICE);
  let pki: TestPki;
  let ca: Issued;
  let leaf: Issued;
  const owners: string[] = [];

  before(async () => {
    pki = await TestPki.create();
    ca = await pki.root('Connect CA', 'p256');
    leaf = await pki.issue(ca, 'connect-client', 'p256');
  });
  after(async () => {
    await pki.cleanup();
    if (process.env['DBUS_SESSION_BUS_ADDRESS'] !== undefined) for (const o of owners) await store.deleteAll(o).catch(() => []);
  });

  it('PSK and EAP password, and says what is missing', async () => {
    requireSecretService();
    const psk = profile({ auth: { method: 'psk', localId: 'me@example' } });
    const eap = profile();
    owners.push(psk.id, eap.id);
    assert.deepEqual(await readConnectSecrets(store, psk), { secrets: {}, missing: ['psk'] });
    await store.set(psk.id, 'psk', 'correct horse');
    assert.deepEqual(await readConnectSecrets(store, psk), { secrets: { psk: 'correct horse' }, missing: [] });
    await store.set(eap.id, 'eap-password', 'battery staple');
    assert.deepEqual(await readConnectSecrets(store, eap), { secrets: { eapPassword: 'battery staple' }, missing: [] });
  });

  it('a client identity stored as PEM, or as a locked PKCS#12 unlocked at connect time', async () => {
    requireSecretService();
    const id = randomUUID();
    owners.push(id);
    const p = profile({ id, auth: { method: 'certificate', certificateRef: id } });
    const p12 = await pki.pkcs12(leaf, 'unlock-me', { chain: [ca] });
    await store.set(id, 'identity-pkcs12', p12);
    assert.deepEqual((await readConnectSecrets(store, p)).missing, ['identity-pkcs12-password']);
    const unlocked = await readConnectSecrets(store, p, { pkcs12Password: async () => 'unlock-me' });
    assert.deepEqual(unlocked.missing, []);
    assert.equal(unlocked.secrets.certificatePem?.replace(/\s/gu, ''), leaf.certPem.replace(/\s/gu, ''));
    assert.equal(unlocked.secrets.certificateChainPem?.length, 1);
    assert.match(unlocked.secrets.privateKeyPem ?? '', /BEGIN PRIVATE KEY/u);
    // PEM entries take precedence over the PKCS#12.
    await store.set(id, 'identity-key-pem', unlocked.secrets.privateKeyPem ?? '');
    await store.set(id, 'identity-cert-pem', `${leaf.certPem}${ca.certPem}`);
    const fromPem = await readConnectSecrets(store, p);
    assert.equal(fromPem.secrets.privateKeyPem, unlocked.secrets.privateKeyPem);
    assert.equal(fromPem.secrets.certificateChainPem?.length, 1);
  });
});

describe('no keychain: a typed error that names what is missing, never plaintext', () => {
  it('without a D-Bus session bus', async () => {
    const r = await runHelper('keychain-child', ['probe'], { base: new URL('./helpers/', import.meta.url).href, env: childEnv(['DBUS_SESSION_BUS_ADDRESS', 'DISPLAY', 'WAYLAND_DISPLAY']) });
    const report = childReport(r.stdout);
    assert.equal(report['name'], 'KeychainUnavailableError', r.stdout + r.stderr);
    assert.equal(report['missing'], 'dbus-session-bus');
    assert.match(String(report['message']), /no D-Bus session bus/u);
  });

  it('with a bus but no Secret Service provider', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'strait-bus-'));
    try {
      const conf = join(dir, 'session.conf');
      // A session bus with no service directories: nothing can be activated as org.freedesktop.secrets.
      await writeFile(
        conf,
        `<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN" "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig><type>session</type><listen>unix:tmpdir=${dir}</listen>
<policy context="default"><allow send_destination="*" eavesdrop="true"/><allow eavesdrop="true"/><allow own="*"/></policy></busconfig>`,
      );
      const r = await runHelper('keychain-child', ['probe'], { base: new URL('./helpers/', import.meta.url).href, wrapper: ['dbus-run-session', `--config-file=${conf}`, '--'], env: childEnv(['DBUS_SESSION_BUS_ADDRESS']) });
      const report = childReport(r.stdout);
      assert.equal(report['missing'], 'secret-service-provider', r.stdout + r.stderr);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('with a locked login collection', async () => {
    // A private session of our own (the shared one must stay unlocked for the other tests): lock it, then try.
    const lockThenRun = [
      'sh', wrapperScript(), 'sh', '-c',
      'dbus-send --session --print-reply --dest=org.freedesktop.secrets /org/freedesktop/secrets org.freedesktop.Secret.Service.Lock array:objpath:/org/freedesktop/secrets/collection/login >/dev/null && exec "$@"', 'sh',
    ];
    const r = await runHelper('keychain-child', ['probe'], { base: new URL('./helpers/', import.meta.url).href, wrapper: lockThenRun, env: childEnv(['DBUS_SESSION_BUS_ADDRESS']) });
    const report = childReport(r.stdout);
    assert.equal(report['missing'], 'unlocked-collection', r.stdout + r.stderr);
    assert.match(String(report['message']), /locked or missing/u);
  });

  it('an import that carries a secret writes nothing at all when the keychain is unreachable', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'strait-nokc-'));
    try {
      const userDir = join(dir, 'user');
      await mkdir(userDir);
      const r = await runHelper('keychain-child', ['install', userDir, join(dir, 'managed')], { base: new URL('./helpers/', import.meta.url).href, env: childEnv(['DBUS_SESSION_BUS_ADDRESS', 'DISPLAY', 'WAYLAND_DISPLAY']) });
      const report = childReport(r.stdout);
      assert.equal(report['name'], 'KeychainUnavailableError', r.stdout + r.stderr);
      // No profile file, no plaintext fallback anywhere in the user's folder.
      assert.deepEqual(await readdir(dir), ['user']);
      assert.deepEqual(await readdir(userDir), []);
      assert.doesNotMatch(r.stdout + r.stderr, /child-test-psk/u);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('maps the messages keyring-rs gives (as observed) to what is missing', () => {
    const cases: Array<[string, string]> = [
      ['Platform failure: DBus error: Using X11 for dbus-daemon autolaunch was disabled at compile time, set your DBUS_SESSION_BUS_ADDRESS instead', 'dbus-session-bus'],
      ['Platform failure: DBus error: The name org.freedesktop.secrets was not provided by any .service files', 'secret-service-provider'],
      ["Couldn't access platform storage: Secret Service: unlock prompt was dismissed", 'unlocked-collection'],
      ["Couldn't access platform storage: Secret Service: no result found", 'unlocked-collection'],
    ];
    for (const [message, missing] of cases) {
      const e = classifyKeyringError(new Error(message), 'linux');
      assert.ok(e instanceof KeychainUnavailableError && e.missing === missing, message);
    }
    assert.ok(classifyKeyringError(new Error('Entry is matched by 2 credentials: Ambiguous'), 'linux') instanceof SecretStoreError);
  });
});
