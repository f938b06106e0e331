/**
 * The straitd socket server: newline-delimited JSON-RPC 2.0 (wire format in
 * api/rpc.ts), strict validation of every request, per-connection bounds,
 * and topic-filtered notifications.
 *
 * Hostile-input rules (a local user in group `strait` may send anything):
 * - a line is at most MAX_LINE_BYTES; longer → MESSAGE_TOO_LARGE, connection closed;
 * - at most `maxInFlight` requests run at once and `ratePerSecond` start per
 *   second (token bucket): beyond that → RATE_LIMITED;
 * - JSON that does not parse → PARSE_ERROR; not a request object (or a
 *   batch) → INVALID_REQUEST; unknown method → METHOD_NOT_FOUND; params
 *   failing the method's schema → INVALID_PARAMS with RFC 6901 paths and
 *   the schema's messages (never the value: it could be a secret);
 * - a handler's unexpected exception → INTERNAL_ERROR without details (logged);
 * - a subscriber that does not read (writable backlog > maxBacklogBytes) is
 *   disconnected rather than buffered without bound.
 * Nothing a client sends can throw out of this module.
 */
import { createServer, type Server, type Socket } from 'node:net';
import * as v from 'valibot';

import {
  MAX_LINE_BYTES,
  Methods,
  Notifications,
  RequestEnvelopeSchema,
  RpcErrorCode,
  isMethodName,
  paramIssues,
  type MethodName,
  type NotificationName,
  type NotificationParams,
  type ParamsOf,
  type RequestId,
  type ResultOf,
  type RpcErrorData,
  type Topic,
} from '../api/rpc.js';
import type { LogInput } from './log-store.js';

/** A handler's way to answer with a contract error. */
export class RpcFault extends Error {
  override readonly name = 'RpcFault';
  constructor(
    readonly code: RpcErrorCode,
    message: string,
    readonly data?: RpcErrorData,
  ) {
    super(message);
  }
}

export interface ConnectionContext {
  readonly id: number;
  readonly topics: Set<Topic>;
  logLevel: 'debug' | 'info' | 'warn' | 'error';
  /** set by the server when the socket closes: long handlers may stop caring */
  readonly closed: boolean;
}

export type RpcHandlers = { readonly [M in MethodName]: (params: ParamsOf<M>, ctx: ConnectionContext) => Promise<ResultOf<M>> };

export interface RpcServerOptions {
  readonly handlers: RpcHandlers;
  readonly log: (r: LogInput) => void;
  readonly maxInFlight?: number;
  readonly ratePerSecond?: number;
  readonly burst?: number;
  readonly maxBacklogBytes?: number;
  readonly maxConnections?: number;
  /** the server is stopping: new requests get SHUTTING_DOWN */
  readonly stopping?: () => boolean;
}

interface Conn extends ConnectionContext {
  readonly socket: Socket;
  chunks: Buffer[];
  bufferedBytes: number;
  inFlight: number;
  tokens: number;
  lastRefill: number;
  closed: boolean;
}

export class RpcServer {
  private readonly server: Server;
  private readonly conns = new Set<Conn>();
  private nextConnId = 1;
  private readonly maxInFlight: number;
  private readonly rate: number;
  private readonly burst: number;
  private readonly maxBacklog: number;
  private readonly maxConnections: number;

  constructor(private readonly opts: RpcServerOptions) {
    this.maxInFlight = opts.maxInFlight ?? 16;
    this.rate = opts.ratePerSecond ?? 50;
    this.burst = opts.burst ?? 100;
    this.maxBacklog = opts.maxBacklogBytes ?? 8 * 1024 * 1024;
    this.maxConnections = opts.maxConnections ?? 64;
    this.server = createServer({ allowHalfOpen: false }, (s) => this.accept(s));
    this.server.on('error', (e) => opts.log({ level: 'error', component: 'rpc', event: 'rpc.server_error', message: e.message }));
  }

