/**
 * Table-driven round trips for every payload type: hex (written by hand
 * from the RFC diagrams) → typed → hex must be identical, and typed →
 * hex → typed equal. Each case also runs through the payload module's own
 * body decoder/encoder, without the generic header.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import {
  AuthMethod,
  CertEncoding,
  CfgAttr,
  CfgType,
  EncrId,
  IdType,
  IntegId,
  KeId,
  NotifyType,
  PayloadType,
  PrfId,
  ProtocolId,
  TransformType,
  TsType,
} from '../../../../native-helper/src/ike/constants.js';
import { decodePayloadChain, encodePayloadChain } from '../../../../native-helper/src/ike/codec/payload-chain.js';
import { decodeAuth, encodeAuth } from '../../../../native-helper/src/ike/codec/payloads/auth.js';
import { decodeCert, encodeCert } from '../../../../native-helper/src/ike/codec/payloads/cert.js';
import { decodeCertReq, encodeCertReq } from '../../../../native-helper/src/ike/codec/payloads/certreq.js';
import { decodeCp, encodeCp } from '../../../../native-helper/src/ike/codec/payloads/cp.js';
import { decodeDelete, encodeDelete } from '../../../../native-helper/src/ike/codec/payloads/delete.js';
import { decodeEap, encodeEap } from '../../../../native-helper/src/ike/codec/payloads/eap.js';
import { decodeId, encodeId } from '../../../../native-helper/src/ike/codec/payloads/id.js';
import { decodeKe, encodeKe } from '../../../../native-helper/src/ike/codec/payloads/ke.js';
import { decodeNonce, encodeNonce } from '../../../../native-helper/src/ike/codec/payloads/nonce.js';
import { decodeNotify, encodeNotify } from '../../../../native-helper/src/ike/codec/payloads/notify.js';
import { decodeSa, encodeSa } from '../../../../native-helper/src/ike/codec/payloads/sa.js';
import { decodeSk, encodeSk } from '../../../../native-helper/src/ike/codec/payloads/sk.js';
import { decodeSkf, encodeSkf } from '../../../../native-helper/src/ike/codec/payloads/skf.js';
import { decodeTs, encodeTs } from '../../../../native-helper/src/ike/codec/payloads/ts.js';
import { decodeVendor, encodeVendor } from '../../../../native-helper/src/ike/codec/payloads/vendor.js';
import { Reader } from '../../../../native-helper/src/ike/codec/reader.js';
import type { Payload } from '../../../../native-helper/src/ike/codec/types.js';
import { Writer } from '../../../../native-helper/src/ike/codec/writer.js';
import { ascii, hex, rep, toHex } from './hex.js';

interface Case {
  readonly name: string;
  /** the payload alone in a chain: generic header (Next Payload 0, or innerNext for SK/SKF) + body */
  readonly hex: string;
  readonly payload: Payload;
}

const none = new Uint8Array(0);

