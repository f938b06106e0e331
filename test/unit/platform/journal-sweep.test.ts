// Crash safety: the journal is written before each change, so a process
// killed at any point leaves a record from which a fresh backend's
// sweepStale() removes exactly what was added; the marker sweep finds
// Strait's kernel objects even when the journal is gone or torn.

import assert from 'node:assert/strict';
import { appendFile, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, beforeEach, describe, it } from 'node:test';

import { isPlatformError } from '../../../native-helper/src/platform/errors.js';
import { Journal } from '../../../native-helper/src/platform/linux/journal.js';
import { LinuxBackend } from '../../../native-helper/src/platform/linux/linux-backend.js';
import { FakeIp } from './fake-ip.js';
import { childSpec, configParams, keyHexes } from './specs.js';

const ORIGINAL = 'nameserver 192.168.1.1\n';
const dirs: string[] = [];

async function setup(): Promise<{ fake: FakeIp; dir: string; resolv: string; make: () => LinuxBackend }> {
  const dir = await mkdtemp(join(tmpdir(), 'strait-sweep-'));
  dirs.push(dir);
  const resolv = join(dir, 'resolv.conf');
  await writeFile(resolv, ORIGINAL);
  const fake = new FakeIp();
  fake.routeGet = { dev: 'eth0' };
  const make = (): LinuxBackend =>
    new LinuxBackend({ runner: fake.runner, runtimeDir: join(dir, 'run'), persistentDir: join(dir, 'lib'), resolvConfPath: resolv, dns: 'file' });
  return { fake, dir, resolv, make };
}

after(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

/** Waits until the backend's pending work (journal writes are real file I/O) reaches the hung command. */
async function until(cond: () => boolean, what: string): Promise<void> {
  const end = Date.now() + 5000;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe('journal', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'strait-journal-'));
    dirs.push(dir);
  });

  it('intent, done and removed records; outstanding = intents not removed', async () => {
    const j = new Journal(dir, () => 1234);
    const [a, b] = await j.intend([
      { kind: 'rule', family: 4, pref: 21332, table: 21332 },
      { kind: 'address', family: 4, cidr: '10.99.0.77/32', dev: 'eth0' },
    ]);
    await j.done([a!.id]);
    const loaded = await j.load();
    assert.deepEqual(
      loaded.outstanding.map((e) => [e.item.kind, e.done]),
      [
        ['rule', true],
        ['address', false],
      ],
    );
    await j.removed([a!.id, b!.id]);
    assert.deepEqual((await j.load()).outstanding, []);
    await j.compact();
    await assert.rejects(stat(j.file), /ENOENT/);
    const st = await stat(dir);
    assert.equal(st.mode & 0o777, 0o700);
  });

  it('after compact() removed the file, the next intent starts a new file (not the unlinked one)', async () => {
    const j = new Journal(dir, () => 1);
    const [a] = await j.intend([{ kind: 'rule', family: 4, pref: 21332, table: 21332 }]);
    await j.removed([a!.id]);
    await j.compact();
    await assert.rejects(stat(j.file), /ENOENT/);
    const [b] = await j.intend([{ kind: 'rule', family: 6, pref: 21332, table: 21332 }]);
    // a fresh reader (what the next process after a crash is) sees the new intent
    assert.deepEqual((await new Journal(dir).load()).outstanding.map((e) => [e.id, e.item.kind]), [[b!.id, 'rule']]);
  });

  it('the file is private, JSON lines, without secrets', async () => {
    const j = new Journal(dir);
    await j.intend([{ kind: 'sa', dir: 'in', src: '192.0.2.1', dst: '192.0.2.2', spi: 0xc0000001, reqid: 0x53540001 }]);
    const st = await stat(j.file);
    assert.equal(st.mode & 0o777, 0o600);
    const rec = JSON.parse((await readFile(j.file, 'utf8')).trim()) as { op: string; item: Record<string, unknown> };
    assert.equal(rec.op, 'intent');
    assert.deepEqual(Object.keys(rec.item).sort(), ['dir', 'dst', 'kind', 'reqid', 'spi', 'src']);
  });

  it('a torn last line and foreign records are skipped and counted, the rest is read', async () => {
    const j = new Journal(dir);
    await j.intend([{ kind: 'rule', family: 6, pref: 21332, table: 21332 }]);
    await appendFile(j.file, '{"op":"intent","id":"x","at":1,"item":{"kind":"sa","dir":"in","src":"1.2.3.4"\n');
    await appendFile(j.file, '{"op":"intent","id":"y","at":1,"item":{"kind":"route","family":5}}\n');
    const loaded = await j.load();
    assert.equal(loaded.outstanding.length, 1);
    assert.equal(loaded.skippedLines, 2);
  });
});

