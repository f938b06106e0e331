/**
 * One exchange from our side, as a task in the style of strongSwan's
 * `sa/ikev2/tasks/` (task.h: build / process): the task builds the request
 * payloads and processes the response; the session (the task manager)
 * owns Message IDs, protection, retransmission and the one-exchange-in-
 * flight rule (RFC 7296 §2.3 with a window of one).
 */
import type { IkeAction, IkeFailure, IkeStage } from '../actions.js';
import type { ExchangeType } from '../constants.js';
import type { IkeHeader, Payload } from '../codec/types.js';

export interface TaskRequest {
  /** payloads in the clear (IKE_SA_INIT) or to go inside SK (all later exchanges) */
  readonly payloads: readonly Payload[];
}

/** A response as the task sees it: the header, the payloads (decrypted for protected exchanges), the datagram. */
export interface IncomingResponse {
  readonly header: IkeHeader;
  readonly payloads: readonly Payload[];
  /** the whole message as received (RealMessage2 of RFC 7296 §2.15 for IKE_SA_INIT) */
  readonly datagram: Uint8Array;
}

export type TaskFailure = {
  readonly kind: 'failed';
  readonly failure: IkeFailure;
  /** the gateway authenticated the IKE SA before the failure: the session sends a DELETE for it (RFC 7296 §1.4.1) */
  readonly ikeSaExists?: boolean;
  /** RFC 7296 §2.21.2: an error found by the initiator is reported in a separate INFORMATIONAL (e.g. AUTHENTICATION_FAILED) */
  readonly notifyPeer?: number;
};

export type TaskResult =
  | { readonly kind: 'done' }
  /** the exchange is complete but the task goes on: build again and send with the NEXT Message ID (EAP rounds in IKE_AUTH, RFC 7296 §2.16) */
  | { readonly kind: 'next' }
  /** build again and resend with the same Message ID (COOKIE, INVALID_KE_PAYLOAD; RFC 7296 §2.6, §1.2), after `delayMs` if given */
  | { readonly kind: 'retry'; readonly reason: string; readonly delayMs?: number }
  | TaskFailure;

export interface Task {
  /** e.g. "ike_sa_init", for events */
  readonly name: string;
  readonly exchange: ExchangeType;
  /** the user-visible stage while this task runs */
  readonly stage?: IkeStage;
  /** whether the request travels inside SK/SKF */
  readonly protected: boolean;
  build(): TaskRequest | TaskFailure;
  /** the exact datagrams sent for the request just built (IKE_SA_INIT keeps RealMessage1) */
  sent?(datagrams: readonly Uint8Array[]): void;
  process(response: IncomingResponse): TaskResult;
  /** retransmissions exhausted: the default is GATEWAY_UNREACHABLE; a DELETE task closes instead */
  readonly onTimeout?: 'fail' | 'close' | 'dead_peer';
  /** cap on retransmissions below the configured number (a DELETE waits less) */
  readonly maxTries?: number;
  /** extra actions once the task is done (e.g. `closed`) */
  readonly finished?: () => readonly IkeAction[];
}
