/**
 * Electron main's line to straitd: opens the client, subscribes to state,
 * stage and log events, and keeps trying when the helper is missing or
 * restarts, reporting why it is down in words the "VPN service not running"
 * screen can show. Timers, the clock and the client factory are injected, so
 * the reconnect logic is tested in plain Node against a real straitd socket
 * or a fake one.
 */
import type { HelperStatus } from '../../native-helper/src/api/desktop.js';
import type { MethodName, ParamsInputOf, ResultOf, StraitNotification } from '../../native-helper/src/api/rpc.js';

/** The part of StraitClient (api/client.ts) the link uses. */
export interface HelperClient {
  request<M extends MethodName>(method: M, params: ParamsInputOf<M>, options?: { timeoutMs?: number }): Promise<ResultOf<M>>;
  on(event: 'notification', listener: (n: StraitNotification) => void): unknown;
  on(event: 'disconnected', listener: (e: Error | undefined) => void): unknown;
  close(): void;
}

export interface HelperLinkDeps {
  readonly open: () => Promise<HelperClient>;
  /** Why the helper cannot be reached (socket missing, unit not installed, permission). */
  readonly diagnose: (error: unknown) => Promise<Extract<HelperStatus, { status: 'down' }>>;
  readonly setTimer: (fn: () => void, ms: number) => unknown;
  readonly clearTimer: (handle: unknown) => void;
  readonly now: () => number;
  readonly onStatus: (status: HelperStatus) => void;
  readonly onNotification: (n: StraitNotification) => void;
  /** back-off bounds, ms (defaults 1 s … 10 s) */
  readonly minDelayMs?: number;
  readonly maxDelayMs?: number;
}

export class HelperUnavailableError extends Error {
  override readonly name = 'HelperUnavailableError';
  constructor(readonly status: HelperStatus) {
    super(status.status === 'down' ? status.message : 'the VPN service is not connected yet');
  }
}

export class HelperLink {
  private client: HelperClient | undefined;
  private status: HelperStatus = { status: 'connecting' };
  private timer: unknown;
  private delay: number;
  private stopped = false;
  private attempt = 0;

  constructor(private readonly deps: HelperLinkDeps) {
    this.delay = deps.minDelayMs ?? 1000;
  }

  get current(): HelperStatus {
    return this.status;
  }

  start(): void {
    this.stopped = false;
    void this.connect();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer !== undefined) this.deps.clearTimer(this.timer);
    this.timer = undefined;
    this.client?.close();
    this.client = undefined;
  }

  /** Try now (the "Retry" button), instead of waiting for the back-off. */
  retryNow(): void {
    if (this.client !== undefined || this.stopped) return;
    if (this.timer !== undefined) this.deps.clearTimer(this.timer);
    this.timer = undefined;
    this.delay = this.deps.minDelayMs ?? 1000;
    void this.connect();
  }

  async call<M extends MethodName>(method: M, params: ParamsInputOf<M>, options?: { timeoutMs?: number }): Promise<ResultOf<M>> {
    const client = this.client;
    if (client === undefined) throw new HelperUnavailableError(this.status);
    return client.request(method, params, options);
  }

  private setStatus(status: HelperStatus): void {
    this.status = status;
    this.deps.onStatus(status);
  }

  private async connect(): Promise<void> {
    const attempt = ++this.attempt;
    let client: HelperClient | undefined;
    try {
      client = await this.deps.open();
      if (this.stopped || attempt !== this.attempt) {
        client.close();
        return;
      }
      client.on('notification', (n) => this.deps.onNotification(n));
      client.on('disconnected', () => this.lost(client as HelperClient));
      const version = await client.request('version', {});
      // The subscription answers with the current state, so nothing between "open" and "subscribed" is missed.
      const sub = await client.request('subscribe', { topics: ['state', 'stage', 'log'], logLevel: 'debug' });
      this.client = client;
      this.delay = this.deps.minDelayMs ?? 1000;
      this.setStatus({ status: 'up', version: version.version, backend: version.backend });
      this.deps.onNotification({ method: 'strait.state', params: { state: sub.state } });
    } catch (error) {
      client?.close();
      if (this.stopped) return;
      const down = await this.deps.diagnose(error);
      const retryAt = this.deps.now() + this.delay;
      this.setStatus({ ...down, retryAt });
      this.schedule();
    }
  }

  private lost(client: HelperClient): void {
    if (this.client !== client) return;
    this.client = undefined;
    client.close();
    if (this.stopped) return;
    this.setStatus({ status: 'down', reason: 'not-running', message: 'The Strait VPN service stopped. Reconnecting…', retryAt: this.deps.now() + (this.deps.minDelayMs ?? 1000) });
    this.delay = this.deps.minDelayMs ?? 1000;
    this.schedule();
  }

  private schedule(): void {
    if (this.timer !== undefined) this.deps.clearTimer(this.timer);
    const wait = this.delay;
    this.delay = Math.min(this.delay * 2, this.deps.maxDelayMs ?? 10_000);
    this.timer = this.deps.setTimer(() => {
      this.timer = undefined;
      if (!this.stopped) void this.connect();
    }, wait);
  }
}

/** Plain words for ClientError kinds and errno codes (the "not running" screen shows these). */
export interface DiagnoseFs {
  /** true if a straitd service is installed (systemd unit or binary) */
  readonly serviceInstalled: () => Promise<boolean>;
}

export async function diagnoseHelperError(error: unknown, socketPath: string, fs: DiagnoseFs): Promise<Extract<HelperStatus, { status: 'down' }>> {
  const message = error instanceof Error ? error.message : String(error);
  const kind = error !== null && typeof error === 'object' && 'kind' in error ? String((error as { kind: unknown }).kind) : undefined;
  if (kind === 'untrusted_socket') {
    return { status: 'down', reason: 'untrusted-socket', message: `The VPN service socket ${socketPath} is not owned by root, so Strait will not send it your credentials.` };
  }
  if (/EACCES|EPERM/u.test(message)) {
    return { status: 'down', reason: 'permission-denied', message: 'Your account may not use the VPN service. Ask IT to add you to the "strait" group, then log out and back in.' };
  }
  if (/ENOENT|ECONNREFUSED|not a socket/u.test(message)) {
    return (await fs.serviceInstalled())
      ? { status: 'down', reason: 'not-running', message: 'The Strait VPN service is installed but not running. Start it with: sudo systemctl start straitd' }
      : { status: 'down', reason: 'not-installed', message: 'The Strait VPN service (straitd) is not installed on this computer. Install the Strait package or ask IT.' };
  }
  return { status: 'down', reason: 'error', message: `Cannot talk to the VPN service: ${message}` };
}
