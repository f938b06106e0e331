// "Allow local LAN" for the leak guard (local-networks.ts + leak-guard-rules.ts):
// which prefixes count as local (parsing `ip -j` output), then real packets in two
// private network namespaces on the host kernel (nftables variant; needs root):
//
//   netns C (guarded client)                        netns P (the outside world)
//   v0 198.18.1.2/24, fd00:199::2/64, fe80::  ----  v1 198.18.1.1 "gateway", 198.18.1.5 "LAN host",
//                                                      fd00:199::1, fd00:199::5, fe80:: (link-local)
//                                                   lo 203.0.113.9 "internet host" (C routes it via .1)
//   v2 198.18.2.2/24 (another interface)  --------  v3 198.18.2.1 "host behind another interface"
//
// With allowLocalNetworks the LAN host (v4, v6 and link-local) answers; the internet
// host and the host behind the other interface never do; without it the LAN host is
// shut too (control). A baseline without the guard proves every probe can succeed.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';

import { isPlatformError } from '../../../native-helper/src/platform/errors.js';
import { LinuxBackend } from '../../../native-helper/src/platform/linux/linux-backend.js';
import { connectedNetworks, readLocalNetworks } from '../../../native-helper/src/platform/linux/local-networks.js';
import { IpCommand } from '../../../native-helper/src/platform/linux/ip-command.js';
import type { CommandRunner } from '../../../native-helper/src/platform/linux/command-runner.js';
import { ADDRESS_METRIC } from '../../../native-helper/src/platform/linux/marks.js';
import { childSpec, configParams, ts } from './specs.js';

const ADDRESSES = JSON.stringify([
  { ifname: 'lo', addr_info: [{ family: 'inet', local: '127.0.0.1', prefixlen: 8 }] },
  {
    ifname: 'wlan0',
    addr_info: [
      { family: 'inet', local: '192.168.1.77', prefixlen: 24 },
      { family: 'inet', local: '10.99.0.7', prefixlen: 32, metric: ADDRESS_METRIC }, // Strait's virtual IP
      { family: 'inet6', local: '2001:db8:1:2:aa:bb:cc:dd', prefixlen: 64 },
      { family: 'inet6', local: '2001:db8:1:2::99', prefixlen: 128 }, // a DHCPv6 host address
      { family: 'inet6', local: 'fe80::aa:bb:cc:dd', prefixlen: 64 },
    ],
  },
  { ifname: 'docker0', addr_info: [{ family: 'inet', local: '172.17.0.1', prefixlen: 16 }] },
]);

describe('leak guard: local networks (allowLan)', () => {
  it('takes the connected prefixes of the gateway\'s interface only: v4, v6, link-local; no host addresses, no virtual IPs, no other interface', () => {
    assert.deepEqual(connectedNetworks(ADDRESSES, new Set(['wlan0'])), [
      { iface: 'wlan0', family: 4, cidr: '192.168.1.0/24' },
      { iface: 'wlan0', family: 6, cidr: '2001:db8:1:2::/64' },
      { iface: 'wlan0', family: 6, cidr: 'fe80::/64' },
    ]);
    assert.deepEqual(connectedNetworks('garbage', new Set(['wlan0'])), []);
  });

  it('asks the kernel in one ip run; an unroutable gateway address is skipped, none routable is an error', async () => {
    const seen: string[] = [];
    const runner: CommandRunner = async (req) => {
      seen.push(`${req.args.join(' ')} <<${req.input ?? ''}`);
      if (req.input?.includes('route get 2001:db8::1') === true) return { exitCode: 1, stdout: '', stderr: 'Command failed -:1\nRTNETLINK answers: Network is unreachable' };
      if (req.input !== undefined) return { exitCode: 0, stdout: `[{"dst":"192.0.2.1","gateway":"192.168.1.1","dev":"wlan0"}]\n${ADDRESSES}\n`, stderr: '' };
      if (req.args.includes('2001:db8::1')) return { exitCode: 2, stdout: '', stderr: 'RTNETLINK answers: Network is unreachable' };
      if (req.args.includes('route')) return { exitCode: 0, stdout: '[{"dst":"192.0.2.1","dev":"wlan0"}]', stderr: '' };
      return { exitCode: 0, stdout: ADDRESSES, stderr: '' };
    };
    const ip = new IpCommand({ runner });
    assert.equal((await readLocalNetworks(ip, ['192.0.2.1'])).length, 3);
    assert.equal(seen.length, 1, 'one process for route and addresses');
    assert.equal((await readLocalNetworks(ip, ['192.0.2.1', '2001:db8::1'])).length, 3, 'the v6 gateway has no route: skipped');
    await assert.rejects(readLocalNetworks(ip, ['2001:db8::1']), (e: unknown) => isPlatformError(e) && /no route to the gateway/.test(e.message));
    await assert.rejects(readLocalNetworks(ip, ['192.0.2.1\naddress flush dev wlan0']));
  });
});

