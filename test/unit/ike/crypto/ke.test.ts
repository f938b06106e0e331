/**
 * Key exchange (RFC 7296 §3.4) against RFC 5903 §8 (ECP), RFC 7748 §5.2
 * and §6 (X25519/X448), Wycheproof ECDH/X25519 cases, and the RFC 6989 /
 * RFC 8031 checks on peer values. MODP has no published DH vectors: both
 * sides must agree, and the values are cross-checked with an independent
 * BigInt exponentiation.
 */
import assert from 'node:assert/strict';
import { getDiffieHellman } from 'node:crypto';
import { describe, it } from 'node:test';

import { KeId } from '../../../../native-helper/src/ike/constants.js';
import { KeyExchangeError, UnsupportedAlgorithmError } from '../../../../native-helper/src/ike/crypto/errors.js';
import type { KeyExchangeErrorCode } from '../../../../native-helper/src/ike/crypto/errors.js';
import { SUPPORTED_KE_GROUPS, createKeyExchange } from '../../../../native-helper/src/ike/crypto/ke.js';
import { hex, toHex } from './hex.js';
import { RFC5903, RFC7748_DH, RFC7748_ITERATED, RFC7748_SCALAR_MULT, WYCHEPROOF_ECDH_P256, WYCHEPROOF_X25519, X25519_SMALL_ORDER } from './vectors/ke.js';

function refused(fn: () => unknown, group: number, code: KeyExchangeErrorCode): void {
  assert.throws(fn, (e: unknown) => e instanceof KeyExchangeError && e.group === group && e.code === code && e.message.includes(`(${group})`));
}

describe('ECP groups (RFC 5903 §8)', () => {
  for (const v of RFC5903) {
    it(v.name, () => {
      const i = createKeyExchange(v.group, { privateKey: v.privateI });
      const r = createKeyExchange(v.group, { privateKey: v.privateR });
      assert.equal(toHex(i.publicValue), toHex(v.publicI));
      assert.equal(toHex(r.publicValue), toHex(v.publicR));
      assert.equal(toHex(i.computeSharedSecret(v.publicR)), toHex(v.shared));
      assert.equal(toHex(r.computeSharedSecret(v.publicI)), toHex(v.shared));
    });
  }

  for (const [group, coordinate] of [
    [KeId.ECP_256, 32],
    [KeId.ECP_384, 48],
    [KeId.ECP_521, 66],
  ] as const) {
    it(`group ${group}: fresh keys agree; KE data is x | y of ${2 * coordinate} octets; g^ir is x`, () => {
      const a = createKeyExchange(group);
      const b = createKeyExchange(group);
      assert.equal(a.group, group);
      assert.equal(a.publicValue.length, 2 * coordinate);
      const s = a.computeSharedSecret(b.publicValue);
      assert.equal(s.length, coordinate);
      assert.equal(toHex(s), toHex(b.computeSharedSecret(a.publicValue)));
      assert.notEqual(toHex(a.publicValue), toHex(b.publicValue));
    });

    it(`group ${group}: refuses wrong lengths, the SEC 1 prefix, points off the curve (RFC 6989 §2.3)`, () => {
      const a = createKeyExchange(group);
      const b = createKeyExchange(group).publicValue;
      for (const bad of [new Uint8Array(0), b.subarray(1), Uint8Array.of(4, ...b), b.subarray(0, coordinate)]) refused(() => a.computeSharedSecret(bad), group, 'WRONG_LENGTH');
      const offCurve = Uint8Array.from(b);
      offCurve[offCurve.length - 1] = (offCurve[offCurve.length - 1] as number) ^ 1;
      refused(() => a.computeSharedSecret(offCurve), group, 'NOT_ON_CURVE');
      refused(() => a.computeSharedSecret(new Uint8Array(2 * coordinate)), group, 'NOT_ON_CURVE');
      refused(() => a.computeSharedSecret(new Uint8Array(2 * coordinate).fill(0xff)), group, 'NOT_ON_CURVE');
    });
  }

  describe('Wycheproof ecdh_secp256r1_ecpoint_test.json', () => {
    for (const w of WYCHEPROOF_ECDH_P256) {
      it(`tcId ${w.tcId}: ${w.comment}`, () => {
        const ke = createKeyExchange(KeId.ECP_256, { privateKey: w.private });
        // IKEv2 carries x | y without the SEC 1 0x04 prefix (RFC 5903 §7).
        const value = w.public[0] === 0x04 ? w.public.subarray(1) : w.public;
        if (w.shared === null) {
          assert.throws(() => ke.computeSharedSecret(value), KeyExchangeError);
        } else {
          assert.equal(toHex(ke.computeSharedSecret(value)), toHex(w.shared));
        }
      });
    }
  });
});

