/**
 * The EAP-TLS peer (RFC 5216, with RFC 9190 for TLS 1.3). Type-Data of EAP
 * type 13:
 *
 *   Flags (1: L=0x80 length included, M=0x40 more fragments, S=0x20 start)
 *   | [TLS Message Length (4), when L] | TLS Data
 *
 * TLS itself is node:tls (OpenSSL) in a worker (tls-client.ts); this module
 * does the EAP framing: Start → ClientHello; fragments in (§2.1.5: each
 * one with M set is acknowledged with an empty Response), fragments out
 * (L on the first, M on all but the last; the gateway acknowledges each with
 * an empty Request), and the MSK once the handshake is done and the
 * gateway's certificate passed the profile's trust check:
 *
 *   TLS 1.2 (RFC 5216 §2.3): MSK = TLS-PRF(master secret, "client EAP encryption",
 *            client.random | server.random)[0..63] — the RFC 5705 exporter without context.
 *   TLS 1.3 (RFC 9190 §2.3): Key_Material = TLS-Exporter("EXPORTER_EAP_TLS_Key_Material",
 *            Type-Code 0x0D, 128); MSK = Key_Material[0..63].
 *
 * With TLS 1.3 the gateway ends the handshake with the one-octet
 * application data 0x00, the commitment message (RFC 9190 §2.5), which we
 * acknowledge with an empty Response like any other TLS data.
 *
 * Pre-RFC 9190 gateways (tls13-msk.ts): strongSwan's libtls before its
 * RFC 9190 changes (Debian 12's 5.9.8 among them) speaks EAP-TLS over
 * TLS 1.3 as it stood before RFC 9190: no commitment message, EAP-Success
 * right after our Finished, and
 *   MSK = TLS-Exporter("client EAP encryption", "", 128)[0..63]
 * (the RFC 5216 label through the RFC 8446 §7.5 exporter). RFC 9190 §2.5 has
 * the server send the commitment before EAP-Success, so a TLS 1.3
 * EAP-Success without it identifies such a gateway; only then do we use that
 * derivation, and the log says so (mskDerivation 'pre-rfc9190', a warning
 * event from ike-auth.ts). Accepting that Success is safe here: EAP rides
 * inside the IKE SA of a gateway that already proved its identity with its
 * certificate, and both AUTH payloads over the MSK (RFC 7296 §2.16) still
 * confirm the key — a wrong guess fails there, it never passes silently.
 */
import { EapType } from '../ike/constants.js';
import { encodeEapResponse } from './packet.js';
import type { EapRequest } from './packet.js';
import { SyncTlsClient, TlsClientError } from './tls-client.js';
import type { TlsClientOptions, TlsState } from './tls-client.js';
import { TLS13_MSK } from './tls13-msk.js';
import type { Tls13MskVariant } from './tls13-msk.js';

const FLAG_L = 0x80;
const FLAG_M = 0x40;
const FLAG_S = 0x20;
/** Reassembly bound: a gateway's TLS flight with a long chain is ~10 KiB; RFC 5216 §2.1.5 leaves the cap to us. */
export const MAX_TLS_MESSAGE = 64 * 1024;
/** strongSwan's default EAP-TLS fragment size (charon.plugins.eap-tls.fragment_size) */
export const DEFAULT_FRAGMENT_SIZE = 1024;

/** The gateway's certificates as TLS presented them → the trust verdict (pki/gateway-trust.ts, on the IKE side). */
export type ServerVerdict = { readonly ok: true; readonly subject: string } | { readonly ok: false; readonly code: ServerRejectCode; readonly message: string };
export type ServerRejectCode = 'CERT_UNTRUSTED' | 'CERT_EXPIRED' | 'CERT_NOT_YET_VALID' | 'CERT_NAME_MISMATCH' | 'CERT_INVALID' | 'IDENTITY_MISMATCH' | 'PEER_AUTH_FAILED';

export interface EapTlsOptions extends Omit<TlsClientOptions, 'certificatePem' | 'privateKeyPem'> {
  readonly certificatePem: string;
  readonly privateKeyPem: string;
  readonly fragmentSize?: number;
}

/** how the gateway ended TLS: an alert about our certificate, or any other TLS failure */
export type EapTlsRejection = 'client_cert_rejected' | 'tls_failed';

