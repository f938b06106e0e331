/**
 * Installing imports end to end: real openssl artefacts, the real profile
 * store on disk, the real Secret Service (run under
 * test/keychain/with-secret-service.sh).
 */
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, before, beforeEach, describe, it } from 'node:test';

import { readConnectSecrets } from '../../../native-helper/src/keychain/connect-secrets.js';
import { NapiKeyringStore } from '../../../native-helper/src/keychain/napi-keyring-store.js';
import { BundleError, verifyBundle } from '../../../native-helper/src/profiles/bundle.js';
import { lastSerial } from '../../../native-helper/src/profiles/bundle-state.js';
import type { TrustAnchor } from '../../../native-helper/src/profiles/cms.js';
import { bundleStatePaths, installBundle, installImported, type InstallContext } from '../../../native-helper/src/profiles/install.js';
import { Pkcs12Error } from '../../../native-helper/src/profiles/pkcs12.js';
import { ProfileStore, ProfileStoreError } from '../../../native-helper/src/profiles/profile-store.js';
import { importSswan } from '../../../native-helper/src/profiles/sswan.js';
import { bundleBytes } from './helpers/bundles.js';
import { requireSecretService } from './helpers/child.js';
import { profileDoc } from './helpers/fixtures.js';
import { TestPki, type Issued } from './helpers/pki.js';

const SERVICE = `org.strait.vpn.test-${randomBytes(4).toString('hex')}`;
const keychain = new NapiKeyringStore(SERVICE);
let pki: TestPki;
let root: Issued;
let signer: Issued;
let clientCa: Issued;
let client: Issued;
let anchors: TrustAnchor[];
let dir: string;
let store: ProfileStore;
let ctx: InstallContext;
const owners: string[] = [];

before(async () => {
  pki = await TestPki.create();
  root = await pki.root('Install Root', 'p384');
  signer = await pki.issue(root, 'Install Signer', 'p256');
  clientCa = await pki.root('Client CA', 'rsa2048');
  client = await pki.issue(clientCa, 'install-client', 'p256', { san: ['email:gina@lab.example'] });
  anchors = [{ certificate: root.cert, source: 'root.pem' }];
});
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'strait-install-'));
  store = new ProfileStore({ userProfilesDir: join(dir, 'user', 'profiles'), managedDir: join(dir, 'managed') });
  ctx = { store, target: 'user', secrets: keychain, userConfigDir: join(dir, 'user'), now: new Date(), pkcs12Password: async () => 'client-p12' };
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});
after(async () => {
  await pki.cleanup();
  if (process.env['DBUS_SESSION_BUS_ADDRESS'] !== undefined) for (const o of owners) await keychain.deleteAll(o).catch(() => []);
});