const cases: readonly Case[] = [
  // ---------------------------------------------------------------- SA (RFC 7296 §3.3)
  {
    name: 'SA: one IKE proposal, AES-GCM-16 with KEY_LENGTH 256',
    hex: `00 00 00 28
          00 00 00 24  01 01 00 03
          03 00 00 0c  01 00 00 14  80 0e 01 00
          03 00 00 08  02 00 00 05
          00 00 00 08  04 00 00 13`,
    payload: {
      type: PayloadType.SA,
      proposals: [
        {
          number: 1,
          protocol: ProtocolId.IKE,
          spi: none,
          transforms: [
            { type: TransformType.ENCR, id: EncrId.AES_GCM_16, keyLength: 256 },
            { type: TransformType.PRF, id: PrfId.HMAC_SHA2_256 },
            { type: TransformType.KE, id: KeId.ECP_256 },
          ],
        },
      ],
    },
  },
  {
    name: 'SA: two IKE proposals (Last Substruc 2 then 0), KEY_LENGTH 128 and 256',
    hex: `00 00 00 60
          02 00 00 38  01 01 00 05
          03 00 00 0c  01 00 00 0c  80 0e 00 80
          03 00 00 0c  01 00 00 0c  80 0e 01 00
          03 00 00 08  03 00 00 0c
          03 00 00 08  02 00 00 05
          00 00 00 08  04 00 00 0e
          00 00 00 24  02 01 00 03
          03 00 00 0c  01 00 00 14  80 0e 01 00
          03 00 00 08  02 00 00 06
          00 00 00 08  04 00 00 1f`,
    payload: {
      type: PayloadType.SA,
      proposals: [
        {
          number: 1,
          protocol: ProtocolId.IKE,
          spi: none,
          transforms: [
            { type: TransformType.ENCR, id: EncrId.AES_CBC, keyLength: 128 },
            { type: TransformType.ENCR, id: EncrId.AES_CBC, keyLength: 256 },
            { type: TransformType.INTEG, id: IntegId.HMAC_SHA2_256_128 },
            { type: TransformType.PRF, id: PrfId.HMAC_SHA2_256 },
            { type: TransformType.KE, id: KeId.MODP_2048 },
          ],
        },
        {
          number: 2,
          protocol: ProtocolId.IKE,
          spi: none,
          transforms: [
            { type: TransformType.ENCR, id: EncrId.AES_GCM_16, keyLength: 256 },
            { type: TransformType.PRF, id: PrfId.HMAC_SHA2_384 },
            { type: TransformType.KE, id: KeId.CURVE25519 },
          ],
        },
      ],
    },
  },
  {
    name: 'SA: ESP and AH proposals with 4-octet SPIs, ESN, TLV and TV attributes besides KEY_LENGTH',
    hex: `00 00 00 56
          02 00 00 36  01 03 04 03  c0 ff ee 01
          03 00 00 0c  01 00 00 0c  80 0e 01 00
          03 00 00 16  01 00 00 14  80 0e 00 80  00 63 00 02 ab cd  80 64 00 07
          00 00 00 08  05 00 00 00
          00 00 00 1c  02 02 04 02  c0 ff ee 02
          03 00 00 08  03 00 00 0e
          00 00 00 08  05 00 00 01`,
    payload: {
      type: PayloadType.SA,
      proposals: [
        {
          number: 1,
          protocol: ProtocolId.ESP,
          spi: hex('c0ffee01'),
          transforms: [
            { type: TransformType.ENCR, id: EncrId.AES_CBC, keyLength: 256 },
            {
              type: TransformType.ENCR,
              id: EncrId.AES_GCM_16,
              keyLength: 128,
              otherAttributes: [
                { type: 0x63, value: hex('abcd') },
                { type: 0x64, value: 7 },
              ],
            },
            { type: TransformType.ESN, id: 0 },
          ],
        },
        {
          number: 2,
          protocol: ProtocolId.AH,
          spi: hex('c0ffee02'),
          transforms: [
            { type: TransformType.INTEG, id: IntegId.HMAC_SHA2_512_256 },
            { type: TransformType.ESN, id: 1 },
          ],
        },
      ],
    },
  },
  {
    name: 'SA: IKE rekey proposal with an 8-octet SPI',
    hex: `00 00 00 1c
          00 00 00 18  01 01 08 01  01 02 03 04 05 06 07 08
          00 00 00 08  01 00 00 1c`,
    payload: {
      type: PayloadType.SA,
      proposals: [
        { number: 1, protocol: ProtocolId.IKE, spi: hex('0102030405060708'), transforms: [{ type: TransformType.ENCR, id: EncrId.CHACHA20_POLY1305 }] },
      ],
    },
  },
  {
    name: 'SA: a response proposal keeps the accepted number (3)',
    hex: `00 00 00 18
          00 00 00 14  03 03 04 01  00 00 10 01
          00 00 00 08  01 00 00 1c`,
    payload: {
      type: PayloadType.SA,
      proposals: [{ number: 3, protocol: ProtocolId.ESP, spi: hex('00001001'), transforms: [{ type: TransformType.ENCR, id: EncrId.CHACHA20_POLY1305 }] }],
    },
  },
  // ---------------------------------------------------------------- KE (§3.4)
  {
    name: 'KE: ECP-256, 64 octets',
    hex: `00 00 00 48  00 13 00 00  ${rep('a5', 64)}`,
    payload: { type: PayloadType.KE, group: KeId.ECP_256, data: hex(rep('a5', 64)) },
  },
  // ---------------------------------------------------------------- IDi/IDr (§3.5), every ID type
  {
    name: 'IDi: ID_IPV4_ADDR',
    hex: '00 00 00 0c  01 00 00 00  c0 00 02 02',
    payload: { type: PayloadType.IDi, idType: IdType.ID_IPV4_ADDR, data: hex('c0000202') },
  },
  {
    name: 'IDr: ID_FQDN',
    hex: `00 00 00 13  02 00 00 00  ${toHex(ascii('vpn.example'))}`,
    payload: { type: PayloadType.IDr, idType: IdType.ID_FQDN, data: ascii('vpn.example') },
  },
  {
    name: 'IDi: ID_RFC822_ADDR',
    hex: `00 00 00 19  03 00 00 00  ${toHex(ascii('carol@example.org'))}`,
    payload: { type: PayloadType.IDi, idType: IdType.ID_RFC822_ADDR, data: ascii('carol@example.org') },
  },
  {
    name: 'IDr: ID_IPV6_ADDR',
    hex: '00 00 00 18  05 00 00 00  20 01 0d b8 00 00 00 00 00 00 00 00 00 00 00 01',
    payload: { type: PayloadType.IDr, idType: IdType.ID_IPV6_ADDR, data: hex('20010db8000000000000000000000001') },
  },
  {
    name: 'IDi: ID_DER_ASN1_DN (CN=test)',
    hex: '00 00 00 19  09 00 00 00  30 0f 31 0d 30 0b 06 03 55 04 03 0c 04 74 65 73 74',
    payload: { type: PayloadType.IDi, idType: IdType.ID_DER_ASN1_DN, data: hex('300f310d300b06035504030c0474657374') },
  },
  {
    name: 'IDi: ID_DER_ASN1_GN (dNSName a.b)',
    hex: '00 00 00 0d  0a 00 00 00  82 03 61 2e 62',
    payload: { type: PayloadType.IDi, idType: IdType.ID_DER_ASN1_GN, data: hex('8203612e62') },
  },
  {
    name: 'IDr: ID_KEY_ID',
    hex: '00 00 00 10  0b 00 00 00  01 02 03 04 05 06 07 08',
    payload: { type: PayloadType.IDr, idType: IdType.ID_KEY_ID, data: hex('0102030405060708') },
  },
  // ---------------------------------------------------------------- CERT, CERTREQ (§3.6, §3.7)
  {
    name: 'CERT: X.509 signature',
    hex: '00 00 00 0a  04  30 03 02 01 05',
    payload: { type: PayloadType.CERT, encoding: CertEncoding.X509_SIGNATURE, data: hex('3003020105') },
  },
  {
    name: 'CERTREQ: two SHA-1 key hashes',
    hex: `00 00 00 2d  04  ${rep('aa', 20)} ${rep('bb', 20)}`,
    payload: { type: PayloadType.CERTREQ, encoding: CertEncoding.X509_SIGNATURE, data: hex(rep('aa', 20) + rep('bb', 20)) },
  },
  {
    name: 'CERTREQ: empty authority list',
    hex: '00 00 00 05  04',
    payload: { type: PayloadType.CERTREQ, encoding: CertEncoding.X509_SIGNATURE, data: none },
  },
  // ---------------------------------------------------------------- AUTH (§3.8)
  {
    name: 'AUTH: shared key MIC',
    hex: `00 00 00 28  02 00 00 00  ${rep('5a', 32)}`,
    payload: { type: PayloadType.AUTH, method: AuthMethod.PSK, data: hex(rep('5a', 32)) },
  },
  {
    name: 'AUTH: RFC 7427 digital signature',
    hex: '00 00 00 0b  0e 00 00 00  01 02 03',
    payload: { type: PayloadType.AUTH, method: AuthMethod.DIGITAL_SIGNATURE, data: hex('010203') },
  },
  // ---------------------------------------------------------------- Nonce (§3.9)
  {
    name: 'Nonce: 16 octets (the minimum)',
    hex: `00 00 00 14  ${rep('11', 16)}`,
    payload: { type: PayloadType.NONCE, nonce: hex(rep('11', 16)) },
  },
  {
    name: 'Nonce: 256 octets (the maximum)',
    hex: `00 00 01 04  ${rep('22', 256)}`,
    payload: { type: PayloadType.NONCE, nonce: hex(rep('22', 256)) },
  },
  // ---------------------------------------------------------------- Notify (§3.10)
  {
    name: 'N(INITIAL_CONTACT): no SPI, no data',
    hex: '00 00 00 08  00 00 40 00',
    payload: { type: PayloadType.NOTIFY, protocol: 0, spi: none, notifyType: NotifyType.INITIAL_CONTACT, data: none },
  },
  {
    name: 'N(NAT_DETECTION_SOURCE_IP): 20-octet hash',
    hex: `00 00 00 1c  00 00 40 04  ${rep('cd', 20)}`,
    payload: { type: PayloadType.NOTIFY, protocol: 0, spi: none, notifyType: NotifyType.NAT_DETECTION_SOURCE_IP, data: hex(rep('cd', 20)) },
  },
  {
    name: 'N(REKEY_SA): ESP SPI',
    hex: '00 00 00 0c  03 04 40 09  de ad be ef',
    payload: { type: PayloadType.NOTIFY, protocol: ProtocolId.ESP, spi: hex('deadbeef'), notifyType: NotifyType.REKEY_SA, data: none },
  },
  {
    name: 'N(INVALID_KE_PAYLOAD): accepted group 19',
    hex: '00 00 00 0a  00 00 00 11  00 13',
    payload: { type: PayloadType.NOTIFY, protocol: 0, spi: none, notifyType: NotifyType.INVALID_KE_PAYLOAD, data: hex('0013') },
  },
  {
    name: 'N(TS_UNACCEPTABLE) with the critical bit set (kept, though ignored for known payloads)',
    hex: '00 80 00 08  00 00 00 26',
    payload: { type: PayloadType.NOTIFY, critical: true, protocol: 0, spi: none, notifyType: NotifyType.TS_UNACCEPTABLE, data: none },
  },
  // ---------------------------------------------------------------- Delete (§3.11)
  {
    name: 'D: the IKE SA',
    hex: '00 00 00 08  01 00 00 00',
    payload: { type: PayloadType.DELETE, protocol: ProtocolId.IKE, spis: [] },
  },
  {
    name: 'D: two ESP SPIs',
    hex: '00 00 00 10  03 04 00 02  c0 00 00 01  c0 00 00 02',
    payload: { type: PayloadType.DELETE, protocol: ProtocolId.ESP, spis: [hex('c0000001'), hex('c0000002')] },
  },
  // ---------------------------------------------------------------- Vendor ID (§3.12)
  {
    name: 'V: 16-octet vendor ID',
    hex: '00 00 00 14  01 02 03 04 05 06 07 08 09 0a 0b 0c 0d 0e 0f 10',
    payload: { type: PayloadType.VENDOR, vendorId: hex('0102030405060708090a0b0c0d0e0f10') },
  },
  // ---------------------------------------------------------------- TSi/TSr (§3.13)
  {
    name: 'TSi: IPv4 everything',
    hex: '00 00 00 18  01 00 00 00  07 00 00 10 00 00 ff ff 00 00 00 00 ff ff ff ff',
    payload: {
      type: PayloadType.TSi,
      selectors: [
        { tsType: TsType.TS_IPV4_ADDR_RANGE, ipProtocol: 0, startPort: 0, endPort: 65535, startAddress: hex('00000000'), endAddress: hex('ffffffff') },
      ],
    },
  },
  {
    name: 'TSr: two IPv6 ranges (2001:db8::/32 any, ::1 TCP 443)',
    hex: `00 00 00 58  02 00 00 00
          08 00 00 28  00 00 ff ff  20 01 0d b8 ${rep('00', 12)}  20 01 0d b8 ${rep('ff', 12)}
          08 06 00 28  01 bb 01 bb  ${rep('00', 15)} 01  ${rep('00', 15)} 01`,
    payload: {
      type: PayloadType.TSr,
      selectors: [
        {
          tsType: TsType.TS_IPV6_ADDR_RANGE,
          ipProtocol: 0,
          startPort: 0,
          endPort: 65535,
          startAddress: hex(`20010db8${rep('00', 12)}`),
          endAddress: hex(`20010db8${rep('ff', 12)}`),
        },
        { tsType: TsType.TS_IPV6_ADDR_RANGE, ipProtocol: 6, startPort: 443, endPort: 443, startAddress: hex(`${rep('00', 15)}01`), endAddress: hex(`${rep('00', 15)}01`) },
      ],
    },
  },
  {
    name: 'TSi: IPv4 UDP 53 then IPv6, OPAQUE ports (65535..0)',
    hex: `00 00 00 40  02 00 00 00
          07 11 00 10  00 35 00 35  0a 0a 00 35  0a 0a 00 35
          08 11 00 28  ff ff 00 00  ${rep('00', 16)}  ${rep('ff', 16)}`,
    payload: {
      type: PayloadType.TSi,
      selectors: [
        { tsType: TsType.TS_IPV4_ADDR_RANGE, ipProtocol: 17, startPort: 53, endPort: 53, startAddress: hex('0a0a0035'), endAddress: hex('0a0a0035') },
        { tsType: TsType.TS_IPV6_ADDR_RANGE, ipProtocol: 17, startPort: 65535, endPort: 0, startAddress: hex(rep('00', 16)), endAddress: hex(rep('ff', 16)) },
      ],
    },
  },
  // ---------------------------------------------------------------- CP (§3.15)
  {
    name: 'CP: CFG_REQUEST for IPv4 address, DNS, IPv6 address and DNS domain',
    hex: '00 00 00 18  01 00 00 00  00 01 00 00  00 03 00 00  00 08 00 00  00 19 00 00',
    payload: {
      type: PayloadType.CP,
      cfgType: CfgType.CFG_REQUEST,
      attributes: [
        { type: CfgAttr.INTERNAL_IP4_ADDRESS, value: none },
        { type: CfgAttr.INTERNAL_IP4_DNS, value: none },
        { type: CfgAttr.INTERNAL_IP6_ADDRESS, value: none },
        { type: CfgAttr.INTERNAL_DNS_DOMAIN, value: none },
      ],
    },
  },
  {
    name: 'CP: CFG_REPLY with 10.99.0.1, DNS 10.10.0.53, fd00::2/64, corp.example',
    hex: `00 00 00 3d  02 00 00 00
          00 01 00 04  0a 63 00 01
          00 03 00 04  0a 0a 00 35
          00 08 00 11  fd 00 ${rep('00', 13)} 02 40
          00 19 00 0c  ${toHex(ascii('corp.example'))}`,
    payload: {
      type: PayloadType.CP,
      cfgType: CfgType.CFG_REPLY,
      attributes: [
        { type: CfgAttr.INTERNAL_IP4_ADDRESS, value: hex('0a630001') },
        { type: CfgAttr.INTERNAL_IP4_DNS, value: hex('0a0a0035') },
        { type: CfgAttr.INTERNAL_IP6_ADDRESS, value: hex(`fd00${rep('00', 13)}0240`) },
        { type: CfgAttr.INTERNAL_DNS_DOMAIN, value: ascii('corp.example') },
      ],
    },
  },
  // ---------------------------------------------------------------- EAP (§3.16)
  {
    name: 'EAP: Request/Identity',
    hex: '00 00 00 09  01 01 00 05 01',
    payload: { type: PayloadType.EAP, message: hex('0101000501') },
  },
  {
    name: 'EAP: Success',
    hex: '00 00 00 08  03 05 00 04',
    payload: { type: PayloadType.EAP, message: hex('03050004') },
  },
  // ---------------------------------------------------------------- SK (§3.14), SKF (RFC 7383 §2.5)
  {
    name: 'SK: Next Payload is the first inner payload (IDi)',
    hex: `23 00 00 1c  ${rep('ee', 24)}`,
    payload: { type: PayloadType.SK, innerNext: PayloadType.IDi, body: hex(rep('ee', 24)) },
  },
  {
    name: 'SKF: fragment 1 of 2 names the first inner payload',
    hex: `23 00 00 18  00 01 00 02  ${rep('ee', 16)}`,
    payload: { type: PayloadType.SKF, innerNext: PayloadType.IDi, fragmentNumber: 1, totalFragments: 2, body: hex(rep('ee', 16)) },
  },
  {
    name: 'SKF: fragment 2 of 2 has Next Payload 0',
    hex: `00 00 00 18  00 02 00 02  ${rep('ee', 16)}`,
    payload: { type: PayloadType.SKF, innerNext: 0, fragmentNumber: 2, totalFragments: 2, body: hex(rep('ee', 16)) },
  },
  // ---------------------------------------------------------------- unknown (§2.5)
  {
    name: 'unknown non-critical payload type 99 is kept raw',
    hex: '00 00 00 07  aa bb cc',
    payload: { type: 99, critical: false, body: hex('aabbcc'), unknown: true },
  },
];

