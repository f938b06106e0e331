/**
 * `strait profiles …` and `strait bundle …` run in-process with a captured
 * terminal, real files, real openssl artefacts and the real Secret Service
 * (run under test/keychain/with-secret-service.sh).
 */
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';

import { createBundleCommand } from '../../../native-helper/src/cli/commands/bundle.js';
import { createProfilesCommand } from '../../../native-helper/src/cli/commands/profiles.js';
import { ExitCode, type CliIo } from '../../../native-helper/src/cli/command.js';
import { NapiKeyringStore } from '../../../native-helper/src/keychain/napi-keyring-store.js';
import type { StraitPaths } from '../../../native-helper/src/profiles/paths.js';
import { bundleBytes } from './helpers/bundles.js';
import { requireSecretService } from './helpers/child.js';
import { profileDoc } from './helpers/fixtures.js';
import { TestPki, type Issued } from './helpers/pki.js';

const SERVICE = `org.strait.vpn.test-${randomBytes(4).toString('hex')}`;
const keychain = new NapiKeyringStore(SERVICE);
const uid = process.getuid?.() ?? 0;

interface Terminal extends CliIo {
  readonly stdout: string[];
  readonly stderr: string[];
  readonly answers: string[];
  readonly prompts: string[];
}

function terminal(answers: string[] = []): Terminal {
  const stdout: string[] = [];
  const stderr: string[] = [];
  const prompts: string[] = [];
  return {
    stdout,
    stderr,
    answers,
    prompts,
    out: (l) => stdout.push(l),
    err: (l) => stderr.push(l),
    readSecret: async (prompt) => {
      prompts.push(prompt);
      return answers.shift() ?? '';
    },
    readStdin: async () => new Uint8Array(),
    isTty: false,
    env: {},
  };
}

let pki: TestPki;
let root: Issued;
let signer: Issued;
let client: Issued;
let dir: string;
let paths: StraitPaths;
const owners: string[] = [];

before(async () => {
  pki = await TestPki.create();
  root = await pki.root('CLI Root', 'rsa2048');
  signer = await pki.issue(root, 'CLI Signer', 'p384');
  client = await pki.issue(root, 'cli-client', 'p256');
  dir = await mkdtemp(join(tmpdir(), 'strait-cli-'));
  const trustDir = join(dir, 'trust');
  await mkdir(trustDir);
  await chmod(trustDir, 0o755);
  await writeFile(join(trustDir, 'cli-root.pem'), root.certPem, { mode: 0o644 });
  paths = { userConfigDir: join(dir, 'home', 'strait'), userProfilesDir: join(dir, 'home', 'strait', 'profiles'), managedDir: join(dir, 'managed'), trustDir };
});
after(async () => {
  await pki.cleanup();
  if (process.env['DBUS_SESSION_BUS_ADDRESS'] !== undefined) for (const o of owners) await keychain.deleteAll(o).catch(() => []);
  await rm(dir, { recursive: true, force: true });
});

const profiles = () => createProfilesCommand({ paths: () => paths, secretStore: () => keychain, trustOwnerUid: uid });
const bundles = () => createBundleCommand({ paths: () => paths, trustOwnerUid: uid });
const file = async (name: string, content: string | Uint8Array): Promise<string> => {
  const p = join(dir, name);
  await writeFile(p, content);
  return p;
};

