/**
 * The IKE SA as the exchange tasks see it: SPIs, endpoints, nonces, the
 * IKE_SA_INIT messages (for AUTH, RFC 7296 §2.15), the derived keys, what
 * the peer announced and the CHILD_SAs. The session owns one and hands it
 * to each task; tasks record events through `emit` (drained by the
 * session after each call), so every event carries the injected clock.
 */
import type { Endpoint, IkeAction, IkeEvent, IkeStage } from '../actions.js';
import type { Prf } from '../crypto/prf.js';
import type { IkeSuite, EspSuite } from '../crypto/suite.js';
import type { SkDirection } from '../protection.js';
import type { TrafficSelector } from '../codec/types.js';
import type { IkeSessionConfig } from './session-config.js';

export interface IkeSaKeys {
  readonly suite: IkeSuite;
  readonly prf: Prf;
  readonly skD: Uint8Array;
  readonly skPi: Uint8Array;
  readonly skPr: Uint8Array;
  /** SK_ei/SK_ai: what we send (we are the original initiator) */
  readonly outbound: SkDirection;
  /** SK_er/SK_ar: what the gateway sends */
  readonly inbound: SkDirection;
}

export interface PeerFeatures {
  /** RFC 7383 IKEV2_FRAGMENTATION_SUPPORTED */
  fragmentation: boolean;
  /** RFC 7427 SIGNATURE_HASH_ALGORITHMS */
  hashAlgorithms: number[];
  /** CERTREQ payloads in IKE_SA_INIT (RFC 7296 §3.7) */
  certificateRequests: number;
  /** RFC 4555 §3.3 MOBIKE_SUPPORTED in the gateway's IKE_AUTH */
  mobike?: boolean;
}

export interface NatState {
  /** we are behind a NAT (our NAT_DETECTION_DESTINATION_IP hash did not match) */
  readonly local: boolean;
  /** the gateway is behind a NAT */
  readonly remote: boolean;
}

export interface ChildSaRecord {
  readonly id: number;
  /** our SPI: the gateway sends with it */
  readonly inboundSpi: number;
  /** the gateway's SPI: we send with it */
  readonly outboundSpi: number;
  readonly suite: EspSuite;
  /** the negotiated selectors (a rekey asks for the same, RFC 7296 §2.8) */
  readonly localTs?: readonly TrafficSelector[];
  readonly remoteTs?: readonly TrafficSelector[];
  /** when we rekey it: soft lifetime minus jitter (ms on the session clock); undefined once replaced */
  rekeyAt?: number;
  /** 'rekeying': our CREATE_CHILD_SA for it is in flight; 'replaced': a successor is installed, the DELETE is pending */
  phase?: 'installed' | 'rekeying' | 'replaced';
}

export interface ExchangeContext {
  readonly config: IkeSessionConfig;
  readonly random: (n: number) => Uint8Array;
  /** the injected clock of the current call */
  now: number;
  spiI: Uint8Array;
  spiR: Uint8Array;
  local: Endpoint;
  remote: Endpoint;
  nonceI: Uint8Array;
  nonceR?: Uint8Array;
  /** RealMessage1: our last IKE_SA_INIT request as sent */
  initRequest?: Uint8Array;
  /** RealMessage2: the gateway's IKE_SA_INIT response as received */
  initResponse?: Uint8Array;
  keys?: IkeSaKeys;
  nat?: NatState;
  /** UDP encapsulation in use (NAT detected or forced) */
  encapsulation: boolean;
  readonly peer: PeerFeatures;
  readonly children: Map<number, ChildSaRecord>;
  nextChildId: number;
  /** when the connection attempt started and when IKE_SA_INIT finished, for stage timings */
  readonly timings: { started?: number; initDone?: number; authDone?: number };
  /** actions produced during the current call (events, installs), drained by the session */
  readonly pending: IkeAction[];
}

export function emit(ctx: ExchangeContext, level: IkeEvent['level'], event: string, message: string, fields?: IkeEvent['fields'], stage?: IkeStage): void {
  const e: { -readonly [K in keyof IkeEvent]: IkeEvent[K] } = { at: ctx.now, level, event, message };
  if (fields !== undefined) e.fields = fields;
  if (stage !== undefined) e.stage = stage;
  ctx.pending.push({ kind: 'event', event: e });
}

export function hex(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.length).toString('hex');
}

export function u32(b: Uint8Array): number {
  return new DataView(b.buffer, b.byteOffset, b.length).getUint32(0);
}

export function fromU32(v: number): Uint8Array {
  const out = new Uint8Array(4);
  new DataView(out.buffer).setUint32(0, v >>> 0);
  return out;
}