describe('Curve25519 / Curve448 (RFC 8031, RFC 7748)', () => {
  for (const v of RFC7748_DH) {
    it(v.name, () => {
      const i = createKeyExchange(v.group, { privateKey: v.privateI });
      const r = createKeyExchange(v.group, { privateKey: v.privateR });
      assert.equal(toHex(i.publicValue), toHex(v.publicI));
      assert.equal(toHex(r.publicValue), toHex(v.publicR));
      assert.equal(toHex(i.computeSharedSecret(v.publicR)), toHex(v.shared));
      assert.equal(toHex(r.computeSharedSecret(v.publicI)), toHex(v.shared));
    });
  }

  for (const v of RFC7748_SCALAR_MULT) {
    it(v.name, () => assert.equal(toHex(createKeyExchange(v.group, { privateKey: v.scalar }).computeSharedSecret(v.u)), toHex(v.out)));
  }

  for (const v of RFC7748_ITERATED) {
    it(`RFC 7748 §5.2 iterated ${v.group === 31 ? 'X25519' : 'X448'}: 1 and 1000 iterations`, () => {
      let k: Uint8Array = new Uint8Array(v.length);
      k[0] = v.group === 31 ? 9 : 5;
      let u: Uint8Array = Uint8Array.from(k);
      for (let n = 1; n <= 1000; n++) {
        const next = createKeyExchange(v.group, { privateKey: k }).computeSharedSecret(u);
        u = k;
        k = next;
        if (n === 1) assert.equal(toHex(k), v.after1);
      }
      assert.equal(toHex(k), v.after1000);
    });
  }

  describe('Wycheproof x25519_test.json', () => {
    for (const w of WYCHEPROOF_X25519) {
      it(`tcId ${w.tcId}${w.shared === null ? ' (ZeroSharedSecret: refused)' : ''}`, () => {
        const ke = createKeyExchange(KeId.CURVE25519, { privateKey: w.private });
        if (w.shared === null) refused(() => ke.computeSharedSecret(w.public), KeId.CURVE25519, 'ZERO_SHARED_SECRET');
        else assert.equal(toHex(ke.computeSharedSecret(w.public)), toHex(w.shared));
      });
    }
  });

  it('refuses every small-order Curve25519 point (all-zero g^ir, RFC 8031 §2.3)', () => {
    const ke = createKeyExchange(KeId.CURVE25519);
    for (const p of X25519_SMALL_ORDER) refused(() => ke.computeSharedSecret(p), KeId.CURVE25519, 'ZERO_SHARED_SECRET');
  });

  it('refuses the Curve448 points 0 and 1 (all-zero g^ir)', () => {
    const ke = createKeyExchange(KeId.CURVE448);
    const one = new Uint8Array(56);
    one[0] = 1;
    refused(() => ke.computeSharedSecret(new Uint8Array(56)), KeId.CURVE448, 'ZERO_SHARED_SECRET');
    refused(() => ke.computeSharedSecret(one), KeId.CURVE448, 'ZERO_SHARED_SECRET');
  });

  for (const [group, length] of [
    [KeId.CURVE25519, 32],
    [KeId.CURVE448, 56],
  ] as const) {
    it(`group ${group}: fresh keys agree; raw ${length}-octet values; wrong lengths refused`, () => {
      const a = createKeyExchange(group);
      const b = createKeyExchange(group);
      assert.equal(a.publicValue.length, length);
      assert.equal(toHex(a.computeSharedSecret(b.publicValue)), toHex(b.computeSharedSecret(a.publicValue)));
      for (const n of [0, length - 1, length + 1]) refused(() => a.computeSharedSecret(new Uint8Array(n).fill(9)), group, 'WRONG_LENGTH');
    });
  }
});

/** Independent square-and-multiply, for cross-checking OpenSSL in this test only. */
function modPow(base: bigint, exponent: bigint, modulus: bigint): bigint {
  let result = 1n;
  let b = base % modulus;
  let e = exponent;
  while (e > 0n) {
    if (e & 1n) result = (result * b) % modulus;
    b = (b * b) % modulus;
    e >>= 1n;
  }
  return result;
}
const toBig = (b: Uint8Array): bigint => BigInt(`0x${toHex(b) || '0'}`);
const toBytes = (n: bigint, length: number): Uint8Array => hex(n.toString(16).padStart(length * 2, '0'));

