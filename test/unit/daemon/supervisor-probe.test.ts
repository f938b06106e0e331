/**
 * The supervisor proves the data path before it reports Connected again
 * after a reconnect (issue 4; daemon/data-path-probe.ts), against the
 * TestResponder over loopback UDP with a recording platform whose inbound
 * counters rise when a probe is sent (a working tunnel) or do not (ESP
 * dropped on the way): the first connect is not probed; a reconnect is, with
 * a `probe` stage; a probe that gets no answer is a failed attempt, never
 * Connected, and ends in Error DATA_PATH_FAILED once the policy gives up, or
 * in Connected once the path heals.
 */
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';

import type { ConnectionState } from '../../../native-helper/src/api/rpc.js';
import { LogStore } from '../../../native-helper/src/daemon/log-store.js';
import { Supervisor, type ReconnectPolicy } from '../../../native-helper/src/daemon/supervisor.js';
import { PayloadType, ProtocolId } from '../../../native-helper/src/ike/constants.js';
import { RecordingPlatform, TEST_PSK, freePorts, isConnected, isError, logFields, testProfile, udpGateway, until, type UdpGateway } from './helpers.js';

const FAST = { timeoutMs: 300, base: 1.5, tries: 3 } as const;
/** short probe windows: the schedule, not its length, is under test */
const PROBE = { tries: 2, tryMs: 150, pollMs: 10 } as const;

interface Rig {
  readonly supervisor: Supervisor;
  readonly platform: RecordingPlatform;
  readonly log: LogStore;
  readonly gw: UdpGateway;
  readonly ikePort: number;
  readonly states: { at: number; state: ConnectionState }[];
}

const rigs: Rig[] = [];
afterEach(async () => {
  for (const r of rigs.splice(0)) {
    await r.supervisor.shutdown();
    await r.gw.close();
    await r.log.close();
  }
});

async function rig(reconnect: Partial<ReconnectPolicy>): Promise<Rig> {
  const gw = await udpGateway();
  const [ike, natt] = await freePorts(2);
  const platform = new RecordingPlatform();
  const log = new LogStore({});
  const supervisor = new Supervisor({
    platform,
    log,
    ports: { ike: ike as number, natt: natt as number },
    connectTimeoutMs: 10_000,
    deleteTimeoutMs: 500,
    retransmit: FAST,
    reconnect,
    pathPollMs: 0,
    probe: { send: platform.probeSend, policy: PROBE },
  });
  const states: Rig['states'] = [];
  supervisor.on('state', (s) => states.push({ at: Date.now(), state: s }));
  const r = { supervisor, platform, log, gw, ikePort: ike as number, states };
  rigs.push(r);
  return r;
}

const logEvents = (r: Rig, event: string): Readonly<Record<string, unknown>>[] => logFields(r.log, event);

/** <-- INFORMATIONAL { D(IKE) } (RFC 7296 §1.4.1): the gateway drops the connection; the supervisor reconnects. */
function gatewayDeletes(r: Rig): void {
  r.gw.push(r.gw.responder.request([{ type: PayloadType.DELETE, protocol: ProtocolId.IKE, spis: [] }]), { address: '127.0.0.1', port: r.ikePort });
}

