/**
 * AUTH payload computation (RFC 7296 §2.15; RFC 7427; RFC 4754; RFC 8420):
 * signed octets, shared-key AUTH, the RFC 7427 AlgorithmIdentifier
 * encodings (Appendix A), and signature round trips for every method with
 * keys generated here, cross-checked both ways with the openssl CLI, plus
 * tamper and malformed-input cases (never a throw).
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHmac, generateKeyPairSync, randomBytes } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';

import { AuthMethod, HashAlgorithm, PrfId } from '../../../../native-helper/src/ike/constants.js';
import { SUPPORTED_HASH_ALGORITHMS, createSignatureAuth, pskAuthData, signedOctets, verifyPskAuthData, verifySignatureAuth } from '../../../../native-helper/src/ike/crypto/auth.js';
import { UnsupportedAlgorithmError } from '../../../../native-helper/src/ike/crypto/errors.js';
import { createPrf } from '../../../../native-helper/src/ike/crypto/prf.js';
import { encodeAlgorithmIdentifier, parseAlgorithmIdentifier } from '../../../../native-helper/src/ike/crypto/signature-algorithm.js';
import type { SignatureScheme } from '../../../../native-helper/src/ike/crypto/signature-algorithm.js';
import { ascii, concat, flipBit, hex, toHex } from './hex.js';

const bytes = (n: number): Uint8Array => Uint8Array.from(randomBytes(n));
const prf = createPrf(PrfId.HMAC_SHA2_256);
const ALL = SUPPORTED_HASH_ALGORITHMS;

describe('signedOctets (RFC 7296 §2.15)', () => {
  it('is RealMessage | peer NonceData | prf(SK_p, ID payload body)', () => {
    const message = bytes(300);
    const peerNonce = bytes(32);
    const skP = bytes(32);
    const idBody = concat(hex('02000000'), ascii('client.example.org'));
    const octets = signedOctets({ message, peerNonce, prf, skP, idBody });
    const maced = createHmac('sha256', skP).update(idBody).digest();
    assert.equal(toHex(octets), toHex(concat(message, peerNonce, maced)));
  });

  it('refuses an ID body shorter than its 4-octet header', () => {
    assert.throws(() => signedOctets({ message: bytes(30), peerNonce: bytes(16), prf, skP: bytes(32), idBody: bytes(3) }), RangeError);
  });
});

describe('shared-key AUTH (RFC 7296 §2.15)', () => {
  const psk = ascii('correct horse battery staple');
  const octets = bytes(200);

  it('AUTH = prf(prf(Shared Secret, "Key Pad for IKEv2"), <SignedOctets>)', () => {
    // the key pad is the 17 ASCII octets of "Key Pad for IKEv2", no terminator
    const keyPad = hex('4b65792050616420666f7220494b457632');
    const pad = createHmac('sha256', psk).update(keyPad).digest();
    const expected = createHmac('sha256', pad).update(octets).digest();
    assert.equal(toHex(pskAuthData(prf, psk, octets)), expected.toString('hex'));
  });

  it('verifies in constant time and refuses any change', () => {
    const auth = pskAuthData(prf, psk, octets);
    assert.equal(verifyPskAuthData(prf, psk, octets, auth), true);
    for (let bit = 0; bit < auth.length * 8; bit += 7) assert.equal(verifyPskAuthData(prf, psk, octets, flipBit(auth, bit)), false);
    assert.equal(verifyPskAuthData(prf, psk, flipBit(octets, 100), auth), false);
    assert.equal(verifyPskAuthData(prf, flipBit(psk, 0), octets, auth), false);
    assert.equal(verifyPskAuthData(prf, psk, octets, auth.subarray(0, 31)), false);
    assert.equal(verifyPskAuthData(prf, psk, octets, new Uint8Array(0)), false);
  });
});

describe('RFC 7427 AlgorithmIdentifiers', () => {
  // RFC 7427 Appendix A.1 (sha*WithRSAEncryption) and A.3 (ecdsa-with-SHA*); RSASSA-PSS/SHA-256/salt 32 with the
  // RFC 4055 §3.1 structure as printed in the IETF LAMPS composite-signature drafts and Chromium's
  // net/data/verify_signed_data_unittest/rsa-pss-sha256.pem; RFC 8410 §3 / RFC 8420 (Ed25519, Ed448).
  const known: readonly [SignatureScheme, string][] = [
    [{ kind: 'ecdsa', hash: 'sha256' }, '300a06082a8648ce3d040302'],
    [{ kind: 'ecdsa', hash: 'sha384' }, '300a06082a8648ce3d040303'],
    [{ kind: 'ecdsa', hash: 'sha512' }, '300a06082a8648ce3d040304'],
    [{ kind: 'rsa-pkcs1', hash: 'sha256' }, '300d06092a864886f70d01010b0500'],
    [{ kind: 'rsa-pkcs1', hash: 'sha384' }, '300d06092a864886f70d01010c0500'],
    [{ kind: 'rsa-pkcs1', hash: 'sha512' }, '300d06092a864886f70d01010d0500'],
    [
      { kind: 'rsa-pss', hash: 'sha256', saltLength: 32 },
      '304106092a864886f70d01010a3034a00f300d06096086480165030402010500a11c301a06092a864886f70d010108300d06096086480165030402010500a203020120',
    ],
    [{ kind: 'ed25519' }, '300506032b6570'],
    [{ kind: 'ed448' }, '300506032b6571'],
  ];
  for (const [scheme, der] of known) {
    it(`${JSON.stringify(scheme)} ↔ ${der.slice(0, 24)}…`, () => {
      assert.equal(toHex(encodeAlgorithmIdentifier(scheme)), der);
      assert.deepEqual(parseAlgorithmIdentifier(hex(der)), { ok: true, scheme });
    });
  }

  it('round-trips RSASSA-PSS with SHA-384 and SHA-512', () => {
    for (const scheme of [
      { kind: 'rsa-pss', hash: 'sha384', saltLength: 48 },
      { kind: 'rsa-pss', hash: 'sha512', saltLength: 64 },
    ] as const) {
      assert.deepEqual(parseAlgorithmIdentifier(encodeAlgorithmIdentifier(scheme)), { ok: true, scheme });
    }
  });

  it('accepts the usual variants: absent NULLs, an explicit trailerField 1', () => {
    assert.deepEqual(parseAlgorithmIdentifier(hex('300b06092a864886f70d01010b')), { ok: true, scheme: { kind: 'rsa-pkcs1', hash: 'sha256' } });
    const noNulls = '303d06092a864886f70d01010a3030a00d300b0609608648016503040202a11a301806092a864886f70d010108300b0609608648016503040202a203020130';
    assert.deepEqual(parseAlgorithmIdentifier(hex(noNulls)), { ok: true, scheme: { kind: 'rsa-pss', hash: 'sha384', saltLength: 48 } });
    const trailer = '304606092a864886f70d01010a3039a00f300d06096086480165030402010500a11c301a06092a864886f70d010108300d06096086480165030402010500a203020120a303020101';
    assert.deepEqual(parseAlgorithmIdentifier(hex(trailer)), { ok: true, scheme: { kind: 'rsa-pss', hash: 'sha256', saltLength: 32 } });
  });

  it('refuses SHA-1, defaults, odd parameters, unknown OIDs and malformed DER with a reason', () => {
    const bad: readonly [string, string][] = [
      ['sha1WithRSAEncryption', '300d06092a864886f70d0101050500'],
      ['RSASSA-PSS without parameters (SHA-1 defaults)', '300b06092a864886f70d01010a'],
      ['RSASSA-PSS with empty parameters', '300d06092a864886f70d01010a3000'],
      ['RSASSA-PSS with MGF1-SHA-256 and SHA-384', '304106092a864886f70d01010a3034a00f300d06096086480165030402020500a11c301a06092a864886f70d010108300d06096086480165030402010500a203020130'],
      ['RSASSA-PSS with trailerField 2', '304606092a864886f70d01010a3039a00f300d06096086480165030402010500a11c301a06092a864886f70d010108300d06096086480165030402010500a203020120a303020102'],
      ['ECDSA with parameters', '300c06082a8648ce3d0403020500'],
      ['Ed25519 with parameters', '300706032b65700500'],
      ['dsa-with-sha256', '300b0609608648016503040302'],
      ['not a SEQUENCE', '310a06082a8648ce3d040302'],
      ['no OID', '30020500'],
      ['truncated', '300a06082a8648ce3d0403'],
      ['trailing octet', '300a06082a8648ce3d04030200'],
      ['indefinite length', '308006082a8648ce3d0403020000'],
      ['non-minimal length', '30810a06082a8648ce3d040302'],
      ['empty', ''],
    ];
    for (const [name, der] of bad) {
      const r = parseAlgorithmIdentifier(hex(der));
      assert.equal(r.ok, false, name);
      if (!r.ok) assert.ok(r.reason.length > 0);
    }
  });

  it('never throws on truncations and random bytes', () => {
    const samples = known.map(([, der]) => hex(der));
    for (const s of samples) for (let n = 0; n <= s.length; n++) parseAlgorithmIdentifier(s.subarray(0, n));
    for (let i = 0; i < 2000; i++) {
      const r = bytes(1 + (i % 80));
      if (i % 2 === 0) r[0] = 0x30;
      parseAlgorithmIdentifier(r);
    }
  });
});

interface KeyCase {
  readonly name: string;
  readonly keys: { readonly privateKey: KeyObject; readonly publicKey: KeyObject };
  /** scheme and method with RFC 7427 (all hashes announced) */
  readonly digital: string;
  /** classic method when the peer announces nothing, or null when there is none */
  readonly classic: { readonly method: number; readonly scheme: string; readonly length?: number } | null;
}

