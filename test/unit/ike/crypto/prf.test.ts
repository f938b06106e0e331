/**
 * PRFs and prf+ (RFC 7296 §2.13) against RFC 4231 / RFC 4868 §2.7.1 and
 * RFC 2202, plus the prf+ construction and its 255-block limit.
 */
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { describe, it } from 'node:test';

import { PrfId } from '../../../../native-helper/src/ike/constants.js';
import { UnsupportedAlgorithmError } from '../../../../native-helper/src/ike/crypto/errors.js';
import { PRF_PLUS_MAX_ITERATIONS, SUPPORTED_PRFS, createPrf, prfPlus } from '../../../../native-helper/src/ike/crypto/prf.js';
import { concat, hex, toHex } from './hex.js';
import { ACVP_SHA256, NSS_SHA256, NSS_SHA384 } from './vectors/ikev2-kdf.js';
import { RFC2202_SHA1_CASE1, RFC4231 } from './vectors/hmac.js';

const PRFS = [
  { id: PrfId.HMAC_SHA2_256, field: 'sha256', length: 32 },
  { id: PrfId.HMAC_SHA2_384, field: 'sha384', length: 48 },
  { id: PrfId.HMAC_SHA2_512, field: 'sha512', length: 64 },
] as const;

describe('createPrf', () => {
  for (const { id, field, length } of PRFS) {
    describe(`PRF ${field}`, () => {
      const prf = createPrf(id);
      it('has the RFC 4868 §2.1 sizes', () => {
        assert.equal(prf.id, id);
        assert.equal(prf.outputLength, length);
        assert.equal(prf.preferredKeyLength, length);
      });
      for (const c of RFC4231) {
        it(c.name, () => {
          const out = prf.compute(c.key, c.data);
          assert.equal(out.length, length);
          assert.equal(toHex(c.truncate === undefined ? out : out.subarray(0, c.truncate)), c[field]);
        });
      }
    });
  }

  it('PRF_HMAC_SHA1 (interop only): RFC 2202 test case 1', () => {
    const prf = createPrf(PrfId.HMAC_SHA1);
    assert.equal(prf.outputLength, 20);
    assert.equal(toHex(prf.compute(RFC2202_SHA1_CASE1.key, RFC2202_SHA1_CASE1.data)), RFC2202_SHA1_CASE1.out);
  });

  it('refuses PRFs it does not implement, naming the transform', () => {
    for (const id of [PrfId.HMAC_MD5, PrfId.AES128_XCBC, PrfId.AES128_CMAC, 0, 99]) {
      assert.ok(!SUPPORTED_PRFS.includes(id));
      assert.throws(() => createPrf(id), (e: unknown) => e instanceof UnsupportedAlgorithmError && e.kind === 'PRF' && e.id === id && e.message.includes(`(${id})`));
    }
    assert.throws(() => createPrf(PrfId.AES128_XCBC), /PRF AES128_XCBC \(4\)/);
  });
});

describe('prfPlus (RFC 7296 §2.13)', () => {
  const prf = createPrf(PrfId.HMAC_SHA2_256);
  const key = hex('000102030405060708090a0b0c0d0e0f');
  const seed = hex('a0a1a2a3');
  const hmac = (k: Uint8Array, d: Uint8Array): Uint8Array => Uint8Array.from(createHmac('sha256', k).update(d).digest());

  it('is T1 | T2 | … with T1 = prf(K, S | 0x01), Tn = prf(K, Tn-1 | S | n)', () => {
    const t1 = hmac(key, concat(seed, Uint8Array.of(1)));
    const t2 = hmac(key, concat(t1, seed, Uint8Array.of(2)));
    const t3 = hmac(key, concat(t2, seed, Uint8Array.of(3)));
    assert.equal(toHex(prfPlus(prf, key, seed, 96)), toHex(concat(t1, t2, t3)));
    // A shorter request is a prefix of the stream, not a different stream.
    assert.equal(toHex(prfPlus(prf, key, seed, 40)), toHex(concat(t1, t2).subarray(0, 40)));
    assert.equal(prfPlus(prf, key, seed, 0).length, 0);
  });

  it('matches the NIST CAVS DKM samples (SHA-256 and SHA-384; 1056, 384 and 120 bits)', () => {
    for (const v of [NSS_SHA256, NSS_SHA384]) {
      const p = createPrf(v.prf === 'sha256' ? PrfId.HMAC_SHA2_256 : PrfId.HMAC_SHA2_384);
      const s = concat(v.ni, v.nr, v.spii, v.spir);
      assert.equal(toHex(prfPlus(p, v.skeyseed, s, 132)), toHex(v.dkm), v.source);
      assert.equal(toHex(prfPlus(p, v.skeyseed, s, p.outputLength)), toHex(v.dkm.subarray(0, p.outputLength)));
      assert.equal(toHex(prfPlus(p, v.skeyseed, s, 15)), toHex(v.dkm.subarray(0, 15)));
    }
    const v = ACVP_SHA256;
    assert.equal(toHex(prfPlus(prf, v.skeyseed, concat(v.ni, v.nr, v.spii, v.spir), 384)), toHex(v.dkm));
  });

  it('allows exactly 255 iterations and throws RangeError beyond', () => {
    assert.equal(PRF_PLUS_MAX_ITERATIONS, 255);
    const max = 255 * prf.outputLength;
    const full = prfPlus(prf, key, seed, max);
    assert.equal(full.length, max);
    // The last block is T255 = prf(K, T254 | S | 0xff).
    const t254 = full.subarray(253 * 32, 254 * 32);
    assert.equal(toHex(full.subarray(254 * 32)), toHex(hmac(key, concat(t254, seed, Uint8Array.of(255)))));
    assert.throws(() => prfPlus(prf, key, seed, max + 1), RangeError);
    assert.throws(() => prfPlus(prf, key, seed, -1), RangeError);
    assert.throws(() => prfPlus(prf, key, seed, 1.5), RangeError);
  });
});