describe('supervisor: data-path probe after a reconnect', () => {
  it('the first connect is not probed (as strongSwan); a reconnect is: stage `probe`, then Connected, probe logged with target and ms', async () => {
    const r = await rig({ initialDelayMs: 50, maxDelayMs: 200, maxAttempts: 5 });
    const first = await r.supervisor.connect(testProfile(r.gw.port), { psk: TEST_PSK });
    assert.deepEqual(first.stages.map((s) => s.stage), ['resolve', 'ike_sa_init', 'ike_auth', 'install', 'configure']);
    assert.equal(r.platform.probes.length, 0);

    gatewayDeletes(r);
    const back = await until(r.supervisor, isConnected, 'Connected again');
    assert.deepEqual(back.stages.map((s) => s.stage), ['resolve', 'ike_sa_init', 'ike_auth', 'install', 'configure', 'probe']);
    // one try: a DNS query from the virtual IP to each DNS server the gateway pushed (v4, v6) and to
    // the first host of its network (the responder's TSr 10.10.0.0/24, fd00:10::/64)
    assert.deepEqual(
      r.platform.probes.map((p) => [p.target.from, p.target.address, p.target.kind]),
      [
        ['10.99.0.1', '10.10.0.53', 'dns'],
        ['fd00:99::1', 'fd00:10::53', 'dns'],
        ['10.99.0.1', '10.10.0.1', 'selector'],
      ],
    );
    assert.ok(r.platform.probes.every((p) => p.payload.length === 17));
    const ok = logEvents(r, 'probe.ok');
    assert.equal(ok.length, 1);
    assert.equal(ok[0]?.['target'], '10.10.0.53');
    assert.equal(ok[0]?.['after'], 'reconnect');
    assert.ok(typeof ok[0]?.['ms'] === 'number' && (ok[0]['ms'] as number) < PROBE.tryMs, JSON.stringify(ok[0]));
    const restored = logEvents(r, 'connection.restored')[0] ?? {};
    assert.deepEqual(restored['probeTargets'], ['10.10.0.53', 'fd00:10::53', '10.10.0.1']);
    assert.equal(typeof restored['probe_ms'], 'number');
    const probeStage = back.stages.find((s) => s.stage === 'probe');
    assert.ok(probeStage !== undefined && probeStage.ms >= 0);
    // the `connected` record names the probe's time among the stages
    assert.equal(typeof logEvents(r, 'connected').at(-1)?.['probeMs'], 'number');
  });

  it('no answer through the tunnel: never Connected again, each attempt fails with probe.failed, Error DATA_PATH_FAILED when the policy gives up', async () => {
    const r = await rig({ initialDelayMs: 50, maxDelayMs: 100, maxAttempts: 2 });
    await r.supervisor.connect(testProfile(r.gw.port), { psk: TEST_PSK });
    r.platform.answerProbes = false; // ESP dropped on the way: IKE works, nothing comes back through the tunnel
    const lostAt = r.states.length;
    gatewayDeletes(r);
    const err = await until(r.supervisor, isError, 'Error');
    assert.equal(err.code, 'DATA_PATH_FAILED');
    assert.match(err.message, /gave up after 2 attempts/u);
    assert.match(err.message, /nothing came back through the tunnel from 10\.10\.0\.53 or fd00:10::53 or 10\.10\.0\.1 within \d+ ms/u);
    assert.equal(r.states.slice(lostAt).filter((s) => s.state.state === 'connected').length, 0, `reported Connected without a working data path: ${JSON.stringify(r.states.slice(lostAt).map((s) => [s.state.state, 'stage' in s.state ? s.state.stage : '']))}`);
    const failed = logEvents(r, 'probe.failed');
    assert.equal(failed.length, 2, 'one failed probe per attempt');
    for (const f of failed) {
      assert.equal(f['target'], '10.10.0.53');
      assert.equal(f['tries'], PROBE.tries);
      assert.ok(typeof f['ms'] === 'number' && f['ms'] >= PROBE.tries * PROBE.tryMs, JSON.stringify(f));
    }
    assert.equal(r.platform.probes.length, 2 * PROBE.tries * 3, 'two attempts × tries × three targets');
    // each useless IKE SA was deleted at the gateway before the next attempt (3 IKE SAs in all)
    assert.equal(r.gw.sessions, 3);
    assert.ok(r.platform.ops().includes('disableLeakGuard'), 'the final Error removes the leak guard');
  });

  it('the path heals: the attempt after a failed probe gets through and reports Connected (2 attempts)', async () => {
    const r = await rig({ initialDelayMs: 50, maxDelayMs: 100, maxAttempts: 5 });
    const first = await r.supervisor.connect(testProfile(r.gw.port), { psk: TEST_PSK });
    r.platform.answerProbes = false;
    gatewayDeletes(r);
    const deadline = Date.now() + 10_000;
    while (logEvents(r, 'probe.failed').length === 0) {
      assert.ok(Date.now() < deadline, 'no probe.failed');
      await new Promise((res) => setTimeout(res, 10));
    }
    r.platform.answerProbes = true;
    const back = await until(r.supervisor, isConnected, 'Connected again');
    assert.equal(back.sessionId, first.sessionId);
    assert.equal(logEvents(r, 'connection.restored')[0]?.['attempts'], 2);
    assert.equal(logEvents(r, 'connection.lost').length, 1, 'one outage, not two');
  });

  it('a disconnect while probing ends the probe at once', async () => {
    const r = await rig({ initialDelayMs: 50, maxDelayMs: 100, maxAttempts: 5 });
    await r.supervisor.connect(testProfile(r.gw.port), { psk: TEST_PSK });
    r.platform.answerProbes = false;
    gatewayDeletes(r);
    const deadline = Date.now() + 10_000;
    while (r.platform.probes.length === 0) {
      assert.ok(Date.now() < deadline, 'no probe sent');
      await new Promise((res) => setTimeout(res, 5));
    }
    const t0 = Date.now();
    const d = await r.supervisor.disconnect('user');
    assert.equal(d.state.state, 'disconnected');
    assert.ok(Date.now() - t0 < 1000, `disconnect took ${Date.now() - t0} ms`);
    assert.equal(logEvents(r, 'probe.failed').length, 0, 'a cancelled probe is not a failure');
  });
});

