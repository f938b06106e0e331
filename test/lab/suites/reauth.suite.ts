// Reauthentication, make-before-break (issue 4; RFC 4478 §3, RFC 7296
// §2.8.3): straitd is connected to the lab's real strongSwan gateway with
// connection rw-reauth (reauth_time 25 s: charon announces AUTH_LIFETIME of
// 25 s minus up to its 10 % rand_time in IKE_AUTH and, as responder with a
// virtual IP, deletes the IKE SA over_time after it unless the client signs in
// again). While a ping flood (one echo request every 10 ms) runs through the
// tunnel, straitd must build a new IKE SA (other local ports, no
// INITIAL_CONTACT, asking for its virtual IP) with its CHILD_SA, move to it,
// then DELETE the old one, and stay Connected throughout.
//
// Measured and printed: the echo requests lost (by sequence number), the
// reauthentication's timings from straitd's log, and what the gateway and the
// kernel hold afterwards (one IKE SA, one SA pair).
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';

import type { StraitClient } from '../../../native-helper/src/api/client.js';
import type { ProfileInput } from '../../../native-helper/src/api/profile.js';
import type { ConnectedState, ConnectionState } from '../../../native-helper/src/api/rpc.js';
import { inNetns, labState, swanctlGw, waitFor, xfrmState } from '../support/guest.js';
import { labProfile } from '../support/lab-profiles.js';
import type { Straitd } from '../support/straitd.js';
import { startStraitd, stateRecorder } from '../support/straitd.js';
import { IDENTITIES, LAN } from '../support/topology.js';

const FLOOD_INTERVAL_S = 0.01;
/** the flood's length: AUTH_LIFETIME ≤ 25 s, the engine asks for the new sign-in 10 % before it runs out */
const FLOOD_S = 30;

interface LogRecord {
  readonly event: string;
  readonly message: string;
  readonly fields: Record<string, unknown>;
  readonly ts?: string;
}

/** `ping -D` output → lost echo requests by sequence number (a reply still in flight at the end is not counted). */
/** The client namespace's XFRM error counters (/proc/net/xfrm_stat): where a lost packet died, e.g. XfrmInNoStates. */
async function xfrmStat(): Promise<Record<string, number>> {
  const r = await inNetns('client', 'cat /proc/net/xfrm_stat');
  return Object.fromEntries([...r.stdout.matchAll(/^(\w+)\s+(\d+)$/gm)].map((m) => [m[1] ?? '', Number(m[2])]));
}

function floodLoss(output: string): { transmitted: number; received: number; lost: number; missing: number[]; lastSeq: number } {
  const m = /(\d+) packets transmitted, (\d+) (?:packets )?received/.exec(output);
  const seqs = new Set([...output.matchAll(/icmp_seq=(\d+)/g)].map((x) => Number(x[1])));
  const lastSeq = Math.max(0, ...seqs);
  const missing: number[] = [];
  for (let i = 1; i < lastSeq; i++) if (!seqs.has(i)) missing.push(i);
  return { transmitted: Number(m?.[1] ?? 0), received: Number(m?.[2] ?? 0), lost: missing.length, missing, lastSeq };
}