const KEYS: readonly KeyCase[] = [
  { name: 'RSA-2048', keys: generateKeyPairSync('rsa', { modulusLength: 2048 }), digital: 'rsa-pkcs1-sha512', classic: { method: AuthMethod.RSA_SIG, scheme: 'rsa-pkcs1-sha1', length: 256 } },
  { name: 'RSA-3072', keys: generateKeyPairSync('rsa', { modulusLength: 3072 }), digital: 'rsa-pkcs1-sha512', classic: { method: AuthMethod.RSA_SIG, scheme: 'rsa-pkcs1-sha1', length: 384 } },
  { name: 'RSA-PSS-2048 key', keys: generateKeyPairSync('rsa-pss', { modulusLength: 2048 }), digital: 'rsa-pss-sha512', classic: null },
  { name: 'ECDSA P-256', keys: generateKeyPairSync('ec', { namedCurve: 'P-256' }), digital: 'ecdsa-sha256', classic: { method: AuthMethod.ECDSA_256, scheme: 'ecdsa-sha256', length: 64 } },
  { name: 'ECDSA P-384', keys: generateKeyPairSync('ec', { namedCurve: 'P-384' }), digital: 'ecdsa-sha384', classic: { method: AuthMethod.ECDSA_384, scheme: 'ecdsa-sha384', length: 96 } },
  { name: 'ECDSA P-521', keys: generateKeyPairSync('ec', { namedCurve: 'P-521' }), digital: 'ecdsa-sha512', classic: { method: AuthMethod.ECDSA_521, scheme: 'ecdsa-sha512', length: 132 } },
  { name: 'Ed25519', keys: generateKeyPairSync('ed25519'), digital: 'ed25519', classic: null },
  { name: 'Ed448', keys: generateKeyPairSync('ed448'), digital: 'ed448', classic: null },
];

