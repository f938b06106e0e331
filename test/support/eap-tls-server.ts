/**
 * An EAP-TLS authenticator (RFC 5216 / RFC 9190) for unit tests: a real
 * node:tls server over an in-memory Duplex, with its own EAP framing
 * (fragmenting its flights, acknowledging ours), so the peer in
 * native-helper/src/eap/eap-tls.ts is tested against TLS it did not write.
 * Asynchronous (it runs in the test's event loop, the peer's TLS in its worker).
 */
import { X509Certificate } from 'node:crypto';
import { Duplex } from 'node:stream';
import { TLSSocket, createSecureContext } from 'node:tls';

const FLAG_L = 0x80;
const FLAG_M = 0x40;
const FLAG_S = 0x20;

export interface EapTlsServerOptions {
  readonly certificatePem: string;
  readonly privateKeyPem: string;
  /** CAs that issue client certificates (the issuing CA itself, not only a root) */
  readonly caPem: readonly string[];
  readonly minVersion?: 'TLSv1.2' | 'TLSv1.3';
  readonly maxVersion?: 'TLSv1.2' | 'TLSv1.3';
  readonly fragmentSize?: number;
  /**
   * TLS 1.3 as strongSwan's libtls did before RFC 9190 (5.9.x): no commitment message and
   * MSK = TLS-Exporter("client EAP encryption", "", 128)[0..63] (its tls_crypto.c derive_app_keys).
   */
  readonly preRfc9190?: boolean;
}

export interface ServerTrace {
  /** Requests with M set that we sent, and ACKs (empty Requests) we sent for the peer's fragments */
  fragmentsSent: number;
  acksSent: number;
  /** Responses with M set the peer sent */
  peerFragments: number;
  commitmentSent: boolean;
  error?: string;
}

export class EapTlsServer {
  private id = 1;
  private socket: TLSSocket | undefined;
  private transport: Duplex | undefined;
  private written: Buffer[] = [];
  private activity = 0;
  private secure = false;
  private failed = false;
  private outbound: Uint8Array | undefined;
  private outOffset = 0;
  private inbound: Buffer[] = [];
  private done = false;
  readonly trace: ServerTrace = { fragmentsSent: 0, acksSent: 0, peerFragments: 0, commitmentSent: false };
  msk: Uint8Array | undefined;
  version: string | undefined;
  peerSubject: string | undefined;

  constructor(private readonly o: EapTlsServerOptions) {}

  /** EAP-Request/Identity is the caller's business; this is EAP-TLS/Start (§2.1.1). */
  start(): Uint8Array {
    this.transport = new Duplex({
      read() {},
      write: (chunk: Buffer, _e, cb) => {
        this.written.push(Buffer.from(chunk));
        this.activity++;
        cb();
      },
    });
    const ctx = createSecureContext({ cert: this.o.certificatePem, key: this.o.privateKeyPem, ca: [...this.o.caPem], minVersion: this.o.minVersion ?? 'TLSv1.2', maxVersion: this.o.maxVersion ?? 'TLSv1.3' });
    this.socket = new TLSSocket(this.transport, { isServer: true, secureContext: ctx, requestCert: true, rejectUnauthorized: true });
    this.socket.on('secure', () => {
      this.secure = true;
      this.activity++;
    });
    this.socket.on('error', (e: Error) => {
      this.failed = true;
      this.trace.error ??= e.message;
      this.activity++;
    });
    return this.request(FLAG_S, new Uint8Array(0));
  }

  private request(flags: number, body: Uint8Array): Uint8Array {
    const id = this.id++ & 0xff;
    const len = 6 + body.length;
    const out = new Uint8Array(len);
    out.set([1, id, len >> 8, len & 0xff, 13, flags]);
    out.set(body, 6);
    return out;
  }

  private async settle(): Promise<void> {
    let quiet = 0;
    let seen = this.activity;
    const t0 = Date.now();
    while (quiet < 4 || Date.now() - t0 < 2) {
      await new Promise<void>((r) => setImmediate(r));
      if (this.activity !== seen) {
        seen = this.activity;
        quiet = 0;
      } else quiet++;
    }
  }

