/**
 * A minimal in-process IKEv2 RESPONDER for exchange tests of the initiator
 * (charon's exchange_test_helper in spirit). It is built from the codec and
 * the crypto modules directly and does its own SK/SKF sealing and opening
 * (not the engine's protection.ts), so a bug there cannot hide itself by
 * being made twice.
 *
 * It speaks IKE_SA_INIT, IKE_AUTH (PSK and signature auth both ways, CP
 * reply, TS narrowing, one CHILD_SA) and INFORMATIONAL, and can misbehave
 * on demand: COOKIE, INVALID_KE, NO_PROPOSAL_CHOSEN, AUTHENTICATION_FAILED,
 * a wrong AUTH, CHILD_SA errors, widened selectors, fragmented replies.
 * It keeps what it derived (IKE and CHILD_SA keys) so tests can compare
 * them with what the initiator installs.
 *
 * Test code only: it trusts its own inputs and throws on what it does not
 * expect (tests drive it with the engine's own output).
 */
import { X509Certificate, createHash } from 'node:crypto';
import type { KeyObject } from 'node:crypto';

import type { Endpoint } from '../../native-helper/src/ike/actions.js';
import {
  AuthMethod,
  CertEncoding,
  CfgAttr,
  CfgType,
  EsnId,
  ExchangeType,
  HashAlgorithm,
  IKE_VERSION,
  NotifyType,
  PayloadType,
  ProtocolId,
  TransformType,
} from '../../native-helper/src/ike/constants.js';
import { decodeMessage, encodeMessage } from '../../native-helper/src/ike/codec/message.js';
import { decodePayloadChain, encodePayloadChain } from '../../native-helper/src/ike/codec/payload-chain.js';
import type {
  CfgAttribute,
  IkeHeader,
  IkeMessage,
  NotifyPayload,
  Payload,
  Proposal,
  SaPayload,
  TrafficSelector,
  Transform,
} from '../../native-helper/src/ike/codec/types.js';
import { createSignatureAuth, pskAuthData, signedOctets, verifyPskAuthData, verifySignatureAuth } from '../../native-helper/src/ike/crypto/auth.js';
import { createKeyExchange } from '../../native-helper/src/ike/crypto/ke.js';
import { deriveChildKeys, deriveIkeKeys } from '../../native-helper/src/ike/crypto/keymat.js';
import type { ChildKeys, IkeKeys } from '../../native-helper/src/ike/crypto/keymat.js';
import { createPrf } from '../../native-helper/src/ike/crypto/prf.js';
import type { Prf } from '../../native-helper/src/ike/crypto/prf.js';
import { createSkCipher } from '../../native-helper/src/ike/crypto/sk-cipher.js';
import type { SkCipher } from '../../native-helper/src/ike/crypto/sk-cipher.js';
import { padSkPlaintext, unpadSkPlaintext } from '../../native-helper/src/ike/crypto/sk-padding.js';
import { espKeyLengths } from '../../native-helper/src/ike/crypto/suite.js';
import type { EspSuite, IkeSuite } from '../../native-helper/src/ike/crypto/suite.js';
import { identityToPayload } from '../../native-helper/src/pki/identity.js';
import type { Identity } from '../../native-helper/src/pki/identity.js';

// ---------------------------------------------------------------- deterministic randomness

/** A seeded byte generator (SHA-256 in counter mode) for deterministic tests; not for production. */
export function seededRandom(seed: string | number): (n: number) => Uint8Array {
  let counter = 0;
  const key = String(seed);
  return (n: number) => {
    const out = new Uint8Array(n);
    let filled = 0;
    while (filled < n) {
      const block = createHash('sha256').update(`${key}/${counter++}`).digest();
      const take = Math.min(block.length, n - filled);
      out.set(block.subarray(0, take), filled);
      filled += take;
    }
    return out;
  };
}

// ---------------------------------------------------------------- configuration