function expectRefused(p: Parameters<typeof verifySignatureAuth>[0], what: string): void {
  let verdict: ReturnType<typeof verifySignatureAuth> | undefined;
  assert.doesNotThrow(() => {
    verdict = verifySignatureAuth(p);
  }, what);
  assert.equal(verdict?.ok, false, what);
}

describe('signature AUTH round trips (keys generated at run time)', () => {
  const octets = bytes(420);
  for (const k of KEYS) {
    describe(k.name, () => {
      it(`RFC 7427 DIGITAL_SIGNATURE when the peer announced hashes → ${k.digital}`, () => {
        const auth = createSignatureAuth({ privateKey: k.keys.privateKey, octets, peerHashAlgorithms: ALL });
        assert.equal(auth.method, AuthMethod.DIGITAL_SIGNATURE);
        assert.equal(auth.scheme, k.digital);
        const algLength = auth.data[0] as number;
        const parsed = parseAlgorithmIdentifier(auth.data.subarray(1, 1 + algLength));
        assert.equal(parsed.ok, true);
        assert.deepEqual(verifySignatureAuth({ method: auth.method, data: auth.data, publicKey: k.keys.publicKey, octets }), { ok: true, scheme: k.digital });
      });

      it('classic method when the peer announced none', () => {
        if (k.classic === null) {
          assert.throws(() => createSignatureAuth({ privateKey: k.keys.privateKey, octets, peerHashAlgorithms: [] }), UnsupportedAlgorithmError);
          return;
        }
        const auth = createSignatureAuth({ privateKey: k.keys.privateKey, octets, peerHashAlgorithms: [] });
        assert.equal(auth.method, k.classic.method);
        if (k.classic.length !== undefined) assert.equal(auth.data.length, k.classic.length);
        assert.deepEqual(verifySignatureAuth({ method: auth.method, data: auth.data, publicKey: k.keys.publicKey, octets }), { ok: true, scheme: k.classic.scheme });
      });

      it('one flipped bit in the AUTH data or the signed octets → refused, no throw', () => {
        const variants = [createSignatureAuth({ privateKey: k.keys.privateKey, octets, peerHashAlgorithms: ALL })];
        if (k.classic !== null) variants.push(createSignatureAuth({ privateKey: k.keys.privateKey, octets, peerHashAlgorithms: [] }));
        for (const auth of variants) {
          for (let i = 0; i < auth.data.length; i++) {
            expectRefused({ method: auth.method, data: flipBit(auth.data, i * 8 + (i % 8)), publicKey: k.keys.publicKey, octets }, `data octet ${i}`);
          }
          for (const bit of [0, 7, 1000, octets.length * 8 - 1]) {
            expectRefused({ method: auth.method, data: auth.data, publicKey: k.keys.publicKey, octets: flipBit(octets, bit) }, `octets bit ${bit}`);
          }
          expectRefused({ method: auth.method, data: auth.data.subarray(0, auth.data.length - 1), publicKey: k.keys.publicKey, octets }, 'truncated');
          expectRefused({ method: auth.method, data: concat(auth.data, Uint8Array.of(0)), publicKey: k.keys.publicKey, octets }, 'extended');
        }
      });

      it("another key of the same kind does not verify", () => {
        const other = KEYS.find((o) => o !== k && o.keys.publicKey.asymmetricKeyType === k.keys.publicKey.asymmetricKeyType);
        const otherKey = other?.keys.publicKey ?? generateKeyPairSync('ed448').publicKey;
        const auth = createSignatureAuth({ privateKey: k.keys.privateKey, octets, peerHashAlgorithms: ALL });
        expectRefused({ method: auth.method, data: auth.data, publicKey: otherKey, octets }, 'other key');
      });
    });
  }
});

