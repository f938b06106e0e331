import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';

import { ImportError } from '../../../native-helper/src/profiles/import-types.js';
import { readImportFile } from '../../../native-helper/src/profiles/importer.js';
import { importMobileconfig } from '../../../native-helper/src/profiles/mobileconfig.js';
import { decodePkcs12 } from '../../../native-helper/src/profiles/pkcs12.js';
import { parsePlist, PlistError, type PlistValue } from '../../../native-helper/src/profiles/plist.js';
import { TestPki, type Issued } from './helpers/pki.js';

/** A tiny plist writer for building test documents (the reader under test is separate code). */
type P = string | number | boolean | Uint8Array | P[] | { [k: string]: P };
const esc = (s: string): string => s.replace(/&/gu, '&amp;').replace(/</gu, '&lt;').replace(/>/gu, '&gt;');
function plistValue(v: P): string {
  if (typeof v === 'string') return `<string>${esc(v)}</string>`;
  if (typeof v === 'number') return `<integer>${v}</integer>`;
  if (typeof v === 'boolean') return v ? '<true/>' : '<false/>';
  if (v instanceof Uint8Array) return `<data>\n${Buffer.from(v).toString('base64').replace(/(.{52})/gu, '$1\n')}\n</data>`;
  if (Array.isArray(v)) return `<array>${v.map(plistValue).join('')}</array>`;
  return `<dict>${Object.entries(v).map(([k, x]) => `<key>${esc(k)}</key>${plistValue(x)}`).join('\n')}</dict>`;
}
const plist = (v: P): string =>
  `<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">\n<plist version="1.0">\n${plistValue(v)}\n</plist>\n`;

let pki: TestPki;
let ca: Issued;
let client: Issued;
let signer: Issued;
let stranger: Issued;
const now = new Date();

before(async () => {
  pki = await TestPki.create();
  ca = await pki.root('Mobileconfig CA', 'p384');
  client = await pki.issue(ca, 'mc-client', 'rsa2048', { san: ['email:erin@lab.example'] });
  signer = await pki.issue(ca, 'Profile Signer', 'p256');
  stranger = await pki.issue(await pki.root('Stranger CA', 'p256'), 'Stranger', 'p256');
});
after(async () => {
  await pki.cleanup();
});

function vpnPayload(ikev2: Record<string, P>, extra: Record<string, P> = {}): Record<string, P> {
  return {
    PayloadType: 'com.apple.vpn.managed',
    PayloadVersion: 1,
    PayloadIdentifier: 'com.example.vpn',
    PayloadUUID: randomUUID().toUpperCase(),
    PayloadDisplayName: 'VPN',
    UserDefinedName: 'Example VPN',
    VPNType: 'IKEv2',
    IKEv2: ikev2,
    ...extra,
  };
}
const configuration = (payloads: Record<string, P>[], extra: Record<string, P> = {}): Record<string, P> => ({
  PayloadType: 'Configuration',
  PayloadVersion: 1,
  PayloadIdentifier: 'com.example.profile',
  PayloadUUID: randomUUID(),
  PayloadDisplayName: 'Example',
  PayloadContent: payloads,
  ...extra,
});
const bytes = (s: string): Uint8Array => new TextEncoder().encode(s);

