/**
 * Profile + secrets → IkeSessionConfig: each auth method, selectors for full
 * and split tunnels, lifetimes, and typed failures for missing secrets.
 */
import assert from 'node:assert/strict';
import { createPrivateKey, generateKeyPairSync } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { describe, it } from 'node:test';

import { buildSessionConfig } from '../../../native-helper/src/daemon/session-config.js';
import { formatTrafficSelector } from '../../../native-helper/src/ike/traffic-selectors.js';
import { formatIdentity } from '../../../native-helper/src/pki/identity.js';
import { TestPki } from '../profiles/helpers/pki.js';
import { testProfile } from './helpers.js';

const endpoints = { local: { address: '192.0.2.2', port: 500 }, remote: { address: '192.0.2.1', port: 500 }, localNattPort: 4500 };

describe('session config from a profile', () => {
  it('PSK, full tunnel with IPv6: any→any selectors, config request, 90 % soft lifetime', () => {
    const r = buildSessionConfig(testProfile(500), { psk: 'abc' }, endpoints);
    assert.ok(r.ok);
    const s = r.config.session;
    assert.equal(s.auth.method, 'psk');
    assert.equal(formatIdentity(s.localId), 'psk-client@lab.example');
    assert.ok(s.remoteId !== undefined && formatIdentity(s.remoteId) === 'vpn.lab.example');
    assert.deepEqual(s.trafficSelectors.remote.map(formatTrafficSelector), ['0.0.0.0/0', '::/0']);
    assert.deepEqual(s.requestConfig, { ipv4: true, ipv6: true, dns: true });
    assert.deepEqual(s.childLifetime, { soft: 9720, hard: 10800 });
    assert.equal(s.ikeRekeySeconds, 32_400, 'the IKE SA is rekeyed at 90 % of the profile lifetime (36000 s)');
    assert.equal(s.nattPorts, undefined);
    assert.equal(s.dpdIntervalMs, 30_000, 'the profile default DPD interval (30 s)');
    assert.ok(s.ikeProposals.length > 0 && s.espProposals.length > 0);
  });

  it('split tunnel without IPv6 asks only for the included IPv4 networks', () => {
    const p = testProfile(500, { tunnel: { mode: 'split', include: ['10.10.0.0/24', '172.16.5.9', 'fd00::/8'], ipv6: false } });
    const r = buildSessionConfig(p, { psk: 'abc' }, { ...endpoints, localNattPort: 14500 });
    assert.ok(r.ok);
    assert.deepEqual(r.config.session.trafficSelectors.remote.map(formatTrafficSelector), ['10.10.0.0/24', '172.16.5.9/32']);
    assert.deepEqual(r.config.session.nattPorts, { local: 14500, remote: 4500 });
    assert.equal(r.config.tunnel.mode, 'split');
  });

  it('allowLan with the leak guard keeps the local networks out of the tunnel; without the guard it does nothing', () => {
    const on = buildSessionConfig(testProfile(500, { leakGuard: true, allowLan: true }), { psk: 'x' }, endpoints);
    assert.ok(on.ok, on.ok ? '' : on.message);
    assert.equal(on.config.tunnel.excludeLocalNetworks, true);
    const off = buildSessionConfig(testProfile(500, { leakGuard: false, allowLan: true }), { psk: 'x' }, endpoints);
    assert.ok(off.ok, off.ok ? '' : off.message);
    assert.equal(off.config.tunnel.excludeLocalNetworks, undefined);
  });

  it('certificate: signature auth with the key, the certificate and its subject as IDi by default', async () => {
    const pki = await TestPki.create();
    try {
      const ca = await pki.root('Test CA', 'p256');
      const leaf = await pki.issue(ca, 'alice', 'p256');
      const keyPem = createPrivateKey(await readFile(leaf.keyPath, 'utf8')).export({ format: 'pem', type: 'pkcs8' }).toString();
      const p = testProfile(500, { auth: { method: 'certificate', certificateRef: 'alice' }, trust: { caCertificates: [ca.certPem] } });
      const r = buildSessionConfig(p, { privateKeyPem: keyPem, certificatePem: leaf.certPem }, endpoints);
      assert.ok(r.ok, r.ok ? '' : r.message);
      const s = r.config.session;
      assert.equal(s.auth.method, 'signature');
      assert.equal(s.localId.type, 'dn');
      assert.match(formatIdentity(s.localId), /CN=alice/u);
      assert.equal(s.trust.caCertificates.length, 1);
    } finally {
      await pki.cleanup();
    }
  });

  it('missing or unusable secrets are SECRET_MISSING without quoting them', () => {
    const p = testProfile(500);
    const none = buildSessionConfig(p, {}, endpoints);
    assert.ok(!none.ok && none.code === 'SECRET_MISSING');
    const certProfile = testProfile(500, { auth: { method: 'certificate', certificateRef: 'x' } });
    const enc = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'pem', type: 'pkcs8', cipher: 'aes-256-cbc', passphrase: 'pw' }).toString();
    const bad = buildSessionConfig(certProfile, { privateKeyPem: enc, certificatePem: '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n' }, endpoints);
    assert.ok(!bad.ok && bad.code === 'SECRET_MISSING', JSON.stringify(bad));
    assert.ok(!bad.message.includes('MII'));
    const eapTls = buildSessionConfig(testProfile(500, { auth: { method: 'eap-tls', certificateRef: 'x' } }), {}, endpoints);
    assert.ok(!eapTls.ok && eapTls.code === 'SECRET_MISSING');
    const certEap = buildSessionConfig(testProfile(500, { auth: { method: 'certificate-eap', certificateRef: 'x', eapIdentity: 'carol' } }), {}, endpoints);
    assert.ok(!certEap.ok && certEap.code === 'SECRET_MISSING');
  });

  it('EAP-TLS: the client certificate and chain go to EAP, the subject is IDi, the gateway host is the TLS server name', async () => {
    const pki = await TestPki.create();
    try {
      const ca = await pki.root('Test CA', 'p256');
      const leaf = await pki.issue(ca, 'alice', 'p256');
      const keyPem = createPrivateKey(await readFile(leaf.keyPath, 'utf8')).export({ format: 'pem', type: 'pkcs8' }).toString();
      const p = testProfile(500, { gateway: { host: 'vpn.lab.example', port: 500 }, auth: { method: 'eap-tls', certificateRef: 'alice', eapIdentity: 'alice@lab.example' }, trust: { caCertificates: [ca.certPem] } });
      const r = buildSessionConfig(p, { privateKeyPem: keyPem, certificatePem: leaf.certPem, certificateChainPem: [ca.certPem] }, endpoints);
      assert.ok(r.ok, r.ok ? '' : r.message);
      const a = r.config.session.auth;
      assert.ok(a.method === 'eap' && a.eap.method === 'tls');
      assert.equal(a.eap.identity, 'alice@lab.example');
      assert.equal(a.eap.serverName, 'vpn.lab.example');
      assert.ok(a.eap.certificatePem.startsWith(leaf.certPem.trim().slice(0, 40)) && a.eap.certificatePem.includes(ca.certPem.trim().slice(-60)));
      assert.match(formatIdentity(r.config.session.localId), /CN=alice/u);
    } finally {
      await pki.cleanup();
    }
  });

  it('certificate-eap (RFC 4739): signature auth with a second EAP-MSCHAPv2 round as the EAP identity', async () => {
    const pki = await TestPki.create();
    try {
      const ca = await pki.root('Test CA', 'p256');
      const leaf = await pki.issue(ca, 'bob', 'p256');
      const keyPem = createPrivateKey(await readFile(leaf.keyPath, 'utf8')).export({ format: 'pem', type: 'pkcs8' }).toString();
      const p = testProfile(500, { auth: { method: 'certificate-eap', certificateRef: 'bob', eapIdentity: 'carol' }, trust: { caCertificates: [ca.certPem] } });
      const noPassword = buildSessionConfig(p, { privateKeyPem: keyPem, certificatePem: leaf.certPem }, endpoints);
      assert.ok(!noPassword.ok && noPassword.code === 'SECRET_MISSING' && /password/u.test(noPassword.message));
      const r = buildSessionConfig(p, { privateKeyPem: keyPem, certificatePem: leaf.certPem, eapPassword: 'pw' }, endpoints);
      assert.ok(r.ok, r.ok ? '' : r.message);
      const a = r.config.session.auth;
      assert.ok(a.method === 'signature' && a.secondRound !== undefined);
      assert.equal(formatIdentity(a.secondRound.identity), 'carol');
      assert.deepEqual({ method: a.secondRound.eap.method, identity: a.secondRound.eap.identity }, { method: 'mschapv2', identity: 'carol' });
      assert.match(formatIdentity(r.config.session.localId), /CN=bob/u);
    } finally {
      await pki.cleanup();
    }
  });

  it('EAP-MSCHAPv2: EAP credentials, the EAP identity as IDi by default', () => {
    const p = testProfile(500, { auth: { method: 'eap-mschapv2', eapIdentity: 'carol' } });
    const r = buildSessionConfig(p, { eapPassword: 'pw' }, endpoints);
    assert.ok(r.ok);
    assert.ok(r.config.session.auth.method === 'eap');
    assert.equal(r.config.session.auth.eap.identity, 'carol');
    assert.equal(formatIdentity(r.config.session.localId), 'carol');
  });
});