describe('signature AUTH choices and refusals', () => {
  const octets = bytes(100);
  const p384 = KEYS.find((k) => k.name === 'ECDSA P-384')?.keys;
  const rsa = KEYS.find((k) => k.name === 'RSA-2048')?.keys;
  const ed = KEYS.find((k) => k.name === 'Ed25519')?.keys;
  const p256 = KEYS.find((k) => k.name === 'ECDSA P-256')?.keys;
  assert.ok(p384 && rsa && ed && p256);

  it('announces SHA2-256/384/512 and IDENTITY (RFC 7427 §4, RFC 8420)', () => {
    assert.deepEqual([...SUPPORTED_HASH_ALGORITHMS], [HashAlgorithm.SHA2_256, HashAlgorithm.SHA2_384, HashAlgorithm.SHA2_512, HashAlgorithm.IDENTITY]);
  });

  it('ECDSA prefers the curve hash, else our order among what the peer announced', () => {
    const s = (peer: number[]): string => createSignatureAuth({ privateKey: p384.privateKey, octets, peerHashAlgorithms: peer }).scheme;
    assert.equal(s([HashAlgorithm.SHA2_256, HashAlgorithm.SHA2_384, HashAlgorithm.SHA2_512]), 'ecdsa-sha384');
    assert.equal(s([HashAlgorithm.SHA2_256]), 'ecdsa-sha256');
    assert.equal(s([HashAlgorithm.SHA2_256, HashAlgorithm.SHA2_512]), 'ecdsa-sha512');
  });

  it('RSA: PKCS#1 v1.5 by default, RSASSA-PSS on request (salt = hash length)', () => {
    const pss = createSignatureAuth({ privateKey: rsa.privateKey, octets, peerHashAlgorithms: [HashAlgorithm.SHA2_256], rsaPadding: 'pss' });
    assert.equal(pss.scheme, 'rsa-pss-sha256');
    assert.deepEqual(parseAlgorithmIdentifier(pss.data.subarray(1, 1 + (pss.data[0] as number))), { ok: true, scheme: { kind: 'rsa-pss', hash: 'sha256', saltLength: 32 } });
    assert.deepEqual(verifySignatureAuth({ method: pss.method, data: pss.data, publicKey: rsa.publicKey, octets }), { ok: true, scheme: 'rsa-pss-sha256' });
    assert.equal(createSignatureAuth({ privateKey: rsa.privateKey, octets, peerHashAlgorithms: [HashAlgorithm.SHA2_384] }).scheme, 'rsa-pkcs1-sha384');
  });

  it('an RSA-PSS key with parameters signs with its own hash and at least its salt (RFC 4055 §3.3)', () => {
    const restricted = generateKeyPairSync('rsa-pss', { modulusLength: 2048, hashAlgorithm: 'sha384', mgf1HashAlgorithm: 'sha384' });
    const auth = createSignatureAuth({ privateKey: restricted.privateKey, octets, peerHashAlgorithms: ALL });
    assert.equal(auth.scheme, 'rsa-pss-sha384');
    assert.deepEqual(verifySignatureAuth({ method: auth.method, data: auth.data, publicKey: restricted.publicKey, octets }), { ok: true, scheme: 'rsa-pss-sha384' });
    assert.throws(() => createSignatureAuth({ privateKey: restricted.privateKey, octets, peerHashAlgorithms: [HashAlgorithm.SHA2_256] }), /restricted to sha384/);
  });

  it('refuses to sign when the peer announced nothing usable', () => {
    assert.throws(() => createSignatureAuth({ privateKey: p384.privateKey, octets, peerHashAlgorithms: [HashAlgorithm.SHA1] }), UnsupportedAlgorithmError);
    assert.throws(() => createSignatureAuth({ privateKey: rsa.privateKey, octets, peerHashAlgorithms: [HashAlgorithm.IDENTITY] }), UnsupportedAlgorithmError);
    assert.throws(() => createSignatureAuth({ privateKey: ed.privateKey, octets, peerHashAlgorithms: [HashAlgorithm.SHA2_256] }), /AUTH DIGITAL_SIGNATURE \(14\).*IDENTITY/);
  });

  it('refuses RSA keys under 2048 bits both ways', () => {
    const small = generateKeyPairSync('rsa', { modulusLength: 1024 });
    assert.throws(() => createSignatureAuth({ privateKey: small.privateKey, octets, peerHashAlgorithms: ALL }), /1024 bits/);
    const auth = createSignatureAuth({ privateKey: rsa.privateKey, octets, peerHashAlgorithms: ALL });
    const v = verifySignatureAuth({ method: auth.method, data: auth.data, publicKey: small.publicKey, octets });
    assert.equal(v.ok, false);
    if (!v.ok) assert.match(v.reason, /1024 bits/);
  });

  it('refuses a method that does not fit the key, and non-signature methods', () => {
    const ecAuth = createSignatureAuth({ privateKey: p256.privateKey, octets, peerHashAlgorithms: [] });
    expectRefused({ method: AuthMethod.ECDSA_384, data: ecAuth.data, publicKey: p256.publicKey, octets }, 'ECDSA_384 with P-256');
    expectRefused({ method: AuthMethod.ECDSA_256, data: ecAuth.data, publicKey: p384.publicKey, octets }, 'ECDSA_256 with a P-384 key');
    expectRefused({ method: AuthMethod.RSA_SIG, data: ecAuth.data, publicKey: p256.publicKey, octets }, 'RSA_SIG with EC key');
    expectRefused({ method: AuthMethod.PSK, data: ecAuth.data, publicKey: p256.publicKey, octets }, 'PSK');
    expectRefused({ method: AuthMethod.DSS_SIG, data: ecAuth.data, publicKey: p256.publicKey, octets }, 'DSS');
    const digital = createSignatureAuth({ privateKey: p256.privateKey, octets, peerHashAlgorithms: ALL });
    const v = verifySignatureAuth({ method: digital.method, data: digital.data, publicKey: rsa.publicKey, octets });
    assert.equal(v.ok, false);
    if (!v.ok) assert.match(v.reason, /ECDSA signature but a rsa key/);
  });

  it('malformed DIGITAL_SIGNATURE data is refused with a reason', () => {
    const good = createSignatureAuth({ privateKey: p256.privateKey, octets, peerHashAlgorithms: ALL }).data;
    const algLength = good[0] as number;
    const cases: readonly Uint8Array[] = [
      new Uint8Array(0),
      Uint8Array.of(0),
      Uint8Array.of(0, 1, 2),
      Uint8Array.of(200, 1, 2, 3),
      good.subarray(0, 1 + algLength),
      concat(Uint8Array.of(algLength + 1), good.subarray(1)),
      concat(Uint8Array.of(algLength - 1), good.subarray(1)),
      concat(good.subarray(0, 1 + algLength), hex('3006020101020101')),
    ];
    for (const data of cases) expectRefused({ method: AuthMethod.DIGITAL_SIGNATURE, data, publicKey: p256.publicKey, octets }, toHex(data).slice(0, 20));
    for (let i = 0; i < 300; i++) expectRefused({ method: [AuthMethod.DIGITAL_SIGNATURE, AuthMethod.ECDSA_256, AuthMethod.RSA_SIG][i % 3] as number, data: bytes(i % 140), publicKey: [p256, rsa, ed][i % 3]?.publicKey ?? p256.publicKey, octets }, `random ${i}`);
  });
});

