/**
 * INTEG transforms against RFC 4868 §2.7.2 (authenticator test vectors)
 * and RFC 4231 test case 5 (truncated output).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { IntegId } from '../../../../native-helper/src/ike/constants.js';
import { UnsupportedAlgorithmError } from '../../../../native-helper/src/ike/crypto/errors.js';
import { createInteg } from '../../../../native-helper/src/ike/crypto/integ.js';
import { flipBit, hex, toHex } from './hex.js';
import { RFC4231, RFC4868_AUTH } from './vectors/hmac.js';

const IDS = { sha256: IntegId.HMAC_SHA2_256_128, sha384: IntegId.HMAC_SHA2_384_192, sha512: IntegId.HMAC_SHA2_512_256 } as const;

describe('createInteg', () => {
  it('has the RFC 4868 key and ICV lengths', () => {
    assert.deepEqual(Object.values(IDS).map((id) => createInteg(id).keyLength), [32, 48, 64]);
    assert.deepEqual(Object.values(IDS).map((id) => createInteg(id).icvLength), [16, 24, 32]);
  });

  for (const c of RFC4868_AUTH) {
    it(`RFC 4868 §2.7.2 ${c.name}`, () => {
      const integ = createInteg(IDS[c.integ]);
      assert.equal(c.key.length, integ.keyLength);
      assert.equal(toHex(integ.compute(c.key, c.data)), c.icv);
      assert.equal(integ.verify(c.key, c.data, hex(c.icv)), true);
    });
  }

  it('RFC 4231 test case 5: the 128-bit truncation is the ICV of HMAC_SHA2_256_128', () => {
    const c = RFC4231.find((x) => x.truncate === 16);
    assert.ok(c);
    assert.equal(toHex(createInteg(IntegId.HMAC_SHA2_256_128).compute(c.key, c.data)), c.sha256);
    // and a prefix of the longer truncations
    assert.ok(toHex(createInteg(IntegId.HMAC_SHA2_384_192).compute(c.key, c.data)).startsWith(c.sha384));
    assert.ok(toHex(createInteg(IntegId.HMAC_SHA2_512_256).compute(c.key, c.data)).startsWith(c.sha512));
  });

  it('verify refuses any single flipped bit and a wrong length, without throwing', () => {
    const c = RFC4868_AUTH[0];
    assert.ok(c);
    const integ = createInteg(IDS[c.integ]);
    const icv = hex(c.icv);
    for (let bit = 0; bit < icv.length * 8; bit++) assert.equal(integ.verify(c.key, c.data, flipBit(icv, bit)), false);
    for (let bit = 0; bit < c.data.length * 8; bit++) assert.equal(integ.verify(c.key, flipBit(c.data, bit), icv), false);
    assert.equal(integ.verify(c.key, c.data, icv.subarray(0, 15)), false);
    assert.equal(integ.verify(c.key, c.data, new Uint8Array(0)), false);
  });

  it('refuses other INTEG transforms', () => {
    for (const id of [IntegId.NONE, IntegId.HMAC_MD5_96, IntegId.HMAC_SHA1_96, IntegId.AES_XCBC_96, 99]) {
      assert.throws(() => createInteg(id), UnsupportedAlgorithmError);
    }
    assert.throws(() => createInteg(IntegId.HMAC_SHA1_96), /INTEG HMAC_SHA1_96 \(2\)/);
  });
});
