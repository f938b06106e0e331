/**
 * IKEv2 numbers from the IANA "Internet Key Exchange Version 2 (IKEv2)
 * Parameters" registry (RFC 7296 §3 and later RFCs cited per entry).
 *
 * Each group is an `as const` object so values are literal types, plus a
 * `nameOf()` lookup for log lines (`recv IKE_AUTH response 1 [ SK ]`).
 */

function reverse<T extends Record<string, number>>(map: T): ReadonlyMap<number, string> {
  return new Map(Object.entries(map).map(([k, v]) => [v, k]));
}

function namer(map: Record<string, number>): (value: number) => string {
  const rev = reverse(map);
  return (value: number) => rev.get(value) ?? `UNKNOWN(${value})`;
}

/** RFC 7296 §3.1 */
export const ExchangeType = {
  IKE_SA_INIT: 34,
  IKE_AUTH: 35,
  CREATE_CHILD_SA: 36,
  INFORMATIONAL: 37,
  /** RFC 9370 */
  IKE_INTERMEDIATE: 43,
} as const;
export type ExchangeType = (typeof ExchangeType)[keyof typeof ExchangeType];
export const exchangeName = namer(ExchangeType);

/** RFC 7296 §3.1 header flags */
export const HeaderFlag = {
  INITIATOR: 0x08,
  VERSION: 0x10,
  RESPONSE: 0x20,
} as const;

/** RFC 7296 §3.2 next-payload values */
export const PayloadType = {
  NONE: 0,
  SA: 33,
  KE: 34,
  IDi: 35,
  IDr: 36,
  CERT: 37,
  CERTREQ: 38,
  AUTH: 39,
  NONCE: 40,
  NOTIFY: 41,
  DELETE: 42,
  VENDOR: 43,
  TSi: 44,
  TSr: 45,
  SK: 46,
  CP: 47,
  EAP: 48,
  /** RFC 7383 */
  SKF: 53,
} as const;
export type PayloadType = (typeof PayloadType)[keyof typeof PayloadType];
export const payloadName = namer(PayloadType);

/** RFC 7296 §3.3.1 */
export const ProtocolId = {
  IKE: 1,
  AH: 2,
  ESP: 3,
} as const;
export type ProtocolId = (typeof ProtocolId)[keyof typeof ProtocolId];
export const protocolName = namer(ProtocolId);

/** RFC 7296 §3.3.2 */
export const TransformType = {
  ENCR: 1,
  PRF: 2,
  INTEG: 3,
  /** "Diffie-Hellman Group" in RFC 7296, renamed "Key Exchange Method" by RFC 9370 */
  KE: 4,
  ESN: 5,
  /** RFC 9370 additional key exchanges 1..7 */
  ADDKE1: 6,
  ADDKE2: 7,
  ADDKE3: 8,
  ADDKE4: 9,
  ADDKE5: 10,
  ADDKE6: 11,
  ADDKE7: 12,
} as const;
export type TransformType = (typeof TransformType)[keyof typeof TransformType];
export const transformTypeName = namer(TransformType);

/** RFC 7296 §3.3.2 Transform Type 1; RFC 4106, RFC 7634 */
export const EncrId = {
  DES: 2,
  '3DES': 3,
  NULL: 11,
  AES_CBC: 12,
  AES_CTR: 13,
  AES_GCM_8: 18,
  AES_GCM_12: 19,
  AES_GCM_16: 20,
  CHACHA20_POLY1305: 28,
} as const;
export type EncrId = (typeof EncrId)[keyof typeof EncrId];
export const encrName = namer(EncrId);

/** RFC 7296 §3.3.2 Transform Type 2; RFC 4868 */
export const PrfId = {
  HMAC_MD5: 1,
  HMAC_SHA1: 2,
  AES128_XCBC: 4,
  HMAC_SHA2_256: 5,
  HMAC_SHA2_384: 6,
  HMAC_SHA2_512: 7,
  AES128_CMAC: 8,
} as const;
export type PrfId = (typeof PrfId)[keyof typeof PrfId];
export const prfName = namer(PrfId);

/** RFC 7296 §3.3.2 Transform Type 3; RFC 4868 */
export const IntegId = {
  NONE: 0,
  HMAC_MD5_96: 1,
  HMAC_SHA1_96: 2,
  AES_XCBC_96: 5,
  HMAC_SHA2_256_128: 12,
  HMAC_SHA2_384_192: 13,
  HMAC_SHA2_512_256: 14,
} as const;
export type IntegId = (typeof IntegId)[keyof typeof IntegId];
export const integName = namer(IntegId);

