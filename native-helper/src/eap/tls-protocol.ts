/**
 * Messages between tls-client.ts (the main thread, blocking) and
 * tls-worker.ts (the thread that runs node:tls). Plain data: structured
 * clone carries it over a MessagePort, never argv, env or a file.
 */

export type TlsWorkerRequest =
  | {
      readonly kind: 'start';
      readonly certificatePem: string;
      readonly privateKeyPem: string;
      /** SNI; also what the gateway's EAP server may use to pick its certificate */
      readonly serverName?: string;
      readonly minVersion: 'TLSv1.2' | 'TLSv1.3';
      readonly maxVersion: 'TLSv1.2' | 'TLSv1.3';
    }
  /** TLS records from the gateway, as reassembled from EAP-TLS fragments */
  | { readonly kind: 'feed'; readonly records: Uint8Array }
  /** RFC 5705 exporter (RFC 5216 §2.3, RFC 9190 §2.3) */
  | { readonly kind: 'export'; readonly label: string; readonly length: number; readonly context?: Uint8Array };

export type TlsWorkerReply =
  | {
      readonly kind: 'state';
      /** TLS records OpenSSL wrote for the gateway since the last request */
      readonly out: Uint8Array;
      /** application data received (TLS 1.3: the 0x00 commitment message, RFC 9190 §2.1.1) */
      readonly appData: Uint8Array;
      /** the handshake completed */
      readonly connected: boolean;
      /** e.g. "TLSv1.3", once connected */
      readonly version?: string;
      /** the gateway's certificates as it sent them, leaf first (DER), once connected */
      readonly peerChain?: readonly Uint8Array[];
      /** OpenSSL/Node error code and text (never key material) */
      readonly failure?: { readonly code: string; readonly message: string };
    }
  | { readonly kind: 'exported'; readonly key: Uint8Array };
