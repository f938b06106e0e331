/**
 * IKE and CHILD SA key derivation (RFC 7296 §2.14, §2.17, §2.18) against
 * NIST's IKEv2 KDF test data (SP 800-135 component test; sources in
 * vectors/ikev2-kdf.ts), plus the key order and length rules.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { PrfId } from '../../../../native-helper/src/ike/constants.js';
import {
  computeRekeySkeyseed,
  computeSkeyseed,
  deriveChildKeys,
  deriveIkeKeys,
  deriveIkeKeysFromSkeyseed,
  deriveRekeyedIkeKeys,
} from '../../../../native-helper/src/ike/crypto/keymat.js';
import type { IkeKeys } from '../../../../native-helper/src/ike/crypto/keymat.js';
import { createPrf, prfPlus } from '../../../../native-helper/src/ike/crypto/prf.js';
import { concat, hex, toHex } from './hex.js';
import { ACVP_SHA256, LIBRESWAN_SHA1, NSS_SHA256, NSS_SHA384 } from './vectors/ikev2-kdf.js';
import type { Ikev2KdfCase } from './vectors/ikev2-kdf.js';

const PRF_IDS = { sha1: PrfId.HMAC_SHA1, sha256: PrfId.HMAC_SHA2_256, sha384: PrfId.HMAC_SHA2_384 } as const;

const joinIke = (k: IkeKeys): Uint8Array => concat(k.skD, k.skAi, k.skAr, k.skEi, k.skEr, k.skPi, k.skPr);

/** Splits a DKM length into SK_a/SK_e lengths so the seven keys use it exactly (3·prf + 2a + 2e). */
function lengthsFor(dkmLength: number, prfLength: number): { encKeyLength: number; integKeyLength: number } {
  const rest = (dkmLength - 3 * prfLength) / 2;
  assert.ok(Number.isInteger(rest) && rest > 0);
  const integKeyLength = Math.floor(rest / 3);
  return { integKeyLength, encKeyLength: rest - integKeyLength };
}

function checkCase(v: Ikev2KdfCase): void {
  const prf = createPrf(PRF_IDS[v.prf]);
  const d = prf.preferredKeyLength;

  it('SKEYSEED = prf(Ni | Nr, g^ir)', () => {
    assert.equal(toHex(computeSkeyseed(prf, v.ni, v.nr, v.gir)), toHex(v.skeyseed));
  });

  it('DKM = SK_d | SK_ai | SK_ar | SK_ei | SK_er | SK_pi | SK_pr', () => {
    // A DKM shorter than three PRF keys (the 1056-bit SHA-384 sample) is checked as a prefix.
    const lengths = v.dkm.length > 3 * d ? lengthsFor(v.dkm.length, d) : { encKeyLength: 0, integKeyLength: 0 };
    const keys = deriveIkeKeys({ prf, nonceI: v.ni, nonceR: v.nr, sharedSecret: v.gir, spiI: v.spii, spiR: v.spir, ...lengths });
    const joined = joinIke(keys);
    assert.ok(joined.length >= v.dkm.length);
    assert.equal(toHex(joined.subarray(0, v.dkm.length)), toHex(v.dkm));
    assert.equal(keys.skD.length, d);
    assert.equal(keys.skPi.length, d);
    assert.equal(keys.skAi.length, lengths.integKeyLength);
    assert.equal(keys.skEr.length, lengths.encKeyLength);
    assert.equal(toHex(keys.skD), toHex(v.dkm.subarray(0, d)));
  });

  it('SKEYSEED(Rekey) = prf(SK_d (old), g^ir (new) | Ni | Nr)', () => {
    const skD = v.dkm.subarray(0, d);
    assert.equal(toHex(computeRekeySkeyseed(prf, skD, v.girNew, v.ni, v.nr)), toHex(v.skeyseedRekey));
    // and the rekeyed IKE SA's keys continue from that SKEYSEED exactly as in §2.14
    const lengths = { encKeyLength: 36, integKeyLength: 0 };
    const rekeyed = deriveRekeyedIkeKeys({ prf, oldPrf: prf, oldSkD: skD, sharedSecret: v.girNew, nonceI: v.ni, nonceR: v.nr, spiI: v.spii, spiR: v.spir, ...lengths });
    const expected = prfPlus(prf, v.skeyseedRekey, concat(v.ni, v.nr, v.spii, v.spir), 3 * d + 72);
    assert.equal(toHex(joinIke(rekeyed)), toHex(expected));
  });

  if (v.dkmChild !== undefined && v.dkmChildDh !== undefined) {
    const dkmChild = v.dkmChild;
    const dkmChildDh = v.dkmChildDh;
    const half = dkmChild.length / 2;
    const encKeyLength = Math.ceil(half / 2);
    const integKeyLength = half - encKeyLength;
    const skD = v.dkm.subarray(0, d);
    it('DKM(Child SA) = prf+(SK_d, Ni | Nr) = encI | integI | encR | integR', () => {
      const k = deriveChildKeys({ prf, skD, nonceI: v.ni, nonceR: v.nr, encKeyLength, integKeyLength });
      assert.equal(toHex(concat(k.encI, k.integI, k.encR, k.integR)), toHex(dkmChild));
    });
    it('DKM(Child SA D-H) = prf+(SK_d, g^ir (new) | Ni | Nr)', () => {
      const k = deriveChildKeys({ prf, skD, nonceI: v.ni, nonceR: v.nr, sharedSecret: v.girNew, encKeyLength, integKeyLength });
      assert.equal(toHex(concat(k.encI, k.integI, k.encR, k.integR)), toHex(dkmChildDh));
    });
  }
}

