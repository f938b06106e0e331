/**
 * The contract's schemas: every method has params and result schemas,
 * illegal connection states do not parse, and parameter issues never carry
 * the offending value.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as v from 'valibot';

import { ConnectionStateSchema, Methods, Notifications, STAGES, paramIssues, type ConnectionState } from '../../../native-helper/src/api/rpc.js';

const sid = '6f1c2a34-7d43-4a8e-9a8a-1f0a6c1e2b3c';
const pid = '0b7c1d2e-3f40-4a51-8b62-7c83d94ea5f6';
const connected: ConnectionState = {
  state: 'connected',
  sessionId: sid,
  profileId: pid,
  profileName: 'Office',
  gateway: { host: 'vpn.example.com', address: '192.0.2.1', port: 4500 },
  localAddress: '192.0.2.2',
  virtualIps: ['10.99.0.1'],
  dns: ['10.10.0.53'],
  algorithms: { ike: 'aes256gcm16-prfsha256-ecp256', esp: 'aes256gcm16' },
  saLifetimes: { ikeSeconds: 36000, childSoftSeconds: 9720, childHardSeconds: 10800 },
  encapsulation: true,
  since: 1_700_000_000_000,
  connectMs: 81,
  stages: [{ stage: 'resolve', startedAt: 1_700_000_000_000, ms: 0 }],
  counters: { bytesIn: 1, bytesOut: 2, packetsIn: 3, packetsOut: 4 },
};

describe('RPC contract', () => {
  it('declares the methods and notifications of issue 3', () => {
    assert.deepEqual(Object.keys(Methods).sort(), ['connect', 'disconnect', 'logs', 'status', 'subscribe', 'unsubscribe', 'version']);
    assert.deepEqual(Object.keys(Notifications).sort(), ['strait.log', 'strait.stage', 'strait.state']);
    assert.deepEqual([...STAGES], ['resolve', 'ike_sa_init', 'ike_auth', 'eap', 'install', 'configure', 'probe', 'connected']);
  });

  it('accepts each legal state and refuses illegal ones', () => {
    assert.ok(v.is(ConnectionStateSchema, connected));
    assert.ok(v.is(ConnectionStateSchema, { state: 'disconnected' }));
    const illegal: unknown[] = [
      { state: 'disconnected', code: 'AUTH_FAILED' }, // a disconnected state carries nothing
      { ...connected, counters: undefined }, // connected always has counters
      { ...connected, state: 'connecting' }, // connecting has stage/stageStartedAt, not counters
      { state: 'connecting', sessionId: sid, profileId: pid, profileName: 'x', gateway: { host: 'h', port: 500 }, startedAt: 1, stage: 'connected', stageStartedAt: 1, stages: [] }, // one is never "connecting" in stage connected
      { state: 'error', sessionId: sid, profileId: pid, profileName: 'x', code: 'NOT_A_CODE', message: 'm', at: 1, stages: [] },
      { state: 'error', sessionId: sid, profileId: pid, profileName: 'x', message: 'm', at: 1, stages: [] }, // an error has a code
      { state: 'weird' },
    ];
    for (const s of illegal) assert.equal(v.is(ConnectionStateSchema, s), false, JSON.stringify(s));
  });

  it('fills defaults for optional params and refuses unknown keys', () => {
    assert.deepEqual(v.parse(Methods.logs.params, undefined), { limit: 1000 });
    assert.deepEqual(v.parse(Methods.subscribe.params, { topics: ['state'] }), { topics: ['state'], logLevel: 'info' });
    assert.equal(v.is(Methods.status.params, { x: 1 }), false);
    assert.equal(v.is(Methods.subscribe.params, { topics: [] }), false);
  });

  it('parameter issues name the field but never the value', () => {
    const r = v.safeParse(Methods.logs.params, { limit: 'hunter2-secret', level: 'hunter2-secret' });
    assert.equal(r.success, false);
    const issues = paramIssues(r.issues ?? []);
    assert.deepEqual(issues.map((i) => i.path).sort(), ['/level', '/limit']);
    assert.ok(!JSON.stringify(issues).includes('hunter2'), JSON.stringify(issues));
  });
});
