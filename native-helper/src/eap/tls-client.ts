/**
 * A TLS client the synchronous IKE engine can call: node:tls runs in a
 * worker thread (tls-worker.ts) and every call here blocks until the worker
 * has answered (Atomics.wait on a shared flag, then receiveMessageOnPort),
 * the pattern synckit uses. A step is one TLS flight, a few milliseconds of
 * OpenSSL work; the wait is bounded so a wedged worker becomes a typed error,
 * never a hung daemon.
 *
 * The worker starts when the client is constructed, which EapTlsPeer does
 * at the gateway's EAP-TLS Start; it ends on close(), or by itself when
 * idle (tls-worker.ts), so an abandoned session leaves nothing behind.
 */
import { MessageChannel, Worker, receiveMessageOnPort } from 'node:worker_threads';
import type { MessagePort } from 'node:worker_threads';

import type { TlsWorkerReply, TlsWorkerRequest } from './tls-protocol.js';

export type TlsState = Extract<TlsWorkerReply, { kind: 'state' }>;

export interface TlsClientOptions {
  readonly certificatePem: string;
  readonly privateKeyPem: string;
  readonly serverName?: string;
  readonly minVersion?: 'TLSv1.2' | 'TLSv1.3';
  readonly maxVersion?: 'TLSv1.2' | 'TLSv1.3';
  /** per call; a worker start-up under UML can take a second */
  readonly timeoutMs?: number;
}

export class TlsClientError extends Error {}

/**
 * The daemon runs the compiled tls-worker.js. Unit tests run the sources
 * under tsx, whose loader a worker does not inherit: there the worker is a
 * two-line bootstrap that registers tsx first (only ever taken when this
 * module itself is a .ts file).
 */
function spawnWorker(options: { workerData: unknown; transferList: MessagePort[] }): Worker {
  const self = import.meta.url;
  if (!self.endsWith('.ts')) return new Worker(new URL('./tls-worker.js', self), options);
  const entry = new URL('./tls-worker.ts', self).href;
  const tsx = import.meta.resolve('tsx/esm/api');
  const bootstrap = `import(${JSON.stringify(tsx)}).then((m) => { m.register(); return import(${JSON.stringify(entry)}); });`;
  return new Worker(bootstrap, { ...options, eval: true });
}

export class SyncTlsClient {
  private readonly worker: Worker;
  private readonly port: MessagePort;
  private readonly flag: Int32Array;
  private readonly timeoutMs: number;
  private closed = false;

  constructor(private readonly options: TlsClientOptions) {
    const shared = new SharedArrayBuffer(4);
    this.flag = new Int32Array(shared);
    const { port1, port2 } = new MessageChannel();
    this.port = port1;
    this.timeoutMs = options.timeoutMs ?? 10_000;
    this.worker = spawnWorker({ workerData: { flag: shared, port: port2 }, transferList: [port2] });
    // A worker must never keep the daemon (or a test) alive on its own.
    this.worker.unref();
    this.port.unref();
    this.worker.on('error', () => {
      // Reported by the next call's timeout; the error text could quote input.
    });
  }

  private call(req: TlsWorkerRequest): TlsWorkerReply {
    if (this.closed) throw new TlsClientError('the TLS client is closed');
    Atomics.store(this.flag, 0, 0);
    this.port.postMessage(req);
    const r = Atomics.wait(this.flag, 0, 0, this.timeoutMs);
    const got = receiveMessageOnPort(this.port);
    if (r === 'timed-out' || got === undefined) {
      this.close();
      throw new TlsClientError(`the TLS engine did not answer within ${this.timeoutMs} ms`);
    }
    return got.message as TlsWorkerReply;
  }

  private state(req: TlsWorkerRequest): TlsState {
    const r = this.call(req);
    if (r.kind !== 'state') throw new TlsClientError(`the TLS engine answered ${r.kind} to ${req.kind}`);
    return r;
  }

  /** Starts the handshake: the ClientHello. */
  start(): TlsState {
    const o = this.options;
    return this.state({
      kind: 'start',
      certificatePem: o.certificatePem,
      privateKeyPem: o.privateKeyPem,
      ...(o.serverName === undefined ? {} : { serverName: o.serverName }),
      minVersion: o.minVersion ?? 'TLSv1.2',
      maxVersion: o.maxVersion ?? 'TLSv1.3',
    });
  }

  /** The gateway's records in; our records (if any) and the handshake's state out. */
  feed(records: Uint8Array): TlsState {
    return this.state({ kind: 'feed', records });
  }

  /** RFC 5705 keying material exporter. */
  exportKeyingMaterial(label: string, length: number, context?: Uint8Array): Uint8Array {
    const r = this.call({ kind: 'export', label, length, ...(context === undefined ? {} : { context }) });
    if (r.kind !== 'exported' || r.key.length !== length) throw new TlsClientError('the TLS engine exported no keying material');
    return r.key;
  }

  /** Ends the worker (and with it the private key's only copy in this client). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.port.close();
    void this.worker.terminate();
  }
}