describe('reauth: straitd reauthenticates make-before-break against strongSwan (rw-reauth, reauth_time 25 s)', () => {
  let d: Straitd;
  let client: StraitClient;
  const states: { at: number; state: ConnectionState }[] = [];
  const results: Record<string, unknown> = {};

  before(async () => {
    d = await startStraitd({ name: 'straitd-reauth' });
    client = await stateRecorder(d, states);
  });

  after(async () => {
    await client?.request('disconnect', {}, { timeoutMs: 30_000 }).catch(() => undefined);
    client?.close();
    await d?.stop();
    await swanctlGw(['--terminate', '--ike', 'rw-reauth', '--force']).catch(() => undefined);
    writeFileSync(join(labState().logDir, 'reauth-results.json'), `${JSON.stringify(results, null, 2)}\n`);
  });

  async function logRecords(): Promise<LogRecord[]> {
    const { records } = await client.request('logs', { limit: 5000 });
    return records as unknown as LogRecord[];
  }

  it('AUTH_LIFETIME: a new IKE SA and CHILD_SA before the old go, Connected throughout, the flood loses nothing (or nearly)', async () => {
    const p = labProfile({ auth: 'psk', tunnel: 'split', name: 'reauth make-before-break' });
    const profile: ProfileInput = { ...p.profile, auth: { method: 'psk', localId: IDENTITIES.reauthClient } };
    const gwLog = labState().gw.log;
    const gwLogFrom = readFileSync(gwLog, 'utf8').length;
    const { state } = await client.request('connect', { profile, secrets: p.secrets }, { timeoutMs: 60_000 });
    assert.equal(state.state, 'connected');
    const first = state as ConnectedState;
    const connectedAt = Date.now();
    const statBefore = await xfrmStat();
    const spisBefore = (await swanctlGw(['--list-sas', '--ike', 'rw-reauth'], { check: true })).stdout;
    // -D: timestamps; -w: stop after FLOOD_S seconds (the summary counts what left before then)
    const flood = inNetns('client', `ping -4 -n -D -i ${FLOOD_INTERVAL_S} -w ${FLOOD_S} ${LAN.ipv4}`, { timeoutMs: (FLOOD_S + 15) * 1000 }).then((r) => r.stdout + r.stderr);
    const completed = await waitFor(async () => (await logRecords()).find((r) => r.event === 'reauth.completed'), 40_000, { what: 'reauth.completed in the log' });
    const out = await flood;
    const f = floodLoss(out);
    const statAfter = await xfrmStat();
    const xfrmErrors = Object.fromEntries(Object.entries(statAfter).flatMap(([k, v]) => (v !== (statBefore[k] ?? 0) ? [[k, v - (statBefore[k] ?? 0)]] : [])));
    const records = await logRecords();
    const started = records.find((r) => r.event === 'reauth.started');
    const listed = (await swanctlGw(['--list-sas', '--ike', 'rw-reauth'], { check: true })).stdout;
    const clientStates = await xfrmState('client');
    const gwLines = readFileSync(gwLog, 'utf8')
      .slice(gwLogFrom)
      .split('\n')
      .filter((l) => /IKE_SA rw-reauth\[\d+\] established|deleting IKE_SA rw-reauth|IKE_SA deleted|reassigning|assigning (new )?lease|INITIAL_CONTACT|peer requested virtual IP/.test(l));
    const since = states.filter((s) => s.at >= connectedAt);
    const spiI = String(completed.fields['spiI'] ?? '');
    results['reauth'] = {
      ...f,
      missing: f.missing.slice(0, 50),
      floodS: FLOOD_S,
      intervalMs: FLOOD_INTERVAL_S * 1000,
      started: started?.fields ?? null,
      completed: completed.fields,
      upBeforeReauthMs: started?.ts !== undefined ? Date.parse(started.ts) - connectedAt : null,
      states: [...new Set(since.map((s) => s.state.state))],
      xfrmErrors,
      kernelStates: clientStates.map((s) => `${s.src}>${s.dst} ${s.spiHex}`),
      gatewayLog: gwLines,
    };
    console.log(`[reauth] ${started?.message ?? 'no reauth.started'} | ${completed.message}`);
    console.log(`[reauth] flood: ${f.transmitted} sent, ${f.received} received, ${f.lost} lost by sequence (${f.missing.slice(0, 20).join(',')}) over ${FLOOD_S} s at ${FLOOD_INTERVAL_S * 1000} ms; client XFRM errors meanwhile: ${JSON.stringify(xfrmErrors)}`);
    console.log(`[reauth] gateway log:\n  ${gwLines.join('\n  ')}`);
    console.log(`[reauth] gateway --list-sas after:\n${listed}`);

    // Connected throughout: not one state other than Connected (same connection) after the connect.
    assert.deepEqual([...new Set(since.map((s) => s.state.state))], ['connected'], JSON.stringify(since.map((s) => s.state.state)));
    assert.ok(since.every((s) => s.state.state === 'connected' && s.state.sessionId === first.sessionId));
    assert.equal(records.some((r) => r.event === 'connection.lost'), false, 'no reconnect');
    assert.equal(completed.fields['vipChanged'], false, 'the gateway gave the same virtual IP again');
    // The gateway: the new IKE SA established, the old one deleted; exactly one IKE SA (the new one) left.
    assert.ok(gwLines.filter((l) => /IKE_SA rw-reauth\[\d+\] established/.test(l)).length >= 2, `two IKE SAs established in the gateway log:\n${gwLines.join('\n')}`);
    assert.ok(gwLines.some((l) => /deleting IKE_SA rw-reauth|IKE_SA deleted/.test(l)), 'the old IKE SA deleted in the gateway log');
    assert.equal((listed.match(/rw-reauth: #\d+/g) ?? []).length, 1, `one IKE SA at the gateway:\n${listed}`);
    assert.ok(spiI.length > 0 && listed.includes(spiI), `the gateway lists our new IKE SA ${spiI}:\n${listed}\nbefore:\n${spisBefore}`);
    // The kernel: exactly one SA pair.
    assert.equal(clientStates.length, 2, `one SA pair in the client's kernel:\n${clientStates.map((s) => s.raw).join('\n')}`);
    assert.ok(f.received > FLOOD_S * 10, `the flood ran (${f.received} replies)`);
    assert.ok(f.lost <= 5, `${f.lost} echo requests lost across the reauthentication`);
  });
});
