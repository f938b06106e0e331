/**
 * Real datagrams from Debian's strongSwan (two charons in network
 * namespaces, captured with tcpdump by fixtures/capture-strongswan.sh):
 * every one must decode, re-encode to the identical bytes, and read as
 * charon itself logged it; the IKE_SA_INIT contents must be what the
 * capture's swanctl.conf configured.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { EncrId, ExchangeType, IntegId, KeId, NotifyType, PayloadType, PrfId, ProtocolId, TransformType } from '../../../../native-helper/src/ike/constants.js';
import { describeMessage } from '../../../../native-helper/src/ike/codec/describe.js';
import { decodeMessage, encodeMessage } from '../../../../native-helper/src/ike/codec/message.js';
import type { IkeMessage, KnownPayload, NotifyPayload, Payload } from '../../../../native-helper/src/ike/codec/types.js';
import { STRONGSWAN_CAPTURES } from './fixtures/strongswan-captures.js';
import { hex, toHex } from './hex.js';

/**
 * What the client charon logged for each datagram in capture order
 * ("generating"/"parsed" lines of charon-cl.log during the capture run).
 * Encrypted messages show as [ SK ] / [ EF(n/m) ] here, since nothing is decrypted.
 */
const CHARON_LINES = [
  'IKE_SA_INIT request 0 [ SA KE No N(NATD_S_IP) N(NATD_D_IP) N(FRAG_SUP) N(HASH_ALG) N(REDIR_SUP) ]',
  'IKE_SA_INIT response 0 [ SA KE No N(NATD_S_IP) N(NATD_D_IP) N(FRAG_SUP) N(HASH_ALG) N(CHDLESS_SUP) N(MULT_AUTH) ]',
  'IKE_AUTH request 1 [ EF(1/2) ]',
  'IKE_AUTH request 1 [ EF(2/2) ]',
  'IKE_AUTH response 1 [ SK ]',
  'INFORMATIONAL request 2 [ SK ]',
  'INFORMATIONAL response 2 [ SK ]',
  'IKE_SA_INIT request 0 [ SA KE No N(NATD_S_IP) N(NATD_D_IP) N(FRAG_SUP) N(HASH_ALG) N(REDIR_SUP) ]',
  'IKE_SA_INIT response 0 [ N(INVAL_KE) ]',
  'IKE_SA_INIT request 0 [ SA KE No N(NATD_S_IP) N(NATD_D_IP) N(FRAG_SUP) N(HASH_ALG) N(REDIR_SUP) ]',
  'IKE_SA_INIT response 0 [ SA KE No N(NATD_S_IP) N(NATD_D_IP) N(FRAG_SUP) N(HASH_ALG) N(CHDLESS_SUP) N(MULT_AUTH) ]',
  'IKE_AUTH request 1 [ EF(1/2) ]',
  'IKE_AUTH request 1 [ EF(2/2) ]',
  'IKE_AUTH response 1 [ SK ]',
  'INFORMATIONAL request 2 [ SK ]',
  'INFORMATIONAL response 2 [ SK ]',
];

function decoded(index: number): IkeMessage {
  const c = STRONGSWAN_CAPTURES[index];
  assert.ok(c !== undefined, `capture ${index}`);
  const r = decodeMessage(hex(c.hex));
  assert.ok(r.ok, r.ok ? '' : r.error.message);
  return r.value;
}

function known<T extends KnownPayload['type']>(payloads: readonly Payload[], type: T): Extract<KnownPayload, { type: T }>[] {
  return payloads.filter((p): p is Extract<KnownPayload, { type: T }> => p.type === type && !('unknown' in p));
}

function notify(m: IkeMessage, type: number): NotifyPayload {
  const n = known(m.payloads, PayloadType.NOTIFY).find((p) => p.notifyType === type);
  assert.ok(n !== undefined, `N(${type}) missing`);
  return n;
}

