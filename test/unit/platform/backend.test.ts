// The Linux backend end to end against FakeIp (an in-memory model of what
// `ip` manages; the host kernel cannot hold ESP SAs): where keys go, the
// order and content of what is installed, rekeying, rollback on failure,
// counters, teardown back to the exact starting state.

import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';

import type { PlatformLogEntry } from '../../../native-helper/src/platform/backend.js';
import { createPlatformBackend } from '../../../native-helper/src/platform/backend.js';
import { isPlatformError, PlatformError, PlatformUnsupportedError } from '../../../native-helper/src/platform/errors.js';
import type { LinuxBackendOptions } from '../../../native-helper/src/platform/linux/linux-backend.js';
import { LinuxBackend } from '../../../native-helper/src/platform/linux/linux-backend.js';
import { REQID_MIN } from '../../../native-helper/src/platform/linux/marks.js';
import { FakeIp } from './fake-ip.js';
import { childSpec, configParams, keyHexes } from './specs.js';

const ORIGINAL_RESOLV = '# original\nnameserver 192.168.1.1\nsearch home.arpa\noptions edns0\n';

interface Rig {
  readonly fake: FakeIp;
  readonly dir: string;
  readonly resolv: string;
  readonly logs: PlatformLogEntry[];
  readonly backend: LinuxBackend;
  make(extra?: Partial<LinuxBackendOptions>): LinuxBackend;
}

async function rig(extra: Partial<LinuxBackendOptions> = {}): Promise<Rig> {
  const dir = await mkdtemp(join(tmpdir(), 'strait-platform-'));
  const resolv = join(dir, 'resolv.conf');
  await writeFile(resolv, ORIGINAL_RESOLV);
  const fake = new FakeIp();
  fake.routeGet = { dev: 'eth0' };
  const logs: PlatformLogEntry[] = [];
  const make = (more: Partial<LinuxBackendOptions> = {}): LinuxBackend =>
    new LinuxBackend({
      runner: fake.runner,
      runtimeDir: join(dir, 'run'),
      persistentDir: join(dir, 'lib'),
      resolvConfPath: resolv,
      dns: 'file',
      log: (e) => logs.push(e),
      ...extra,
      ...more,
    });
  return { fake, dir, resolv, logs, backend: make(), make };
}

/** Asserts no key appears anywhere but in the stdin of `ip -batch -` (argv, logs, `extra` texts). */
function assertKeysOnlyOnStdin(r: Rig, keys: readonly string[], extra: readonly string[] = []): void {
  for (const call of r.fake.calls) {
    const argv = [call.file, ...call.args].join(' ').toLowerCase();
    for (const k of keys) assert.ok(!argv.includes(k), `key hex in argv: ${call.file} ${call.args.join(' ').slice(0, 80)}`);
    if (keys.some((k) => call.input.includes(k))) assert.deepEqual(call.args.slice(-2), ['-batch', '-'], 'keys went to a command that is not ip -batch -');
  }
  const logText = JSON.stringify(r.logs).toLowerCase();
  for (const k of keys) assert.ok(!logText.includes(k), 'key hex in a log entry');
  for (const text of extra) for (const k of keys) assert.ok(!text.toLowerCase().includes(k), 'key hex in an error/report');
}

