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
import { deriveChildKeys, deriveIkeKeys, deriveRekeyedIkeKeys } from '../../native-helper/src/ike/crypto/keymat.js';
import type { ChildKeys, IkeKeys } from '../../native-helper/src/ike/crypto/keymat.js';
import { createPrf } from '../../native-helper/src/ike/crypto/prf.js';
import type { Prf } from '../../native-helper/src/ike/crypto/prf.js';
import { createSkCipher } from '../../native-helper/src/ike/crypto/sk-cipher.js';
import type { SkCipher } from '../../native-helper/src/ike/crypto/sk-cipher.js';
import { padSkPlaintext, unpadSkPlaintext } from '../../native-helper/src/ike/crypto/sk-padding.js';
import { espKeyLengths } from '../../native-helper/src/ike/crypto/suite.js';
import type { EspSuite, IkeSuite } from '../../native-helper/src/ike/crypto/suite.js';
import { identityToPayload } from '../../native-helper/src/pki/identity.js';
import { authenticatorResponse, generateNtResponse, mschapv2Msk, ntPasswordHash } from '../../native-helper/src/eap/mschapv2-crypto.js';
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
  /** RFC 4478: send AUTH_LIFETIME with this many seconds in the IKE_AUTH response */
  readonly authLifetime?: number;
  /** RFC 4555: answer MOBIKE_SUPPORTED in IKE_AUTH with ours and serve UPDATE_SA_ADDRESSES */
  readonly mobike?: boolean;
  /** RFC 4555 §3.5: answer UPDATE_SA_ADDRESSES with this error notify (e.g. UNACCEPTABLE_ADDRESSES) */
  readonly mobikeRefuse?: number;
  /** RFC 7296 §2.18: answer the initiator's IKE SA rekey with this error notify */
  readonly ikeRekeyRefuse?: number;
  /** a hostile answer to the initiator's IKE SA rekey */
  readonly ikeRekeyHostile?: 'shortSpi' | 'zeroSpi' | 'wrongKeGroup' | 'noKe' | 'twoProposals' | 'badKeValue';
  /** our nonce in the answer to the initiator's IKE SA rekey (to steer §2.8.2 collisions) */
  readonly ikeRekeyNonce?: Uint8Array;
  /** RFC 4555 §3.8: answer UPDATE_SA_ADDRESSES with another COOKIE2 than the initiator's */
  readonly mobikeWrongCookie2?: boolean;
  /** RFC 4555 §3.5: claim a NAT on the new path (our NAT_DETECTION_DESTINATION_IP hash over another address) */
  readonly mobikeNat?: boolean;
  /** answer CREATE_CHILD_SA with this error notify */
  readonly rekeyRefuse?: number;
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
  /** authenticate the initiator with EAP-MSCHAPv2 (RFC 7296 §2.16) instead of its AUTH */
  readonly eap?: ResponderEap;
}

export interface ResponderEap {
  readonly identity: string;
  readonly password: string;
  /** answer a wrong NT-Response with this MS-CHAPv2 error (default 691), or reject the right one with it */
  readonly rejectWith?: number;
  /** send a wrong S= authenticator response */
  readonly wrongAuthenticator?: boolean;
  /** send EAP-Success right after the identity (no method run) */
  readonly earlySuccess?: boolean;
  /** propose this EAP type first (the initiator should Nak it), then fail */
  readonly proposeType?: number;
  /** compute our final AUTH with a wrong MSK */
  readonly wrongMskAuth?: boolean;
  /** after EAP succeeded, refuse the account (charon: a failed `groups` constraint): AUTHENTICATION_FAILED, no AUTH */
  readonly refuseAfterSuccess?: boolean;
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
  /** created by a CREATE_CHILD_SA the gateway initiated: keys.encI is gateway→initiator */
  readonly gatewayInitiated?: boolean;
}

export type Header = Omit<IkeHeader, 'length' | 'nextPayload'>;

/** One IKE SA's state in the responder (the current one, or one a rekey replaced). */
export interface IkeSaSnapshot {
  readonly spiI: Uint8Array;
  readonly spiR: Uint8Array;
  readonly ikeSuite: IkeSuite;
  readonly ikeKeys: IkeKeys;
  readonly prf: Prf;
  readonly expectMid: number;
  readonly ourMid: number;
  readonly lastResponse: { mid: number; request: string; datagrams: Uint8Array[] } | undefined;
  readonly peerIsInitiator: boolean;
}

const sameBytes = (a: Uint8Array, b: Uint8Array): boolean => a.length === b.length && a.every((x, i) => x === b[i]);

// ---------------------------------------------------------------- the responder