// ---------------------------------------------------------------- real packets (root, nftables)

const tag = `${process.pid.toString(36)}${randomBytes(2).toString('hex')}`;
const C = `sl-c-${tag}`;
const P = `sl-p-${tag}`;
const GW4 = '198.18.1.1';
const LAN4 = '198.18.1.5';
const LAN6 = 'fd00:199::5';
const FAR4 = '203.0.113.9';
const OTHER4 = '198.18.2.1';

function sh(argv: readonly string[]): { code: number; out: string } {
  const r = spawnSync(argv[0] ?? '', argv.slice(1), { encoding: 'utf8', timeout: 15_000 });
  return { code: r.status ?? -1, out: `${r.stdout}${r.stderr}` };
}
function must(argv: readonly string[]): string {
  const r = sh(argv);
  if (r.code !== 0) throw new Error(`${argv.join(' ')}: ${r.out}`);
  return r.out;
}
function canRun(): string | undefined {
  if (process.getuid?.() !== 0) return 'needs root to create network namespaces';
  if (sh(['nft', '--version']).code !== 0) return 'nft is not installed';
  const r = sh(['ip', 'netns', 'add', C]);
  return r.code === 0 ? undefined : `ip netns add failed: ${r.out.trim()}`;
}
/** One probe; for an expected success up to three (neighbour discovery on a loaded machine can be slow). */
function pings(dest: string, expectSuccess = false): boolean {
  for (let i = 0; i < (expectSuccess ? 3 : 1); i++) if (sh(['ip', 'netns', 'exec', C, 'ping', '-n', '-c1', '-W1', dest]).code === 0) return true;
  return false;
}

