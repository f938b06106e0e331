/**
 * EAP-MSCHAPv2 cryptography against published vectors: MD4 (RFC 1320 §A.5),
 * single DES (FIPS 81 Appendix B ECB example), MS-CHAPv2 (RFC 2759 §9.2)
 * and MPPE keys (RFC 3079 §3.5.3).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { desEncrypt7, md4 } from '../../../native-helper/src/eap/legacy-primitives.js';
import {
  asymmetricStartKey,
  authenticatorResponse,
  challengeHash,
  challengeResponse,
  generateNtResponse,
  hashNtPasswordHash,
  masterKey,
  mschapv2Msk,
  ntPasswordHash,
} from '../../../native-helper/src/eap/mschapv2-crypto.js';

const h = (s: string): Uint8Array => new Uint8Array(Buffer.from(s.replace(/\s+/g, ''), 'hex'));
const x = (b: Uint8Array): string => Buffer.from(b).toString('hex').toUpperCase();

describe('MD4 (RFC 1320 §A.5 test suite)', () => {
  const suite: [string, string][] = [
    ['', '31d6cfe0d16ae931b73c59d7e0c089c0'],
    ['a', 'bde52cb31de33e46245e05fbdbd6fb24'],
    ['abc', 'a448017aaf21d8525fc10ae87aa6729d'],
    ['message digest', 'd9130a8164549fe818874806e1c7014b'],
    ['abcdefghijklmnopqrstuvwxyz', 'd79e1c308aa5bbcdeea8ed63df412da9'],
    ['ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789', '043f8582f241db351ce627e153e7f0e4'],
    ['12345678901234567890123456789012345678901234567890123456789012345678901234567890', 'e33b4ddc9c38f2199c3e7b164fcc0536'],
  ];
  for (const [input, digest] of suite) {
    it(`MD4("${input.length > 20 ? `${input.slice(0, 20)}…` : input}")`, () => {
      assert.equal(Buffer.from(md4(new TextEncoder().encode(input))).toString('hex'), digest);
    });
  }
});

describe('DES (node:crypto EDE3 with K1=K2=K3)', () => {
  it('FIPS 81 ECB example: key 0123456789abcdef, "Now is t" → 3fa40e8a984d4815', () => {
    // 0123456789abcdef with its parity bits dropped is the 56-bit key 0091a2b3c4d5e6 … as 7 octets:
    // bits of 01 23 45 67 89 ab cd ef without each octet's low bit.
    const key8 = h('0123456789abcdef');
    let bits = 0n;
    for (const b of key8) bits = (bits << 7n) | BigInt(b >> 1);
    const key7 = h(bits.toString(16).padStart(14, '0'));
    assert.equal(x(desEncrypt7(new TextEncoder().encode('Now is t'), key7)), '3FA40E8A984D4815');
  });
  it('rejects wrong sizes', () => {
    assert.throws(() => desEncrypt7(new Uint8Array(7), new Uint8Array(7)), RangeError);
    assert.throws(() => desEncrypt7(new Uint8Array(8), new Uint8Array(8)), RangeError);
  });
});

describe('MS-CHAPv2 (RFC 2759 §9.2) and MPPE keys (RFC 3079 §3.5.3)', () => {
  const user = new TextEncoder().encode('User');
  const password = 'clientPass';
  const authChallenge = h('5B 5D 7C 7D 7B 3F 2F 3E 3C 2C 60 21 32 26 26 28');
  const peerChallenge = h('21 40 23 24 25 5E 26 2A 28 29 5F 2B 3A 33 7C 7E');
  const ntResponse = '82309ECD8D708B5EA08FAA3981CD83544233114A3D85D6DF';

  it('ChallengeHash', () => assert.equal(x(challengeHash(peerChallenge, authChallenge, user)), 'D02E4386BCE91226'));
  it('NtPasswordHash', () => assert.equal(x(ntPasswordHash(password)), '44EBBA8D5312B8D611474411F56989AE'));
  it('HashNtPasswordHash', () => assert.equal(x(hashNtPasswordHash(ntPasswordHash(password))), '41C00C584BD2D91C4017A2A12FA59F3F'));
  it('ChallengeResponse / GenerateNTResponse', () => {
    assert.equal(x(challengeResponse(h('D02E4386BCE91226'), ntPasswordHash(password))), ntResponse);
    assert.equal(x(generateNtResponse(authChallenge, peerChallenge, user, ntPasswordHash(password))), ntResponse);
  });
  it('GenerateAuthenticatorResponse = S=407A5589115FD0D6209F510FE9C04566932CDA56', () => {
    assert.equal(x(authenticatorResponse(ntPasswordHash(password), h(ntResponse), peerChallenge, authChallenge, user)), '407A5589115FD0D6209F510FE9C04566932CDA56');
  });
  it('GetMasterKey and GetAsymmetricStartKey (RFC 3079 §3.5.3)', () => {
    const mk = masterKey(h('41C00C584BD2D91C4017A2A12FA59F3F'), h(ntResponse));
    assert.equal(x(mk), 'FDECE3717A8C838CB388E527AE3CDD31');
    // RFC 3079's example derives the server's send key (IsSend, IsServer: Magic3).
    assert.equal(x(asymmetricStartKey(mk, 'magic3')), '8B7CDC149B993A1BA118CB153F56DCCB');
  });
  it('MSK = send-start(magic2) | receive-start(magic3) | 32 zero octets', () => {
    const mk = masterKey(h('41C00C584BD2D91C4017A2A12FA59F3F'), h(ntResponse));
    const msk = mschapv2Msk(ntPasswordHash(password), h(ntResponse));
    assert.equal(msk.length, 64);
    assert.equal(x(msk.subarray(0, 16)), x(asymmetricStartKey(mk, 'magic2')));
    assert.equal(x(msk.subarray(16, 32)), '8B7CDC149B993A1BA118CB153F56DCCB');
    assert.ok(msk.subarray(32).every((b) => b === 0));
  });
});