export interface Misbehaviour {
  /** demand a COOKIE (RFC 7296 §2.6) before answering */
  readonly cookie?: boolean;
  /** demand the cookie this many times (default 1) */
  readonly cookieRounds?: number;
  /** answer IKE_SA_INIT with NO_PROPOSAL_CHOSEN */
  readonly ikeNoProposal?: boolean;
  /** answer IKE_AUTH's SA with NO_PROPOSAL_CHOSEN (after authenticating) */
  readonly espNoProposal?: boolean;
  /** answer IKE_AUTH with AUTHENTICATION_FAILED only */
  readonly authFailed?: boolean;
  /** send an AUTH value that does not verify */
  readonly wrongAuth?: boolean;
  /** send this error notify instead of the CHILD_SA (TS_UNACCEPTABLE, INTERNAL_ADDRESS_FAILURE, FAILED_CP_REQUIRED) */
  readonly childError?: number;
  /** return 0.0.0.0/0 as TSr whatever was asked */
  readonly widenTs?: boolean;
  /** choose ENCR with a key length the initiator did not offer */
  readonly pickUnoffered?: boolean;
  /** omit the CP reply */
  readonly noCp?: boolean;
  /** identify as this instead of `id` */
  readonly idr?: Identity;
  /** answer INVALID_KE_PAYLOAD asking for this group regardless of its proposals */
  readonly demandGroup?: number;
  /** pretend the initiator is behind a NAT (our NAT_DETECTION_DESTINATION_IP hash is over another address) */
  readonly natInitiator?: boolean;
  /** send no NAT detection notifies */
  readonly noNatd?: boolean;
}

export type ResponderAuth = { readonly method: 'psk'; readonly psk: Uint8Array } | { readonly method: 'signature'; readonly privateKey: KeyObject; readonly chain: readonly Uint8Array[] };

export interface ResponderConfig {
  readonly endpoint: Endpoint;
  readonly id: Identity;
  readonly auth: ResponderAuth;
  /** how the initiator must authenticate: with this PSK, or a certificate (its public key is used as sent) */
  readonly peerPsk?: Uint8Array;
  /** IKE suites in our order of preference (charon: the configured proposal order wins) */
  readonly ike: readonly IkeSuite[];
  readonly esp: readonly EspSuite[];
  readonly pool?: { readonly ipv4?: string; readonly ipv6?: string; readonly dns?: readonly string[]; readonly domains?: readonly string[] };
  /** networks behind the gateway, as TSr to narrow to */
  readonly localTs: readonly TrafficSelector[];
  /** announce IKEV2_FRAGMENTATION_SUPPORTED (default true) */
  readonly fragmentation?: boolean;
  /** fragment protected responses larger than this many octets (if the initiator supports it) */
  readonly fragmentSize?: number;
  readonly misbehave?: Misbehaviour;
  readonly random: (n: number) => Uint8Array;
}

// ---------------------------------------------------------------- helpers

const notify = (notifyType: number, data: Uint8Array = new Uint8Array(0)): NotifyPayload => ({ type: PayloadType.NOTIFY, protocol: 0, spi: new Uint8Array(0), notifyType, data });

function ipBytes(text: string): Uint8Array {
  if (text.includes(':')) {
    const [head = '', tail = ''] = text.split('::');
    const h = head === '' ? [] : head.split(':');
    const t = tail === '' ? [] : tail.split(':');
    const groups = text.includes('::') ? [...h, ...new Array<string>(8 - h.length - t.length).fill('0'), ...t] : h;
    const out = new Uint8Array(16);
    groups.forEach((g, i) => {
      const v = Number.parseInt(g, 16);
      out[2 * i] = v >> 8;
      out[2 * i + 1] = v & 0xff;
    });
    return out;
  }
  return Uint8Array.from(text.split('.').map(Number));
}

function natHash(spiI: Uint8Array, spiR: Uint8Array, e: Endpoint): Uint8Array {
  return new Uint8Array(
    createHash('sha1')
      .update(spiI)
      .update(spiR)
      .update(ipBytes(e.address))
      .update(Uint8Array.of(e.port >> 8, e.port & 0xff))
      .digest(),
  );
}

function hostSelector(address: Uint8Array): TrafficSelector {
  return { tsType: address.length === 4 ? 7 : 8, ipProtocol: 0, startPort: 0, endPort: 0xffff, startAddress: address, endAddress: address };
}

const big = (b: Uint8Array): bigint => b.reduce((a, x) => (a << 8n) | BigInt(x), 0n);

function within(inner: TrafficSelector, outer: TrafficSelector): boolean {
  return inner.tsType === outer.tsType && big(inner.startAddress) >= big(outer.startAddress) && big(inner.endAddress) <= big(outer.endAddress);
}

