// Roaming (issue 4): straitd is connected from cl0 (192.0.2.2) to the lab's
// real strongSwan gateway while a ping flood runs through the tunnel; then the
// client's outer path moves: the default route goes via cl1 and the home
// router (`net.sh nat up`, MASQUERADE to 203.0.113.2) and cl0 loses its
// address. straitd notices by itself (daemon/roaming.ts) and
//   - with MOBIKE (RFC 4555, rw-psk): rebinds, sends UPDATE_SA_ADDRESSES from
//     192.168.50.2 on port 4500, moves the kernel SAs (same SPIs, ESP now in
//     UDP through the NAT) and routes; the gateway's `swanctl --list-sas`
//     shows the NAT's address as our new remote address; the same IKE SA, no
//     reconnect;
//   - with a gateway connection that has `mobike = no` (rw-nomobike): falls
//     back to a new IKE SA from the new address.
// Both report the ping flood's lost packets and the time from the move to
// the first echo reply through the tunnel again.

import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';

import type { StraitClient } from '../../../native-helper/src/api/client.js';
import type { ConnectedState, ConnectionState } from '../../../native-helper/src/api/rpc.js';
import type { ProfileInput } from '../../../native-helper/src/api/profile.js';
import { inNetns, labState, ping, run, swanctlGw, waitFor } from '../support/guest.js';
import { labProfile } from '../support/lab-profiles.js';
import type { Straitd } from '../support/straitd.js';
import { startStraitd, stateRecorder } from '../support/straitd.js';
import { CLIENT, IDENTITIES, LAN, NAT } from '../support/topology.js';

const FLOOD_INTERVAL_S = 0.05;
const FLOOD_COUNT = 400; // 20 s of echo requests, one every 50 ms
const MOVE_AFTER_MS = 4000;

function connected(s: ConnectionState): ConnectedState {
  if (s.state !== 'connected') assert.fail(`state is ${s.state}${s.state === 'error' ? `: ${s.code} ${s.message}` : ''}`);
  return s;
}

interface FloodResult {
  readonly transmitted: number;
  readonly received: number;
  readonly lost: number;
  /** from the move to the first echo reply after the outage it caused (replies in flight at the move do not count) */
  readonly recoveryMs: number | undefined;
  /** the silence around the move: from the last reply before it to the first reply after the outage */
  readonly outageMs: number | undefined;
  /** the longest silence between two replies in the whole flood */
  readonly longestGapMs: number;
  readonly repliesAfterMove: number;
}

/** `ping -D` output: "[1700000000.123456] 64 bytes from …: icmp_seq=12 …" lines and the summary. */
function floodResult(output: string, movedAt: number): FloodResult {
  const m = /(\d+) packets transmitted, (\d+) (?:packets )?received/.exec(output);
  const transmitted = Number(m?.[1] ?? 0);
  const received = Number(m?.[2] ?? 0);
  const replies = [...output.matchAll(/^\[(\d+\.\d+)\] \d+ bytes from/gm)].map((x) => Math.round(Number(x[1]) * 1000));
  const after = replies.filter((t) => t >= movedAt);
  let longestGapMs = 0;
  // The outage: the longest silence that ends after the move (at most a few replies were in flight when it began).
  let outage: { start: number; end: number } | undefined;
  for (let i = 1; i < replies.length; i++) {
    const [prev, cur] = [replies[i - 1] ?? 0, replies[i] ?? 0];
    longestGapMs = Math.max(longestGapMs, cur - prev);
    if (cur > movedAt && prev < movedAt + 2000 && cur - prev > 4 * FLOOD_INTERVAL_S * 1000 && (outage === undefined || cur - prev > outage.end - outage.start)) outage = { start: prev, end: cur };
  }
  return {
    transmitted,
    received,
    lost: transmitted - received,
    recoveryMs: outage !== undefined ? outage.end - movedAt : after[0] !== undefined ? after[0] - movedAt : undefined,
    outageMs: outage !== undefined ? outage.end - outage.start : undefined,
    longestGapMs,
    repliesAfterMove: after.length,
  };
}

