/**
 * The SK payload cipher (RFC 7296 §3.14, RFC 5282, RFC 7634) against
 * RFC 3602 / SP 800-38A (AES-CBC), McGrew–Viega (AES-GCM), RFC 7539 and
 * the RFC 7634 Appendix B IKEv2 message (ChaCha20-Poly1305), Wycheproof
 * aes_gcm_test.json tag cases; then tamper and malformed-input checks.
 */
import assert from 'node:assert/strict';
import { createHmac, randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';

import { EncrId, IntegId } from '../../../../native-helper/src/ike/constants.js';
import { UnsupportedAlgorithmError } from '../../../../native-helper/src/ike/crypto/errors.js';
import { createSkCipher } from '../../../../native-helper/src/ike/crypto/sk-cipher.js';
import type { SkCipher } from '../../../../native-helper/src/ike/crypto/sk-cipher.js';
import { padSkPlaintext, unpadSkPlaintext } from '../../../../native-helper/src/ike/crypto/sk-padding.js';
import { concat, flipBit, hex, toHex } from './hex.js';
import { CBC_CASES, GCM_CASES, RFC7539_AEAD, RFC7634_IKEV2, WYCHEPROOF_GCM, WYCHEPROOF_GCM_UNMODIFIED_TAG } from './vectors/ciphers.js';
import type { AeadCase } from './vectors/ciphers.js';

const bytes = (n: number): Uint8Array => Uint8Array.from(randomBytes(n));

describe('AES-CBC with HMAC-SHA-2 (RFC 3602, RFC 4868)', () => {
  for (const c of CBC_CASES) {
    it(c.name, () => {
      const bits = c.key.length * 8;
      const cipher = createSkCipher(EncrId.AES_CBC, bits, IntegId.HMAC_SHA2_256_128);
      const integKey = bytes(32);
      const aad = hex('0011223344556677 8899aabbccddeeff 2e202308 00000001 000000a0 2300007c');
      const sealed = cipher.seal({ encKey: c.key, integKey, iv: c.iv, aad, plaintext: c.plaintext });
      assert.equal(toHex(sealed.subarray(0, c.ciphertext.length)), toHex(c.ciphertext));
      // ICV = HMAC-SHA-256-128(SK_a, aad | IV | ciphertext), RFC 7296 §3.14
      const icv = createHmac('sha256', integKey).update(concat(aad, c.iv, c.ciphertext)).digest().subarray(0, 16);
      assert.equal(toHex(sealed.subarray(c.ciphertext.length)), icv.toString('hex'));
      const opened = cipher.open({ encKey: c.key, integKey, iv: c.iv, aad, ciphertextAndIcv: sealed });
      assert.ok(opened);
      assert.equal(toHex(opened), toHex(c.plaintext));
    });
  }

  it('describes itself', () => {
    const c = createSkCipher(EncrId.AES_CBC, 256, IntegId.HMAC_SHA2_512_256);
    assert.deepEqual(
      { aead: c.aead, ivLength: c.ivLength, blockSize: c.blockSize, icvLength: c.icvLength, encKeyLength: c.encKeyLength, integKeyLength: c.integKeyLength, name: c.name },
      { aead: false, ivLength: 16, blockSize: 16, icvLength: 32, encKeyLength: 32, integKeyLength: 64, name: 'aes256-sha512' },
    );
    const c128 = createSkCipher(EncrId.AES_CBC, 128, IntegId.HMAC_SHA2_384_192);
    assert.deepEqual([c128.encKeyLength, c128.integKeyLength, c128.icvLength], [16, 48, 24]);
  });

  it('seal refuses caller mistakes (unaligned plaintext, wrong key or IV length)', () => {
    const c = createSkCipher(EncrId.AES_CBC, 128, IntegId.HMAC_SHA2_256_128);
    const ok = { encKey: bytes(16), integKey: bytes(32), iv: bytes(16), aad: new Uint8Array(0), plaintext: bytes(32) };
    assert.throws(() => c.seal({ ...ok, plaintext: bytes(31) }), RangeError);
    assert.throws(() => c.seal({ ...ok, plaintext: new Uint8Array(0) }), RangeError);
    assert.throws(() => c.seal({ ...ok, encKey: bytes(32) }), RangeError);
    assert.throws(() => c.seal({ ...ok, integKey: undefined }), RangeError);
    assert.throws(() => c.seal({ ...ok, iv: bytes(8) }), RangeError);
  });
});

function checkAead(cipher: SkCipher, c: AeadCase): void {
  const sealed = cipher.seal({ encKey: c.encKey, iv: c.iv, aad: c.aad, plaintext: c.plaintext });
  assert.equal(toHex(sealed), toHex(c.sealed));
  const opened = cipher.open({ encKey: c.encKey, iv: c.iv, aad: c.aad, ciphertextAndIcv: c.sealed });
  assert.ok(opened);
  assert.equal(toHex(opened), toHex(c.plaintext));
}

describe('AES-GCM (RFC 5282; McGrew–Viega test cases)', () => {
  for (const c of GCM_CASES) {
    it(c.name, () => checkAead(createSkCipher(c.encr, c.keyBits, undefined), c));
  }

  it('describes itself (salt included in SK_e, no SK_a, no alignment)', () => {
    const g = createSkCipher(EncrId.AES_GCM_16, 256, undefined);
    assert.deepEqual(
      { aead: g.aead, ivLength: g.ivLength, blockSize: g.blockSize, icvLength: g.icvLength, encKeyLength: g.encKeyLength, integKeyLength: g.integKeyLength, name: g.name },
      { aead: true, ivLength: 8, blockSize: 1, icvLength: 16, encKeyLength: 36, integKeyLength: 0, name: 'aes256gcm16' },
    );
    assert.equal(createSkCipher(EncrId.AES_GCM_16, 128, IntegId.NONE).encKeyLength, 20);
    assert.equal(createSkCipher(EncrId.AES_GCM_8, 128, undefined).icvLength, 8);
  });

  describe('Wycheproof aes_gcm_test.json (96-bit IV = salt | IV)', () => {
    const cipher = createSkCipher(EncrId.AES_GCM_16, 128, undefined);
    for (const w of WYCHEPROOF_GCM) {
      it(`tcId ${w.tcId} (${w.valid ? 'valid' : 'modified tag'})`, () => {
        const encKey = concat(w.key, w.iv.subarray(0, 4));
        const iv = w.iv.subarray(4);
        const opened = cipher.open({ encKey, iv, aad: w.aad, ciphertextAndIcv: concat(w.ct, w.tag) });
        if (w.valid) {
          assert.ok(opened);
          assert.equal(toHex(opened), toHex(w.msg));
          assert.equal(toHex(cipher.seal({ encKey, iv, aad: w.aad, plaintext: w.msg })), toHex(concat(w.ct, w.tag)));
        } else {
          assert.equal(opened, null);
          // The unmodified tag is what we produce ourselves.
          assert.equal(toHex(cipher.seal({ encKey, iv, aad: w.aad, plaintext: w.msg })), toHex(concat(w.ct, WYCHEPROOF_GCM_UNMODIFIED_TAG)));
        }
      });
    }
  });
});

describe('ChaCha20-Poly1305 (RFC 7634)', () => {
  it('RFC 7539 §2.8.2 AEAD example', () => checkAead(createSkCipher(EncrId.CHACHA20_POLY1305, undefined, undefined), RFC7539_AEAD));

  it('RFC 7634 Appendix B: the protected INFORMATIONAL message, byte for byte', () => {
    const v = RFC7634_IKEV2;
    const cipher = createSkCipher(EncrId.CHACHA20_POLY1305, 256, undefined);
    assert.deepEqual([cipher.ivLength, cipher.icvLength, cipher.encKeyLength, cipher.blockSize], [8, 16, 36, 1]);
    const aad = v.message.subarray(0, v.aadLength);
    const iv = v.message.subarray(v.aadLength, v.aadLength + v.ivLength);
    // padSkPlaintext with block size 1 adds only the Pad Length octet, as in the example.
    const plaintext = padSkPlaintext(v.innerPayload, cipher.blockSize);
    assert.equal(toHex(plaintext), toHex(v.plaintext));
    const sealed = cipher.seal({ encKey: v.encKey, iv, aad, plaintext });
    assert.equal(toHex(concat(aad, iv, sealed)), toHex(v.message));
    const opened = cipher.open({ encKey: v.encKey, iv, aad, ciphertextAndIcv: v.message.subarray(v.aadLength + v.ivLength) });
    assert.ok(opened);
    assert.equal(toHex(unpadSkPlaintext(opened) ?? new Uint8Array(0)), toHex(v.innerPayload));
  });
});

describe('tampering and malformed input', () => {
  const suites: readonly [string, SkCipher, boolean][] = [
    ['aes128-sha256', createSkCipher(EncrId.AES_CBC, 128, IntegId.HMAC_SHA2_256_128), false],
    ['aes256-sha512', createSkCipher(EncrId.AES_CBC, 256, IntegId.HMAC_SHA2_512_256), false],
    ['aes128gcm8', createSkCipher(EncrId.AES_GCM_8, 128, undefined), true],
    ['aes256gcm16', createSkCipher(EncrId.AES_GCM_16, 256, undefined), true],
    ['chacha20poly1305', createSkCipher(EncrId.CHACHA20_POLY1305, undefined, undefined), true],
  ];
  for (const [name, cipher] of suites) {
    describe(name, () => {
      const encKey = bytes(cipher.encKeyLength);
      const integKey = cipher.aead ? undefined : bytes(cipher.integKeyLength);
      const aad = bytes(32);
      const iv = bytes(cipher.ivLength);
      const plaintext = padSkPlaintext(bytes(45), cipher.blockSize);
      const sealed = cipher.seal({ encKey, integKey, iv, aad, plaintext });

      it('round-trips and stays the same size plus the ICV', () => {
        assert.equal(sealed.length, plaintext.length + cipher.icvLength);
        const opened = cipher.open({ encKey, integKey, iv, aad, ciphertextAndIcv: sealed });
        assert.ok(opened);
        assert.equal(toHex(opened), toHex(plaintext));
      });

      it('one flipped bit anywhere in AAD, IV, ciphertext or ICV → null', () => {
        // every bit of the IV and ICV, one bit per octet elsewhere (in rotating positions)
        for (let i = 0; i < aad.length; i++) assert.equal(cipher.open({ encKey, integKey, iv, aad: flipBit(aad, i * 8 + (i % 8)), ciphertextAndIcv: sealed }), null);
        for (let b = 0; b < iv.length * 8; b++) assert.equal(cipher.open({ encKey, integKey, iv: flipBit(iv, b), aad, ciphertextAndIcv: sealed }), null);
        for (let i = 0; i < sealed.length - cipher.icvLength; i++) assert.equal(cipher.open({ encKey, integKey, iv, aad, ciphertextAndIcv: flipBit(sealed, i * 8 + (i % 8)) }), null);
        for (let b = (sealed.length - cipher.icvLength) * 8; b < sealed.length * 8; b++) assert.equal(cipher.open({ encKey, integKey, iv, aad, ciphertextAndIcv: flipBit(sealed, b) }), null);
      });

      it('a wrong key → null (AEAD, or a wrong SK_a); a wrong SK_e under CBC decrypts to something else', () => {
        const wrongEnc = cipher.open({ encKey: flipBit(encKey, 3), integKey, iv, aad, ciphertextAndIcv: sealed });
        if (cipher.aead) {
          assert.equal(wrongEnc, null);
        } else {
          // Encrypt-then-MAC authenticates the ciphertext, not the key that decrypts it.
          assert.ok(wrongEnc);
          assert.notEqual(toHex(wrongEnc), toHex(plaintext));
        }
        if (integKey !== undefined) assert.equal(cipher.open({ encKey, integKey: flipBit(integKey, 3), iv, aad, ciphertextAndIcv: sealed }), null);
      });

      it('truncated, extended or misaligned input and bad IV lengths → null, never a throw', () => {
        for (let n = 0; n < sealed.length; n++) assert.equal(cipher.open({ encKey, integKey, iv, aad, ciphertextAndIcv: sealed.subarray(0, n) }), null);
        assert.equal(cipher.open({ encKey, integKey, iv, aad, ciphertextAndIcv: concat(sealed, Uint8Array.of(0)) }), null);
        assert.equal(cipher.open({ encKey, integKey, iv, aad, ciphertextAndIcv: sealed.subarray(1) }), null);
        for (const n of [0, 1, cipher.ivLength - 1, cipher.ivLength + 1, 32]) assert.equal(cipher.open({ encKey, integKey, iv: bytes(n), aad, ciphertextAndIcv: sealed }), null);
        for (let i = 0; i < 200; i++) {
          assert.equal(cipher.open({ encKey, integKey, iv, aad, ciphertextAndIcv: bytes(i) }), null);
        }
      });

      it('a key of the wrong length is a caller error (RangeError)', () => {
        assert.throws(() => cipher.open({ encKey: encKey.subarray(1), integKey, iv, aad, ciphertextAndIcv: sealed }), RangeError);
      });
    });
  }
});

describe('createSkCipher refuses what it does not support, naming the transform', () => {
  const cases: readonly [string, () => unknown, RegExp][] = [
    ['AES-CTR', () => createSkCipher(EncrId.AES_CTR, 128, IntegId.HMAC_SHA2_256_128), /ENCR AES_CTR \(13\)/],
    ['3DES', () => createSkCipher(EncrId['3DES'], undefined, IntegId.HMAC_SHA2_256_128), /ENCR 3DES \(3\)/],
    ['AES-CBC without integ', () => createSkCipher(EncrId.AES_CBC, 128, undefined), /ENCR AES_CBC \(12\).*integrity/],
    ['AES-CBC with INTEG NONE', () => createSkCipher(EncrId.AES_CBC, 128, IntegId.NONE), /ENCR AES_CBC/],
    ['AES-CBC-192', () => createSkCipher(EncrId.AES_CBC, 192, IntegId.HMAC_SHA2_256_128), /192 bits/],
    ['AES-CBC without Key Length', () => createSkCipher(EncrId.AES_CBC, undefined, IntegId.HMAC_SHA2_256_128), /Key Length/],
    ['AES-CBC with HMAC-SHA1-96', () => createSkCipher(EncrId.AES_CBC, 128, IntegId.HMAC_SHA1_96), /INTEG HMAC_SHA1_96 \(2\)/],
    ['AES-GCM with an integ', () => createSkCipher(EncrId.AES_GCM_16, 256, IntegId.HMAC_SHA2_256_128), /INTEG HMAC_SHA2_256_128 \(12\).*AEAD/],
    ['AES-GCM without Key Length', () => createSkCipher(EncrId.AES_GCM_16, undefined, undefined), /ENCR AES_GCM_16/],
    ['ChaCha20-Poly1305 with 128 bits', () => createSkCipher(EncrId.CHACHA20_POLY1305, 128, undefined), /ENCR CHACHA20_POLY1305 \(28\)/],
    ['ChaCha20-Poly1305 with an integ', () => createSkCipher(EncrId.CHACHA20_POLY1305, undefined, IntegId.HMAC_SHA2_256_128), /INTEG/],
  ];
  for (const [name, fn, message] of cases) {
    it(name, () => assert.throws(fn, (e: unknown) => e instanceof UnsupportedAlgorithmError && message.test(e.message)));
  }
});

describe('SK padding (RFC 7296 §3.14)', () => {
  it('pads inner | padding | pad length to the block size', () => {
    for (let n = 0; n < 40; n++) {
      const padded = padSkPlaintext(bytes(n), 16);
      assert.equal(padded.length % 16, 0);
      assert.ok(padded.length >= n + 1 && padded.length <= n + 16);
      assert.equal(padded[padded.length - 1], padded.length - n - 1);
      assert.equal(unpadSkPlaintext(padded)?.length, n);
    }
    assert.equal(padSkPlaintext(bytes(5), 1).length, 6);
    assert.equal(padSkPlaintext(bytes(5), 16, 2).length, 48);
  });

  it('unpad accepts any padding contents but refuses a Pad Length longer than the data', () => {
    assert.equal(toHex(unpadSkPlaintext(hex('aabbccdd ffee 02')) ?? new Uint8Array(0)), 'aabbccdd');
    assert.equal(unpadSkPlaintext(hex('aabb 03')), null);
    assert.equal(unpadSkPlaintext(hex('aabb 02'))?.length, 0);
    assert.equal(unpadSkPlaintext(new Uint8Array(0)), null);
    assert.equal(unpadSkPlaintext(hex('00'))?.length, 0);
  });

  it('refuses padding that does not fit the Pad Length octet', () => {
    assert.throws(() => padSkPlaintext(bytes(3), 16, 16), RangeError);
    assert.throws(() => padSkPlaintext(bytes(3), 0), RangeError);
  });
});
