/**
 * Seed messages for the codec fuzzer: every real strongSwan datagram from
 * the unit-test fixtures, plus synthetic messages built with the encoder
 * so that each payload type (and its sub-structures) appears in the corpus.
 */
import {
  AuthMethod,
  CertEncoding,
  CfgAttr,
  CfgType,
  EncrId,
  ExchangeType,
  IKE_VERSION,
  IdType,
  IntegId,
  KeId,
  NotifyType,
  PayloadType,
  PrfId,
  ProtocolId,
  TransformType,
  TsType,
} from '../../native-helper/src/ike/constants.js';
import { encodeMessage } from '../../native-helper/src/ike/codec/message.js';
import type { IkeHeader, Payload } from '../../native-helper/src/ike/codec/types.js';
import { STRONGSWAN_CAPTURES } from '../unit/ike/codec/fixtures/strongswan-captures.js';

function filled(n: number, seed: number): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = (seed + i * 37) & 0xff;
  return b;
}

const ascii = (s: string): Uint8Array => new TextEncoder().encode(s);

function header(exchange: number, messageId: number, response: boolean): Omit<IkeHeader, 'length' | 'nextPayload'> {
  return {
    spiI: filled(8, 1),
    spiR: exchange === ExchangeType.IKE_SA_INIT && !response ? new Uint8Array(8) : filled(8, 2),
    version: IKE_VERSION,
    exchange,
    initiator: !response,
    response,
    messageId,
  };
}

/** A clear-text IKE_AUTH-shaped message holding every non-encrypted payload type once or more. */
const allPayloads: readonly Payload[] = [
  { type: PayloadType.IDi, idType: IdType.ID_FQDN, data: ascii('client.example') },
  { type: PayloadType.CERT, encoding: CertEncoding.X509_SIGNATURE, data: filled(120, 3) },
  { type: PayloadType.CERTREQ, encoding: CertEncoding.X509_SIGNATURE, data: filled(40, 4) },
  { type: PayloadType.IDr, idType: IdType.ID_IPV6_ADDR, data: filled(16, 5) },
  { type: PayloadType.AUTH, method: AuthMethod.DIGITAL_SIGNATURE, data: filled(72, 6) },
  {
    type: PayloadType.CP,
    cfgType: CfgType.CFG_REPLY,
    attributes: [
      { type: CfgAttr.INTERNAL_IP4_ADDRESS, value: Uint8Array.of(10, 99, 0, 1) },
      { type: CfgAttr.INTERNAL_IP4_DNS, value: Uint8Array.of(10, 10, 0, 53) },
      { type: CfgAttr.INTERNAL_IP6_ADDRESS, value: filled(17, 7) },
      { type: CfgAttr.INTERNAL_DNS_DOMAIN, value: ascii('corp.example') },
      { type: CfgAttr.SUPPORTED_ATTRIBUTES, value: Uint8Array.of(0, 1, 0, 3) },
    ],
  },
  {
    type: PayloadType.SA,
    proposals: [
      {
        number: 1,
        protocol: ProtocolId.ESP,
        spi: filled(4, 8),
        transforms: [
          { type: TransformType.ENCR, id: EncrId.AES_GCM_16, keyLength: 256 },
          { type: TransformType.ENCR, id: EncrId.AES_CBC, keyLength: 128, otherAttributes: [{ type: 99, value: filled(3, 9) }, { type: 100, value: 7 }] },
          { type: TransformType.INTEG, id: IntegId.HMAC_SHA2_256_128 },
          { type: TransformType.ESN, id: 0 },
        ],
      },
      { number: 2, protocol: ProtocolId.AH, spi: filled(4, 10), transforms: [{ type: TransformType.INTEG, id: IntegId.HMAC_SHA2_512_256 }] },
    ],
  },
  {
    type: PayloadType.TSi,
    selectors: [
      { tsType: TsType.TS_IPV4_ADDR_RANGE, ipProtocol: 0, startPort: 0, endPort: 65535, startAddress: Uint8Array.of(10, 99, 0, 1), endAddress: Uint8Array.of(10, 99, 0, 1) },
      { tsType: TsType.TS_IPV6_ADDR_RANGE, ipProtocol: 17, startPort: 53, endPort: 53, startAddress: filled(16, 11), endAddress: filled(16, 12) },
    ],
  },
  {
    type: PayloadType.TSr,
    selectors: [{ tsType: TsType.TS_IPV4_ADDR_RANGE, ipProtocol: 6, startPort: 443, endPort: 443, startAddress: Uint8Array.of(10, 10, 0, 0), endAddress: Uint8Array.of(10, 10, 0, 255) }],
  },
  { type: PayloadType.NOTIFY, protocol: 0, spi: new Uint8Array(0), notifyType: NotifyType.INITIAL_CONTACT, data: new Uint8Array(0) },
  { type: PayloadType.NOTIFY, protocol: ProtocolId.ESP, spi: filled(4, 13), notifyType: NotifyType.REKEY_SA, data: new Uint8Array(0) },
  { type: PayloadType.NOTIFY, protocol: 0, spi: new Uint8Array(0), notifyType: NotifyType.SIGNATURE_HASH_ALGORITHMS, data: Uint8Array.of(0, 2, 0, 3, 0, 4) },
  { type: PayloadType.DELETE, protocol: ProtocolId.ESP, spis: [filled(4, 14), filled(4, 15)] },
  { type: PayloadType.DELETE, protocol: ProtocolId.IKE, spis: [] },
  { type: PayloadType.VENDOR, vendorId: filled(16, 16) },
  { type: PayloadType.EAP, message: Uint8Array.of(2, 7, 0, 10, 1, ...ascii('carol')) },
  { type: 200, critical: false, body: filled(6, 17), unknown: true },
];

const saInit: readonly Payload[] = [
  {
    type: PayloadType.SA,
    proposals: [
      {
        number: 1,
        protocol: ProtocolId.IKE,
        spi: new Uint8Array(0),
        transforms: [
          { type: TransformType.ENCR, id: EncrId.AES_GCM_16, keyLength: 256 },
          { type: TransformType.PRF, id: PrfId.HMAC_SHA2_256 },
          { type: TransformType.KE, id: KeId.CURVE25519 },
        ],
      },
    ],
  },
  { type: PayloadType.KE, group: KeId.CURVE25519, data: filled(32, 18) },
  { type: PayloadType.NONCE, nonce: filled(32, 19) },
  { type: PayloadType.NOTIFY, protocol: 0, spi: new Uint8Array(0), notifyType: NotifyType.NAT_DETECTION_SOURCE_IP, data: filled(20, 20) },
  { type: PayloadType.NOTIFY, protocol: 0, spi: new Uint8Array(0), notifyType: NotifyType.COOKIE, data: filled(24, 21) },
  { type: PayloadType.SK, innerNext: PayloadType.IDi, body: filled(80, 22) },
];

export function goldenMessages(): Uint8Array[] {
  return [
    ...STRONGSWAN_CAPTURES.map((c) => Uint8Array.from(Buffer.from(c.hex, 'hex'))),
    encodeMessage(header(ExchangeType.IKE_AUTH, 1, false), allPayloads),
    encodeMessage(header(ExchangeType.CREATE_CHILD_SA, 3, true), saInit),
    encodeMessage(header(ExchangeType.IKE_AUTH, 2, false), [
      { type: PayloadType.SKF, innerNext: PayloadType.IDi, fragmentNumber: 1, totalFragments: 3, body: filled(60, 23) },
    ]),
    encodeMessage(header(ExchangeType.INFORMATIONAL, 4, true), []),
  ];
}
