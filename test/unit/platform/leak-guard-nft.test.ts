// The leak guard's nftables variant against the host's real kernel (which has
// nf_tables' inet family, unlike the UML lab's), in two private network
// namespaces this test creates (needs root):
//
//   netns C (guarded client)                 netns P (the outside world)
//   v0 198.18.0.2/24, fd00:198::2/64  ----   v1 198.18.0.1  "gateway"  (UDP echo on 500/4500)
//                                                198.18.0.3  "stranger" (UDP echo on 500, ping)
//                                                198.18.0.200 "LAN host" (allowLan 198.18.0.128/25)
//                                                fd00:198::1 "gateway", fd00:198::3 "stranger"
//
// What it proves with real packets: a sender outside the tunnel gets nothing
// through (ping and UDP to the stranger, ping to the gateway, IPv4 and IPv6),
// while IKE to the gateway (both ways), the allowed LAN and loopback pass;
// replacing the spec is atomic and drops the old gateway; disable and a crash
// sweep (a fresh instance) remove the table. The host kernel has no ESP, so
// the "traffic inside the tunnel passes" half (rt/meta ipsec) is proven in
// the UML lab with the iptables variant (test/lab/suites/network.suite.ts).

import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';

import { LeakGuard } from '../../../native-helper/src/platform/linux/leak-guard.js';
import type { LeakGuardSpec } from '../../../native-helper/src/platform/linux/leak-guard.js';

const tag = `${process.pid.toString(36)}${randomBytes(2).toString('hex')}`;
const C = `sg-c-${tag}`;
const P = `sg-p-${tag}`;
const GW4 = '198.18.0.1';
const STRANGER4 = '198.18.0.3';
const LAN_HOST4 = '198.18.0.200';
const GW6 = 'fd00:198::1';
const STRANGER6 = 'fd00:198::3';

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

/** A UDP echo server in netns P on the given addresses and ports (node, so no extra tools). */
function startEcho(binds: ReadonlyArray<[string, number]>): Promise<ChildProcess> {
  const code = `const d=require('dgram');let n=0;for(const [a,p] of ${JSON.stringify(binds)}){const s=d.createSocket(a.includes(':')?'udp6':'udp4');s.on('message',(m,r)=>s.send(m,r.port,r.address));s.bind(p,a,()=>{if(++n===${binds.length})process.stdout.write('ready\\n')})}`;
  const child = spawn('ip', ['netns', 'exec', P, process.execPath, '-e', code], { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    child.stdout?.once('data', () => resolve(child));
    child.once('exit', (c) => reject(new Error(`echo server exited ${c}`)));
  });
}

/** Sends one UDP datagram from netns C (bound to sourcePort) and says whether the echo came back within 700 ms. */
function udpEcho(dest: string, port: number, sourcePort: number, expectSuccess = false): boolean {
  for (let i = 0; i < (expectSuccess ? 3 : 1); i++) if (udpEchoOnce(dest, port, sourcePort)) return true;
  return false;
}

function udpEchoOnce(dest: string, port: number, sourcePort: number): boolean {
  const code = `const s=require('dgram').createSocket('${dest.includes(':') ? 'udp6' : 'udp4'}');const t=setTimeout(()=>{process.stdout.write('timeout');process.exit(0)},700);s.on('error',e=>{process.stdout.write('error '+e.code);process.exit(0)});s.on('message',()=>{process.stdout.write('echo');clearTimeout(t);process.exit(0)});s.bind(${sourcePort},()=>s.send('x',${port},'${dest}'))`;
  const r = sh(['ip', 'netns', 'exec', C, process.execPath, '-e', code]);
  return r.out.trim() === 'echo';
}

/** One probe; for an expected success up to three (neighbour discovery on a loaded machine can take over a second). */
function pings(dest: string, expectSuccess = false): boolean {
  for (let i = 0; i < (expectSuccess ? 3 : 1); i++) {
    if (sh(['ip', 'netns', 'exec', C, 'ping', '-n', '-c1', '-W1', dest]).code === 0) return true;
  }
  return false;
}

const tableExists = (): boolean => sh(['ip', 'netns', 'exec', C, 'nft', 'list', 'table', 'inet', 'strait_guard']).code === 0;