export type EapTlsStep =
  | { readonly kind: 'respond'; readonly message: Uint8Array; readonly note: string }
  /** the gateway refused us with a TLS alert; `message` acknowledges it (the gateway then sends EAP-Failure) */
  | { readonly kind: 'rejected'; readonly rejection: EapTlsRejection; readonly detail: string; readonly message: Uint8Array }
  /** we refuse the gateway's EAP server certificate */
  | { readonly kind: 'untrusted'; readonly code: ServerRejectCode; readonly detail: string }
  | { readonly kind: 'invalid'; readonly detail: string };

/** Alerts that say the gateway did not accept our certificate (RFC 8446 §6.2, RFC 5246 §7.2.2). */
const CLIENT_CERT_ALERTS = /ALERT_(BAD_CERTIFICATE|UNSUPPORTED_CERTIFICATE|CERTIFICATE_REVOKED|CERTIFICATE_EXPIRED|CERTIFICATE_UNKNOWN|UNKNOWN_CA|CERTIFICATE_REQUIRED|ACCESS_DENIED)/;

export class EapTlsPeer {
  /** created at EAP-TLS Start: no worker thread for sessions that never get there */
  private tlsClient: SyncTlsClient | undefined;
  private readonly options: EapTlsOptions;
  private readonly fragmentSize: number;
  /** inbound reassembly */
  private inbound: Uint8Array[] = [];
  private inboundLength = 0;
  private inboundExpected: number | undefined;
  /** our TLS data still to send, and whether we have sent its first fragment */
  private outbound: Uint8Array | undefined;
  private outboundOffset = 0;
  private started = false;
  private connected = false;
  private verdict: ServerVerdict | undefined;
  /** TLS 1.2: the RFC 5216 MSK; TLS 1.3: the RFC 9190 one */
  private mskValue: Uint8Array | undefined;
  /** TLS 1.3 only: the pre-RFC 9190 MSK, used if EAP-Success comes without the commitment message */
  private mskPreRfc9190: Uint8Array | undefined;
  /** "TLSv1.2" / "TLSv1.3" once connected */
  version: string | undefined;
  /** our second flight (with our certificate) went out */
  sentCertificate = false;
  /** RFC 9190 §2.5 commitment message seen (TLS 1.3; decides the MSK derivation) */
  committed = false;
  /** EAP-TLS fragments sent and received, for the log */
  fragmentsOut = 0;
  fragmentsIn = 0;

  constructor(
    options: EapTlsOptions,
    private readonly verifyServer: (chain: readonly Uint8Array[]) => ServerVerdict,
  ) {
    this.fragmentSize = options.fragmentSize ?? DEFAULT_FRAGMENT_SIZE;
    if (!Number.isInteger(this.fragmentSize) || this.fragmentSize < 64 || this.fragmentSize > 65_000) throw new RangeError('EAP-TLS fragment size must be 64..65000');
    this.options = options;
  }

  private get tls(): SyncTlsClient {
    this.tlsClient ??= new SyncTlsClient(this.options);
    return this.tlsClient;
  }

  /**
   * The MSK, once the handshake finished with a gateway we trust. Read at
   * EAP-Success: with TLS 1.3 the commitment message has come by then from
   * an RFC 9190 gateway, and never from a pre-RFC 9190 one (see the top).
   */
  get msk(): Uint8Array | undefined {
    const v = this.mskDerivation === 'pre-rfc9190' ? this.mskPreRfc9190 : this.mskValue;
    return v === undefined ? undefined : v.slice();
  }

  /** which MSK derivation `msk` uses, for the log */
  get mskDerivation(): 'rfc5216' | Tls13MskVariant {
    if (this.version !== 'TLSv1.3') return 'rfc5216';
    return this.committed ? 'rfc9190' : 'pre-rfc9190';
  }

  /** the handshake finished and the gateway's certificate passed: what EapPeer asks before it accepts EAP-Success */
  get authenticatedGateway(): boolean {
    return this.mskValue !== undefined;
  }

  /** EapPeer's question for EAP-MSCHAPv2; never true here (a bare Failure is classified by sentCertificate) */
  readonly answeredChallenge = false;

  get serverSubject(): string | undefined {
    return this.verdict?.ok === true ? this.verdict.subject : undefined;
  }

