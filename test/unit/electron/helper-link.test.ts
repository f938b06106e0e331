/** HelperLink: reconnect with back-off, the "why is it down" diagnosis, subscription on every (re)connect. */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';

import type { HelperStatus } from '../../../native-helper/src/api/desktop.js';
import { StraitClient } from '../../../native-helper/src/api/client.js';
import type { StraitNotification } from '../../../native-helper/src/api/rpc.js';
import { diagnoseHelperError, HelperLink, HelperUnavailableError, type HelperClient } from '../../../electron/main/helper-link.js';

class FakeClient implements HelperClient {
  readonly requests: string[] = [];
  closed = false;
  private onDisconnected: ((e: Error | undefined) => void) | undefined;
  private onNote: ((n: StraitNotification) => void) | undefined;
  request = (async (method: string) => {
    this.requests.push(method);
    if (method === 'version') return { name: 'straitd', version: '9.9', protocol: 1, platform: 'linux', backend: 'recording', pid: 1, startedAt: 0 };
    if (method === 'subscribe') return { topics: ['state', 'stage', 'log'], state: { state: 'disconnected' } };
    return {};
  }) as HelperClient['request'];
  on(event: 'notification' | 'disconnected', listener: never): unknown {
    if (event === 'disconnected') this.onDisconnected = listener;
    else this.onNote = listener;
    return this;
  }
  close(): void {
    this.closed = true;
  }
  drop(): void {
    this.onDisconnected?.(undefined);
  }
  note(n: StraitNotification): void {
    this.onNote?.(n);
  }
}

function harness(opens: (() => Promise<HelperClient>)[]) {
  const statuses: HelperStatus[] = [];
  const notes: StraitNotification[] = [];
  const timers: { fn: () => void; ms: number }[] = [];
  const link = new HelperLink({
    open: () => (opens.shift() ?? (() => Promise.reject(new Error('connect ENOENT /run/strait/straitd.sock'))))(),
    diagnose: async () => ({ status: 'down', reason: 'not-running', message: 'not running' }),
    setTimer: (fn, ms) => timers.push({ fn, ms }),
    clearTimer: () => undefined,
    now: () => 1000,
    onStatus: (s) => statuses.push(s),
    onNotification: (n) => notes.push(n),
  });
  return { link, statuses, notes, timers };
}

const settle = () => new Promise((r) => setImmediate(r));

describe('HelperLink', () => {
  it('retries with doubling back-off while straitd is missing, then subscribes and reports up', async () => {
    const client = new FakeClient();
    const fail = () => Promise.reject(new Error('connect ENOENT'));
    const h = harness([fail, fail, async () => client]);
    await assert.rejects(h.link.call('status', {}), HelperUnavailableError);
    h.link.start();
    await settle();
    assert.deepEqual(h.statuses.at(-1), { status: 'down', reason: 'not-running', message: 'not running', retryAt: 2000 });
    assert.equal(h.timers.length, 1);
    h.timers[0]?.fn();
    await settle();
    assert.deepEqual(h.timers.map((t) => t.ms), [1000, 2000]);
    h.timers[1]?.fn();
    await settle();
    assert.deepEqual(h.statuses.at(-1), { status: 'up', version: '9.9', backend: 'recording' });
    assert.deepEqual(client.requests, ['version', 'subscribe']);
    assert.deepEqual(h.notes.at(-1), { method: 'strait.state', params: { state: { state: 'disconnected' } } }, 'the subscription state is forwarded so the UI starts right');
    await h.link.call('status', {});
    assert.equal(client.requests.at(-1), 'status');
  });

  it('when straitd restarts: down at once, then a fresh client and subscription', async () => {
    const first = new FakeClient();
    const second = new FakeClient();
    const h = harness([async () => first, async () => second]);
    h.link.start();
    await settle();
    first.note({ method: 'strait.log', params: { seq: 1, ts: '2026-12-01T00:00:00.000Z', level: 'info', session: null, component: 'daemon', event: 'x', message: 'm', fields: {} } });
    assert.equal(h.notes.at(-1)?.method, 'strait.log');
    first.drop();
    assert.equal(h.statuses.at(-1)?.status, 'down');
    assert.equal(first.closed, true);
    h.timers.at(-1)?.fn();
    await settle();
    assert.equal(h.statuses.at(-1)?.status, 'up');
    assert.deepEqual(second.requests, ['version', 'subscribe']);
    h.link.stop();
    assert.equal(second.closed, true);
  });
});

describe('diagnoseHelperError (real sockets)', () => {
  it('names a missing socket, with or without an installed service, and an untrusted owner', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'strait-diag-'));
    try {
      const socketPath = join(dir, 'straitd.sock');
      const err = await StraitClient.open({ socketPath }).then(() => undefined, (e: unknown) => e);
      assert.ok(err instanceof Error);
      const missing = await diagnoseHelperError(err, socketPath, { serviceInstalled: async () => false });
      assert.equal(missing.reason, 'not-installed');
      const stopped = await diagnoseHelperError(err, socketPath, { serviceInstalled: async () => true });
      assert.equal(stopped.reason, 'not-running');
      assert.match(stopped.message, /systemctl start straitd/);
      const untrusted = await diagnoseHelperError(Object.assign(new Error('owned by uid 1000'), { kind: 'untrusted_socket' }), socketPath, { serviceInstalled: async () => true });
      assert.equal(untrusted.reason, 'untrusted-socket');
      const denied = await diagnoseHelperError(new Error('connect EACCES /run/strait/straitd.sock'), socketPath, { serviceInstalled: async () => true });
      assert.equal(denied.reason, 'permission-denied');
      assert.match(denied.message, /"strait" group/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
