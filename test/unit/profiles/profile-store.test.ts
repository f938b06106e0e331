import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmod, mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';

import { isTempFileName, removeStaleTemps, writeFileAtomic } from '../../../native-helper/src/profiles/atomic-file.js';
import { defaultStraitPaths } from '../../../native-helper/src/profiles/paths.js';
import { ProfileStore, ProfileStoreError } from '../../../native-helper/src/profiles/profile-store.js';
import { helperPath, runHelper } from './helpers/child.js';
import { profile, profileDoc } from './helpers/fixtures.js';

let root: string;
let store: ProfileStore;
let userDir: string;
let managedDir: string;

before(async () => {
  root = await mkdtemp(join(tmpdir(), 'strait-store-'));
  userDir = join(root, 'config', 'strait', 'profiles');
  managedDir = join(root, 'etc', 'strait', 'managed');
  store = new ProfileStore({ userProfilesDir: userDir, managedDir });
});
after(async () => {
  await rm(root, { recursive: true, force: true });
});

const managedBlock = { bundleIssuer: 'Example IT', bundleSerial: 3, signedBy: 'O=Example, CN=IT Signer', lockedFields: ['/gateway', '/auth/method'] };

describe('profile paths', () => {
  it('follows XDG on Linux and uses root-owned system folders', () => {
    const p = defaultStraitPaths({ XDG_CONFIG_HOME: '/home/u/.cfg' }, 'linux', '/home/u');
    assert.equal(p.userProfilesDir, '/home/u/.cfg/strait/profiles');
    assert.equal(p.managedDir, '/etc/strait/managed');
    assert.equal(p.trustDir, '/etc/strait/trust');
    assert.equal(defaultStraitPaths({}, 'linux', '/home/u').userProfilesDir, '/home/u/.config/strait/profiles');
    // A relative XDG_CONFIG_HOME is invalid per the spec and ignored.
    assert.equal(defaultStraitPaths({ XDG_CONFIG_HOME: 'rel' }, 'linux', '/home/u').userConfigDir, '/home/u/.config/strait');
  });
});