describe('installing an imported profile', () => {
  it('a .sswan with a PKCS#12: profile on disk, identity in the keychain, usable at connect time', async () => {
    requireSecretService();
    const uuid = randomUUID();
    owners.push(uuid);
    const p12 = await pki.pkcs12(client, 'client-p12', { chain: [clientCa] });
    const doc = { uuid, name: 'sswan cert', type: 'ikev2-cert', remote: { addr: 'vpn.lab.example', cert: Buffer.from(clientCa.cert.raw).toString('base64') }, local: { p12: Buffer.from(p12).toString('base64') } };
    const result = importSswan(new TextEncoder().encode(JSON.stringify(doc)), { now: new Date() });
    const installed = await installImported(result, ctx);
    assert.equal(installed.stored.source, 'user');
    assert.deepEqual(installed.secrets.stored.sort(), ['identity-cert-pem', 'identity-key-pem']);
    assert.equal(installed.secrets.identity?.fingerprintSha256, client.cert.fingerprint256);
    const gathered = await readConnectSecrets(keychain, installed.stored.profile);
    assert.deepEqual(gathered.missing, []);
    assert.equal(gathered.secrets.certificatePem?.replace(/\s/gu, ''), client.certPem.replace(/\s/gu, ''));
    assert.equal(gathered.secrets.certificateChainPem?.length, 1);
    // The profile file holds no secret.
    const onDisk = JSON.stringify((await store.get(uuid))?.profile);
    assert.doesNotMatch(onDisk, /PRIVATE KEY/u);
    assert.doesNotMatch(onDisk, new RegExp(Buffer.from(p12).toString('base64').slice(10, 50).replace(/[+/]/gu, '.'), 'u'));
  });

  it('a wrong PKCS#12 password stops the import before anything is written', async () => {
    requireSecretService();
    const uuid = randomUUID();
    owners.push(uuid);
    const p12 = await pki.pkcs12(client, 'right');
    const result = importSswan(new TextEncoder().encode(JSON.stringify({ uuid, name: 'x', type: 'ikev2-cert', remote: { addr: 'vpn.example' }, local: { p12: Buffer.from(p12).toString('base64') } })), { now: new Date() });
    await assert.rejects(installImported(result, { ...ctx, pkcs12Password: async () => 'wrong' }), (e: unknown) => e instanceof Pkcs12Error && e.code === 'BAD_PASSWORD');
    assert.equal(await store.get(uuid), undefined);
    assert.deepEqual(await keychain.deleteAll(uuid), []);
  });

  it('no password at import: the PKCS#12 is stored locked and unlocked at connect time', async () => {
    requireSecretService();
    const uuid = randomUUID();
    owners.push(uuid);
    const p12 = await pki.pkcs12(client, 'later');
    const result = importSswan(new TextEncoder().encode(JSON.stringify({ uuid, name: 'x', type: 'ikev2-cert', remote: { addr: 'vpn.example' }, local: { p12: Buffer.from(p12).toString('base64') } })), { now: new Date() });
    const installed = await installImported(result, { ...ctx, pkcs12Password: async () => undefined });
    assert.deepEqual(installed.secrets.stored, ['identity-pkcs12']);
    const gathered = await readConnectSecrets(keychain, installed.stored.profile, { pkcs12Password: async () => 'later' });
    assert.match(gathered.secrets.privateKeyPem ?? '', /PRIVATE KEY/u);
  });
});

