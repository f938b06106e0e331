/**
 * Staying connected, against the real strongSwan gateway and the real
 * kernel: Strait's IkeSession (through IkeDriver) with the Linux platform
 * backend installing every CHILD_SA in netns `client`, so traffic really
 * flows through ESP (the lab guard drops client→LAN traffic in clear).
 *
 *  - CHILD_SA rekey on OUR timer (short soft lifetime) under a ping flood:
 *    make-before-break, lost packets counted;
 *  - CHILD_SA rekey on the GATEWAY's timer (rw-rekey, rekey_time 8 s) under
 *    a ping flood: inbound SA first, outbound on charon's DELETE, 0 lost;
 *  - IKE SA rekey (RFC 7296 §2.18) on the gateway's timer (rw-ikerekey,
 *    rekey_time 10 s) and on ours (ikeRekeySeconds 5) under a ping flood: the
 *    gateway lists the new SPIs, every old IKE SA is deleted, 0 lost;
 *  - dead peer detection against a gateway whose charon was stopped.
 *
 * Measured numbers are printed and written to <logDir>/ike-lifecycle.json.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { writeFileSync } from 'node:fs';

import { IkeDriver } from '../../../native-helper/src/daemon/ike-driver.js';
import type { IkeDriverOutcome } from '../../../native-helper/src/daemon/ike-driver.js';
import type { ChildSaSpec, IkeAction, IkeEvent } from '../../../native-helper/src/ike/actions.js';
import { IkeSession } from '../../../native-helper/src/ike/session.js';
import type { IkeSessionConfig } from '../../../native-helper/src/ike/session.js';
import type { PlatformLogEntry } from '../../../native-helper/src/platform/backend.js';
import { LinuxBackend } from '../../../native-helper/src/platform/linux/linux-backend.js';
import { parseIdentity } from '../../../native-helper/src/pki/identity.js';
import { gwXfrmState, labState, ping, run, setClearForwarding, swanctlGw, waitFor } from '../support/guest.js';

import { CLIENT, IDENTITIES, LAN } from '../support/topology.js';
import { labPskSessionConfig } from '../support/session-config.js';

const hex = (b: Uint8Array | undefined): string => (b === undefined ? '' : Buffer.from(b).toString('hex'));
const results: Record<string, unknown> = {};

const config = (over: Partial<IkeSessionConfig> = {}): IkeSessionConfig => labPskSessionConfig({ ...over });

/** A session whose CHILD_SAs the real platform backend installs, in action order. */
class Tunnel {
  readonly events: IkeEvent[] = [];
  readonly installs: ChildSaSpec[] = [];
  readonly removes: number[] = [];
  readonly outboundSwitches: number[] = [];
  /** when things happened (ms since the tunnel started), to see where a loss falls */
  readonly timeline: string[] = [];
  private readonly t0 = Date.now();
  private mark(what: string): void {
    this.timeline.push(`${Date.now() - this.t0} ${what}`);
  }
  readonly platformLog: PlatformLogEntry[] = [];
  readonly session: IkeSession;
  readonly driver: IkeDriver;
  readonly done: Promise<IkeDriverOutcome>;
  vip: string | undefined;
  private chain: Promise<void> = Promise.resolve();
  platformError: unknown;
  private readonly up: Promise<void>;

  constructor(
    cfg: IkeSessionConfig,
    private readonly backend: LinuxBackend,
  ) {
    this.session = new IkeSession(cfg, { random: (n) => new Uint8Array(randomBytes(n)) });
    let established: () => void = () => undefined;
    this.up = new Promise((resolve) => (established = resolve));
    this.driver = new IkeDriver(this.session, { localAddress: cfg.local.address, onAction: (a) => this.onAction(a, established) });
    this.done = this.driver.run();
    void this.done.then(() => established());
  }

  private later(what: () => Promise<void>): void {
    this.chain = this.chain.then(what).catch((e: unknown) => {
      this.platformError ??= e;
    });
  }

