/**
 * Typed IKEv2 payloads (RFC 7296 §3). Each payload module in `payloads/`
 * decodes exactly one of these from the payload *body* (the bytes after the
 * 4-octet generic header) and encodes it back.
 *
 * The union is discriminated on `type`; `critical` is the generic header's
 * critical bit (RFC 7296 §3.2) and only matters for payloads we do not know.
 */
import type {
  AuthMethod,
  CertEncoding,
  CfgAttr,
  CfgType,
  ExchangeType,
  IdType,
  PayloadType,
  ProtocolId,
  TransformType,
  TsType,
} from '../constants.js';

export type Bytes = Uint8Array;

/** RFC 7296 §3.3.5 */
export interface TransformAttribute {
  readonly type: number;
  /** TV format (AF bit set) carries a 16-bit value; TLV carries bytes. */
  readonly value: number | Bytes;
}

/** RFC 7296 §3.3.2 */
export interface Transform {
  readonly type: TransformType | number;
  readonly id: number;
  /** KEY_LENGTH attribute (RFC 7296 §3.3.5) in bits, if present. */
  readonly keyLength?: number;
  /** Attributes other than KEY_LENGTH, preserved for round trips. */
  readonly otherAttributes?: readonly TransformAttribute[];
}

/** RFC 7296 §3.3.1 */
export interface Proposal {
  /** 1-based, consecutive in a request; the responder echoes the chosen number. */
  readonly number: number;
  readonly protocol: ProtocolId | number;
  /** Empty for the initial IKE SA; 8 octets for IKE rekey; 4 for ESP/AH. */
  readonly spi: Bytes;
  readonly transforms: readonly Transform[];
}

export interface SaPayload {
  readonly type: typeof PayloadType.SA;
  readonly critical?: boolean;
  readonly proposals: readonly Proposal[];
}

/** RFC 7296 §3.4 */
export interface KePayload {
  readonly type: typeof PayloadType.KE;
  readonly critical?: boolean;
  readonly group: number;
  readonly data: Bytes;
}

/** RFC 7296 §3.5 */
export interface IdPayload {
  readonly type: typeof PayloadType.IDi | typeof PayloadType.IDr;
  readonly critical?: boolean;
  readonly idType: IdType | number;
  /** Raw identification data; see `pki/identity.ts` for the typed view. */
  readonly data: Bytes;
}

/** RFC 7296 §3.6 */
export interface CertPayload {
  readonly type: typeof PayloadType.CERT;
  readonly critical?: boolean;
  readonly encoding: CertEncoding | number;
  readonly data: Bytes;
}

/** RFC 7296 §3.7: for X.509 the data is a concatenation of 20-octet SHA-1 SPKI hashes */
export interface CertReqPayload {
  readonly type: typeof PayloadType.CERTREQ;
  readonly critical?: boolean;
  readonly encoding: CertEncoding | number;
  readonly data: Bytes;
}

/** RFC 7296 §3.8 */
export interface AuthPayload {
  readonly type: typeof PayloadType.AUTH;
  readonly critical?: boolean;
  readonly method: AuthMethod | number;
  readonly data: Bytes;
}

/** RFC 7296 §3.9: 16..256 octets */
export interface NoncePayload {
  readonly type: typeof PayloadType.NONCE;
  readonly critical?: boolean;
  readonly nonce: Bytes;
}

/** RFC 7296 §3.10 */
export interface NotifyPayload {
  readonly type: typeof PayloadType.NOTIFY;
  readonly critical?: boolean;
  /** 0 when no SPI is relevant (then `spi` is empty). */
  readonly protocol: ProtocolId | number;
  readonly spi: Bytes;
  readonly notifyType: number;
  readonly data: Bytes;
}

/** RFC 7296 §3.11 */
export interface DeletePayload {
  readonly type: typeof PayloadType.DELETE;
  readonly critical?: boolean;
  readonly protocol: ProtocolId | number;
  /** Each SPI has the protocol's SPI size (0 for IKE, 4 for ESP/AH). */
  readonly spis: readonly Bytes[];
}

