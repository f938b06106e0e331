/**
 * The RPC server on a real Unix socket (in-process, with the real
 * supervisor over a recording platform): JSON-RPC error codes, strict
 * params validation with paths and without echoing input, framing across
 * arbitrary chunking, line and rate bounds, and a few thousand random lines
 * that must not crash it or break the connection.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { createConnection, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as v from 'valibot';

import { MAX_LINE_BYTES, RpcErrorCode, ServerMessageSchema, type ResultOf } from '../../../native-helper/src/api/rpc.js';
import { LogStore } from '../../../native-helper/src/daemon/log-store.js';
import { RpcServer, type RpcServerOptions } from '../../../native-helper/src/daemon/rpc-server.js';
import { createHandlers, publishEvents } from '../../../native-helper/src/daemon/service.js';
import { Supervisor } from '../../../native-helper/src/daemon/supervisor.js';
import { seededRandom } from '../../support/test-responder.js';
import { RecordingPlatform, testProfile } from './helpers.js';

const VERSION: ResultOf<'version'> = { name: 'straitd', version: '0.0.0-test', protocol: 1, platform: 'linux', backend: 'recording', pid: process.pid, startedAt: 1 };

let dir: string;
const servers: RpcServer[] = [];

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'strait-rpc-'));
});
after(async () => {
  for (const s of servers) await s.close();
  await rm(dir, { recursive: true, force: true });
});

async function serve(name: string, over: Partial<RpcServerOptions> = {}): Promise<{ path: string; log: LogStore; supervisor: Supervisor }> {
  const log = new LogStore();
  const supervisor = new Supervisor({ platform: new RecordingPlatform(), log, connectTimeoutMs: 2000 });
  const server = new RpcServer({ handlers: createHandlers({ supervisor, log, version: VERSION }), log: (r) => log.append(r), ...over });
  publishEvents(supervisor, log, server);
  const path = join(dir, `${name}.sock`);
  await server.listen(path);
  servers.push(server);
  return { path, log, supervisor };
}

/** A raw line client: collects every line the server sends. */
class Raw {
  readonly lines: string[] = [];
  private buf = '';
  closed = false;
  private waiters: (() => void)[] = [];
  private constructor(readonly socket: Socket) {
    socket.setEncoding('utf8');
    socket.on('data', (d: string) => {
      this.buf += d;
      let nl: number;
      while ((nl = this.buf.indexOf('\n')) >= 0) {
        this.lines.push(this.buf.slice(0, nl));
        this.buf = this.buf.slice(nl + 1);
      }
      this.waiters.splice(0).forEach((w) => w());
    });
    socket.on('close', () => {
      this.closed = true;
      this.waiters.splice(0).forEach((w) => w());
    });
    socket.on('error', () => undefined);
  }
  static open(path: string): Promise<Raw> {
    return new Promise((resolve, reject) => {
      const s = createConnection({ path }, () => resolve(new Raw(s)));
      s.once('error', reject);
    });
  }
  send(text: string): void {
    this.socket.write(text);
  }
  async until(pred: (lines: readonly string[]) => boolean, ms = 5000): Promise<void> {
    const deadline = Date.now() + ms;
    while (!pred(this.lines)) {
      if (this.closed) return;
      if (Date.now() > deadline) throw new Error(`timeout; got ${this.lines.length} lines: ${this.lines.slice(-3).join(' | ')}`);
      await new Promise<void>((r) => {
        this.waiters.push(r);
        setTimeout(r, 50);
      });
    }
  }
  messages(): Record<string, unknown>[] {
    return this.lines.map((l) => JSON.parse(l) as Record<string, unknown>);
  }
  byId(id: unknown): Record<string, unknown> | undefined {
    return this.messages().find((m) => m['id'] === id);
  }
  close(): void {
    this.socket.destroy();
  }
}

const req = (id: unknown, method: string, params?: unknown): string => `${JSON.stringify({ jsonrpc: '2.0', id, method, ...(params === undefined ? {} : { params }) })}\n`;
const errCode = (m: Record<string, unknown> | undefined): unknown => (m?.['error'] as { code?: unknown } | undefined)?.code;