describe('strait profiles', () => {
  it('list on an empty store, usage errors', async () => {
    const t = terminal();
    assert.equal(await profiles().run(['list'], t), ExitCode.OK);
    assert.deepEqual(t.stdout, ['no profiles']);
    assert.equal(await profiles().run(['frobnicate'], terminal()), ExitCode.USAGE);
    assert.equal(await profiles().run(['import'], terminal()), ExitCode.USAGE);
    assert.equal(await profiles().run(['list', '--bogus'], terminal()), ExitCode.USAGE);
  });

  it('import .sswan → keychain, export as Strait and .sswan without secrets, remove', async () => {
    requireSecretService();
    const uuid = randomUUID();
    owners.push(uuid);
    const sswan = await file('lab.sswan', JSON.stringify({ uuid, name: 'Lab EAP', type: 'ikev2-eap', remote: { addr: 'vpn.lab.example' }, local: { eap_id: 'hank', shared_secret: 'sswan-secret-pw' }, 'nat-keepalive': 30 }));
    const t = terminal();
    assert.equal(await profiles().run(['import', sswan], t), ExitCode.OK, t.stderr.join('\n'));
    assert.ok(t.stdout.some((l) => /ignored keys.*nat-keepalive/u.test(l)));
    assert.ok(t.stdout.some((l) => /stored in the keychain: eap-password/u.test(l)));
    assert.equal(await keychain.get(uuid, 'eap-password'), 'sswan-secret-pw');

    const listed = terminal();
    assert.equal(await profiles().run(['list', '--json'], listed), ExitCode.OK);
    const json = JSON.parse(listed.stdout.join('\n')) as { profiles: Array<{ id: string; source: string; auth: string }> };
    assert.deepEqual(json.profiles.map((p) => [p.id, p.source, p.auth]), [[uuid, 'user', 'eap-mschapv2']]);

    const outStrait = join(dir, 'export.json');
    assert.equal(await profiles().run(['export', uuid, '--out', outStrait], terminal()), ExitCode.OK);
    const outSswan = join(dir, 'export.sswan');
    assert.equal(await profiles().run(['export', uuid, '--format', 'sswan', '--out', outSswan], terminal()), ExitCode.OK);
    for (const p of [outStrait, outSswan]) assert.doesNotMatch(await readFile(p, 'utf8'), /sswan-secret-pw/u);
    assert.equal((JSON.parse(await readFile(outStrait, 'utf8')) as { id: string }).id, uuid);
    assert.equal((JSON.parse(await readFile(outSswan, 'utf8')) as { local: { eap_id: string } }).local.eap_id, 'hank');

    const removed = terminal();
    assert.equal(await profiles().run(['remove', uuid], removed), ExitCode.OK);
    assert.ok(removed.stdout.some((l) => /removed from the keychain: eap-password/u.test(l)));
    assert.equal(await keychain.get(uuid, 'eap-password'), null);
    assert.equal(await profiles().run(['remove', uuid], terminal()), ExitCode.NOT_FOUND);
    assert.equal(await profiles().run(['export', uuid], terminal()), ExitCode.NOT_FOUND);
    for (const l of [...t.stdout, ...t.stderr]) assert.doesNotMatch(l, /sswan-secret-pw/u);
  });

  it('import a Strait profile with --cert/--key (encrypted key, password asked) and --ca', async () => {
    requireSecretService();
    const id = randomUUID();
    owners.push(id);
    const keyPath = await pki.key('p256', 'cli-enc');
    // Re-issue a certificate for that key: the CLI must check the pair matches.
    const encKey = await pki.openssl(['pkey', '-in', keyPath, '-aes256', '-passout', `file:${await pki.passwordFile('key-pass')}`]);
    const encKeyPath = await file('client-enc.key', encKey);
    const profilePath = await file('p.json', JSON.stringify(profileDoc({ id, auth: { method: 'certificate', certificateRef: id } })));
    const mismatch = terminal(['key-pass']);
    assert.equal(await profiles().run(['import', profilePath, '--cert', client.certPath, '--key', encKeyPath], mismatch), ExitCode.INVALID_INPUT);
    assert.match(mismatch.stderr.join(), /does not belong/u);
    const clientEnc = await file('client-enc2.key', await pki.openssl(['pkey', '-in', client.keyPath, '-aes256', '-passout', `file:${await pki.passwordFile('key-pass')}`]));
    const t = terminal(['key-pass']);
    assert.equal(await profiles().run(['import', profilePath, '--cert', client.certPath, '--key', clientEnc, '--ca', root.certPath], t), ExitCode.OK, t.stderr.join('\n'));
    assert.deepEqual(t.prompts, ['Password for the private key: ']);
    assert.ok(t.stdout.some((l) => /fingerprint: SHA256 /u.test(l)));
    assert.match(await keychain.get(id, 'identity-key-pem') ?? '', /BEGIN PRIVATE KEY/u);
    assert.doesNotMatch([...t.stdout, ...t.stderr].join('\n'), /key-pass/u);
  });

  it('import a signed bundle; a tampered or unsigned one is refused with the reason; --managed needs a signature', async () => {
    requireSecretService();
    const id = randomUUID();
    owners.push(id);
    const content = bundleBytes({ serial: 5, profiles: [profileDoc({ id, name: 'From IT' })] });
    const signed = await file('it.p7m', await pki.sign(content, signer));
    const t = terminal();
    assert.equal(await profiles().run(['import', signed], t), ExitCode.OK, t.stderr.join('\n'));
    assert.ok(t.stdout.some((l) => /signed by O=Strait Test, CN=CLI Signer/u.test(l)));
    const listed = terminal();
    await profiles().run(['list'], listed);
    assert.ok(listed.stdout.some((l) => l.includes(id) && /managed by Example Corp IT/u.test(l)));

    const bytes = Buffer.from(await readFile(signed));
    const at = bytes.indexOf('From IT');
    bytes[at] = (bytes[at] as number) ^ 0x01;
    const tampered = terminal();
    assert.equal(await profiles().run(['import', await file('bad.p7m', bytes)], tampered), ExitCode.VERIFICATION_FAILED);
    assert.match(tampered.stderr.join(), /refused \(TAMPERED\)/u);
    const unsigned = terminal();
    assert.equal(await profiles().run(['import', await file('plain.json', content)], unsigned), ExitCode.VERIFICATION_FAILED);
    assert.match(unsigned.stderr.join(), /refused \(UNSIGNED\)/u);
    const older = terminal();
    assert.equal(await profiles().run(['import', await file('old.p7m', await pki.sign(bundleBytes({ serial: 4 }), signer))], older), ExitCode.VERIFICATION_FAILED);
    assert.match(older.stderr.join(), /refused \(ROLLBACK\)/u);
    const sswan = await file('m.sswan', JSON.stringify({ uuid: randomUUID(), name: 'x', type: 'ikev2-cert', remote: { addr: 'vpn.example' } }));
    const managed = terminal();
    assert.equal(await profiles().run(['import', sswan, '--managed'], managed), ExitCode.VERIFICATION_FAILED);
    assert.match(managed.stderr.join(), /only signed files/u);
  });
});

