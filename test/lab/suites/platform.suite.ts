// The Linux platform backend against a real kernel with ESP (the UML guest).
// A manually keyed tunnel: this process (netns `client`) installs its side
// through LinuxBackend; the test installs the mirror image on the gateway
// (`ip -n gw -batch -`, keys on stdin) next to — never touching — the
// gateway's own charon state. Traffic to the LAN host must flow through ESP
// (the lab's guard blocks it in clear), and teardown / a crash + sweep must
// leave the client namespace exactly as it was.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash, randomBytes, randomInt } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';

import type { ChildSaSpec, EspAlgorithms } from '../../../native-helper/src/ike/actions.js';
import type { TrafficSelector } from '../../../native-helper/src/ike/codec/types.js';
import { EncrId, IntegId, TsType } from '../../../native-helper/src/ike/constants.js';
import type { ApplyConfigParams, PlatformLogEntry } from '../../../native-helper/src/platform/backend.js';
import { parseIp } from '../../../native-helper/src/platform/linux/cidr.js';
import { LinuxBackend } from '../../../native-helper/src/platform/linux/linux-backend.js';
import { isStraitReqid } from '../../../native-helper/src/platform/linux/marks.js';
import { parseXfrmStates } from '../../../native-helper/src/platform/linux/xfrm-parse.js';
import { childPolicies, policyDeleteLine, policyLine, saAddLine, saDeleteLine, validateChildSa } from '../../../native-helper/src/platform/linux/xfrm.js';
import type { BackgroundProcess } from '../support/guest.js';
import { labState, ping, reachable, run, spawnBackground, startLanEcho, waitFor } from '../support/guest.js';
import { CLIENT, GW, LAN, NETNS, POOL } from '../support/topology.js';

const VIP4 = '10.99.0.77';
const VIP6 = 'fd00:99::77';
const RESOLV_BEFORE = '# lab test file, not the real one\nnameserver 192.0.2.53\nsearch outside.example\n';

// ---------------------------------------------------------------- inputs

function addrBytes(a: string): Uint8Array {
  const { family, value } = parseIp(a);
  const n = family === 4 ? 4 : 16;
  return Uint8Array.from({ length: n }, (_, i) => Number((value >> BigInt(8 * (n - 1 - i))) & 0xffn));
}

function ts(start: string, end = start): TrafficSelector {
  return { tsType: start.includes(':') ? TsType.TS_IPV6_ADDR_RANGE : TsType.TS_IPV4_ADDR_RANGE, ipProtocol: 0, startPort: 0, endPort: 65535, startAddress: addrBytes(start), endAddress: addrBytes(end) };
}

const ALGS: Record<string, { algorithms: EspAlgorithms; enc: number; integ: number }> = {
  'AES-GCM-16-256': { algorithms: { encr: EncrId.AES_GCM_16, encrKeyLength: 256, esn: false }, enc: 36, integ: 0 },
  'AES-GCM-16-128 + ESN': { algorithms: { encr: EncrId.AES_GCM_16, encrKeyLength: 128, esn: true }, enc: 20, integ: 0 },
  'AES-CBC-256 + HMAC-SHA2-256-128': { algorithms: { encr: EncrId.AES_CBC, encrKeyLength: 256, integ: IntegId.HMAC_SHA2_256_128, esn: false }, enc: 32, integ: 32 },
  'ChaCha20-Poly1305': { algorithms: { encr: EncrId.CHACHA20_POLY1305, esn: false }, enc: 36, integ: 0 },
};

let nextId = 1;
/** A CHILD_SA between the client and the main gateway address, keys generated now. */
function spec(alg: keyof typeof ALGS, opts: { encap?: boolean } = {}): ChildSaSpec {
  const a = ALGS[alg];
  if (!a) throw new Error(`unknown algorithm ${alg}`);
  const keys = (): ChildSaSpec['inbound'] => ({ spi: randomInt(0xc000_0000, 0xcfff_ffff), encKey: randomBytes(a.enc), ...(a.integ > 0 ? { integKey: randomBytes(a.integ) } : {}) });
  const port = opts.encap ? 4500 : 500;
  return {
    id: nextId++,
    local: { address: CLIENT.ipv4, port },
    remote: { address: GW.outside4[0], port },
    algorithms: a.algorithms,
    inbound: keys(),
    outbound: keys(),
    localTs: [ts(VIP4), ts(VIP6)],
    remoteTs: [ts('10.10.0.0', '10.10.0.255'), ts('fd00:10::', 'fd00:10::ffff:ffff:ffff:ffff')],
    encap: opts.encap ? { localPort: 4500, remotePort: 4500 } : null,
    lifetime: { soft: 3000, hard: 3600 },
    replayWindow: 64,
  };
}

