/**
 * The client library against a REAL straitd process on a temporary socket
 * (its platform backend works in a private network namespace). The gateway
 * is the in-process TestResponder on loopback UDP, so IKE really runs
 * between the two processes; the host kernel has no ESP, so installing the
 * CHILD_SA fails — which is the real, reported outcome we check here (the
 * successful install is the lab's job).
 */
import assert from 'node:assert/strict';
import { chownSync, statSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';

import { ClientError, RpcError, StraitClient } from '../../../native-helper/src/api/client.js';
import { RpcErrorCode, type StraitNotification } from '../../../native-helper/src/api/rpc.js';
import { TEST_PSK, freePorts, testProfile, udpGateway, type UdpGateway } from '../daemon/helpers.js';
import { canRunDaemon, startDaemon, type Daemon } from '../daemon/spawn.js';

const skip = canRunDaemon();
let daemon: Daemon;
let gw: UdpGateway;

describe('StraitClient against a real straitd process', { skip }, () => {
  before(async () => {
    const [ike, natt] = await freePorts(2);
    daemon = await startDaemon(['--ike-port', String(ike), '--natt-port', String(natt), '--connect-timeout-ms', '5000']);
    gw = await udpGateway();
  });
  after(async () => {
    await gw.close();
    await daemon.cleanup();
  });

  it('opens the 0660 socket and gets typed version and status', async () => {
    assert.equal(statSync(daemon.socket).mode & 0o777, 0o660);
    const c = await StraitClient.open({ socketPath: daemon.socket });
    const v = await c.request('version');
    assert.equal(v.name, 'straitd');
    assert.equal(v.protocol, 1);
    assert.equal(v.backend, 'linux-xfrm');
    assert.equal(v.pid, daemon.child.pid);
    const s = await c.request('status');
    assert.deepEqual(s.state, { state: 'disconnected' });
    c.close();
  });

  it('refuses a socket owned by another unprivileged user before sending anything', async () => {
    const st = statSync(daemon.socket);
    chownSync(daemon.socket, 4242, st.gid);
    try {
      await assert.rejects(StraitClient.open({ socketPath: daemon.socket }), (e: unknown) => e instanceof ClientError && e.kind === 'untrusted_socket');
    } finally {
      chownSync(daemon.socket, st.uid, st.gid);
    }
    await assert.rejects(StraitClient.open({ socketPath: `${daemon.socket}.missing` }), (e: unknown) => e instanceof ClientError && e.kind === 'unreachable');
  });

  it('turns a helper error into RpcError with the contract code and issues', async () => {
    const c = await StraitClient.open({ socketPath: daemon.socket });
    await assert.rejects(c.request('logs', { limit: 0 }), (e: unknown) => e instanceof RpcError && e.code === RpcErrorCode.INVALID_PARAMS && e.data?.issues?.[0]?.path === '/limit');
    c.close();
  });

  it('connects over real UDP: stage and state notifications, then the real platform failure (no ESP in the host kernel), teardown and DELETE', async (t) => {
    const c = await StraitClient.open({ socketPath: daemon.socket });
    const notes: StraitNotification[] = [];
    c.on('notification', (n) => notes.push(n));
    const sub = await c.request('subscribe', { topics: ['state', 'stage', 'log'], logLevel: 'info' });
    assert.deepEqual(sub.state, { state: 'disconnected' });
    // A split tunnel to a test network: even if a kernel accepted the SA, routes stay contained (and in the private netns).
    const profile = testProfile(gw.port, { tunnel: { mode: 'split', include: ['10.10.0.0/24'], ipv6: false } });
    let err: unknown;
    try {
      await c.request('connect', { profile, secrets: { psk: TEST_PSK } }, { timeoutMs: 20_000 });
    } catch (e) {
      err = e;
    }
    assert.ok(err instanceof RpcError, `expected RpcError, got ${String(err)}`);
    assert.equal(err.code, RpcErrorCode.CONNECT_FAILED);
    t.diagnostic(`straitd answered: ${err.message}`);
    assert.equal(err.data?.failure, 'PLATFORM_ERROR', err.message);
    const final = err.data?.state;
    assert.ok(final?.state === 'error' && final.stage === 'install', JSON.stringify(final));
    assert.deepEqual(final.stages.map((s) => s.stage), ['resolve', 'ike_sa_init', 'ike_auth', 'install']);
    assert.equal(gw.responder.authenticated, true, 'IKE_AUTH completed between the processes');
    assert.equal(gw.responder.deleted, true, 'straitd deleted the IKE SA after the platform failure');

    const stages = notes.filter((n) => n.method === 'strait.stage').map((n) => (n.method === 'strait.stage' ? n.params.stage : ''));
    assert.deepEqual(stages, ['resolve', 'ike_sa_init', 'ike_auth', 'install']);
    const states = notes.flatMap((n) => (n.method === 'strait.state' ? [n.params.state.state] : []));
    assert.equal(states[0], 'connecting');
    assert.equal(states.at(-1), 'error');
    const events = notes.flatMap((n) => (n.method === 'strait.log' ? [n.params.event] : []));
    assert.ok(events.includes('platform.teardown'), events.join(','));
    assert.ok(events.includes('connection.failed'));

    const logs = await c.request('logs', { session: final.sessionId, limit: 10_000, level: 'debug' });
    assert.ok(logs.records.length > 5);
    assert.ok(!JSON.stringify(logs.records).includes(TEST_PSK), 'the PSK is not in the log');
    const status = await c.request('status');
    assert.equal(status.state.state, 'error');
    const d = await c.request('disconnect', {});
    assert.equal(d.wasActive, false);
    assert.deepEqual(d.state, { state: 'disconnected' });
    c.close();
  });

  it('notifications() as an async iterator: the states of a connect that fails before sending (SECRET_MISSING)', async () => {
    const c = await StraitClient.open({ socketPath: daemon.socket });
    await c.request('subscribe', { topics: ['state'] });
    const seen: string[] = [];
    const iterate = (async () => {
      for await (const n of c.notifications()) {
        if (n.method !== 'strait.state') continue;
        seen.push(n.params.state.state);
        if (n.params.state.state === 'error') return n.params.state;
      }
      return undefined;
    })();
    await assert.rejects(c.request('connect', { profile: testProfile(gw.port), secrets: {} }), (e: unknown) => e instanceof RpcError && e.data?.failure === 'SECRET_MISSING');
    const final = await iterate;
    assert.ok(final?.state === 'error' && final.code === 'SECRET_MISSING');
    assert.deepEqual(seen, ['connecting', 'error']);
    await c.request('disconnect', {});
    c.close();
  });

  it('times out a request the helper does not answer in time (ClientError timeout), and cancel works', async () => {
    const c = await StraitClient.open({ socketPath: daemon.socket });
    gw.mute = true;
    try {
      await assert.rejects(c.request('connect', { profile: testProfile(gw.port), secrets: { psk: TEST_PSK } }, { timeoutMs: 300 }), (e: unknown) => e instanceof ClientError && e.kind === 'timeout');
      const s = await c.request('status');
      assert.equal(s.state.state, 'connecting');
      await assert.rejects(c.request('connect', { profile: testProfile(gw.port), secrets: { psk: TEST_PSK } }), (e: unknown) => e instanceof RpcError && e.code === RpcErrorCode.BUSY);
      const d = await c.request('disconnect', {});
      assert.equal(d.wasActive, true);
      assert.deepEqual(d.state, { state: 'disconnected' });
    } finally {
      gw.mute = false;
      c.close();
    }
  });

  it('SIGTERM: exits 0 and removes the socket; a reconnecting client re-subscribes to the next straitd', async () => {
    const c = await StraitClient.open({ socketPath: daemon.socket, reconnect: { initialDelayMs: 100, maxDelayMs: 500 } });
    await c.request('subscribe', { topics: ['state'] });
    const disconnected = new Promise<void>((r) => c.once('disconnected', () => r()));
    const code = await daemon.stop();
    assert.equal(code, 0);
    await disconnected;
    assert.throws(() => statSync(daemon.socket));
    const [ike, natt] = await freePorts(2);
    const second = await startDaemon(['--ike-port', String(ike), '--natt-port', String(natt)], { dir: daemon.dir });
    try {
      await new Promise<void>((resolve, reject) => {
        const t = setTimeout(() => reject(new Error('no reconnect within 10 s')), 10_000);
        c.once('reconnected', () => {
          clearTimeout(t);
          resolve();
        });
      });
      const v = await c.request('version');
      assert.equal(v.pid, second.child.pid);
      c.close();
      assert.equal(await second.stop(), 0);
    } finally {
      await second.cleanup();
    }
  });
});
