/**
 * The typed straitd client: the CLI and Electron main both talk to the
 * helper through this (DESIGN.md "The three processes"). Newline-delimited
 * JSON-RPC 2.0 over a local socket (wire format: rpc.ts).
 *
 *   const client = await StraitClient.open({ socketPath });
 *   client.on('notification', (n) => …);              // or: for await (const n of client.notifications())
 *   await client.request('subscribe', { topics: ['state', 'stage'] });
 *   const { state } = await client.request('connect', { profile, secrets }, { timeoutMs: 120_000 });
 *
 * - Before anything is sent the socket's owner is checked: root or ourselves
 *   (DESIGN.md "The helper's socket": secrets must not go to a socket another
 *   unprivileged user planted).
 * - Every response is validated against the method's result schema; a
 *   malformed one is a ClientError('protocol'), never a half-typed value.
 * - Optional reconnect: after the helper restarts the client reconnects with
 *   back-off and re-subscribes; pending requests of the lost connection fail
 *   with ClientError('closed') (they may or may not have been carried out).
 *
 * Node-only (node:net, node:fs): imported by the CLI and Electron main, never
 * by the renderer.
 */
import { EventEmitter } from 'node:events';
import { stat } from 'node:fs/promises';
import { createConnection, type Socket } from 'node:net';
import * as v from 'valibot';

import {
  DEFAULT_SOCKET_PATH,
  MAX_LINE_BYTES,
  Methods,
  Notifications,
  ServerMessageSchema,
  describeRpcError,
  isNotificationName,
  type MethodName,
  type ParamsInputOf,
  type ResultOf,
  type RpcErrorData,
  type RpcErrorObject,
  type StraitNotification,
  type Topic,
} from './rpc.js';

/** An error the helper answered with (JSON-RPC error object). */
export class RpcError extends Error {
  override readonly name = 'RpcError';
  readonly code: number;
  readonly data: RpcErrorData | undefined;
  constructor(e: RpcErrorObject) {
    super(describeRpcError(e));
    this.code = e.code;
    this.data = e.data;
  }
}

export type ClientErrorKind =
  /** the socket does not exist, refused the connection, or is not the helper's */
  | 'unreachable'
  /** the socket is owned by another unprivileged user */
  | 'untrusted_socket'
  /** no answer within the request's timeout */
  | 'timeout'
  /** the connection closed before the answer came */
  | 'closed'
  /** the helper sent something that is not the contract */
  | 'protocol';

/** A failure on our side of the socket (not an answer from the helper). */
export class ClientError extends Error {
  override readonly name = 'ClientError';
  constructor(
    readonly kind: ClientErrorKind,
    message: string,
  ) {
    super(message);
  }
}

export interface ClientOptions {
  /** default /run/strait/straitd.sock */
  readonly socketPath?: string;
  /** per-request default, ms (default 15 s); connect callers pass a longer one */
  readonly timeoutMs?: number;
  /** reconnect after the connection drops (default off) */
  readonly reconnect?: { readonly initialDelayMs?: number; readonly maxDelayMs?: number };
  /**
   * Owners we accept for the socket file (default: root and our own uid).
   * A socket owned by someone else is refused before a byte is sent.
   */
  readonly trustedOwners?: readonly number[];
}

interface Pending {
  readonly method: MethodName;
  readonly resolve: (value: unknown) => void;
  readonly reject: (e: Error) => void;
  readonly timer: NodeJS.Timeout;
}

export interface RequestOptions {
  readonly timeoutMs?: number;
}

type ClientEvents = {
  notification: [StraitNotification];
  /** the connection dropped (reconnecting follows if enabled) */
  disconnected: [Error | undefined];
  /** reconnected and re-subscribed */
  reconnected: [];
  /** a reconnect attempt failed; another follows */
  reconnectFailed: [Error];
};

const DEFAULT_TIMEOUT_MS = 15_000;

export class StraitClient extends EventEmitter<ClientEvents> {
  private socket: Socket | undefined;
  private buffer = '';
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private readonly topics = new Set<Topic>();
  private closedByUser = false;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private readonly socketPath: string;
  private readonly defaultTimeout: number;

