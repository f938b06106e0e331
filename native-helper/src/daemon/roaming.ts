/**
 * Noticing that the client's outer address towards the gateway changed
 * (roaming: Wi-Fi → LTE, DHCP renumbering, a link going away), so the
 * supervisor can move the SAs with MOBIKE (RFC 4555) or reconnect.
 *
 * How: once a second while connected, ask the kernel which source address
 * it would use towards the gateway — a UDP socket's connect() does the route
 * lookup and sends nothing (the same lookup the supervisor uses to pick the
 * address for a new connection). Why this and not `ip monitor` or rtnetlink:
 *   - it observes exactly the fact that matters (the source address the
 *     kernel picks for the gateway), whatever caused it: an address removed,
 *     a default route replaced, a policy rule added, an interface down;
 *     `ip monitor` reports every address/route/neighbour event of the system
 *     and we would still have to ask the kernel what they mean for us;
 *   - no long-lived child process to supervise or parse, and no netlink
 *     addon (none is available to the helper yet);
 *   - a lookup costs microseconds; the price is up to one interval of delay
 *     before a move is noticed (1 s by default; ESP is lost meanwhile anyway
 *     because the old path is gone).
 * A change is confirmed by a second lookup shortly after (routes and
 * addresses often change in several steps), and an address that is one of
 * our own virtual IPs is never taken as the outer address (while routes are
 * in flux, the kernel may pick the tunnel's address for the gateway).
 */

export interface PathWatcherOptions {
  /** the gateway's address and IKE port */
  readonly gateway: string;
  readonly port: number;
  /** the kernel's source address towards remote:port (throws when there is no route) */
  readonly localAddressFor: (remote: string, port: number) => Promise<string>;
  /** addresses that are never the outer address (the virtual IPs) */
  readonly ignore: () => readonly string[];
  /** a new outer address, confirmed */
  readonly onChange: (from: string, to: string) => void;
  /** no route to the gateway (reported once per outage) */
  readonly onNoPath?: (detail: string) => void;
  /** poll interval; default 1000 ms */
  readonly intervalMs?: number;
  /** delay of the confirming lookup; default 250 ms */
  readonly confirmMs?: number;
}

export const DEFAULT_PATH_POLL_MS = 1000;

const errorText = (e: unknown): string => (e instanceof Error ? e.message : String(e));

export class PathWatcher {
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private busy = false;
  private noPath = false;

  constructor(
    private readonly opts: PathWatcherOptions,
    /** the outer address in use */
    private current: string,
  ) {}

  get address(): string {
    return this.current;
  }

  start(): void {
    this.stopped = false;
    this.schedule(this.opts.intervalMs ?? DEFAULT_PATH_POLL_MS);
  }

  stop(): void {
    this.stopped = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** Looks now (tests; a link event the host learnt of otherwise). */
  async check(): Promise<void> {
    if (this.busy || this.stopped) return;
    this.busy = true;
    try {
      const seen = await this.lookup();
      if (seen === undefined || seen === this.current) return;
      await new Promise((r) => setTimeout(r, this.opts.confirmMs ?? 250));
      if (this.stopped) return;
      const again = await this.lookup();
      if (again !== seen) return; // still moving: the next poll looks again
      const from = this.current;
      this.current = seen;
      this.opts.onChange(from, seen);
    } finally {
      this.busy = false;
    }
  }

  private async lookup(): Promise<string | undefined> {
    let address: string;
    try {
      address = await this.opts.localAddressFor(this.opts.gateway, this.opts.port);
    } catch (e) {
      if (!this.noPath) this.opts.onNoPath?.(errorText(e));
      this.noPath = true;
      return undefined;
    }
    this.noPath = false;
    return this.opts.ignore().includes(address) ? undefined : address;
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.check().finally(() => this.schedule(this.opts.intervalMs ?? DEFAULT_PATH_POLL_MS));
    }, ms);
    this.timer.unref();
  }
}