describe('LinuxBackend with a fake ip', () => {
  let r: Rig;
  before(async () => {
    r = await rig();
  });
  after(async () => {
    await rm(r.dir, { recursive: true, force: true });
  });

  it('installs both SAs and all policies in one ip -batch on stdin; no key in any argv, log or report', async () => {
    const initial = r.fake.snapshot();
    const spec = childSpec({ alg: 'cbcSha256' });
    await r.backend.installChildSa(spec);
    const batches = r.fake.calls.filter((c) => c.args.includes('-batch'));
    assert.equal(batches.length, 1);
    assert.deepEqual(batches[0]?.args, ['-batch', '-']);
    const lines = batches[0]?.input.trim().split('\n') ?? [];
    assert.match(lines[0] ?? '', /^xfrm state add src 192\.0\.2\.1 dst 192\.0\.2\.2 proto esp spi 0xc0000001 reqid 1398013953 /);
    assert.match(lines[1] ?? '', /^xfrm state add src 192\.0\.2\.2 dst 192\.0\.2\.1 proto esp spi 0xd0000001 /);
    assert.equal(lines.length, 2 + 6, 'two SAs, out/in/fwd for v4 and v6; no IKE bypass (the virtual IP selectors cannot match IKE packets)');
    // each key appears exactly where it belongs
    for (const k of keyHexes(spec)) assert.equal(batches[0]?.input.split(k).length, 2);
    assert.equal(r.fake.states.size, 2);
    assert.equal(r.fake.policies.size, 6);

    await r.backend.applyConfig(configParams(spec));
    const report = await r.backend.teardown('test');
    assertKeysOnlyOnStdin(r, keyHexes(spec), [JSON.stringify(report)]);
    assert.deepEqual(report.removed, { sa: 2, policy: 6, route: 2, rule: 2, address: 2, dns: 1 });
    assert.equal(report.clean, true, JSON.stringify(report.problems));
    assert.equal(r.fake.snapshot(), initial);
    assert.equal(await readFile(r.resolv, 'utf8'), ORIGINAL_RESOLV);
  });

  it('applyConfig: VIP, routes, rule, DNS in the right order; teardown restores everything', async () => {
    const initial = r.fake.snapshot();
    const spec = childSpec({ id: 2 });
    await r.backend.installChildSa(spec);
    const before = r.fake.calls.length;
    await r.backend.applyConfig(configParams(spec, { mtu: 1400 }));
    const calls = r.fake.calls.slice(before);
    const scripts = calls.filter((c) => c.args.includes('-batch') && !c.args.includes('-j')).map((c) => `${c.args.join(' ')}\n${c.input}`);
    assert.deepEqual(scripts, [
      // both families in one run (iproute2 infers them from the prefixes); only the IPv6 rule needs -6
      '-batch -\naddress add 10.99.0.77/32 dev eth0 metric 21332\naddress add fd00:99::77/128 dev eth0 metric 21332 nodad\nroute add 10.10.0.0/24 via 192.0.2.1 dev eth0 src 10.99.0.77 table 21332 proto 83 mtu 1400\nroute add fd00:10::/64 dev eth0 src fd00:99::77 table 21332 proto 83 mtu 1400\nrule add pref 21332 table 21332\n',
      '-6 -batch -\nrule add pref 21332 table 21332\n',
    ]);
    // the connect path: one query run, two batches, nothing else
    assert.deepEqual(
      calls.map((c) => `${c.args.join(' ')}: ${c.input.trim().split('\n').length}`),
      ['-j -batch -: 2', '-batch -: 5', '-6 -batch -: 1'],
    );
    assert.equal(calls[0]?.input, 'route get 192.0.2.1\naddress show\n');
    const resolv = await readFile(r.resolv, 'utf8');
    // split tunnel: VPN servers first, then the original one; domains searched
    assert.match(resolv, /^# Written by Strait/);
    assert.match(resolv, /nameserver 10\.10\.0\.53\nnameserver fd00:10::53\nnameserver 192\.168\.1\.1\nsearch lab\.example home\.arpa\noptions edns0\n$/);
    const report = await r.backend.teardown('user disconnect');
    assert.equal(report.clean, true);
    assert.equal(r.fake.snapshot(), initial);
    assert.equal(await readFile(r.resolv, 'utf8'), ORIGINAL_RESOLV);
    const teardownLog = r.logs.find((l) => l.event === 'platform.teardown' && l.fields?.['reason'] === 'user disconnect');
    assert.ok(teardownLog, 'teardown is logged with its reason');
  });

  it('full tunnel DNS: only the VPN servers (no query may leave outside the tunnel)', async () => {
    const spec = childSpec({ id: 3 });
    await r.backend.installChildSa(spec);
    await r.backend.applyConfig(configParams(spec, { tunnel: { mode: 'full', include: [], exclude: [], ipv6: false } }));
    const resolv = await readFile(r.resolv, 'utf8');
    assert.deepEqual(
      resolv.split('\n').filter((l) => l.startsWith('nameserver')),
      ['nameserver 10.10.0.53'],
      'IPv6 is not tunneled, so its DNS server is not used either',
    );
    await r.backend.teardown('test');
  });

  it('counters: per SA from the kernel, totals kept across a rekey', async () => {
    const a = childSpec({ id: 10 });
    await r.backend.installChildSa(a);
    const inA = r.fake.states.get(`192.0.2.2|${a.inbound.spi}`)!;
    const outA = r.fake.states.get(`192.0.2.1|${a.outbound.spi}`)!;
    Object.assign(inA, { bytes: 1000, packets: 10 });
    Object.assign(outA, { bytes: 2000, packets: 20 });
    const c1 = await r.backend.readCounters();
    assert.deepEqual(
      { ...c1, sas: c1.sas.map((s) => ({ ...s, addTime: undefined })) },
      {
        bytesIn: 1000,
        bytesOut: 2000,
        packetsIn: 10,
        packetsOut: 20,
        sas: [
          { spi: `0x${a.inbound.spi.toString(16)}`, direction: 'in', bytes: 1000, packets: 10, addTime: undefined },
          { spi: `0x${a.outbound.spi.toString(16)}`, direction: 'out', bytes: 2000, packets: 20, addTime: undefined },
        ],
      },
    );
    // rekey: new CHILD_SA with the same selectors shares the reqid and the policies
    const policiesBefore = new Map([...r.fake.policies].map(([k, p]) => [k, p.tmplReqid]));
    const b = childSpec({ id: 11 });
    await r.backend.installChildSa(b);
    assert.equal(r.fake.states.get(`192.0.2.2|${b.inbound.spi}`)?.reqid, REQID_MIN + 10, 'reqid reused for the same selectors');
    assert.deepEqual(new Map([...r.fake.policies].map(([k, p]) => [k, p.tmplReqid])), policiesBefore, 'policies untouched by the rekey');
    Object.assign(r.fake.states.get(`192.0.2.2|${b.inbound.spi}`)!, { bytes: 5, packets: 1 });
    await r.backend.removeChildSa(10);
    assert.equal(r.fake.states.size, 2);
    assert.equal(r.fake.policies.size, 6, 'the new CHILD_SA still needs every policy');
    const c2 = await r.backend.readCounters();
    assert.equal(c2.bytesIn, 1005);
    assert.equal(c2.packetsOut, 20);
    assert.equal(c2.sas.length, 2);
    await r.backend.removeChildSa(11);
    assert.equal(r.fake.states.size, 0);
    assert.equal(r.fake.policies.size, 0);
    await r.backend.removeChildSa(11); // unknown now: a no-op
    await r.backend.teardown('test');
  });

  it('a rekey with narrower selectors gets its own reqid; shared policies are re-pointed and handed back', async () => {
    const a = childSpec({ id: 20 });
    await r.backend.installChildSa(a);
    const b = childSpec({ id: 21, localTs: a.localTs.slice(0, 1) }); // IPv4 only now
    await r.backend.installChildSa(b);
    const v4out = [...r.fake.policies.values()].find((p) => p.dir === 'out' && p.selector === 'src 10.99.0.77/32 dst 10.10.0.0/24');
    const v6out = [...r.fake.policies.values()].find((p) => p.dir === 'out' && p.selector === 'src fd00:99::77/128 dst fd00:10::/64');
    assert.equal(v4out?.tmplReqid, REQID_MIN + 21, 'shared selector now points at the new SA');
    assert.equal(v6out?.tmplReqid, REQID_MIN + 20);
    const updates = r.fake.calls.at(-1)?.input.split('\n').filter((l) => l.startsWith('xfrm policy update')) ?? [];
    assert.equal(updates.length, 3);
    await r.backend.removeChildSa(20);
    assert.equal([...r.fake.policies.values()].filter((p) => p.selector.includes('fd00')).length, 0, 'IPv6 policies only the old SA used are gone');
    assert.equal(r.fake.policies.size, 3, 'out/in/fwd for IPv4 (no IKE bypass with virtual IP selectors)');
    await r.backend.teardown('test');
    assert.equal(r.fake.policies.size, 0);
  });

  it('a kernel error rolls back what the batch added and never echoes the key', async () => {
    const initial = r.fake.snapshot();
    const spec = childSpec({ id: 30 });
    const outKey = keyHexes(spec)[1] ?? '';
    // iproute2 quotes the offending argument: that could be key hex
    r.fake.failOn = { match: /^xfrm state add .*spi 0xd000001e/, message: `Error: argument "0x${outKey}" is wrong: ALGO-KEYMAT value is invalid` };
    try {
      await assert.rejects(r.backend.installChildSa(spec), (e: unknown) => {
        assert.ok(isPlatformError(e));
        assert.equal(e.code, 'PLATFORM_ERROR');
        assert.equal(e.reason, 'command-failed');
        assert.match(e.message, /ALGO-KEYMAT value is invalid/);
        assertKeysOnlyOnStdin(r, keyHexes(spec), [e.message, JSON.stringify(e.details), String(e.stack)]);
        return true;
      });
    } finally {
      r.fake.failOn = undefined;
    }
    assert.equal(r.fake.snapshot(), initial, 'the inbound SA added before the failing line was removed again');
    assert.ok(r.logs.every((l) => l.event !== 'platform.rollback_failed'));
    // the same CHILD_SA can be installed once the cause is gone
    await r.backend.installChildSa(spec);
    await r.backend.teardown('test');
  });

  it('a foreign policy with the same selector is a conflict, reported as such', async () => {
    const initial = r.fake.snapshot();
    r.fake.policies.set('out src 10.99.0.77/32 dst 10.10.0.0/24', { dir: 'out', selector: 'src 10.99.0.77/32 dst 10.10.0.0/24', priority: 1000, index: 4000, tmplReqid: 7 });
    await assert.rejects(r.backend.installChildSa(childSpec({ id: 40 })), (e: unknown) => isPlatformError(e) && e.reason === 'conflict' && /File exists/.test(e.message));
    r.fake.policies.delete('out src 10.99.0.77/32 dst 10.10.0.0/24');
    assert.equal(r.fake.snapshot(), initial);
  });

  it('applyConfig failing half-way removes the address it added and leaves resolv.conf alone', async () => {
    const initial = r.fake.snapshot();
    const spec = childSpec({ id: 50 });
    await r.backend.installChildSa(spec);
    r.fake.failOn = { match: /^route add fd00/, message: 'RTNETLINK answers: Network is unreachable' };
    try {
      await assert.rejects(r.backend.applyConfig(configParams(spec)), /applyConfig\/network: ip -batch failed at "route fd00:10::\/64 table 21332": RTNETLINK answers: Network is unreachable/);
    } finally {
      r.fake.failOn = undefined;
    }
    assert.equal([...(r.fake.addresses.get('eth0') ?? [])].sort().join(), '192.0.2.2,2001:db8:2::2');
    assert.equal(r.fake.routes.size, 0);
    assert.equal(r.fake.rules.size, 0);
    assert.equal(await readFile(r.resolv, 'utf8'), ORIGINAL_RESOLV);
    await r.backend.teardown('test');
    assert.equal(r.fake.snapshot(), initial);
  });

  it('a VIP that is already on the interface is used but not removed later', async () => {
    r.fake.addresses.get('eth0')?.add('10.99.0.77');
    const spec = childSpec({ id: 60 });
    await r.backend.installChildSa(spec);
    await r.backend.applyConfig(configParams(spec));
    await r.backend.teardown('test');
    assert.ok(r.fake.addresses.get('eth0')?.has('10.99.0.77'));
    r.fake.addresses.get('eth0')?.delete('10.99.0.77');
  });

  it('applyConfig twice replaces the configuration (no duplicates, nothing left)', async () => {
    const initial = r.fake.snapshot();
    const spec = childSpec({ id: 70 });
    await r.backend.installChildSa(spec);
    await r.backend.applyConfig(configParams(spec));
    await r.backend.applyConfig(configParams(spec, { tunnel: { mode: 'split', include: [], exclude: ['10.10.0.128/25'], ipv6: false } }));
    assert.deepEqual([...r.fake.routes.keys()].sort(), ['21332|10.10.0.0/24', '21332|10.10.0.128/25']);
    assert.ok([...r.fake.policies.keys()].includes('out src 0.0.0.0/0 dst 10.10.0.128/25'), 'excluded network bypasses IPsec');
    await r.backend.teardown('test');
    assert.equal(r.fake.snapshot(), initial);
    assert.equal(await readFile(r.resolv, 'utf8'), ORIGINAL_RESOLV);
  });

  it('hostile DNS values from the gateway are dropped, not written', async () => {
    const spec = childSpec({ id: 80 });
    await r.backend.installChildSa(spec);
    const p = configParams(spec);
    await r.backend.applyConfig({
      ...p,
      config: { ...p.config, dns: ['10.10.0.53', '10.10.0.54\nnameserver 6.6.6.6'], dnsDomains: ['lab.example', 'x\noptions ndots:15', '--help'] },
    });
    const resolv = await readFile(r.resolv, 'utf8');
    assert.doesNotMatch(resolv, /6\.6\.6\.6|ndots|--help/);
    assert.match(resolv, /nameserver 10\.10\.0\.53\n/);
    const warn = r.logs.find((l) => l.event === 'platform.dns.dropped');
    assert.ok(warn && /10\.10\.0\.54\?nameserver 6\.6\.6\.6/.test(warn.message), warn?.message);
    await r.backend.teardown('test');
  });

  it('DNS through systemd-resolved: per-link servers and ~domains, previous link settings restored', async () => {
    const rr = await rig({ dns: 'resolved' });
    try {
      const spec = childSpec();
      await rr.backend.installChildSa(spec);
      await rr.backend.applyConfig(configParams(spec, { dnsOverride: { servers: ['10.10.0.53'], searchDomains: ['corp.example'], matchDomains: ['lab.example', 'internal'] } }));
      assert.deepEqual(rr.fake.resolved, { servers: ['10.10.0.53'], domains: ['~lab.example', '~internal', 'corp.example'], defaultRoute: 'yes' });
      const cmds = rr.fake.calls.filter((c) => c.file === 'resolvectl').map((c) => c.args.join(' '));
      assert.deepEqual(cmds, ['dns eth0', 'domain eth0', 'default-route eth0', 'dns eth0 10.10.0.53', 'domain eth0 ~lab.example ~internal corp.example']);
      await rr.backend.teardown('test');
      assert.deepEqual(rr.fake.resolved, { servers: ['192.168.1.1'], domains: ['home.arpa'], defaultRoute: 'yes' });
      assert.equal(await readFile(rr.resolv, 'utf8'), ORIGINAL_RESOLV, 'resolv.conf untouched with resolved');
      // full tunnel: every query to the VPN (~. and default-route)
      await rr.backend.installChildSa(spec);
      await rr.backend.applyConfig(configParams(spec, { tunnel: { mode: 'full', include: [], exclude: [], ipv6: true } }));
      assert.deepEqual(rr.fake.resolved.domains, ['~.', '~lab.example']);
      await rr.backend.teardown('test');
      assert.deepEqual(rr.fake.resolved.domains, ['home.arpa']);
    } finally {
      await rm(rr.dir, { recursive: true, force: true });
    }
  });

  it('installing the same CHILD_SA id twice is a conflict; calls are serialised', async () => {
    const spec = childSpec({ id: 90 });
    const results = await Promise.allSettled([r.backend.installChildSa(spec), r.backend.installChildSa(spec), r.backend.readCounters()]);
    assert.equal(results[0]?.status, 'fulfilled');
    assert.ok(results[1]?.status === 'rejected' && isPlatformError(results[1].reason) && results[1].reason.reason === 'conflict');
    assert.equal(results[2]?.status, 'fulfilled');
    await r.backend.teardown('test');
  });

  it('teardown twice: the second finds nothing and is still clean', async () => {
    const again = await r.backend.teardown('again');
    assert.deepEqual(again.removed, { sa: 0, policy: 0, route: 0, rule: 0, address: 0, dns: 0 });
    assert.equal(again.clean, true);
  });
});

describe('createPlatformBackend', () => {
  it('picks Linux here, and the Windows/macOS stubs reject with PlatformUnsupportedError', async () => {
    assert.equal(createPlatformBackend({ platform: 'linux' }).name, 'linux-xfrm');
    for (const [platform, name, text] of [
      ['win32', 'windows-ras', /windows-ras backend only works on win32, not on linux/],
      ['darwin', 'macos-nevpn', /macos-nevpn backend only works on darwin, not on linux/],
    ] as const) {
      const b = createPlatformBackend({ platform });
      assert.equal(b.name, name);
      await assert.rejects(b.installChildSa(childSpec()), (e: unknown) => e instanceof PlatformUnsupportedError && e.code === 'PLATFORM_ERROR' && text.test(e.message));
      await assert.rejects(b.teardown('x'), PlatformUnsupportedError);
    }
    assert.throws(() => createPlatformBackend({ platform: 'aix' }), (e: unknown) => e instanceof PlatformError && e.reason === 'unsupported-platform');
  });
});
