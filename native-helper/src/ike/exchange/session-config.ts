/**
 * What an IKE session needs to know to connect: endpoints, identities,
 * credentials, trust, proposals, selectors and timing. The daemon builds it
 * from a validated profile plus the secrets of the connect request; the
 * engine keeps it in memory only and never logs the secret parts.
 */
import type { KeyObject } from 'node:crypto';

import type { Endpoint } from '../actions.js';
import type { TrafficSelector } from '../codec/types.js';
import type { EapCredentials } from '../../eap/peer.js';
import type { Identity } from '../../pki/identity.js';
import type { EspProposalSpec, IkeProposalSpec } from '../proposals.js';
import type { ReassemblyLimits } from '../protection.js';
import { parseAddress } from '../traffic-selectors.js';

export type LocalAuth =
  | { readonly method: 'psk'; readonly psk: Uint8Array }
  | {
      readonly method: 'signature';
      readonly privateKey: KeyObject;
      /** our certificate, DER */
      readonly certificate: Uint8Array;
      /** intermediate CA certificates to send along, DER */
      readonly intermediates?: readonly Uint8Array[];
      /**
       * RFC 4739 multiple authentication (strongSwan's ikev2-cert-eap): after
       * this certificate round, a second IKE_AUTH round with this IDi and EAP.
       */
      readonly secondRound?: { readonly identity: Identity; readonly eap: EapCredentials };
    }
  /**
   * EAP inside IKE_AUTH (RFC 7296 §2.16): the gateway authenticates with its
   * certificate first, then we prove ourselves with EAP and an MSK-based AUTH.
   */
  | { readonly method: 'eap'; readonly eap: EapCredentials };

export interface IkeSessionConfig {
  /** our address and IKE port (normally 500) */
  readonly local: Endpoint;
  /** the gateway; port normally 500. We move to `nattPorts` when NAT is detected or encapsulation forced (RFC 7296 §2.23) */
  readonly remote: Endpoint;
  /** the ports of UDP encapsulation (RFC 3948); 4500/4500 unless a test needs others */
  readonly nattPorts?: { readonly local: number; readonly remote: number };
  /** IDi */
  readonly localId: Identity;
  /** IDr we send and expect; if absent, the gateway must prove `trust.serverName` */
  readonly remoteId?: Identity;
  readonly auth: LocalAuth;
  /** for gateway certificate authentication: the CA certificates (DER) we trust, and the name the gateway's certificate must carry */
  readonly trust: { readonly caCertificates: readonly Uint8Array[]; readonly serverName?: Identity };
  readonly ikeProposals: readonly IkeProposalSpec[];
  readonly espProposals: readonly EspProposalSpec[];
  /** TSi (ours, e.g. 0.0.0.0/0 with a virtual IP) and TSr (the networks behind the gateway) */
  readonly trafficSelectors: { readonly local: readonly TrafficSelector[]; readonly remote: readonly TrafficSelector[] };
  /** `requested`: the virtual IP(s) to ask for by value (RFC 7296 §3.15.1), e.g. the current one on reauthentication */
  readonly requestConfig: { readonly ipv4: boolean; readonly ipv6: boolean; readonly dns: boolean; readonly requested?: { readonly ipv4?: string; readonly ipv6?: string } };
  /**
   * RFC 7296 §2.4: send INITIAL_CONTACT in IKE_AUTH (absent = true). A
   * make-before-break reauthentication (RFC 4478, §2.8.3) turns it off: the
   * old IKE SA with this gateway must live until the new one carries the traffic.
   */
  readonly initialContact?: boolean;
  /** the id of the first CHILD_SA (default 1): a second session of the same host picks ids the first one cannot reach */
  readonly firstChildId?: number;
  /** RFC 3948 UDP encapsulation even without NAT (charon's encap=yes: a fake NAT_DETECTION_SOURCE_IP) */
  readonly forceEncapsulation: boolean;
  /** RFC 7383: announce and use IKE fragmentation */
  readonly fragmentation: boolean;
  /** IP MTU for IKE messages (RFC 7383 §2.5.1); 1280 works on any IPv6 path and nearly every IPv4 one */
  readonly ikeMtu: number;
  /** RFC 7296 §2.1: first timeout, growth factor, number of retransmissions after the first send */
  readonly retransmit: { readonly timeoutMs: number; readonly base: number; readonly tries: number };
  /** seconds */
  readonly childLifetime: { readonly soft: number; readonly hard: number };
  readonly replayWindow: number;
  /**
   * Dead peer detection (RFC 7296 §2.4): after this many ms without hearing
   * from the gateway (IKE, or ESP the host reports with trafficSeen()), send
   * an empty INFORMATIONAL; no answer after the retransmissions → DEAD_PEER.
   * Absent or 0: off.
   */
  readonly dpdIntervalMs?: number;
  /** make-before-break: how long after our rekey the old CHILD_SA is deleted unless childSaInstalled() says so sooner (default 2000) */
  readonly rekeyDeleteDelayMs?: number;
  /** make-before-break: how long our answer to the gateway's CHILD_SA rekey waits for childSaInstalled() at most (default 3000) */
  readonly peerRekeyHoldMs?: number;
  /** make-before-break: after the gateway's CHILD_SA rekey, switch outbound at the latest this long after our answer if its DELETE of the old pair does not come (default 5000) */
  readonly peerRekeyOutboundGraceMs?: number;
  /** RFC 7296 §2.18: rekey the IKE SA this many seconds after it was established (minus up to 10 % jitter); absent/0 = only when the gateway does */
  readonly ikeRekeySeconds?: number;
  /** RFC 4555: announce MOBIKE_SUPPORTED in IKE_AUTH so the host may move the SAs to a new address (updateAddresses); absent = off */
  readonly mobike?: boolean;
  /** bounds on fragment reassembly (defaults: protection.ts DEFAULT_REASSEMBLY_LIMITS) */
  readonly reassembly?: ReassemblyLimits;
}