describe('RPC server', () => {
  it('answers version and status, and maps protocol errors to JSON-RPC codes', async () => {
    const { path } = await serve('codes');
    const c = await Raw.open(path);
    c.send(req(1, 'version'));
    c.send(req('two', 'status', {}));
    c.send('this is not json\n');
    c.send('[{"jsonrpc":"2.0","id":5,"method":"version"}]\n');
    c.send(req(6, 'no.such.method'));
    c.send('{"jsonrpc":"1.0","id":7,"method":"version"}\n');
    c.send(req(8, 'version', { unexpected: true }));
    c.send('{"jsonrpc":"2.0","method":"status"}\n'); // a notification: never answered
    c.send(req(9, 'version'));
    await c.until((l) => l.length >= 8);
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(c.lines.length, 8, c.lines.join('\n'));
    for (const m of c.messages()) assert.ok(v.is(ServerMessageSchema, m), JSON.stringify(m));
    assert.deepEqual(c.byId(1)?.['result'], VERSION);
    assert.deepEqual((c.byId('two')?.['result'] as { state: unknown }).state, { state: 'disconnected' });
    const nulls = c.messages().filter((m) => m['id'] === null).map(errCode);
    assert.deepEqual(nulls.sort(), [RpcErrorCode.PARSE_ERROR, RpcErrorCode.INVALID_REQUEST].sort());
    assert.equal(errCode(c.byId(6)), RpcErrorCode.METHOD_NOT_FOUND);
    assert.equal(errCode(c.byId(7)), RpcErrorCode.INVALID_REQUEST);
    assert.equal(errCode(c.byId(8)), RpcErrorCode.INVALID_PARAMS);
    assert.ok(c.byId(9)?.['result'] !== undefined);
    c.close();
  });

  it('invalid connect params: -32602 with RFC 6901 paths, and the secret value is never echoed', async () => {
    const { path } = await serve('params');
    const c = await Raw.open(path);
    const good = testProfile(500);
    const { gateway: _gw, ...noGateway } = good;
    c.send(req(1, 'connect', { profile: noGateway, secrets: { psk: 'x' } }));
    c.send(req(2, 'connect', { profile: good, secrets: { psk: 'x', sneaky: 'SECRET-MARKER-1' } }));
    c.send(req(3, 'connect', { profile: good, secrets: { psk: 12345, eapPassword: ['SECRET-MARKER-2'] } }));
    c.send(req(4, 'connect', { profile: { ...good, mtu: 'SECRET-MARKER-3' }, secrets: { privateKeyPem: 'SECRET-MARKER-4' } }));
    await c.until((l) => l.length >= 4);
    const issues = (id: number): { path: string; message: string }[] => ((c.byId(id)?.['error'] as { data?: { issues?: { path: string; message: string }[] } }).data?.issues ?? []);
    for (const id of [1, 2, 3, 4]) assert.equal(errCode(c.byId(id)), RpcErrorCode.INVALID_PARAMS);
    assert.ok(issues(1).some((i) => i.path === '/profile/gateway'), JSON.stringify(issues(1)));
    assert.ok(issues(3).some((i) => i.path === '/secrets/psk'), JSON.stringify(issues(3)));
    assert.ok(issues(4).some((i) => i.path === '/secrets/privateKeyPem'), JSON.stringify(issues(4)));
    for (const marker of ['SECRET-MARKER-1', 'SECRET-MARKER-2', 'SECRET-MARKER-4']) assert.ok(!c.lines.join('\n').includes(marker), `response echoes ${marker}: ${c.lines.join('\n')}`);
    c.close();
  });

  it('reassembles requests split at arbitrary byte boundaries (including inside UTF-8)', async () => {
    const { path } = await serve('framing');
    const c = await Raw.open(path);
    const text = req(1, 'logs', { text: 'ünïcødé ✓' }) + req(2, 'version') + req(3, 'status');
    const bytes = Buffer.from(text);
    for (let i = 0; i < bytes.length; i += 3) c.socket.write(bytes.subarray(i, i + 3));
    await c.until((l) => l.length >= 3);
    assert.deepEqual(c.messages().map((m) => m['id']).sort(), [1, 2, 3]);
    assert.ok(c.messages().every((m) => 'result' in m));
    c.close();
  });

  it('a line over 1 MiB is refused with MESSAGE_TOO_LARGE and the connection closed', async () => {
    const { path } = await serve('large');
    const c = await Raw.open(path);
    c.send(`{"jsonrpc":"2.0","id":1,"method":"logs","params":{"text":"${'a'.repeat(MAX_LINE_BYTES)}"}}\n`);
    await c.until(() => c.closed, 5000);
    assert.equal(c.closed, true);
    assert.equal(errCode(c.messages()[0]), RpcErrorCode.MESSAGE_TOO_LARGE);
    // the server is fine
    const d = await Raw.open(path);
    d.send(req(1, 'version'));
    await d.until((l) => l.length >= 1);
    assert.ok(d.byId(1)?.['result'] !== undefined);
    d.close();
  });

  it('bounds the request rate per connection', async () => {
    const { path } = await serve('rate', { ratePerSecond: 5, burst: 5 });
    const c = await Raw.open(path);
    for (let i = 0; i < 30; i++) c.send(req(i, 'version'));
    await c.until((l) => l.length >= 30);
    const limited = c.messages().filter((m) => errCode(m) === RpcErrorCode.RATE_LIMITED).length;
    const answered = c.messages().filter((m) => 'result' in m).length;
    assert.ok(answered >= 5 && answered <= 7, `answered ${answered}`);
    assert.equal(limited + answered, 30);
    c.close();
  });

  it('delivers notifications only for subscribed topics', async () => {
    const { path, log } = await serve('notify');
    const c = await Raw.open(path);
    c.send(req(1, 'subscribe', { topics: ['log'], logLevel: 'warn' }));
    await c.until((l) => l.length >= 1);
    log.append({ level: 'info', component: 't', event: 'quiet', message: 'below the level' });
    log.append({ level: 'error', component: 't', event: 'loud', message: 'at the level' });
    c.send(req(2, 'version'));
    await c.until((l) => l.length >= 3);
    const notes = c.messages().filter((m) => m['method'] === 'strait.log');
    assert.deepEqual(notes.map((n) => (n['params'] as { event: string }).event), ['loud']);
    assert.ok(!c.messages().some((m) => m['method'] === 'strait.state'));
    c.close();
  });

  it('close() does not wait for a client that keeps its half of the connection open', async () => {
    const log = new LogStore();
    const supervisor = new Supervisor({ platform: new RecordingPlatform(), log });
    const server = new RpcServer({ handlers: createHandlers({ supervisor, log, version: VERSION }), log: (r) => log.append(r) });
    const path = join(dir, 'halfopen.sock');
    await server.listen(path);
    const stubborn = await new Promise<Socket>((resolve) => {
      const s = createConnection({ path, allowHalfOpen: true }, () => resolve(s));
    });
    stubborn.on('error', () => undefined);
    await new Promise((r) => setTimeout(r, 50));
    const t0 = Date.now();
    await server.close();
    assert.ok(Date.now() - t0 < 3000, `close took ${Date.now() - t0} ms`);
    stubborn.destroy();
  });

  it('survives 4000 random and mutated lines on one connection and stays in the contract', async () => {
    const { path } = await serve('fuzz', { ratePerSecond: 1_000_000, burst: 1_000_000, maxInFlight: 100_000 });
    const rnd = seededRandom('rpc-fuzz');
    const byte = (): number => rnd(1)[0] as number;
    const pick = <T>(xs: readonly T[]): T => xs[byte() % xs.length] as T;
    const good = testProfile(500);
    const methods = ['version', 'status', 'connect', 'disconnect', 'subscribe', 'unsubscribe', 'logs', 'constructor', '__proto__', 'toString', ''];
    const values = (depth: number): unknown => {
      switch (byte() % (depth > 2 ? 5 : 8)) {
        case 0: return null;
        case 1: return byte() - 128;
        case 2: return Buffer.from(rnd(byte() % 12)).toString('latin1');
        case 3: return byte() % 2 === 0;
        case 4: return 'FUZZ-SECRET';
        case 5: return Array.from({ length: byte() % 4 }, () => values(depth + 1));
        case 6: return Object.fromEntries(Array.from({ length: byte() % 4 }, () => [pick(['profile', 'secrets', 'topics', 'psk', 'id', 'limit', '__proto__', 'level', 'x']), values(depth + 1)]));
        default: return { profile: { ...good, [pick(['gateway', 'auth', 'id', 'version', 'tunnel'])]: values(depth + 1) }, secrets: { psk: 'FUZZ-SECRET', [pick(['psk', 'x', 'privateKeyPem'])]: values(depth + 1) } };
      }
    };
    const lines: string[] = [];
    for (let i = 0; i < 4000; i++) {
      const kind = byte() % 4;
      if (kind === 0) lines.push(Buffer.from(rnd(byte() % 200)).toString('latin1').replace(/\n/gu, ' '));
      else if (kind === 1) lines.push(JSON.stringify(values(0)));
      else if (kind === 2) lines.push(JSON.stringify({ jsonrpc: pick(['2.0', '1.0', 2, null]), id: pick([i, `s${i}`, null, 1.5, {}, [], true]), method: pick(methods), params: values(0) }));
      else {
        const t = JSON.stringify({ jsonrpc: '2.0', id: i, method: pick(methods), params: values(0) });
        const cut = byte() % (t.length + 1);
        lines.push(t.slice(0, cut) + Buffer.from(rnd(byte() % 4)).toString('latin1').replace(/\n/gu, '') + t.slice(cut));
      }
    }
    const c = await Raw.open(path);
    const payload = Buffer.from(`${lines.join('\n')}\n${req('final', 'version')}`, 'latin1');
    for (let off = 0; off < payload.length; ) {
      const n = 1 + (byte() * 37) % 4096;
      c.socket.write(payload.subarray(off, off + n));
      off += n;
    }
    await c.until((l) => l.some((x) => x.includes('"final"')), 30_000);
    assert.equal(c.closed, false, 'the connection survived');
    for (const l of c.lines) {
      const m = JSON.parse(l) as unknown;
      assert.ok(v.is(ServerMessageSchema, m), `outside the contract: ${l.slice(0, 200)}`);
      // (the id is echoed by design, JSON-RPC §5; the error object must not carry input values)
      const error = (m as { error?: unknown }).error;
      assert.ok(error === undefined || !JSON.stringify(error).includes('FUZZ-SECRET'), `an error echoes a secret value: ${l.slice(0, 300)}`);
    }
    const codes = new Set(c.messages().map(errCode).filter((x) => x !== undefined));
    for (const expected of [RpcErrorCode.PARSE_ERROR, RpcErrorCode.INVALID_REQUEST, RpcErrorCode.METHOD_NOT_FOUND, RpcErrorCode.INVALID_PARAMS]) assert.ok(codes.has(expected), `fuzz reached ${expected}`);
    assert.ok(!codes.has(RpcErrorCode.INTERNAL_ERROR), 'no handler crashed');
    c.close();
  });
});
