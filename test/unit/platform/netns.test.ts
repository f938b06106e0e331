// The Linux backend against the host's real kernel, inside a private network
// namespace this test creates (needs root): routes, rules, addresses and XFRM
// policies are real here; ESP states are not (the host kernel has no ESP,
// LAB.md), so SA installation is checked for its clean failure and the
// rest of the SA path runs in the UML lab suite (test/lab/suites/platform.suite.ts).

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';

import { isPlatformError } from '../../../native-helper/src/platform/errors.js';
import { markedCount, removeMarked, scanMarks } from '../../../native-helper/src/platform/linux/cleanup.js';
import type { CommandRequest, CommandRunner } from '../../../native-helper/src/platform/linux/command-runner.js';
import { spawnRunner } from '../../../native-helper/src/platform/linux/command-runner.js';
import { IpCommand } from '../../../native-helper/src/platform/linux/ip-command.js';
import { LinuxBackend } from '../../../native-helper/src/platform/linux/linux-backend.js';
import { childPolicies, ikeBypassPolicies, policyLine } from '../../../native-helper/src/platform/linux/xfrm.js';
import { childSpec, configParams, keyHexes, ts } from './specs.js';

const NS = `strait-ut-${process.pid}-${randomBytes(3).toString('hex')}`;
const ORIGINAL_RESOLV = 'nameserver 192.168.1.1\n';