/** RFC 7296 §3.3.2 Transform Type 4; RFC 3526, 5903, 8031, 9370 (ML-KEM: draft-ietf-ipsecme-ikev2-mlkem) */
export const KeId = {
  NONE: 0,
  MODP_768: 1,
  MODP_1024: 2,
  MODP_1536: 5,
  MODP_2048: 14,
  MODP_3072: 15,
  MODP_4096: 16,
  MODP_6144: 17,
  MODP_8192: 18,
  ECP_256: 19,
  ECP_384: 20,
  ECP_521: 21,
  CURVE25519: 31,
  CURVE448: 32,
  ML_KEM_512: 35,
  ML_KEM_768: 36,
  ML_KEM_1024: 37,
} as const;
export type KeId = (typeof KeId)[keyof typeof KeId];
export const keName = namer(KeId);

/** RFC 7296 §3.3.2 Transform Type 5 */
export const EsnId = {
  NO_ESN: 0,
  ESN: 1,
} as const;
export type EsnId = (typeof EsnId)[keyof typeof EsnId];

/** RFC 7296 §3.3.5 */
export const TransformAttr = {
  KEY_LENGTH: 14,
} as const;

/** RFC 7296 §3.5 */
export const IdType = {
  ID_IPV4_ADDR: 1,
  ID_FQDN: 2,
  ID_RFC822_ADDR: 3,
  ID_IPV6_ADDR: 5,
  ID_DER_ASN1_DN: 9,
  ID_DER_ASN1_GN: 10,
  ID_KEY_ID: 11,
} as const;
export type IdType = (typeof IdType)[keyof typeof IdType];
export const idTypeName = namer(IdType);

/** RFC 7296 §3.6 */
export const CertEncoding = {
  PKCS7_X509: 1,
  X509_SIGNATURE: 4,
  CRL: 7,
  RAW_RSA_KEY: 11,
  HASH_URL_X509: 12,
  HASH_URL_BUNDLE: 13,
} as const;
export type CertEncoding = (typeof CertEncoding)[keyof typeof CertEncoding];
export const certEncodingName = namer(CertEncoding);

/** RFC 7296 §3.8; RFC 7427 §3 */
export const AuthMethod = {
  RSA_SIG: 1,
  PSK: 2,
  DSS_SIG: 3,
  ECDSA_256: 9,
  ECDSA_384: 10,
  ECDSA_521: 11,
  /** RFC 7427 */
  DIGITAL_SIGNATURE: 14,
} as const;
export type AuthMethod = (typeof AuthMethod)[keyof typeof AuthMethod];
export const authMethodName = namer(AuthMethod);

/** RFC 7427 §4 / IANA "IKEv2 Hash Algorithms" */
export const HashAlgorithm = {
  SHA1: 1,
  SHA2_256: 2,
  SHA2_384: 3,
  SHA2_512: 4,
  IDENTITY: 5,
} as const;
export type HashAlgorithm = (typeof HashAlgorithm)[keyof typeof HashAlgorithm];
export const hashAlgorithmName = namer(HashAlgorithm);

