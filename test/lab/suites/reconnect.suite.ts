// Staying connected (issue 4, daemon side): straitd is connected to the lab's
// real strongSwan gateway when the gateway's charon dies (kill -9: no DELETE,
// a vanished gateway) and comes back with no memory of us. straitd must
// notice by itself (DPD, RFC 7296 §2.4), report Connecting with a `reconnect`
// block, keep the leak guard on while the tunnel is down, reconnect with a
// fresh IKE SA, carry traffic again, and log the outage and its length.
// Before it says Connected again it proves the data path with a probe through
// the tunnel (daemon/data-path-probe.ts); with ESP dropped on the client's
// link that probe fails and the attempt is not reported Connected.

import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';

import type { StraitClient } from '../../../native-helper/src/api/client.js';
import type { ConnectedState, ConnectionState, LogRecord } from '../../../native-helper/src/api/rpc.js';
import { inNetns, labState, ping, run, setClearForwarding, swanctlGw, waitFor } from '../support/guest.js';
import { labProfile } from '../support/lab-profiles.js';
import type { Straitd } from '../support/straitd.js';
import { startStraitd } from '../support/straitd.js';
import { LAN } from '../support/topology.js';

const DPD_S = 2;
const atOf = (r: LogRecord): number => Date.parse(r.ts);

function connected(s: ConnectionState): ConnectedState {
  if (s.state !== 'connected') assert.fail(`state is ${s.state}${s.state === 'error' ? `: ${s.code} ${s.message}` : ''}`);
  return s;
}

/** The leak guard's filter is in place (iptables-legacy chains, or the nft table; LEAK-GUARD.md). */
async function guardPresent(): Promise<boolean> {
  const ipt = await run(['iptables-legacy', '-S', 'STRAIT-GUARD-OUT']).catch(() => ({ code: 1 }));
  if (ipt.code === 0) return true;
  const nft = await run(['nft', 'list', 'table', 'inet', 'strait_guard']).catch(() => ({ code: 1 }));
  return nft.code === 0;
}