  /** Ends the TLS worker and forgets the MSK. */
  wipe(): void {
    this.tlsClient?.close();
    this.mskValue?.fill(0);
    this.mskValue = undefined;
    this.mskPreRfc9190?.fill(0);
    this.mskPreRfc9190 = undefined;
  }

  process(req: EapRequest): EapTlsStep {
    try {
      return this.step(req);
    } catch (e) {
      if (e instanceof TlsClientError) {
        this.wipe();
        return { kind: 'invalid', detail: e.message };
      }
      throw e;
    }
  }

  private step(req: EapRequest): EapTlsStep {
    const d = req.typeData;
    if (d.length < 1) return { kind: 'invalid', detail: 'EAP-TLS Request without its Flags octet' };
    const flags = d[0] as number;
    let body = d.subarray(1);
    if ((flags & FLAG_S) !== 0) {
      // §2.1.1: EAP-TLS/Start carries no data; a second Start is a restart we do not do.
      if (this.started) return { kind: 'invalid', detail: 'a second EAP-TLS Start' };
      this.started = true;
      const st = this.tls.start();
      if (st.failure !== undefined) return { kind: 'invalid', detail: `TLS could not start: ${st.failure.message}` };
      return this.send(req.identifier, st.out, 'started TLS (ClientHello)');
    }
    if (!this.started) return { kind: 'invalid', detail: 'EAP-TLS data before EAP-TLS Start' };
    if ((flags & FLAG_L) !== 0) {
      if (body.length < 4) return { kind: 'invalid', detail: 'EAP-TLS L flag without the 4-octet TLS Message Length' };
      const total = (((body[0] as number) << 24) | ((body[1] as number) << 16) | ((body[2] as number) << 8) | (body[3] as number)) >>> 0;
      body = body.subarray(4);
      if (total > MAX_TLS_MESSAGE) return { kind: 'invalid', detail: `EAP-TLS message of ${total} octets (we accept ${MAX_TLS_MESSAGE})` };
      // §2.1.5: the length is in the first fragment; later ones may repeat it.
      if (this.inboundExpected === undefined && this.inboundLength === 0) this.inboundExpected = total;
      else if (this.inboundExpected !== total) return { kind: 'invalid', detail: 'EAP-TLS TLS Message Length changed between fragments' };
    }
    // An empty Request while our fragments are pending acknowledges the last one (§2.1.5).
    if (this.outbound !== undefined) {
      if (body.length !== 0 || (flags & FLAG_M) !== 0) return { kind: 'invalid', detail: 'the gateway sent EAP-TLS data while we were still sending fragments' };
      return this.nextFragment(req.identifier);
    }
    if (body.length === 0 && (flags & FLAG_M) === 0 && this.inboundLength === 0) return { kind: 'invalid', detail: 'an empty EAP-TLS Request with nothing of ours to acknowledge' };
    this.inbound.push(body.slice());
    this.inboundLength += body.length;
    this.fragmentsIn++;
    if (this.inboundLength > MAX_TLS_MESSAGE || (this.inboundExpected !== undefined && this.inboundLength > this.inboundExpected)) {
      return { kind: 'invalid', detail: 'EAP-TLS fragments exceed the announced TLS Message Length' };
    }
    if ((flags & FLAG_M) !== 0) {
      return { kind: 'respond', message: this.response(req.identifier, 0, new Uint8Array(0)), note: `acknowledged EAP-TLS fragment ${this.fragmentsIn} (${this.inboundLength} octets so far)` };
    }
    if (this.inboundExpected !== undefined && this.inboundLength !== this.inboundExpected) {
      return { kind: 'invalid', detail: `EAP-TLS message of ${this.inboundLength} octets, ${this.inboundExpected} announced` };
    }
    const records = concat(this.inbound, this.inboundLength);
    this.inbound = [];
    this.inboundLength = 0;
    this.inboundExpected = undefined;
    return this.afterFeed(req.identifier, this.tls.feed(records));
  }

