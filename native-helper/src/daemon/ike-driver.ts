/**
 * The thin I/O shell around the sans-I/O IkeSession: two UDP sockets on the
 * local address (IKE on 500, NAT-T on 4500), a timer, and a callback for
 * everything that is not I/O (CHILD_SAs to install, the virtual IP, events).
 *
 * On the NAT-T port IKE travels behind the 4-octet non-ESP marker and ESP
 * in UDP without it (RFC 3948 §2.2): we prepend the marker on send and strip
 * it on receive; ESP packets and NAT-keepalives (one 0xFF octet, §2.3) that
 * reach this socket are dropped (the kernel's encapsulation socket owns ESP).
 * Source ports matter: the gateway's NAT detection hashes our address and port.
 */
import { createSocket } from 'node:dgram';
import type { RemoteInfo, Socket } from 'node:dgram';

import type { Endpoint, IkeAction, IkeFailure } from '../ike/actions.js';
import type { IkeSession } from '../ike/session.js';

export interface IkeDriverOptions {
  /** the address to bind (the same one the session's config has as `local`) */
  readonly localAddress: string;
  /** defaults 500 / 4500; tests bind others */
  readonly ports?: { readonly ike: number; readonly natt: number };
  /** aborting asks the session to close (DELETE of the IKE SA when established) */
  readonly signal?: AbortSignal;
  /** every action that is not a send or a timer (install, config, stage, event, failed, closed) */
  readonly onAction?: (action: IkeAction) => void;
  /** milliseconds since the epoch; default Date.now */
  readonly clock?: () => number;
}

export type IkeDriverOutcome = { readonly kind: 'failed'; readonly failure: IkeFailure } | { readonly kind: 'closed'; readonly reason: string };

const NON_ESP_MARKER = new Uint8Array(4);
const NATT_KEEPALIVE = 0xff;

export class IkeDriver {
  private readonly ports: { readonly ike: number; readonly natt: number };
  private readonly clock: () => number;
  private sockets: { ike?: Socket; natt?: Socket } = {};
  private timer: NodeJS.Timeout | undefined;
  private finish: ((o: IkeDriverOutcome) => void) | undefined;
  private done = false;
  /** datagrams handed to a socket whose callback has not run yet: the last DELETE must leave before the sockets close */
  private inflight = 0;

  constructor(
    private readonly session: IkeSession,
    private readonly opts: IkeDriverOptions,
  ) {
    this.ports = opts.ports ?? { ike: 500, natt: 4500 };
    this.clock = opts.clock ?? Date.now;
  }

  /** Binds, starts the session and resolves when it fails or closes (it never rejects). */
  async run(): Promise<IkeDriverOutcome> {
    const outcome = new Promise<IkeDriverOutcome>((resolve) => {
      this.finish = resolve;
    });
    try {
      this.sockets.ike = await this.bind(this.ports.ike, false);
      this.sockets.natt = await this.bind(this.ports.natt, true);
    } catch (e) {
      const detail = e instanceof Error ? e.message : String(e);
      this.end({ kind: 'failed', failure: { code: 'PLATFORM_ERROR', message: `Could not open the IKE ports ${this.ports.ike}/${this.ports.natt} on ${this.opts.localAddress}: ${detail}.`, fields: { detail } } });
      return outcome;
    }
    if (this.opts.signal?.aborted === true) {
      this.end({ kind: 'closed', reason: 'cancelled before start' });
      return outcome;
    }
    this.opts.signal?.addEventListener('abort', () => this.close(), { once: true });
    this.execute(this.session.start(this.clock()));
    return outcome;
  }

  /** Asks the session to close; run() resolves once it has. */
  close(): void {
    if (!this.done) this.execute(this.session.close(this.clock()));
  }

  private bind(port: number, natt: boolean): Promise<Socket> {
    const socket = createSocket({ type: this.opts.localAddress.includes(':') ? 'udp6' : 'udp4' });
    return new Promise((resolve, reject) => {
      socket.once('error', reject);
      socket.bind({ address: this.opts.localAddress, port, exclusive: true }, () => {
        socket.off('error', reject);
        socket.on('error', (e) => this.report('driver.socket_error', `UDP socket ${port}: ${e.message}`));
        socket.on('message', (msg, rinfo) => this.onMessage(msg, rinfo, port, natt));
        resolve(socket);
      });
    });
  }

  private onMessage(msg: Buffer, rinfo: RemoteInfo, port: number, natt: boolean): void {
    if (this.done) return;
    let data = new Uint8Array(msg.buffer, msg.byteOffset, msg.length);
    if (natt) {
      if (data.length === 1 && data[0] === NATT_KEEPALIVE) return;
      // RFC 3948 §2.2: IKE has four zero octets where ESP has its (non-zero) SPI.
      if (data.length < 4 || data[0] !== 0 || data[1] !== 0 || data[2] !== 0 || data[3] !== 0) return;
      data = data.subarray(4);
    }
    const from: Endpoint = { address: rinfo.address, port: rinfo.port };
    const to: Endpoint = { address: this.opts.localAddress, port };
    this.execute(this.session.receive({ data: Uint8Array.from(data), from, to }, this.clock()));
  }

  private execute(actions: readonly IkeAction[]): void {
    for (const a of actions) {
      switch (a.kind) {
        case 'send':
          this.send(a.data, a.from, a.to);
          break;
        case 'timer':
          this.arm(a.at);
          break;
        default:
          this.opts.onAction?.(a);
          if (a.kind === 'failed') this.end({ kind: 'failed', failure: a.failure });
          else if (a.kind === 'closed') this.end({ kind: 'closed', reason: a.reason });
      }
    }
  }

  private send(data: Uint8Array, from: Endpoint, to: Endpoint): void {
    const natt = from.port === this.ports.natt;
    const socket = natt ? this.sockets.natt : this.sockets.ike;
    if (socket === undefined || this.done) return;
    const packet = natt ? Buffer.concat([NON_ESP_MARKER, data]) : Buffer.from(data.buffer, data.byteOffset, data.length);
    this.inflight++;
    socket.send(packet, to.port, to.address, (e) => {
      this.inflight--;
      // A lost datagram is what retransmission is for; report it and go on.
      if (e && !this.done) this.report('driver.send_failed', `sending to ${to.address}[${to.port}] failed: ${e.message}`);
      if (this.done && this.inflight === 0) this.closeSockets();
    });
  }

  private arm(at: number): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      if (!this.done) this.execute(this.session.tick(this.clock()));
    }, Math.max(0, at - this.clock()));
  }

  private report(event: string, message: string): void {
    this.opts.onAction?.({ kind: 'event', event: { at: this.clock(), level: 'warn', event, message } });
  }

  private end(outcome: IkeDriverOutcome): void {
    if (this.done) return;
    this.done = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.inflight === 0) this.closeSockets();
    this.finish?.(outcome);
  }

  private closeSockets(): void {
    for (const s of [this.sockets.ike, this.sockets.natt]) s?.close();
    this.sockets = {};
  }
}

/** Runs a session over real UDP until it fails or closes. */
export function runIkeSession(session: IkeSession, opts: IkeDriverOptions): Promise<IkeDriverOutcome> {
  return new IkeDriver(session, opts).run();
}
