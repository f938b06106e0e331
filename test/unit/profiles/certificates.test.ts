import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { after, before, describe, it } from 'node:test';

import {
  CertificateError,
  certificateMatchesKey,
  describeCertificate,
  isEncryptedPrivateKeyPem,
  parseCertificates,
  parsePrivateKey,
} from '../../../native-helper/src/profiles/certificates.js';
import { decodePkcs12, Pkcs12Error } from '../../../native-helper/src/profiles/pkcs12.js';
import { pkcs12Kdf } from '../../../native-helper/src/profiles/pkijs-engine.js';
import { days, TestPki, type Issued } from './helpers/pki.js';

let pki: TestPki;
let root: Issued;
let inter: Issued;
let rsaLeaf: Issued;
let p256Leaf: Issued;
let p384Leaf: Issued;

before(async () => {
  pki = await TestPki.create();
  root = await pki.root('Strait Test Root', 'rsa3072');
  inter = await pki.issue(root, 'Strait Test Intermediate', 'p384', { ca: true });
  rsaLeaf = await pki.issue(root, 'client-rsa', 'rsa2048', { san: ['email:alice@lab.example', 'DNS:alice.lab.example'] });
  p256Leaf = await pki.issue(inter, 'client-p256', 'p256', { san: ['email:bob@lab.example'] });
  p384Leaf = await pki.issue(inter, 'client-p384', 'p384', { san: ['IP:192.0.2.7'] });
});
after(async () => {
  await pki.cleanup();
});

const opensslFingerprint = async (certPath: string): Promise<string> =>
  (await pki.openssl(['x509', '-in', certPath, '-noout', '-fingerprint', '-sha256'])).toString().trim().replace(/^.*=/u, '');

describe('certificate display', () => {
  it('shows subject, issuer, SAN, validity, key type and the fingerprint openssl computes', async () => {
    const now = new Date();
    for (const [issued, key, issuer] of [
      [rsaLeaf, 'RSA 2048', 'O=Strait Test, CN=Strait Test Root'],
      [p256Leaf, 'ECDSA P-256', 'O=Strait Test, CN=Strait Test Intermediate'],
      [p384Leaf, 'ECDSA P-384', 'O=Strait Test, CN=Strait Test Intermediate'],
    ] as const) {
      const info = describeCertificate(issued.cert, now);
      assert.equal(info.subject, `O=Strait Test, CN=${issued.name}`);
      assert.equal(info.issuer, issuer);
      assert.equal(info.keyDescription, key);
      assert.equal(info.fingerprintSha256, await opensslFingerprint(issued.certPath));
      assert.equal(info.isCa, false);
      assert.ok(info.notBefore.getTime() < now.getTime() && info.notAfter.getTime() > now.getTime() + days(300));
      assert.deepEqual(info.warnings, []);
    }
    assert.deepEqual(describeCertificate(rsaLeaf.cert, now).subjectAltNames, ['email:alice@lab.example', 'DNS:alice.lab.example']);
    assert.deepEqual(describeCertificate(p384Leaf.cert, now).subjectAltNames, ['IP Address:192.0.2.7']);
    const rootInfo = describeCertificate(root.cert, now);
    assert.equal(rootInfo.isCa, true);
    assert.equal(rootInfo.selfSigned, true);
  });

  it('warns when a certificate expires within 30 days, has expired, or is not valid yet', async () => {
    const now = Date.now();
    const soon = await pki.issue(root, 'expires-soon', 'p256', { notAfter: new Date(now + days(12)) });
    const gone = await pki.issue(root, 'expired', 'p256', { notBefore: new Date(now - days(400)), notAfter: new Date(now - days(35)) });
    const later = await pki.issue(root, 'not-yet', 'p256', { notBefore: new Date(now + days(3)), notAfter: new Date(now + days(300)) });
    assert.match(describeCertificate(soon.cert, new Date(now)).warnings.join(), /expires in 1[12] days/u);
    assert.match(describeCertificate(gone.cert, new Date(now)).warnings.join(), /expired on/u);
    assert.match(describeCertificate(later.cert, new Date(now)).warnings.join(), /not valid before/u);
  });

  it('flags key types Strait cannot use (RSA < 2048, Ed25519)', async () => {
    const weak = await pki.issue(root, 'weak-rsa', 'rsa1024');
    const ed = await pki.issue(root, 'ed', 'ed25519');
    assert.match(describeCertificate(weak.cert, new Date()).warnings.join(), /RSA 1024.*not supported/u);
    assert.match(describeCertificate(ed.cert, new Date()).warnings.join(), /ed25519.*not supported/u);
  });

  it('reads PEM bundles and DER, and refuses junk with a CertificateError', async () => {
    const chain = new TextEncoder().encode(`${p256Leaf.certPem}${inter.certPem}`);
    assert.equal(parseCertificates(chain).length, 2);
    const der = await pki.openssl(['x509', '-in', p256Leaf.certPath, '-outform', 'DER']);
    assert.equal(parseCertificates(new Uint8Array(der))[0]?.fingerprint256, p256Leaf.cert.fingerprint256);
    assert.throws(() => parseCertificates(randomBytes(300)), CertificateError);
    assert.throws(() => parseCertificates(new TextEncoder().encode('-----BEGIN CERTIFICATE-----\n!!!\n-----END CERTIFICATE-----\n')), CertificateError);
  });

  it('reads encrypted and plain private keys and matches them to their certificate', async () => {
    const encPath = await pki.key('p256', 'encrypted', 'key-password');
    const enc = new Uint8Array(await readFile(encPath));
    assert.ok(isEncryptedPrivateKeyPem(enc));
    assert.throws(() => parsePrivateKey(enc), /encrypted and the password is missing or wrong/u);
    assert.throws(() => parsePrivateKey(enc, 'wrong'), /encrypted and the password is missing or wrong/u);
    assert.equal(parsePrivateKey(enc, 'key-password').asymmetricKeyType, 'ec');
    const plain = parsePrivateKey(new Uint8Array(await readFile(p256Leaf.keyPath)));
    assert.ok(certificateMatchesKey(p256Leaf.cert, plain));
    assert.ok(!certificateMatchesKey(p384Leaf.cert, plain));
  });
});