  private constructor(private readonly opts: ClientOptions) {
    super();
    this.socketPath = opts.socketPath ?? DEFAULT_SOCKET_PATH;
    this.defaultTimeout = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  }

  /** Checks the socket's owner and connects. Rejects with ClientError('unreachable' | 'untrusted_socket'). */
  static async open(opts: ClientOptions = {}): Promise<StraitClient> {
    const client = new StraitClient(opts);
    await client.attach();
    return client;
  }

  get connected(): boolean {
    return this.socket !== undefined && !this.socket.destroyed;
  }

  /** Sends a request and resolves with the validated result; rejects with RpcError or ClientError. */
  request<M extends MethodName>(method: M, ...args: undefined extends ParamsInputOf<M> ? [params?: ParamsInputOf<M>, options?: RequestOptions] : [params: ParamsInputOf<M>, options?: RequestOptions]): Promise<ResultOf<M>> {
    const [params, options] = args;
    const socket = this.socket;
    if (socket === undefined || socket.destroyed) return Promise.reject(new ClientError('closed', 'not connected to straitd'));
    const id = this.nextId++;
    const timeoutMs = options?.timeoutMs ?? this.defaultTimeout;
    const line = `${JSON.stringify({ jsonrpc: '2.0', id, method, params: params ?? {} })}\n`;
    if (Buffer.byteLength(line) > MAX_LINE_BYTES) return Promise.reject(new ClientError('protocol', `request ${method} is larger than ${MAX_LINE_BYTES} bytes`));
    const result = new Promise<unknown>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new ClientError('timeout', `straitd did not answer ${method} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(id, { method, resolve, reject, timer });
    });
    socket.write(line);
    if (method === 'subscribe') {
      // Remember topics for re-subscription after a reconnect (only once the helper agreed).
      void result.then((r) => (r as ResultOf<'subscribe'>).topics.forEach((t) => this.topics.add(t)), () => undefined);
    } else if (method === 'unsubscribe') {
      void result.then((r) => {
        const still = new Set((r as ResultOf<'unsubscribe'>).topics);
        [...this.topics].filter((t) => !still.has(t)).forEach((t) => this.topics.delete(t));
      }, () => undefined);
    }
    return result as Promise<ResultOf<M>>;
  }

  /** Notifications as an async iterator; ends when the client is closed. */
  async *notifications(): AsyncGenerator<StraitNotification> {
    const queue: StraitNotification[] = [];
    let wake: (() => void) | undefined;
    let ended = false;
    const onNote = (n: StraitNotification): void => {
      queue.push(n);
      wake?.();
    };
    const onEnd = (): void => {
      if (this.closedByUser || this.opts.reconnect === undefined) {
        ended = true;
        wake?.();
      }
    };
    this.on('notification', onNote);
    this.on('disconnected', onEnd);
    try {
      while (true) {
        const next = queue.shift();
        if (next !== undefined) {
          yield next;
          continue;
        }
        if (ended) return;
        await new Promise<void>((r) => (wake = r));
        wake = undefined;
      }
    } finally {
      this.off('notification', onNote);
      this.off('disconnected', onEnd);
    }
  }

  /** Closes the connection for good; pending requests fail with ClientError('closed'). */
  close(): void {
    this.closedByUser = true;
    if (this.reconnectTimer !== undefined) clearTimeout(this.reconnectTimer);
    this.socket?.destroy();
  }

  // ------------------------------------------------------------ internals

  private async attach(): Promise<void> {
    await this.checkOwner();
    const socket = await new Promise<Socket>((resolve, reject) => {
      const s = createConnection({ path: this.socketPath });
      s.once('connect', () => {
        s.off('error', reject);
        resolve(s);
      });
      s.once('error', (e) => reject(new ClientError('unreachable', `cannot reach straitd at ${this.socketPath}: ${e.message}`)));
    });
    socket.setEncoding('utf8');
    this.buffer = '';
    this.socket = socket;
    socket.on('data', (chunk: string) => this.onData(chunk));
    socket.on('error', () => undefined); // 'close' follows and carries the consequence
    socket.on('close', () => this.onClose(socket));
  }

  private async checkOwner(): Promise<void> {
    let uid: number;
    try {
      const st = await stat(this.socketPath);
      if (!st.isSocket()) throw new ClientError('unreachable', `${this.socketPath} is not a socket`);
      uid = st.uid;
    } catch (e) {
      if (e instanceof ClientError) throw e;
      throw new ClientError('unreachable', `cannot reach straitd at ${this.socketPath}: ${e instanceof Error ? e.message : String(e)}`);
    }
    const trusted = this.opts.trustedOwners ?? [0, ...(typeof process.getuid === 'function' ? [process.getuid()] : [])];
    if (!trusted.includes(uid)) throw new ClientError('untrusted_socket', `${this.socketPath} is owned by uid ${uid}, not by root: refusing to talk to it`);
  }

  private onData(chunk: string): void {
    this.buffer += chunk;
    if (this.buffer.length > MAX_LINE_BYTES && !this.buffer.includes('\n')) {
      this.fail(new ClientError('protocol', `straitd sent a line longer than ${MAX_LINE_BYTES} bytes`));
      return;
    }
    let nl: number;
    while ((nl = this.buffer.indexOf('\n')) >= 0) {
      const line = this.buffer.slice(0, nl);
      this.buffer = this.buffer.slice(nl + 1);
      if (line.trim() !== '') this.onLine(line);
    }
  }

  private onLine(line: string): void {
    let json: unknown;
    try {
      json = JSON.parse(line);
    } catch {
      this.fail(new ClientError('protocol', 'straitd sent a line that is not JSON'));
      return;
    }
    const parsed = v.safeParse(ServerMessageSchema, json);
    if (!parsed.success) {
      this.fail(new ClientError('protocol', 'straitd sent a message outside the contract'));
      return;
    }
    const msg = parsed.output;
    if ('method' in msg) {
      if (!isNotificationName(msg.method)) return; // a newer helper's event: ignore
      const p = v.safeParse(Notifications[msg.method].params, msg.params);
      if (!p.success) return;
      this.emit('notification', { method: msg.method, params: p.output } as StraitNotification);
      return;
    }
    if (typeof msg.id !== 'number') return; // we only send numeric ids
    const pending = this.pending.get(msg.id);
    if (pending === undefined) return;
    this.pending.delete(msg.id);
    clearTimeout(pending.timer);
    if ('error' in msg) {
      pending.reject(new RpcError(msg.error));
      return;
    }
    const result = v.safeParse(Methods[pending.method].result, msg.result);
    if (result.success) pending.resolve(result.output);
    else pending.reject(new ClientError('protocol', `straitd's ${pending.method} result does not match the contract: ${result.issues.map((i) => i.path?.map((p) => String(p.key)).join('/') ?? '').join(', ')}`));
  }

  private fail(e: Error): void {
    this.socket?.destroy(e);
  }

  private onClose(socket: Socket): void {
    if (this.socket !== socket) return;
    this.socket = undefined;
    for (const [id, p] of this.pending) {
      clearTimeout(p.timer);
      p.reject(new ClientError('closed', `the connection to straitd closed before it answered ${p.method}`));
      this.pending.delete(id);
    }
    this.emit('disconnected', undefined);
    if (!this.closedByUser && this.opts.reconnect !== undefined) this.scheduleReconnect(this.opts.reconnect.initialDelayMs ?? 250);
  }

  private scheduleReconnect(delay: number): void {
    const max = this.opts.reconnect?.maxDelayMs ?? 5000;
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined;
      if (this.closedByUser) return;
      this.attach()
        .then(async () => {
          if (this.topics.size > 0) await this.request('subscribe', { topics: [...this.topics] });
          this.emit('reconnected');
        })
        .catch((e: unknown) => {
          this.emit('reconnectFailed', e instanceof Error ? e : new Error(String(e)));
          if (!this.closedByUser && this.socket === undefined) this.scheduleReconnect(Math.min(delay * 2, max));
        });
    }, delay);
  }
}