describe('cross-checks with the openssl CLI', () => {
  const dir = mkdtempSync(join(tmpdir(), 'strait-auth-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const octets = bytes(333);
  const dataFile = join(dir, 'octets.bin');
  writeFileSync(dataFile, octets);
  const openssl = (...args: string[]): string => execFileSync('openssl', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  const pem = (name: string, key: KeyObject): string => {
    const file = join(dir, name);
    writeFileSync(file, key.export({ format: 'pem', type: key.type === 'private' ? 'pkcs8' : 'spki' }), { mode: 0o600 });
    return file;
  };
  const keyOf = (name: string): { privateKey: KeyObject; publicKey: KeyObject } => {
    const k = KEYS.find((x) => x.name === name)?.keys;
    assert.ok(k);
    return k;
  };
  const signatureOf = (data: Uint8Array): Uint8Array => data.subarray(1 + (data[0] as number));

  it('openssl verifies our RFC 7427 ECDSA P-256 signature (DER Ecdsa-Sig-Value)', () => {
    const k = keyOf('ECDSA P-256');
    const auth = createSignatureAuth({ privateKey: k.privateKey, octets, peerHashAlgorithms: ALL });
    const sig = join(dir, 'ecdsa.sig');
    writeFileSync(sig, signatureOf(auth.data));
    assert.match(openssl('dgst', '-sha256', '-verify', pem('p256.pub', k.publicKey), '-signature', sig, dataFile), /Verified OK/);
  });

  it('openssl verifies our RSASSA-PSS SHA-512 signature', () => {
    const k = keyOf('RSA-3072');
    const auth = createSignatureAuth({ privateKey: k.privateKey, octets, peerHashAlgorithms: ALL, rsaPadding: 'pss' });
    const sig = join(dir, 'pss.sig');
    writeFileSync(sig, signatureOf(auth.data));
    const out = openssl('dgst', '-sha512', '-sigopt', 'rsa_padding_mode:pss', '-sigopt', 'rsa_pss_saltlen:64', '-verify', pem('rsa.pub', k.publicKey), '-signature', sig, dataFile);
    assert.match(out, /Verified OK/);
  });

  it('openssl verifies our Ed25519 signature', () => {
    const k = keyOf('Ed25519');
    const auth = createSignatureAuth({ privateKey: k.privateKey, octets, peerHashAlgorithms: ALL });
    const sig = join(dir, 'ed.sig');
    writeFileSync(sig, signatureOf(auth.data));
    assert.match(openssl('pkeyutl', '-verify', '-pubin', '-inkey', pem('ed.pub', k.publicKey), '-rawin', '-in', dataFile, '-sigfile', sig), /Signature Verified Successfully/);
  });

  const opensslSigned: readonly [string, string, string[], SignatureScheme][] = [
    ['ECDSA P-384 / ecdsa-with-SHA384', 'ECDSA P-384', ['dgst', '-sha384'], { kind: 'ecdsa', hash: 'sha384' }],
    ['RSA / sha256WithRSAEncryption (strongSwan default)', 'RSA-2048', ['dgst', '-sha256'], { kind: 'rsa-pkcs1', hash: 'sha256' }],
    ['RSA / RSASSA-PSS SHA-256', 'RSA-2048', ['dgst', '-sha256', '-sigopt', 'rsa_padding_mode:pss', '-sigopt', 'rsa_pss_saltlen:32'], { kind: 'rsa-pss', hash: 'sha256', saltLength: 32 }],
  ];
  for (const [name, keyName, args, scheme] of opensslSigned) {
    it(`we verify an openssl signature: ${name}`, () => {
      const k = keyOf(keyName);
      const sig = join(dir, `${keyName}.sig`);
      openssl(...args, '-sign', pem(`${keyName}.key`, k.privateKey), '-out', sig, dataFile);
      const alg = encodeAlgorithmIdentifier(scheme);
      const data = concat(Uint8Array.of(alg.length), alg, Uint8Array.from(readFileSync(sig)));
      assert.equal(verifySignatureAuth({ method: AuthMethod.DIGITAL_SIGNATURE, data, publicKey: k.publicKey, octets }).ok, true);
      expectRefused({ method: AuthMethod.DIGITAL_SIGNATURE, data: flipBit(data, data.length * 8 - 9), publicKey: k.publicKey, octets }, 'tampered');
    });
  }

  it('we verify an openssl Ed25519 signature', () => {
    const k = keyOf('Ed25519');
    const sig = join(dir, 'ed-openssl.sig');
    openssl('pkeyutl', '-sign', '-rawin', '-inkey', pem('ed.key', k.privateKey), '-in', dataFile, '-out', sig);
    const alg = encodeAlgorithmIdentifier({ kind: 'ed25519' });
    const data = concat(Uint8Array.of(alg.length), alg, Uint8Array.from(readFileSync(sig)));
    assert.deepEqual(verifySignatureAuth({ method: AuthMethod.DIGITAL_SIGNATURE, data, publicKey: k.publicKey, octets }), { ok: true, scheme: 'ed25519' });
  });
});