function transformsOf(s: { encr: number; encrKeyLength?: number; prf?: number; integ?: number; ke?: number; esn?: boolean }, withEsn: boolean): Transform[] {
  const t: Transform[] = [s.encrKeyLength === undefined ? { type: TransformType.ENCR, id: s.encr } : { type: TransformType.ENCR, id: s.encr, keyLength: s.encrKeyLength }];
  if (s.prf !== undefined) t.push({ type: TransformType.PRF, id: s.prf });
  if (s.integ !== undefined) t.push({ type: TransformType.INTEG, id: s.integ });
  if (s.ke !== undefined) t.push({ type: TransformType.KE, id: s.ke });
  if (withEsn) t.push({ type: TransformType.ESN, id: s.esn === true ? EsnId.ESN : EsnId.NO_ESN });
  return t;
}

/** Does the offered proposal contain every transform of `want`? */
function offers(p: Proposal, want: readonly Transform[]): boolean {
  return want.every((w) => p.transforms.some((t) => t.type === w.type && t.id === w.id && t.keyLength === w.keyLength));
}

interface Direction {
  readonly cipher: SkCipher;
  readonly encKey: Uint8Array;
  readonly integKey?: Uint8Array;
}

export interface ResponderChild {
  /** the initiator's SPI (it receives with it) */
  readonly initiatorSpi: number;
  /** ours */
  readonly responderSpi: number;
  readonly suite: EspSuite;
  readonly keys: ChildKeys;
}

export type Header = Omit<IkeHeader, 'length' | 'nextPayload'>;

// ---------------------------------------------------------------- the responder

export class TestResponder {
  spiI = new Uint8Array(8);
  readonly spiR: Uint8Array;
  ikeSuite: IkeSuite | undefined;
  ikeKeys: IkeKeys | undefined;
  prf: Prf | undefined;
  nonceI: Uint8Array | undefined;
  nonceR: Uint8Array | undefined;
  initRequest: Uint8Array | undefined;
  initResponse: Uint8Array | undefined;
  /** the initiator announced RFC 7383 support */
  initiatorFragmentation = false;
  initiatorHashes: number[] = [];
  readonly children: ResponderChild[] = [];
  /** every request we received: exchange and Message ID, decrypted inner payload types */
  readonly log: { exchange: number; messageId: number; inner: number[]; fragments: number }[] = [];
  /** the initiator's IDi/AUTH verified */
  authenticated = false;
  deleted = false;
  private cookiesSent = 0;
  private readonly cookieSecret: Uint8Array;
  private expectMid = 0;
  private lastResponse: { mid: number; request: string; datagrams: Uint8Array[] } | undefined;
  private readonly fragments = new Map<number, Uint8Array>();
  private fragmentsTotal = 0;
  private fragmentsFirst = 0;
  private ourMid = 0;

  constructor(readonly config: ResponderConfig) {
    this.spiR = config.random(8);
    this.cookieSecret = config.random(16);
  }

  private get mis(): Misbehaviour {
    return this.config.misbehave ?? {};
  }

  get outbound(): Direction {
    return this.direction('out');
  }

  get inbound(): Direction {
    return this.direction('in');
  }

  private direction(which: 'in' | 'out'): Direction {
    const s = this.ikeSuite;
    const k = this.ikeKeys;
    if (s === undefined || k === undefined) throw new Error('no IKE SA yet');
    const cipher = createSkCipher(s.encr, s.encrKeyLength, s.integ);
    // We are the original responder: we send with SK_er/SK_ar and receive with SK_ei/SK_ai.
    return which === 'out'
      ? { cipher, encKey: k.skEr, ...(cipher.integKeyLength > 0 ? { integKey: k.skAr } : {}) }
      : { cipher, encKey: k.skEi, ...(cipher.integKeyLength > 0 ? { integKey: k.skAi } : {}) };
  }

