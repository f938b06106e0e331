import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { describe, it } from 'node:test';

import {
  ConnectSecretsSchema,
  DEFAULT_PROFILE_VALUES,
  DEFAULT_PROPOSALS,
  parseProfile,
  PROFILE_SCHEMA_VERSION,
  type Profile,
} from '../../../native-helper/src/api/profile.js';
import * as v from 'valibot';

import { DEFAULT_ESP_PROPOSALS, DEFAULT_IKE_PROPOSALS } from '../../../native-helper/src/ike/proposals.js';
import { profileDoc } from './helpers/fixtures.js';

const issuesOf = (doc: unknown): Array<{ path: string; message: string }> => {
  const r = parseProfile(doc);
  assert.equal(r.ok, false, 'expected the document to be refused');
  return r.ok ? [] : r.issues;
};

describe('profile schema', () => {
  it('applies the documented defaults (RFC 7296 port, charon-nm lifetimes, DPD 30 s)', () => {
    const r = parseProfile(profileDoc());
    assert.ok(r.ok);
    const p: Profile = r.profile;
    assert.equal(p.version, PROFILE_SCHEMA_VERSION);
    assert.equal(p.gateway.port, 500);
    assert.equal(p.dpd.intervalSeconds, 30);
    assert.equal(p.rekey.ikeLifetimeSeconds, 36_000);
    assert.equal(p.rekey.childLifetimeSeconds, 10_800);
    assert.deepEqual(p.proposals, { ike: [], esp: [] });
    assert.deepEqual(p.tunnel, { mode: 'full', include: [], exclude: [], ipv6: true });
    assert.deepEqual(p.dns, { useGatewayDns: true, servers: [], searchDomains: [], matchDomains: [] });
    assert.equal(p.mobike, true);
    assert.equal(p.fragmentation, true);
    assert.equal(p.leakGuard, true);
    assert.equal(p.natTraversal.forceEncapsulation, false);
    assert.deepEqual(DEFAULT_PROFILE_VALUES.rekey, { ikeLifetimeSeconds: 36_000, childLifetimeSeconds: 10_800 });
  });

  it('default proposals follow RFC 8247/8221 and are exactly the IKE engine\'s defaults', () => {
    assert.deepEqual([...DEFAULT_PROPOSALS.ike], [...DEFAULT_IKE_PROPOSALS]);
    assert.deepEqual([...DEFAULT_PROPOSALS.esp], [...DEFAULT_ESP_PROPOSALS]);
    assert.match(DEFAULT_PROPOSALS.ike[0] ?? '', /^aes256gcm16-/u);
    assert.match(DEFAULT_PROPOSALS.esp[0] ?? '', /gcm16/u);
    for (const p of [...DEFAULT_PROPOSALS.ike, ...DEFAULT_PROPOSALS.esp]) {
      assert.doesNotMatch(p, /sha1|md5|modp1024|modp768|3des|des\b/u, p);
      assert.ok(parseProfile(profileDoc({ proposals: { ike: [p], esp: [] } })).ok, p);
    }
  });

  it('keeps unknown future fields at every level through a JSON round trip', () => {
    const doc = profileDoc({
      futureTopLevel: { nested: [1, 2, { deep: true }] },
      gateway: { host: '192.0.2.10', port: 4500, happyEyeballs: 'v3' },
      auth: { method: 'eap-mschapv2', eapIdentity: 'alice', passkeyHint: 'x' },
      dns: { servers: ['10.0.0.53'], dohTemplate: 'https://dns.example/{?dns}' },
      tunnel: { mode: 'split', include: ['10.0.0.0/8'], perApp: ['firefox'] },
    });
    const first = parseProfile(doc);
    assert.ok(first.ok);
    const written = JSON.parse(JSON.stringify(first.profile)) as Record<string, unknown>;
    const second = parseProfile(written);
    assert.ok(second.ok);
    assert.deepEqual(second.profile, first.profile);
    assert.deepEqual(written['futureTopLevel'], { nested: [1, 2, { deep: true }] });
    assert.equal((written['gateway'] as Record<string, unknown>)['happyEyeballs'], 'v3');
    assert.equal((written['auth'] as Record<string, unknown>)['passkeyHint'], 'x');
    assert.equal((written['dns'] as Record<string, unknown>)['dohTemplate'], 'https://dns.example/{?dns}');
    assert.deepEqual((written['tunnel'] as Record<string, unknown>)['perApp'], ['firefox']);
  });

  it('accepts every auth method with its required fields', () => {
    for (const auth of [
      { method: 'psk', localId: 'client@lab.example' },
      { method: 'certificate', certificateRef: 'abc' },
      { method: 'certificate', localId: 'C=XX, O=Lab, CN=client', certificateRef: 'abc' },
      { method: 'eap-mschapv2', eapIdentity: 'bob' },
      { method: 'eap-tls', certificateRef: 'abc' },
      { method: 'eap-tls', certificateRef: 'abc', eapIdentity: 'bob@lab' },
    ]) {
      const r = parseProfile(profileDoc({ auth }));
      assert.ok(r.ok, JSON.stringify(auth));
      assert.equal(r.profile.auth.method, auth.method);
    }
  });

  it('accepts IPv4 and IPv6 gateways and prefixes', () => {
    for (const host of ['192.0.2.1', '2001:db8::1', 'vpn.example.com', 'gateway', 'xn--bcher-kva.example']) {
      assert.ok(parseProfile(profileDoc({ gateway: { host } })).ok, host);
    }
    const r = parseProfile(profileDoc({ tunnel: { mode: 'split', include: ['10.0.0.0/8', '192.0.2.7', '2001:db8::/32'], exclude: ['10.1.0.0/16'] } }));
    assert.ok(r.ok);
  });

  const refusals: Array<[string, Record<string, unknown> | unknown, string, RegExp]> = [
    ['not an object', 'hello', '', /must be a JSON object/u],
    ['future version', profileDoc({ version: 2 }), '/version', /version must be 1/u],
    ['missing id', { ...profileDoc(), id: undefined }, '/id', /id is required/u],
    ['bad uuid', profileDoc({ id: 'not-a-uuid' }), '/id', /UUID/u],
    ['empty name', profileDoc({ name: '   ' }), '/name', /must not be empty/u],
    ['missing gateway', { ...profileDoc(), gateway: undefined }, '/gateway', /gateway is required/u],
    ['gateway with port', profileDoc({ gateway: { host: 'vpn.example:500' } }), '/gateway/host', /DNS name or an IP address/u],
    ['bracketed IPv6', profileDoc({ gateway: { host: '[2001:db8::1]' } }), '/gateway/host', /DNS name or an IP address/u],
    ['port 70000', profileDoc({ gateway: { host: 'a.example', port: 70000 } }), '/gateway/port', /between 1 and 65535/u],
    ['port as string', profileDoc({ gateway: { host: 'a.example', port: '500' } }), '/gateway/port', /must be a number/u],
    ['unknown auth method', profileDoc({ auth: { method: 'xauth' } }), '/auth/method', /one of psk, certificate, eap-mschapv2, eap-tls/u],
    ['psk without local id', profileDoc({ auth: { method: 'psk' } }), '/auth/localId', /localId is required/u],
    ['cert without ref', profileDoc({ auth: { method: 'certificate' } }), '/auth/certificateRef', /certificateRef is required/u],
    ['eap without identity', profileDoc({ auth: { method: 'eap-mschapv2' } }), '/auth/eapIdentity', /eapIdentity is required/u],
    ['bad CIDR', profileDoc({ tunnel: { mode: 'split', include: ['10.0.0.0/33'] } }), '/tunnel/include/0', /prefix/u],
    ['include on full tunnel', profileDoc({ tunnel: { mode: 'full', include: ['10.0.0.0/8'] } }), '/tunnel/include', /split/u],
    ['bad tunnel mode', profileDoc({ tunnel: { mode: 'half' } }), '/tunnel/mode', /"full" or "split"/u],
    ['bad DNS server', profileDoc({ dns: { servers: ['dns.example'] } }), '/dns/servers/0', /IPv4 or IPv6 address/u],
    ['bad match domain', profileDoc({ dns: { matchDomains: ['bad domain'] } }), '/dns/matchDomains/0', /domain name/u],
    ['bad proposal', profileDoc({ proposals: { ike: ['AES 256'] } }), '/proposals/ike/0', /strongSwan proposal/u],
    ['MTU too small for IPv6', profileDoc({ mtu: 1200 }), '/mtu', /1280.*RFC 8200/u],
    ['MTU not an integer', profileDoc({ mtu: 1400.5 }), '/mtu', /whole number/u],
    ['negative DPD', profileDoc({ dpd: { intervalSeconds: -1 } }), '/dpd/intervalSeconds', /between 0 and 3600/u],
    ['short IKE lifetime', profileDoc({ rekey: { ikeLifetimeSeconds: 10 } }), '/rekey/ikeLifetimeSeconds', /between 300/u],
    ['PEM that is not a certificate', profileDoc({ trust: { caCertificates: [generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString()] } }), '/trust/caCertificates/0', /PEM certificate/u],
    ['bad locked field pointer', profileDoc({ managed: { bundleIssuer: 'IT', bundleSerial: 1, signedBy: 'CN=x', lockedFields: ['gateway'] } }), '/managed/lockedFields/0', /JSON pointer/u],
    ['boolean as string', profileDoc({ mobike: 'yes' }), '/mobike', /true or false/u],
  ];
  for (const [what, doc, path, message] of refusals) {
    it(`refuses ${what}, naming ${path || 'the document'} and the reason`, () => {
      const issues = issuesOf(doc);
      const hit = issues.find((i) => i.path === path);
      assert.ok(hit !== undefined, `no issue at ${path}: ${JSON.stringify(issues)}`);
      assert.match(hit.message, message);
    });
  }

  it('allows a small MTU when IPv6 is not tunnelled (RFC 791 minimum 576)', () => {
    assert.ok(parseProfile(profileDoc({ mtu: 1200, tunnel: { ipv6: false } })).ok);
    assert.equal(issuesOf(profileDoc({ mtu: 500, tunnel: { ipv6: false } }))[0]?.path, '/mtu');
  });

  it('escapes "/" and "~" in issue paths (RFC 6901)', () => {
    const issues = issuesOf(profileDoc({ gateway: { host: 'a.example', port: 1 }, 'we/ird~key': 1, version: 3 }));
    assert.ok(issues.some((i) => i.path === '/version'));
  });

  it('ConnectSecrets is strict and never echoes a secret in its messages', () => {
    assert.ok(v.safeParse(ConnectSecretsSchema, { psk: 'pre-shared' }).success);
    const unknown = v.safeParse(ConnectSecretsSchema, { psk: 'x', password: 'hunter2' });
    assert.equal(unknown.success, false);
    const badKey = v.safeParse(ConnectSecretsSchema, { privateKeyPem: 'TOPSECRET-not-a-pem' });
    assert.equal(badKey.success, false);
    if (!badKey.success) for (const issue of badKey.issues) assert.doesNotMatch(issue.message, /TOPSECRET/u);
  });
});