describe('a signed file installed by the administrator, then by the user', () => {
  it('managed import keeps no secret; the user import adds only the secret, the profile stays managed', async () => {
    requireSecretService();
    const uuid = randomUUID();
    owners.push(uuid);
    const result = importSswan(new TextEncoder().encode(JSON.stringify({ uuid, name: 'Signed EAP', type: 'ikev2-eap', remote: { addr: 'vpn.example' }, local: { eap_id: 'ivy', shared_secret: 'ivy-password' } })), { now: new Date() });
    const signedResult = { ...result, verified: { signer: 'O=Strait Test, CN=Install Signer', anchor: 'root.pem' } };
    const { secrets: _s, ...adminCtx } = ctx;
    const admin = await installImported(signedResult, { ...adminCtx, target: 'managed' });
    assert.equal(admin.stored.source, 'managed');
    assert.deepEqual(admin.secrets.stored, []);
    assert.match(admin.secrets.notes.join(), /not stored \(no user keychain/u);
    assert.doesNotMatch(JSON.stringify(admin.stored.profile), /ivy-password/u);
    const user = await installImported(signedResult, ctx);
    assert.equal(user.stored.source, 'managed');
    assert.deepEqual(user.secrets.stored, ['eap-password']);
    assert.equal(await keychain.get(uuid, 'eap-password'), 'ivy-password');
    await assert.rejects(installImported(result, { ...adminCtx, target: 'managed' }), /only signed files/u);
  });
});

describe('installing a signed bundle', () => {
  const certId = randomUUID();
  const eapId = randomUUID();

  async function signedBundle(serial: number, withEap = true): Promise<Uint8Array> {
    const p12 = await pki.pkcs12(client, 'client-p12', { chain: [clientCa] });
    return pki.sign(
      bundleBytes({
        serial,
        issuer: 'Example Corp IT',
        profiles: [
          profileDoc({ id: certId, name: 'Corp (certificate)', gateway: { host: 'vpn.corp.example' }, auth: { method: 'certificate', certificateRef: 'placeholder' }, managed: { bundleIssuer: 'Forged', bundleSerial: 999, signedBy: 'CN=forged', lockedFields: ['/gateway', '/dns'] } }),
          ...(withEap ? [profileDoc({ id: eapId, name: 'Corp (password)', gateway: { host: 'vpn2.corp.example' } })] : []),
        ],
        caCertificates: [clientCa.certPem],
        identities: [{ profileId: certId, pkcs12: Buffer.from(p12).toString('base64') }],
      }),
      signer,
    );
  }

  it('user import: locked profiles, bundle CA in their trust, identity in the keychain, serial recorded', async () => {
    requireSecretService();
    owners.push(certId, eapId);
    const verified = await verifyBundle(await signedBundle(3), { anchors, now: new Date() });
    const report = await installBundle(verified, ctx);
    assert.deepEqual(report.installed.map((s) => s.profile.id).sort(), [certId, eapId].sort());
    const cert = (await store.get(certId))?.profile;
    assert.ok(cert !== undefined);
    // The bundle's word on who manages it, not the profile's own claim; the profile's locked list is honoured.
    assert.deepEqual(cert.managed, { bundleIssuer: 'Example Corp IT', bundleSerial: 3, signedBy: 'O=Strait Test, CN=Install Signer', lockedFields: ['/gateway', '/dns'] });
    assert.equal(cert.auth.method === 'certificate' ? cert.auth.certificateRef : '', certId);
    assert.ok(cert.trust.caCertificates.includes(clientCa.certPem));
    assert.deepEqual((await store.get(eapId))?.profile.managed?.lockedFields, ['/gateway', '/remoteId', '/auth/method', '/trust', '/proposals']);
    assert.equal(report.identities[0]?.secrets.identity?.fingerprintSha256, client.cert.fingerprint256);
    assert.deepEqual((await readConnectSecrets(keychain, cert)).missing, []);
    assert.equal(await lastSerial([bundleStatePaths(ctx).user], 'Example Corp IT'), 3);
    await assert.rejects(store.saveUser({ ...cert, gateway: { host: 'elsewhere.example', port: 500 } }), (e: unknown) => e instanceof ProfileStoreError && e.code === 'LOCKED_FIELD');

    // A newer bundle without the password profile removes it; an older one is refused.
    const newer = await verifyBundle(await signedBundle(4, false), { anchors, now: new Date() });
    const second = await installBundle(newer, ctx);
    assert.deepEqual(second.removed, [eapId]);
    assert.equal(await store.get(eapId), undefined);
    const older = await signedBundle(2);
    await assert.rejects(
      verifyBundle(older, { anchors, now: new Date(), lastSerial: (issuer) => lastSerial(Object.values(bundleStatePaths(ctx)), issuer) }),
      (e: unknown) => e instanceof BundleError && e.code === 'ROLLBACK',
    );
    const olderVerified = await verifyBundle(older, { anchors, now: new Date() });
    await assert.rejects(installBundle(olderVerified, ctx), (e: unknown) => e instanceof BundleError && e.code === 'ROLLBACK');
  });

  it('managed import (administrator): system store and state, identities left for each user', async () => {
    requireSecretService();
    owners.push(certId, eapId);
    const verified = await verifyBundle(await signedBundle(7), { anchors, now: new Date() });
    const { secrets: _s, ...adminCtx } = ctx;
    const report = await installBundle(verified, { ...adminCtx, target: 'managed' });
    assert.ok(report.installed.every((s) => s.source === 'managed'));
    assert.match(report.identities[0]?.secrets.notes.join() ?? '', /each user imports the bundle/u);
    assert.deepEqual((await readdir(join(dir, 'managed'))).sort(), ['bundle-state.json', `${certId}.json`, `${eapId}.json`].sort());
    // The user then imports the same bundle: profiles are already there, the identity goes to their keychain.
    const userReport = await installBundle(verified, ctx);
    assert.deepEqual(userReport.installed, []);
    assert.deepEqual(userReport.skipped.sort(), [certId, eapId].sort());
    assert.deepEqual(userReport.identities[0]?.secrets.stored.sort(), ['identity-cert-pem', 'identity-key-pem']);
    const listing = await store.list();
    assert.equal(listing.profiles.length, 2);
    assert.ok(listing.profiles.every((s) => s.managedBy === 'Example Corp IT'));
  });
});