  /** Handles one datagram from the initiator; returns our datagrams (none for a dropped or incomplete one). */
  handle(datagram: Uint8Array, from: Endpoint): Uint8Array[] {
    const decoded = decodeMessage(datagram);
    if (!decoded.ok) throw new Error(`responder got a malformed message: ${decoded.error.message}`);
    const msg = decoded.value;
    const h = msg.header;
    if (!h.initiator) throw new Error('responder got a message without the I flag');
    if (h.response) {
      this.lastPeerResponse = this.openAny(msg, datagram);
      return [];
    }
    const key = Buffer.from(datagram).toString('hex');
    if (this.lastResponse !== undefined && this.lastResponse.mid === h.messageId && h.exchange !== ExchangeType.IKE_SA_INIT) {
      return this.lastResponse.request === key ? this.lastResponse.datagrams : [];
    }
    if (h.exchange === ExchangeType.IKE_SA_INIT) return this.ikeSaInit(msg, datagram, from);
    if (h.messageId !== this.expectMid) throw new Error(`responder expected Message ID ${this.expectMid}, got ${h.messageId}`);
    const inner = this.openAny(msg, datagram);
    if (inner === undefined) return [];
    this.log.push({ exchange: h.exchange, messageId: h.messageId, inner: inner.map((p) => p.type), fragments: this.lastFragmentCount });
    let response: Payload[];
    if (h.exchange === ExchangeType.IKE_AUTH) response = this.ikeAuth(inner, from);
    else if (h.exchange === ExchangeType.INFORMATIONAL) response = this.informational(inner);
    else throw new Error(`responder cannot serve exchange ${h.exchange}`);
    const out = this.seal({ ...this.header(h.exchange, h.messageId, true) }, response);
    this.lastResponse = { mid: h.messageId, request: key, datagrams: out };
    this.expectMid++;
    return out;
  }

  /** The header and inner payloads of the last message we sealed (the fuzzer mutates them). */
  lastSealed: { readonly header: Header; readonly inner: readonly Payload[] } | undefined;

  /** The decrypted payloads of the initiator's last response to one of our requests. */
  lastPeerResponse: Payload[] | undefined;
  private lastFragmentCount = 0;

  private header(exchange: number, messageId: number, response: boolean): Header {
    return { spiI: this.spiI, spiR: this.spiR, version: IKE_VERSION, exchange, initiator: false, response, messageId };
  }

  // ------------------------------------------------------------ IKE_SA_INIT

  private cookieFor(spiI: Uint8Array): Uint8Array {
    return new Uint8Array(createHash('sha256').update(this.cookieSecret).update(spiI).digest()).subarray(0, 16);
  }

  private plain(spiI: Uint8Array, spiR: Uint8Array, payloads: Payload[]): Uint8Array {
    return encodeMessage({ spiI, spiR, version: IKE_VERSION, exchange: ExchangeType.IKE_SA_INIT, initiator: false, response: true, messageId: 0 }, payloads);
  }