describe('strait bundle', () => {
  it('sign (password-protected key asked for) → openssl cms -verify accepts it → bundle verify reports it', async () => {
    const content = await file('bundle.json', bundleBytes({ serial: 9 }));
    const keyPath = await file('signer-enc.key', await pki.openssl(['pkey', '-in', signer.keyPath, '-aes256', '-passout', `file:${await pki.passwordFile('sign-pass')}`]));
    const out = join(dir, 'signed.p7m');
    const t = terminal(['sign-pass']);
    assert.equal(await bundles().run(['sign', '--content', content, '--signer-cert', signer.certPath, '--signer-key', keyPath, '--out', out], t), ExitCode.OK, t.stderr.join('\n'));
    assert.deepEqual(t.prompts, ['Password for the signing key: ']);
    assert.deepEqual(await pki.opensslVerify(new Uint8Array(await readFile(out)), root.certPath), await readFile(content));
    const v = terminal();
    assert.equal(await bundles().run(['verify', out], v), ExitCode.OK, v.stderr.join('\n'));
    assert.match(v.stdout.join('\n'), /verified: bundle "Example Corp IT" serial 9[\s\S]*subject: +O=Strait Test, CN=CLI Signer[\s\S]*ECDSA P-384/u);
    const pemOut = join(dir, 'signed.pem');
    assert.equal(await bundles().run(['sign', '--content', content, '--signer-cert', signer.certPath, '--signer-key', signer.keyPath, '--out', pemOut, '--pem'], terminal()), ExitCode.OK);
    assert.equal(await bundles().run(['verify', pemOut], terminal()), ExitCode.OK);
  });

  it('verify against another trust folder says UNKNOWN_SIGNER; invalid content is not signed', async () => {
    const other = join(dir, 'other-trust');
    await mkdir(other);
    await chmod(other, 0o755);
    await writeFile(join(other, 'x.pem'), (await pki.root('Other CLI Root', 'p256')).certPem, { mode: 0o644 });
    const signed = await file('s2.p7m', await pki.sign(bundleBytes(), signer));
    const t = terminal();
    assert.equal(await bundles().run(['verify', signed, '--trust-dir', other], t), ExitCode.VERIFICATION_FAILED);
    assert.match(t.stderr.join(), /not verified \(UNKNOWN_SIGNER\)/u);
    const bad = await file('bad.json', JSON.stringify({ format: 'strait-bundle', formatVersion: 1, issuer: '', serial: -1 }));
    const s = terminal();
    assert.equal(await bundles().run(['sign', '--content', bad, '--signer-cert', signer.certPath, '--signer-key', signer.keyPath, '--out', join(dir, 'never.p7m')], s), ExitCode.INVALID_INPUT);
    assert.match(s.stderr.join('\n'), /\/serial: serial must not be negative/u);
    assert.equal(await bundles().run(['sign', '--content', bad], terminal()), ExitCode.USAGE);
  });
});