  private nextFragment(): Uint8Array {
    const data = this.outbound as Uint8Array;
    const size = this.o.fragmentSize ?? 1024;
    const first = this.outOffset === 0;
    const chunk = data.subarray(this.outOffset, this.outOffset + (first ? size - 4 : size));
    this.outOffset += chunk.length;
    const more = this.outOffset < data.length;
    if (!more) this.outbound = undefined;
    if (more) this.trace.fragmentsSent++;
    if (first) {
      // L on the first (here: every first, fragmented or not; §3.1 allows it)
      const b = new Uint8Array(4 + chunk.length);
      new DataView(b.buffer).setUint32(0, data.length);
      b.set(chunk, 4);
      return this.request(FLAG_L | (more ? FLAG_M : 0), b);
    }
    return this.request(more ? FLAG_M : 0, chunk);
  }

  /** The peer's EAP-Response → our next EAP packet (Request, Success = code 3, Failure = code 4). */
  async handle(response: Uint8Array): Promise<Uint8Array> {
    if (response[0] !== 2 || response[4] !== 13) throw new Error(`not an EAP-TLS Response: ${Buffer.from(response).toString('hex')}`);
    const flags = response[5] as number;
    let body = response.subarray(6);
    if ((flags & FLAG_L) !== 0) body = body.subarray(4);
    if (body.length === 0 && (flags & FLAG_M) === 0) {
      // an ACK of our fragment, or the peer's last word
      if (this.outbound !== undefined) return this.nextFragment();
      return this.finish();
    }
    this.inbound.push(Buffer.from(body));
    if ((flags & FLAG_M) !== 0) {
      this.trace.peerFragments++;
      this.trace.acksSent++;
      return this.request(0, new Uint8Array(0));
    }
    const records = Buffer.concat(this.inbound);
    this.inbound = [];
    this.transport?.push(records);
    await this.settle();
    if (this.secure && !this.done && !this.failed && !this.clientTrusted()) {
      // A bare TLSSocket (no tls.Server) only records the verdict: refuse as strongSwan may, with a bare EAP-Failure.
      this.failed = true;
      this.trace.error ??= 'client certificate refused: it does not chain to our CA';
      this.written = [];
      return this.finish();
    }
    if (this.secure && !this.done && !this.failed) {
      this.done = true;
      const s = this.socket as TLSSocket;
      this.version = s.getProtocol() ?? undefined;
      this.peerSubject = s.getPeerX509Certificate()?.subject;
      if (this.version === 'TLSv1.3' && this.o.preRfc9190 === true) {
        const exporter = s.exportKeyingMaterial as (this: TLSSocket, length: number, label: string, context?: Buffer) => Buffer;
        this.msk = new Uint8Array(exporter.call(s, 128, 'client EAP encryption').subarray(0, 64));
      } else if (this.version === 'TLSv1.3') {
        const km = s.exportKeyingMaterial(128, 'EXPORTER_EAP_TLS_Key_Material', Buffer.of(13));
        this.msk = new Uint8Array(km.subarray(0, 64));
        // RFC 9190 §2.5: the commitment message
        s.write(Buffer.of(0));
        this.trace.commitmentSent = true;
        await this.settle();
      } else {
        // RFC 5705 without context (node's typings insist on one; undefined means none)
        const exporter = s.exportKeyingMaterial as (this: TLSSocket, length: number, label: string, context?: Buffer) => Buffer;
        this.msk = new Uint8Array(exporter.call(s, 64, 'client EAP encryption'));
      }
    }
    const out = Buffer.concat(this.written);
    this.written = [];
    if (out.length === 0) return this.finish();
    this.outbound = new Uint8Array(out);
    this.outOffset = 0;
    return this.nextFragment();
  }

  /**
   * A bare TLSSocket (no tls.Server) never sets `authorized`: the client's
   * certificate must be issued and signed by one of our CAs (`caPem` lists
   * the issuing CA itself).
   */
  private clientTrusted(): boolean {
    const leaf = this.socket?.getPeerX509Certificate();
    if (leaf === undefined) return false;
    return this.o.caPem.map((pem) => new X509Certificate(pem)).some((ca) => leaf.checkIssued(ca) && leaf.verify(ca.publicKey));
  }

  private finish(): Uint8Array {
    const id = this.id & 0xff;
    if (this.failed || !this.done) return Uint8Array.of(4, id, 0, 4);
    return Uint8Array.of(3, id, 0, 4);
  }
}