describe('.mobileconfig import', () => {
  it('maps an EAP-TLS IKEv2 payload with root and PKCS#12 payloads (Apple 3DES PKCS#12)', async () => {
    const p12 = await pki.pkcs12(client, 'apple-p12', { mode: '3des', chain: [ca] });
    const certUuid = randomUUID();
    const vpn = vpnPayload(
      {
        RemoteAddress: 'vpn.example.com',
        RemoteIdentifier: 'vpn.example.com',
        LocalIdentifier: 'erin@lab.example',
        AuthenticationMethod: 'None',
        ExtendedAuthEnabled: 1,
        AuthName: 'erin',
        PayloadCertificateUUID: certUuid,
        ServerCertificateCommonName: 'vpn.example.com',
        ServerCertificateIssuerCommonName: 'Mobileconfig CA',
        CertificateType: 'ECDSA256',
        IKESecurityAssociationParameters: { EncryptionAlgorithm: 'AES-256-GCM', IntegrityAlgorithm: 'SHA2-384', DiffieHellmanGroup: 20, LifeTimeInMinutes: 480 },
        ChildSecurityAssociationParameters: { EncryptionAlgorithm: 'AES-128', IntegrityAlgorithm: 'SHA2-256', DiffieHellmanGroup: 19, LifeTimeInMinutes: 60 },
        EnablePFS: 1,
        DeadPeerDetectionRate: 'High',
        DisableMOBIKE: 1,
        DisableRedirect: 1,
        MTU: 1380,
        IncludeAllNetworks: 1,
        ExcludeLocalNetworks: 1,
        OnDemandEnabled: 1,
        OnDemandRules: [{ Action: 'Connect' }],
        NATKeepAliveInterval: 20,
      },
      {
        DNS: { ServerAddresses: ['10.8.0.53'], SearchDomains: ['corp.example'], DomainName: 'example.com', SupplementalMatchDomains: ['intra.example'], ServerURL: 'https://dns.example/dns-query' },
        IPv4: { OverridePrimary: 1 },
        Proxies: { HTTPEnable: 0 },
      },
    );
    const doc = configuration([
      vpn,
      { PayloadType: 'com.apple.security.root', PayloadVersion: 1, PayloadIdentifier: 'r', PayloadUUID: randomUUID(), PayloadContent: new Uint8Array(ca.cert.raw), PayloadCertificateFileName: 'ca.cer' },
      { PayloadType: 'com.apple.security.pkcs12', PayloadVersion: 1, PayloadIdentifier: 'p', PayloadUUID: certUuid, PayloadContent: p12, Password: 'apple-p12', KeyIsExtractable: false },
      { PayloadType: 'com.apple.wifi.managed', PayloadVersion: 1, PayloadIdentifier: 'w', PayloadUUID: randomUUID() },
    ], { PayloadRemovalDisallowed: true, ConsentText: { default: 'hi' } });
    const [r, ...rest] = importMobileconfig(bytes(plist(doc)), { now });
    assert.equal(rest.length, 0);
    assert.ok(r !== undefined);
    const p = r.profile;
    assert.equal(p.id, String(vpn['PayloadUUID']).toLowerCase());
    assert.equal(p.name, 'Example VPN');
    assert.deepEqual(p.gateway, { host: 'vpn.example.com', port: 500 });
    assert.equal(p.remoteId, 'vpn.example.com');
    assert.deepEqual(p.auth, { method: 'eap-tls', certificateRef: p.id, eapIdentity: 'erin', localId: 'erin@lab.example' });
    assert.equal(p.trust.serverName, 'vpn.example.com');
    assert.equal(p.trust.caCertificates.length, 1);
    assert.deepEqual(p.proposals, { ike: ['aes256gcm16-prfsha384-ecp384'], esp: ['aes128-sha256-ecp256'] });
    assert.deepEqual(p.rekey, { ikeLifetimeSeconds: 480 * 60, childLifetimeSeconds: 3600 });
    assert.equal(p.dpd.intervalSeconds, 60);
    assert.equal(p.mobike, false);
    assert.equal(p.mtu, 1380);
    assert.equal(p.leakGuard, true);
    assert.equal(p.allowLan, true, 'ExcludeLocalNetworks 1 → allowLan');
    assert.equal(p.tunnel.mode, 'full');
    assert.deepEqual(p.dns, { useGatewayDns: false, servers: ['10.8.0.53'], searchDomains: ['example.com', 'corp.example'], matchDomains: ['intra.example'] });
    const w = 'PayloadContent[0]';
    for (const key of [
      `${w}.IKEv2.ServerCertificateIssuerCommonName`, `${w}.IKEv2.CertificateType`, `${w}.IKEv2.DisableRedirect`, `${w}.IKEv2.OnDemandEnabled`,
      `${w}.IKEv2.OnDemandRules`, `${w}.IKEv2.NATKeepAliveInterval`, `${w}.DNS.ServerURL`, `${w}.Proxies`, 'PayloadContent[2].KeyIsExtractable',
      'PayloadContent[3] (com.apple.wifi.managed)', 'Configuration.PayloadRemovalDisallowed', 'Configuration.ConsentText',
    ]) {
      assert.ok(r.ignoredKeys.includes(key), `${key} not reported in ${r.ignoredKeys.join(', ')}`);
    }
    for (const mapped of ['RemoteAddress', 'AuthName', 'MTU', 'EnablePFS']) assert.ok(!r.ignoredKeys.some((k) => k.endsWith(`.${mapped}`)), mapped);
    // The identity goes to the keychain with the password the payload carried.
    assert.equal(r.secrets.identity?.password, 'apple-p12');
    const id = await decodePkcs12(r.secrets.identity?.pkcs12 ?? new Uint8Array(), r.secrets.identity?.password ?? '');
    assert.equal(id.certificate.fingerprint256, client.cert.fingerprint256);
    assert.doesNotMatch(JSON.stringify(p), /apple-p12/u);
  });

  it('maps PSK and EAP-MSCHAPv2 payloads; secrets go to the keychain only', () => {
    const psk = importMobileconfig(bytes(plist(configuration([vpnPayload({ RemoteAddress: '192.0.2.10', RemoteIdentifier: '192.0.2.10', LocalIdentifier: 'client.example', AuthenticationMethod: 'SharedSecret', SharedSecret: 'psk-from-apple' })]))), { now })[0];
    assert.deepEqual(psk?.profile.auth, { method: 'psk', localId: 'client.example' });
    assert.equal(psk?.secrets.psk, 'psk-from-apple');
    assert.deepEqual(psk?.profile.proposals, { ike: [], esp: [] }, 'no SA parameters: Strait defaults');
    const eap = importMobileconfig(bytes(plist(configuration([vpnPayload({ RemoteAddress: 'vpn.example', RemoteIdentifier: 'vpn.example', LocalIdentifier: 'u', AuthenticationMethod: 'None', ExtendedAuthEnabled: 1, AuthName: 'frank', AuthPassword: 'pw-from-apple' })]))), { now })[0];
    assert.deepEqual(eap?.profile.auth, { method: 'eap-mschapv2', eapIdentity: 'frank', localId: 'u' });
    assert.equal(eap?.secrets.eapPassword, 'pw-from-apple');
    for (const r of [psk, eap]) assert.doesNotMatch(JSON.stringify(r?.profile), /from-apple/u);
  });

  it('refuses what Strait cannot do, with the key path', () => {
    const cases: Array<[Record<string, P>, string, RegExp]> = [
      [configuration([vpnPayload({ RemoteAddress: 'v.example', RemoteIdentifier: 'v', LocalIdentifier: 'l', AuthenticationMethod: 'Certificate', ExtendedAuthEnabled: 1 })]), 'UNSUPPORTED', /RFC 4739/u],
      [configuration([vpnPayload({ RemoteAddress: 'v.example', RemoteIdentifier: 'v', LocalIdentifier: 'l', AuthenticationMethod: 'SharedSecret', IKESecurityAssociationParameters: { EncryptionAlgorithm: '3DES' } })]), 'UNSUPPORTED', /3DES.*RFC 8247/u],
      [configuration([vpnPayload({ RemoteAddress: 'v.example', RemoteIdentifier: 'v', LocalIdentifier: 'l', AuthenticationMethod: 'SharedSecret', IKESecurityAssociationParameters: { DiffieHellmanGroup: 2 } })]), 'UNSUPPORTED', /DiffieHellmanGroup 2/u],
      [configuration([vpnPayload({ RemoteAddress: 'v.example', RemoteIdentifier: 'v', LocalIdentifier: 'l', AuthenticationMethod: 'None', ExtendedAuthEnabled: 1 })]), 'INVALID', /AuthName/u],
      [configuration([vpnPayload({ RemoteAddress: 'v.example', RemoteIdentifier: 'v', LocalIdentifier: 'l', AuthenticationMethod: 'SharedSecret', ChildSecurityAssociationParameters: { IntegrityAlgorithm: 'SHA1-96' } })]), 'UNSUPPORTED', /HMAC-SHA1/u],
      [configuration([vpnPayload({ RemoteAddress: 'v.example', RemoteIdentifier: 'v', LocalIdentifier: 'l', AuthenticationMethod: 'Certificate', PayloadCertificateUUID: randomUUID() })]), 'INVALID', /names no pkcs12 payload/u],
      [configuration([{ PayloadType: 'com.apple.vpn.managed', VPNType: 'L2TP', PayloadUUID: randomUUID() }]), 'UNSUPPORTED', /no IKEv2 VPN payload/u],
      [configuration([], { EncryptedPayloadContent: new Uint8Array([1, 2, 3]) }), 'UNSUPPORTED', /encrypted/u],
      [{ PayloadType: 'Something' }, 'INVALID', /PayloadType Configuration/u],
    ];
    for (const [doc, code, message] of cases) {
      assert.throws(() => importMobileconfig(bytes(plist(doc)), { now }), (e: unknown) => e instanceof ImportError && e.code === code && message.test(e.message), JSON.stringify(doc).slice(0, 200));
    }
  });
});