describe('real strongSwan datagrams', () => {
  it('the fixture holds both exchanges of two IKE SAs', () => {
    assert.equal(STRONGSWAN_CAPTURES.length, CHARON_LINES.length);
  });

  STRONGSWAN_CAPTURES.forEach((c, i) => {
    it(`${c.label} (${c.src} -> ${c.dst}): decodes, re-encodes identically, reads as charon logged it`, () => {
      const wire = hex(c.hex);
      const m = decoded(i);
      assert.equal(m.header.length, wire.length);
      assert.equal(m.header.response, c.src.startsWith('192.0.2.1:'), 'responses come from the gateway');
      assert.equal(m.header.initiator, !m.header.response, 'the client initiated both IKE SAs');
      assert.equal(toHex(encodeMessage(m.header, m.payloads)), toHex(wire));
      assert.equal(describeMessage(m), CHARON_LINES[i]);
    });
  });

  it('IKE_SA_INIT request: two proposals with KEY_LENGTH attributes, as configured', () => {
    const m = decoded(0);
    assert.equal(m.header.exchange, ExchangeType.IKE_SA_INIT);
    assert.equal(toHex(m.header.spiR), '0000000000000000');
    const [sa] = known(m.payloads, PayloadType.SA);
    // proposals = aes256gcm16-aes128gcm16-prfsha256-prfsha384-ecp256-curve25519, aes128-aes256-sha256-sha384-ecp256-modp3072
    assert.deepEqual(sa?.proposals, [
      {
        number: 1,
        protocol: ProtocolId.IKE,
        spi: new Uint8Array(0),
        transforms: [
          { type: TransformType.ENCR, id: EncrId.AES_GCM_16, keyLength: 256 },
          { type: TransformType.ENCR, id: EncrId.AES_GCM_16, keyLength: 128 },
          { type: TransformType.PRF, id: PrfId.HMAC_SHA2_256 },
          { type: TransformType.PRF, id: PrfId.HMAC_SHA2_384 },
          { type: TransformType.KE, id: KeId.ECP_256 },
          { type: TransformType.KE, id: KeId.CURVE25519 },
        ],
      },
      {
        number: 2,
        protocol: ProtocolId.IKE,
        spi: new Uint8Array(0),
        transforms: [
          { type: TransformType.ENCR, id: EncrId.AES_CBC, keyLength: 128 },
          { type: TransformType.ENCR, id: EncrId.AES_CBC, keyLength: 256 },
          { type: TransformType.INTEG, id: IntegId.HMAC_SHA2_256_128 },
          { type: TransformType.INTEG, id: IntegId.HMAC_SHA2_384_192 },
          { type: TransformType.PRF, id: PrfId.HMAC_SHA2_256 },
          { type: TransformType.PRF, id: PrfId.HMAC_SHA2_384 },
          { type: TransformType.KE, id: KeId.ECP_256 },
          { type: TransformType.KE, id: KeId.MODP_3072 },
        ],
      },
    ]);
    const [ke] = known(m.payloads, PayloadType.KE);
    assert.equal(ke?.group, KeId.ECP_256);
    assert.equal(ke?.data.length, 64, 'ECP-256 public value x || y (RFC 5903 §7)');
    assert.equal(known(m.payloads, PayloadType.NONCE)[0]?.nonce.length, 32);
    assert.equal(notify(m, NotifyType.NAT_DETECTION_SOURCE_IP).data.length, 20);
    assert.equal(notify(m, NotifyType.NAT_DETECTION_DESTINATION_IP).data.length, 20);
    assert.equal(notify(m, NotifyType.IKEV2_FRAGMENTATION_SUPPORTED).data.length, 0);
  });

  it('IKE_SA_INIT response: the gateway picked proposal 1 with AES-GCM-16/256, PRF SHA-256, ECP-256', () => {
    const req = decoded(0);
    const m = decoded(1);
    assert.equal(toHex(m.header.spiI), toHex(req.header.spiI));
    assert.notEqual(toHex(m.header.spiR), '0000000000000000');
    assert.deepEqual(known(m.payloads, PayloadType.SA)[0]?.proposals, [
      {
        number: 1,
        protocol: ProtocolId.IKE,
        spi: new Uint8Array(0),
        transforms: [
          { type: TransformType.ENCR, id: EncrId.AES_GCM_16, keyLength: 256 },
          { type: TransformType.PRF, id: PrfId.HMAC_SHA2_256 },
          { type: TransformType.KE, id: KeId.ECP_256 },
        ],
      },
    ]);
    assert.equal(known(m.payloads, PayloadType.KE)[0]?.data.length, 64);
  });

  it('IKE_AUTH fragments (RFC 7383): 1/2 names the first inner payload, 2/2 has Next Payload 0', () => {
    const [f1] = decoded(2).payloads;
    const [f2] = decoded(3).payloads;
    assert.ok(f1 !== undefined && f1.type === PayloadType.SKF && !('unknown' in f1));
    assert.ok(f2 !== undefined && f2.type === PayloadType.SKF && !('unknown' in f2));
    assert.deepEqual([f1.fragmentNumber, f1.totalFragments, f1.innerNext], [1, 2, PayloadType.IDi]);
    assert.deepEqual([f2.fragmentNumber, f2.totalFragments, f2.innerNext], [2, 2, 0]);
  });

  it('INVALID_KE_PAYLOAD: MODP-3072 offered first, the gateway wants group 19, the client retries with it', () => {
    const first = decoded(7);
    assert.equal(known(first.payloads, PayloadType.KE)[0]?.group, KeId.MODP_3072);
    assert.equal(known(first.payloads, PayloadType.KE)[0]?.data.length, 384);
    const refusal = decoded(8);
    assert.equal(toHex(refusal.header.spiR), '0000000000000000');
    assert.equal(toHex(notify(refusal, NotifyType.INVALID_KE_PAYLOAD).data), '0013');
    const retry = decoded(9);
    assert.equal(known(retry.payloads, PayloadType.KE)[0]?.group, KeId.ECP_256);
  });
});