describe('roaming: the client moves from cl0 to cl1 behind a NAT while connected', () => {
  let d: Straitd;
  let client: StraitClient;
  const states: { at: number; state: ConnectionState }[] = [];
  const results: Record<string, unknown> = {};
  const netSh = (): string => join(labState().repoDir, 'test', 'lab', 'guest', 'net.sh');

  /** The client's path to the gateway goes via cl1 and the NAT router; cl0 loses its IPv4 address. */
  async function moveToNat(): Promise<number> {
    await run(['ip', 'route', 'replace', 'default', 'via', NAT.inside4, 'dev', NAT.clientIface], { check: true });
    const at = Date.now();
    await run(['ip', 'address', 'del', `${CLIENT.ipv4}/${CLIENT.prefix4}`, 'dev', CLIENT.iface], { check: true });
    return at;
  }

  /** cl0 as the lab built it. */
  async function restoreCl0(): Promise<void> {
    await run(['ip', 'address', 'replace', `${CLIENT.ipv4}/${CLIENT.prefix4}`, 'dev', CLIENT.iface]);
    await run(['ip', 'route', 'replace', 'default', 'via', CLIENT.defaultVia4, 'dev', CLIENT.iface]);
  }

  before(async () => {
    const nat = await run(['sh', netSh(), 'nat', 'up'], { timeoutMs: 30_000 });
    assert.equal(nat.code, 0, `net.sh nat up: ${nat.stderr}${nat.stdout}`);
    d = await startStraitd({ name: 'straitd-roaming', retransmit: '1000,1.5,4' });
    client = await stateRecorder(d, states);
  });

  after(async () => {
    await client?.request('disconnect', {}, { timeoutMs: 30_000 }).catch(() => undefined);
    client?.close();
    await d?.stop();
    await restoreCl0();
    await run(['sh', netSh(), 'nat', 'down']);
    await swanctlGw(['--terminate', '--ike', 'rw-psk', '--force']).catch(() => undefined);
    await swanctlGw(['--terminate', '--ike', 'rw-nomobike', '--force']).catch(() => undefined);
    writeFileSync(join(labState().logDir, 'roaming-results.json'), JSON.stringify(results, null, 2));
  });

  /** Connects, floods, moves; returns what the flood saw and when the move happened. */
  async function connectFloodMove(profile: ProfileInput, secrets: ReturnType<typeof labProfile>['secrets']): Promise<{ first: ConnectedState; movedAt: number; flood: Promise<string> }> {
    const { state } = await client.request('connect', { profile, secrets }, { timeoutMs: 60_000 });
    const first = connected(state);
    assert.equal(first.localAddress, CLIENT.ipv4, 'connected from cl0');
    const p = await ping('client', LAN.ipv4, { count: 2 });
    assert.equal(p.received, 2, p.output);
    const flood = inNetns('client', `ping -4 -n -D -i ${FLOOD_INTERVAL_S} -c ${FLOOD_COUNT} -W 1 ${LAN.ipv4}`, { timeoutMs: 60_000 }).then((r) => r.stdout + r.stderr);
    await new Promise((r) => setTimeout(r, MOVE_AFTER_MS));
    const movedAt = await moveToNat();
    return { first, movedAt, flood };
  }

  async function logRecords(): Promise<{ event: string; fields: Record<string, unknown>; message: string; ts?: string }[]> {
    const { records } = await client.request('logs', { limit: 5000 });
    return records as unknown as { event: string; fields: Record<string, unknown>; message: string; ts?: string }[];
  }

  /** When straitd logged these events, in ms after the move (the guest has one clock). */
  async function timeline(movedAt: number, events: readonly string[]): Promise<Record<string, number>> {
    const out: Record<string, number> = {};
    for (const r of await logRecords()) {
      const t = r.ts !== undefined ? Date.parse(r.ts) : Number.NaN;
      if (events.includes(r.event) && Number.isFinite(t) && t >= movedAt - 1000 && out[r.event] === undefined) out[r.event] = t - movedAt;
    }
    return out;
  }

  it('MOBIKE: the same IKE SA moves to 192.168.50.2 behind the NAT; the gateway sees the new address; the flood goes on', async () => {
    const p = labProfile({ auth: 'psk', tunnel: 'split', name: 'roaming mobike' });
    const profile: ProfileInput = { ...p.profile, mobike: true, dpd: { intervalSeconds: 10 } };
    const { first, movedAt, flood } = await connectFloodMove(profile, p.secrets);
    try {
      const updated = await waitFor(async () => (await logRecords()).find((r) => r.event === 'roaming.updated'), 30_000, { what: 'roaming.updated in the log' });
      const updatedAt = Date.now();
      const sas = await swanctlGw(['--list-sas', '--ike', 'rw-psk']);
      // charon prints "remote 'psk-client@lab.example' @ 203.0.113.2[port]" for the peer's current address
      assert.match(sas.stdout, new RegExp(`remote '${IDENTITIES.pskClient}' @ ${NAT.outside4.replaceAll('.', '\\.')}\\[`), `the gateway's IKE SA points at the NAT:\n${sas.stdout}`);
      const out = await flood;
      const f = floodResult(out, movedAt);
      const now = await client.request('status', {});
      const c = connected(now.state);
      assert.equal(c.sessionId, first.sessionId, 'the same connection');
      assert.equal(c.localAddress, NAT.client4, 'straitd reports the new local address');
      assert.equal(c.encapsulation, true, 'behind the NAT: ESP in UDP');
      const records = await logRecords();
      assert.equal(records.some((r) => r.event === 'connection.lost'), false, 'no reconnect: MOBIKE moved the SAs');
      const gwStates = await run(['ip', '-n', 'gw', 'xfrm', 'state']);
      const after = await ping('client', LAN.ipv4, { count: 3 });
      const times = await timeline(movedAt, ['roaming.detected', 'mobike.update_sent', 'mobike.updated', 'platform.child_sa.moved', 'platform.config.applied', 'roaming.updated']);
      results['mobike'] = { ...f, straitdMsAfterMove: times, updated: updated.fields, seenUpdatedMs: updatedAt - movedAt };
      console.log(
        `[roaming] MOBIKE: moved ${CLIENT.ipv4} → ${NAT.client4} (NAT ${NAT.outside4}); flood ${f.transmitted} sent / ${f.received} received / ${f.lost} lost (${FLOOD_INTERVAL_S * 1000} ms apart); ` +
          `echo replies again ${f.recoveryMs ?? 'never'} ms after the move (outage ${f.outageMs ?? '?'} ms); straitd ms after the move: ${JSON.stringify(times)}; ${updated.message}`,
      );
      assert.ok(f.repliesAfterMove > 0, `no echo reply after the move:\n${out.slice(-2000)}\ngateway SAs:\n${gwStates.stdout}`);
      assert.equal(after.received, 3, after.output);
    } finally {
      await client.request('disconnect', {}, { timeoutMs: 30_000 }).catch(() => undefined);
      await restoreCl0();
    }
  });

  it('gateway without MOBIKE (rw-nomobike): a new IKE SA from the new address, Connected again, the flood goes on', async () => {
    const p = labProfile({ auth: 'psk', tunnel: 'split', name: 'roaming fallback' });
    const profile: ProfileInput = { ...p.profile, mobike: true, auth: { method: 'psk', localId: IDENTITIES.roamClient }, dpd: { intervalSeconds: 10 } };
    const startedAt = Date.now();
    const { first, movedAt, flood } = await connectFloodMove(profile, p.secrets);
    try {
      const back = await waitFor(
        () => states.find((s) => s.at >= movedAt && s.state.state === 'connected' && s.state.localAddress === NAT.client4),
        60_000,
        { what: 'Connected again from the new address' },
      );
      const reconnecting = states.find((s) => s.at >= startedAt && s.state.state === 'connecting' && s.state.reconnect !== undefined);
      assert.ok(reconnecting !== undefined, 'a Connecting state with a reconnect block');
      const c = connected(back.state);
      assert.equal(c.sessionId, first.sessionId, 'the same connection, re-established');
      const sas = await swanctlGw(['--list-sas', '--ike', 'rw-nomobike']);
      assert.match(sas.stdout, new RegExp(`remote '${IDENTITIES.roamClient}' @ ${NAT.outside4.replaceAll('.', '\\.')}\\[`), `the gateway's new IKE SA comes from the NAT:\n${sas.stdout}`);
      const out = await flood;
      const f = floodResult(out, movedAt);
      const records = await logRecords();
      const detected = records.find((r) => r.event === 'roaming.detected' && r.fields['mobike'] === false);
      const lost = records.find((r) => r.event === 'connection.lost');
      const restored = records.filter((r) => r.event === 'connection.restored').at(-1);
      assert.ok(detected !== undefined, 'roaming.detected (without MOBIKE) logged');
      assert.equal(lost?.fields['code'], 'NETWORK_CHANGED', JSON.stringify(lost?.fields));
      const after = await ping('client', LAN.ipv4, { count: 3 });
      const times = await timeline(movedAt, ['roaming.detected', 'connection.lost', 'reconnect.scheduled', 'connected']);
      results['fallback'] = { ...f, movedToConnectedMs: back.at - movedAt, restored: restored?.fields ?? null, straitdMsAfterMove: times };
      console.log(
        `[roaming] fallback (gateway without MOBIKE): Connected again ${back.at - movedAt} ms after the move (reconnect_ms ${String(restored?.fields['reconnect_ms'])}); ` +
          `flood ${f.transmitted} sent / ${f.received} received / ${f.lost} lost; echo replies again ${f.recoveryMs ?? 'never'} ms after the move (outage ${f.outageMs ?? '?'} ms); straitd ms after the move: ${JSON.stringify(times)}`,
      );
      assert.equal(after.received, 3, after.output);
      assert.ok(f.repliesAfterMove > 0, `no echo reply after the move:\n${out.slice(-2000)}`);
    } finally {
      await client.request('disconnect', {}, { timeoutMs: 30_000 }).catch(() => undefined);
      await restoreCl0();
    }
  });
});