describe('leak guard with allowLocalNetworks, nftables, real packets in private namespaces', () => {
  const skip = canRun();
  let dir = '';
  let linkLocal = '';

  before(async () => {
    if (skip !== undefined) return;
    dir = await mkdtemp(join(tmpdir(), 'strait-lan-'));
    must(['ip', 'netns', 'add', P]);
    // No DAD: addresses (link-local too) are usable at once.
    for (const ns of [C, P]) must(['ip', 'netns', 'exec', ns, 'sysctl', '-q', '-w', 'net.ipv6.conf.default.accept_dad=0', 'net.ipv6.conf.all.accept_dad=0']);
    must(['ip', 'link', 'add', 'v0', 'netns', C, 'type', 'veth', 'peer', 'name', 'v1', 'netns', P]);
    must(['ip', 'link', 'add', 'v2', 'netns', C, 'type', 'veth', 'peer', 'name', 'v3', 'netns', P]);
    for (const [ns, dev, addrs] of [
      [C, 'v0', ['198.18.1.2/24', 'fd00:199::2/64']],
      [P, 'v1', [`${GW4}/24`, `${LAN4}/24`, 'fd00:199::1/64', `${LAN6}/64`]],
      [C, 'v2', ['198.18.2.2/24']],
      [P, 'v3', [`${OTHER4}/24`]],
      [P, 'lo', [`${FAR4}/32`]],
    ] as const) {
      for (const a of addrs) must(['ip', '-n', ns, 'addr', 'add', a, 'dev', dev, ...(a.includes(':') ? ['nodad'] : [])]);
      must(['ip', '-n', ns, 'link', 'set', dev, 'up']);
    }
    must(['ip', '-n', C, 'link', 'set', 'lo', 'up']);
    must(['ip', '-n', C, 'route', 'add', '203.0.113.0/24', 'via', GW4]);
    must(['ip', 'netns', 'exec', P, 'sysctl', '-q', '-w', 'net.ipv4.ip_forward=1']);
    // The kernel adds the link-local address once the link has carrier: wait for it.
    for (let i = 0; i < 50 && linkLocal === ''; i++) {
      const v1 = JSON.parse(must(['ip', '-n', P, '-j', '-6', 'addr', 'show', 'dev', 'v1', 'scope', 'link'])) as Array<{ addr_info?: Array<{ local?: string }> }>;
      const ll = v1[0]?.addr_info?.find((a) => a.local !== undefined)?.local; // iproute2 prints {} for filtered-out entries
      if (ll !== undefined) linkLocal = `${ll}%v0`;
      else await new Promise((r) => setTimeout(r, 100));
    }
    assert.notEqual(linkLocal, '', 'P has a link-local address on v1');
    // Baseline without the guard: every probe below can succeed.
    for (const d of [LAN4, LAN6, linkLocal, FAR4, OTHER4]) assert.ok(pings(d, true), `baseline ping ${d}`);
  });

  after(async () => {
    sh(['ip', 'netns', 'del', C]);
    sh(['ip', 'netns', 'del', P]);
    if (dir !== '') await rm(dir, { recursive: true, force: true });
  });

  it('the LAN of the gateway\'s link passes (v4, v6, link-local); the internet and another interface\'s network do not; off → the LAN is shut', { skip }, async () => {
    const logs: string[] = [];
    const backend = new LinuxBackend({ netns: C, runtimeDir: join(dir, 'run'), persistentDir: join(dir, 'lib'), dns: 'none', leakGuardVariant: 'nft', log: (e) => logs.push(e.message) });
    try {
      await backend.enableLeakGuard({ gateways: [GW4], allowLan: [], allowLocalNetworks: true });
      const table = must(['ip', 'netns', 'exec', C, 'nft', 'list', 'table', 'inet', 'strait_guard']);
      assert.match(table, /oifname "v0" ip daddr 198\.18\.1\.0\/24 accept/);
      assert.match(table, /oifname "v0" ip6 daddr fe80::\/64 accept/);
      assert.doesNotMatch(table, /v2|198\.18\.2\./, 'only the interface towards the gateway');
      assert.ok(pings(LAN4, true), 'LAN host (IPv4) on the gateway\'s link must answer');
      assert.ok(pings(LAN6, true), 'LAN host (IPv6) on the gateway\'s link must answer');
      assert.ok(pings(linkLocal, true), 'link-local neighbour must answer');
      assert.equal(pings(FAR4), false, 'a host beyond the router got a packet outside the tunnel');
      assert.equal(pings(OTHER4), false, 'a host behind another interface got a packet');
      assert.ok(logs.some((m) => m.includes('198.18.1.0/24 on v0')), logs.join('\n'));

      // A full tunnel (0.0.0.0/0) with excludeLocalNetworks: the LAN keeps its direct route, the internet goes to table 21332.
      const spec = childSpec({ local: '198.18.1.2', remote: GW4, remoteTs: [ts('0.0.0.0', '255.255.255.255')], localTs: [ts('10.99.0.77')] });
      await backend.applyConfig(configParams(spec, { tunnel: { mode: 'full', include: [], exclude: [], ipv6: false, excludeLocalNetworks: true } }));
      assert.match(must(['ip', '-n', C, 'route', 'get', LAN4]), /^198\.18\.1\.5 dev v0 src 198\.18\.1\.2 /, 'the LAN stays on its connected route');
      assert.match(must(['ip', '-n', C, 'route', 'get', FAR4]), /table 21332 src 10\.99\.0\.77/, 'the internet goes into the tunnel');
      assert.match(must(['ip', '-n', C, 'xfrm', 'policy', 'list', 'nosock']), /dst 198\.18\.1\.0\/24 \n\tdir out priority/, 'a bypass policy keeps the LAN out of the full-tunnel policy');
      assert.ok(pings(LAN4, true), 'LAN host answers with a full tunnel configured');
      const down = await backend.teardown('test');
      assert.ok(down.clean, JSON.stringify(down.problems));

      await backend.enableLeakGuard({ gateways: [GW4], allowLan: [] });
      assert.equal(pings(LAN4), false, 'control: without allowLocalNetworks the LAN host is shut');
      assert.equal(pings(linkLocal), false, 'control: link-local shut too');
    } finally {
      await backend.disableLeakGuard();
    }
    assert.ok(pings(LAN4, true), 'after disable the LAN answers again');
  });
});