describe('profile store', () => {
  it('saves, lists, reads back and removes a user profile, with private file permissions', async () => {
    const p = profile({ name: 'Office', futureField: { kept: true } });
    const saved = await store.saveUser(p);
    assert.equal(saved.source, 'user');
    assert.equal((await stat(saved.path)).mode & 0o777, 0o600);
    const text = await readFile(saved.path, 'utf8');
    assert.equal(JSON.parse(text).futureField.kept, true, 'unknown fields survive the store');
    const listing = await store.list();
    assert.ok(listing.profiles.some((s) => s.profile.id === p.id && s.profile.name === 'Office'));
    assert.deepEqual((await store.get(p.id))?.profile, p);
    await store.removeUser(p.id);
    assert.equal(await store.get(p.id), undefined);
    await assert.rejects(store.removeUser(p.id), (e: unknown) => e instanceof ProfileStoreError && e.code === 'NOT_FOUND');
  });

  it('refuses an invalid profile and names the field', async () => {
    const bad = { ...profile(), gateway: { host: 'bad host', port: 500 } } as unknown as Parameters<ProfileStore['saveUser']>[0];
    await assert.rejects(store.saveUser(bad), (e: unknown) => e instanceof ProfileStoreError && e.code === 'INVALID' && e.fields.includes('/gateway/host'));
  });

  it('reports unreadable files instead of hiding them, and skips temp files', async () => {
    await mkdir(userDir, { recursive: true });
    const broken = join(userDir, '00000000-0000-4000-8000-000000000001.json');
    await writeFile(broken, '{"version":1, "id": ');
    const mismatch = profile();
    await writeFile(join(userDir, '00000000-0000-4000-8000-000000000002.json'), JSON.stringify(mismatch));
    await writeFile(join(userDir, 'notes.json'), '{}');
    await writeFile(join(userDir, '.x.json.abc123.tmp'), 'partial');
    const listing = await store.list();
    const reasons = Object.fromEntries(listing.unreadable.map((u) => [u.path.split('/').pop(), u.issues[0]?.message ?? '']));
    assert.match(reasons['00000000-0000-4000-8000-000000000001.json'] ?? '', /not JSON/u);
    assert.match(reasons['00000000-0000-4000-8000-000000000002.json'] ?? '', /does not match the file name/u);
    assert.match(reasons['notes.json'] ?? '', /not <profile id>\.json/u);
    assert.ok(!listing.unreadable.some((u) => isTempFileName(u.path.split('/').pop() ?? '')));
    await rm(userDir, { recursive: true });
  });

  it('only a bundle import may create a managed profile in the user store, and locked fields stay locked', async () => {
    const p = profile({ managed: managedBlock });
    await assert.rejects(store.saveUser(p), (e: unknown) => e instanceof ProfileStoreError && e.code === 'LOCKED_FIELD');
    await store.saveUser(p, { replaceLocked: true });
    // An unlocked field may change…
    const renamed = await store.saveUser({ ...p, name: 'My name for it', dns: { ...p.dns, searchDomains: ['corp.example'] } });
    assert.equal(renamed.profile.name, 'My name for it');
    assert.equal(renamed.managedBy, 'Example IT');
    // …a locked one may not, nor the managed block itself.
    await assert.rejects(store.saveUser({ ...p, gateway: { host: 'evil.example', port: 500 } }), (e: unknown) => e instanceof ProfileStoreError && e.code === 'LOCKED_FIELD' && e.fields.includes('/gateway'));
    // /auth/method is locked, the EAP identity is not.
    await store.saveUser({ ...p, auth: { method: 'eap-mschapv2', eapIdentity: 'alice.smith' } });
    await assert.rejects(store.saveUser({ ...p, auth: { method: 'psk', localId: 'x@y' } }), (e: unknown) => e instanceof ProfileStoreError && e.fields.includes('/auth/method'));
    const { managed: _m, ...unmanaged } = p;
    await assert.rejects(store.saveUser(unmanaged as typeof p), (e: unknown) => e instanceof ProfileStoreError && e.fields.includes('/managed'));
    await store.removeUser(p.id);
  });

  it('managed profiles win over user profiles with the same id and cannot be edited or removed as a user', async () => {
    const p = profile({ name: 'IT profile', managed: managedBlock });
    await store.saveUser(profile({ id: p.id, name: 'my copy' }));
    const saved = await store.saveManaged(p);
    assert.equal((await stat(saved.path)).mode & 0o777, 0o644, 'managed profiles are readable by every user');
    const got = await store.get(p.id);
    assert.equal(got?.source, 'managed');
    assert.equal(got?.managedBy, 'Example IT');
    const listing = await store.list();
    assert.equal(listing.profiles.filter((s) => s.profile.id === p.id).length, 1);
    assert.ok(listing.unreadable.some((u) => /managed profile with the same id/u.test(u.issues[0]?.message ?? '')));
    await assert.rejects(store.saveUser({ ...p, name: 'x' }), (e: unknown) => e instanceof ProfileStoreError && e.code === 'MANAGED_READ_ONLY');
    await assert.rejects(store.removeUser(p.id), (e: unknown) => e instanceof ProfileStoreError && e.code === 'MANAGED_READ_ONLY');
    await assert.rejects(store.saveManaged(profile()), (e: unknown) => e instanceof ProfileStoreError && e.code === 'INVALID');
    await store.removeManaged(p.id);
    await rm(join(userDir, `${p.id}.json`));
  });

  it('an unprivileged user cannot write the managed store (PERMISSION_DENIED)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'strait-perm-'));
    try {
      await chmod(dir, 0o755);
      const managed = join(dir, 'managed');
      await mkdir(managed, { mode: 0o755 });
      const profilePath = join(dir, 'p.json');
      await writeFile(profilePath, JSON.stringify(profileDoc({ managed: managedBlock })), { mode: 0o644 });
      let outcome: { ok: boolean; code?: string; uid?: number };
      if (process.getuid?.() === 0) {
        // As root, mode bits do not stop us: run the writer as "nobody", like a real user.
        const r = await runHelper('managed-writer-child', [join(dir, 'user'), managed, profilePath], { uid: 65534, gid: 65534, cwd: dir });
        assert.equal(r.code, 0, r.stderr);
        outcome = JSON.parse(r.stdout) as typeof outcome;
        assert.equal(outcome.uid, 65534);
      } else {
        await chmod(managed, 0o555);
        const s = new ProfileStore({ userProfilesDir: join(dir, 'user'), managedDir: managed });
        outcome = await s.saveManaged(profile({ managed: managedBlock })).then(
          () => ({ ok: true }),
          (e: unknown) => ({ ok: false, code: e instanceof ProfileStoreError ? e.code : 'OTHER' }),
        );
      }
      assert.deepEqual({ ok: outcome.ok, code: outcome.code }, { ok: false, code: 'PERMISSION_DENIED' });
      assert.deepEqual(await readdir(managed), []);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('atomic writes', () => {
  it('a writer killed at random moments leaves either the old or the new file, never a torn one', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'strait-crash-'));
    try {
      // Two large, distinct, valid JSON documents: a torn write would show as neither.
      const a = JSON.stringify(profileDoc({ name: 'A', padding: 'a'.repeat(900_000) }));
      const b = JSON.stringify(profileDoc({ name: 'B', padding: 'b'.repeat(700_000) }));
      await writeFile(join(dir, 'a.json'), a);
      await writeFile(join(dir, 'b.json'), b);
      const target = join(dir, 'profile.json');
      const seen = new Set<string>();
      for (let round = 0; round < 12; round++) {
        const child = spawn(process.execPath, [...process.execArgv, helperPath('atomic-writer-child'), target, join(dir, 'a.json'), join(dir, 'b.json')], { stdio: ['ignore', 'pipe', 'inherit'] });
        await new Promise<void>((resolve, reject) => {
          child.stdout.once('data', () => resolve());
          child.once('exit', (code) => reject(new Error(`writer exited early (${code})`)));
        });
        await new Promise((r) => setTimeout(r, 5 + Math.floor(Math.random() * 60)));
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGKILL');
        await exited;
        const text = await readFile(target, 'utf8');
        assert.ok(text === a || text === b, `round ${round}: the file is neither version (${text.length} bytes)`);
        seen.add(text === a ? 'A' : 'B');
      }
      // Debris from killed writers is recognisable and cleaned up.
      const temps = (await readdir(dir)).filter(isTempFileName);
      const removed = await removeStaleTemps(dir, Date.now() + 120_000);
      assert.deepEqual(removed.sort(), temps.sort());
      assert.ok(seen.size >= 1);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('replaces the file and leaves no temp file behind on success', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'strait-atomic-'));
    try {
      const target = join(dir, 'x.json');
      await writeFileAtomic(target, 'one');
      await writeFileAtomic(target, 'two', { mode: 0o640 });
      assert.equal(await readFile(target, 'utf8'), 'two');
      assert.equal((await stat(target)).mode & 0o777, 0o640);
      assert.deepEqual(await readdir(dir), ['x.json']);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