/** RFC 7296 §3.12 */
export interface VendorPayload {
  readonly type: typeof PayloadType.VENDOR;
  readonly critical?: boolean;
  readonly vendorId: Bytes;
}

/** RFC 7296 §3.13.1 */
export interface TrafficSelector {
  readonly tsType: TsType | number;
  /** 0 = any */
  readonly ipProtocol: number;
  readonly startPort: number;
  readonly endPort: number;
  /** 4 octets for IPv4, 16 for IPv6 */
  readonly startAddress: Bytes;
  readonly endAddress: Bytes;
}

/** RFC 7296 §3.13 */
export interface TsPayload {
  readonly type: typeof PayloadType.TSi | typeof PayloadType.TSr;
  readonly critical?: boolean;
  readonly selectors: readonly TrafficSelector[];
}

/** RFC 7296 §3.15.1 */
export interface CfgAttribute {
  readonly type: CfgAttr | number;
  readonly value: Bytes;
}

/** RFC 7296 §3.15 */
export interface CpPayload {
  readonly type: typeof PayloadType.CP;
  readonly critical?: boolean;
  readonly cfgType: CfgType | number;
  readonly attributes: readonly CfgAttribute[];
}

/** RFC 7296 §3.16: the body is a complete EAP packet (RFC 3748 §4) */
export interface EapPayload {
  readonly type: typeof PayloadType.EAP;
  readonly critical?: boolean;
  readonly message: Bytes;
}

/**
 * RFC 7296 §3.14. `innerNext` is the first inner payload type (the generic
 * header's Next Payload field); `body` is IV || ciphertext || padding+ICV.
 * Always the last payload of a message.
 */
export interface SkPayload {
  readonly type: typeof PayloadType.SK;
  readonly critical?: boolean;
  readonly innerNext: number;
  readonly body: Bytes;
}

/** RFC 7383 §2.5 */
export interface SkfPayload {
  readonly type: typeof PayloadType.SKF;
  readonly critical?: boolean;
  /** Inner first payload type in fragment 1, 0 in the others. */
  readonly innerNext: number;
  readonly fragmentNumber: number;
  readonly totalFragments: number;
  readonly body: Bytes;
}

/** A payload type this implementation does not know (RFC 7296 §2.5). */
export interface UnknownPayload {
  readonly type: number;
  readonly critical: boolean;
  readonly body: Bytes;
  readonly unknown: true;
}

export type KnownPayload =
  | SaPayload
  | KePayload
  | IdPayload
  | CertPayload
  | CertReqPayload
  | AuthPayload
  | NoncePayload
  | NotifyPayload
  | DeletePayload
  | VendorPayload
  | TsPayload
  | CpPayload
  | EapPayload
  | SkPayload
  | SkfPayload;

export type Payload = KnownPayload | UnknownPayload;

/** RFC 7296 §3.1 */
export interface IkeHeader {
  /** 8 octets */
  readonly spiI: Bytes;
  /** 8 octets, all zero in the first IKE_SA_INIT request */
  readonly spiR: Bytes;
  readonly nextPayload: number;
  /** Major/minor, 0x20 for IKEv2 */
  readonly version: number;
  readonly exchange: ExchangeType | number;
  readonly initiator: boolean;
  readonly response: boolean;
  /** The "higher version" flag (RFC 7296 §3.1), never set by us. */
  readonly higherVersion?: boolean;
  readonly messageId: number;
  readonly length: number;
}

/**
 * A decoded message. For protected exchanges `payloads` holds the clear
 * payloads and ends with the SK (or SKF) payload still encrypted; the
 * exchange layer decrypts it with `crypto/sk.ts` and decodes the inner chain
 * with `decodePayloadChain`.
 */
export interface IkeMessage {
  readonly header: IkeHeader;
  readonly payloads: readonly Payload[];
}