  private ikeSaInit(msg: IkeMessage, datagram: Uint8Array, from: Endpoint): Uint8Array[] {
    const p = msg.payloads;
    const zero = new Uint8Array(8);
    const spiI = msg.header.spiI;
    const find = <T extends number>(t: T) => p.find((x) => x.type === t);
    const notifies = p.filter((x): x is NotifyPayload => x.type === PayloadType.NOTIFY && 'notifyType' in x);
    if (this.mis.cookie === true && this.cookiesSent < (this.mis.cookieRounds ?? 1)) {
      const got = notifies.find((n) => n.notifyType === NotifyType.COOKIE);
      const want = this.cookieFor(spiI);
      if (got === undefined || Buffer.compare(Buffer.from(got.data), Buffer.from(want)) !== 0 || this.cookiesSent < (this.mis.cookieRounds ?? 1) - 1) {
        this.cookiesSent++;
        return [this.plain(spiI, zero, [notify(NotifyType.COOKIE, want)])];
      }
      if (notifies[0]?.notifyType !== NotifyType.COOKIE) throw new Error('COOKIE must be the first payload (RFC 7296 §2.6)');
      this.cookiesSent++;
    }
    const sa = find(PayloadType.SA) as SaPayload | undefined;
    const ke = find(PayloadType.KE) as { group: number; data: Uint8Array } | undefined;
    const nonce = find(PayloadType.NONCE) as { nonce: Uint8Array } | undefined;
    if (sa === undefined || ke === undefined || nonce === undefined) throw new Error('IKE_SA_INIT without SA/KE/Ni');
    this.initiatorFragmentation = notifies.some((n) => n.notifyType === NotifyType.IKEV2_FRAGMENTATION_SUPPORTED);
    const hashes = notifies.find((n) => n.notifyType === NotifyType.SIGNATURE_HASH_ALGORITHMS);
    this.initiatorHashes = hashes === undefined ? [] : Array.from({ length: hashes.data.length / 2 }, (_, i) => ((hashes.data[2 * i] as number) << 8) | (hashes.data[2 * i + 1] as number));
    if (this.mis.ikeNoProposal === true) return [this.plain(spiI, zero, [notify(NotifyType.NO_PROPOSAL_CHOSEN)])];
    let chosen: { number: number; suite: IkeSuite } | undefined;
    for (const suite of this.config.ike) {
      const prop = sa.proposals.find((x) => x.protocol === ProtocolId.IKE && offers(x, transformsOf(suite, false)));
      if (prop !== undefined) {
        chosen = { number: prop.number, suite };
        break;
      }
    }
    if (chosen === undefined) return [this.plain(spiI, zero, [notify(NotifyType.NO_PROPOSAL_CHOSEN)])];
    const wantGroup = this.mis.demandGroup ?? chosen.suite.ke;
    if (ke.group !== wantGroup) return [this.plain(spiI, zero, [notify(NotifyType.INVALID_KE_PAYLOAD, Uint8Array.of(wantGroup >> 8, wantGroup & 0xff))])];
    const suite = chosen.suite;
    this.spiI = Uint8Array.from(spiI);
    this.ikeSuite = suite;
    this.prf = createPrf(suite.prf);
    const ours = createKeyExchange(suite.ke);
    const shared = ours.computeSharedSecret(ke.data);
    this.nonceI = Uint8Array.from(nonce.nonce);
    this.nonceR = this.config.random(32);
    this.initRequest = Uint8Array.from(datagram);
    const cipher = createSkCipher(suite.encr, suite.encrKeyLength, suite.integ);
    this.ikeKeys = deriveIkeKeys({
      prf: this.prf,
      nonceI: this.nonceI,
      nonceR: this.nonceR,
      sharedSecret: shared,
      spiI: this.spiI,
      spiR: this.spiR,
      encKeyLength: cipher.encKeyLength,
      integKeyLength: cipher.integKeyLength,
    });
    let transforms = transformsOf(suite, false);
    if (this.mis.pickUnoffered === true) transforms = transforms.map((t) => (t.type === TransformType.ENCR ? { ...t, keyLength: 192 } : t));
    const payloads: Payload[] = [
      { type: PayloadType.SA, proposals: [{ number: chosen.number, protocol: ProtocolId.IKE, spi: new Uint8Array(0), transforms }] },
      { type: PayloadType.KE, group: suite.ke, data: ours.publicValue },
      { type: PayloadType.NONCE, nonce: this.nonceR },
    ];
    if (this.mis.noNatd !== true) {
      const seen = this.mis.natInitiator === true ? { address: '198.51.100.7', port: 31000 } : from;
      payloads.push(notify(NotifyType.NAT_DETECTION_SOURCE_IP, natHash(this.spiI, this.spiR, this.config.endpoint)));
      payloads.push(notify(NotifyType.NAT_DETECTION_DESTINATION_IP, natHash(this.spiI, this.spiR, seen)));
    }
    if (this.config.fragmentation !== false) payloads.push(notify(NotifyType.IKEV2_FRAGMENTATION_SUPPORTED));
    payloads.push(notify(NotifyType.SIGNATURE_HASH_ALGORITHMS, Uint8Array.of(0, HashAlgorithm.SHA2_256, 0, HashAlgorithm.SHA2_384, 0, HashAlgorithm.SHA2_512)));
    const response = this.plain(this.spiI, this.spiR, payloads);
    this.initResponse = response;
    this.expectMid = 1;
    return [response];
  }

  // ------------------------------------------------------------ protection (independent of the engine's protection.ts)

  private open(datagram: Uint8Array, body: Uint8Array, first: number | undefined): Uint8Array | undefined {
    const d = this.inbound;
    const aad = datagram.subarray(0, datagram.length - body.length);
    const padded = d.cipher.open({ encKey: d.encKey, integKey: d.integKey, iv: body.subarray(0, d.cipher.ivLength), aad, ciphertextAndIcv: body.subarray(d.cipher.ivLength) });
    if (padded === null) return undefined;
    const plain = unpadSkPlaintext(padded);
    if (plain === null) throw new Error('bad padding from the initiator');
    void first;
    return plain;
  }

