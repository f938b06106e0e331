/**
 * Every bound the payload decoders enforce, one malformed input each: the
 * decoder must throw a DecodeError with the expected code (and nothing
 * else), naming where the problem is.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { PayloadType } from '../../../../native-helper/src/ike/constants.js';
import { DecodeError } from '../../../../native-helper/src/ike/codec/errors.js';
import type { DecodeErrorCode } from '../../../../native-helper/src/ike/codec/errors.js';
import { decodePayloadChain } from '../../../../native-helper/src/ike/codec/payload-chain.js';
import { hex, rep } from './hex.js';

interface ErrorCase {
  readonly name: string;
  readonly first: number;
  readonly hex: string;
  readonly code: DecodeErrorCode;
  /** a fragment the error message must contain */
  readonly says?: string;
}

const { SA, KE, CERT, CERTREQ, AUTH, NONCE, NOTIFY, DELETE, TSi, TSr, SK, CP, EAP, SKF } = PayloadType;

/** A valid 3-transform IKE proposal body (AES-GCM-16/256, PRF SHA-256, ECP-256) for SA cases to break. */
const T_ENCR = '01 00 00 14  80 0e 01 00';
const T_PRF = '02 00 00 05';
const T_KE = '04 00 00 13';

const cases: readonly ErrorCase[] = [
  // ---- generic payload header (RFC 7296 §3.2; iked's three checks)
  { name: 'generic header truncated (3 octets left)', first: SA, hex: '00 00 00', code: 'TRUNCATED', says: 'generic payload header' },
  { name: 'payload length < 4', first: NOTIFY, hex: '00 00 00 03', code: 'BAD_LENGTH', says: 'below the 4-octet' },
  { name: 'payload length > remaining', first: NOTIFY, hex: '00 00 00 0c  00 00 40 00', code: 'TRUNCATED', says: 'exceeds' },
  { name: 'Next Payload announces a payload that is not there', first: NOTIFY, hex: '28 00 00 08  00 00 40 00', code: 'TRUNCATED' },
  { name: 'octets after the last payload', first: NOTIFY, hex: '00 00 00 08  00 00 40 00  ff', code: 'TRAILING_BYTES' },
  { name: 'SK is not the last payload', first: SK, hex: `23 00 00 0c  ${rep('ee', 8)}  00 00 00 08  00 00 40 00`, code: 'TRAILING_BYTES', says: 'last payload' },
  { name: 'SKF is not the last payload', first: SKF, hex: `23 00 00 0c  00 01 00 01  ee ee ee ee  00 00 00 04`, code: 'TRAILING_BYTES' },
  { name: 'unknown critical payload', first: 99, hex: '00 80 00 06  aa bb', code: 'UNSUPPORTED_CRITICAL_PAYLOAD' },
  // ---- SA (§3.3)
  { name: 'SA with no proposal', first: SA, hex: '00 00 00 04', code: 'INVALID_VALUE', says: 'at least one proposal' },
  {
    name: 'SA: Num Transforms 4 but 3 present',
    first: SA,
    hex: `00 00 00 28  00 00 00 24 01 01 00 04  03 00 00 0c ${T_ENCR}  03 00 00 08 ${T_PRF}  00 00 00 08 ${T_KE}`,
    code: 'INVALID_VALUE',
    says: 'Num Transforms says 4',
  },
  {
    name: 'SA: Num Transforms 2 but 3 present',
    first: SA,
    hex: `00 00 00 28  00 00 00 24 01 01 00 02  03 00 00 0c ${T_ENCR}  03 00 00 08 ${T_PRF}  00 00 00 08 ${T_KE}`,
    code: 'INVALID_VALUE',
  },
  {
    name: 'SA: the only proposal says "more" (2)',
    first: SA,
    hex: `00 00 00 28  02 00 00 24 01 01 00 03  03 00 00 0c ${T_ENCR}  03 00 00 08 ${T_PRF}  00 00 00 08 ${T_KE}`,
    code: 'INVALID_VALUE',
    says: 'Last Substruc is 2',
  },
  {
    name: 'SA: first of two proposals says "last" (0)',
    first: SA,
    hex: `00 00 00 24  00 00 00 10 01 01 00 01  00 00 00 08 ${T_PRF}  00 00 00 10 02 01 00 01  00 00 00 08 ${T_PRF}`,
    code: 'INVALID_VALUE',
    says: 'Last Substruc is 0',
  },
  {
    name: 'SA: last transform says "more" (3)',
    first: SA,
    hex: `00 00 00 28  00 00 00 24 01 01 00 03  03 00 00 0c ${T_ENCR}  03 00 00 08 ${T_PRF}  03 00 00 08 ${T_KE}`,
    code: 'INVALID_VALUE',
    says: 'transform[2]: Last Substruc is 3',
  },
  {
    name: 'SA: a middle transform says "last" (0)',
    first: SA,
    hex: `00 00 00 28  00 00 00 24 01 01 00 03  03 00 00 0c ${T_ENCR}  00 00 00 08 ${T_PRF}  00 00 00 08 ${T_KE}`,
    code: 'INVALID_VALUE',
    says: 'transform[1]: Last Substruc is 0',
  },
  {
    name: 'SA: a transform uses the proposal value 2 for "more"',
    first: SA,
    hex: `00 00 00 28  00 00 00 24 01 01 00 03  02 00 00 0c ${T_ENCR}  03 00 00 08 ${T_PRF}  00 00 00 08 ${T_KE}`,
    code: 'INVALID_VALUE',
  },
  { name: 'SA: proposal length < 8', first: SA, hex: '00 00 00 0c  00 00 00 07 01 01 00 00', code: 'BAD_LENGTH' },
  { name: 'SA: proposal length > remaining', first: SA, hex: '00 00 00 0c  00 00 00 10 01 01 00 00', code: 'TRUNCATED' },
  { name: 'SA: transform length < 8', first: SA, hex: `00 00 00 14  00 00 00 10 01 01 00 01  00 00 00 07 ${T_PRF}`, code: 'BAD_LENGTH' },
  { name: 'SA: transform length > remaining', first: SA, hex: `00 00 00 14  00 00 00 10 01 01 00 01  00 00 00 0c ${T_PRF}`, code: 'TRUNCATED' },
  { name: 'SA: IKE proposal with a 4-octet SPI', first: SA, hex: `00 00 00 18  00 00 00 14 01 01 04 01  01 02 03 04  00 00 00 08 ${T_PRF}`, code: 'INVALID_VALUE', says: 'SPI size 4' },
  { name: 'SA: ESP proposal without SPI', first: SA, hex: `00 00 00 14  00 00 00 10 01 03 00 01  00 00 00 08 01 00 00 1c`, code: 'INVALID_VALUE' },
  { name: 'SA: proposal number 0', first: SA, hex: `00 00 00 14  00 00 00 10 00 01 00 01  00 00 00 08 ${T_PRF}`, code: 'INVALID_VALUE' },
  {
    name: 'SA: proposals numbered 1, 3',
    first: SA,
    hex: `00 00 00 24  02 00 00 10 01 01 00 01  00 00 00 08 ${T_PRF}  00 00 00 10 03 01 00 01  00 00 00 08 ${T_PRF}`,
    code: 'INVALID_VALUE',
    says: 'does not follow',
  },
  {
    name: 'SA: several proposals not starting at 1',
    first: SA,
    hex: `00 00 00 24  02 00 00 10 02 01 00 01  00 00 00 08 ${T_PRF}  00 00 00 10 03 01 00 01  00 00 00 08 ${T_PRF}`,
    code: 'INVALID_VALUE',
  },
  { name: 'SA: KEY_LENGTH in TLV format', first: SA, hex: `00 00 00 1a  00 00 00 16 01 01 00 01  00 00 00 0e 01 00 00 14 00 0e 00 02 01 00`, code: 'INVALID_VALUE', says: 'TV format' },
  { name: 'SA: two KEY_LENGTH attributes', first: SA, hex: `00 00 00 1c  00 00 00 18 01 01 00 01  00 00 00 10 01 00 00 14 80 0e 00 80 80 0e 01 00`, code: 'INVALID_VALUE', says: 'duplicate' },
  { name: 'SA: TLV attribute longer than its transform', first: SA, hex: `00 00 00 1a  00 00 00 16 01 01 00 01  00 00 00 0e 01 00 00 14 00 63 00 05 01 02`, code: 'TRUNCATED' },
  { name: 'SA: attribute header cut in half', first: SA, hex: `00 00 00 16  00 00 00 12 01 01 00 01  00 00 00 0a 01 00 00 14 80 0e`, code: 'TRUNCATED' },
  // ---- KE (§3.4)
  { name: 'KE without data', first: KE, hex: '00 00 00 08  00 13 00 00', code: 'INVALID_VALUE' },
  { name: 'KE cut inside the group field', first: KE, hex: '00 00 00 05  00', code: 'TRUNCATED' },
  // ---- CERT, CERTREQ, AUTH (§3.6-3.8)
  { name: 'CERT without data', first: CERT, hex: '00 00 00 05  04', code: 'INVALID_VALUE' },
  { name: 'CERTREQ: 21 octets is not a list of SHA-1 hashes', first: CERTREQ, hex: `00 00 00 1a  04 ${rep('aa', 21)}`, code: 'BAD_LENGTH' },
  { name: 'AUTH without data', first: AUTH, hex: '00 00 00 08  02 00 00 00', code: 'INVALID_VALUE' },
  // ---- Nonce (§3.9: 16..256)
  { name: 'nonce of 15 octets', first: NONCE, hex: `00 00 00 13  ${rep('11', 15)}`, code: 'INVALID_VALUE', says: '15 octet(s)' },
  { name: 'nonce of 257 octets', first: NONCE, hex: `00 00 01 05  ${rep('11', 257)}`, code: 'INVALID_VALUE' },
  { name: 'empty nonce', first: NONCE, hex: '00 00 00 04', code: 'INVALID_VALUE' },
  // ---- Notify (§3.10)
  { name: 'N: ESP SPI of 8 octets', first: NOTIFY, hex: `00 00 00 10  03 08 40 09  ${rep('01', 8)}`, code: 'INVALID_VALUE' },
  { name: 'N: SPI with protocol 0', first: NOTIFY, hex: `00 00 00 0c  00 04 40 09  ${rep('01', 4)}`, code: 'INVALID_VALUE' },
  { name: 'N: SPI size beyond the payload', first: NOTIFY, hex: '00 00 00 0a  03 04 40 09  01 02', code: 'TRUNCATED' },
  { name: 'N: NAT detection hash of 19 octets', first: NOTIFY, hex: `00 00 00 1b  00 00 40 05  ${rep('cd', 19)}`, code: 'INVALID_VALUE' },
  { name: 'N: INVALID_KE_PAYLOAD with 3 octets', first: NOTIFY, hex: '00 00 00 0b  00 00 00 11  00 13 00', code: 'INVALID_VALUE' },
  { name: 'N: COOKIE of 65 octets', first: NOTIFY, hex: `00 00 00 49  00 00 40 06  ${rep('01', 65)}`, code: 'INVALID_VALUE' },
  { name: 'N: empty COOKIE', first: NOTIFY, hex: '00 00 00 08  00 00 40 06', code: 'INVALID_VALUE' },
  { name: 'N: SIGNATURE_HASH_ALGORITHMS with an odd length', first: NOTIFY, hex: '00 00 00 0b  00 00 40 2f  00 02 00', code: 'BAD_LENGTH' },
  // ---- Delete (§3.11)
  { name: 'D: IKE with an SPI size', first: DELETE, hex: '00 00 00 0c  01 04 00 01  01 02 03 04', code: 'INVALID_VALUE' },
  { name: 'D: ESP with SPI size 8', first: DELETE, hex: `00 00 00 10  03 08 00 01  ${rep('01', 8)}`, code: 'INVALID_VALUE' },
  { name: 'D: ESP with no SPI', first: DELETE, hex: '00 00 00 08  03 04 00 00', code: 'INVALID_VALUE' },
  { name: 'D: count says 2, one SPI present', first: DELETE, hex: '00 00 00 0c  03 04 00 02  01 02 03 04', code: 'BAD_LENGTH' },
  { name: 'D: unknown protocol', first: DELETE, hex: '00 00 00 0c  07 04 00 01  01 02 03 04', code: 'INVALID_VALUE' },
  // ---- TS (§3.13)
  { name: 'TS: IPv4 selector length 15', first: TSi, hex: `00 00 00 18  01 00 00 00  07 00 00 0f 00 00 ff ff ${rep('00', 4)} ${rep('ff', 4)}`, code: 'BAD_LENGTH', says: 'selector length 15' },
  { name: 'TS: IPv4 selector length 40', first: TSi, hex: `00 00 00 18  01 00 00 00  07 00 00 28 00 00 ff ff ${rep('00', 4)} ${rep('ff', 4)}`, code: 'BAD_LENGTH' },
  { name: 'TS: IPv6 selector length 16', first: TSr, hex: `00 00 00 18  01 00 00 00  08 00 00 10 00 00 ff ff ${rep('00', 4)} ${rep('ff', 4)}`, code: 'BAD_LENGTH' },
  { name: 'TS: count 2, one selector', first: TSi, hex: `00 00 00 18  02 00 00 00  07 00 00 10 00 00 ff ff ${rep('00', 4)} ${rep('ff', 4)}`, code: 'TRUNCATED' },
  { name: 'TS: count 1, octets after it', first: TSi, hex: `00 00 00 1a  01 00 00 00  07 00 00 10 00 00 ff ff ${rep('00', 4)} ${rep('ff', 4)} 00 00`, code: 'TRAILING_BYTES' },
  { name: 'TS: count 0', first: TSi, hex: '00 00 00 08  00 00 00 00', code: 'INVALID_VALUE' },
  { name: 'TS: unknown TS type 10', first: TSi, hex: `00 00 00 18  01 00 00 00  0a 00 00 10 00 00 ff ff ${rep('00', 4)} ${rep('ff', 4)}`, code: 'INVALID_VALUE' },
  { name: 'TS: selector cut short', first: TSi, hex: `00 00 00 14  01 00 00 00  07 00 00 10 00 00 ff ff ${rep('00', 4)}`, code: 'TRUNCATED' },
  // ---- CP (§3.15.1)
  { name: 'CP: INTERNAL_IP4_ADDRESS of 3 octets', first: CP, hex: '00 00 00 0f  02 00 00 00  00 01 00 03 0a 63 00', code: 'BAD_LENGTH' },
  { name: 'CP: INTERNAL_IP6_ADDRESS of 16 octets (needs 17)', first: CP, hex: `00 00 00 1c  02 00 00 00  00 08 00 10 ${rep('fd', 16)}`, code: 'BAD_LENGTH' },
  { name: 'CP: attribute longer than the payload', first: CP, hex: '00 00 00 0e  02 00 00 00  00 19 00 05 61 62', code: 'TRUNCATED' },
  { name: 'CP: attribute header cut in half', first: CP, hex: '00 00 00 0a  02 00 00 00  00 19', code: 'TRUNCATED' },
  // ---- EAP (§3.16, RFC 3748 §4)
  { name: 'EAP: length field 6, payload holds 5', first: EAP, hex: '00 00 00 09  01 01 00 06 01', code: 'BAD_LENGTH' },
  { name: 'EAP: length field 4, payload holds 5', first: EAP, hex: '00 00 00 09  01 01 00 04 01', code: 'BAD_LENGTH' },
  { name: 'EAP: shorter than its header', first: EAP, hex: '00 00 00 07  03 05 00', code: 'TRUNCATED' },
  // ---- SKF (RFC 7383 §2.5)
  { name: 'SKF: fragment 0', first: SKF, hex: '23 00 00 0c  00 00 00 02  ee ee ee ee', code: 'INVALID_VALUE' },
  { name: 'SKF: fragment 3 of 2', first: SKF, hex: '00 00 00 0c  00 03 00 02  ee ee ee ee', code: 'INVALID_VALUE' },
  { name: 'SKF: header cut short', first: SKF, hex: '00 00 00 07  00 01 00', code: 'TRUNCATED' },
];

