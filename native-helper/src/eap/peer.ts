/**
 * The EAP peer inside IKE_AUTH (RFC 7296 §2.16, RFC 3748): answers
 * Identity (§5.1) and Notification (§5.2), runs the one method the profile
 * configured and Naks any other (§5.3.1), and turns Success/Failure into
 * an outcome the IKE_AUTH task can act on.
 *
 * RFC 3748 §4.2 lets a Success arrive early; we accept it only when our
 * method finished with the gateway authenticated, since IKEv2's AUTH then
 * needs the MSK (§2.16) — an EAP-Success without it is an attack or a bug.
 */
import { EapCode, EapType } from '../ike/constants.js';
import { EapTlsPeer } from './eap-tls.js';
import type { EapTlsRejection, ServerRejectCode, ServerVerdict } from './eap-tls.js';
import { MschapV2Peer, sanitize } from './mschapv2.js';
import type { MschapV2Rejection } from './mschapv2.js';
import { decodeEapFromGateway, encodeEapResponse } from './packet.js';

export type EapCredentials =
  | {
      readonly method: 'mschapv2';
      /** the EAP identity (user name); also the MS-CHAPv2 Name */
      readonly identity: string;
      readonly password: string;
    }
  | {
      /** EAP-TLS (RFC 5216 / RFC 9190): our certificate inside TLS; the gateway's EAP server certificate is checked like its IKE one */
      readonly method: 'tls';
      readonly identity: string;
      /** our certificate then its chain, PEM */
      readonly certificatePem: string;
      readonly privateKeyPem: string;
      /** SNI for the gateway's EAP server */
      readonly serverName?: string;
      /** highest TLS version to offer (default TLS 1.3) */
      readonly maxTlsVersion?: 'TLSv1.2' | 'TLSv1.3';
    };

export type EapStep =
  | { readonly kind: 'respond'; readonly message: Uint8Array; readonly note: string }
  | { readonly kind: 'success'; readonly msk: Uint8Array }
  /** the gateway refused our credentials; `message` (if any) acknowledges its method-level Failure */
  | { readonly kind: 'rejected'; readonly reason: EapRejection; readonly message?: Uint8Array }
  | { readonly kind: 'invalid'; readonly detail: string }
  /** EAP-TLS: we refuse the gateway's EAP server certificate (code as pki/gateway-trust.ts reports it) */
  | { readonly kind: 'untrusted'; readonly code: ServerRejectCode; readonly detail: string };

export interface EapRejection {
  readonly method: string;
  /** RFC 2759 §6 classification, or 'eap_failure' for a bare EAP-Failure */
  readonly rejection: MschapV2Rejection | 'eap_failure' | 'method_refused' | EapTlsRejection;
  readonly errorCode?: number;
  /** the gateway's text (sanitized) */
  readonly gatewayMessage?: string;
}

const METHOD_TYPE: Readonly<Record<EapCredentials['method'], number>> = { mschapv2: EapType.MSCHAPV2, tls: EapType.TLS };
export const eapMethodName = (c: EapCredentials): string => (c.method === 'mschapv2' ? 'EAP-MSCHAPv2' : 'EAP-TLS');

export class EapPeer {
  private readonly method: MschapV2Peer | EapTlsPeer;
  private rejected: EapRejection | undefined;
  private naked = false;
  /** identifiers of the Requests we answered, for the log */
  rounds = 0;

  constructor(
    private readonly credentials: EapCredentials,
    random: (n: number) => Uint8Array,
    /** EAP-TLS: the trust verdict on the gateway's EAP server certificates (leaf first) */
    verifyServer: (chain: readonly Uint8Array[]) => ServerVerdict = () => ({ ok: false, code: 'CERT_UNTRUSTED', message: 'no trust check configured for EAP-TLS' }),
  ) {
    this.method =
      credentials.method === 'mschapv2'
        ? new MschapV2Peer(credentials.identity, credentials.password, random)
        : new EapTlsPeer(
            {
              certificatePem: credentials.certificatePem,
              privateKeyPem: credentials.privateKeyPem,
              ...(credentials.serverName === undefined ? {} : { serverName: credentials.serverName }),
              ...(credentials.maxTlsVersion === undefined ? {} : { maxVersion: credentials.maxTlsVersion }),
            },
            verifyServer,
          );
  }