describe('leak guard, nftables variant, in a private network namespace', () => {
  const skip = canRun();
  let dir = '';
  let echo: ChildProcess | undefined;
  const spec: LeakGuardSpec = { gateways: [GW4, GW6], allowLan: ['198.18.0.128/25'] };

  before(async () => {
    if (skip !== undefined) return;
    dir = await mkdtemp(join(tmpdir(), 'strait-guard-'));
    must(['ip', 'netns', 'add', P]);
    must(['ip', 'link', 'add', 'v0', 'netns', C, 'type', 'veth', 'peer', 'name', 'v1', 'netns', P]);
    for (const [ns, dev, addrs] of [
      [C, 'v0', ['198.18.0.2/24', 'fd00:198::2/64']],
      [P, 'v1', [`${GW4}/24`, `${STRANGER4}/24`, `${LAN_HOST4}/24`, `${GW6}/64`, `${STRANGER6}/64`]],
    ] as const) {
      for (const a of addrs) must(['ip', '-n', ns, 'addr', 'add', a, 'dev', dev, ...(a.includes(':') ? ['nodad'] : [])]);
      must(['ip', '-n', ns, 'link', 'set', dev, 'up']);
      must(['ip', '-n', ns, 'link', 'set', 'lo', 'up']);
    }
    echo = await startEcho([
      [GW4, 500],
      [GW4, 4500],
      [STRANGER4, 500],
      [GW6, 4500],
      [STRANGER6, 500],
    ]);
    // Baseline: without the guard everything answers (so a failure below is the guard's doing).
    assert.ok(pings(STRANGER4, true), 'baseline ping IPv4');
    assert.ok(pings(STRANGER6, true), 'baseline ping IPv6');
    assert.ok(pings(GW4, true), 'baseline ping gateway');
    assert.ok(udpEcho(STRANGER4, 500, 0, true) && udpEcho(GW4, 500, 500, true), 'baseline UDP');
  });

  after(async () => {
    echo?.kill('SIGKILL');
    sh(['ip', 'netns', 'del', C]);
    sh(['ip', 'netns', 'del', P]);
    if (dir !== '') await rm(dir, { recursive: true, force: true });
  });

  it('blocks everything outside the tunnel but IKE/ESP to the gateway, the LAN and loopback', { skip }, async () => {
    const guard = new LeakGuard({ netns: C, runtimeDir: dir });
    assert.equal(await guard.enable(spec), 'nft', 'the host kernel has the inet family: auto must pick nft');
    assert.ok(tableExists());
    // journaled before it changed anything
    assert.ok((await stat(join(dir, 'leak-guard.json'))).isFile());

    assert.equal(pings(STRANGER4), false, 'ping to a stranger (IPv4) got through');
    assert.equal(pings(STRANGER6), false, 'ping to a stranger (IPv6) got through');
    assert.equal(pings(GW4), false, 'only IKE/ESP may reach the gateway, not ICMP');
    assert.equal(udpEcho(STRANGER4, 500, 0), false, 'UDP to a stranger got through');
    assert.equal(udpEcho(GW4, 500, 500, true), true, 'IKE (UDP 500) to the gateway and its answer must pass');
    assert.equal(udpEcho(GW4, 4500, 4500, true), true, 'NAT-T (UDP 4500) to the gateway and its answer must pass');
    assert.equal(udpEcho(GW6, 4500, 4500, true), true, 'IKE over IPv6 needs neighbour discovery and must pass');
    assert.equal(pings(LAN_HOST4, true), true, 'the allowed LAN must stay reachable');
    assert.equal(pings('127.0.0.1', true), true, 'loopback must pass');

    // Replacing the spec is one transaction: the old gateway loses its exemption.
    await guard.enable({ gateways: [STRANGER4], allowLan: [] });
    assert.equal(udpEcho(STRANGER4, 500, 500, true), true, 'the new gateway must be reachable');
    assert.equal(udpEcho(GW4, 500, 500), false, 'the old gateway must be blocked after the replacement');
    assert.equal(pings(LAN_HOST4), false, 'the LAN exemption must be gone');

    await guard.disable();
    assert.equal(tableExists(), false);
    assert.equal(pings(STRANGER4, true), true, 'after disable everything passes again');
    await assert.rejects(stat(join(dir, 'leak-guard.json')), 'the intent record is removed with the guard');
    await guard.disable(); // idempotent
  });

  it('a fresh process sweeps a guard a crashed one left behind', { skip }, async () => {
    const crashed = new LeakGuard({ netns: C, runtimeDir: dir });
    await crashed.enable(spec);
    assert.equal(pings(STRANGER4), false);
    // "kill -9": the instance is simply abandoned; the next daemon sweeps at start.
    const next = new LeakGuard({ netns: C, runtimeDir: dir });
    const r = await next.sweep();
    assert.deepEqual(r, { removed: true, problems: [] });
    assert.equal(tableExists(), false);
    assert.equal(pings(STRANGER4, true), true);
    assert.deepEqual(await next.sweep(), { removed: false, problems: [] }, 'a second sweep finds nothing');
  });
});