  private onAction(a: IkeAction, established: () => void): void {
    switch (a.kind) {
      case 'event':
        this.events.push(a.event);
        if (/^(child_sa\.(rekeyed_by_peer|outbound_switched|rekeyed)|ike_sa\.(rekeyed|old_))/.test(a.event.event) || (a.event.event === 'message.sent' && /CREATE_CHILD_SA response/.test(a.event.message))) this.mark(a.event.event);
        return;
      case 'installChildSa':
        this.installs.push(a.sa);
        // As the supervisor does (ike/ACTIONS.md): the gateway's rekey holds the outbound SA back, and the
        // install report releases our held answer / the DELETE of a replaced pair at once.
        this.later(async () => {
          await this.backend.installChildSa(a.sa, a.deferOutbound === true ? { deferOutbound: true } : undefined);
          this.mark(`installed ${a.sa.id}${a.deferOutbound === true ? ' (outbound deferred)' : ''}`);
          this.driver.inform((session, now) => session.childSaInstalled(a.sa.id, now));
        });
        return;
      case 'installOutboundSa':
        this.outboundSwitches.push(a.id);
        this.later(async () => {
          await this.backend.installOutboundSa(a.id);
          this.mark(`outbound installed ${a.id}`);
        });
        return;
      case 'removeChildSa':
        this.removes.push(a.id);
        this.later(() => this.backend.removeChildSa(a.id));
        return;
      case 'assignConfig': {
        const first = this.installs[0];
        this.vip = a.config.ipv4?.address;
        if (first !== undefined) this.later(() => this.backend.applyConfig({ config: a.config, childSa: first, tunnel: { mode: 'split', include: [], exclude: [], ipv6: false } }));
        return;
      }
      case 'stage':
        if (a.stage === 'established') this.later(async () => established());
        return;
      default:
        return;
    }
  }

  /** Resolves when established and the platform work queued so far is done. */
  async established(): Promise<void> {
    await this.up;
    await this.chain;
    if (this.session.state !== 'established') {
      const why = this.events.filter((e) => e.level !== 'debug').map((e) => `  ${e.event}: ${e.message}`).join('\n');
      assert.fail(`not established (${this.session.state})\n${why}`);
    }
    if (this.platformError !== undefined) throw this.platformError;
  }

  count(event: string): number {
    return this.events.filter((e) => e.event === event).length;
  }

  async chainDone(): Promise<void> {
    await this.chain;
  }

  async teardown(): Promise<void> {
    await this.backend.teardown('test done');
  }

  async close(): Promise<IkeDriverOutcome> {
    this.driver.close();
    const outcome = await this.done;
    await this.chain;
    await this.backend.teardown('test done');
    return outcome;
  }
}