  private afterFeed(identifier: number, st: TlsState): EapTlsStep {
    if (st.failure !== undefined) {
      const f = st.failure;
      const ack = this.response(identifier, 0, new Uint8Array(0));
      this.tlsClient?.close();
      // RFC 5216 §2.1.3: an alert from the gateway is acknowledged; EAP-Failure follows.
      if (CLIENT_CERT_ALERTS.test(f.code)) return { kind: 'rejected', rejection: 'client_cert_rejected', detail: `${f.code}: ${f.message}`, message: ack };
      return { kind: 'rejected', rejection: 'tls_failed', detail: `${f.code}: ${f.message}`, message: ack };
    }
    if (st.appData.length > 0) {
      // RFC 9190 §2.5: the only application data in EAP-TLS is the commitment message 0x00.
      if (st.appData.length !== 1 || st.appData[0] !== 0) return { kind: 'invalid', detail: `unexpected TLS application data (${st.appData.length} octets) inside EAP-TLS` };
      this.committed = true;
    }
    if (st.connected && !this.connected) {
      this.connected = true;
      this.version = st.version;
      const verdict = this.verifyServer(st.peerChain ?? []);
      this.verdict = verdict;
      if (!verdict.ok) {
        this.wipe();
        return { kind: 'untrusted', code: verdict.code, detail: verdict.message };
      }
      this.exportMsks();
    }
    // The first flight after the gateway's carries our Certificate (TLS 1.2 and 1.3 alike).
    if (st.out.length > 0) this.sentCertificate = true;
    const what = this.connected ? `TLS ${this.version ?? ''} handshake done${this.committed ? ' (commitment message received)' : ''}` : 'TLS handshake continues';
    return this.send(identifier, st.out, what);
  }

  /** RFC 5216 §2.3 for TLS 1.2; for TLS 1.3 both candidates (tls13-msk.ts), chosen at EAP-Success. */
  private exportMsks(): void {
    if (this.version === 'TLSv1.3') {
      this.mskValue = this.exportTls13('rfc9190');
      this.mskPreRfc9190 = this.exportTls13('pre-rfc9190');
      return;
    }
    this.mskValue = this.tls.exportKeyingMaterial('client EAP encryption', 64);
  }

  private exportTls13(variant: Tls13MskVariant): Uint8Array {
    const d = TLS13_MSK[variant];
    const km = this.tls.exportKeyingMaterial(d.label, d.length, d.context);
    const msk = km.slice(0, 64);
    km.fill(0);
    return msk;
  }

  /** Our TLS data in one Response, or the first of several fragments; nothing to send → an empty acknowledging Response. */
  private send(identifier: number, data: Uint8Array, note: string): EapTlsStep {
    if (data.length === 0) return { kind: 'respond', message: this.response(identifier, 0, new Uint8Array(0)), note };
    this.outbound = data;
    this.outboundOffset = 0;
    const step = this.nextFragment(identifier);
    return step.kind === 'respond' ? { ...step, note: `${note}; ${step.note}` } : step;
  }

  private nextFragment(identifier: number): EapTlsStep {
    const data = this.outbound;
    if (data === undefined) return { kind: 'invalid', detail: 'no EAP-TLS fragment pending' };
    const first = this.outboundOffset === 0;
    // The first fragment gives up 4 octets of room to the TLS Message Length.
    const room = first ? this.fragmentSize - 4 : this.fragmentSize;
    const chunk = data.subarray(this.outboundOffset, this.outboundOffset + room);
    this.outboundOffset += chunk.length;
    const more = this.outboundOffset < data.length;
    this.fragmentsOut++;
    let message: Uint8Array;
    if (first && more) {
      const withLength = new Uint8Array(4 + chunk.length);
      new DataView(withLength.buffer).setUint32(0, data.length);
      withLength.set(chunk, 4);
      message = this.response(identifier, FLAG_L | FLAG_M, withLength);
    } else {
      message = this.response(identifier, more ? FLAG_M : 0, chunk);
    }
    if (!more) this.outbound = undefined;
    return { kind: 'respond', message, note: more || !first ? `sent EAP-TLS fragment of ${chunk.length} octets (${this.outboundOffset}/${data.length})` : `sent ${chunk.length} octets of TLS` };
  }

  private response(identifier: number, flags: number, body: Uint8Array): Uint8Array {
    const typeData = new Uint8Array(1 + body.length);
    typeData[0] = flags;
    typeData.set(body, 1);
    return encodeEapResponse(identifier, EapType.TLS, typeData);
  }
}

function concat(parts: readonly Uint8Array[], length: number): Uint8Array {
  const out = new Uint8Array(length);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}