/** charon retransmits 4 s × 1.8^n five times; a desktop client wants to know sooner. */
export const DEFAULT_RETRANSMIT = { timeoutMs: 1000, base: 1.8, tries: 6 } as const;
export const DEFAULT_IKE_MTU = 1280;
export const DEFAULT_NATT_PORT = 4500;
/** RFC 7383 §2.5.1 suggests 576 octets as the smallest IPv4 datagram anyone must accept. */
export const MIN_IKE_MTU = 576;

/** A problem with the configuration itself, reported as PROFILE_INVALID by start(). */
export function validateConfig(c: IkeSessionConfig): string | undefined {
  const port = (p: number): boolean => Number.isInteger(p) && p > 0 && p < 65536;
  const local = parseAddress(c.local.address);
  const remote = parseAddress(c.remote.address);
  if (local === undefined || remote === undefined) return 'local and remote must be IP addresses (resolve host names first)';
  if (local.length !== remote.length) return 'local and remote addresses are of different IP families';
  if (!port(c.local.port) || !port(c.remote.port)) return 'IKE ports must be 1..65535';
  if (c.nattPorts !== undefined && (!port(c.nattPorts.local) || !port(c.nattPorts.remote))) return 'NAT-T ports must be 1..65535';
  if (c.ikeProposals.length === 0) return 'no IKE proposals';
  if (c.espProposals.length === 0) return 'no ESP proposals';
  if (c.ikeProposals.some((p) => p.ke.length === 0)) return 'an IKE proposal without a key exchange method';
  if (c.trafficSelectors.local.length === 0 || c.trafficSelectors.remote.length === 0) return 'traffic selectors are empty';
  if (!Number.isInteger(c.ikeMtu) || c.ikeMtu < MIN_IKE_MTU || c.ikeMtu > 65535) return `IKE MTU must be ${MIN_IKE_MTU}..65535`;
  const r = c.retransmit;
  if (!(r.timeoutMs > 0) || !(r.base >= 1) || !Number.isInteger(r.tries) || r.tries < 0 || r.tries > 20) return 'invalid retransmission settings';
  if (!(c.childLifetime.soft > 0) || !(c.childLifetime.hard >= c.childLifetime.soft)) return 'CHILD_SA lifetimes must be positive with hard ≥ soft';
  if (!Number.isInteger(c.replayWindow) || c.replayWindow < 0) return 'replay window must be a non-negative integer';
  if (c.dpdIntervalMs !== undefined && !(c.dpdIntervalMs >= 0)) return 'the DPD interval must be 0 (off) or positive';
  if (c.firstChildId !== undefined && (!Number.isSafeInteger(c.firstChildId) || c.firstChildId < 1)) return 'the first CHILD_SA id must be a positive integer';
  if (c.auth.method === 'psk' && c.auth.psk.length === 0) return 'the pre-shared key is empty';
  if (c.auth.method === 'signature' && c.auth.secondRound !== undefined) {
    const e = c.auth.secondRound.eap;
    if (e.identity.length === 0 || e.identity.length > 253) return 'the EAP identity must be 1..253 characters';
    if (e.method === 'mschapv2' && e.password.length === 0) return 'the EAP password is empty';
    if (c.trust.caCertificates.length === 0) return 'certificate-then-EAP needs a CA certificate to authenticate the gateway';
  }
  if (c.auth.method === 'eap') {
    if (c.auth.eap.identity.length === 0 || c.auth.eap.identity.length > 253) return 'the EAP identity must be 1..253 characters';
    if (c.auth.eap.method === 'mschapv2' && c.auth.eap.password.length === 0) return 'the EAP password is empty';
    if (c.auth.eap.method === 'tls' && (c.auth.eap.certificatePem.length === 0 || c.auth.eap.privateKeyPem.length === 0)) return 'EAP-TLS needs a client certificate and its private key';
    // RFC 7296 §2.16: with EAP the gateway must authenticate by certificate.
    if (c.trust.caCertificates.length === 0) return 'EAP needs a CA certificate to authenticate the gateway';
  }
  return undefined;
}
