/**
 * validateGatewayCertificate: chains built at run time for every key type,
 * each RFC 5280 / RFC 4945 failure with its code and plain-language
 * message, the identity rules, and a differential check against
 * `openssl verify` on the same files.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';

import type { CertificateErrorCode } from '../../../native-helper/src/pki/errors.js';
import {
  type GatewayCertificateInput,
  type GatewayCertificateResult,
  MAX_INTERMEDIATES,
  validateGatewayCertificate,
} from '../../../native-helper/src/pki/gateway-trust.js';
import { parseIdentity } from '../../../native-helper/src/pki/identity.js';
import { KEY_ALGORITHMS, type Pki, type TestCertificate, issueCertificate, makePki, tamper, x509 } from '../../support/pki-fixtures.js';

const NOW = new Date();
const DAY = 86_400_000;
const GW = parseIdentity('vpn.lab.example');

function input(pki: Pki, over: Partial<GatewayCertificateInput> = {}): GatewayCertificateInput {
  return {
    leaf: pki.gateway.der,
    intermediates: pki.gatewayChain.slice(1),
    trustAnchors: pki.trustAnchors,
    now: NOW,
    peerId: GW,
    expectedName: GW,
    ...over,
  };
}

function ok(r: GatewayCertificateResult): Extract<GatewayCertificateResult, { ok: true }> {
  assert.ok(r.ok, r.ok ? '' : `${r.error.code}: ${r.error.message}`);
  return r;
}

function failsWith(r: GatewayCertificateResult, code: CertificateErrorCode, message?: RegExp | string): Extract<GatewayCertificateResult, { ok: false }> {
  assert.ok(!r.ok, `expected ${code}, but the certificate was accepted`);
  assert.equal(r.error.code, code, r.error.message);
  assert.equal(r.error.name, 'CertificateError');
  if (typeof message === 'string') assert.equal(r.error.message, message);
  else if (message !== undefined) assert.match(r.error.message, message);
  return r;
}

describe('gateway chains that must validate', () => {
  for (const alg of KEY_ALGORITHMS) {
    it(`${alg}: root → intermediate → gateway`, async () => {
      const pki = await makePki({ keyAlgorithm: alg, intermediate: true });
      const r = ok(validateGatewayCertificate(input(pki)));
      assert.deepEqual(
        r.chain.map((c) => c.subject),
        ['C=XX, O=VPN Lab, CN=vpn.lab.example', `C=XX, O=VPN Lab, CN=VPN Lab Intermediate CA (${alg})`, `C=XX, O=VPN Lab, CN=VPN Lab Root CA (${alg})`],
      );
      assert.equal(r.leaf, r.chain[0]);
    });
  }

  for (const alg of ['ecdsa-p256', 'rsa-2048', 'ed25519'] as const) {
    it(`${alg}: root → gateway, no intermediate`, async () => {
      const pki = await makePki({ keyAlgorithm: alg });
      assert.equal(ok(validateGatewayCertificate(input(pki))).chain.length, 2);
    });
  }

  it('mixed algorithms: RSA-3072 CAs, ECDSA P-384 gateway', async () => {
    const pki = await makePki({ keyAlgorithm: 'rsa-3072', leafKeyAlgorithm: 'ecdsa-p384', intermediate: true });
    const r = ok(validateGatewayCertificate(input(pki)));
    assert.deepEqual(r.chain.map((c) => c.keyDescription), ['ECDSA P-384', 'RSA 3072', 'RSA 3072']);
  });

  it('intermediates in any order, with duplicates, strangers and the root itself', async () => {
    const pki = await makePki({ intermediate: true });
    const stranger = await makePki();
    const r = ok(
      validateGatewayCertificate(
        input(pki, { intermediates: [pki.root.der, stranger.root.der, pki.intermediate!.der, pki.intermediate!.der, new Uint8Array([1, 2, 3])] }),
      ),
    );
    assert.equal(r.chain.length, 3);
    assert.deepEqual(r.chain[2]?.der, pki.root.der); // the anchor comes from the profile
  });

  it('a self-signed gateway certificate pinned in the profile', async () => {
    const self = await issueCertificate({ subject: 'CN=vpn.lab.example', san: { dns: ['vpn.lab.example'] }, extendedKeyUsage: ['serverAuth'] });
    const r = ok(validateGatewayCertificate({ leaf: self.der, intermediates: [], trustAnchors: [self.der], now: NOW, peerId: GW, expectedName: GW }));
    assert.equal(r.chain.length, 1);
  });

  it('EKU ipsecIKE only, anyExtendedKeyUsage, or no EKU at all', async () => {
    const pki = await makePki();
    for (const eku of [['ipsecIKE'], ['anyExtendedKeyUsage'], null]) {
      const leaf = await pki.issue({ subject: 'CN=vpn.lab.example', san: { dns: ['vpn.lab.example'] }, extendedKeyUsage: eku });
      ok(validateGatewayCertificate(input(pki, { leaf: leaf.der })));
    }
  });

  it('a CA re-issued with the same name and key, sent by the gateway, resolves to the profile anchor', async () => {
    const pki = await makePki();
    const reissued = await issueCertificate({ subject: pki.root.subject, reuseKeyOf: pki.root, ca: true, notAfter: new Date(NOW.getTime() - DAY), notBefore: new Date(NOW.getTime() - 400 * DAY) });
    const r = ok(validateGatewayCertificate(input(pki, { intermediates: [reissued.der] })));
    assert.deepEqual(r.chain[1]?.der, pki.root.der);
  });
});

describe('gateway chains that must fail', () => {
  let pki: Pki;
  let pkiI: Pki;
  before(async () => {
    pki = await makePki();
    pkiI = await makePki({ intermediate: true });
  });

  it('expired gateway certificate → CERT_EXPIRED', async () => {
    const leaf = await pki.issue({ subject: 'C=XX, O=VPN Lab, CN=vpn.lab.example', san: { dns: ['vpn.lab.example'] }, notBefore: new Date('2024-01-01T00:00:00Z'), notAfter: new Date('2025-01-01T00:00:00Z') });
    const r = failsWith(
      validateGatewayCertificate(input(pki, { leaf: leaf.der })),
      'CERT_EXPIRED',
      `The gateway's certificate "C=XX, O=VPN Lab, CN=vpn.lab.example" expired on 2025-01-01 00:00:00 UTC.`,
    );
    assert.equal(r.error.fields.notAfter, '2025-01-01T00:00:00.000Z');
  });

  it('not-yet-valid gateway certificate → CERT_NOT_YET_VALID, pointing at the clock', async () => {
    const leaf = await pki.issue({ subject: 'CN=vpn.lab.example', san: { dns: ['vpn.lab.example'] }, notBefore: new Date(NOW.getTime() + 2 * DAY) });
    failsWith(validateGatewayCertificate(input(pki, { leaf: leaf.der })), 'CERT_NOT_YET_VALID', /is not valid until .*clock/);
  });

  it('expired intermediate → CERT_EXPIRED naming the intermediate', async () => {
    const inter = await issueCertificate({ subject: 'CN=Old Intermediate', ca: true, notBefore: new Date(NOW.getTime() - 400 * DAY), notAfter: new Date(NOW.getTime() - DAY) }, pki.root);
    const leaf = await issueCertificate({ subject: 'CN=vpn.lab.example', san: { dns: ['vpn.lab.example'] } }, inter);
    failsWith(validateGatewayCertificate(input(pki, { leaf: leaf.der, intermediates: [inter.der] })), 'CERT_EXPIRED', /^The intermediate CA certificate "CN=Old Intermediate" sent by the gateway expired on /);
  });

  it("expired profile CA → CERT_EXPIRED naming the profile's CA", async () => {
    const root = await issueCertificate({ subject: 'CN=Expired Root', ca: true, notBefore: new Date(NOW.getTime() - 400 * DAY), notAfter: new Date(NOW.getTime() - DAY) });
    const leaf = await issueCertificate({ subject: 'CN=vpn.lab.example', san: { dns: ['vpn.lab.example'] }, notBefore: new Date(NOW.getTime() - 10 * DAY) }, root);
    failsWith(validateGatewayCertificate({ ...input(pki), leaf: leaf.der, intermediates: [], trustAnchors: [root.der] }), 'CERT_EXPIRED', /^This profile's CA certificate "CN=Expired Root" expired/);
  });

  it('another CA with the same DN → CERT_UNTRUSTED, explained', async () => {
    const lookAlike = await makePki({ rootSubject: pki.root.subject });
    const r = failsWith(
      validateGatewayCertificate(input(pki, { leaf: lookAlike.gateway.der })),
      'CERT_UNTRUSTED',
      /names "C=XX, O=VPN Lab, CN=VPN Lab Root CA \(ecdsa-p256\)" as its issuer, but its signature does not match the key of the .* certificate this profile trusts: it was issued by a different CA with the same name, or it was altered\./,
    );
    assert.deepEqual(r.error.fields.trusted, [pki.root.subject]);
  });

  it('same DN and no key identifiers: the signature check still tells them apart', async () => {
    const a = await issueCertificate({ subject: 'CN=Root', ca: true, keyIdentifiers: false });
    const b = await issueCertificate({ subject: 'CN=Root', ca: true, keyIdentifiers: false });
    const leaf = await issueCertificate({ subject: 'CN=vpn.lab.example', san: { dns: ['vpn.lab.example'] }, keyIdentifiers: false }, b);
    failsWith(validateGatewayCertificate({ ...input(pki), leaf: leaf.der, intermediates: [], trustAnchors: [a.der] }), 'CERT_UNTRUSTED', /different CA with the same name/);
    ok(validateGatewayCertificate({ ...input(pki), leaf: leaf.der, intermediates: [], trustAnchors: [a.der, b.der] }));
  });

  it('an unrelated CA, or a missing intermediate → CERT_UNTRUSTED naming the issuer', async () => {
    const other = await makePki({ rootSubject: 'C=XX, O=Elsewhere, CN=Other Root' });
    failsWith(
      validateGatewayCertificate(input(pki, { leaf: other.gateway.der })),
      'CERT_UNTRUSTED',
      `The gateway's certificate "C=XX, O=VPN Lab, CN=vpn.lab.example" is issued by "C=XX, O=Elsewhere, CN=Other Root", which is not a CA this profile trusts (it trusts "${pki.root.subject}").`,
    );
    failsWith(validateGatewayCertificate(input(pkiI, { intermediates: [] })), 'CERT_UNTRUSTED', /is issued by "C=XX, O=VPN Lab, CN=VPN Lab Intermediate CA \(ecdsa-p256\)", which is not a CA this profile trusts/);
    failsWith(validateGatewayCertificate(input(pki, { trustAnchors: [] })), 'CERT_UNTRUSTED', /no usable CA certificate/);
    failsWith(validateGatewayCertificate(input(pki, { trustAnchors: [new Uint8Array([0x30, 0x00])] })), 'CERT_UNTRUSTED', /no usable CA certificate/);
  });

  it('a tampered signature byte or altered content → CERT_UNTRUSTED', () => {
    failsWith(validateGatewayCertificate(input(pkiI, { leaf: tamper(pkiI.gateway.der) })), 'CERT_UNTRUSTED', /or it was altered/);
    failsWith(validateGatewayCertificate(input(pkiI, { intermediates: [tamper(pkiI.intermediate!.der)] })), 'CERT_UNTRUSTED', /or it was altered/);
    // change "vpn.lab.example" to "vpn.lab.examplf" inside the signed SAN
    const der = Uint8Array.from(pkiI.gateway.der);
    const at = Buffer.from(der).lastIndexOf(Buffer.from('vpn.lab.example'));
    assert.ok(at > 0);
    der[at + 14] = 'f'.charCodeAt(0);
    failsWith(validateGatewayCertificate(input(pkiI, { leaf: der })), 'CERT_UNTRUSTED');
  });

  it('an intermediate that is not a CA → CERT_INVALID', async () => {
    for (const ca of [false, undefined]) {
      const inter = await issueCertificate({ subject: 'CN=Not A CA', ...(ca === undefined ? {} : { ca }), keyUsage: ['digitalSignature', 'keyCertSign'] }, pki.root);
      const leaf = await issueCertificate({ subject: 'CN=vpn.lab.example', san: { dns: ['vpn.lab.example'] } }, inter);
      failsWith(
        validateGatewayCertificate(input(pki, { leaf: leaf.der, intermediates: [inter.der] })),
        'CERT_INVALID',
        'The intermediate CA certificate "CN=Not A CA" sent by the gateway is not a CA certificate (basicConstraints has no CA:TRUE), so it cannot vouch for "CN=vpn.lab.example".',
      );
    }
  });

  it('a CA whose key usage lacks keyCertSign → CERT_INVALID', async () => {
    const inter = await issueCertificate({ subject: 'CN=Signing-less CA', ca: true, keyUsage: ['cRLSign'] }, pki.root);
    const leaf = await issueCertificate({ subject: 'CN=vpn.lab.example', san: { dns: ['vpn.lab.example'] } }, inter);
    failsWith(validateGatewayCertificate(input(pki, { leaf: leaf.der, intermediates: [inter.der] })), 'CERT_INVALID', /no keyCertSign/);
  });

  it('a path longer than pathLenConstraint allows → CERT_INVALID', async () => {
    const i1 = await issueCertificate({ subject: 'CN=Level 1', ca: true, pathLength: 0 }, pki.root);
    const i2 = await issueCertificate({ subject: 'CN=Level 2', ca: true }, i1);
    const leaf = await issueCertificate({ subject: 'CN=vpn.lab.example', san: { dns: ['vpn.lab.example'] } }, i2);
    failsWith(validateGatewayCertificate(input(pki, { leaf: leaf.der, intermediates: [i2.der, i1.der] })), 'CERT_INVALID', /"CN=Level 1" .* allows at most 0 intermediate .* but the chain has 1/);
    const rootLimited = await issueCertificate({ subject: 'CN=Limited Root', ca: true, pathLength: 1 });
    const j1 = await issueCertificate({ subject: 'CN=J1', ca: true }, rootLimited);
    const leaf2 = await issueCertificate({ subject: 'CN=vpn.lab.example', san: { dns: ['vpn.lab.example'] } }, j1);
    ok(validateGatewayCertificate({ ...input(pki), leaf: leaf2.der, intermediates: [j1.der], trustAnchors: [rootLimited.der] }));
  });

  it('garbage as the gateway certificate → CERT_INVALID', () => {
    for (const leaf of [new Uint8Array(0), new Uint8Array([0x30, 0x82, 0xff]), Uint8Array.from(Buffer.from('not a certificate'))]) {
      failsWith(validateGatewayCertificate(input(pki, { leaf })), 'CERT_INVALID', /^The gateway's certificate is unusable\. The certificate (is empty|is malformed|could not be parsed)/);
    }
  });

  it('an EKU with clientAuth only → CERT_INVALID saying which purposes are needed', async () => {
    const leaf = await pki.issue({ subject: 'C=XX, O=VPN Lab, CN=vpn.lab.example', san: { dns: ['vpn.lab.example'] }, extendedKeyUsage: ['clientAuth'] });
    failsWith(
      validateGatewayCertificate(input(pki, { leaf: leaf.der })),
      'CERT_INVALID',
      `The gateway's certificate "C=XX, O=VPN Lab, CN=vpn.lab.example" is not meant for a VPN gateway: its extended key usage (clientAuth) has none of serverAuth, ipsecIKE, ikeIntermediate or anyExtendedKeyUsage.`,
    );
  });

  it('a gateway key usage without digitalSignature → CERT_INVALID', async () => {
    const leaf = await pki.issue({ subject: 'CN=vpn.lab.example', san: { dns: ['vpn.lab.example'] }, keyUsage: ['keyEncipherment'] });
    failsWith(validateGatewayCertificate(input(pki, { leaf: leaf.der })), 'CERT_INVALID', /does not allow digital signatures/);
  });

  it('an unknown critical extension → CERT_INVALID', async () => {
    const leaf = await pki.issue({
      subject: 'CN=vpn.lab.example',
      san: { dns: ['vpn.lab.example'] },
      extraExtensions: [new x509.Extension('1.3.6.1.4.1.99999.7', true, new Uint8Array([0x05, 0x00]))],
    });
    failsWith(validateGatewayCertificate(input(pki, { leaf: leaf.der })), 'CERT_INVALID', /critical extension Strait does not support \(1\.3\.6\.1\.4\.1\.99999\.7\)/);
  });

  it('a SHA-1 signature → CERT_INVALID', async () => {
    const leaf = await pki.issue({ subject: 'CN=vpn.lab.example', san: { dns: ['vpn.lab.example'] }, signatureHash: 'SHA-1' });
    failsWith(validateGatewayCertificate(input(pki, { leaf: leaf.der })), 'CERT_INVALID', /signed with ECDSA with SHA-1, which is no longer secure/);
  });

  it('any change to a signed certificate is rejected, and nothing throws (seeded mutations)', () => {
    let seed = 0xbadce11;
    const rand = (n: number): number => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return seed % n;
    };
    const originals = [pkiI.gateway.der, pkiI.intermediate!.der];
    for (let i = 0; i < 400; i++) {
      const which = rand(2);
      const mutated = Uint8Array.from(originals[which] as Uint8Array);
      for (let k = 0; k <= rand(2); k++) mutated[rand(mutated.length)] = rand(256);
      const r = validateGatewayCertificate(input(pkiI, which === 0 ? { leaf: mutated } : { intermediates: [mutated] }));
      if (r.ok) assert.deepEqual(mutated, originals[which], 'a modified certificate was accepted');
      else assert.ok(['CERT_INVALID', 'CERT_UNTRUSTED', 'CERT_EXPIRED', 'CERT_NOT_YET_VALID', 'CERT_NAME_MISMATCH', 'IDENTITY_MISMATCH'].includes(r.error.code));
    }
  });

  it('an invalid current time is refused, not treated as always valid', () => {
    failsWith(validateGatewayCertificate(input(pki, { now: new Date(Number.NaN) })), 'CERT_INVALID', /current time is unknown/);
  });

  it('too many CA certificates from the gateway → CERT_INVALID', () => {
    const many = Array.from({ length: MAX_INTERMEDIATES + 1 }, () => pki.root.der);
    failsWith(validateGatewayCertificate(input(pki, { intermediates: many })), 'CERT_INVALID', /at most 16/);
  });
});

describe('gateway identity and name checks', () => {
  let pki: Pki;
  before(async () => {
    pki = await makePki({ gatewaySan: { dns: ['vpn.lab.example', 'gw2.lab.example'], ip: ['192.0.2.1', '2001:db8::1'], email: ['ops@lab.example'] } });
  });
  const v = (over: Partial<GatewayCertificateInput>): GatewayCertificateResult => validateGatewayCertificate(input(pki, over));

  it('wrong name → CERT_NAME_MISMATCH listing what the certificate is for', async () => {
    const plain = await makePki();
    const r = failsWith(
      validateGatewayCertificate(input(plain, { expectedName: parseIdentity('vpn.corp.example') })),
      'CERT_NAME_MISMATCH',
      "The gateway's certificate is for vpn.lab.example, 192.0.2.1; this profile expects vpn.corp.example.",
    );
    assert.deepEqual(r.error.fields, { expected: 'vpn.corp.example', presented: ['vpn.lab.example', '192.0.2.1'] });
  });

  it('FQDNs match case-insensitively', () => {
    ok(v({ peerId: parseIdentity('VPN.lab.example'), expectedName: parseIdentity('vpn.LAB.example') }));
  });

  it('IP address identities match iPAddress SANs (v4 and v6), never dNSName text', async () => {
    ok(v({ peerId: parseIdentity('192.0.2.1'), expectedName: parseIdentity('192.0.2.1') }));
    ok(v({ peerId: parseIdentity('2001:0db8::0001'), expectedName: parseIdentity('2001:db8::1') }));
    failsWith(v({ peerId: parseIdentity('192.0.2.2'), expectedName: parseIdentity('192.0.2.2') }), 'CERT_NAME_MISMATCH', /this profile expects 192\.0\.2\.2\.$/);
    const dnsOnly = await pki.issue({ subject: 'CN=192.0.2.9', san: { dns: ['192.0.2.9'] } });
    failsWith(v({ leaf: dnsOnly.der, peerId: parseIdentity('192.0.2.9'), expectedName: parseIdentity('192.0.2.9') }), 'CERT_NAME_MISMATCH');
  });

  it('a leftmost wildcard matches exactly one label', async () => {
    const wild = await pki.issue({ subject: 'CN=*.lab.example', san: { dns: ['*.lab.example'] }, extendedKeyUsage: ['serverAuth'] });
    const check = (name: string): GatewayCertificateResult => v({ leaf: wild.der, peerId: parseIdentity(name), expectedName: parseIdentity(name) });
    ok(check('vpn.lab.example'));
    ok(check('VPN2.Lab.Example'));
    failsWith(check('lab.example'), 'CERT_NAME_MISMATCH', "The gateway's certificate is for *.lab.example; this profile expects lab.example.");
    failsWith(check('a.vpn.lab.example'), 'CERT_NAME_MISMATCH');
    const tooWide = await pki.issue({ subject: 'CN=x', san: { dns: ['*.example'] } });
    failsWith(v({ leaf: tooWide.der, peerId: parseIdentity('lab.example'), expectedName: parseIdentity('lab.example') }), 'CERT_NAME_MISMATCH');
  });

  it('a DN identity matches the subject under canonical comparison', () => {
    const dn = parseIdentity('C=XX, O=VPN Lab, CN=vpn.lab.example');
    ok(v({ peerId: dn, expectedName: parseIdentity('c=xx,o=vpn lab,cn=VPN.LAB.EXAMPLE') }));
    failsWith(
      v({ peerId: dn, expectedName: parseIdentity('C=XX, O=VPN Lab, CN=other') }),
      'CERT_NAME_MISMATCH',
      "The gateway's certificate is for C=XX, O=VPN Lab, CN=vpn.lab.example; this profile expects C=XX, O=VPN Lab, CN=other.",
    );
  });

  it('an e-mail identity matches an rfc822Name SAN', () => {
    ok(v({ peerId: parseIdentity('ops@LAB.example'), expectedName: parseIdentity('ops@lab.example') }));
    failsWith(v({ peerId: parseIdentity('Ops@lab.example'), expectedName: parseIdentity('Ops@lab.example') }), 'CERT_NAME_MISMATCH');
  });

  it('IDr must be in the certificate (RFC 4945 §3.1) → IDENTITY_MISMATCH', () => {
    failsWith(
      v({ peerId: parseIdentity('other.lab.example'), expectedName: undefined }),
      'IDENTITY_MISMATCH',
      'The gateway identified itself as other.lab.example, but its certificate is for vpn.lab.example, gw2.lab.example, 192.0.2.1, 2001:db8::1, ops@lab.example.',
    );
    failsWith(v({ peerId: parseIdentity('keyid:0102'), expectedName: undefined }), 'IDENTITY_MISMATCH', /a key ID cannot be checked against a certificate/);
    ok(v({ peerId: parseIdentity('gw2.lab.example'), expectedName: undefined }));
  });

  it('IDr must equal the expected name by default; "certificate" mode only needs both in the certificate', () => {
    const peer = parseIdentity('gw2.lab.example');
    failsWith(v({ peerId: peer }), 'IDENTITY_MISMATCH', 'The gateway identified itself as gw2.lab.example; this profile expects vpn.lab.example.');
    ok(v({ peerId: peer, expectedNameMatch: 'certificate' }));
    // strongSwan's default IDr is the subject DN; the user typed the host name
    ok(v({ peerId: parseIdentity('C=XX, O=VPN Lab, CN=vpn.lab.example'), expectedNameMatch: 'certificate' }));
    failsWith(v({ peerId: parseIdentity('C=XX, O=VPN Lab, CN=elsewhere'), expectedNameMatch: 'certificate' }), 'IDENTITY_MISMATCH', /identified itself as C=XX, O=VPN Lab, CN=elsewhere, but its certificate is for C=XX, O=VPN Lab, CN=vpn.lab.example\.$/);
  });

  it('CN fallback only when the certificate has no SAN at all', async () => {
    const noSan = await pki.issue({ subject: 'C=XX, O=VPN Lab, CN=legacy.lab.example' });
    ok(v({ leaf: noSan.der, peerId: parseIdentity('legacy.lab.example'), expectedName: parseIdentity('legacy.lab.example') }));
    const withSan = await pki.issue({ subject: 'C=XX, O=VPN Lab, CN=legacy.lab.example', san: { dns: ['new.lab.example'] } });
    failsWith(v({ leaf: withSan.der, peerId: parseIdentity('legacy.lab.example'), expectedName: parseIdentity('legacy.lab.example') }), 'CERT_NAME_MISMATCH', /is for new\.lab\.example;/);
  });
});

describe('a chain made by strongSwan pki, as in the lab gateway', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'strait-sw-chain-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('validates, and binds both the FQDN and strongSwan\'s default subject-DN identity', () => {
    const pki = (args: string[]): Buffer => execFileSync('pki', args, { cwd: dir, stdio: ['ignore', 'pipe', 'ignore'] });
    writeFileSync(join(dir, 'ca.key'), pki(['--gen', '--type', 'ecdsa', '--size', '256']));
    const ca = pki(['--self', '--ca', '--lifetime', '3650', '--in', 'ca.key', '--type', 'ecdsa', '--dn', 'C=XX, O=VPN Lab, CN=VPN Lab Root CA (ecdsa)']);
    writeFileSync(join(dir, 'ca.crt'), ca);
    writeFileSync(join(dir, 'gw.key'), pki(['--gen', '--type', 'ecdsa', '--size', '256']));
    writeFileSync(join(dir, 'gw.pub'), pki(['--pub', '--in', 'gw.key', '--type', 'ecdsa']));
    const gw = pki([
      '--issue', '--lifetime', '1825', '--in', 'gw.pub', '--type', 'pub', '--cacert', 'ca.crt', '--cakey', 'ca.key',
      '--dn', 'C=XX, O=VPN Lab, CN=vpn.lab.example', '--san', 'vpn.lab.example', '--san', '192.0.2.1',
      '--flag', 'serverAuth', '--flag', 'ikeIntermediate',
    ]);
    // pki starts validity at the moment of issue, so take the time after it
    const now = new Date(Date.now() + 1000);
    const base = { leaf: new Uint8Array(gw), intermediates: [], trustAnchors: [new Uint8Array(ca)], now };
    ok(validateGatewayCertificate({ ...base, peerId: GW, expectedName: GW }));
    ok(validateGatewayCertificate({ ...base, peerId: parseIdentity('192.0.2.1'), expectedName: parseIdentity('192.0.2.1') }));
    ok(validateGatewayCertificate({ ...base, peerId: parseIdentity('C=XX, O=VPN Lab, CN=vpn.lab.example'), expectedName: GW, expectedNameMatch: 'certificate' }));
    failsWith(validateGatewayCertificate({ ...base, peerId: GW, expectedName: GW, now: new Date(now.getTime() + 1826 * DAY) }), 'CERT_EXPIRED');
  });
});

describe('differential check against openssl verify', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'strait-verify-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  /** openssl's verdict on the same files at the same time, as a server certificate. */
  function opensslAccepts(name: string, leaf: Uint8Array, intermediates: readonly TestCertificate[] | readonly Uint8Array[], anchors: readonly Uint8Array[], now: Date): boolean {
    const pem = (der: Uint8Array): string => `-----BEGIN CERTIFICATE-----\n${Buffer.from(der).toString('base64').replace(/.{64}/g, '$&\n')}\n-----END CERTIFICATE-----\n`;
    const file = (suffix: string, ders: readonly Uint8Array[]): string => {
      const path = join(dir, `${name}-${suffix}.pem`);
      writeFileSync(path, ders.map(pem).join(''));
      return path;
    };
    const inter = intermediates.map((c) => (c instanceof Uint8Array ? c : c.der));
    const args = ['verify', '-attime', String(Math.floor(now.getTime() / 1000)), '-purpose', 'sslserver', '-CAfile', file('ca', anchors)];
    if (inter.length > 0) args.push('-untrusted', file('inter', inter));
    args.push(file('leaf', [leaf]));
    try {
      const out = execFileSync('openssl', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
      return /: OK\s*$/.test(out);
    } catch {
      return false;
    }
  }

  it('agrees on good, expired, untrusted, non-CA, path-length, EKU and tampered chains', async () => {
    const pki = await makePki({ keyAlgorithm: 'ecdsa-p384', leafKeyAlgorithm: 'rsa-2048', intermediate: true });
    const lookAlike = await makePki({ rootSubject: pki.root.subject });
    const nonCa = await issueCertificate({ subject: 'CN=Not A CA', ca: false, keyUsage: ['digitalSignature', 'keyCertSign'] }, pki.root);
    const underNonCa = await issueCertificate({ subject: 'CN=vpn.lab.example', san: { dns: ['vpn.lab.example'] } }, nonCa);
    const i1 = await issueCertificate({ subject: 'CN=Level 1', ca: true, pathLength: 0 }, pki.root);
    const i2 = await issueCertificate({ subject: 'CN=Level 2', ca: true }, i1);
    const tooDeep = await issueCertificate({ subject: 'CN=vpn.lab.example', san: { dns: ['vpn.lab.example'] } }, i2);
    const clientOnly = await pki.issue({ subject: 'CN=vpn.lab.example', san: { dns: ['vpn.lab.example'] }, extendedKeyUsage: ['clientAuth'] });
    const expired = await pki.issue({ subject: 'CN=vpn.lab.example', san: { dns: ['vpn.lab.example'] }, notBefore: new Date(NOW.getTime() - 30 * DAY), notAfter: new Date(NOW.getTime() - DAY) });

    const cases: { name: string; leaf: Uint8Array; inter: readonly Uint8Array[]; anchors?: readonly Uint8Array[]; now?: Date; expect: boolean }[] = [
      { name: 'good', leaf: pki.gateway.der, inter: [pki.intermediate!.der], expect: true },
      { name: 'good-later', leaf: pki.gateway.der, inter: [pki.intermediate!.der], now: new Date(NOW.getTime() + 300 * DAY), expect: true },
      { name: 'after-expiry', leaf: pki.gateway.der, inter: [pki.intermediate!.der], now: new Date(NOW.getTime() + 400 * DAY), expect: false },
      { name: 'before-validity', leaf: pki.gateway.der, inter: [pki.intermediate!.der], now: new Date(NOW.getTime() - 2 * DAY), expect: false },
      { name: 'expired-leaf', leaf: expired.der, inter: [pki.intermediate!.der], expect: false },
      { name: 'missing-intermediate', leaf: pki.gateway.der, inter: [], expect: false },
      { name: 'look-alike', leaf: lookAlike.gateway.der, inter: [lookAlike.intermediate ?? lookAlike.root.der].map((c) => (c instanceof Uint8Array ? c : c.der)), expect: false },
      { name: 'non-ca', leaf: underNonCa.der, inter: [nonCa.der], expect: false },
      { name: 'path-length', leaf: tooDeep.der, inter: [i2.der, i1.der], expect: false },
      { name: 'client-only', leaf: clientOnly.der, inter: [pki.intermediate!.der], expect: false },
      { name: 'tampered', leaf: tamper(pki.gateway.der), inter: [pki.intermediate!.der], expect: false },
    ];
    for (const c of cases) {
      const now = c.now ?? NOW;
      const anchors = c.anchors ?? pki.trustAnchors;
      const ours = validateGatewayCertificate({ leaf: c.leaf, intermediates: c.inter, trustAnchors: anchors, now, peerId: GW, expectedName: GW });
      const theirs = opensslAccepts(c.name, c.leaf, c.inter, anchors, now);
      assert.equal(theirs, c.expect, `openssl on ${c.name}`);
      assert.equal(ours.ok, c.expect, `ours on ${c.name}: ${ours.ok ? 'accepted' : ours.error.message}`);
    }
  });
});