describe('reconnect: straitd + strongSwan gateway whose charon is killed and restarted', () => {
  let d: Straitd;
  let client: StraitClient;
  const states: { at: number; state: ConnectionState }[] = [];

  before(async () => {
    // 2 s, ×1.8, 3 tries: a dead gateway is declared after ~2 + 3.6 + 6.5 s of unanswered probes instead of ~75 s
    d = await startStraitd({ name: 'straitd-reconnect', retransmit: '2000,1.8,3' });
    client = await d.client();
    client.on('notification', (n) => {
      if (n.method === 'strait.state') states.push({ at: Date.now(), state: n.params.state });
    });
    await client.request('subscribe', { topics: ['state'] });
  });

  after(async () => {
    client?.close();
    await d?.stop();
  });

  it('charon killed and restarted: DEAD_PEER → Reconnecting (leak guard on) → Connected, ping works again, outage logged', async () => {
    const p = labProfile({ auth: 'psk', tunnel: 'split' });
    const profile = { ...p.profile, dpd: { intervalSeconds: DPD_S }, leakGuard: true };
    const { state } = await client.request('connect', { profile, secrets: p.secrets }, { timeoutMs: 60_000 });
    const first = connected(state);
    assert.equal(await guardPresent(), true, 'the leak guard is not on after the connect');
    const p1 = await ping('client', LAN.ipv4, { count: 2 });
    assert.equal(p1.received, 2, p1.output);

    // The gateway vanishes and restarts without our IKE SA (its kernel SAs flushed, as after a reboot).
    const gatewaySh = join(labState().repoDir, 'test', 'lab', 'guest', 'gateway.sh');
    const pid = (await readFile(join(labState().runDir, 'gw', 'charon.pid'), 'utf8')).trim();
    const killedAt = Date.now();
    await run(['kill', '-9', pid], { check: true });
    await run(['ip', '-n', 'gw', 'xfrm', 'state', 'flush'], { check: true });
    await run(['ip', '-n', 'gw', 'xfrm', 'policy', 'flush'], { check: true });
    await setClearForwarding(false); // the flush took the lab's "no clear client -> LAN" block policy too
    await run(['sh', gatewaySh, 'start'], { check: true });
    const restartedAt = Date.now();

    // straitd notices on its own (DPD) and reports Connecting with a reconnect block.
    const reconnecting = await waitFor(
      () => states.find((s) => s.at >= killedAt && s.state.state === 'connecting' && s.state.reconnect !== undefined),
      90_000,
      { what: 'a Connecting state with a reconnect block' },
    );
    const rs = reconnecting.state;
    assert.ok(rs.state === 'connecting' && rs.reconnect !== undefined);
    assert.equal(rs.sessionId, first.sessionId, 'the same connection');
    // While the tunnel is down the guard stays: nothing leaks in the clear.
    const guardDuringOutage = await guardPresent();

    const back = await waitFor(
      () => states.find((s) => s.at >= reconnecting.at && s.state.state === 'connected'),
      60_000,
      { what: 'Connected again' },
    );
    const c = connected(back.state);
    assert.ok(c.since > first.since);
    const p2 = await ping('client', LAN.ipv4, { count: 3 });
    assert.equal(p2.received, 3, p2.output);
    const p6 = await ping('client', LAN.ipv6, { count: 3 });
    assert.equal(p6.received, 3, p6.output);

    const { records } = await client.request('logs', { limit: 5000 });
    const lost = records.find((r) => r.event === 'connection.lost');
    const restored = records.find((r) => r.event === 'connection.restored');
    // the data path was proven before Connected: a probe through the tunnel, with its targets and time
    assert.deepEqual(c.stages.map((s) => s.stage).slice(-2), ['configure', 'probe'], JSON.stringify(c.stages));
    const probe = records.find((r) => r.event === 'probe.ok' && atOf(r) >= killedAt);
    assert.ok(probe !== undefined, `no probe.ok in the log: ${records.filter((r) => r.event.startsWith('probe')).map((r) => r.message).join(' | ')}`);
    assert.deepEqual(probe.fields['targets'], ['10.10.0.53', 'fd00:10::53', '10.10.0.1'], probe.message);
    assert.ok(typeof probe.fields['ms'] === 'number' && probe.fields['ms'] < 3000, probe.message);
    console.log(`[reconnect] ${probe.message}; probe stage ${String(c.stages.find((s) => s.stage === 'probe')?.ms)} ms`);
    assert.ok(lost !== undefined && restored !== undefined, 'connection.lost / connection.restored not logged');
    assert.equal(lost.fields['code'], 'DEAD_PEER', JSON.stringify(lost.fields));
    const outageMs = restored.fields['outage_ms'];
    const attempts = restored.fields['attempts'];
    // the outage counts from the gateway's last sign of life: at least the time from the kill to Connected, less DPD's interval
    assert.ok(typeof outageMs === 'number' && outageMs >= back.at - killedAt - DPD_S * 1000 - 1000 && outageMs <= back.at - first.since + 1000, JSON.stringify(restored.fields));
    console.log(
      `[reconnect] charon killed → DEAD_PEER detected after ${reconnecting.at - killedAt} ms (silent ${String(lost.fields['silentMs'])} ms, DPD ${DPD_S} s); ` +
        `reconnected after ${back.at - reconnecting.at} ms (outage_ms ${String(outageMs)}, reconnect_ms ${String(restored.fields['reconnect_ms'])}, attempts ${String(attempts)}); kill → Connected again ${back.at - killedAt} ms; ` +
        `gateway restart took ${restartedAt - killedAt} ms; leak guard during outage: ${guardDuringOutage ? 'on' : 'OFF'}`,
    );
    assert.equal(guardDuringOutage, true, 'the leak guard was removed while reconnecting');

    const r = await client.request('disconnect', {}, { timeoutMs: 30_000 });
    assert.equal(r.wasActive && r.clean, true, JSON.stringify(r));
    assert.equal(await guardPresent(), false, 'the leak guard stayed after the user disconnected');
  });

  it('ESP dropped on the client link after the gateway drops us: IKE reconnects but the probe gets no answer → not Connected, the attempt fails and the next one runs; ESP back → Connected', async () => {
    const p = labProfile({ auth: 'psk', tunnel: 'split' });
    const { state } = await client.request('connect', { profile: { ...p.profile, leakGuard: false }, secrets: p.secrets }, { timeoutMs: 60_000 });
    const first = connected(state);
    // Inbound ESP (IP protocol 50; no NAT here, so no UDP encapsulation) is dropped before the
    // kernel decrypts it (netfilter LOCAL_IN runs before the ESP handler): IKE on UDP still works.
    const drop = ['-p', '50', '-s', '192.0.2.1', '-j', 'DROP'].join(' ');
    await inNetns('client', `iptables-legacy -I INPUT ${drop}`, { check: true });
    let dropped = true;
    try {
      const from = states.length;
      const t0 = Date.now();
      const term = await swanctlGw(['--terminate', '--ike', 'rw-psk', '--timeout', '5']);
      assert.equal(term.code, 0, term.stdout + term.stderr);
      const logs = async (): Promise<readonly LogRecord[]> => (await client.request('logs', { limit: 5000 })).records;
      const failed = await waitFor(async () => (await logs()).find((r) => r.event === 'probe.failed' && atOf(r) >= t0), 30_000, { what: 'probe.failed in the log' });
      assert.deepEqual(failed.fields['targets'], ['10.10.0.53', 'fd00:10::53', '10.10.0.1'], failed.message);
      assert.equal(failed.fields['tries'], 3, failed.message);
      assert.ok(typeof failed.fields['ms'] === 'number' && failed.fields['ms'] >= 2900 && failed.fields['ms'] < 5000, failed.message);
      // the failed attempt escalates: the next reconnect attempt is scheduled, and nothing said Connected
      const next = await waitFor(async () => (await logs()).find((r) => r.event === 'reconnect.scheduled' && r.seq > failed.seq), 15_000, { what: 'the next reconnect attempt' });
      assert.equal(next.fields['attempt'], 2, next.message);
      assert.equal(states.slice(from).filter((s) => s.state.state === 'connected').length, 0, 'reported Connected while ESP did not get through');
      const st = (await client.request('status', {})).state;
      assert.ok(st.state === 'connecting' && st.reconnect !== undefined, JSON.stringify(st));
      console.log(`[reconnect] ESP dropped: ${failed.message}; then: ${next.message} (gateway terminate → probe.failed ${atOf(failed) - t0} ms)`);

      await inNetns('client', `iptables-legacy -D INPUT ${drop}`, { check: true });
      dropped = false;
      const back = await waitFor(() => states.slice(from).find((s) => s.state.state === 'connected'), 30_000, { what: 'Connected once ESP gets through again' });
      const c = connected(back.state);
      assert.equal(c.sessionId, first.sessionId);
      const p2 = await ping('client', LAN.ipv4, { count: 2 });
      assert.equal(p2.received, 2, p2.output);
      const restored = (await logs()).filter((r) => r.event === 'connection.restored').at(-1);
      assert.ok(restored !== undefined && typeof restored.fields['attempts'] === 'number' && restored.fields['attempts'] >= 2, JSON.stringify(restored?.fields));
      console.log(`[reconnect] ESP back: Connected after ${String(restored.fields['attempts'])} attempts, outage ${String(restored.fields['outage_ms'])} ms`);
    } finally {
      if (dropped) await inNetns('client', `iptables-legacy -D INPUT ${drop}`).catch(() => undefined);
      await client.request('disconnect', {}, { timeoutMs: 30_000 }).catch(() => undefined);
    }
  });
});