export class TestResponder {
  spiI: Uint8Array = new Uint8Array(8);
  spiR: Uint8Array;
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
  /** the request that carried CP/SA/TS (IKE_AUTH): its notify types and its CFG_REQUEST attributes */
  childRequest: { readonly notifies: readonly number[]; readonly cp: readonly CfgAttribute[] } | undefined;
  deleted = false;
  private cookiesSent = 0;
  private readonly cookieSecret: Uint8Array;
  private expectMid = 0;
  /** RFC 7296 §2.18: the initiator is the original initiator of the current IKE SA (false once WE rekeyed it) */
  peerIsInitiator = true;
  /** IKE SAs a rekey replaced, still answered until deleted */
  readonly retiredIkeSas: IkeSaSnapshot[] = [];
  /** replaced IKE SAs that were deleted (DELETE received), by SPIi hex */
  readonly deletedIkeSas: string[] = [];
  /** IKE SA rekeys done, with the new SPIs */
  readonly ikeRekeys: { spiI: string; spiR: string; by: 'initiator' | 'gateway' }[] = [];
  private pendingIkeSwitch: IkeSaSnapshot | undefined;
  private ownIkeRekey: { spi: Uint8Array; nonceI: Uint8Array; ke: ReturnType<typeof createKeyExchange>; suite: IkeSuite } | undefined;
  private lastResponse: { mid: number; request: string; datagrams: Uint8Array[] } | undefined;
  private readonly fragments = new Map<number, Uint8Array>();
  private fragmentsTotal = 0;
  private fragmentsFirst = 0;
  private ourMid = 0;
  /** EAP server state (RFC 7296 §2.16) */
  eapState: 'none' | 'identity' | 'challenge' | 'success' | 'failure' | 'done' = 'none';
  eapRounds = 0;
  private eapId = 1;
  private eapChallenge: Uint8Array = new Uint8Array(16);
  private eapMsk: Uint8Array | undefined;
  private eapIdi: Uint8Array | undefined;
  private eapFirstRequest: Payload[] | undefined;
  /** RFC 4739: the first round's request (SA, TS, CP) after a certificate AUTH with ANOTHER_AUTH_FOLLOWS */
  private multiAuthFirst: Payload[] | undefined;

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
    // We are the original responder: we send with SK_er/SK_ar and receive with SK_ei/SK_ai (§2.18: swapped after our rekey).
    return (which === 'out') === this.peerIsInitiator
      ? { cipher, encKey: k.skEr, ...(cipher.integKeyLength > 0 ? { integKey: k.skAr } : {}) }
      : { cipher, encKey: k.skEi, ...(cipher.integKeyLength > 0 ? { integKey: k.skAi } : {}) };
  }

  /** Handles one datagram from the initiator; returns our datagrams (none for a dropped or incomplete one). */
  handle(datagram: Uint8Array, from: Endpoint): Uint8Array[] {
    const decoded = decodeMessage(datagram);
    if (!decoded.ok) throw new Error(`responder got a malformed message: ${decoded.error.message}`);
    const msg = decoded.value;
    const h = msg.header;
    const retired = this.retiredIkeSas.find((x) => sameBytes(x.spiI, h.spiI) && sameBytes(x.spiR, h.spiR));
    if (retired !== undefined && h.exchange !== ExchangeType.IKE_SA_INIT) return this.onRetired(retired, () => this.handle(datagram, from));
    if (h.initiator !== this.peerIsInitiator) throw new Error(`responder got a message with the I flag ${h.initiator ? 'set' : 'clear'}`);
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
    else if (h.exchange === ExchangeType.INFORMATIONAL) response = this.informational(inner, from);
    else if (h.exchange === ExchangeType.CREATE_CHILD_SA) response = this.createChildSa(inner);
    else throw new Error(`responder cannot serve exchange ${h.exchange}`);
    const out = this.seal({ ...this.header(h.exchange, h.messageId, true) }, response);
    this.lastResponse = { mid: h.messageId, request: key, datagrams: out };
    if (this.pendingIkeSwitch !== undefined) {
      this.expectMid++;
      const next = this.pendingIkeSwitch;
      this.pendingIkeSwitch = undefined;
      this.switchIkeSa(next, 'initiator');
      return out;
    }
    this.expectMid++;
    return out;
  }

  /** The header and inner payloads of the last message we sealed (the fuzzer mutates them). */
  lastSealed: { readonly header: Header; readonly inner: readonly Payload[] } | undefined;

  /** The decrypted payloads of the initiator's last response to one of our requests. */
  lastPeerResponse: Payload[] | undefined;
  private lastFragmentCount = 0;

  private header(exchange: number, messageId: number, response: boolean): Header {
    return { spiI: this.spiI, spiR: this.spiR, version: IKE_VERSION, exchange, initiator: !this.peerIsInitiator, response, messageId };
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
    if (this.config.eap !== undefined && this.eapState !== 'none') return this.eapRound(inner);
    const idi = get(PayloadType.IDi) as { idType: number; data: Uint8Array } | undefined;
    const auth0 = get(PayloadType.AUTH) as { method: number; data: Uint8Array } | undefined;
    if (this.config.eap !== undefined && idi !== undefined && auth0 === undefined && this.multiAuthFirst !== undefined) {
      // RFC 4739 §3: the second round's IDi alone starts EAP; SA/TS/CP come from the first round.
      this.eapStart(this.multiAuthFirst, idi);
      return [this.eapPacket(1, 1)];
    }
    if (this.config.eap !== undefined && idi !== undefined && auth0 === undefined) return this.eapStart(inner, idi);
    const auth = auth0;
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
    const anotherFollows = inner.some((x) => x.type === PayloadType.NOTIFY && 'notifyType' in x && x.notifyType === NotifyType.ANOTHER_AUTH_FOLLOWS);
    if (anotherFollows && this.config.eap !== undefined) {
      // RFC 4739 §3: our IDr, CERT and AUTH only; the initiator's second round follows.
      this.multiAuthFirst = inner;
      return this.ourAuth();
    }
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
    return this.childAndConfig(inner, out);
  }

  /** Our IDr, CERT and AUTH (the gateway's half of IKE_AUTH). */
  private ourAuth(): Payload[] {
    if (this.prf === undefined || this.ikeKeys === undefined) throw new Error('no keys');
    const id = identityToPayload(this.mis.idr ?? this.config.id);
    const idrBody = new Uint8Array(4 + id.data.length);
    idrBody[0] = id.idType;
    idrBody.set(id.data, 4);
    const octetsR = signedOctets({ message: this.initResponse as Uint8Array, peerNonce: this.nonceI as Uint8Array, prf: this.prf, skP: this.ikeKeys.skPr, idBody: idrBody });
    const out: Payload[] = [{ type: PayloadType.IDr, idType: id.idType, data: id.data }];
    if (this.config.auth.method === 'psk') {
      out.push({ type: PayloadType.AUTH, method: AuthMethod.PSK, data: pskAuthData(this.prf, this.config.auth.psk, octetsR) });
    } else {
      for (const der of this.config.auth.chain) out.push({ type: PayloadType.CERT, encoding: CertEncoding.X509_SIGNATURE, data: der });
      const sig = createSignatureAuth({ privateKey: this.config.auth.privateKey, octets: octetsR, peerHashAlgorithms: this.initiatorHashes });
      out.push({ type: PayloadType.AUTH, method: sig.method, data: sig.data });
    }
    return out;
  }

  private eapPacket(code: number, type?: number, data: Uint8Array = new Uint8Array(0)): Payload {
    const body = type === undefined ? new Uint8Array(0) : Uint8Array.of(type, ...data);
    const m = new Uint8Array(4 + body.length);
    m[0] = code;
    m[1] = this.eapId;
    m[2] = m.length >> 8;
    m[3] = m.length & 0xff;
    m.set(body, 4);
    return { type: PayloadType.EAP, message: m };
  }

  private eapStart(inner: Payload[], idi: { idType: number; data: Uint8Array }): Payload[] {
    this.eapFirstRequest = inner;
    this.eapIdi = new Uint8Array(4 + idi.data.length);
    this.eapIdi[0] = idi.idType;
    this.eapIdi.set(idi.data, 4);
    this.eapState = 'identity';
    return [...this.ourAuth(), this.eapPacket(1, 1)];
  }

  /** One EAP round of the server (RFC 3748; MS-CHAPv2 as strongSwan's eap-mschapv2 does it). */
  private eapRound(inner: Payload[]): Payload[] {
    const eap = this.config.eap as ResponderEap;
    this.eapRounds++;
    const get = (t: number) => inner.find((x) => x.type === t);
    const msg = (get(PayloadType.EAP) as { message: Uint8Array } | undefined)?.message;
    const authP = get(PayloadType.AUTH) as { method: number; data: Uint8Array } | undefined;
    if (this.eapState === 'done') {
      if (eap.refuseAfterSuccess === true) return [notify(NotifyType.AUTHENTICATION_FAILED)];
      if (authP === undefined || this.eapMsk === undefined || this.prf === undefined || this.ikeKeys === undefined) return [notify(NotifyType.AUTHENTICATION_FAILED)];
      const octetsI = signedOctets({ message: this.initRequest as Uint8Array, peerNonce: this.nonceR as Uint8Array, prf: this.prf, skP: this.ikeKeys.skPi, idBody: this.eapIdi as Uint8Array });
      if (!verifyPskAuthData(this.prf, this.eapMsk, octetsI, authP.data)) return [notify(NotifyType.AUTHENTICATION_FAILED)];
      this.authenticated = true;
      const id = identityToPayload(this.mis.idr ?? this.config.id);
      const idrBody = new Uint8Array(4 + id.data.length);
      idrBody[0] = id.idType;
      idrBody.set(id.data, 4);
      const octetsR = signedOctets({ message: this.initResponse as Uint8Array, peerNonce: this.nonceI as Uint8Array, prf: this.prf, skP: this.ikeKeys.skPr, idBody: idrBody });
      const msk = eap.wrongMskAuth === true ? new Uint8Array(64).fill(7) : this.eapMsk;
      return this.childAndConfig(this.eapFirstRequest as Payload[], [{ type: PayloadType.AUTH, method: AuthMethod.PSK, data: pskAuthData(this.prf, msk, octetsR) }]);
    }
    if (msg === undefined || msg[0] !== 2 || msg[1] !== this.eapId) throw new Error(`responder expected an EAP Response with identifier ${this.eapId}`);
    const type = msg[4];
    const data = msg.subarray(5);
    this.eapId = (this.eapId + 1) & 0xff;
    if (this.eapState === 'identity') {
      if (type !== 1) throw new Error('expected EAP Response/Identity');
      if (eap.earlySuccess === true) {
        this.eapState = 'done';
        return [this.eapPacket(3)];
      }
      if (eap.proposeType !== undefined) {
        this.eapState = 'failure';
        return [this.eapPacket(1, eap.proposeType, Uint8Array.of(0))];
      }
      this.eapState = 'challenge';
      this.eapChallenge = this.config.random(16);
      const name = new TextEncoder().encode('strongSwan');
      const ms = new Uint8Array(4 + 1 + 16 + name.length);
      ms[0] = 1;
      ms[1] = this.eapId;
      ms[2] = ms.length >> 8;
      ms[3] = ms.length & 0xff;
      ms[4] = 16;
      ms.set(this.eapChallenge, 5);
      ms.set(name, 21);
      return [this.eapPacket(1, 26, ms)];
    }
    if (this.eapState === 'challenge') {
      if (type !== 26 || data[0] !== 2) throw new Error('expected an MS-CHAPv2 Response');
      const peerChallenge = data.slice(5, 21);
      const nt = data.slice(29, 53);
      const name = data.subarray(54);
      const hash = ntPasswordHash(eap.password);
      const expected = generateNtResponse(this.eapChallenge, peerChallenge, name, hash);
      const good = Buffer.compare(Buffer.from(expected), Buffer.from(nt)) === 0 && new TextDecoder().decode(name) === eap.identity;
      if (!good || eap.rejectWith !== undefined) {
        this.eapState = 'failure';
        const text = `E=${eap.rejectWith ?? 691} R=1 C=${Buffer.from(this.config.random(16)).toString('hex').toUpperCase()} V=3 M=Login incorrect`;
        return [this.eapPacket(1, 26, Uint8Array.of(4, this.eapId, 0, 0, ...new TextEncoder().encode(text)))];
      }
      let s = authenticatorResponse(hash, nt, peerChallenge, this.eapChallenge, name);
      if (eap.wrongAuthenticator === true) s = s.map((b, i) => (i === 0 ? b ^ 1 : b));
      this.eapMsk = mschapv2Msk(hash, nt);
      this.eapState = 'success';
      const text = `S=${Buffer.from(s).toString('hex').toUpperCase()} M=Welcome2strongSwan`;
      return [this.eapPacket(1, 26, Uint8Array.of(3, this.eapId, 0, 0, ...new TextEncoder().encode(text)))];
    }
    if (this.eapState === 'success') {
      if (type === 26 && data[0] === 3) {
        this.eapState = 'done';
        return [this.eapPacket(3)];
      }
      this.eapState = 'failure';
      return [this.eapPacket(4)];
    }
    // failure: whatever the peer answered (a Failure Response or a Nak), EAP ends with EAP-Failure.
    this.eapState = 'none';
    return [this.eapPacket(4)];
  }

  private childAndConfig(inner: Payload[], out: Payload[]): Payload[] {
    const get = (t: number) => inner.find((x) => x.type === t);
    if (this.prf === undefined || this.ikeKeys === undefined) throw new Error('no keys');
    if (this.mis.childError !== undefined) return [...out, notify(this.mis.childError)];
    // configuration
    const cp = get(PayloadType.CP) as { cfgType: number; attributes: readonly CfgAttribute[] } | undefined;
    this.childRequest = { notifies: inner.flatMap((x) => (x.type === PayloadType.NOTIFY && 'notifyType' in x ? [x.notifyType] : [])), cp: cp?.cfgType === CfgType.CFG_REQUEST ? cp.attributes : [] };
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
        const prop = sa.proposals.find((x) => x.protocol === ProtocolId.ESP && offers(x, transformsOf({ ...suite, ke: undefined }, true)));
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
    out.push({ type: PayloadType.SA, proposals: [{ number: chosen.proposal.number, protocol: ProtocolId.ESP, spi, transforms: transformsOf({ ...chosen.suite, ke: undefined }, true) }] });
    out.push({ type: PayloadType.TSi, selectors: narrowedTsi });
    out.push({ type: PayloadType.TSr, selectors: narrowedTsr });
    if (this.mis.mobike === true && inner.some((x) => x.type === PayloadType.NOTIFY && 'notifyType' in x && x.notifyType === NotifyType.MOBIKE_SUPPORTED)) out.push(notify(NotifyType.MOBIKE_SUPPORTED));
    if (this.mis.authLifetime !== undefined) out.push(notify(NotifyType.AUTH_LIFETIME, Uint8Array.of(this.mis.authLifetime >>> 24, (this.mis.authLifetime >>> 16) & 0xff, (this.mis.authLifetime >>> 8) & 0xff, this.mis.authLifetime & 0xff)));
    return out;
  }

  // ------------------------------------------------------------ INFORMATIONAL

  /** the addresses of each accepted UPDATE_SA_ADDRESSES (RFC 4555 §3.5: taken from the IP header) */
  readonly addressUpdates: Endpoint[] = [];

  private informational(inner: Payload[], from: Endpoint): Payload[] {
    const notifyOf = (t: number): NotifyPayload | undefined => inner.find((x): x is NotifyPayload => x.type === PayloadType.NOTIFY && 'notifyType' in x && x.notifyType === t);
    if (notifyOf(NotifyType.UPDATE_SA_ADDRESSES) !== undefined) {
      if (this.mis.mobike !== true) throw new Error('UPDATE_SA_ADDRESSES without MOBIKE');
      if (this.mis.mobikeRefuse !== undefined) return [notify(this.mis.mobikeRefuse)];
      const cookie2 = notifyOf(NotifyType.COOKIE2);
      if (cookie2 === undefined) throw new Error('UPDATE_SA_ADDRESSES without COOKIE2');
      this.addressUpdates.push({ ...from });
      const seen = this.mis.mobikeNat === true ? { address: '198.51.100.9', port: 40000 } : from;
      // The request came to our NAT-T port; the initiator uses the same number on both sides.
      return [
        notify(NotifyType.NAT_DETECTION_SOURCE_IP, natHash(this.spiI, this.spiR, { ...this.config.endpoint, port: from.port })),
        notify(NotifyType.NAT_DETECTION_DESTINATION_IP, natHash(this.spiI, this.spiR, seen)),
        notify(NotifyType.COOKIE2, this.mis.mobikeWrongCookie2 === true ? cookie2.data.map((b) => b ^ 0xff) : cookie2.data),
      ];
    }
    const del = inner.find((x) => x.type === PayloadType.DELETE) as { protocol: number; spis: readonly Uint8Array[] } | undefined;
    if (del?.protocol === ProtocolId.IKE) this.deleted = true;
    if (del?.protocol === ProtocolId.ESP) {
      // RFC 7296 §1.4.1: answer with the SPIs of the other direction, and forget the pairs.
      const ours: Uint8Array[] = [];
      for (const spiBytes of del.spis) {
        const spi = new DataView(spiBytes.buffer, spiBytes.byteOffset, 4).getUint32(0);
        const i = this.children.findIndex((c) => c.initiatorSpi === spi);
        const c = this.children[i];
        if (c === undefined) continue;
        this.deletedChildren.push(c);
        this.children.splice(i, 1);
        const b = new Uint8Array(4);
        new DataView(b.buffer).setUint32(0, c.responderSpi);
        ours.push(b);
      }
      return ours.length === 0 ? [] : [{ type: PayloadType.DELETE, protocol: ProtocolId.ESP, spis: ours }];
    }
    return [];
  }

  /** CHILD_SAs the initiator deleted (after a rekey) */
  readonly deletedChildren: ResponderChild[] = [];
  /** CREATE_CHILD_SA requests we served: the rekeyed SPI and whether KE was used */
  readonly rekeys: { rekeyedSpi: number; pfs: boolean }[] = [];

  /** Answers the initiator's CHILD_SA rekey (RFC 7296 §1.3.3). */
  private createChildSa(inner: Payload[]): Payload[] {
    const get = (t: number) => inner.find((x) => x.type === t);
    if (this.prf === undefined || this.ikeKeys === undefined) throw new Error('no keys');
    const ikeSa = get(PayloadType.SA) as SaPayload | undefined;
    if (ikeSa !== undefined && ikeSa.proposals.length > 0 && ikeSa.proposals.every((x) => x.protocol === ProtocolId.IKE)) return this.serveIkeRekey(inner);
    if (this.mis.rekeyRefuse !== undefined) return [notify(this.mis.rekeyRefuse)];
    const rekey = inner.find((x): x is NotifyPayload => x.type === PayloadType.NOTIFY && 'notifyType' in x && x.notifyType === NotifyType.REKEY_SA);
    const sa = get(PayloadType.SA) as SaPayload | undefined;
    const nonce = get(PayloadType.NONCE) as { nonce: Uint8Array } | undefined;
    const tsi = get(PayloadType.TSi) as { selectors: readonly TrafficSelector[] } | undefined;
    const tsr = get(PayloadType.TSr) as { selectors: readonly TrafficSelector[] } | undefined;
    if (rekey === undefined || sa === undefined || nonce === undefined || tsi === undefined || tsr === undefined) throw new Error('CREATE_CHILD_SA without REKEY_SA/SA/Nonce/TS');
    const rekeyedSpi = new DataView(rekey.spi.buffer, rekey.spi.byteOffset, 4).getUint32(0);
    if (!this.children.some((c) => c.initiatorSpi === rekeyedSpi)) return [{ ...notify(NotifyType.CHILD_SA_NOT_FOUND), protocol: ProtocolId.ESP, spi: rekey.spi }];
    let chosen: { proposal: Proposal; suite: EspSuite } | undefined;
    for (const suite of this.config.esp) {
      const prop = sa.proposals.find((x) => x.protocol === ProtocolId.ESP && offers(x, transformsOf(suite, true)));
      if (prop !== undefined) {
        chosen = { proposal: prop, suite };
        break;
      }
    }
    if (chosen === undefined) return [notify(NotifyType.NO_PROPOSAL_CHOSEN)];
    let shared: Uint8Array | undefined;
    const out: Payload[] = [];
    const nonceR = this.config.random(32);
    const responderSpi = (0xc1000000 | (this.children.length + this.deletedChildren.length + 1)) >>> 0;
    const spi = new Uint8Array(4);
    new DataView(spi.buffer).setUint32(0, responderSpi);
    out.push({ type: PayloadType.SA, proposals: [{ number: chosen.proposal.number, protocol: ProtocolId.ESP, spi, transforms: transformsOf(chosen.suite, true) }] });
    out.push({ type: PayloadType.NONCE, nonce: nonceR });
    if (chosen.suite.ke !== undefined) {
      const kei = get(PayloadType.KE) as { group: number; data: Uint8Array } | undefined;
      if (kei === undefined || kei.group !== chosen.suite.ke) return [notify(NotifyType.INVALID_KE_PAYLOAD, Uint8Array.of(chosen.suite.ke >> 8, chosen.suite.ke & 0xff))];
      const ke = createKeyExchange(chosen.suite.ke);
      shared = ke.computeSharedSecret(kei.data);
      out.push({ type: PayloadType.KE, group: ke.group, data: ke.publicValue });
    }
    out.push({ type: PayloadType.TSi, selectors: tsi.selectors }, { type: PayloadType.TSr, selectors: tsr.selectors });
    const initiatorSpi = new DataView(chosen.proposal.spi.buffer, chosen.proposal.spi.byteOffset, 4).getUint32(0);
    const keys = deriveChildKeys({ prf: this.prf, skD: this.ikeKeys.skD, nonceI: nonce.nonce, nonceR, ...(shared === undefined ? {} : { sharedSecret: shared }), ...espKeyLengths(chosen.suite) });
    this.children.push({ initiatorSpi, responderSpi, suite: chosen.suite, keys });
    this.rekeys.push({ rekeyedSpi, pfs: shared !== undefined });
    return out;
  }

  /** State of a rekey WE (the gateway) started, completed by completePeerRekey(). */
  private ownRekey: { nonceI: Uint8Array; responderSpi: number; suite: EspSuite; ke?: ReturnType<typeof createKeyExchange> } | undefined;

  /** A CREATE_CHILD_SA request from the gateway rekeying `child` (§1.3.3), optionally with PFS. */
  rekeyRequest(child: ResponderChild, opts: { pfsGroup?: number; nonce?: Uint8Array; tsi?: readonly TrafficSelector[] } = {}): Uint8Array[] {
    const suite: EspSuite = opts.pfsGroup === undefined ? child.suite : { ...child.suite, ke: opts.pfsGroup };
    const nonceI = opts.nonce ?? this.config.random(32);
    const responderSpi = (0xc2000000 | (this.children.length + this.deletedChildren.length + 1)) >>> 0;
    const spi = new Uint8Array(4);
    new DataView(spi.buffer).setUint32(0, responderSpi);
    const rekeySpi = new Uint8Array(4);
    new DataView(rekeySpi.buffer).setUint32(0, child.responderSpi);
    const ke = opts.pfsGroup === undefined ? undefined : createKeyExchange(opts.pfsGroup);
    this.ownRekey = { nonceI, responderSpi, suite, ...(ke === undefined ? {} : { ke }) };
    const inner: Payload[] = [
      { ...notify(NotifyType.REKEY_SA), protocol: ProtocolId.ESP, spi: rekeySpi },
      { type: PayloadType.SA, proposals: [{ number: 1, protocol: ProtocolId.ESP, spi, transforms: transformsOf(suite, true) }] },
      { type: PayloadType.NONCE, nonce: nonceI },
    ];
    if (ke !== undefined) inner.push({ type: PayloadType.KE, group: ke.group, data: ke.publicValue });
    inner.push({ type: PayloadType.TSi, selectors: [...(opts.tsi ?? this.config.localTs)] }, { type: PayloadType.TSr, selectors: [hostSelector(ipBytes(this.config.pool?.ipv4 ?? '0.0.0.0'))] });
    return this.request(inner, ExchangeType.CREATE_CHILD_SA);
  }

  /** Reads the initiator's answer to rekeyRequest() (lastPeerResponse) and records the new CHILD_SA. */
  completePeerRekey(): ResponderChild | undefined {
    const r = this.lastPeerResponse;
    const own = this.ownRekey;
    if (r === undefined || own === undefined || this.prf === undefined || this.ikeKeys === undefined) return undefined;
    const sa = r.find((x) => x.type === PayloadType.SA) as SaPayload | undefined;
    const nonce = r.find((x) => x.type === PayloadType.NONCE) as { nonce: Uint8Array } | undefined;
    if (sa === undefined || nonce === undefined) return undefined;
    const p = sa.proposals[0] as Proposal;
    let shared: Uint8Array | undefined;
    if (own.ke !== undefined) {
      const ker = r.find((x) => x.type === PayloadType.KE) as { data: Uint8Array } | undefined;
      if (ker === undefined) return undefined;
      shared = own.ke.computeSharedSecret(ker.data);
    }
    const keys = deriveChildKeys({ prf: this.prf, skD: this.ikeKeys.skD, nonceI: own.nonceI, nonceR: nonce.nonce, ...(shared === undefined ? {} : { sharedSecret: shared }), ...espKeyLengths(own.suite) });
    // We initiated: our (responder's) SPI is the one the initiator sends to; keys I→R are ours-to-them.
    const child: ResponderChild = { initiatorSpi: new DataView(p.spi.buffer, p.spi.byteOffset, 4).getUint32(0), responderSpi: own.responderSpi, suite: own.suite, keys, gatewayInitiated: true };
    this.children.push(child);
    this.ownRekey = undefined;
    return child;
  }

  /** A request from the gateway to the initiator (liveness check, DELETE), with our next Message ID. */
  request(inner: readonly Payload[], exchange: number = ExchangeType.INFORMATIONAL): Uint8Array[] {
    return this.seal(this.header(exchange, this.ourMid++, false), inner);
  }

  /** The same request again (a retransmission: same Message ID, same payloads; new IV). */
  get nextRequestId(): number {
    return this.ourMid;
  }

  // ------------------------------------------------------------ IKE SA rekey (RFC 7296 §1.3.2, §2.18)

  private snapshot(): IkeSaSnapshot {
    if (this.ikeSuite === undefined || this.ikeKeys === undefined || this.prf === undefined) throw new Error('no IKE SA to snapshot');
    return { spiI: this.spiI, spiR: this.spiR, ikeSuite: this.ikeSuite, ikeKeys: this.ikeKeys, prf: this.prf, expectMid: this.expectMid, ourMid: this.ourMid, lastResponse: this.lastResponse, peerIsInitiator: this.peerIsInitiator };
  }

  private load(x: IkeSaSnapshot): void {
    this.spiI = x.spiI;
    this.spiR = x.spiR;
    this.ikeSuite = x.ikeSuite;
    this.ikeKeys = x.ikeKeys;
    this.prf = x.prf;
    this.expectMid = x.expectMid;
    this.ourMid = x.ourMid;
    this.lastResponse = x.lastResponse;
    this.peerIsInitiator = x.peerIsInitiator;
  }

  private switchIkeSa(next: IkeSaSnapshot, by: 'initiator' | 'gateway'): void {
    this.retiredIkeSas.push(this.snapshot());
    this.load(next);
    this.ikeRekeys.push({ spiI: Buffer.from(next.spiI).toString('hex'), spiR: Buffer.from(next.spiR).toString('hex'), by });
  }

  /** Runs `fn` with a replaced IKE SA as the current one; forgets that SA if it was deleted meanwhile. */
  private onRetired<T>(x: IkeSaSnapshot, fn: () => T): T {
    const i = this.retiredIkeSas.indexOf(x);
    this.retiredIkeSas.splice(i, 1);
    const current = this.snapshot();
    const wasDeleted = this.deleted;
    this.deleted = false;
    this.load(x);
    try {
      return fn();
    } finally {
      const after = this.snapshot();
      if (this.deleted) this.deletedIkeSas.push(Buffer.from(x.spiI).toString('hex'));
      else this.retiredIkeSas.splice(i, 0, after);
      this.deleted = wasDeleted;
      this.load(current);
    }
  }

  /** Answers the initiator's CREATE_CHILD_SA for the IKE SA; the new IKE SA is current once the answer is sealed. */
  private serveIkeRekey(inner: Payload[]): Payload[] {
    const get = (t: number) => inner.find((x) => x.type === t);
    if (this.prf === undefined || this.ikeKeys === undefined) throw new Error('no keys');
    if (this.mis.ikeRekeyRefuse !== undefined) return [notify(this.mis.ikeRekeyRefuse)];
    const sa = get(PayloadType.SA) as SaPayload;
    const nonce = get(PayloadType.NONCE) as { nonce: Uint8Array } | undefined;
    const ke = get(PayloadType.KE) as { group: number; data: Uint8Array } | undefined;
    if (nonce === undefined || ke === undefined) throw new Error('IKE SA rekey without Nonce/KE');
    let chosen: { proposal: Proposal; suite: IkeSuite } | undefined;
    for (const suite of this.config.ike) {
      const prop = sa.proposals.find((x) => x.protocol === ProtocolId.IKE && offers(x, transformsOf(suite, false)));
      if (prop !== undefined) {
        chosen = { proposal: prop, suite };
        break;
      }
    }
    if (chosen === undefined) return [notify(NotifyType.NO_PROPOSAL_CHOSEN)];
    if (chosen.proposal.spi.length !== 8) throw new Error(`IKE SA rekey with a ${chosen.proposal.spi.length}-octet SPI`);
    const suite = chosen.suite;
    if (ke.group !== suite.ke) return [notify(NotifyType.INVALID_KE_PAYLOAD, Uint8Array.of(suite.ke >> 8, suite.ke & 0xff))];
    const ours = createKeyExchange(suite.ke);
    const shared = ours.computeSharedSecret(ke.data);
    const spiR = this.config.random(8);
    const nonceR = this.mis.ikeRekeyNonce ?? this.config.random(32);
    const prf = createPrf(suite.prf);
    const cipher = createSkCipher(suite.encr, suite.encrKeyLength, suite.integ);
    const spiI = Uint8Array.from(chosen.proposal.spi);
    const keys = deriveRekeyedIkeKeys({ prf, oldPrf: this.prf, oldSkD: this.ikeKeys.skD, sharedSecret: shared, nonceI: nonce.nonce, nonceR, spiI, spiR, encKeyLength: cipher.encKeyLength, integKeyLength: cipher.integKeyLength });
    const h = this.mis.ikeRekeyHostile;
    const proposal = { number: chosen.proposal.number, protocol: ProtocolId.IKE, spi: h === 'shortSpi' ? spiR.subarray(0, 4) : h === 'zeroSpi' ? new Uint8Array(8) : spiR, transforms: transformsOf(suite, false) };
    const out: Payload[] = [{ type: PayloadType.SA, proposals: h === 'twoProposals' ? [proposal, { ...proposal, number: proposal.number + 1 }] : [proposal] }];
    out.push({ type: PayloadType.NONCE, nonce: nonceR });
    if (h !== 'noKe') out.push({ type: PayloadType.KE, group: h === 'wrongKeGroup' ? (suite.ke === 19 ? 20 : 19) : suite.ke, data: h === 'badKeValue' ? new Uint8Array(ours.publicValue.length) : ours.publicValue });
    if (h === undefined) this.pendingIkeSwitch = { spiI, spiR, ikeSuite: suite, ikeKeys: keys, prf, expectMid: 0, ourMid: 0, lastResponse: undefined, peerIsInitiator: true };
    return out;
  }

  /** The gateway rekeys the IKE SA (§1.3.2): CREATE_CHILD_SA { SA(IKE, new SPI), Ni, KEi } on the current IKE SA. */
  ikeRekeyRequest(opts: { nonce?: Uint8Array } = {}): Uint8Array[] {
    const suite = this.ikeSuite;
    if (suite === undefined) throw new Error('no IKE SA');
    const spi = this.config.random(8);
    const nonceI = opts.nonce ?? this.config.random(32);
    const ke = createKeyExchange(suite.ke);
    this.ownIkeRekey = { spi, nonceI, ke, suite };
    return this.request(
      [
        { type: PayloadType.SA, proposals: [{ number: 1, protocol: ProtocolId.IKE, spi, transforms: transformsOf(suite, false) }] },
        { type: PayloadType.NONCE, nonce: nonceI },
        { type: PayloadType.KE, group: ke.group, data: ke.publicValue },
      ],
      ExchangeType.CREATE_CHILD_SA,
    );
  }

  /** Reads the initiator's answer to ikeRekeyRequest() and makes the new IKE SA current (we are its initiator now). */
  completeIkeRekey(): boolean {
    const r = this.lastPeerResponse;
    const own = this.ownIkeRekey;
    if (r === undefined || own === undefined || this.prf === undefined || this.ikeKeys === undefined) return false;
    const sa = r.find((x) => x.type === PayloadType.SA) as SaPayload | undefined;
    const nonce = r.find((x) => x.type === PayloadType.NONCE) as { nonce: Uint8Array } | undefined;
    const ker = r.find((x) => x.type === PayloadType.KE) as { data: Uint8Array } | undefined;
    const p = sa?.proposals[0];
    if (p === undefined || nonce === undefined || ker === undefined || p.spi.length !== 8) return false;
    const prf = createPrf(own.suite.prf);
    const cipher = createSkCipher(own.suite.encr, own.suite.encrKeyLength, own.suite.integ);
    const keys = deriveRekeyedIkeKeys({ prf, oldPrf: this.prf, oldSkD: this.ikeKeys.skD, sharedSecret: own.ke.computeSharedSecret(ker.data), nonceI: own.nonceI, nonceR: nonce.nonce, spiI: own.spi, spiR: Uint8Array.from(p.spi), encKeyLength: cipher.encKeyLength, integKeyLength: cipher.integKeyLength });
    this.ownIkeRekey = undefined;
    this.switchIkeSa({ spiI: own.spi, spiR: Uint8Array.from(p.spi), ikeSuite: own.suite, ikeKeys: keys, prf, expectMid: 0, ourMid: 0, lastResponse: undefined, peerIsInitiator: false }, 'gateway');
    return true;
  }

  /** A request on a replaced IKE SA (e.g. our DELETE of it after our rekey, §2.18). */
  requestOnRetired(index: number, inner: readonly Payload[], exchange: number = ExchangeType.INFORMATIONAL): Uint8Array[] {
    const x = this.retiredIkeSas[index];
    if (x === undefined) throw new Error(`no replaced IKE SA #${index}`);
    return this.onRetired(x, () => this.request(inner, exchange));
  }

  /** A response datagram with a chosen Message ID (for tests of the initiator's matching). */
  response(exchange: number, messageId: number, inner: readonly Payload[]): Uint8Array[] {
    return this.seal(this.header(exchange, messageId, true), inner);
  }
}