function config(s: ChildSaSpec): ApplyConfigParams {
  return {
    config: { ipv4: { address: VIP4, prefixLength: 32 }, ipv6: { address: VIP6, prefixLength: 128 }, dns: [POOL.dns4, POOL.dns6], dnsDomains: [POOL.dnsDomain], subnets: [] },
    childSa: s,
    tunnel: { mode: 'split', include: [], exclude: [], ipv6: true },
  };
}

/** The gateway's view of the same CHILD_SA: directions, selectors and encapsulation ports swapped. */
function mirror(s: ChildSaSpec): ChildSaSpec {
  return {
    ...s,
    local: s.remote,
    remote: s.local,
    inbound: s.outbound,
    outbound: s.inbound,
    localTs: s.remoteTs,
    remoteTs: s.localTs,
    encap: s.encap ? { localPort: s.encap.remotePort, remotePort: s.encap.localPort } : null,
  };
}

// ---------------------------------------------------------------- gateway side (test-owned)

const GW_REQID = 0x5354_0f00;
/** every CHILD_SA this suite created, to search the logs for their keys */
const usedSpecs: ChildSaSpec[] = [];

async function ipBatch(ns: string, lines: readonly string[], check = true): Promise<void> {
  // keys only on stdin: a failing command is quoted in errors, its input is not
  await run(['ip', '-n', ns, '-batch', '-'], { input: lines.join('\n') + '\n', check });
}

async function gwInstall(s: ChildSaSpec): Promise<void> {
  usedSpecs.push(s);
  const m = mirror(s);
  const alg = validateChildSa(m);
  await ipBatch(NETNS.gw, [
    saAddLine(m, 'in', GW_REQID, alg).text,
    saAddLine(m, 'out', GW_REQID, alg).text,
    ...childPolicies(m, GW_REQID).map((p) => policyLine(p, 'add').text),
  ]);
}

async function gwRemove(s: ChildSaSpec): Promise<void> {
  const m = mirror(s);
  // one line at a time: `ip xfrm` stops a batch at its first error
  for (const line of [...childPolicies(m, GW_REQID).map(policyDeleteLine), saDeleteLine({ src: m.remote.address, dst: m.local.address, spi: m.inbound.spi }), saDeleteLine({ src: m.local.address, dst: m.remote.address, spi: m.outbound.spi })]) {
    await ipBatch(NETNS.gw, [line.text], false);
  }
}

/** Removes the gateway's mirror of `s` now (the next test installs the same selectors). */
async function gwForget(installed: ChildSaSpec[], s: ChildSaSpec): Promise<void> {
  await gwRemove(s);
  const i = installed.indexOf(s);
  if (i >= 0) installed.splice(i, 1);
}

/** Packets the gateway decrypted on the SA the client sends with. */
async function gwPacketsIn(s: ChildSaSpec): Promise<number> {
  const r = await run(['ip', '-n', NETNS.gw, '-s', 'xfrm', 'state', 'list', 'nokeys'], { check: true });
  return parseXfrmStates(r.stdout).find((x) => x.spi === s.outbound.spi && x.dst === GW.outside4[0])?.packets ?? -1;
}

// ---------------------------------------------------------------- client-side snapshots

async function clientSnapshot(resolv: string): Promise<Record<string, string>> {
  const ip = async (...args: string[]): Promise<string> => (await run(['ip', ...args], { check: true })).stdout;
  const routes = async (f: string): Promise<string> =>
    JSON.stringify(
      (JSON.parse(await ip(f, '-j', 'route', 'show', 'table', 'all')) as Array<Record<string, unknown>>).map((r) => [r['type'], r['dst'], r['table'], r['dev'], r['gateway'], r['protocol']]),
    );
  const addrs = (JSON.parse(await ip('-j', 'address', 'show')) as Array<{ addr_info?: Array<{ local: string; prefixlen: number }> }>)
    .flatMap((l) => (l.addr_info ?? []).map((a) => `${a.local}/${a.prefixlen}`))
    .sort();
  return {
    states: await ip('xfrm', 'state', 'list', 'nokeys'),
    policies: await ip('xfrm', 'policy', 'list', 'nosock'),
    routes4: await routes('-4'),
    routes6: await routes('-6'),
    rules4: await ip('-4', 'rule', 'show'),
    rules6: await ip('-6', 'rule', 'show'),
    addresses: addrs.join(' '),
    resolv: await readFile(resolv, 'utf8'),
  };
}