  private openAny(msg: IkeMessage, datagram: Uint8Array): Payload[] | undefined {
    const last = msg.payloads[msg.payloads.length - 1];
    if (last === undefined) throw new Error('empty protected message');
    if (last.type === PayloadType.SK && 'innerNext' in last) {
      const plain = this.open(datagram, last.body, last.innerNext);
      if (plain === undefined) throw new Error('ICV of the initiator message does not verify');
      this.lastFragmentCount = 1;
      return decodePayloadChain(last.innerNext, plain, 'SK');
    }
    if (last.type === PayloadType.SKF && 'fragmentNumber' in last) {
      const plain = this.open(datagram, last.body, undefined);
      if (plain === undefined) throw new Error('ICV of an initiator fragment does not verify');
      if (last.fragmentNumber === 1) this.fragmentsFirst = last.innerNext;
      this.fragmentsTotal = last.totalFragments;
      this.fragments.set(last.fragmentNumber, Uint8Array.from(plain));
      if (this.fragments.size < this.fragmentsTotal) return undefined;
      const parts = Array.from({ length: this.fragmentsTotal }, (_, i) => this.fragments.get(i + 1) as Uint8Array);
      const whole = Buffer.concat(parts);
      this.lastFragmentCount = this.fragmentsTotal;
      this.fragments.clear();
      return decodePayloadChain(this.fragmentsFirst, new Uint8Array(whole), 'SKF');
    }
    throw new Error('protected exchange without SK/SKF');
  }

  /** Seals inner payloads into one SK message, or SKF fragments above `fragmentSize` when the initiator supports them. */
  seal(header: Header, inner: readonly Payload[]): Uint8Array[] {
    this.lastSealed = { header, inner };
    const { first, bytes } = encodePayloadChain(inner);
    return this.sealRaw(header, first, bytes);
  }

  /** Seals arbitrary inner octets (the fuzzer uses this to reach the post-decryption parser). */
  sealRaw(header: Header, first: number, bytes: Uint8Array): Uint8Array[] {
    const d = this.outbound;
    const { cipher } = d;
    const sealOne = (payload: Payload, content: Uint8Array, bodyLength: number): Uint8Array => {
      const msg = encodeMessage(header, [payload]);
      const iv = this.config.random(cipher.ivLength);
      const aad = msg.subarray(0, msg.length - bodyLength);
      const sealed = cipher.seal({ encKey: d.encKey, integKey: d.integKey, iv, aad, plaintext: padSkPlaintext(content, cipher.blockSize) });
      msg.set(iv, msg.length - bodyLength);
      msg.set(sealed, msg.length - bodyLength + iv.length);
      return msg;
    };
    const bodyLen = (n: number): number => cipher.ivLength + padSkPlaintext(new Uint8Array(n), cipher.blockSize).length + cipher.icvLength;
    const size = this.config.fragmentSize;
    if (size === undefined || !this.initiatorFragmentation || 32 + bodyLen(bytes.length) <= size) {
      const n = bodyLen(bytes.length);
      return [sealOne({ type: PayloadType.SK, innerNext: first, body: new Uint8Array(n) }, bytes, n)];
    }
    const per = Math.max(1, size - 36 - cipher.ivLength - cipher.icvLength - cipher.blockSize);
    const total = Math.ceil(bytes.length / per);
    const out: Uint8Array[] = [];
    for (let i = 0; i < total; i++) {
      const chunk = bytes.subarray(i * per, (i + 1) * per);
      const n = bodyLen(chunk.length);
      out.push(sealOne({ type: PayloadType.SKF, innerNext: i === 0 ? first : 0, fragmentNumber: i + 1, totalFragments: total, body: new Uint8Array(n) }, chunk, n));
    }
    return out;
  }

  // ------------------------------------------------------------ IKE_AUTH

