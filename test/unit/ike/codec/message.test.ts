/**
 * Message level: the IKE header (RFC 7296 §3.1), whole-message decode and
 * encode, the SK in-place contract the encryption layer relies on, and the
 * log-line summaries.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';

import { CfgAttr, CfgType, ExchangeType, IKE_VERSION, IdType, NotifyType, PayloadType } from '../../../../native-helper/src/ike/constants.js';
import { describeMessage } from '../../../../native-helper/src/ike/codec/describe.js';
import { DecodeError } from '../../../../native-helper/src/ike/codec/errors.js';
import { decodeHeader, encodeHeader } from '../../../../native-helper/src/ike/codec/header.js';
import { decodeMessage, encodeMessage } from '../../../../native-helper/src/ike/codec/message.js';
import { decodePayloadChain, encodePayloadChain } from '../../../../native-helper/src/ike/codec/payload-chain.js';
import { Reader } from '../../../../native-helper/src/ike/codec/reader.js';
import type { IkeHeader, IkeMessage, Payload } from '../../../../native-helper/src/ike/codec/types.js';
import { ascii, hex, toHex } from './hex.js';

const none = new Uint8Array(0);

const HEADER_HEX = `0102030405060708 1112131415161718  2e 20 23 08  00 00 00 01  00 00 00 4c`;
const header: IkeHeader = {
  spiI: hex('0102030405060708'),
  spiR: hex('1112131415161718'),
  nextPayload: PayloadType.SK,
  version: IKE_VERSION,
  exchange: ExchangeType.IKE_AUTH,
  initiator: true,
  response: false,
  messageId: 1,
  length: 76,
};

function mustFail(bytes: Uint8Array): DecodeError {
  const r = decodeMessage(bytes);
  assert.equal(r.ok, false, 'expected decodeMessage to fail');
  if (r.ok) throw new Error('unreachable');
  assert.ok(r.error instanceof DecodeError);
  return r.error;
}

describe('IKE header (RFC 7296 §3.1)', () => {
  it('round-trips 28 octets', () => {
    assert.deepEqual(decodeHeader(new Reader(hex(HEADER_HEX), 'h')), header);
    assert.equal(toHex(encodeHeader(header)), toHex(hex(HEADER_HEX)));
  });

  it('reads the flags: response 0x20, version 0x10, initiator 0x08; ignores the others and the minor version', () => {
    const h = decodeHeader(new Reader(hex(`${'00'.repeat(16)} 29 2f 25 f7  ff ff ff ff  00 00 00 1c`), 'h'));
    assert.deepEqual(h, {
      spiI: new Uint8Array(8),
      spiR: new Uint8Array(8),
      nextPayload: 41,
      version: 0x2f,
      exchange: 37,
      initiator: false,
      response: true,
      higherVersion: true,
      messageId: 0xffffffff,
      length: 28,
    });
    // sent back with the unknown flag bits cleared
    assert.equal(toHex(encodeHeader(h).subarray(16, 20)), '292f2530');
  });

  it('rejects another major version with INVALID_MAJOR_VERSION', () => {
    for (const version of ['10', '30', 'f0']) {
      const e = mustFail(hex(`${'00'.repeat(16)} 00 ${version} 22 08  00 00 00 00  00 00 00 1c`));
      assert.equal(e.code, 'INVALID_MAJOR_VERSION', version);
    }
  });

  it('rejects a truncated header, a Length below 28, and a Length that is not the datagram size', () => {
    assert.equal(mustFail(new Uint8Array(0)).code, 'TRUNCATED');
    assert.equal(mustFail(hex(HEADER_HEX).subarray(0, 27)).code, 'TRUNCATED');
    assert.equal(mustFail(hex(`${'00'.repeat(16)} 00 20 22 08  00 00 00 00  00 00 00 1b`)).code, 'BAD_LENGTH');
    const empty = hex(`${'00'.repeat(16)} 00 20 22 08  00 00 00 00  00 00 00 1c`);
    assert.equal(decodeMessage(empty).ok, true);
    const longer = new Uint8Array(29);
    longer.set(empty);
    assert.equal(mustFail(longer).code, 'TRAILING_BYTES');
    const shorter = hex(`${'00'.repeat(16)} 00 20 22 08  00 00 00 00  00 00 00 1d`);
    assert.equal(mustFail(shorter).code, 'TRUNCATED');
  });
});

describe('messages', () => {
  const payloads: Payload[] = [
    { type: PayloadType.NOTIFY, protocol: 0, spi: none, notifyType: NotifyType.COOKIE, data: hex('0102030405060708') },
    { type: PayloadType.NONCE, nonce: hex('11'.repeat(32)) },
  ];
  const h = { spiI: hex('0102030405060708'), spiR: new Uint8Array(8), version: IKE_VERSION, exchange: ExchangeType.IKE_SA_INIT, initiator: true, response: false, messageId: 0 };

  it('encodes Next Payload and Length, and decodes back to the same message', () => {
    const bytes = encodeMessage(h, payloads);
    assert.equal(bytes.length, 28 + 16 + 36);
    assert.equal(bytes[16], PayloadType.NOTIFY);
    assert.equal(bytes[28], PayloadType.NONCE);
    const r = decodeMessage(bytes);
    assert.ok(r.ok);
    assert.deepEqual(r.value, { header: { ...h, nextPayload: PayloadType.NOTIFY, length: bytes.length }, payloads });
  });

  it('returns views of the datagram (no copies), as plain Uint8Array even for a Buffer', () => {
    const buf = Buffer.from(encodeMessage(h, payloads));
    const r = decodeMessage(buf);
    assert.ok(r.ok);
    const nonce = (r.value.payloads[1] as { nonce: Uint8Array }).nonce;
    assert.equal(Object.getPrototypeOf(nonce), Uint8Array.prototype);
    assert.equal(nonce.buffer, buf.buffer);
  });

  it('lets the encryption layer overwrite the SK body in place; the prefix is the associated data', () => {
    const inner: Payload[] = [
      { type: PayloadType.IDi, idType: IdType.ID_FQDN, data: ascii('client.example') },
      { type: PayloadType.CP, cfgType: CfgType.CFG_REQUEST, attributes: [{ type: CfgAttr.INTERNAL_IP4_ADDRESS, value: none }] },
    ];
    const plain = encodePayloadChain(inner);
    const sealed = randomBytes(plain.bytes.length + 8 + 16); // stand-in for IV || ciphertext || ICV
    const msg = encodeMessage({ ...h, exchange: ExchangeType.IKE_AUTH, messageId: 1 }, [
      { type: PayloadType.SK, innerNext: plain.first, body: new Uint8Array(sealed.length) },
    ]);
    const aad = Uint8Array.from(msg.subarray(0, msg.length - sealed.length));
    assert.equal(aad.length, 28 + 4, 'header + SK generic header');
    assert.equal(aad[28], PayloadType.IDi, 'SK Next Payload = first inner payload');
    msg.subarray(msg.length - sealed.length).set(sealed);

    const r = decodeMessage(msg);
    assert.ok(r.ok);
    const sk = r.value.payloads[0];
    assert.ok(sk !== undefined && sk.type === PayloadType.SK && !('unknown' in sk));
    assert.equal(toHex(sk.body), toHex(sealed));
    assert.equal(sk.innerNext, PayloadType.IDi);
    assert.equal(r.value.header.length, msg.length);
    // and the decrypted chain decodes with absolute offsets
    assert.deepEqual(decodePayloadChain(sk.innerNext, plain.bytes, 'SK', aad.length), inner);
  });

  it('refuses to encode SK anywhere but last, and nonsense values', () => {
    const sk: Payload = { type: PayloadType.SK, innerNext: 0, body: none };
    assert.throws(() => encodeMessage(h, [sk, payloads[0] as Payload]), RangeError);
    assert.throws(() => encodeMessage(h, [{ type: PayloadType.NONCE, nonce: new Uint8Array(15) }]), RangeError);
    assert.throws(() => encodeMessage({ ...h, spiI: new Uint8Array(4) }, []), RangeError);
    assert.throws(() => encodeMessage(h, [{ type: PayloadType.NOTIFY, critical: false, body: none, unknown: true }]), RangeError);
  });

  it('never throws for random datagrams, with or without a plausible header', () => {
    for (let i = 0; i < 2000; i++) {
      const b = randomBytes(i % 200);
      if (i % 2 === 0 && b.length >= 28) {
        b[17] = 0x20;
        b.writeUInt32BE(b.length, 24);
      }
      const r = decodeMessage(b);
      if (!r.ok) assert.ok(r.error instanceof DecodeError);
    }
  });
});

describe('describeMessage (charon-style log lines)', () => {
  const auth: IkeMessage = {
    header: { ...header, nextPayload: PayloadType.SK },
    payloads: [{ type: PayloadType.SK, innerNext: PayloadType.IDi, body: none }],
  };
  const inner: Payload[] = [
    { type: PayloadType.IDi, idType: IdType.ID_FQDN, data: ascii('c') },
    { type: PayloadType.NOTIFY, protocol: 0, spi: none, notifyType: NotifyType.INITIAL_CONTACT, data: none },
    { type: PayloadType.IDr, idType: IdType.ID_FQDN, data: ascii('g') },
    { type: PayloadType.AUTH, method: 2, data: hex('00') },
    { type: PayloadType.CP, cfgType: CfgType.CFG_REQUEST, attributes: [{ type: CfgAttr.INTERNAL_IP4_ADDRESS, value: none }, { type: CfgAttr.INTERNAL_IP4_DNS, value: none }] },
    { type: PayloadType.SA, proposals: [] },
    { type: PayloadType.TSi, selectors: [] },
    { type: PayloadType.TSr, selectors: [] },
    { type: PayloadType.NOTIFY, protocol: 0, spi: none, notifyType: NotifyType.MOBIKE_SUPPORTED, data: none },
    { type: PayloadType.EAP, message: hex('0101000501') },
    { type: PayloadType.DELETE, protocol: 1, spis: [] },
    { type: 99, critical: false, body: none, unknown: true },
  ];

  it('lists the SK payload alone when not decrypted', () => {
    assert.equal(describeMessage(auth), 'IKE_AUTH request 1 [ SK ]');
  });

  it('lists the decrypted payloads in place of SK', () => {
    assert.equal(
      describeMessage(auth, inner),
      'IKE_AUTH request 1 [ IDi N(INITIAL_CONTACT) IDr AUTH CPRQ(ADDR DNS) SA TSi TSr N(MOBIKE_SUP) EAP/REQ/ID D UNKNOWN(99) ]',
    );
  });

  it('shows fragments, responses and empty messages', () => {
    const frag: IkeMessage = {
      header: { ...header, response: true, initiator: false, nextPayload: PayloadType.SKF },
      payloads: [{ type: PayloadType.SKF, innerNext: 0, fragmentNumber: 2, totalFragments: 3, body: none }],
    };
    assert.equal(describeMessage(frag), 'IKE_AUTH response 1 [ EF(2/3) ]');
    assert.equal(describeMessage({ header: { ...header, exchange: ExchangeType.INFORMATIONAL, messageId: 7 }, payloads: [] }), 'INFORMATIONAL request 7 [ ]');
  });
});