/** Sends `size` random bytes to the LAN echo server from whatever source the kernel picks; returns the sha256 of what came back. */
function echoRoundTrip(size: number): Promise<{ sent: string; received: string; bytes: number }> {
  const data = randomBytes(size);
  return new Promise((resolve, reject) => {
    const sock = connect({ host: LAN.ipv4, port: LAN.ports.echo, timeout: 60_000 });
    const h = createHash('sha256');
    let got = 0;
    sock.on('connect', () => sock.end(data));
    sock.on('data', (b: Buffer) => {
      h.update(b);
      got += b.length;
    });
    sock.on('timeout', () => sock.destroy(new Error(`echo timed out after ${got} bytes`)));
    sock.on('error', reject);
    sock.on('close', () => resolve({ sent: createHash('sha256').update(data).digest('hex'), received: h.digest('hex'), bytes: got }));
  });
}

// ---------------------------------------------------------------- the suite

describe('Linux platform backend on a kernel with ESP', () => {
  let dir: string;
  let resolv: string;
  let baseline: Record<string, string>;
  let echo: Promise<BackgroundProcess>;
  const logs: PlatformLogEntry[] = [];
  const gwInstalled: ChildSaSpec[] = [];
  const make = (): LinuxBackend =>
    new LinuxBackend({ runtimeDir: join(dir, 'run'), persistentDir: join(dir, 'lib'), resolvConfPath: resolv, dns: 'file', log: (e) => logs.push(e) });

  before(async () => {
    echo = startLanEcho(); // Node needs seconds to start under UML: let it boot meanwhile
    echo.catch(() => undefined);
    dir = await mkdtemp('/tmp/strait-platform-');
    resolv = join(dir, 'resolv.conf');
    await writeFile(resolv, RESOLV_BEFORE);
    await run(['ip', '-n', NETNS.gw, 'route', 'add', `${VIP4}/32`, 'via', CLIENT.ipv4, 'dev', GW.outsideIface], { check: true });
    await run(['ip', '-n', NETNS.gw, 'route', 'add', `${VIP6}/128`, 'via', CLIENT.ipv6, 'dev', GW.outsideIface], { check: true });
    baseline = await clientSnapshot(resolv);
  });

  after(async () => {
    for (const s of gwInstalled) await gwRemove(s);
    await run(['ip', '-n', NETNS.gw, 'route', 'del', `${VIP4}/32`]);
    await run(['ip', '-n', NETNS.gw, 'route', 'del', `${VIP6}/128`]);
    await (await echo.catch(() => undefined))?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  async function assertBackToBaseline(): Promise<void> {
    const now = await clientSnapshot(resolv);
    for (const k of Object.keys(baseline)) assert.equal(now[k], baseline[k], `client ${k} differs from before the test`);
  }

  describe('a manually keyed tunnel (AES-GCM-16-256)', () => {
    let backend: LinuxBackend;
    let s: ChildSaSpec;

    before(async () => {
      backend = make();
      s = spec('AES-GCM-16-256');
    });

    it('installChildSa + applyConfig in the client, the mirror on the gateway', async () => {
      await backend.installChildSa(s);
      await backend.applyConfig(config(s));
      await gwInstall(s);
      gwInstalled.push(s);
      const states = parseXfrmStates((await run(['ip', '-s', 'xfrm', 'state', 'list', 'nokeys'], { check: true })).stdout);
      const ours = states.filter((x) => x.spi === s.inbound.spi || x.spi === s.outbound.spi);
      assert.equal(ours.length, 2);
      assert.ok(ours.every((x) => x.mode === 'tunnel' && isStraitReqid(x.reqid)));
      const route = (await run(['ip', 'route', 'get', LAN.ipv4], { check: true })).stdout;
      assert.match(route, new RegExp(`dev ${CLIENT.iface} table 21332 src ${VIP4.replaceAll('.', '\\.')}`));
      assert.match(await readFile(resolv, 'utf8'), new RegExp(`nameserver ${POOL.dns4.replaceAll('.', '\\.')}`));
    });

    it(`ping ${LAN.ipv4} through ESP: the gateway's SA counts it, readCounters shows both directions`, async () => {
      const gwBefore = await gwPacketsIn(s);
      const p = await ping('client', LAN.ipv4, { count: 3 }); // no -I: the route's src picks the VIP
      assert.equal(p.received, 3, p.output);
      assert.ok((await gwPacketsIn(s)) - gwBefore >= 3, 'the gateway decrypted fewer than 3 packets');
      const c = await backend.readCounters();
      assert.ok(c.packetsOut >= 3 && c.packetsIn >= 3, JSON.stringify(c));
      assert.deepEqual(c.sas.map((x) => x.direction).sort(), ['in', 'out']);
      assert.ok(c.sas.some((x) => x.spi === `0x${s.outbound.spi.toString(16).padStart(8, '0')}` && x.bytes > 0));
      assert.ok(c.sas.every((x) => x.addTime !== undefined && Math.abs(x.addTime - Date.now()) < 10 * 60_000), 'SA add time read from the kernel');
    });

    it(`ping ${LAN.ipv6} from ${VIP6} (IPv6 inside the IPv4 SA pair)`, async () => {
      const p = await ping('client', LAN.ipv6, { count: 3 });
      assert.equal(p.received, 3, p.output);
    });

    it('TCP: 1 MB to the LAN echo server and back, intact; the byte counters move by at least that', async () => {
      await echo;
      const before = await backend.readCounters();
      const r = await echoRoundTrip(1 << 20);
      assert.equal(r.bytes, 1 << 20);
      assert.equal(r.received, r.sent, 'echoed data differs');
      const afterC = await backend.readCounters();
      assert.ok(afterC.bytesOut - before.bytesOut >= 1 << 20, `out +${afterC.bytesOut - before.bytesOut}`);
      assert.ok(afterC.bytesIn - before.bytesIn >= 1 << 20, `in +${afterC.bytesIn - before.bytesIn}`);
      // the counter format, from this kernel, for the unit-test fixtures' provenance
      const cap = await run(['ip', '-s', 'xfrm', 'state', 'list', 'nokeys'], { check: true });
      await writeFile(join(labState().logDir, 'platform-xfrm-state-nokeys.txt'), cap.stdout);
    });

    it('teardown: states, policies, routes, rules, addresses and resolv.conf as before; the LAN is closed again', async () => {
      const report = await backend.teardown('lab test');
      assert.deepEqual(report.problems, []);
      assert.equal(report.clean, true);
      assert.deepEqual(report.removed, { sa: 2, policy: 6, route: 2, rule: 2, address: 2, dns: 1 });
      await assertBackToBaseline();
      assert.equal(await reachable('client', LAN.ipv4), false, 'LAN reachable in clear after teardown');
      await gwForget(gwInstalled, s);
    });
  });

  for (const alg of ['AES-GCM-16-128 + ESN', 'AES-CBC-256 + HMAC-SHA2-256-128', 'ChaCha20-Poly1305'] as const) {
    it(`${alg}: both families carry traffic, teardown leaves nothing`, async () => {
      const backend = make();
      const s = spec(alg);
      try {
        await backend.installChildSa(s);
        await backend.applyConfig(config(s));
        await gwInstall(s);
        gwInstalled.push(s);
        assert.equal((await ping('client', LAN.ipv4, { count: 2 })).received, 2);
        assert.equal((await ping('client', LAN.ipv6, { count: 2 })).received, 2);
        const c = await backend.readCounters();
        assert.ok(c.packetsIn >= 4 && c.packetsOut >= 4, JSON.stringify(c));
      } finally {
        const report = await backend.teardown('lab test');
        await gwForget(gwInstalled, s);
        assert.equal(report.clean, true, JSON.stringify(report.problems));
      }
      await assertBackToBaseline();
    });
  }

  it('UDP encapsulation (espinudp 4500/4500): ESP inside UDP reaches the gateway and back', async () => {
    // Decapsulation needs a UDP socket with UDP_ENCAP = ESPINUDP on the local
    // port (RFC 3948; in production the daemon's IKE socket, which Node cannot
    // configure: see platform/linux/xfrm.ts). The gateway's charon holds one
    // on :4500; here perl (perl-base is always installed on Debian) does:
    // setsockopt(SOL_UDP = 17, UDP_ENCAP = 100, UDP_ENCAP_ESPINUDP = 2).
    const holder = spawnBackground(
      [
        'perl',
        '-MSocket',
        '-e',
        'socket(my $s, PF_INET, SOCK_DGRAM, 0) or die "socket: $!"; bind($s, pack_sockaddr_in(4500, INADDR_ANY)) or die "bind: $!"; ' +
          'setsockopt($s, 17, 100, 2) or die "setsockopt: $!"; $| = 1; print "ready\\n"; sleep 120',
      ],
      { netns: 'client', logFile: join(labState().logDir, 'platform-encap-socket.log') },
    );
    const backend = make();
    const s = spec('AES-GCM-16-256', { encap: true });
    try {
      await waitFor(async () => (await readFile(holder.logFile, 'utf8')).includes('ready'), 20_000, { what: 'the UDP_ENCAP socket on :4500' });
      await backend.installChildSa(s);
      await backend.applyConfig(config(s));
      await gwInstall(s);
      gwInstalled.push(s);
      const st = (await run(['ip', 'xfrm', 'state', 'list', 'nokeys'], { check: true })).stdout;
      assert.match(st, /encap type espinudp sport 4500 dport 4500 addr 0\.0\.0\.0/);
      const gwBefore = await gwPacketsIn(s);
      const p = await ping('client', LAN.ipv4, { count: 3 });
      assert.equal(p.received, 3, p.output);
      assert.ok((await gwPacketsIn(s)) - gwBefore >= 3);
      assert.equal((await ping('client', LAN.ipv6, { count: 2 })).received, 2);
    } finally {
      const report = await backend.teardown('lab test');
      await gwForget(gwInstalled, s);
      await holder.stop();
      assert.equal(report.clean, true, JSON.stringify(report.problems));
    }
    await assertBackToBaseline();
  });

  it('kill -9 of a process holding a tunnel: a fresh backend sweepStale() removes everything', async () => {
    const s = spec('AES-GCM-16-256');
    await gwInstall(s);
    gwInstalled.push(s);
    // The child gets the spec, keys included, on stdin — never argv.
    const moduleUrl = new URL('../../../native-helper/src/platform/linux/linux-backend.js', import.meta.url).href;
    const script = join(dir, 'holder.mjs');
    await writeFile(
      script,
      `import { LinuxBackend } from ${JSON.stringify(moduleUrl)};
let text = '';
for await (const chunk of process.stdin) text += chunk;
const { spec, config, dirs } = JSON.parse(text, (k, v) => (v && v.$hex !== undefined ? Uint8Array.from(Buffer.from(v.$hex, 'hex')) : v));
const b = new LinuxBackend({ runtimeDir: dirs.run, persistentDir: dirs.lib, resolvConfPath: dirs.resolv, dns: 'file' });
await b.installChildSa(spec);
await b.applyConfig({ ...config, childSa: spec });
console.log('ready');
setInterval(() => {}, 1000);
`,
    );
    // Buffers would serialise through toJSON: look at the raw value the replacer's holder has.
    const payload = JSON.stringify({ spec: s, config: { ...config(s), childSa: undefined }, dirs: { run: join(dir, 'run'), lib: join(dir, 'lib'), resolv } }, function (this: Record<string, unknown>, k: string, v: unknown) {
      const raw = this[k];
      return raw instanceof Uint8Array ? { $hex: Buffer.from(raw).toString('hex') } : v;
    });
    const child = spawn(process.execPath, [script], { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (b: Buffer) => (out += b.toString()));
    child.stderr.on('data', (b: Buffer) => (err += b.toString()));
    const exited = new Promise<string>((resolve) => child.on('exit', (code, signal) => resolve(`${code ?? signal}`)));
    child.stdin.end(payload);
    const ready = waitFor(() => out.includes('ready'), 60_000, { what: 'the holder process to bring the tunnel up' });
    await Promise.race([ready, exited.then((code) => Promise.reject(new Error(`holder exited (${code}) before it was ready: ${err.slice(-500)}`)))]);
    assert.equal((await ping('client', LAN.ipv4, { count: 2 })).received, 2, 'the tunnel of the killed process worked');
    child.kill('SIGKILL');
    assert.equal(await exited, 'SIGKILL');
    assert.notDeepEqual(await clientSnapshot(resolv), baseline, 'the killed process left its state behind');

    const report = await make().sweepStale();
    assert.deepEqual(report.problems, []);
    assert.equal(report.clean, true);
    assert.deepEqual(report.fromJournal, { sa: 2, policy: 6, route: 2, rule: 2, address: 2, dns: 1 });
    assert.deepEqual(report.fromMarkers, { sa: 0, policy: 0, route: 0, rule: 0, address: 0, dns: 0 });
    await assertBackToBaseline();
    assert.equal(await reachable('client', LAN.ipv4), false);
    await gwForget(gwInstalled, s);
  });

  it('no key material in any log entry of the backend', () => {
    assert.ok(logs.length > 0);
    const text = JSON.stringify(logs);
    assert.ok(usedSpecs.length >= 6);
    for (const s of usedSpecs) {
      for (const k of [s.inbound.encKey, s.outbound.encKey, s.inbound.integKey, s.outbound.integKey]) {
        if (k) assert.ok(!text.includes(Buffer.from(k).toString('hex')), 'key hex in a platform log entry');
      }
    }
  });
});