describe('NIST IKEv2 KDF, SHA-256 (ACVP-Server reference test)', () => checkCase(ACVP_SHA256));
describe('NIST CAVS IKEv2 KDF sample, SHA-256 (via NSS)', () => checkCase(NSS_SHA256));
describe('NIST CAVS IKEv2 KDF sample, SHA-384 (via NSS)', () => checkCase(NSS_SHA384));
describe('IKEv2 KDF with PRF_HMAC_SHA1 (libreswan CAVS driver sample; interop only)', () => checkCase(LIBRESWAN_SHA1));

describe('key order and lengths', () => {
  const prf = createPrf(PrfId.HMAC_SHA2_256);
  const nonceI = hex('00112233445566778899aabbccddeeff');
  const nonceR = hex('ffeeddccbbaa99887766554433221100');
  const spiI = hex('0102030405060708');
  const spiR = hex('1112131415161718');
  const sharedSecret = new Uint8Array(32).fill(0x5a);

  it('AEAD suite (AES-GCM-16/256, prfsha256): SK_a empty, SK_e 36 octets, §2.14 order', () => {
    const keys = deriveIkeKeys({ prf, nonceI, nonceR, sharedSecret, spiI, spiR, encKeyLength: 36, integKeyLength: 0 });
    assert.deepEqual(
      [keys.skD, keys.skAi, keys.skAr, keys.skEi, keys.skEr, keys.skPi, keys.skPr].map((k) => k.length),
      [32, 0, 0, 36, 36, 32, 32],
    );
    const stream = prfPlus(prf, computeSkeyseed(prf, nonceI, nonceR, sharedSecret), concat(nonceI, nonceR, spiI, spiR), 168);
    assert.equal(toHex(keys.skEi), toHex(stream.subarray(32, 68)));
    assert.equal(toHex(keys.skPr), toHex(stream.subarray(136, 168)));
  });

  it('deriveIkeKeysFromSkeyseed is the second half of deriveIkeKeys', () => {
    const lengths = { encKeyLength: 32, integKeyLength: 32 };
    const a = deriveIkeKeys({ prf, nonceI, nonceR, sharedSecret, spiI, spiR, ...lengths });
    const b = deriveIkeKeysFromSkeyseed(prf, computeSkeyseed(prf, nonceI, nonceR, sharedSecret), { nonceI, nonceR, spiI, spiR, ...lengths });
    assert.equal(toHex(joinIke(a)), toHex(joinIke(b)));
  });

  it('the SPIs and nonces are taken in initiator, responder order', () => {
    const lengths = { encKeyLength: 16, integKeyLength: 32 };
    const a = deriveIkeKeys({ prf, nonceI, nonceR, sharedSecret, spiI, spiR, ...lengths });
    const swappedSpis = deriveIkeKeys({ prf, nonceI, nonceR, sharedSecret, spiI: spiR, spiR: spiI, ...lengths });
    const swappedNonces = deriveIkeKeys({ prf, nonceI: nonceR, nonceR: nonceI, sharedSecret, spiI, spiR, ...lengths });
    assert.notEqual(toHex(a.skD), toHex(swappedSpis.skD));
    assert.notEqual(toHex(a.skD), toHex(swappedNonces.skD));
  });

  it('rekey: SKEYSEED uses the old PRF, prf+ the new one', () => {
    const oldPrf = createPrf(PrfId.HMAC_SHA2_512);
    const newPrf = createPrf(PrfId.HMAC_SHA2_256);
    const oldSkD = new Uint8Array(64).fill(7);
    const lengths = { encKeyLength: 20, integKeyLength: 0 };
    const keys = deriveRekeyedIkeKeys({ prf: newPrf, oldPrf, oldSkD, sharedSecret, nonceI, nonceR, spiI, spiR, ...lengths });
    const skeyseed = computeRekeySkeyseed(oldPrf, oldSkD, sharedSecret, nonceI, nonceR);
    assert.equal(skeyseed.length, 64);
    assert.equal(toHex(joinIke(keys)), toHex(prfPlus(newPrf, skeyseed, concat(nonceI, nonceR, spiI, spiR), 3 * 32 + 40)));
    assert.equal(keys.skD.length, 32);
  });

  it('CHILD SA keys: initiator→responder first, encryption before integrity (§2.17)', () => {
    const skD = new Uint8Array(32).fill(3);
    const k = deriveChildKeys({ prf, skD, nonceI, nonceR, encKeyLength: 32, integKeyLength: 32 });
    const stream = prfPlus(prf, skD, concat(nonceI, nonceR), 128);
    assert.equal(toHex(k.encI), toHex(stream.subarray(0, 32)));
    assert.equal(toHex(k.integI), toHex(stream.subarray(32, 64)));
    assert.equal(toHex(k.encR), toHex(stream.subarray(64, 96)));
    assert.equal(toHex(k.integR), toHex(stream.subarray(96, 128)));
    const aead = deriveChildKeys({ prf, skD, nonceI, nonceR, encKeyLength: 36, integKeyLength: 0 });
    assert.deepEqual([aead.encI.length, aead.integI.length, aead.encR.length, aead.integR.length], [36, 0, 36, 0]);
    assert.equal(toHex(aead.encR), toHex(stream.subarray(36, 72)));
  });

  it('refuses SPIs that are not 8 octets, bad lengths, and more key material than prf+ can give', () => {
    const base = { prf, nonceI, nonceR, sharedSecret, spiI, spiR, encKeyLength: 32, integKeyLength: 32 };
    assert.throws(() => deriveIkeKeys({ ...base, spiR: new Uint8Array(0) }), RangeError);
    assert.throws(() => deriveIkeKeys({ ...base, spiI: new Uint8Array(4) }), RangeError);
    assert.throws(() => deriveIkeKeys({ ...base, encKeyLength: -1 }), RangeError);
    assert.throws(() => deriveIkeKeys({ ...base, encKeyLength: 4100, integKeyLength: 0 }), RangeError);
    assert.throws(() => deriveChildKeys({ prf, skD: new Uint8Array(32), nonceI, nonceR, encKeyLength: 5000, integKeyLength: 0 }), RangeError);
  });
});
