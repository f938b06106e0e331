/**
 * Signed bundles against real artefacts: certificates from `openssl req/ca`,
 * bundles signed by `openssl cms -sign -nodetach -binary` (and `openssl
 * smime`), our own signatures checked by `openssl cms -verify`.
 */
import assert from 'node:assert/strict';
import { createPrivateKey, randomUUID } from 'node:crypto';
import { chmod, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';

import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';

import { BundleError, signBundle, verifyBundle, type BundleErrorCode } from '../../../native-helper/src/profiles/bundle.js';
import { lastSerial, readBundleState, recordImport, BundleStateError } from '../../../native-helper/src/profiles/bundle-state.js';
import type { TrustAnchor } from '../../../native-helper/src/profiles/cms.js';
import { ensurePkijsEngine } from '../../../native-helper/src/profiles/pkijs-engine.js';
import { loadTrustAnchors, TrustStoreError } from '../../../native-helper/src/profiles/trust-anchors.js';
import { bundleBytes, bundleDoc } from './helpers/bundles.js';
import { profileDoc } from './helpers/fixtures.js';
import { days, TestPki, type Issued } from './helpers/pki.js';

let pki: TestPki;
let root: Issued;
let inter: Issued;
let ecSigner: Issued;
let rsaSigner: Issued;
let p384Signer: Issued;
let otherRoot: Issued;
let strangerSigner: Issued;
let expiredSigner: Issued;
let futureSigner: Issued;
let encipherOnly: Issued;
let anchors: TrustAnchor[];

before(async () => {
  pki = await TestPki.create();
  root = await pki.root('Bundle Root', 'rsa3072');
  inter = await pki.issue(root, 'Bundle Intermediate', 'p384', { ca: true });
  ecSigner = await pki.issue(inter, 'IT Signer EC', 'p256');
  p384Signer = await pki.issue(inter, 'IT Signer P-384', 'p384');
  rsaSigner = await pki.issue(root, 'IT Signer RSA', 'rsa2048');
  otherRoot = await pki.root('Someone Else Root', 'p256');
  strangerSigner = await pki.issue(otherRoot, 'Stranger Signer', 'p256');
  const now = Date.now();
  expiredSigner = await pki.issue(inter, 'Expired Signer', 'p256', { notBefore: new Date(now - days(400)), notAfter: new Date(now - days(2)) });
  futureSigner = await pki.issue(inter, 'Future Signer', 'p256', { notBefore: new Date(now + days(5)), notAfter: new Date(now + days(400)) });
  encipherOnly = await pki.issue(root, 'Encipher Only', 'rsa2048', { keyUsage: 'keyEncipherment' });
  anchors = [{ certificate: root.cert, source: 'bundle-root.pem' }];
});
after(async () => {
  await pki.cleanup();
});

const refusedWith = async (bytes: Uint8Array, code: BundleErrorCode, message?: RegExp, options: Partial<Parameters<typeof verifyBundle>[1]> = {}): Promise<void> => {
  await assert.rejects(verifyBundle(bytes, { anchors, now: new Date(), ...options }), (e: unknown) => {
    assert.ok(e instanceof BundleError, `not a BundleError: ${String(e)}`);
    assert.equal(e.code, code, e.message);
    if (message !== undefined) assert.match(e.message, message);
    return true;
  });
};

describe('bundle verification (openssl-signed)', () => {
  it('accepts ECDSA (P-256 under a P-384 intermediate) and RSA signers, DER and PEM, cms and smime', async () => {
    const content = bundleBytes({ serial: 4 });
    const cases: Array<[string, Uint8Array, string]> = [
      ['EC DER', await pki.sign(content, ecSigner, { chain: [inter] }), 'O=Strait Test, CN=IT Signer EC'],
      ['EC PEM', await pki.sign(content, ecSigner, { chain: [inter], pem: true }), 'O=Strait Test, CN=IT Signer EC'],
      ['P-384 SHA-384', await pki.sign(content, p384Signer, { chain: [inter], md: 'sha384' }), 'O=Strait Test, CN=IT Signer P-384'],
      ['RSA DER', await pki.sign(content, rsaSigner), 'O=Strait Test, CN=IT Signer RSA'],
      ['RSA SHA-512', await pki.sign(content, rsaSigner, { md: 'sha512' }), 'O=Strait Test, CN=IT Signer RSA'],
      ['RSA smime PEM (PKCS7 label)', await pki.sign(content, rsaSigner, { tool: 'smime', pem: true }), 'O=Strait Test, CN=IT Signer RSA'],
      ['chain including the root', await pki.sign(content, ecSigner, { chain: [inter, root] }), 'O=Strait Test, CN=IT Signer EC'],
    ];
    for (const [label, bytes, signer] of cases) {
      const v = await verifyBundle(bytes, { anchors, now: new Date() });
      assert.equal(v.signature.signerSubject, signer, label);
      assert.equal(v.bundle.serial, 4, label);
      assert.equal(v.bundle.issuer, 'Example Corp IT');
      assert.equal(v.bundle.profiles[0]?.name, 'Corp VPN');
      assert.equal(v.signature.anchor.source, 'bundle-root.pem');
      assert.ok(v.signature.signingTime instanceof Date);
    }
  });

  it('a signer pinned directly as the trust anchor is accepted', async () => {
    const bytes = await pki.sign(bundleBytes(), rsaSigner);
    const v = await verifyBundle(bytes, { anchors: [{ certificate: rsaSigner.cert, source: 'pinned.pem' }], now: new Date() });
    assert.equal(v.signature.anchor.source, 'pinned.pem');
  });

  it('UNSIGNED: plain bundle JSON, and CMS data without a signature', async () => {
    await refusedWith(bundleBytes(), 'UNSIGNED', /not signed/u);
    const dataPath = pki.path('plain.json');
    await writeFile(dataPath, bundleBytes());
    const data = await pki.openssl(['cms', '-data_create', '-in', dataPath, '-outform', 'DER']);
    await refusedWith(new Uint8Array(data), 'UNSIGNED', /without a signature/u);
  });

  it('MALFORMED: a detached signature, garbage, truncation', async () => {
    await refusedWith(await pki.sign(bundleBytes(), ecSigner, { chain: [inter], detached: true }), 'MALFORMED', /detached/u);
    const ok = await pki.sign(bundleBytes(), ecSigner, { chain: [inter] });
    await refusedWith(ok.subarray(0, ok.length - 1), 'MALFORMED');
    await refusedWith(new Uint8Array([...ok, 0]), 'MALFORMED', /trailing/u);
    await refusedWith(new TextEncoder().encode('hello'), 'MALFORMED');
  });

  it('TAMPERED: content changed after signing', async () => {
    const signed = await pki.sign(bundleBytes({ serial: 7 }), ecSigner, { chain: [inter] });
    const text = Buffer.from(signed);
    const at = text.indexOf('"serial": 7');
    assert.ok(at > 0);
    text.write('"serial": 9', at);
    await refusedWith(new Uint8Array(text), 'TAMPERED', /message digest/u);
  });

  it('UNKNOWN_SIGNER: another CA, missing intermediate, no anchors, signer not allowed to sign', async () => {
    await refusedWith(await pki.sign(bundleBytes(), strangerSigner), 'UNKNOWN_SIGNER', /Stranger Signer.*does not chain/u);
    await refusedWith(await pki.sign(bundleBytes(), ecSigner), 'UNKNOWN_SIGNER', /does not chain/u);
    await refusedWith(await pki.sign(bundleBytes(), rsaSigner), 'UNKNOWN_SIGNER', /no trust anchors are installed/u, { anchors: [] });
    await refusedWith(await pki.sign(bundleBytes(), encipherOnly), 'UNKNOWN_SIGNER', /not allowed to sign/u);
  });

  it('SIGNER_EXPIRED: expired and not-yet-valid signer certificates, and an anchor that expired since', async () => {
    await refusedWith(await pki.sign(bundleBytes(), expiredSigner, { chain: [inter] }), 'SIGNER_EXPIRED', /Expired Signer.*expired on/u);
    await refusedWith(await pki.sign(bundleBytes(), futureSigner, { chain: [inter] }), 'SIGNER_EXPIRED', /Future Signer.*not valid before/u);
    // A good signature checked after the whole chain has expired.
    const signed = await pki.sign(bundleBytes({ expiresAt: new Date(Date.now() + days(5000)) }), ecSigner, { chain: [inter] });
    await refusedWith(signed, 'SIGNER_EXPIRED', /expired on/u, { now: new Date(Date.now() + days(4000)) });
  });

  it('BUNDLE_EXPIRED, INVALID_CONTENT (naming the field), ROLLBACK', async () => {
    const expired = await pki.sign(bundleBytes({ issuedAt: new Date(Date.now() - days(30)), expiresAt: new Date(Date.now() - days(1)) }), ecSigner, { chain: [inter] });
    await refusedWith(expired, 'BUNDLE_EXPIRED', /expired on/u);
    const bad = await pki.sign(JSON.stringify(bundleDoc({ profiles: [profileDoc({ gateway: { host: 'vpn.corp.example', port: 99999 } })] })), ecSigner, { chain: [inter] });
    await assert.rejects(verifyBundle(bad, { anchors, now: new Date() }), (e: unknown) => e instanceof BundleError && e.code === 'INVALID_CONTENT' && e.issues.some((i) => i.path === '/profiles/0/gateway/port'));
    const weak = await pki.sign(JSON.stringify(bundleDoc({ profiles: [profileDoc({ proposals: { ike: ['aes256-sha256-modp1024'] } })] })), ecSigner, { chain: [inter] });
    await assert.rejects(verifyBundle(weak, { anchors, now: new Date() }), (e: unknown) => e instanceof BundleError && e.code === 'INVALID_CONTENT' && e.issues.some((i) => i.path === '/profiles/0/proposals/ike/0' && /modp1024/u.test(i.message)));
    const notJson = await pki.sign('not json', ecSigner, { chain: [inter] });
    await refusedWith(notJson, 'INVALID_CONTENT', /not UTF-8 JSON/u);
    const old = await pki.sign(bundleBytes({ serial: 4 }), ecSigner, { chain: [inter] });
    await refusedWith(old, 'ROLLBACK', /serial 4 .* older than serial 5/u, { lastSerial: async () => 5 });
    // Same serial again is fine (re-import), newer is fine.
    await verifyBundle(old, { anchors, now: new Date(), lastSerial: async () => 4 });
    await verifyBundle(old, { anchors, now: new Date(), lastSerial: async () => undefined });
  });

  it('checks identities and duplicate profile ids inside the bundle', async () => {
    const id = randomUUID();
    const doc = bundleDoc({ profiles: [profileDoc({ id }), profileDoc({ id })], identities: [{ profileId: randomUUID(), pkcs12: 'AAAA' }] });
    const signed = await pki.sign(JSON.stringify(doc), ecSigner, { chain: [inter] });
    await assert.rejects(verifyBundle(signed, { anchors, now: new Date() }), (e: unknown) => {
      assert.ok(e instanceof BundleError && e.code === 'INVALID_CONTENT');
      const paths = e.issues.map((i) => i.path);
      assert.ok(paths.includes('/profiles/1/id') && paths.includes('/identities/0/profileId'), paths.join());
      return true;
    });
  });
});

describe('bundle byte flips', () => {
  type PositionClass = 'content' | 'signature' | 'signer certificate' | 'intermediate certificate' | 'signed attributes' | 'CMS structure' | 'PEM armour' | 'PEM base64';

  /** Where the parts of a DER CMS file lie (found by parsing the original). */
  function classify(der: Uint8Array, content: Uint8Array, signerDer: Uint8Array, interDer?: Uint8Array): (i: number) => PositionClass {
    ensurePkijsEngine();
    const buf = Buffer.from(der);
    const info = new pkijs.ContentInfo({ schema: asn1js.fromBER(der.slice().buffer).result });
    const signed = new pkijs.SignedData({ schema: info.content });
    const si = signed.signerInfos[0] as pkijs.SignerInfo;
    const sig = Buffer.from(si.signature.valueBlock.valueHexView);
    // pkijs keeps the signed attributes' encoding with the SET tag; in the file the tag is [0].
    const attrs = Buffer.from(si.signedAttrs?.encodedValue ?? new ArrayBuffer(0)).subarray(1);
    const ranges: Array<[PositionClass, number, number]> = [];
    const add = (cls: PositionClass, needle: Uint8Array): void => {
      const at = buf.indexOf(Buffer.from(needle));
      assert.ok(at >= 0, `${cls} not found in the file`);
      ranges.push([cls, at, at + needle.length]);
    };
    add('content', content);
    add('signer certificate', signerDer);
    if (interDer !== undefined) add('intermediate certificate', interDer);
    add('signature', sig);
    add('signed attributes', attrs);
    return (i) => ranges.find(([, s, e]) => i >= s && i < e)?.[0] ?? 'CMS structure';
  }

  /** One flip per position; the mask cycles through every single bit and all bits, so every bit pattern class is hit across the file. */
  const MASKS = [0x01, 0x02, 0x04, 0x08, 0x10, 0x20, 0x40, 0x80, 0xff];

  async function flipAll(bytes: Uint8Array, classOf: (i: number) => PositionClass): Promise<Map<PositionClass, Map<string, number>>> {
    const tally = new Map<PositionClass, Map<string, number>>();
    const accepted: string[] = [];
    for (let i = 0; i < bytes.length; i++) {
      const mutated = bytes.slice();
      const mask = MASKS[i % MASKS.length] as number;
      mutated[i] = (mutated[i] as number) ^ mask;
      const cls = classOf(i);
      let outcome: string;
      try {
        await verifyBundle(mutated, { anchors, now: new Date() });
        outcome = 'ACCEPTED';
        accepted.push(`${cls}@${i}^${mask.toString(16)}`);
      } catch (e) {
        assert.ok(e instanceof BundleError, `position ${i} (${cls}) threw ${String(e)} instead of a BundleError`);
        outcome = e.code;
      }
      const byCode = tally.get(cls) ?? new Map<string, number>();
      byCode.set(outcome, (byCode.get(outcome) ?? 0) + 1);
      tally.set(cls, byCode);
    }
    assert.deepEqual(accepted, [], 'flipped files were accepted');
    return tally;
  }

  it('no flipped byte of an ECDSA-signed DER bundle is accepted, in any part of the file', async () => {
    const content = bundleBytes({ serial: 2 });
    const signed = await pki.sign(content, ecSigner, { chain: [inter] });
    await verifyBundle(signed, { anchors, now: new Date() });
    const signerDer = new Uint8Array(ecSigner.cert.raw);
    const tally = await flipAll(signed, classify(signed, content, signerDer, new Uint8Array(inter.cert.raw)));
    for (const cls of ['content', 'signature', 'signer certificate', 'intermediate certificate', 'signed attributes', 'CMS structure'] as const) {
      assert.ok((tally.get(cls)?.size ?? 0) > 0, `no position of class ${cls} was flipped`);
    }
    // Changed content can only surface as a digest mismatch.
    assert.deepEqual([...(tally.get('content')?.keys() ?? [])], ['TAMPERED']);
  });

  it('no flipped byte of an RSA-signed PEM bundle is accepted (armour and base64 alike)', async () => {
    const signed = await pki.sign(bundleBytes({ serial: 3 }), rsaSigner, { pem: true });
    await verifyBundle(signed, { anchors, now: new Date() });
    const text = Buffer.from(signed).toString('latin1');
    const bodyStart = text.indexOf('\n') + 1;
    const bodyEnd = text.indexOf('-----END');
    const tally = await flipAll(signed, (i) => (i >= bodyStart && i < bodyEnd && text[i] !== '\n' ? 'PEM base64' : 'PEM armour'));
    assert.ok((tally.get('PEM armour')?.size ?? 0) > 0 && (tally.get('PEM base64')?.size ?? 0) > 0);
  });
});

describe('strait bundle sign', () => {
  for (const [label, signerOf, chainOf] of [
    ['ECDSA P-256', () => ecSigner, () => [inter]],
    ['ECDSA P-384', () => p384Signer, () => [inter]],
    ['RSA', () => rsaSigner, () => []],
  ] as const) {
    it(`${label}: openssl cms -verify accepts our signature, and so do we`, async () => {
      const content = bundleBytes({ serial: 11 });
      const signerKey = createPrivateKey(await readFile(signerOf().keyPath));
      const der = signBundle(content, { signerCertificate: signerOf().cert, signerKey, chain: chainOf().map((c) => c.cert), now: new Date() });
      const out = await pki.opensslVerify(der, root.certPath);
      assert.deepEqual(new Uint8Array(out), content);
      const v = await verifyBundle(der, { anchors, now: new Date() });
      assert.equal(v.bundle.serial, 11);
    });
  }

  it('refuses to sign an invalid bundle, or with a key that is not the certificate\'s', async () => {
    const key = createPrivateKey(await readFile(ecSigner.keyPath));
    assert.throws(() => signBundle(new TextEncoder().encode('{"format":"strait-bundle"}'), { signerCertificate: ecSigner.cert, signerKey: key, now: new Date() }), (e: unknown) => e instanceof BundleError && e.code === 'INVALID_CONTENT');
    assert.throws(() => signBundle(bundleBytes(), { signerCertificate: rsaSigner.cert, signerKey: key, now: new Date() }), /does not belong/u);
  });
});

describe('trust anchors', () => {
  const uid = process.getuid?.() ?? 0;
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'strait-trust-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('loads every *.pem of a folder owned by the expected user and writable by nobody else', async () => {
    const d = join(dir, 'ok');
    await mkdir(d, { mode: 0o755 });
    await chmod(d, 0o755);
    await writeFile(join(d, 'root.pem'), root.certPem, { mode: 0o644 });
    await writeFile(join(d, 'two.pem'), `${otherRoot.certPem}${inter.certPem}`, { mode: 0o644 });
    await writeFile(join(d, 'README'), 'not a pem');
    const loaded = await loadTrustAnchors(d, { ownerUid: uid });
    assert.equal(loaded.length, 3);
    assert.deepEqual(await loadTrustAnchors(join(dir, 'missing'), { ownerUid: uid }), []);
    if (uid === 0) assert.equal((await loadTrustAnchors(d)).length, 3, 'root-owned folder passes the default check');
  });

  it('refuses a folder or file that others can write, a foreign owner, symlinks, and non-certificates', async () => {
    const d = join(dir, 'bad');
    await mkdir(d);
    await chmod(d, 0o777);
    await writeFile(join(d, 'root.pem'), root.certPem, { mode: 0o644 });
    await assert.rejects(loadTrustAnchors(d, { ownerUid: uid }), (e: unknown) => e instanceof TrustStoreError && e.code === 'INSECURE' && /writable by everyone/u.test(e.message));
    await chmod(d, 0o775);
    await assert.rejects(loadTrustAnchors(d, { ownerUid: uid }), (e: unknown) => e instanceof TrustStoreError && /writable by its group/u.test(e.message));
    await chmod(d, 0o755);
    await assert.rejects(loadTrustAnchors(d, { ownerUid: uid + 1 }), (e: unknown) => e instanceof TrustStoreError && e.code === 'INSECURE' && /owned by uid/u.test(e.message));
    await chmod(join(d, 'root.pem'), 0o666);
    await assert.rejects(loadTrustAnchors(d, { ownerUid: uid }), (e: unknown) => e instanceof TrustStoreError && /root\.pem is writable by everyone/u.test(e.message));
    await chmod(join(d, 'root.pem'), 0o644);
    await symlink(join(d, 'root.pem'), join(d, 'link.pem'));
    await assert.rejects(loadTrustAnchors(d, { ownerUid: uid }), (e: unknown) => e instanceof TrustStoreError && /symbolic links/u.test(e.message));
    await rm(join(d, 'link.pem'));
    await writeFile(join(d, 'junk.pem'), 'hello', { mode: 0o644 });
    await assert.rejects(loadTrustAnchors(d, { ownerUid: uid }), (e: unknown) => e instanceof TrustStoreError && e.code === 'INVALID');
  });
});

describe('rollback state', () => {
  it('records the highest serial per issuer atomically and refuses a corrupt state file', async () => {
    const d = await mkdtemp(join(tmpdir(), 'strait-state-'));
    try {
      const managed = join(d, 'managed', 'bundle-state.json');
      const user = join(d, 'user', 'bundle-state.json');
      await recordImport(managed, 'IT', 5, 'CN=s', new Date());
      await recordImport(user, 'IT', 7, 'CN=s', new Date());
      await recordImport(user, 'Other', 1, 'CN=o', new Date());
      assert.equal(await lastSerial([managed, user], 'IT'), 7);
      assert.equal(await lastSerial([managed, user], 'Nobody'), undefined);
      await assert.rejects(recordImport(managed, 'IT', 4, 'CN=s', new Date()), BundleStateError);
      assert.equal((await readBundleState(managed)).issuers['IT']?.serial, 5);
      await writeFile(user, '{"version":1,"issuers":{"IT":{"serial":"x"}}}');
      await assert.rejects(lastSerial([managed, user], 'IT'), (e: unknown) => e instanceof BundleStateError && /refusing imports/u.test(e.message));
    } finally {
      await rm(d, { recursive: true, force: true });
    }
  });
});