describe('PKCS#12', () => {
  for (const [label, leafOf, mode] of [
    ['RSA, OpenSSL 3 default (PBES2 AES-256, HMAC-SHA256)', () => rsaLeaf, 'default'],
    ['ECDSA P-256 with chain, default', () => p256Leaf, 'default'],
    ['ECDSA P-384, Apple 3DES (pbeWithSHAAnd3-KeyTripleDES-CBC)', () => p384Leaf, '3des'],
    ['RSA, Apple 3DES', () => rsaLeaf, '3des'],
  ] as const) {
    it(`decodes ${label}`, async () => {
      const leaf = leafOf();
      const chain = leaf === rsaLeaf ? [root] : [inter, root];
      const p12 = await pki.pkcs12(leaf, 'p12 pass wörd', { chain, mode });
      const id = await decodePkcs12(p12, 'p12 pass wörd');
      assert.equal(id.certificate.fingerprint256, leaf.cert.fingerprint256);
      assert.ok(id.certificate.checkPrivateKey(id.privateKey));
      assert.deepEqual(id.chain.map((c) => c.fingerprint256).sort(), chain.map((c) => c.cert.fingerprint256).sort());
      assert.match(id.privateKeyPem, /^-----BEGIN PRIVATE KEY-----/u);
      // The key we extracted is the key openssl put in.
      const original = parsePrivateKey(new Uint8Array(await readFile(leaf.keyPath)));
      assert.equal(id.privateKey.export({ format: 'der', type: 'pkcs8' }).toString('hex'), original.export({ format: 'der', type: 'pkcs8' }).toString('hex'));
    });
  }

  it('says the password is wrong (and never echoes it)', async () => {
    const p12 = await pki.pkcs12(p256Leaf, 'right-password', { mode: 'default' });
    await assert.rejects(decodePkcs12(p12, 'wrong-password-123'), (e: unknown) => e instanceof Pkcs12Error && e.code === 'BAD_PASSWORD' && !e.message.includes('wrong-password-123'));
    const p12des = await pki.pkcs12(p256Leaf, 'right-password', { mode: '3des' });
    await assert.rejects(decodePkcs12(p12des, 'nope'), (e: unknown) => e instanceof Pkcs12Error && e.code === 'BAD_PASSWORD');
  });

  it('explains RC2 (openssl -legacy) instead of failing obscurely', async () => {
    const p12 = await pki.pkcs12(p256Leaf, 'pw', { mode: 'legacy' });
    await assert.rejects(decodePkcs12(p12, 'pw'), (e: unknown) => e instanceof Pkcs12Error && e.code === 'UNSUPPORTED' && /RC2/u.test(e.message));
  });

  it('refuses garbage and truncation with a typed error', async () => {
    const p12 = await pki.pkcs12(p256Leaf, 'pw');
    for (const bytes of [randomBytes(64), p12.subarray(0, p12.length - 10), new Uint8Array(0)]) {
      await assert.rejects(decodePkcs12(new Uint8Array(bytes), 'pw'), Pkcs12Error);
    }
  });

  it('the RFC 7292 App. B KDF matches OpenSSL (published "smeg" vector and random inputs)', async () => {
    // OpenSSL test vector (evpkdf_pkcs12.txt / BouncyCastle): password "smeg", salt 0A58CF64530D823F, 1 iteration.
    assert.equal(Buffer.from(pkcs12Kdf('smeg', Buffer.from('0A58CF64530D823F', 'hex'), 1, 1, 24)).toString('hex').toUpperCase(), '8AAAE6297B6CB04642AB5B077851284EB7128F1A2A7FBCA3');
    for (let i = 0; i < 4; i++) {
      const password = `pw-${randomBytes(3).toString('hex')}`;
      const salt = randomBytes(8 + i);
      const id = ((i % 3) + 1) as 1 | 2 | 3;
      const iter = 1 + i * 700;
      const len = [24, 8, 20, 40][i] as number;
      // BMPString + two zero octets, as RFC 7292 B.1 encodes passwords; openssl's kdf takes the raw bytes.
      const bmp = Buffer.concat([Buffer.from(password, 'utf16le').swap16(), Buffer.alloc(2)]);
      const out = await pki.openssl(['kdf', '-keylen', String(len), '-kdfopt', 'digest:SHA1', '-kdfopt', `hexpass:${bmp.toString('hex')}`, '-kdfopt', `hexsalt:${salt.toString('hex')}`, '-kdfopt', `iter:${iter}`, '-kdfopt', `id:${id}`, 'PKCS12KDF']);
      assert.equal(Buffer.from(pkcs12Kdf(password, salt, iter, id, len)).toString('hex').toUpperCase(), out.toString().trim().replace(/:/gu, ''));
    }
  });
});