function ipSync(args: readonly string[]): string {
  const r = spawnSync('ip', args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`ip ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

/** Creating a namespace needs root (CAP_SYS_ADMIN); without it these tests cannot run. */
function canUseNetns(): string | undefined {
  if (process.getuid?.() !== 0) return 'needs root to create a network namespace';
  const r = spawnSync('ip', ['netns', 'add', NS], { encoding: 'utf8' });
  return r.status === 0 ? undefined : `ip netns add failed: ${r.stderr.trim()}`;
}

/** Everything the backend could touch in the namespace, in a comparable form. */
function snapshot(): string {
  const json = (args: string[]): unknown[] => JSON.parse(ipSync(['-n', NS, '-j', ...args]) || '[]') as unknown[];
  const routes = (f: string): unknown[] =>
    json([f, 'route', 'show', 'table', 'all']).map((r) => {
      const x = r as Record<string, unknown>;
      return [x['type'], x['dst'], x['table'], x['dev'], x['gateway'], x['protocol']];
    });
  const addrs = json(['address', 'show']).flatMap((l) =>
    ((l as { addr_info?: Array<{ local: string; prefixlen: number }> }).addr_info ?? []).map((a) => `${a.local}/${a.prefixlen}`),
  );
  return JSON.stringify({
    routes4: routes('-4'),
    routes6: routes('-6'),
    rules4: json(['-4', 'rule', 'show']),
    rules6: json(['-6', 'rule', 'show']),
    addrs: addrs.sort(),
    policies: ipSync(['-n', NS, 'xfrm', 'policy', 'list', 'nosock']),
    states: ipSync(['-n', NS, 'xfrm', 'state']),
  });
}

/** The real runner, recording argv/stdin so tests can check where keys went. */
function recording(): { runner: CommandRunner; calls: CommandRequest[] } {
  const calls: CommandRequest[] = [];
  return { calls, runner: (req) => (calls.push(req), spawnRunner(req)) };
}

const skip = canUseNetns();

describe('real kernel in a private network namespace', { skip }, () => {
  let dir: string;
  let resolv: string;
  let initial: string;
  const make = (runner: CommandRunner): LinuxBackend =>
    new LinuxBackend({ runner, netns: NS, runtimeDir: join(dir, 'run'), persistentDir: join(dir, 'lib'), resolvConfPath: resolv, dns: 'file' });

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'strait-netns-'));
    resolv = join(dir, 'resolv.conf');
    await writeFile(resolv, ORIGINAL_RESOLV);
    // the client side of the lab topology: eth0 with 192.0.2.2/24 and 2001:db8:2::2/64, default via .1
    const n = ['-n', NS];
    ipSync([...n, 'link', 'set', 'lo', 'up']);
    ipSync([...n, 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'peer0']);
    // No link-local addresses: their duplicate address detection finishes ~1 s
    // later and would change the routing tables between two snapshots.
    ipSync([...n, 'link', 'set', 'eth0', 'addrgenmode', 'none']);
    ipSync([...n, 'link', 'set', 'peer0', 'addrgenmode', 'none']);
    ipSync([...n, 'address', 'add', '192.0.2.2/24', 'dev', 'eth0']);
    ipSync([...n, 'address', 'add', '2001:db8:2::2/64', 'dev', 'eth0', 'nodad']);
    ipSync([...n, 'link', 'set', 'peer0', 'up']);
    ipSync([...n, 'link', 'set', 'eth0', 'up']);
    ipSync([...n, 'route', 'add', 'default', 'via', '192.0.2.1']);
    ipSync([...n, '-6', 'route', 'add', 'default', 'via', '2001:db8:2::1']);
    initial = snapshot();
  });

  after(async () => {
    spawnSync('ip', ['netns', 'delete', NS]);
    await rm(dir, { recursive: true, force: true });
  });

  it('installChildSa fails cleanly where the kernel has no ESP: typed error, nothing left, keys only on stdin', async () => {
    const { runner, calls } = recording();
    const spec = childSpec();
    await assert.rejects(make(runner).installChildSa(spec), (e: unknown) => {
      assert.ok(isPlatformError(e));
      assert.match(e.message, /Requested (AEAD algorithm|type) not found/);
      for (const k of keyHexes(spec)) assert.ok(!e.message.includes(k));
      return true;
    });
    for (const c of calls) for (const k of keyHexes(spec)) assert.ok(!c.args.join(' ').includes(k), 'key in argv');
    assert.ok(calls.some((c) => keyHexes(spec).every((k) => c.input?.includes(k))), 'the keys did go to ip on stdin');
    assert.equal(snapshot(), initial);
  });

  it('XFRM policies: installed for real, found by their marks, removed; a foreign policy survives', async () => {
    const ip = new IpCommand({ runner: spawnRunner, netns: NS });
    const spec = childSpec({ remoteTs: [ts('10.10.0.0', '10.10.0.255'), ts('fd00:10::', 'fd00:10::ffff:ffff:ffff:ffff')] });
    // the IKE bypass of a tunnel whose selectors could carry IKE (host-to-host, no virtual IP), with port selectors
    const bypass = ikeBypassPolicies({ ...spec, localTs: [ts('0.0.0.0', '255.255.255.255')], remoteTs: [ts('0.0.0.0', '255.255.255.255')] });
    assert.equal(bypass.length, 4);
    const policies = [...bypass, ...childPolicies(spec, 0x5354_0001)];
    await ip.batchOrThrow('test', policies.map((p) => policyLine(p, 'add')));
    ipSync(['-n', NS, 'xfrm', 'policy', 'add', 'src', '10.1.0.0/16', 'dst', '10.2.0.0/16', 'dir', 'out', 'priority', '375423', 'tmpl', 'src', '192.0.2.2', 'dst', '192.0.2.9', 'proto', 'esp', 'reqid', '1', 'mode', 'tunnel']);
    const marked = await scanMarks(ip);
    assert.equal(marked.policies.length, 10);
    assert.deepEqual(
      marked.policies.filter((p) => p.dir === 'out' && p.tmplReqids.length > 0).map((p) => p.selector).sort(),
      ['src 10.99.0.77/32 dst 10.10.0.0/24', 'src fd00:99::77/128 dst fd00:10::/64'],
    );
    const removed = await removeMarked(ip, marked);
    assert.equal(removed.counts.policy, 10);
    assert.deepEqual(removed.problems, []);
    assert.equal(markedCount(await scanMarks(ip)), 0);
    assert.match(ipSync(['-n', NS, 'xfrm', 'policy', 'list', 'nosock']), /src 10\.1\.0\.0\/16 dst 10\.2\.0\.0\/16/);
    ipSync(['-n', NS, 'xfrm', 'policy', 'delete', 'src', '10.1.0.0/16', 'dst', '10.2.0.0/16', 'dir', 'out']);
    assert.equal(snapshot(), initial);
  });

  it('applyConfig: VIP, table 21332 + rule, the gateway stays on the main route; teardown restores the namespace exactly', async () => {
    const b = make(spawnRunner);
    const spec = childSpec();
    await b.applyConfig(configParams(spec, { tunnel: { mode: 'split', include: [], exclude: ['10.10.0.128/25'], ipv6: true }, mtu: 1380 }));
    // the kernel's own answer to "how would a packet go"
    assert.match(ipSync(['-n', NS, 'route', 'get', '10.10.0.10']), /10\.10\.0\.10 via 192\.0\.2\.1 dev eth0 table 21332 src 10\.99\.0\.77 .*\n\s+cache mtu 1380/);
    assert.match(ipSync(['-n', NS, 'route', 'get', '10.10.0.200']), /^10\.10\.0\.200 via 192\.0\.2\.1 dev eth0 src 192\.0\.2\.2 /, 'excluded network: original route and address');
    assert.match(ipSync(['-n', NS, 'route', 'get', '192.0.2.1']), /^192\.0\.2\.1 dev eth0 src 192\.0\.2\.2 /, 'the gateway keeps its original route');
    assert.match(ipSync(['-n', NS, '-6', 'route', 'get', 'fd00:10::10']), /dev eth0 table 21332 .*src fd00:99::77 /);
    assert.match(ipSync(['-n', NS, 'xfrm', 'policy', 'list', 'nosock']), /src 0\.0\.0\.0\/0 dst 10\.10\.0\.128\/25 \n\tdir out priority 1398014208/);
    assert.match(await readFile(resolv, 'utf8'), /nameserver 10\.10\.0\.53/);
    const report = await b.teardown('test');
    assert.deepEqual(report.problems, []);
    assert.deepEqual(report.removed, { sa: 0, policy: 2, route: 3, rule: 2, address: 2, dns: 1 });
    assert.equal(report.clean, true);
    assert.equal(snapshot(), initial);
    assert.equal(await readFile(resolv, 'utf8'), ORIGINAL_RESOLV);
  });

  it('crash mid-apply (the last batch, the IPv6 rule, ran; no answer): a new backend sweeps the namespace back to its start', async () => {
    let hang = true;
    const dying: CommandRunner = async (req) => {
      // decide before the batch runs: the test clears `hang` as soon as the rule is visible, which can be before `ip` exits
      const dies = hang && req.args.includes('-6') && req.input?.includes('rule add') === true;
      const r = await spawnRunner(req);
      if (dies) return new Promise(() => undefined);
      return r;
    };
    const spec = childSpec();
    void make(dying).applyConfig(configParams(spec));
    const t0 = Date.now();
    while (!ipSync(['-n', NS, '-6', 'rule', 'show']).includes('21332')) {
      if (Date.now() - t0 > 10_000) throw new Error('the IPv6 batch never ran');
      await new Promise((r) => setTimeout(r, 20));
    }
    hang = false;
    assert.notEqual(snapshot(), initial);
    const report = await make(spawnRunner).sweepStale();
    assert.deepEqual(report.problems, []);
    assert.equal(report.clean, true);
    assert.equal(report.fromJournal.address, 2);
    assert.equal(report.fromJournal.route, 2);
    assert.equal(snapshot(), initial);
    assert.equal(await readFile(resolv, 'utf8'), ORIGINAL_RESOLV);
  });

  it('journal lost: the marker sweep removes routes, rules, policies and the VIPs (address metric 21332)', async () => {
    const b = make(spawnRunner);
    await b.applyConfig(configParams(childSpec(), { tunnel: { mode: 'split', include: [], exclude: ['10.10.0.128/25'], ipv6: true } }));
    await rm(join(dir, 'run'), { recursive: true, force: true });
    const report = await make(spawnRunner).sweepStale();
    assert.deepEqual(report.fromMarkers, { sa: 0, policy: 2, route: 3, rule: 2, address: 2, dns: 0 });
    assert.equal(report.fromJournal.dns, 1, 'resolv.conf backup lives in the persistent dir');
    assert.equal(report.clean, true);
    assert.equal(snapshot(), initial);
  });
});