/** RFC 7296 §3.10.1 (error types < 16384, status types >= 16384) and later RFCs */
export const NotifyType = {
  UNSUPPORTED_CRITICAL_PAYLOAD: 1,
  INVALID_IKE_SPI: 4,
  INVALID_MAJOR_VERSION: 5,
  INVALID_SYNTAX: 7,
  INVALID_MESSAGE_ID: 9,
  INVALID_SPI: 11,
  NO_PROPOSAL_CHOSEN: 14,
  INVALID_KE_PAYLOAD: 17,
  AUTHENTICATION_FAILED: 24,
  SINGLE_PAIR_REQUIRED: 34,
  NO_ADDITIONAL_SAS: 35,
  INTERNAL_ADDRESS_FAILURE: 36,
  FAILED_CP_REQUIRED: 37,
  TS_UNACCEPTABLE: 38,
  INVALID_SELECTORS: 39,
  UNACCEPTABLE_ADDRESSES: 40,
  UNEXPECTED_NAT_DETECTED: 41,
  TEMPORARY_FAILURE: 43,
  CHILD_SA_NOT_FOUND: 44,
  INITIAL_CONTACT: 16384,
  SET_WINDOW_SIZE: 16385,
  ADDITIONAL_TS_POSSIBLE: 16386,
  IPCOMP_SUPPORTED: 16387,
  NAT_DETECTION_SOURCE_IP: 16388,
  NAT_DETECTION_DESTINATION_IP: 16389,
  COOKIE: 16390,
  USE_TRANSPORT_MODE: 16391,
  HTTP_CERT_LOOKUP_SUPPORTED: 16392,
  REKEY_SA: 16393,
  ESP_TFC_PADDING_NOT_SUPPORTED: 16394,
  NON_FIRST_FRAGMENTS_ALSO: 16395,
  /** RFC 4555 */
  MOBIKE_SUPPORTED: 16396,
  ADDITIONAL_IP4_ADDRESS: 16397,
  ADDITIONAL_IP6_ADDRESS: 16398,
  NO_ADDITIONAL_ADDRESSES: 16399,
  UPDATE_SA_ADDRESSES: 16400,
  COOKIE2: 16401,
  NO_NATS_ALLOWED: 16402,
  /** RFC 4478: the gateway wants us to reauthenticate within this many seconds */
  AUTH_LIFETIME: 16403,
  /** RFC 4739 */
  MULTIPLE_AUTH_SUPPORTED: 16404,
  ANOTHER_AUTH_FOLLOWS: 16405,
  /** RFC 5685 */
  REDIRECT_SUPPORTED: 16406,
  REDIRECT: 16407,
  REDIRECTED_FROM: 16408,
  /** RFC 5996 */
  EAP_ONLY_AUTHENTICATION: 16417,
  /** RFC 7383 */
  IKEV2_FRAGMENTATION_SUPPORTED: 16430,
  /** RFC 7427 */
  SIGNATURE_HASH_ALGORITHMS: 16431,
  /** RFC 9370 */
  ADDITIONAL_KEY_EXCHANGE: 16441,
  /** RFC 9242 */
  INTERMEDIATE_EXCHANGE_SUPPORTED: 16438,
} as const;
export type NotifyType = (typeof NotifyType)[keyof typeof NotifyType];
export const notifyName = namer(NotifyType);
/** RFC 7296 §3.10.1: types below 16384 are errors */
export const isErrorNotify = (type: number): boolean => type < 16384;

/** RFC 7296 §3.13.1 */
export const TsType = {
  TS_IPV4_ADDR_RANGE: 7,
  TS_IPV6_ADDR_RANGE: 8,
} as const;
export type TsType = (typeof TsType)[keyof typeof TsType];

/** RFC 7296 §3.15 */
export const CfgType = {
  CFG_REQUEST: 1,
  CFG_REPLY: 2,
  CFG_SET: 3,
  CFG_ACK: 4,
} as const;
export type CfgType = (typeof CfgType)[keyof typeof CfgType];
export const cfgTypeName = namer(CfgType);

/** RFC 7296 §3.15.1; RFC 8598 */
export const CfgAttr = {
  INTERNAL_IP4_ADDRESS: 1,
  INTERNAL_IP4_NETMASK: 2,
  INTERNAL_IP4_DNS: 3,
  INTERNAL_IP4_NBNS: 4,
  INTERNAL_IP4_DHCP: 6,
  APPLICATION_VERSION: 7,
  INTERNAL_IP6_ADDRESS: 8,
  INTERNAL_IP6_DNS: 10,
  INTERNAL_IP6_DHCP: 12,
  INTERNAL_IP4_SUBNET: 13,
  SUPPORTED_ATTRIBUTES: 14,
  INTERNAL_IP6_SUBNET: 15,
  /** RFC 8598 */
  INTERNAL_DNS_DOMAIN: 25,
  INTERNAL_DNSSEC_TA: 26,
} as const;
export type CfgAttr = (typeof CfgAttr)[keyof typeof CfgAttr];
export const cfgAttrName = namer(CfgAttr);

/** RFC 3748 §4 */
export const EapCode = {
  REQUEST: 1,
  RESPONSE: 2,
  SUCCESS: 3,
  FAILURE: 4,
} as const;
export type EapCode = (typeof EapCode)[keyof typeof EapCode];

/** RFC 3748 §5, RFC 5216, RFC 2759 (via draft-kamath-pppext-eap-mschapv2) */
export const EapType = {
  IDENTITY: 1,
  NOTIFICATION: 2,
  NAK: 3,
  MD5_CHALLENGE: 4,
  TLS: 13,
  MSCHAPV2: 26,
} as const;
export type EapType = (typeof EapType)[keyof typeof EapType];

/** RFC 7296 §2.4 / §3.1 */
export const IKE_VERSION = 0x20;
/** RFC 7296 §3.1: the fixed IKE header is 28 octets */
export const IKE_HEADER_LENGTH = 28;
/** RFC 7296 §3.2: the generic payload header is 4 octets */
export const GENERIC_PAYLOAD_HEADER_LENGTH = 4;
/** RFC 3948 §2.2: the non-ESP marker prepended to IKE on port 4500 */
export const NON_ESP_MARKER_LENGTH = 4;