describe('sweepStale after a crash', () => {
  it('kill -9 during applyConfig (routes sent, no answer): a fresh backend removes exactly what was added', async () => {
    const { fake, resolv, make } = await setup();
    const initial = fake.snapshot();
    const spec = childSpec();
    const first = make();
    await first.installChildSa(spec);
    // The kernel carries out the network batch (addresses, routes of both families, the
    // IPv4 rule), then the process "dies" before it hears back.
    fake.hangAfter = /^route add 10\.10\.0\.0/m;
    void first.applyConfig(configParams(spec));
    await until(() => fake.routes.size === 2, 'the network batch');
    assert.ok(fake.addresses.get('eth0')?.has('10.99.0.77'));
    assert.deepEqual([...fake.rules], ['4|21332'], 'the IPv4 rule came with the batch; the IPv6 one needs its own run');
    fake.hangAfter = undefined;

    const second = make(); // the restarted daemon, same state directories
    const report = await second.sweepStale();
    assert.equal(report.clean, true, JSON.stringify(report.problems));
    // Everything journaled before the crash; the IPv6 rule batch was never sent (its
    // intent counts as removed: the object is not there), DNS was not reached.
    assert.deepEqual(report.fromJournal, { sa: 2, policy: 6, route: 2, rule: 2, address: 2, dns: 0 });
    assert.deepEqual(report.fromMarkers, { sa: 0, policy: 0, route: 0, rule: 0, address: 0, dns: 0 });
    assert.equal(fake.snapshot(), initial);
    assert.equal(await readFile(resolv, 'utf8'), ORIGINAL);
    // idempotent
    const again = await make().sweepStale();
    assert.deepEqual(again.fromJournal, { sa: 0, policy: 0, route: 0, rule: 0, address: 0, dns: 0 });
    assert.equal(again.clean, true);
  });

  it('kill -9 after the SA batch ran but before "done": the intents cover it', async () => {
    const { fake, make } = await setup();
    const initial = fake.snapshot();
    fake.hangAfter = /xfrm state add/;
    void make().installChildSa(childSpec());
    await until(() => fake.states.size === 2, 'the SA batch');
    fake.hangAfter = undefined;
    const report = await make().sweepStale();
    assert.equal(report.fromJournal.sa, 2);
    assert.equal(report.fromJournal.policy, 6);
    assert.equal(fake.snapshot(), initial);
  });

  it('kill -9 after writing resolv.conf: the backup in the persistent dir restores it, even without the runtime journal (reboot)', async () => {
    const { fake, dir, resolv, make } = await setup();
    const spec = childSpec();
    const b = make();
    await b.installChildSa(spec);
    await b.applyConfig(configParams(spec));
    assert.notEqual(await readFile(resolv, 'utf8'), ORIGINAL);
    // reboot: /run is empty, the kernel state is gone, /var/lib survives
    await rm(join(dir, 'run'), { recursive: true, force: true });
    fake.states.clear();
    fake.policies.clear();
    fake.routes.clear();
    fake.rules.clear();
    fake.addresses.get('eth0')?.delete('10.99.0.77');
    fake.addresses.get('eth0')?.delete('fd00:99::77');
    const report = await make().sweepStale();
    assert.equal(report.fromJournal.dns, 1);
    assert.equal(await readFile(resolv, 'utf8'), ORIGINAL);
  });

  it('a resolv.conf replaced by another program after Strait wrote it is kept', async () => {
    const { resolv, make } = await setup();
    const spec = childSpec();
    const b = make();
    await b.installChildSa(spec);
    await b.applyConfig(configParams(spec));
    await writeFile(resolv, 'nameserver 203.0.113.53 # new DHCP lease\n');
    const report = await b.teardown('test');
    assert.equal(report.removed.dns, 1);
    assert.equal(await readFile(resolv, 'utf8'), 'nameserver 203.0.113.53 # new DHCP lease\n');
  });

  it('journal lost: the marker sweep still removes SAs (reqid range), policies (priority band), routes (table 21332), rules and VIPs (address metric)', async () => {
    const { fake, dir, make } = await setup();
    const spec = childSpec({ alg: 'chacha' });
    const b = make();
    await b.installChildSa(spec);
    await b.applyConfig(configParams(spec));
    await rm(join(dir, 'run'), { recursive: true, force: true });
    // a foreign IPsec daemon's objects must survive the sweep
    fake.states.set('192.0.2.9|4096', { spi: 4096, src: '192.0.2.8', dst: '192.0.2.9', reqid: 1, line: '', bytes: 0, packets: 0 });
    fake.policies.set('out src 10.1.0.0/16 dst 10.2.0.0/16', { dir: 'out', selector: 'src 10.1.0.0/16 dst 10.2.0.0/16', priority: 375423, index: 9001, tmplReqid: 1 });
    fake.routes.set('220|10.2.0.0/16', { family: 4, type: 'unicast', dst: '10.2.0.0/16', table: '220', proto: 'static' });
    const calls = fake.calls.length;
    const report = await make().sweepStale();
    assert.deepEqual(report.fromMarkers, { sa: 2, policy: 6, route: 2, rule: 2, address: 2, dns: 0 });
    assert.equal(report.clean, true);
    assert.deepEqual([...fake.states.keys()], ['192.0.2.9|4096']);
    assert.deepEqual([...fake.policies.keys()], ['out src 10.1.0.0/16 dst 10.2.0.0/16']);
    assert.deepEqual([...fake.routes.keys()], ['220|10.2.0.0/16']);
    assert.equal(fake.rules.size, 0);
    assert.deepEqual([...(fake.addresses.get('eth0') ?? [])].sort(), ['192.0.2.2', '2001:db8:2::2']);
    for (const c of fake.calls.slice(calls)) for (const k of keyHexes(spec)) assert.ok(!c.input.includes(k) && !c.args.join(' ').includes(k));
  });

  it('sweepStale refuses while the backend holds live state', async () => {
    const { make } = await setup();
    const b = make();
    await b.installChildSa(childSpec());
    await assert.rejects(b.sweepStale(), (e: unknown) => isPlatformError(e) && e.reason === 'busy');
    await b.teardown('test');
    assert.equal((await b.sweepStale()).clean, true);
  });

  it('teardown reports objects it could not remove and stays unclean until they are gone', async () => {
    const { fake, make } = await setup();
    const b = make();
    await b.installChildSa(childSpec());
    fake.failOn = { match: /^xfrm state delete .*spi 0xd0000001/, message: 'RTNETLINK answers: Operation not permitted' };
    const r1 = await b.teardown('test');
    assert.equal(r1.clean, false);
    assert.deepEqual(r1.problems.map((p) => p.kind), ['sa', 'journal']);
    assert.match(r1.problems[0]?.message ?? '', /delete SA spi 0xd0000001: RTNETLINK answers: Operation not permitted/);
    fake.failOn = undefined;
    const r2 = await b.teardown('retry');
    assert.equal(r2.removed.sa, 1);
    assert.equal(r2.clean, true);
    assert.equal(fake.states.size, 0);
  });
});
