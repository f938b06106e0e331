import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';

import { parseProfile } from '../../../native-helper/src/api/profile.js';
import { ImportError } from '../../../native-helper/src/profiles/import-types.js';
import { rangeToCidrs, selectorToCidrs } from '../../../native-helper/src/profiles/ip-ranges.js';
import { decodePkcs12 } from '../../../native-helper/src/profiles/pkcs12.js';
import { exportSswan, ExportError, importSswan } from '../../../native-helper/src/profiles/sswan.js';
import { profile } from './helpers/fixtures.js';
import { TestPki, type Issued } from './helpers/pki.js';

let pki: TestPki;
let ca: Issued;
let client: Issued;

before(async () => {
  pki = await TestPki.create();
  ca = await pki.root('sswan CA', 'rsa2048');
  client = await pki.issue(ca, 'sswan-client', 'p256', { san: ['email:carol@lab.example'] });
});
after(async () => {
  await pki.cleanup();
});

const enc = (doc: unknown): Uint8Array => new TextEncoder().encode(JSON.stringify(doc));
const derB64 = (c: Issued): string => Buffer.from(c.cert.raw).toString('base64');
const now = new Date();

describe('.sswan import', () => {
  it('maps every supported key of FEATURES.md b1 and reports the rest', async () => {
    const uuid = randomUUID().toUpperCase();
    const p12 = await pki.pkcs12(client, 'sswan-p12', { chain: [ca] });
    const doc = {
      uuid,
      name: 'Lab (EAP-TLS)',
      type: 'ikev2-eap-tls',
      remote: { addr: 'vpn.lab.example', port: 4500, id: 'vpn.lab.example', cert: derB64(ca), certreq: false, revocation: { crl: false, ocsp: true, strict: false } },
      local: { id: 'carol@lab.example', eap_id: 'carol', p12: Buffer.from(p12).toString('base64'), 'rsa-pss': true },
      'ike-proposal': 'aes256gcm16-prfsha256-ecp256,aes256-sha256-modp2048',
      'esp-proposal': 'aes256gcm16',
      mtu: 1400,
      'nat-keepalive': 20,
      'dns-servers': '10.1.0.53 2001:db8::53',
      'ipv6-transport': false,
      apps: ['org.example.app'],
      'excluded-apps': 'com.example.other',
      'split-tunneling': { subnets: ['10.1.0.0/16', '192.0.2.7', '10.9.0.1-10.9.0.6'], excluded: '10.1.99.0/24', 'block-ipv4': true, 'block-ipv6': false },
      proxy: { host: 'proxy.lab.example', port: 3128, exclusions: ['*.lab.example'] },
      'some-future-key': 1,
    };
    const r = importSswan(enc(doc), { now });
    const p = r.profile;
    assert.equal(p.id, uuid.toLowerCase());
    assert.equal(p.name, 'Lab (EAP-TLS)');
    assert.deepEqual(p.gateway, { host: 'vpn.lab.example', port: 4500 });
    assert.equal(p.remoteId, 'vpn.lab.example');
    assert.deepEqual(p.auth, { method: 'eap-tls', certificateRef: uuid.toLowerCase(), eapIdentity: 'carol', localId: 'carol@lab.example' });
    assert.equal(p.trust.caCertificates.length, 1);
    assert.equal(r.caCertificates[0]?.subject, 'O=Strait Test, CN=sswan CA');
    assert.deepEqual(p.proposals, { ike: ['aes256gcm16-prfsha256-ecp256', 'aes256-sha256-modp2048'], esp: ['aes256gcm16'] });
    assert.equal(p.mtu, 1400);
    assert.deepEqual(p.dns.servers, ['10.1.0.53', '2001:db8::53']);
    assert.equal(p.tunnel.mode, 'split');
    assert.deepEqual(p.tunnel.include, ['10.1.0.0/16', '192.0.2.7/32', '10.9.0.1/32', '10.9.0.2/31', '10.9.0.4/31', '10.9.0.6/32']);
    assert.deepEqual(p.tunnel.exclude, ['10.1.99.0/24']);
    assert.equal(p.leakGuard, true);
    assert.deepEqual(r.ignoredKeys.sort(), [
      'apps', 'excluded-apps', 'ipv6-transport', 'local.rsa-pss', 'nat-keepalive', 'proxy', 'remote.certreq', 'remote.revocation', 'some-future-key',
    ].sort());
    // The PKCS#12 goes to the keychain, untouched, never into the profile.
    assert.deepEqual(r.secrets.identity?.pkcs12, p12);
    assert.equal((await decodePkcs12(r.secrets.identity?.pkcs12 ?? new Uint8Array(), 'sswan-p12')).certificate.fingerprint256, client.cert.fingerprint256);
    assert.doesNotMatch(JSON.stringify(p), new RegExp(Buffer.from(p12).toString('base64').slice(0, 40).replace(/[+/]/gu, '.'), 'u'));
  });

  it('ikev2-eap: EAP identity and the cleartext local.shared_secret (to the keychain)', () => {
    const r = importSswan(enc({ uuid: randomUUID(), name: 'EAP', type: 'ikev2-eap', remote: { addr: '192.0.2.1' }, local: { eap_id: 'dave', shared_secret: 'hunter2' } }), { now });
    assert.deepEqual(r.profile.auth, { method: 'eap-mschapv2', eapIdentity: 'dave' });
    assert.equal(r.secrets.eapPassword, 'hunter2');
    assert.doesNotMatch(JSON.stringify(r.profile), /hunter2/u);
    assert.equal(r.profile.tunnel.mode, 'full');
    assert.equal(r.profile.gateway.port, 500);
  });

  it('ikev2-cert-eap (RFC 4739): certificate then EAP-MSCHAPv2 as local.eap_id; exports back to ikev2-cert-eap', () => {
    const uuid = randomUUID();
    const r = importSswan(enc({ uuid, name: 'Cert+EAP', type: 'ikev2-cert-eap', remote: { addr: 'vpn.example' }, local: { eap_id: 'carol', id: 'carol@lab.example' } }), { now });
    assert.deepEqual(r.profile.auth, { method: 'certificate-eap', certificateRef: uuid.toLowerCase(), eapIdentity: 'carol', localId: 'carol@lab.example' });
    const back = JSON.parse(exportSswan(r.profile).text) as { type: string; local: { eap_id: string } };
    assert.equal(back.type, 'ikev2-cert-eap');
    assert.equal(back.local.eap_id, 'carol');
  });

  it('refuses what Strait cannot represent, naming the key', () => {
    const base = { uuid: randomUUID(), name: 'x', remote: { addr: 'vpn.example' } };
    const cases: Array<[unknown, string, RegExp]> = [
      [{ ...base, type: 'ikev2-cert-eap' }, 'INVALID', /local\.eap_id/u],
      [{ ...base, type: 'ikev2-byod-eap' }, 'UNSUPPORTED', /EAP-TNC/u],
      [{ ...base, type: 'ikev2-eap' }, 'INVALID', /local\.eap_id/u],
      [{ ...base, type: 'l2tp' }, 'INVALID', /type must be/u],
      [{ name: 'x', type: 'ikev2-cert' }, 'INVALID', /remote is required/u],
      [{ ...base, type: 'ikev2-cert', remote: { addr: 'vpn.example', cert: 'not base64!' } }, 'INVALID', /remote\.cert/u],
      [{ ...base, type: 'ikev2-cert', 'split-tunneling': { subnets: ['10.0.0.0/40'] } }, 'INVALID', /split-tunneling\.subnets/u],
      [{ ...base, uuid: 'nope', type: 'ikev2-cert' }, 'INVALID', /valid profile/u],
      [{ ...base, type: 'ikev2-cert', 'ike-proposal': 'aes256-sha256-modp1024' }, 'UNSUPPORTED', /"modp1024" is insecure/u],
      [{ ...base, type: 'ikev2-cert', 'esp-proposal': 'aes256-md5' }, 'UNSUPPORTED', /md5/u],
    ];
    for (const [doc, code, message] of cases) {
      assert.throws(() => importSswan(enc(doc), { now }), (e: unknown) => e instanceof ImportError && e.code === code && (message.test(e.message) || e.issues.some((i) => message.test(i.path))), JSON.stringify(doc));
    }
    const bad = (() => {
      try {
        importSswan(enc({ ...base, uuid: 'nope', type: 'ikev2-cert' }), { now });
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    assert.ok(bad instanceof ImportError && bad.issues.some((i) => i.path === '/id'));
  });

  it('ignores an out-of-range MTU like the Android app, with a warning', () => {
    const r = importSswan(enc({ uuid: randomUUID(), name: 'x', type: 'ikev2-cert', remote: { addr: 'vpn.example' }, mtu: 9000 }), { now });
    assert.equal(r.profile.mtu, undefined);
    assert.match(r.warnings.join(), /mtu 9000/u);
  });
});

describe('.sswan export', () => {
  it('round-trips through import, without any secret', () => {
    const original = profile({
      name: 'Round trip',
      gateway: { host: 'vpn.example', port: 4501 },
      auth: { method: 'certificate', certificateRef: 'ref', localId: 'C=XX, O=Lab, CN=me' },
      trust: { caCertificates: [ca.certPem] },
      proposals: { ike: ['aes256gcm16-prfsha384-ecp384'], esp: ['aes256gcm16'] },
      tunnel: { mode: 'split', include: ['10.0.0.0/8'], exclude: ['10.5.0.0/16'] },
      dns: { servers: ['10.0.0.53'] },
      mtu: 1360,
    });
    const { text, dropped } = exportSswan(original);
    const doc = JSON.parse(text) as Record<string, unknown>;
    assert.equal(doc['type'], 'ikev2-cert');
    assert.equal((doc['local'] as Record<string, unknown> | undefined)?.['shared_secret'], undefined);
    assert.equal((doc['local'] as Record<string, unknown> | undefined)?.['p12'], undefined);
    assert.deepEqual(dropped, []);
    const back = importSswan(new TextEncoder().encode(text), { now }).profile;
    for (const key of ['id', 'name', 'gateway', 'remoteId', 'trust', 'proposals', 'tunnel', 'mtu', 'leakGuard'] as const) assert.deepEqual(back[key], original[key], key);
    assert.deepEqual(back.dns.servers, original.dns.servers);
    assert.equal(back.auth.method, 'certificate');
    assert.equal(back.auth.localId, 'C=XX, O=Lab, CN=me');
    assert.ok(parseProfile(JSON.parse(JSON.stringify(back))).ok);
  });

  it('refuses PSK profiles (.sswan has no PSK type) and lists what it had to drop', () => {
    assert.throws(() => exportSswan(profile({ auth: { method: 'psk', localId: 'a@b' } })), ExportError);
    const { dropped } = exportSswan(profile({ dns: { matchDomains: ['corp.example'] }, trust: { caCertificates: [ca.certPem, client.certPem] } }));
    assert.ok(dropped.some((d) => /matchDomains/u.test(d)) && dropped.some((d) => /1 more not exported/u.test(d)));
  });
});

describe('address ranges', () => {
  it('turns strongSwan ranges into exact CIDR lists (IPv4 and IPv6)', () => {
    assert.deepEqual(rangeToCidrs('10.0.0.0', '10.0.0.255'), ['10.0.0.0/24']);
    assert.deepEqual(rangeToCidrs('192.0.2.5', '192.0.2.10'), ['192.0.2.5/32', '192.0.2.6/31', '192.0.2.8/31', '192.0.2.10/32']);
    assert.deepEqual(rangeToCidrs('0.0.0.0', '255.255.255.255'), ['0.0.0.0/0']);
    assert.deepEqual(rangeToCidrs('2001:db8::', '2001:db8::ffff'), ['2001:db8::/112']);
    assert.deepEqual(rangeToCidrs('2001:db8::1', '2001:db8::2'), ['2001:db8::1/128', '2001:db8::2/128']);
    assert.equal(rangeToCidrs('10.0.0.9', '10.0.0.1'), undefined);
    assert.equal(rangeToCidrs('10.0.0.1', '2001:db8::1'), undefined);
    assert.deepEqual(selectorToCidrs('::ffff:192.0.2.1'), ['::ffff:192.0.2.1/128']);
    assert.equal(selectorToCidrs('10.0.0.0/8/8'), undefined);
  });
});
