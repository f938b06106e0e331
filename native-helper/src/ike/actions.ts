/**
 * What the sans-I/O engine asks its host (the daemon) to do. `IkeSession`
 * never touches a socket, a timer, a clock or the kernel: it returns these
 * and the daemon carries them out. Shared by the session (producer), the
 * daemon's driver and the platform backends (consumers).
 */
import type { FailureCode } from '../api/errors.js';
import type { TrafficSelector } from './codec/types.js';

export interface Endpoint {
  readonly address: string;
  readonly port: number;
}

/** Where the connection is in its life; `Connecting` stages are user-visible. */
export type IkeStage = 'ike_sa_init' | 'ike_auth' | 'eap' | 'child_sa' | 'established' | 'rekeying' | 'deleting' | 'closed';

/** An ESP transform as negotiated, with the key lengths the kernel needs. */
export interface EspAlgorithms {
  /** IKEv2 ENCR transform id (RFC 7296 §3.3.2), e.g. 20 = AES-GCM-16 */
  readonly encr: number;
  /** bits, for variable-length ciphers */
  readonly encrKeyLength?: number;
  /** IKEv2 INTEG transform id; absent for AEAD */
  readonly integ?: number;
  /** RFC 4304 extended sequence numbers */
  readonly esn: boolean;
}

/** One direction of a CHILD_SA as the kernel sees it. */
export interface EspSaKeys {
  readonly spi: number;
  /** encryption key, for AEAD including the 4-octet salt (RFC 4106 §8.1, RFC 7634 §3) */
  readonly encKey: Uint8Array;
  readonly integKey?: Uint8Array;
}

/**
 * A negotiated tunnel-mode CHILD_SA pair. `inbound` is gateway → us (our SPI),
 * `outbound` is us → gateway (the gateway's SPI). RFC 7296 §2.17 key order:
 * the initiator→responder keys are taken first from KEYMAT.
 */
export interface ChildSaSpec {
  /** stable id for this CHILD_SA within the session (also the XFRM reqid base) */
  readonly id: number;
  readonly local: Endpoint;
  readonly remote: Endpoint;
  readonly algorithms: EspAlgorithms;
  readonly inbound: EspSaKeys;
  readonly outbound: EspSaKeys;
  /** traffic selectors as narrowed by the gateway (TSi = ours, TSr = theirs) */
  readonly localTs: readonly TrafficSelector[];
  readonly remoteTs: readonly TrafficSelector[];
  /** RFC 3948 UDP encapsulation (NAT-T or forced), ports as on the wire */
  readonly encap: { readonly localPort: number; readonly remotePort: number } | null;
  /** seconds; the engine rekeys at `soft` and the kernel expires at `hard` */
  readonly lifetime: { readonly soft: number; readonly hard: number };
  readonly replayWindow: number;
}

/** The configuration payload reply (RFC 7296 §3.15, RFC 8598), typed. */
export interface AssignedConfig {
  readonly ipv4?: { readonly address: string; readonly prefixLength: number };
  readonly ipv6?: { readonly address: string; readonly prefixLength: number };
  readonly dns: readonly string[];
  /** RFC 8598 INTERNAL_DNS_DOMAIN: split-DNS match domains */
  readonly dnsDomains: readonly string[];
  /** INTERNAL_IP4/6_SUBNET: networks reachable through the gateway */
  readonly subnets: readonly string[];
}

/** Structured, secret-free event for logs and the UI's stage timeline. */
export interface IkeEvent {
  readonly at: number;
  readonly level: 'debug' | 'info' | 'warn' | 'error';
  /** stable machine name, e.g. "ike_sa_init.sent", "ike_auth.peer_authenticated" */
  readonly event: string;
  readonly stage?: IkeStage;
  /** plain-language line for the helpdesk */
  readonly message: string;
  /** secret-free details: offered/chosen proposals, notify names, retransmit counts, timings */
  readonly fields?: Readonly<Record<string, string | number | boolean | readonly string[] | undefined>>;
}

export interface IkeFailure {
  readonly code: FailureCode;
  /** plain language, naming the concrete mismatch (what we offered / what the gateway wanted) */
  readonly message: string;
  readonly fields?: Readonly<Record<string, string | number | boolean | readonly string[] | undefined>>;
}

export type IkeAction =
  /** Send an IKE datagram. When `from.port` is 4500 the daemon prepends the RFC 3948 non-ESP marker. */
  | { readonly kind: 'send'; readonly data: Uint8Array; readonly from: Endpoint; readonly to: Endpoint }
  /** Call `tick()` at or after this absolute time (ms, the injected clock); replaces any earlier request. */
  | { readonly kind: 'timer'; readonly at: number }
  /**
   * Install a CHILD_SA pair. With `deferOutbound` (the gateway's rekey, we are
   * its responder) install only the inbound SA now and keep sending on the
   * old pair until `installOutboundSa` for this id (RFC 7296 §2.8: the
   * initiator of a rekey may not have the new inbound SA before it has our
   * response). A host that cannot split may install both at once.
   */
  | { readonly kind: 'installChildSa'; readonly sa: ChildSaSpec; readonly deferOutbound?: boolean }
  /** Install the outbound half of CHILD_SA `id` held back by `deferOutbound`; from now on we send with it. */
  | { readonly kind: 'installOutboundSa'; readonly id: number }
  | { readonly kind: 'removeChildSa'; readonly id: number }
  | { readonly kind: 'assignConfig'; readonly config: AssignedConfig }
  | { readonly kind: 'stage'; readonly stage: IkeStage }
  | { readonly kind: 'event'; readonly event: IkeEvent }
  /**
   * RFC 4555 §3.5: the gateway accepted our new address (MOBIKE). The host
   * moves the listed CHILD_SAs' kernel SAs to `local`/`remote` (same SPIs,
   * keys and sequence numbers) with `encap` (UDP encapsulation on the new
   * path, or null), and re-routes what keeps the gateway outside the tunnel.
   */
  | { readonly kind: 'updateSaAddresses'; readonly childIds: readonly number[]; readonly local: Endpoint; readonly remote: Endpoint; readonly encap: { readonly localPort: number; readonly remotePort: number } | null }
  /** The session ended with an error; it sends nothing more. */
  | { readonly kind: 'failed'; readonly failure: IkeFailure }
  /** The session ended cleanly (our DELETE answered, or the gateway deleted the IKE SA). */
  | { readonly kind: 'closed'; readonly reason: string };