/** The payload module behind each type, as other engineers call it: body in, body out. */
type BodyCoder = { decode: (r: Reader) => object; encode: (p: never, w: Writer) => void };
const coders = new Map<number, BodyCoder>([
  [PayloadType.SA, { decode: decodeSa, encode: encodeSa }],
  [PayloadType.KE, { decode: decodeKe, encode: encodeKe }],
  [PayloadType.IDi, { decode: decodeId, encode: encodeId }],
  [PayloadType.IDr, { decode: decodeId, encode: encodeId }],
  [PayloadType.CERT, { decode: decodeCert, encode: encodeCert }],
  [PayloadType.CERTREQ, { decode: decodeCertReq, encode: encodeCertReq }],
  [PayloadType.AUTH, { decode: decodeAuth, encode: encodeAuth }],
  [PayloadType.NONCE, { decode: decodeNonce, encode: encodeNonce }],
  [PayloadType.NOTIFY, { decode: decodeNotify, encode: encodeNotify }],
  [PayloadType.DELETE, { decode: decodeDelete, encode: encodeDelete }],
  [PayloadType.VENDOR, { decode: decodeVendor, encode: encodeVendor }],
  [PayloadType.TSi, { decode: decodeTs, encode: encodeTs }],
  [PayloadType.TSr, { decode: decodeTs, encode: encodeTs }],
  [PayloadType.CP, { decode: decodeCp, encode: encodeCp }],
  [PayloadType.EAP, { decode: decodeEap, encode: encodeEap }],
  [PayloadType.SK, { decode: decodeSk, encode: encodeSk }],
  [PayloadType.SKF, { decode: decodeSkf, encode: encodeSkf }],
]);

