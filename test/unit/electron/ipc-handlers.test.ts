/**
 * The IPC handlers' guard duty: every input is checked against the contract
 * before anything happens, answers are values (never exceptions), secrets are
 * never echoed, and connect gathers secrets the way the keychain holds them.
 * Profile store on a temp folder; the keychain is an in-memory SecretStore
 * (the real Secret Service path is covered by the e2e test).
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';

import type { HelperStatus } from '../../../native-helper/src/api/desktop.js';
import { parseProfile, type Profile } from '../../../native-helper/src/api/profile.js';
import { RpcError } from '../../../native-helper/src/api/client.js';
import type { SecretKind, SecretStore, SecretValue } from '../../../native-helper/src/keychain/secret-store.js';
import { ProfileStore } from '../../../native-helper/src/profiles/profile-store.js';
import { CertificateLibrary } from '../../../electron/main/certificate-library.js';
import { HelperUnavailableError } from '../../../electron/main/helper-link.js';
import { createDesktopHandlers, type DesktopHandlers } from '../../../electron/main/ipc-handlers.js';

class MemorySecrets implements SecretStore {
  readonly backend = 'memory';
  readonly map = new Map<string, string | Uint8Array>();
  async probe(): Promise<void> {}
  async set<K extends SecretKind>(owner: string, kind: K, value: SecretValue<K>): Promise<void> {
    this.map.set(`${owner}:${kind}`, value);
  }
  async get<K extends SecretKind>(owner: string, kind: K): Promise<SecretValue<K> | null> {
    return (this.map.get(`${owner}:${kind}`) ?? null) as SecretValue<K> | null;
  }
  async delete(owner: string, kind: SecretKind): Promise<boolean> {
    return this.map.delete(`${owner}:${kind}`);
  }
  async deleteAll(owner: string): Promise<SecretKind[]> {
    const gone: SecretKind[] = [];
    for (const k of [...this.map.keys()]) {
      if (!k.startsWith(`${owner}:`)) continue;
      gone.push(k.split(':')[1] as SecretKind);
      this.map.delete(k);
    }
    return gone;
  }
}

describe('desktop IPC handlers', () => {
  let dir: string;
  let handlers: DesktopHandlers;
  let secrets: MemorySecrets;
  let helperUp = true;
  const calls: { method: string; params: unknown }[] = [];
  let connectAnswer: () => Promise<unknown> = async () => ({ state: { state: 'connected' } });
  const profileId = randomUUID();

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'strait-ipc-'));
    secrets = new MemorySecrets();
    const store = new ProfileStore({ userProfilesDir: join(dir, 'profiles'), managedDir: join(dir, 'managed') });
    const helper = {
      get current(): HelperStatus {
        return helperUp ? { status: 'up', version: '1', backend: 'recording' } : { status: 'down', reason: 'not-running', message: 'The Strait VPN service is installed but not running.' };
      },
      call: (async (method: string, params: unknown) => {
        if (!helperUp) throw new HelperUnavailableError(helper.current);
        calls.push({ method, params });
        if (method === 'connect') return connectAnswer();
        return { state: { state: 'disconnected' } };
      }) as never,
    };
    handlers = createDesktopHandlers({
      helper,
      store,
      secrets,
      certificates: new CertificateLibrary({ userConfigDir: dir, secrets, now: () => new Date() }),
      userConfigDir: dir,
      trustAnchors: async () => [],
      settings: { get: async () => ({ startAtLogin: false }), set: async (s) => s },
      now: () => new Date(),
      emit: () => undefined,
      log: { info: () => undefined, warn: () => undefined },
    });
    const parsed = parseProfile({ version: 1, id: profileId, name: 'Corp', gateway: { host: 'vpn.corp.example' }, auth: { method: 'eap-mschapv2', eapIdentity: 'carol' } });
    assert.ok(parsed.ok);
    const saved = await handlers.saveProfile({ profile: parsed.profile });
    assert.ok(saved.ok, JSON.stringify(saved));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it('refuses malformed input with INVALID_INPUT naming fields, never echoing a secret', async () => {
    const r = await handlers.connect({ profileId: 'not-a-uuid', eapPassword: 'hunter2-secret' });
    assert.equal(r.ok, false);
    assert.ok(!r.ok && r.error.code === 'INVALID_INPUT');
    assert.ok(!JSON.stringify(r).includes('hunter2-secret'));
    assert.ok(!r.ok && r.error.issues?.some((i) => i.path === '/profileId'));
    const extra = await handlers.connect({ profileId, eapPassword: 'x', command: 'rm -rf /' });
    assert.ok(!extra.ok && extra.error.code === 'INVALID_INPUT', 'unknown keys are refused (strict schema)');
    for (const bad of [null, 42, 'x', [], { fileName: 'a', contentBase64: '%%%' }]) {
      const r2 = await handlers.importFile(bad);
      assert.ok(!r2.ok && r2.error.code === 'INVALID_INPUT', JSON.stringify(bad));
    }
    assert.equal(calls.length, 0, 'nothing reached straitd');
  });

  it('an invalid profile is refused with its field issues', async () => {
    const r = await handlers.saveProfile({ profile: { version: 1, id: randomUUID(), name: '', gateway: { host: 'bad host!' }, auth: { method: 'psk', localId: 'me' } } });
    assert.ok(!r.ok && r.error.code === 'PROFILE_INVALID');
    assert.ok(!r.ok && r.error.issues?.some((i) => i.path === '/gateway/host'));
  });

  it('connect asks for the password when the keychain has none, and remembers it only after success', async () => {
    const first = await handlers.connect({ profileId });
    assert.ok(!first.ok && first.error.code === 'SECRET_MISSING' && first.error.needs === 'eap-password');
    connectAnswer = async () => {
      throw new RpcError({ code: -32000, message: 'The gateway rejected the password for "carol".', data: { failure: 'EAP_PASSWORD_WRONG' } });
    };
    const wrong = await handlers.connect({ profileId, eapPassword: 'wrong', remember: true });
    assert.ok(!wrong.ok && wrong.error.code === 'EAP_PASSWORD_WRONG' && wrong.error.needs === 'eap-password');
    assert.equal(!wrong.ok && wrong.error.message, 'The gateway rejected the password for "carol".');
    assert.equal(await secrets.get(profileId, 'eap-password'), null);
    connectAnswer = async () => ({ state: { state: 'connected' } });
    const right = await handlers.connect({ profileId, eapPassword: 'right', remember: true });
    assert.ok(right.ok);
    assert.equal(await secrets.get(profileId, 'eap-password'), 'right');
    const sent = calls.filter((c) => c.method === 'connect').at(-1)?.params as { secrets: { eapPassword: string } };
    assert.equal(sent.secrets.eapPassword, 'right');
    const again = await handlers.connect({ profileId });
    assert.ok(again.ok, 'the saved password is used without asking');
  });

  it('with straitd down, answers HELPER_UNAVAILABLE with the reason', async () => {
    helperUp = false;
    try {
      const r = await handlers.status(undefined);
      assert.ok(!r.ok && r.error.code === 'HELPER_UNAVAILABLE');
      assert.match(!r.ok ? r.error.message : '', /not running/);
    } finally {
      helperUp = true;
    }
  });

  it('a bundle import without trusted signers fails in plain words', async () => {
    const r = await handlers.importFile({ fileName: 'x.json', contentBase64: Buffer.from('{"format":"strait-bundle"}').toString('base64') });
    assert.ok(!r.ok && r.error.code === 'IMPORT_FAILED');
    assert.match(!r.ok ? r.error.message : '', /not signed/);
  });

  it('exports a profile as JSON without secrets', async () => {
    const r = await handlers.exportProfile({ id: profileId });
    assert.ok(r.ok);
    assert.equal(r.ok && r.value.fileName, 'corp.strait.json');
    assert.ok(r.ok && !r.value.text.includes('right'));
    const p = JSON.parse(r.ok ? r.value.text : '{}') as Profile;
    assert.equal(p.id, profileId);
  });
});