describe('signed .mobileconfig', () => {
  const simple = (): string => plist(configuration([vpnPayload({ RemoteAddress: 'vpn.example', RemoteIdentifier: 'vpn.example', LocalIdentifier: 'me', AuthenticationMethod: 'None', ExtendedAuthEnabled: 1, AuthName: 'me' })]));
  const anchors = async () => [{ certificate: ca.cert, source: '/etc/strait/trust/ca.pem' }];

  it('is verified the same way as a bundle and shown as verified (openssl smime, Apple\'s recipe)', async () => {
    const signed = await pki.sign(simple(), signer, { tool: 'smime' });
    const read = await readImportFile(signed, { anchors, now });
    assert.equal(read.kind, 'profiles');
    if (read.kind !== 'profiles') return;
    assert.deepEqual(read.results[0]?.verified, { signer: 'O=Strait Test, CN=Profile Signer', anchor: '/etc/strait/trust/ca.pem' });
  });

  it('an unsigned one imports without "verified"; a tampered or foreign-signed one is refused', async () => {
    const plain = await readImportFile(bytes(simple()), { anchors, now });
    assert.ok(plain.kind === 'profiles' && plain.results[0]?.verified === undefined);
    const signed = Buffer.from(await pki.sign(simple(), signer));
    const at = signed.indexOf('vpn.example');
    signed.write('vpn.exbmple', at);
    await assert.rejects(readImportFile(new Uint8Array(signed), { anchors, now }), (e: unknown) => e instanceof ImportError && e.code === 'TAMPERED');
    await assert.rejects(readImportFile(await pki.sign(simple(), stranger), { anchors, now }), (e: unknown) => e instanceof ImportError && e.code === 'UNKNOWN_SIGNER');
  });
});