function bodyOf(p: Payload): object {
  const { type: _type, critical: _critical, ...rest } = p as Payload & { innerNext?: number };
  delete (rest as { innerNext?: number }).innerNext;
  return rest;
}

describe('payload round trips (hex → typed → hex, typed → hex → typed)', () => {
  for (const c of cases) {
    it(c.name, () => {
      const wire = hex(c.hex);
      const decoded = decodePayloadChain(c.payload.type, wire, 'test');
      assert.deepEqual(decoded, [c.payload]);
      const { first, bytes } = encodePayloadChain([c.payload]);
      assert.equal(first, c.payload.type);
      assert.equal(toHex(bytes), toHex(wire));
      assert.deepEqual(decodePayloadChain(first, bytes, 'again'), [c.payload]);

      const coder = coders.get(c.payload.type);
      if (coder === undefined) return; // unknown payloads have no body coder
      const r = new Reader(wire.subarray(4), 'body', 4);
      assert.deepEqual(coder.decode(r), bodyOf(c.payload));
      r.finish();
      const w = new Writer();
      coder.encode(bodyOf(c.payload) as never, w);
      assert.equal(toHex(w.finish()), toHex(wire.subarray(4)));
    });
  }

  it('covers every known payload type', () => {
    const covered = new Set(cases.map((c) => c.payload.type));
    for (const t of coders.keys()) assert.ok(covered.has(t), `no round-trip case for payload type ${t}`);
  });
});
