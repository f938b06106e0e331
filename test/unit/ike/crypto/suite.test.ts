/**
 * Suite key lengths (RFC 7296 §2.14/§2.17 with RFC 5282 §7.1, RFC 4106 §8.1,
 * RFC 7634 §3, RFC 3602, RFC 4868) and strongSwan-style names.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { EncrId, IntegId, KeId, PrfId } from '../../../../native-helper/src/ike/constants.js';
import { UnsupportedAlgorithmError } from '../../../../native-helper/src/ike/crypto/errors.js';
import { espKeyLengths, formatEspSuite, formatIkeSuite, ikeKeyLengths } from '../../../../native-helper/src/ike/crypto/suite.js';

describe('ikeKeyLengths', () => {
  it('AEAD: SK_e includes the 4-octet salt, no SK_a', () => {
    assert.deepEqual(ikeKeyLengths({ encr: EncrId.AES_GCM_16, encrKeyLength: 256, prf: PrfId.HMAC_SHA2_256, ke: KeId.ECP_256 }), { encKeyLength: 36, integKeyLength: 0 });
    assert.deepEqual(ikeKeyLengths({ encr: EncrId.AES_GCM_16, encrKeyLength: 128, prf: PrfId.HMAC_SHA2_256, ke: KeId.CURVE25519 }), { encKeyLength: 20, integKeyLength: 0 });
    assert.deepEqual(ikeKeyLengths({ encr: EncrId.CHACHA20_POLY1305, prf: PrfId.HMAC_SHA2_256, ke: KeId.CURVE25519 }), { encKeyLength: 36, integKeyLength: 0 });
  });

  it('AES-CBC: the AES key and the HMAC key (RFC 4868: the hash length)', () => {
    assert.deepEqual(ikeKeyLengths({ encr: EncrId.AES_CBC, encrKeyLength: 256, prf: PrfId.HMAC_SHA2_384, integ: IntegId.HMAC_SHA2_384_192, ke: KeId.ECP_384 }), { encKeyLength: 32, integKeyLength: 48 });
    assert.deepEqual(ikeKeyLengths({ encr: EncrId.AES_CBC, encrKeyLength: 128, prf: PrfId.HMAC_SHA2_256, integ: IntegId.HMAC_SHA2_256_128, ke: KeId.MODP_2048 }), { encKeyLength: 16, integKeyLength: 32 });
  });

  it('refuses unsupported suites', () => {
    assert.throws(() => ikeKeyLengths({ encr: EncrId.AES_CBC, encrKeyLength: 256, prf: PrfId.HMAC_SHA2_256, ke: KeId.ECP_256 }), UnsupportedAlgorithmError);
    assert.throws(() => ikeKeyLengths({ encr: EncrId['3DES'], prf: PrfId.HMAC_SHA2_256, integ: IntegId.HMAC_SHA2_256_128, ke: KeId.ECP_256 }), UnsupportedAlgorithmError);
  });
});

describe('espKeyLengths', () => {
  it('AES-GCM 128 → 20 octets, 256 → 36 (RFC 4106 §8.1: key + salt)', () => {
    assert.deepEqual(espKeyLengths({ encr: EncrId.AES_GCM_16, encrKeyLength: 128, esn: false }), { encKeyLength: 20, integKeyLength: 0 });
    assert.deepEqual(espKeyLengths({ encr: EncrId.AES_GCM_16, encrKeyLength: 256, esn: true }), { encKeyLength: 36, integKeyLength: 0 });
    assert.deepEqual(espKeyLengths({ encr: EncrId.AES_GCM_8, encrKeyLength: 256, esn: true }), { encKeyLength: 36, integKeyLength: 0 });
  });

  it('ChaCha20-Poly1305 → 36 octets (RFC 7634 §3)', () => {
    assert.deepEqual(espKeyLengths({ encr: EncrId.CHACHA20_POLY1305, esn: false }), { encKeyLength: 36, integKeyLength: 0 });
  });

  it('AES-CBC-256 + HMAC-SHA-256-128 → 32 + 32', () => {
    assert.deepEqual(espKeyLengths({ encr: EncrId.AES_CBC, encrKeyLength: 256, integ: IntegId.HMAC_SHA2_256_128, esn: false }), { encKeyLength: 32, integKeyLength: 32 });
    assert.deepEqual(espKeyLengths({ encr: EncrId.AES_CBC, encrKeyLength: 128, integ: IntegId.HMAC_SHA2_512_256, esn: false }), { encKeyLength: 16, integKeyLength: 64 });
  });

  it('refuses what it cannot size', () => {
    const bad = [
      { encr: EncrId.AES_GCM_16, esn: false },
      { encr: EncrId.AES_GCM_16, encrKeyLength: 256, integ: IntegId.HMAC_SHA2_256_128, esn: false },
      { encr: EncrId.CHACHA20_POLY1305, encrKeyLength: 128, esn: false },
      { encr: EncrId.AES_CBC, encrKeyLength: 256, esn: false },
      { encr: EncrId.AES_CBC, encrKeyLength: 256, integ: IntegId.HMAC_SHA1_96, esn: false },
      { encr: EncrId.NULL, integ: IntegId.HMAC_SHA2_256_128, esn: false },
    ];
    for (const s of bad) assert.throws(() => espKeyLengths(s), UnsupportedAlgorithmError, JSON.stringify(s));
  });
});

describe('suite names (strongSwan proposal keywords)', () => {
  it('formats IKE suites', () => {
    assert.equal(formatIkeSuite({ encr: EncrId.AES_GCM_16, encrKeyLength: 256, prf: PrfId.HMAC_SHA2_256, ke: KeId.ECP_256 }), 'aes256gcm16-prfsha256-ecp256');
    assert.equal(formatIkeSuite({ encr: EncrId.AES_CBC, encrKeyLength: 128, integ: IntegId.HMAC_SHA2_256_128, prf: PrfId.HMAC_SHA2_256, ke: KeId.MODP_2048 }), 'aes128-sha256-prfsha256-modp2048');
    assert.equal(formatIkeSuite({ encr: EncrId.CHACHA20_POLY1305, prf: PrfId.HMAC_SHA2_512, ke: KeId.CURVE25519 }), 'chacha20poly1305-prfsha512-curve25519');
    assert.equal(formatIkeSuite({ encr: EncrId.AES_GCM_8, encrKeyLength: 128, prf: PrfId.HMAC_SHA1, ke: KeId.MODP_1024 }), 'aes128gcm8-prfsha1-modp1024');
  });

  it('formats ESP suites with the ESN choice', () => {
    assert.equal(formatEspSuite({ encr: EncrId.AES_GCM_16, encrKeyLength: 256, esn: true, ke: KeId.ECP_256 }), 'aes256gcm16-ecp256-esn');
    assert.equal(formatEspSuite({ encr: EncrId.AES_CBC, encrKeyLength: 128, integ: IntegId.HMAC_SHA2_256_128, esn: false }), 'aes128-sha256-noesn');
    assert.equal(formatEspSuite({ encr: EncrId.CHACHA20_POLY1305, esn: false, ke: KeId.NONE }), 'chacha20poly1305-noesn');
  });

  it('names unknown ids instead of failing (for logging what a gateway sent)', () => {
    assert.equal(formatIkeSuite({ encr: 1024, prf: 99, ke: 77 }), 'unknown(1024)-unknown(99)-unknown(77)');
  });
});