describe('plist reader', () => {
  const parse = (s: string): PlistValue => parsePlist(bytes(s));

  it('reads every plist type, entities, CDATA and comments', () => {
    const v = parse(`<?xml version="1.0"?><!-- c --><plist version="1.0"><dict>
      <key>s</key><string>a &lt;b&gt; &amp; &#65;&#x42; <![CDATA[<raw>]]></string>
      <key>i</key><integer>-42</integer><key>r</key><real>1.5</real>
      <key>t</key><true/><key>f</key><false/><key>d</key><date>2026-01-02T03:04:05Z</date>
      <key>b</key><data>AAEC
      /w==</data><key>a</key><array><string/><dict/></array><key>e</key><string></string></dict></plist>`);
    assert.deepEqual(JSON.parse(JSON.stringify(v)), {
      s: 'a <b> & AB <raw>', i: -42, r: 1.5, t: true, f: false, d: '2026-01-02T03:04:05.000Z', b: { 0: 0, 1: 1, 2: 2, 3: 255 }, a: ['', {}], e: '',
    });
  });

  it('refuses entity tricks, binary plists, bad nesting and excess', () => {
    const bad: Array<[string | Uint8Array, RegExp]> = [
      ['<!DOCTYPE plist [<!ENTITY x "y">]><plist><string>&x;</string></plist>', /internal subsets/u],
      ['<plist><string>&x;</string></plist>', /unknown entity/u],
      ['<plist><dict><key>a</key><string>1</string><key>a</key><string>2</string></dict></plist>', /duplicate key/u],
      ['<plist><dict><string>x</string></dict></plist>', /expected <key>/u],
      ['<plist><string>x</plist>', /expected <\/string>/u],
      ['<plist><integer>12abc</integer></plist>', /bad <integer>/u],
      ['<plist><script/></plist>', /unexpected element/u],
      ['<plist><string>x</string></plist><plist/>', /content after/u],
      [`<plist>${'<array>'.repeat(40)}${'</array>'.repeat(40)}</plist>`, /nested deeper/u],
      [new Uint8Array([...bytes('bplist00'), 1, 2, 3]), /binary property lists/u],
      [new Uint8Array([0x3c, 0x70, 0xff, 0xfe]), /not UTF-8/u],
    ];
    for (const [input, message] of bad) {
      assert.throws(() => parsePlist(typeof input === 'string' ? bytes(input) : input), (e: unknown) => e instanceof PlistError && message.test(e.message), String(input).slice(0, 60));
    }
  });

  it('never throws anything but PlistError on mutated input', () => {
    const seed = bytes(plist(configuration([vpnPayload({ RemoteAddress: 'v', AuthenticationMethod: 'None', ExtendedAuthEnabled: 1, AuthName: 'x' })])));
    for (let n = 0; n < 3000; n++) {
      const m = seed.slice();
      const edits = 1 + (n % 4);
      for (let e = 0; e < edits; e++) m[randomBytes(2).readUInt16BE(0) % m.length] = randomBytes(1)[0] as number;
      const cut = n % 7 === 0 ? m.subarray(0, randomBytes(2).readUInt16BE(0) % m.length) : m;
      try {
        parsePlist(cut);
      } catch (e) {
        assert.ok(e instanceof PlistError, `mutation ${n} threw ${String(e)}`);
      }
    }
  });
});
