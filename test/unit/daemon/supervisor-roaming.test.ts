/**
 * The supervisor when the network changes under a live connection (issue 4),
 * against the TestResponder over loopback UDP with a recording platform:
 *   - the outer address towards the gateway changes (127.0.0.1 → 127.0.0.2,
 *     as the kernel would report after a move) and the gateway has no MOBIKE:
 *     a new IKE SA from the new address (the escalation), same connection;
 *   - a platform failure while re-establishing a lost tunnel is retried
 *     within the backoff instead of ending in Error.
 * The MOBIKE path itself (UPDATE_SA_ADDRESSES, moving kernel SAs) is covered
 * by session-mobike.test.ts, backend-mobike.test.ts and the lab's roaming suite.
 */
import assert from 'node:assert/strict';
import { after, afterEach, before, describe, it } from 'node:test';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import type { ConnectionState } from '../../../native-helper/src/api/rpc.js';
import { LogStore } from '../../../native-helper/src/daemon/log-store.js';
import { Supervisor } from '../../../native-helper/src/daemon/supervisor.js';
import { PayloadType, ProtocolId } from '../../../native-helper/src/ike/constants.js';
import { RecordingPlatform, TEST_PSK, freePorts, isConnected, isReconnecting, logFields, testProfile, udpGateway, until, type UdpGateway } from './helpers.js';

/** Nothing here waits for a retransmission; a first timeout well above loopback RTT under load keeps the
 * responder from seeing a retransmitted IKE_SA_INIT (it would start over and the ICVs would no longer match). */
const FAST = { timeoutMs: 600, base: 1.5, tries: 3 } as const;

interface Rig {
  readonly supervisor: Supervisor;
  readonly platform: RecordingPlatform;
  readonly log: LogStore;
  readonly gw: UdpGateway;
  readonly ikePort: number;
  /** what localAddressFor answers: the test moves the client by changing it */
  local: string;
}

let dir: string;
const rigs: Rig[] = [];
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'strait-roaming-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});
afterEach(async () => {
  for (const r of rigs.splice(0)) {
    await r.supervisor.shutdown();
    await r.gw.close();
    await r.log.close();
  }
});

async function rig(gwOver: Parameters<typeof udpGateway>[0] = {}): Promise<Rig> {
  const gw = await udpGateway(gwOver);
  const [ike, natt] = await freePorts(2);
  const platform = new RecordingPlatform();
  const log = new LogStore({});
  const r: Rig = { supervisor: undefined as unknown as Supervisor, platform, log, gw, ikePort: ike as number, local: '127.0.0.1' };
  const supervisor = new Supervisor({
    platform,
    log,
    probe: { send: platform.probeSend },
    ports: { ike: ike as number, natt: natt as number },
    connectTimeoutMs: 10_000,
    deleteTimeoutMs: 500,
    retransmit: FAST,
    reconnect: { initialDelayMs: 50, maxDelayMs: 200, maxAttempts: 10, maxDurationMs: 30_000 },
    localAddressFor: () => Promise.resolve(r.local),
    pathPollMs: 100,
  });
  (r as { supervisor: Supervisor }).supervisor = supervisor;
  rigs.push(r);
  return r;
}

const logEvents = (r: Rig, event: string): Readonly<Record<string, unknown>>[] => logFields(r.log, event);

describe('supervisor: roaming and platform failures while reconnecting', () => {
  it('the outer address changes and the gateway has no MOBIKE: a new IKE SA from the new address, the same connection', async () => {
    const r = await rig();
    const first = await r.supervisor.connect(testProfile(r.gw.port), { psk: TEST_PSK });
    assert.equal(first.localAddress, '127.0.0.1');
    const reconnecting = until(r.supervisor, isReconnecting, 'Reconnecting');
    r.local = '127.0.0.2';
    const rc = await reconnecting;
    assert.match(rc.reconnect?.reason ?? '', /network address changed from 127\.0\.0\.1 to 127\.0\.0\.2 and the gateway does not support MOBIKE/u);
    const back = await until(r.supervisor, isConnected, 'Connected again');
    assert.equal(back.sessionId, first.sessionId);
    assert.equal(back.localAddress, '127.0.0.2', 'the new IKE SA runs from the new address');
    assert.equal(r.gw.sessions, 2, 'a fresh IKE SA at the gateway');
    assert.deepEqual(logEvents(r, 'roaming.detected').map((f) => [f['from'], f['to'], f['mobike']]), [['127.0.0.1', '127.0.0.2', false]]);
    assert.deepEqual(logEvents(r, 'connection.lost').map((f) => f['code']), ['NETWORK_CHANGED']);
    assert.equal(logEvents(r, 'connection.restored').length, 1);
    const ops = r.platform.ops().filter((o) => o !== 'readCounters');
    assert.deepEqual(ops.slice(-3), ['teardown', 'installChildSa', 'applyConfig'], 'old SAs torn down, then the new pair');
  });

  it('MOBIKE negotiated but the platform cannot move SAs (no updateChildSaAddresses): reconnect as well', async () => {
    const r = await rig({ misbehave: { mobike: true } });
    await r.supervisor.connect(testProfile(r.gw.port), { psk: TEST_PSK });
    const reconnecting = until(r.supervisor, isReconnecting, 'Reconnecting');
    r.local = '127.0.0.2';
    const rc = await reconnecting;
    assert.match(rc.reconnect?.reason ?? '', /recording platform cannot move SAs/u);
    const back = await until(r.supervisor, isConnected, 'Connected again');
    assert.equal(back.localAddress, '127.0.0.2');
  });

  it('an address that is our own virtual IP is never taken for the outer address', async () => {
    const r = await rig();
    await r.supervisor.connect(testProfile(r.gw.port), { psk: TEST_PSK });
    r.local = '10.99.0.1'; // the VIP the responder assigns
    await new Promise((res) => setTimeout(res, 600));
    assert.equal(r.supervisor.state.state, 'connected');
    assert.deepEqual(logEvents(r, 'roaming.detected'), []);
  });

  it('a platform failure while re-establishing a lost tunnel is retried within the backoff, then Connected', async () => {
    const r = await rig();
    const first = await r.supervisor.connect(testProfile(r.gw.port), { psk: TEST_PSK });
    r.platform.failOn = 'applyConfig';
    const reconnecting = until(r.supervisor, isReconnecting, 'Reconnecting');
    /* <-- INFORMATIONAL { D(IKE) }: the gateway drops us */
    r.gw.push(r.gw.responder.request([{ type: PayloadType.DELETE, protocol: ProtocolId.IKE, spis: [] }]), { address: '127.0.0.1', port: r.ikePort });
    await reconnecting;
    // Attempts fail in applyConfig (PLATFORM_ERROR) and are retried instead of ending in Error.
    await until(r.supervisor, (s): s is ConnectionState => isReconnecting(s) && (s.reconnect?.attempt ?? 0) >= 2, 'a second reconnect attempt');
    assert.notEqual(r.supervisor.state.state, 'error');
    r.platform.failOn = undefined;
    const back = await until(r.supervisor, isConnected, 'Connected again');
    assert.equal(back.sessionId, first.sessionId);
    assert.ok(logEvents(r, 'platform.failed_reconnecting').length >= 1, 'the platform failure was logged');
    const restored = logEvents(r, 'connection.restored')[0] ?? {};
    assert.ok(typeof restored['attempts'] === 'number' && restored['attempts'] >= 2, JSON.stringify(restored));
  });
});