describe('MODP groups (RFC 3526)', () => {
  const groups = [
    [KeId.MODP_2048, 'modp14', 256],
    [KeId.MODP_3072, 'modp15', 384],
    [KeId.MODP_4096, 'modp16', 512],
    [KeId.MODP_6144, 'modp17', 768],
    [KeId.MODP_8192, 'modp18', 1024],
  ] as const;
  for (const [group, name, length] of groups) {
    describe(`group ${group} (${name})`, () => {
      const p = toBig(getDiffieHellman(name).getPrime());

      it('fresh exchanges agree, with values of the modulus length', () => {
        const a = createKeyExchange(group);
        const b = createKeyExchange(group);
        assert.equal(a.publicValue.length, length);
        const s = a.computeSharedSecret(b.publicValue);
        assert.equal(s.length, length);
        assert.equal(toHex(s), toHex(b.computeSharedSecret(a.publicValue)));
      });

      it('g^x and g^xy match an independent modular exponentiation (zero-padded to the modulus)', () => {
        const x = hex('0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef');
        const y = hex('00fedcba9876543210fedcba9876543210fedcba9876543210fedcba98765432');
        const a = createKeyExchange(group, { privateKey: x });
        const b = createKeyExchange(group, { privateKey: y });
        assert.equal(toHex(a.publicValue), toHex(toBytes(modPow(2n, toBig(x), p), length)));
        const expected = toBytes(modPow(modPow(2n, toBig(y), p), toBig(x), p), length);
        assert.equal(toHex(a.computeSharedSecret(b.publicValue)), toHex(expected));
        assert.equal(toHex(b.computeSharedSecret(a.publicValue)), toHex(expected));
      });

      it('refuses 0, 1, p−1, p, 2^n−1 and wrong lengths (RFC 6989 §2.1)', () => {
        const a = createKeyExchange(group);
        for (const v of [0n, 1n, p - 1n, p, (1n << BigInt(8 * length)) - 1n]) refused(() => a.computeSharedSecret(toBytes(v, length)), group, 'OUT_OF_RANGE');
        // 2 and p−2 are in range
        assert.equal(a.computeSharedSecret(toBytes(2n, length)).length, length);
        assert.equal(a.computeSharedSecret(toBytes(p - 2n, length)).length, length);
        for (const n of [0, 1, length - 1, length + 1]) refused(() => a.computeSharedSecret(new Uint8Array(n).fill(0x42)), group, 'WRONG_LENGTH');
        // an unpadded short value is a wrong length, not a small number
        refused(() => a.computeSharedSecret(a.publicValue.subarray(1)), group, 'WRONG_LENGTH');
      });
    });
  }

  it('finds a shared secret with a leading zero octet and keeps it at the modulus length', () => {
    // Search deterministic private values until g^xy starts with 0x00 (about 1 in 256).
    const p = toBig(getDiffieHellman('modp14').getPrime());
    const b = createKeyExchange(KeId.MODP_2048, { privateKey: hex('07') });
    for (let i = 2; i < 5000; i++) {
      const x = toBytes(BigInt(i) * 0x10001n, 4);
      const shared = toBytes(modPow(2n, 7n * toBig(x), p), 256);
      if (shared[0] !== 0) continue;
      const a = createKeyExchange(KeId.MODP_2048, { privateKey: x });
      assert.equal(toHex(a.computeSharedSecret(b.publicValue)), toHex(shared));
      return;
    }
    assert.fail('no private value with a leading-zero shared secret found');
  });
});

describe('createKeyExchange', () => {
  it('lists what it supports', () => {
    assert.deepEqual(
      [...SUPPORTED_KE_GROUPS].sort((a, b) => a - b),
      [KeId.MODP_2048, KeId.MODP_3072, KeId.MODP_4096, KeId.MODP_6144, KeId.MODP_8192, KeId.ECP_256, KeId.ECP_384, KeId.ECP_521, KeId.CURVE25519, KeId.CURVE448],
    );
  });

  it('refuses other groups, naming them', () => {
    for (const g of [KeId.NONE, KeId.MODP_768, KeId.MODP_1024, KeId.MODP_1536, KeId.ML_KEM_768, 24, 1000]) {
      assert.throws(() => createKeyExchange(g), (e: unknown) => e instanceof UnsupportedAlgorithmError && e.kind === 'KE' && e.id === g);
    }
    assert.throws(() => createKeyExchange(KeId.MODP_1024), /KE MODP_1024 \(2\)/);
  });

  it('refuses unusable fixed private values', () => {
    assert.throws(() => createKeyExchange(KeId.MODP_2048, { privateKey: hex('01') }), RangeError);
    assert.throws(() => createKeyExchange(KeId.ECP_256, { privateKey: new Uint8Array(32) }), RangeError);
    assert.throws(() => createKeyExchange(KeId.CURVE25519, { privateKey: new Uint8Array(31) }), RangeError);
  });

  it('error messages name the group but carry no key material', () => {
    const a = createKeyExchange(KeId.ECP_256);
    const bad = new Uint8Array(64).fill(0xab);
    try {
      a.computeSharedSecret(bad);
      assert.fail('expected a KeyExchangeError');
    } catch (e) {
      assert.ok(e instanceof KeyExchangeError);
      assert.match(e.message, /ECP_256 \(19\)/);
      assert.ok(!e.message.includes('abab'));
      assert.ok(!e.message.includes(toHex(a.publicValue).slice(0, 16)));
    }
  });
});