  listen(path: string): Promise<void> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen({ path, exclusive: true }, () => {
        this.server.off('error', reject);
        resolve();
      });
    });
  }

  /** Sends a notification to every connection subscribed to its topic (and, for logs, level). */
  broadcast<N extends NotificationName>(method: N, params: NotificationParams<N>, level?: 'debug' | 'info' | 'warn' | 'error'): void {
    const topic = Notifications[method].topic;
    let line: string | undefined;
    for (const c of this.conns) {
      if (c.closed || !c.topics.has(topic)) continue;
      if (level !== undefined && LEVELS.indexOf(level) < LEVELS.indexOf(c.logLevel)) continue;
      line ??= `${JSON.stringify({ jsonrpc: '2.0', method, params })}\n`;
      this.write(c, line);
    }
  }

  get connectionCount(): number {
    return this.conns.size;
  }

  /** Stops listening, lets clients read what was sent (1 s grace), then drops every connection. */
  async close(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const c of this.conns) c.socket.end();
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([closed, new Promise<void>((resolve) => (timer = setTimeout(resolve, 1000)))]);
    if (timer !== undefined) clearTimeout(timer);
    for (const c of this.conns) c.socket.destroy();
    await closed;
  }

  // ------------------------------------------------------------ per connection

  private accept(socket: Socket): void {
    if (this.conns.size >= this.maxConnections) {
      socket.end(`${JSON.stringify({ jsonrpc: '2.0', id: null, error: { code: RpcErrorCode.RATE_LIMITED, message: 'too many connections to straitd' } })}\n`);
      return;
    }
    const c: Conn = { id: this.nextConnId++, socket, topics: new Set(), logLevel: 'info', chunks: [], bufferedBytes: 0, inFlight: 0, tokens: this.burst, lastRefill: Date.now(), closed: false };
    this.conns.add(c);
    socket.on('data', (d: Buffer) => this.onData(c, d));
    socket.on('error', () => undefined); // 'close' follows
    socket.on('close', () => {
      c.closed = true;
      this.conns.delete(c);
    });
  }

  private onData(c: Conn, data: Buffer): void {
    if (c.closed) return;
    let start = 0;
    let nl: number;
    while ((nl = data.indexOf(0x0a, start)) >= 0) {
      const piece = data.subarray(start, nl);
      start = nl + 1;
      if (c.bufferedBytes + piece.length + 1 > MAX_LINE_BYTES) {
        this.tooLarge(c);
        return;
      }
      const line = c.chunks.length === 0 ? piece : Buffer.concat([...c.chunks, piece]);
      c.chunks = [];
      c.bufferedBytes = 0;
      this.onLine(c, line);
      if (c.closed) return;
    }
    const rest = data.subarray(start);
    if (rest.length === 0) return;
    if (c.bufferedBytes + rest.length >= MAX_LINE_BYTES) {
      this.tooLarge(c);
      return;
    }
    c.chunks.push(Buffer.from(rest));
    c.bufferedBytes += rest.length;
  }

  private tooLarge(c: Conn): void {
    this.sendError(c, null, RpcErrorCode.MESSAGE_TOO_LARGE, `a message is longer than ${MAX_LINE_BYTES} bytes`);
    c.closed = true;
    c.chunks = [];
    c.socket.end();
    this.opts.log({ level: 'warn', component: 'rpc', event: 'rpc.too_large', message: `connection ${c.id}: line over ${MAX_LINE_BYTES} bytes; closed` });
  }

  private takeToken(c: Conn): boolean {
    const now = Date.now();
    c.tokens = Math.min(this.burst, c.tokens + ((now - c.lastRefill) / 1000) * this.rate);
    c.lastRefill = now;
    if (c.tokens < 1) return false;
    c.tokens -= 1;
    return true;
  }

  private onLine(c: Conn, raw: Buffer): void {
    const text = raw.toString('utf8').trim();
    if (text === '') return;
    if (!this.takeToken(c)) {
      this.sendError(c, null, RpcErrorCode.RATE_LIMITED, `more than ${this.rate} requests per second`);
      return;
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      this.sendError(c, null, RpcErrorCode.PARSE_ERROR, 'the line is not valid JSON');
      return;
    }
    if (Array.isArray(json)) {
      this.sendError(c, null, RpcErrorCode.INVALID_REQUEST, 'batches are not supported: send one request per line');
      return;
    }
    const env = v.safeParse(RequestEnvelopeSchema, json);
    if (!env.success) {
      const id = idOf(json);
      this.sendError(c, id, RpcErrorCode.INVALID_REQUEST, 'not a JSON-RPC 2.0 request', { issues: paramIssues(env.issues) });
      return;
    }
    const { id, method, params } = env.output;
    // JSON-RPC §4.1: a notification (no id) is never answered.
    if (id === undefined) return;
    if (!isMethodName(method)) {
      this.sendError(c, id, RpcErrorCode.METHOD_NOT_FOUND, `unknown method ${JSON.stringify(method.slice(0, 64))}`);
      return;
    }
    if (this.opts.stopping?.() === true) {
      this.sendError(c, id, RpcErrorCode.SHUTTING_DOWN, 'straitd is stopping');
      return;
    }
    if (c.inFlight >= this.maxInFlight) {
      this.sendError(c, id, RpcErrorCode.RATE_LIMITED, `more than ${this.maxInFlight} requests in flight on this connection`);
      return;
    }
    const checked = v.safeParse(Methods[method].params, params);
    if (!checked.success) {
      this.sendError(c, id, RpcErrorCode.INVALID_PARAMS, `invalid params for ${method}`, { issues: paramIssues(checked.issues) });
      return;
    }
    c.inFlight++;
    void this.dispatch(c, id, method, checked.output).finally(() => c.inFlight--);
  }

  private async dispatch(c: Conn, id: RequestId, method: MethodName, params: unknown): Promise<void> {
    const handler = this.opts.handlers[method] as (p: unknown, ctx: ConnectionContext) => Promise<unknown>;
    try {
      const result = await handler(params, c);
      // The contract binds us too: a result outside the schema is our bug, never sent half-typed.
      const ok = v.safeParse(Methods[method].result, result);
      if (!ok.success) {
        this.opts.log({ level: 'error', component: 'rpc', event: 'rpc.bad_result', message: `${method} produced a result outside the contract: ${paramIssues(ok.issues).map((i) => `${i.path}: ${i.message}`).join('; ')}` });
        this.sendError(c, id, RpcErrorCode.INTERNAL_ERROR, 'internal error');
        return;
      }
      this.write(c, `${JSON.stringify({ jsonrpc: '2.0', id, result: ok.output })}\n`);
    } catch (e) {
      if (e instanceof RpcFault) {
        this.sendError(c, id, e.code, e.message, e.data);
        return;
      }
      this.opts.log({ level: 'error', component: 'rpc', event: 'rpc.handler_error', message: `${method} failed: ${e instanceof Error ? e.message : String(e)}` });
      this.sendError(c, id, RpcErrorCode.INTERNAL_ERROR, 'internal error');
    }
  }

  private sendError(c: Conn, id: RequestId | null, code: RpcErrorCode, message: string, data?: RpcErrorData): void {
    this.write(c, `${JSON.stringify({ jsonrpc: '2.0', id, error: data === undefined ? { code, message } : { code, message, data } })}\n`);
  }

  private write(c: Conn, line: string): void {
    if (c.socket.destroyed || !c.socket.writable) return;
    if (c.socket.writableLength > this.maxBacklog) {
      this.opts.log({ level: 'warn', component: 'rpc', event: 'rpc.slow_reader', message: `connection ${c.id} does not read its messages (${c.socket.writableLength} bytes queued); closed` });
      c.closed = true;
      c.socket.destroy();
      return;
    }
    c.socket.write(line);
  }
}

const LEVELS = ['debug', 'info', 'warn', 'error'] as const;

/** The id of a request that failed validation, if it had a usable one (JSON-RPC §5: else null). */
function idOf(json: unknown): RequestId | null {
  if (typeof json !== 'object' || json === null || !('id' in json)) return null;
  const id = (json as { id: unknown }).id;
  if (typeof id === 'number' && Number.isInteger(id)) return id;
  if (typeof id === 'string' && id.length <= 128) return id;
  return null;
}