function decodeError(fn: () => unknown): DecodeError {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof DecodeError, `expected a DecodeError, got ${String(e)}`);
    return e;
  }
  assert.fail('expected a DecodeError, but decoding succeeded');
}

describe('decoder bounds: each malformed input gives a typed DecodeError', () => {
  for (const c of cases) {
    it(c.name, () => {
      const e = decodeError(() => decodePayloadChain(c.first, hex(c.hex), 'test'));
      assert.equal(e.code, c.code, e.message);
      assert.ok(e.path.startsWith('test'), e.path);
      if (c.says !== undefined) assert.ok(e.message.includes(c.says), `"${e.message}" does not mention "${c.says}"`);
    });
  }
});

describe('payload chain walk (RFC 7296 §2.5)', () => {
  it('an unknown critical payload names its type, even after valid payloads', () => {
    const e = decodeError(() => decodePayloadChain(NOTIFY, hex('63 00 00 08  00 00 40 00  00 80 00 06 aa bb'), 'msg'));
    assert.equal(e.code, 'UNSUPPORTED_CRITICAL_PAYLOAD');
    assert.equal(e.payloadType, 99);
    assert.equal(e.path, 'msg/UNKNOWN(99)[1]');
  });

  it('an unknown non-critical payload is kept and the walk continues', () => {
    const payloads = decodePayloadChain(0xfe, hex('29 00 00 07 aa bb cc  00 00 00 08  00 00 40 00'), 'msg');
    assert.deepEqual(payloads, [
      { type: 0xfe, critical: false, body: hex('aabbcc'), unknown: true },
      { type: NOTIFY, protocol: 0, spi: new Uint8Array(0), notifyType: 16384, data: new Uint8Array(0) },
    ]);
  });

  it('an empty chain (Next Payload 0) is no payloads, and leftover octets are an error', () => {
    assert.deepEqual(decodePayloadChain(0, new Uint8Array(0), 'msg'), []);
    assert.equal(decodeError(() => decodePayloadChain(0, hex('00'), 'msg')).code, 'TRAILING_BYTES');
  });

  it('errors carry the absolute offset and the path down to the sub-structure', () => {
    // the middle transform's Last Substruc (at body offset 20) is wrong; the chain starts at datagram offset 28
    const bytes = hex(`00 00 00 28  00 00 00 24 01 01 00 03  03 00 00 0c ${T_ENCR}  00 00 00 08 ${T_PRF}  00 00 00 08 ${T_KE}`);
    const e = decodeError(() => decodePayloadChain(SA, bytes, 'IKE_SA_INIT', 28));
    assert.equal(e.path, 'IKE_SA_INIT/SA[0]/proposal[0]');
    assert.equal(e.offset, 28 + 4 + 8 + 12 + 8);
  });

  it('ignores the CP attribute R bit on receipt (RFC 7296 §3.15.1) and never sends it', () => {
    const [p] = decodePayloadChain(CP, hex('00 00 00 0c  02 00 00 00  80 01 00 00'), 'msg');
    assert.deepEqual(p, { type: CP, cfgType: 2, attributes: [{ type: 1, value: new Uint8Array(0) }] });
  });

  it('ignores RESERVED octets on receipt (RFC 7296 §3.2)', () => {
    const [p] = decodePayloadChain(AUTH, hex('00 7f 00 09  02 ff ff ff  5a'), 'msg');
    assert.deepEqual(p, { type: AUTH, method: 2, data: hex('5a') });
  });
});
