/**
 * The thin I/O shell around the sans-I/O IkeSession: two UDP sockets on the
 * local address (IKE on 500, NAT-T on 4500), a timer, and a callback for
 * everything that is not I/O (CHILD_SAs to install, the virtual IP, events).
 *
 * On the NAT-T port IKE travels behind the 4-octet non-ESP marker and ESP
 * in UDP without it (RFC 3948 §2.2): we prepend the marker on send and strip
 * it on receive; ESP packets and NAT-keepalives (one 0xFF octet, §2.3) that
 * reach this socket are dropped.
 *
 * The NAT-T socket is also the kernel's encapsulation socket: right after
 * binding, UDP_ENCAP_ESPINUDP is set on it (udp-encap.ts, a small N-API
 * addon), so ESP in UDP from the gateway is decapsulated by XFRM and only
 * IKE reaches us (RFC 3948 §3). If that cannot be done the driver refuses to
 * install a CHILD_SA that needs encapsulation (the tunnel would be silent)
 * and closes the session with PLATFORM_ERROR.
 *
 * Once IKE uses the NAT-T port, the driver sends NAT-keepalives (one 0xFF
 * octet, RFC 3948 §2.3) to the gateway every `keepaliveIntervalMs` (20 s by
 * default, like charon) unless an IKE datagram went out on that port more
 * recently: any packet keeps the NAT's mapping alive.
 *
 * Source ports matter: the gateway's NAT detection hashes our address and port.
 *
 * Two sessions can share one pair of sockets (`share`): a make-before-break
 * reauthentication (RFC 4478) builds its new IKE SA from the same local
 * ports, because the gateway knows the client by address and port (charon
 * hands the same virtual IP to a second IKE SA of the same identity only
 * from the same address and port). The driver that bound the sockets
 * delivers a datagram to the session whose IKE SA it names: RFC 7296 §2.2,
 * the initiator's SPI identifies the IKE SA. The sockets close when the last
 * driver using them has ended.
 */
import { createSocket } from 'node:dgram';
import type { RemoteInfo, Socket } from 'node:dgram';

import type { Endpoint, IkeAction, IkeFailure } from '../ike/actions.js';
import type { IkeSession } from '../ike/session.js';
import type { UdpEncapResult } from './udp-encap.js';
import { enableUdpEncap } from './udp-encap.js';

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
  /** RFC 3948 §2.3 NAT-keepalive interval while IKE uses the NAT-T port; 0 turns them off. Default 20 000 */
  readonly keepaliveIntervalMs?: number;
  /** sets UDP_ENCAP on the bound NAT-T socket; default: the addon (udp-encap.ts). Tests inject a failure */
  readonly udpEncap?: (address: string, port: number) => UdpEncapResult;
  /** run on this (running) driver's sockets instead of binding: a second IKE SA from the same ports (see above) */
  readonly share?: IkeDriver;
}