  private ikeAuth(inner: Payload[], from: Endpoint): Payload[] {
    void from;
    const get = (t: number) => inner.find((x) => x.type === t);
    const idi = get(PayloadType.IDi) as { idType: number; data: Uint8Array } | undefined;
    const auth = get(PayloadType.AUTH) as { method: number; data: Uint8Array } | undefined;
    if (idi === undefined || auth === undefined || this.prf === undefined || this.ikeKeys === undefined) throw new Error('IKE_AUTH without IDi/AUTH');
    if (this.mis.authFailed === true) return [notify(NotifyType.AUTHENTICATION_FAILED)];
    const idiBody = new Uint8Array(4 + idi.data.length);
    idiBody[0] = idi.idType;
    idiBody.set(idi.data, 4);
    const octetsI = signedOctets({ message: this.initRequest as Uint8Array, peerNonce: this.nonceR as Uint8Array, prf: this.prf, skP: this.ikeKeys.skPi, idBody: idiBody });
    let ok = false;
    if (auth.method === AuthMethod.PSK) {
      ok = this.config.peerPsk !== undefined && verifyPskAuthData(this.prf, this.config.peerPsk, octetsI, auth.data);
    } else {
      const cert = inner.find((x) => x.type === PayloadType.CERT) as { encoding: number; data: Uint8Array } | undefined;
      if (cert !== undefined && cert.encoding === CertEncoding.X509_SIGNATURE) {
        const publicKey = new X509Certificate(cert.data).publicKey;
        ok = verifySignatureAuth({ method: auth.method, data: auth.data, publicKey, octets: octetsI }).ok;
      }
    }
    if (!ok) return [notify(NotifyType.AUTHENTICATION_FAILED)];
    this.authenticated = true;
    // our identity and AUTH
    const id = identityToPayload(this.mis.idr ?? this.config.id);
    const idrBody = new Uint8Array(4 + id.data.length);
    idrBody[0] = id.idType;
    idrBody.set(id.data, 4);
    const octetsR = signedOctets({ message: this.initResponse as Uint8Array, peerNonce: this.nonceI as Uint8Array, prf: this.prf, skP: this.ikeKeys.skPr, idBody: idrBody });
    const out: Payload[] = [{ type: PayloadType.IDr, idType: id.idType, data: id.data }];
    let authPayload: { method: number; data: Uint8Array };
    if (this.config.auth.method === 'psk') {
      authPayload = { method: AuthMethod.PSK, data: pskAuthData(this.prf, this.config.auth.psk, octetsR) };
    } else {
      for (const der of this.config.auth.chain) out.push({ type: PayloadType.CERT, encoding: CertEncoding.X509_SIGNATURE, data: der });
      const sig = createSignatureAuth({ privateKey: this.config.auth.privateKey, octets: octetsR, peerHashAlgorithms: this.initiatorHashes });
      authPayload = { method: sig.method, data: sig.data };
    }
    if (this.mis.wrongAuth === true) authPayload = { ...authPayload, data: authPayload.data.map((b, i) => (i === authPayload.data.length - 1 ? b ^ 1 : b)) };
    out.push({ type: PayloadType.AUTH, ...authPayload });
    if (this.mis.childError !== undefined) return [...out, notify(this.mis.childError)];
    // configuration
    const cp = get(PayloadType.CP) as { cfgType: number; attributes: readonly CfgAttribute[] } | undefined;
    const assigned: Uint8Array[] = [];
    if (cp !== undefined && cp.cfgType === CfgType.CFG_REQUEST && this.mis.noCp !== true) {
      const pool = this.config.pool ?? {};
      const wants = new Set(cp.attributes.map((a) => a.type));
      const attrs: CfgAttribute[] = [];
      if (wants.has(CfgAttr.INTERNAL_IP4_ADDRESS) && pool.ipv4 !== undefined) {
        const a = ipBytes(pool.ipv4);
        assigned.push(a);
        attrs.push({ type: CfgAttr.INTERNAL_IP4_ADDRESS, value: a });
      }
      if (wants.has(CfgAttr.INTERNAL_IP6_ADDRESS) && pool.ipv6 !== undefined) {
        const a = ipBytes(pool.ipv6);
        assigned.push(a);
        const v = new Uint8Array(17);
        v.set(a);
        v[16] = 128;
        attrs.push({ type: CfgAttr.INTERNAL_IP6_ADDRESS, value: v });
      }
      for (const dns of pool.dns ?? []) {
        const a = ipBytes(dns);
        if (wants.has(a.length === 4 ? CfgAttr.INTERNAL_IP4_DNS : CfgAttr.INTERNAL_IP6_DNS)) attrs.push({ type: a.length === 4 ? CfgAttr.INTERNAL_IP4_DNS : CfgAttr.INTERNAL_IP6_DNS, value: a });
      }
      for (const domain of pool.domains ?? []) if (wants.has(CfgAttr.INTERNAL_DNS_DOMAIN)) attrs.push({ type: CfgAttr.INTERNAL_DNS_DOMAIN, value: new TextEncoder().encode(domain) });
      out.push({ type: PayloadType.CP, cfgType: CfgType.CFG_REPLY, attributes: attrs });
    }
    // CHILD_SA
    const sa = get(PayloadType.SA) as SaPayload | undefined;
    const tsi = get(PayloadType.TSi) as { selectors: readonly TrafficSelector[] } | undefined;
    const tsr = get(PayloadType.TSr) as { selectors: readonly TrafficSelector[] } | undefined;
    if (sa === undefined || tsi === undefined || tsr === undefined) throw new Error('IKE_AUTH without SA/TSi/TSr');
    let chosen: { proposal: Proposal; suite: EspSuite } | undefined;
    if (this.mis.espNoProposal !== true) {
      for (const suite of this.config.esp) {
        const prop = sa.proposals.find((x) => x.protocol === ProtocolId.ESP && offers(x, transformsOf(suite, true)));
        if (prop !== undefined) {
          chosen = { proposal: prop, suite };
          break;
        }
      }
    }
    if (chosen === undefined) return [...out, notify(NotifyType.NO_PROPOSAL_CHOSEN)];
    const everything: TrafficSelector = { ...hostSelector(new Uint8Array(4)), endAddress: Uint8Array.of(255, 255, 255, 255) };
    const narrowedTsr = this.mis.widenTs === true ? [everything] : this.config.localTs.filter((l) => tsr.selectors.some((r) => within(l, r)));
    if (narrowedTsr.length === 0) return [...out, notify(NotifyType.TS_UNACCEPTABLE)];
    const narrowedTsi = assigned.length > 0 ? assigned.filter((a) => tsi.selectors.some((s) => within(hostSelector(a), s))).map(hostSelector) : [...tsi.selectors];
    if (narrowedTsi.length === 0) return [...out, notify(NotifyType.TS_UNACCEPTABLE)];
    const responderSpi = (0xc1000000 | (this.children.length + 1)) >>> 0;
    const initiatorSpi = new DataView(chosen.proposal.spi.buffer, chosen.proposal.spi.byteOffset, 4).getUint32(0);
    const lengths = espKeyLengths(chosen.suite);
    const keys = deriveChildKeys({ prf: this.prf, skD: this.ikeKeys.skD, nonceI: this.nonceI as Uint8Array, nonceR: this.nonceR as Uint8Array, ...lengths });
    this.children.push({ initiatorSpi, responderSpi, suite: chosen.suite, keys });
    const spi = new Uint8Array(4);
    new DataView(spi.buffer).setUint32(0, responderSpi);
    out.push({ type: PayloadType.SA, proposals: [{ number: chosen.proposal.number, protocol: ProtocolId.ESP, spi, transforms: transformsOf(chosen.suite, true) }] });
    out.push({ type: PayloadType.TSi, selectors: narrowedTsi });
    out.push({ type: PayloadType.TSr, selectors: narrowedTsr });
    return out;
  }

  // ------------------------------------------------------------ INFORMATIONAL

  private informational(inner: Payload[]): Payload[] {
    const del = inner.find((x) => x.type === PayloadType.DELETE) as { protocol: number } | undefined;
    if (del?.protocol === ProtocolId.IKE) this.deleted = true;
    return [];
  }

  /** A request from the gateway to the initiator (liveness check, DELETE), with our next Message ID. */
  request(inner: readonly Payload[], exchange: number = ExchangeType.INFORMATIONAL): Uint8Array[] {
    return this.seal(this.header(exchange, this.ourMid++, false), inner);
  }

  /** The same request again (a retransmission: same Message ID, same payloads; new IV). */
  get nextRequestId(): number {
    return this.ourMid;
  }

  /** A response datagram with a chosen Message ID (for tests of the initiator's matching). */
  response(exchange: number, messageId: number, inner: readonly Payload[]): Uint8Array[] {
    return this.seal(this.header(exchange, messageId, true), inner);
  }
}
