/**
 * parseCertificate on certificates from three independent producers
 * (@peculiar/x509, strongSwan's pki, OpenSSL) for every key type, checked
 * against what node:crypto/OpenSSL and strongSwan report; and on garbage,
 * which must always give CertificateError('CERT_INVALID').
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { X509Certificate, createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';

import { type CertificateInfo, MAX_CERTIFICATE_BYTES, expiryWarning, parseCertificate } from '../../../native-helper/src/pki/certificate.js';
import { CertificateError } from '../../../native-helper/src/pki/errors.js';
import { derToPem } from '../../../native-helper/src/pki/pem.js';
import { KEY_ALGORITHMS, type KeyAlgorithm, type Pki, issueCertificate, makePki, x509 } from '../../support/pki-fixtures.js';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

function certInvalid(der: Uint8Array, what: string): CertificateError {
  try {
    parseCertificate(der);
  } catch (e) {
    assert.ok(e instanceof CertificateError, `${what}: expected CertificateError, got ${String(e)}`);
    assert.equal(e.code, 'CERT_INVALID', what);
    return e;
  }
  assert.fail(`${what}: accepted`);
}

const DESCRIPTIONS: Record<KeyAlgorithm, [CertificateInfo['keyType'], string]> = {
  'rsa-2048': ['rsa', 'RSA 2048'],
  'rsa-3072': ['rsa', 'RSA 3072'],
  'ecdsa-p256': ['ec', 'ECDSA P-256'],
  'ecdsa-p384': ['ec', 'ECDSA P-384'],
  'ecdsa-p521': ['ec', 'ECDSA P-521'],
  ed25519: ['ed25519', 'Ed25519'],
};

describe('parseCertificate: @peculiar/x509 chains, every key type', () => {
  const pkis = new Map<KeyAlgorithm, Pki>();
  before(async () => {
    for (const alg of KEY_ALGORITHMS) pkis.set(alg, await makePki({ keyAlgorithm: alg, intermediate: true }));
  });

  for (const alg of KEY_ALGORITHMS) {
    it(`${alg}: fields agree with node:crypto and the fixture`, () => {
      const pki = pkis.get(alg) as Pki;
      const gw = parseCertificate(pki.gateway.der);
      const node = new X509Certificate(pki.gateway.der);
      assert.deepEqual([gw.keyType, gw.keyDescription], DESCRIPTIONS[alg]);
      assert.equal(gw.subject, 'C=XX, O=VPN Lab, CN=vpn.lab.example');
      assert.equal(gw.issuer, `C=XX, O=VPN Lab, CN=VPN Lab Intermediate CA (${alg})`);
      assert.equal(gw.fingerprintSha256, node.fingerprint256);
      assert.equal(gw.serialNumber, node.serialNumber.toUpperCase());
      assert.equal(gw.notBefore.getTime(), Date.parse(node.validFrom));
      assert.equal(gw.notAfter.getTime(), Date.parse(node.validTo));
      assert.deepEqual(gw.san, { dns: ['vpn.lab.example'], ip: ['192.0.2.1'], email: [], uri: [] });
      assert.equal(gw.hasSubjectAltName, true);
      assert.deepEqual(gw.extendedKeyUsage, ['serverAuth', 'ikeIntermediate']);
      assert.deepEqual(gw.keyUsage, ['digitalSignature']);
      assert.equal(gw.isCa, false);
      assert.equal(gw.pathLength, undefined);
      assert.ok(gw.publicKey.equals(pki.gateway.publicKey));
      assert.equal(hex(gw.spkiSha1), createHash('sha1').update(gw.publicKey.export({ type: 'spki', format: 'der' })).digest('hex'));
      assert.deepEqual(gw.unsupportedCriticalExtensions, []);
      assert.equal(gw.selfIssued, false);
      assert.ok(gw.authorityKeyId !== undefined && gw.subjectKeyId !== undefined);

      const inter = parseCertificate((pki.intermediate as { der: Uint8Array }).der);
      assert.equal(inter.isCa, true);
      assert.equal(inter.pathLength, 0);
      assert.deepEqual(inter.keyUsage, ['keyCertSign', 'cRLSign']);
      assert.deepEqual(gw.authorityKeyId, inter.subjectKeyId);
      const root = parseCertificate(pki.root.der);
      assert.equal(root.selfIssued, true);
      assert.equal(root.isCa, true);
      assert.equal(root.pathLength, undefined);

      const alice = parseCertificate(pki.clients[0]!.der);
      assert.equal(alice.subject, 'C=XX, O=VPN Lab, OU=Users, CN=alice@lab.example');
      assert.deepEqual(alice.san.email, ['alice@lab.example']);
      assert.deepEqual(alice.extendedKeyUsage, ['clientAuth']);
    });
  }

  it('lists unknown critical extensions, keeps unknown EKU OIDs, canonicalises IPv6 SANs', async () => {
    const pki = pkis.get('ecdsa-p256') as Pki;
    const cert = await pki.issue({
      subject: 'CN=odd',
      san: { ip: ['2001:DB8:0::1'], uri: ['https://vpn.lab.example/'] },
      extendedKeyUsage: ['1.2.3.4.5'],
      extraExtensions: [new x509.Extension('1.3.6.1.4.1.99999.1', true, new Uint8Array([0x05, 0x00]))],
    });
    const info = parseCertificate(cert.der);
    assert.deepEqual(info.unsupportedCriticalExtensions, ['1.3.6.1.4.1.99999.1']);
    assert.deepEqual(info.extendedKeyUsage, ['1.2.3.4.5']);
    assert.deepEqual(info.san.ip, ['2001:db8::1']);
    assert.deepEqual(info.san.uri, ['https://vpn.lab.example/']);
  });

  it('rejects a duplicated extension (RFC 5280 §4.2)', async () => {
    const pki = pkis.get('ecdsa-p256') as Pki;
    const cert = await pki.issue({
      subject: 'CN=dup',
      san: { dns: ['a.example'] },
      extraExtensions: [new x509.SubjectAlternativeNameExtension([{ type: 'dns', value: 'b.example' }])],
    });
    assert.match(certInvalid(cert.der, 'duplicate SAN').message, /duplicate extension 2\.5\.29\.17/);
  });
});

describe('parseCertificate: certificates from strongSwan pki and OpenSSL', () => {
  let dir: string;
  const run = (cmd: string, args: string[]): Buffer => execFileSync(cmd, args, { cwd: dir, stdio: ['ignore', 'pipe', 'ignore'] });
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'strait-cert-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('a strongSwan lab gateway certificate (pki --issue --san --flag), and pki --keyid agrees on the SPKI hash', () => {
    writeFileSync(join(dir, 'ca.key'), run('pki', ['--gen', '--type', 'ecdsa', '--size', '384']));
    writeFileSync(join(dir, 'ca.crt'), run('pki', ['--self', '--ca', '--in', 'ca.key', '--type', 'ecdsa', '--dn', 'C=XX, O=VPN Lab, CN=VPN Lab Root CA']));
    writeFileSync(join(dir, 'gw.key'), run('pki', ['--gen', '--type', 'rsa', '--size', '3072']));
    writeFileSync(join(dir, 'gw.pub'), run('pki', ['--pub', '--in', 'gw.key', '--type', 'rsa']));
    const gwDer = new Uint8Array(
      run('pki', [
        '--issue', '--in', 'gw.pub', '--type', 'pub', '--cacert', 'ca.crt', '--cakey', 'ca.key',
        '--dn', 'C=XX, O=VPN Lab, CN=vpn.lab.example', '--san', 'vpn.lab.example', '--san', '192.0.2.1',
        '--flag', 'serverAuth', '--flag', 'ikeIntermediate',
      ]),
    );
    writeFileSync(join(dir, 'gw.crt'), gwDer);
    const info = parseCertificate(gwDer);
    assert.equal(info.subject, 'C=XX, O=VPN Lab, CN=vpn.lab.example');
    assert.equal(info.issuer, 'C=XX, O=VPN Lab, CN=VPN Lab Root CA');
    assert.equal(info.keyDescription, 'RSA 3072');
    assert.deepEqual(info.san.dns, ['vpn.lab.example']);
    assert.deepEqual(info.san.ip, ['192.0.2.1']);
    assert.deepEqual(info.extendedKeyUsage, ['serverAuth', 'ikeIntermediate']);
    const ca = parseCertificate(new Uint8Array(readFileSync(join(dir, 'ca.crt'))));
    assert.equal(ca.keyDescription, 'ECDSA P-384');
    assert.equal(ca.isCa, true);
    // strongSwan prints "keyid (SHA-1 of subjectPublicKeyInfo): xx:xx:…"
    const keyid = run('pki', ['--keyid', '--type', 'x509', '--in', 'gw.crt']).toString('utf8');
    const m = /subjectPublicKeyInfo\)?:\s*([0-9a-f:]{59})/i.exec(keyid);
    assert.ok(m !== null, keyid);
    assert.equal(hex(info.spkiSha1), (m[1] as string).replace(/:/g, '').toLowerCase());
  });

  it('OpenSSL Ed448 and RSA-PSS certificates', () => {
    const make = (name: string, newkey: string[]): CertificateInfo => {
      run('openssl', ['req', '-x509', ...newkey, '-nodes', '-keyout', `${name}.key`, '-out', `${name}.pem`, '-days', '2', '-subj', `/CN=${name}`]);
      return parseCertificate(new Uint8Array(run('openssl', ['x509', '-in', `${name}.pem`, '-outform', 'der'])));
    };
    const ed448 = make('ed448', ['-newkey', 'ed448']);
    assert.deepEqual([ed448.keyType, ed448.keyDescription, ed448.subject], ['ed448', 'Ed448', 'CN=ed448']);
    const pss = make('pss', ['-newkey', 'rsa-pss', '-pkeyopt', 'rsa_keygen_bits:2048']);
    assert.deepEqual([pss.keyType, pss.keyDescription], ['rsa-pss', 'RSA-PSS 2048']);
    assert.equal(pss.signatureAlgorithm, '1.2.840.113549.1.1.10');
  });
});

describe('parseCertificate: garbage', () => {
  let good: Uint8Array;
  before(async () => {
    good = (await issueCertificate({ subject: 'C=XX, O=VPN Lab, CN=vpn.lab.example', san: { dns: ['vpn.lab.example'], ip: ['192.0.2.1'] }, extendedKeyUsage: ['serverAuth'] })).der;
  });

  it('empty, oversized, PEM-as-DER, trailing bytes, not a certificate', () => {
    certInvalid(new Uint8Array(0), 'empty');
    certInvalid(new Uint8Array(MAX_CERTIFICATE_BYTES + 1), 'oversized');
    certInvalid(new Uint8Array(Buffer.from(derToPem(good, 'CERTIFICATE'))), 'PEM text');
    certInvalid(Uint8Array.from([...good, 0]), 'trailing byte');
    certInvalid(Uint8Array.from([0x30, 0x03, 0x02, 0x01, 0x01]), 'SEQUENCE { INTEGER }');
    certInvalid(Uint8Array.from(Buffer.from('hello world')), 'text');
  });

  it('every truncation is CERT_INVALID', () => {
    for (let n = 0; n < good.length; n++) certInvalid(good.subarray(0, n), `truncated to ${n}`);
  });

  it('random single-byte corruptions never escape as anything but CertificateError (seeded)', () => {
    let seed = 0xc0ffee;
    const rand = (n: number): number => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return seed % n;
    };
    let rejected = 0;
    for (let i = 0; i < 1500; i++) {
      const bad = Uint8Array.from(good);
      for (let k = 0; k <= rand(3); k++) bad[rand(bad.length)] = rand(256);
      try {
        const info = parseCertificate(bad);
        assert.equal(typeof info.subject, 'string');
      } catch (e) {
        assert.ok(e instanceof CertificateError && e.code === 'CERT_INVALID', String(e));
        rejected++;
      }
    }
    assert.ok(rejected > 100, `only ${rejected} corruptions were rejected`);
  });
});

describe('expiryWarning', () => {
  it('warns inside the window and after expiry, not before', async () => {
    const notBefore = new Date('2026-01-01T00:00:00Z');
    const cert = parseCertificate((await issueCertificate({ subject: 'CN=soon', notBefore, notAfter: new Date('2026-03-01T12:00:00Z') })).der);
    const at = (iso: string): string | undefined => expiryWarning(cert, new Date(iso));
    assert.equal(at('2026-01-15T00:00:00Z'), undefined);
    assert.equal(at('2026-02-19T12:00:00Z'), 'The certificate "CN=soon" expires in 10 days, on 2026-03-01 12:00:00 UTC.');
    assert.equal(at('2026-02-28T12:00:00Z'), 'The certificate "CN=soon" expires in 1 day, on 2026-03-01 12:00:00 UTC.');
    assert.equal(at('2026-03-01T11:00:00Z'), 'The certificate "CN=soon" expires within a day, on 2026-03-01 12:00:00 UTC.');
    assert.equal(at('2026-03-02T00:00:00Z'), 'The certificate "CN=soon" expired on 2026-03-01 12:00:00 UTC.');
    assert.equal(expiryWarning(cert, new Date('2026-01-15T00:00:00Z'), 60), 'The certificate "CN=soon" expires in 45 days, on 2026-03-01 12:00:00 UTC.');
  });
});