/** RFC 3948 §2.3 leaves the interval open; 20 s is charon's default and fits common NAT UDP timeouts. */
export const DEFAULT_NAT_KEEPALIVE_MS = 20_000;

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
  /** UDP_ENCAP on the NAT-T socket: ok, or why not */
  private encap: UdpEncapResult = { ok: false, reason: 'not bound yet' };
  private keepaliveTimer: NodeJS.Timeout | undefined;
  private lastNattSendAt = 0;
  /** where IKE on the NAT-T port last went (MOBIKE may move it) */
  private keepaliveTo: Endpoint | undefined;
  private keepalives = 0;
  /** set when the driver itself must end the session with an error (it closes the session first) */
  private pendingFailure: IkeFailure | undefined;
  /** the address the sockets are bound to (MOBIKE moves it: rebind) */
  private local: string;
  /** drivers running on this one's sockets (`share`), and the one whose sockets this one uses */
  private readonly guests = new Set<IkeDriver>();
  private host: IkeDriver | undefined;

  constructor(
    private readonly session: IkeSession,
    private readonly opts: IkeDriverOptions,
  ) {
    this.ports = opts.ports ?? { ike: 500, natt: 4500 };
    this.clock = opts.clock ?? Date.now;
    this.local = opts.localAddress;
  }

  /** The local address the IKE sockets are bound to now. */
  get localAddress(): string {
    return this.local;
  }

  /**
   * MOBIKE (RFC 4555 §3.5): the client's address changed. Binds both ports on
   * `address` (with UDP_ENCAP on the NAT-T one, the new path may have a NAT),
   * then closes the old sockets, whose address may be gone. Call before
   * IkeSession.updateAddresses, so the request leaves from and its answer
   * reaches the new address. Rejects if the new sockets cannot be bound;
   * the old ones then stay.
   */
  async rebind(address: string): Promise<void> {
    if (this.done || address === this.local) return;
    const ike = await this.bind(this.ports.ike, false, address);
    let natt: Socket;
    try {
      natt = await this.bind(this.ports.natt, true, address);
    } catch (e) {
      ike.close();
      throw e;
    }
    if (this.done) {
      ike.close();
      natt.close();
      return;
    }
    const encap = (this.opts.udpEncap ?? enableUdpEncap)(address, this.ports.natt);
    if (!encap.ok) this.report('driver.udp_encap_unavailable', `ESP in UDP cannot be received on ${address}[${this.ports.natt}]: ${encap.reason}`);
    const old = this.sockets;
    this.sockets = { ike, natt };
    this.encap = encap;
    const from = this.local;
    this.local = address;
    const host = this.host;
    if (host !== undefined) {
      // A driver leaves the sockets it shared: their binder closes them when it ends, or it has ended.
      host.guests.delete(this);
      this.host = undefined;
      if (host.done && ![...host.guests].some((g) => !g.done && g.sockets.ike === old.ike)) closeQuietly(old);
    } else {
      // Sessions sharing the old sockets (a reauthentication being built) cannot follow: they end.
      for (const g of this.guests) if (!g.done) g.abort('the IKE sockets moved to a new address');
      closeQuietly(old);
    }
    this.report('driver.rebound', `IKE sockets moved from ${from} to ${address} (ports ${this.ports.ike}/${this.ports.natt})`, 'info');
  }

  /** NAT-keepalives sent so far (status displays, tests). */
  get keepalivesSent(): number {
    return this.keepalives;
  }

  /** Whether the NAT-T socket decapsulates ESP (UDP_ENCAP set), or why not. */
  get udpEncapsulation(): UdpEncapResult {
    return this.encap;
  }

  /** Binds, starts the session and resolves when it fails or closes (it never rejects). */
  async run(): Promise<IkeDriverOutcome> {
    const outcome = new Promise<IkeDriverOutcome>((resolve) => {
      this.finish = resolve;
    });
    const share = this.opts.share;
    if (share !== undefined) {
      if (share.done || share.sockets.ike === undefined || share.sockets.natt === undefined) {
        this.end({ kind: 'failed', failure: { code: 'PLATFORM_ERROR', message: 'The IKE ports to share with the current IKE SA are closed.' } });
        return outcome;
      }
      // Registered with the driver that bound the sockets: its listeners deliver (onMessage).
      const root = share.host ?? share;
      for (const g of root.guests) if (g.done) root.guests.delete(g);
      this.host = root;
      this.sockets = share.sockets;
      this.encap = share.encap;
      this.local = share.local;
      root.guests.add(this);
    } else try {
      const [ike, natt] = await Promise.allSettled([this.bind(this.ports.ike, false, this.local), this.bind(this.ports.natt, true, this.local)]);
      if (ike.status === 'fulfilled') this.sockets.ike = ike.value;
      if (natt.status === 'fulfilled') this.sockets.natt = natt.value;
      if (ike.status === 'rejected') throw ike.reason;
      if (natt.status === 'rejected') throw natt.reason;
    } catch (e) {
      this.closeSockets();
      const detail = e instanceof Error ? e.message : String(e);
      this.end({ kind: 'failed', failure: { code: 'PLATFORM_ERROR', message: `Could not open the IKE ports ${this.ports.ike}/${this.ports.natt} on ${this.opts.localAddress}: ${detail}.`, fields: { detail } } });
      return outcome;
    }
    if (this.opts.signal?.aborted === true) {
      this.end({ kind: 'closed', reason: 'cancelled before start' });
      return outcome;
    }
    this.opts.signal?.addEventListener('abort', () => this.close(), { once: true });
    this.step((now) => this.session.start(now));
    // UDP_ENCAP matters only once ESP can arrive in UDP, after IKE_AUTH installs a CHILD_SA (which
    // checks it: refuseEncapsulatedChild). Setting it once IKE_SA_INIT has left (dgram sends on a
    // later tick; setImmediate runs after that and before any answer is read) keeps the addon's
    // descriptor scan (a few dozen system calls, ~45 µs each in the UML lab) off the connect's path.
    if (this.host === undefined) {
      setImmediate(() => {
        if (this.done) return;
        this.encap = (this.opts.udpEncap ?? enableUdpEncap)(this.local, this.ports.natt);
        if (!this.encap.ok) this.report('driver.udp_encap_unavailable', `ESP in UDP cannot be received on port ${this.ports.natt}: ${this.encap.reason}`);
      });
    }
    return outcome;
  }

  /** Asks the session to close; run() resolves once it has. */
  close(): void {
    if (!this.done) this.step((now) => this.session.close(now));
  }

  /**
   * Reports a host event to the session (`childSaInstalled`, `trafficSeen`,
   * see ike/ACTIONS.md) and carries out the actions it answers with.
   */
  inform(call: (session: IkeSession, now: number) => readonly IkeAction[]): void {
    if (!this.done) this.step((now) => call(this.session, now));
  }

  /**
   * Stops at once, without waiting for the gateway: for a disconnect whose
   * DELETE got no answer in time (the supervisor bounds it) and for shutdown.
   * The sockets close and run() resolves with `closed`.
   */
  abort(reason: string): void {
    this.end({ kind: 'closed', reason });
  }

  private bind(port: number, natt: boolean, address: string): Promise<Socket> {
    const socket = createSocket({ type: address.includes(':') ? 'udp6' : 'udp4' });
    return new Promise((resolve, reject) => {
      socket.once('error', reject);
      socket.bind({ address, port, exclusive: true }, () => {
        socket.off('error', reject);
        socket.on('error', (e) => this.report('driver.socket_error', `UDP socket ${address}[${port}]: ${e.message}`));
        socket.on('message', (msg, rinfo) => {
          // a socket replaced by rebind() may still deliver a datagram queued before it closed
          if (this.sockets.ike === socket || this.sockets.natt === socket) this.onMessage(msg, rinfo, port, natt);
        });
        resolve(socket);
      });
    });
  }

  private onMessage(msg: Buffer, rinfo: RemoteInfo, port: number, natt: boolean): void {
    if (this.done && this.guests.size === 0) return;
    let data = new Uint8Array(msg.buffer, msg.byteOffset, msg.length);
    if (natt) {
      if (data.length === 1 && data[0] === NATT_KEEPALIVE) return;
      // RFC 3948 §2.2: IKE has four zero octets where ESP has its (non-zero) SPI.
      if (data.length < 4 || data[0] !== 0 || data[1] !== 0 || data[2] !== 0 || data[3] !== 0) return;
      data = data.subarray(4);
    }
    if (this.guests.size === 0) return this.deliver(data, rinfo, port);
    // Shared sockets: RFC 7296 §2.2, the initiator's SPI names the IKE SA and with it the session;
    // anything else (a retiring IKE SA of a rekey) goes to the oldest session still running.
    const live = [this, ...this.guests].filter((d) => !d.done);
    const spi = data.length >= 8 ? Buffer.from(data.buffer, data.byteOffset, 8).toString('hex') : '';
    const target = live.find((d) => d.session.spis.initiator === spi) ?? live[0];
    target?.deliver(data, rinfo, port);
  }

  private deliver(data: Uint8Array, rinfo: RemoteInfo, port: number): void {
    if (this.done) return;
    const from: Endpoint = { address: rinfo.address, port: rinfo.port };
    const to: Endpoint = { address: this.local, port };
    this.step((now) => this.session.receive({ data: Uint8Array.from(data), from, to }, now));
  }

  /**
   * One session call. The session computes a retransmission deadline as
   * `now + timeout`, with `now` read before the call; the request leaves
   * only when the call returns. Under load (a Diffie-Hellman and a
   * signature inside the call, on a busy UML) that can be most of a second,
   * and the first retransmit would then go out milliseconds after the
   * request (seen in the lab: 15 ms). RFC 7296 §2.1 times a retransmit from
   * the send, so a timer that comes with a send is pushed back by the time
   * the call took.
   */
  private step(call: (now: number) => readonly IkeAction[]): void {
    const now = this.clock();
    const actions = call(now);
    const after = this.clock();
    const spent = after - now;
    this.execute(actions, spent > 0 && actions.some((a) => a.kind === 'send') ? spent : 0, after);
  }

  /**
   * Datagrams leave first, then everything else in the session's order: the
   * events that describe a request (log lines, subscriber notifications) cost
   * more than the send itself, and the gateway can work on the request
   * meanwhile. Nothing else depends on a send having happened. `now` is the
   * clock as the caller last read it, reused for timers: each reading is a
   * system call where there is no vDSO (User-Mode Linux).
   */
  private execute(actions: readonly IkeAction[], timerDelay = 0, now?: number): void {
    for (const a of actions) if (a.kind === 'send') this.send(a.data, a.from, a.to);
    for (const a of actions) {
      switch (a.kind) {
        case 'send':
          break;
        case 'timer':
          this.arm(a.at + timerDelay, now);
          break;
        default:
          if (a.kind === 'installChildSa' && a.sa.encap !== null && !this.encap.ok) {
            this.refuseEncapsulatedChild(a.sa.id);
            break;
          }
          this.opts.onAction?.(a);
          if (a.kind === 'failed') this.end({ kind: 'failed', failure: a.failure });
          else if (a.kind === 'closed') this.end(this.pendingFailure !== undefined ? { kind: 'failed', failure: this.pendingFailure } : { kind: 'closed', reason: a.reason });
      }
    }
  }

  /**
   * A CHILD_SA that needs ESP in UDP while the NAT-T socket cannot decapsulate:
   * installing it would give a tunnel that sends but never receives. Close
   * the IKE SA (DELETE) and end with PLATFORM_ERROR instead.
   */
  private refuseEncapsulatedChild(childId: number): void {
    if (this.pendingFailure !== undefined) return;
    const reason = this.encap.ok ? '' : this.encap.reason;
    this.pendingFailure = {
      code: 'PLATFORM_ERROR',
      message: `The gateway is reached through a NAT (or encapsulation is forced), so ESP must travel in UDP on port ${this.ports.natt}, but this system could not enable that on the socket: ${reason}.`,
      fields: { childSa: childId, detail: reason },
    };
    this.report('driver.encapsulation_refused', `CHILD_SA ${childId} needs UDP encapsulation, which is unavailable: closing`);
    this.step((now) => this.session.close(now));
  }

  private send(data: Uint8Array, from: Endpoint, to: Endpoint): void {
    const natt = from.port === this.ports.natt;
    const socket = natt ? this.sockets.natt : this.sockets.ike;
    if (socket === undefined || this.done) return;
    if (natt) this.noteNattSend(to);
    const packet = natt ? Buffer.concat([NON_ESP_MARKER, data]) : Buffer.from(data.buffer, data.byteOffset, data.length);
    this.inflight++;
    try {
      socket.send(packet, to.port, to.address, (e) => {
        this.inflight--;
        // A lost datagram is what retransmission is for; report it and go on.
        if (e && !this.done) this.report('driver.send_failed', `sending to ${to.address}[${to.port}] failed: ${e.message}`);
        if (this.done && this.inflight === 0) this.closeSockets();
      });
    } catch (e) {
      // a shared socket another driver closed (it moved away, MOBIKE): as lost as any datagram
      this.inflight--;
      this.report('driver.send_failed', `sending to ${to.address}[${to.port}] failed: ${e instanceof Error ? e.message : String(e)}`);
    }
  }

  /** IKE went out on the NAT-T port: the mapping is fresh; (re)start the keepalive clock. */
  private noteNattSend(to: Endpoint): void {
    this.lastNattSendAt = this.clock();
    this.keepaliveTo = to;
    const interval = this.opts.keepaliveIntervalMs ?? DEFAULT_NAT_KEEPALIVE_MS;
    if (interval <= 0 || this.keepaliveTimer !== undefined) return;
    const tick = (): void => {
      this.keepaliveTimer = undefined;
      if (this.done) return;
      const idle = this.clock() - this.lastNattSendAt;
      if (idle >= interval && this.keepaliveTo !== undefined) this.sendKeepalive(this.keepaliveTo);
      this.keepaliveTimer = setTimeout(tick, Math.max(1, interval - (this.clock() - this.lastNattSendAt)));
    };
    this.keepaliveTimer = setTimeout(tick, interval);
    this.report('nat.keepalive_started', `NAT-keepalives to ${to.address}[${to.port}] every ${interval / 1000} s (RFC 3948 §2.3)`, 'info');
  }

  private sendKeepalive(to: Endpoint): void {
    const socket = this.sockets.natt;
    if (socket === undefined) return;
    this.lastNattSendAt = this.clock();
    this.inflight++;
    socket.send(Uint8Array.of(NATT_KEEPALIVE), to.port, to.address, (e) => {
      this.inflight--;
      if (e && !this.done) this.report('driver.send_failed', `NAT-keepalive to ${to.address}[${to.port}] failed: ${e.message}`);
      else if (!e) this.keepalives++;
      if (this.done && this.inflight === 0) this.closeSockets();
    });
  }

  private arm(at: number, now = this.clock()): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      if (this.done) return;
      const now = this.clock();
      // setTimeout runs on the monotonic clock and may fire a millisecond before
      // Date.now() reaches `at`; the session would then do nothing and ask for no
      // new timer (it has one for `at` already), and the connect would hang.
      if (now < at) {
        this.arm(at, now);
        return;
      }
      this.step((t) => this.session.tick(t));
    }, Math.max(1, at - now));
  }

  private report(event: string, message: string, level: 'info' | 'warn' = 'warn'): void {
    this.opts.onAction?.({ kind: 'event', event: { at: this.clock(), level, event, message } });
  }

  private end(outcome: IkeDriverOutcome): void {
    if (this.done) return;
    this.done = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.keepaliveTimer !== undefined) clearTimeout(this.keepaliveTimer);
    this.keepaliveTimer = undefined;
    if (this.inflight === 0) this.closeSockets();
    this.finish?.(outcome);
  }

  private closeSockets(): void {
    // Shared sockets (`share`) stay open while another driver still runs on them; the binder's
    // listeners keep delivering to it, so the binder keeps its references too.
    const users = this.host !== undefined ? [this.host, ...this.host.guests] : [...this.guests];
    if (users.some((d) => d !== this && !d.done && d.sockets.ike === this.sockets.ike)) return;
    closeQuietly(this.sockets);
    this.sockets = {};
  }
}

/** Closes a socket pair; one a sharing driver closed already is skipped (dgram throws on a second close). */
function closeQuietly(sockets: { ike?: Socket; natt?: Socket }): void {
  for (const s of [sockets.ike, sockets.natt]) {
    try {
      s?.close();
    } catch {
      // closed already
    }
  }
}

/** Runs a session over real UDP until it fails or closes. */
export function runIkeSession(session: IkeSession, opts: IkeDriverOptions): Promise<IkeDriverOutcome> {
  return new IkeDriver(session, opts).run();
}