  /** EAP-TLS: the TLS version and whether the RFC 9190 commitment message came, for the log */
  get tlsInfo(): { readonly version?: string; readonly committed: boolean; readonly msk: string; readonly fragmentsIn: number; readonly fragmentsOut: number } | undefined {
    const m = this.method;
    if (!(m instanceof EapTlsPeer)) return undefined;
    return { ...(m.version === undefined ? {} : { version: m.version }), committed: m.committed, msk: m.mskDerivation, fragmentsIn: m.fragmentsIn, fragmentsOut: m.fragmentsOut };
  }

  /** Ends the method's resources (the EAP-TLS worker) when IKE_AUTH ends otherwise. */
  wipe(): void {
    this.method.wipe();
  }

  get methodName(): string {
    return eapMethodName(this.credentials);
  }

  /** the EAP identity (the user name the user knows), for messages */
  get identity(): string {
    return this.credentials.identity;
  }

  /** One EAP message from the gateway → what to do. */
  process(bytes: Uint8Array): EapStep {
    const decoded = decodeEapFromGateway(bytes);
    if (!decoded.ok) return { kind: 'invalid', detail: decoded.error };
    const p = decoded.packet;
    if (p.code === EapCode.SUCCESS) {
      const msk = this.method.msk;
      this.method.wipe();
      if (this.rejected !== undefined) return { kind: 'invalid', detail: 'EAP-Success after the gateway had rejected us' };
      if (msk === undefined) return { kind: 'invalid', detail: `EAP-Success before ${this.methodName} authenticated the gateway; refusing it (no MSK)` };
      return { kind: 'success', msk };
    }
    if (p.code !== EapCode.REQUEST) {
      // EAP-TLS: a bare EAP-Failure after our certificate went out is the gateway refusing it (RFC 5216 §2.1.3
      // lets it skip the alert). With TLS 1.3 our handshake is already complete by then (RFC 9190 §2.1.1).
      const tlsRefused = this.method instanceof EapTlsPeer && this.method.sentCertificate;
      this.method.wipe();
      const bare = this.naked ? 'method_refused' : tlsRefused ? 'client_cert_rejected' : 'eap_failure';
      return { kind: 'rejected', reason: this.rejected ?? { method: this.methodName, rejection: bare } };
    }
    this.rounds++;
    switch (p.type) {
      case EapType.IDENTITY:
        return { kind: 'respond', message: encodeEapResponse(p.identifier, EapType.IDENTITY, new TextEncoder().encode(this.credentials.identity)), note: `sent EAP identity "${this.credentials.identity}"` };
      case EapType.NOTIFICATION:
        // §5.2: acknowledged with an empty Notification Response.
        return { kind: 'respond', message: encodeEapResponse(p.identifier, EapType.NOTIFICATION, new Uint8Array(0)), note: 'acknowledged an EAP Notification' };
      case METHOD_TYPE[this.credentials.method]: {
        const step = this.method.process(p);
        if (step.kind === 'rejected') {
          if ('detail' in step) {
            // EAP-TLS: the gateway's TLS alert, acknowledged (RFC 5216 §2.1.3); EAP-Failure follows.
            this.rejected = { method: this.methodName, rejection: step.rejection, gatewayMessage: sanitize(step.detail) };
            return { kind: 'respond', message: step.message, note: `${this.methodName}: the gateway ended TLS (${sanitize(step.detail, 120)}); acknowledging` };
          }
          this.rejected = { method: this.methodName, rejection: step.rejection, errorCode: step.errorCode, gatewayMessage: step.gatewayMessage };
          return { kind: 'respond', message: step.message, note: `${this.methodName} failure E=${step.errorCode}; acknowledging` };
        }
        return step;
      }
      default: {
        // §5.3.1: a Nak names the method we want instead.
        const want = METHOD_TYPE[this.credentials.method];
        this.naked = true;
        return { kind: 'respond', message: encodeEapResponse(p.identifier, EapType.NAK, Uint8Array.of(want)), note: `the gateway proposed EAP method ${p.type}; answered Nak asking for ${this.methodName}` };
      }
    }
  }
}
