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
import { MschapV2Peer } from './mschapv2.js';
import type { MschapV2Rejection } from './mschapv2.js';
import { decodeEapFromGateway, encodeEapResponse } from './packet.js';

export type EapCredentials = {
  readonly method: 'mschapv2';
  /** the EAP identity (user name); also the MS-CHAPv2 Name */
  readonly identity: string;
  readonly password: string;
};

export type EapStep =
  | { readonly kind: 'respond'; readonly message: Uint8Array; readonly note: string }
  | { readonly kind: 'success'; readonly msk: Uint8Array }
  /** the gateway refused our credentials; `message` (if any) acknowledges its method-level Failure */
  | { readonly kind: 'rejected'; readonly reason: EapRejection; readonly message?: Uint8Array }
  | { readonly kind: 'invalid'; readonly detail: string };

export interface EapRejection {
  readonly method: string;
  /** RFC 2759 §6 classification, or 'eap_failure' for a bare EAP-Failure */
  readonly rejection: MschapV2Rejection | 'eap_failure' | 'method_refused';
  readonly errorCode?: number;
  /** the gateway's text (sanitized) */
  readonly gatewayMessage?: string;
}

const METHOD_TYPE: Readonly<Record<EapCredentials['method'], number>> = { mschapv2: EapType.MSCHAPV2 };
export const eapMethodName = (c: EapCredentials): string => (c.method === 'mschapv2' ? 'EAP-MSCHAPv2' : 'EAP');

export class EapPeer {
  private readonly method: MschapV2Peer;
  private rejected: EapRejection | undefined;
  private naked = false;
  /** identifiers of the Requests we answered, for the log */
  rounds = 0;

  constructor(
    private readonly credentials: EapCredentials,
    random: (n: number) => Uint8Array,
  ) {
    this.method = new MschapV2Peer(credentials.identity, credentials.password, random);
  }

  get methodName(): string {
    return eapMethodName(this.credentials);
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
      this.method.wipe();
      return { kind: 'rejected', reason: this.rejected ?? { method: this.methodName, rejection: this.naked ? 'method_refused' : 'eap_failure' } };
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