describe('ike-lifecycle: rekeying and liveness against strongSwan, with the real data path', () => {
  let dir: string;
  const logs: PlatformLogEntry[] = [];
  let backendN = 0;
  const backend = (): LinuxBackend => {
    backendN++;
    return new LinuxBackend({ runtimeDir: join(dir, `run${backendN}`), persistentDir: join(dir, `lib${backendN}`), resolvConfPath: join(dir, 'resolv.conf'), dns: 'file', log: (e) => logs.push(e) });
  };

  before(async () => {
    dir = await mkdtemp('/tmp/strait-lifecycle-');
    await writeFile(join(dir, 'resolv.conf'), 'nameserver 192.0.2.53\n');
  });

  after(async () => {
    for (const conn of ['rw-psk', 'rw-rekey', 'rw-ikerekey']) await swanctlGw(['--terminate', '--ike', conn, '--timeout', '5']).catch(() => undefined);
    writeFileSync(join(labState().logDir, 'ike-lifecycle.json'), `${JSON.stringify(results, null, 2)}\n`);
    console.log(`[ike-lifecycle] ${JSON.stringify(results)}`);
  });

  /** Pings the LAN host from the virtual IP `count` times, `intervalS` apart; returns transmitted/received. */
  async function flood(t: Tunnel, count: number, intervalS: number): Promise<{ transmitted: number; received: number; lost: number }> {
    assert.ok(t.vip, 'a virtual IP was assigned');
    const r = await ping('client', LAN.ipv4, { count, intervalS, waitS: 2, from: t.vip });
    return { transmitted: r.transmitted, received: r.received, lost: r.transmitted - r.received };
  }

  it('CHILD_SA rekey on our own timer (soft 4 s) under a ping flood: make-before-break, no packet lost', async () => {
    const t = new Tunnel(config({ childLifetime: { soft: 4, hard: 60 } }), backend());
    await t.established();
    const started = Date.now();
    const f = await flood(t, 1500, 0.01);
    const seconds = (Date.now() - started) / 1000;
    const rekeys = t.count('child_sa.rekeyed');
    // The gateway now holds the newest pair, with our keys.
    const newest = t.installs.at(-1);
    assert.ok(newest, 'a CHILD_SA');
    const states = await gwXfrmState();
    const toUs = states.find((s) => s.spi === newest.inbound.spi && s.dst === CLIENT.ipv4);
    assert.equal(toUs?.aead?.keyHex ?? toUs?.enc?.keyHex, hex(newest.inbound.encKey), 'gateway→client key of the newest CHILD_SA');
    const outcome = await t.close();
    results.ownRekey = { ...f, seconds, rekeys, installs: t.installs.length, removes: t.removes.length };
    console.log(`[ike-lifecycle] own rekey: ${rekeys} rekey(s) in ${seconds.toFixed(1)} s of ping flood, ${f.transmitted} sent, ${f.received} received, ${f.lost} lost`);
    assert.ok(rekeys >= 2, `at least two rekeys happened (${rekeys})`);
    // make-before-break: every remove came after the install of its successor
    assert.deepEqual(t.removes.slice(0, rekeys), t.installs.slice(0, rekeys).map((s) => s.id), 'each old pair removed after its successor was installed');
    assert.equal(f.lost, 0, `${f.lost} of ${f.transmitted} pings lost across ${rekeys} rekeys`);
    assert.equal(outcome.kind, 'closed', JSON.stringify(outcome));
  });

  it("CHILD_SA rekey on the gateway's timer (rw-rekey, rekey_time 8 s) under a ping flood", async () => {
    const t = new Tunnel(config({ localId: parseIdentity(IDENTITIES.rekeyClient) }), backend());
    await t.established();
    const started = Date.now();
    const f = await flood(t, 1800, 0.01);
    const seconds = (Date.now() - started) / 1000;
    const rekeys = t.count('child_sa.rekeyed_by_peer');
    const authLifetime = t.events.find((e) => e.event === 'ike_sa.auth_lifetime')?.fields?.lifetimeS;
    const outcome = await t.close();
    const deferred = logs.filter((e) => e.event === 'platform.child_sa.installed' && e.fields?.['outboundDeferred'] === true).length;
    results.gatewayRekey = { ...f, seconds, rekeys, installs: t.installs.length, removes: t.removes.length, authLifetimeS: authLifetime, deferred, timeline: t.timeline };
    console.log(`[ike-lifecycle] gateway rekey timeline: ${t.timeline.join(' | ')}`);
    console.log(`[ike-lifecycle] gateway rekey: ${rekeys} rekey(s) by the gateway in ${seconds.toFixed(1)} s of ping flood, ${f.transmitted} sent, ${f.received} received, ${f.lost} lost`);
    assert.ok(rekeys >= 1, `the gateway rekeyed at least once (${rekeys}); events: ${t.events.filter((e) => e.event.startsWith('child_sa') || e.event.startsWith('request')).map((e) => e.message).join(' | ')}`);
    assert.ok(t.removes.length >= 1, 'the old pair was removed after the gateway deleted it');
    // rw-rekey has reauth_time 120 s: charon announces AUTH_LIFETIME (RFC 4478) in IKE_AUTH.
    assert.ok(typeof authLifetime === 'number' && authLifetime > 0 && authLifetime <= 120, `AUTH_LIFETIME announced (${String(authLifetime)})`);
    // Make-before-break both ways (RFC 7296 §2.8): our answer waits for the new inbound SA (childSaInstalled),
    // and our new OUTBOUND SA goes in only when charon deletes the old pair (it has the new inbound SA by then).
    assert.ok(t.outboundSwitches.length >= rekeys, `the outbound SA was switched on the gateway's DELETE for every rekey (${t.outboundSwitches.length} of ${rekeys})`);
    assert.equal(f.lost, 0, `${f.lost} of ${f.transmitted} pings lost across ${rekeys} gateway rekeys`);
    assert.equal(outcome.kind, 'closed', JSON.stringify(outcome));
  });

  for (const mode of ['gateway', 'own'] as const) {
    const what = mode === 'gateway' ? "the gateway's timer (rw-ikerekey, rekey_time 10 s)" : 'our own timer (ikeRekeySeconds 5)';
    it(`IKE SA rekey on ${what} under a ping flood: new SPIs on both sides, CHILD_SAs kept, the tunnel keeps working`, async () => {
      const t = new Tunnel(config({ localId: parseIdentity(IDENTITIES.ikeRekeyClient), ...(mode === 'own' ? { ikeRekeySeconds: 5 } : {}) }), backend());
      await t.established();
      const first = t.session.spis;
      const started = Date.now();
      const rekeysSoFar = (): number => t.events.filter((e) => e.event === 'ike_sa.rekeyed' && (e.fields?.['by'] === 'gateway') === (mode === 'gateway')).length;
      let f = await flood(t, 1500, 0.01);
      // The timers carry jitter (charon's rekey_time less up to rand_time; ours 0.9 × lifetime with jitter), and a
      // loaded machine stretches them: flood on, in short rounds and bounded, until the second rekey happened.
      for (let round = 0; round < 4 && rekeysSoFar() < 2; round++) {
        const more = await flood(t, 500, 0.01);
        f = { transmitted: f.transmitted + more.transmitted, received: f.received + more.received, lost: f.lost + more.lost };
      }
      const seconds = (Date.now() - started) / 1000;
      const deletedCount = (): number => t.count('ike_sa.old_deleted') + t.count('ike_sa.old_deleted_by_peer');
      // the DELETE of the IKE SA replaced last may still be on its way
      await waitFor(() => deletedCount() >= t.count('ike_sa.rekeyed'), 10_000, { what: 'the DELETE of every replaced IKE SA' }).catch(() => undefined);
      const rekeyed = t.events.filter((e) => e.event === 'ike_sa.rekeyed');
      const byGateway = rekeyed.filter((e) => e.fields?.['by'] === 'gateway').length;
      const byUs = rekeyed.length - byGateway;
      const oldDeleted = deletedCount();
      // RFC 7296 §2.18: the gateway lists the IKE SA under its new SPIs, the ones the session has. Read ours
      // AFTER the listing: a gateway rekey may complete meanwhile, and we adopt the new IKE SA when we send
      // our answer, before the gateway can list it.
      const listed = (await swanctlGw(['--list-sas', '--ike', 'rw-ikerekey'], { check: true })).stdout;
      const current = t.session.spis;
      const afterwards = await flood(t, 20, 0.05);
      const outcome = await t.close();
      const key = mode === 'gateway' ? 'ikeRekeyGateway' : 'ikeRekeyOwn';
      results[key] = { ...f, seconds, byGateway, byUs, oldDeleted, childInstalls: t.installs.length, first, current, afterwards, timeline: t.timeline };
      console.log(`[ike-lifecycle] IKE rekey (${mode}): ${byUs} by us, ${byGateway} by the gateway in ${seconds.toFixed(1)} s of ping flood, ${f.transmitted} sent, ${f.received} received, ${f.lost} lost; old IKE SAs deleted: ${oldDeleted}; now ${current.initiator}_i ${current.responder}_r`);
      console.log(`[ike-lifecycle] gateway --list-sas: ${listed.split('\n').filter((l) => /rw-ikerekey|_i/.test(l)).join(' / ')}`);
      const problems = t.events.filter((e) => e.level === 'warn' || e.level === 'error').map((e) => `${e.event}: ${e.message}`);
      if (mode === 'gateway') assert.ok(byGateway >= 2, `the gateway rekeyed the IKE SA at least twice (${byGateway}); ${problems.join(' | ')}`);
      else assert.ok(byUs >= 2, `we rekeyed the IKE SA at least twice (${byUs}); ${problems.join(' | ')}`);
      assert.ok(oldDeleted >= rekeyed.length, `every replaced IKE SA was deleted (${oldDeleted} of ${rekeyed.length})`);
      assert.notEqual(current.initiator, first.initiator, 'new IKE SA SPIs');
      assert.ok(listed.includes(current.initiator) && listed.includes(current.responder), `swanctl --list-sas shows ${current.initiator}_i ${current.responder}_r:\n${listed}`);
      assert.equal(t.installs.length, 1, 'an IKE SA rekey leaves the CHILD_SA alone');
      // The CHILD_SA is untouched by an IKE SA rekey, so no packet may be lost.
      assert.equal(f.lost, 0, `${f.lost} of ${f.transmitted} pings lost across ${rekeyed.length} IKE SA rekeys`);
      assert.equal(afterwards.lost, 0, 'the tunnel works after the rekeys');
      assert.equal(outcome.kind, 'closed', JSON.stringify(outcome));
    });
  }

  it('dead peer detection: the gateway\'s charon is stopped → DEAD_PEER, detection time measured', async () => {
    const interval = 2000;
    const t = new Tunnel(config({ dpdIntervalMs: interval, retransmit: { timeoutMs: 1000, base: 1.5, tries: 3 } }), backend());
    await t.established();
    const gatewaySh = join(labState().repoDir, 'test', 'lab', 'guest', 'gateway.sh');
    // SIGKILL: a gateway that vanishes (power loss), not one that says goodbye with DELETEs.
    const pid = (await readFile(join(labState().runDir, 'gw', 'charon.pid'), 'utf8')).trim();
    const stoppedAt = Date.now();
    await run(['kill', '-9', pid], { check: true });
    try {
      const outcome = await t.done;
      const detectedAt = Date.now();
      assert.equal(outcome.kind, 'failed', JSON.stringify(outcome));
      if (outcome.kind !== 'failed') return;
      assert.equal(outcome.failure.code, 'DEAD_PEER', outcome.failure.message);
      const f = outcome.failure.fields ?? {};
      results.dpd = { intervalMs: interval, stopToFailedMs: detectedAt - stoppedAt, silentMs: f.silentMs, sends: f.sends, elapsedMs: f.elapsedMs, message: outcome.failure.message };
      console.log(`[ike-lifecycle] DPD: charon stopped → DEAD_PEER after ${detectedAt - stoppedAt} ms (silent ${String(f.silentMs)} ms, ${String(f.sends)} probes over ${String(f.elapsedMs)} ms): ${outcome.failure.message}`);
      // interval 2 s + probes at 0, 1, 2.5, 4.75 s, given up 3.4 s later: about 10 s of silence
      assert.ok(Number(f.silentMs) >= 9000 && Number(f.silentMs) <= 14_000, `detected after ${String(f.silentMs)} ms of silence`);
      assert.ok(t.removes.length >= 1, 'the CHILD_SA was removed');
    } finally {
      // charon left its kernel state behind: clear it, then start a fresh charon for the suites after us.
      await run(['ip', '-n', 'gw', 'xfrm', 'state', 'flush'], { check: true });
      await run(['ip', '-n', 'gw', 'xfrm', 'policy', 'flush'], { check: true });
      await setClearForwarding(false); // the flush took the lab's "no clear client -> LAN" block policy too
      await run(['sh', gatewaySh, 'start'], { check: true });
      await t.chainDone();
      await t.teardown();
    }
  });

  it('keeps the run dir clean', async () => {
    const r = await run(['ip', 'xfrm', 'state', 'list', 'nokeys'], { check: true });
    assert.equal(r.stdout.trim(), '', `client XFRM states left: ${r.stdout}`);
  });
});
