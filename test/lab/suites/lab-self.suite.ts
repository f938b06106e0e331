// Proves the lab itself works, with strongSwan's own client against the lab
// gateway: the topology is what topology.ts says, the LAN is closed without a
// tunnel, and each gateway connection brings up a CHILD_SA that carries
// IPv4 and IPv6 traffic to the LAN host, with identical keys on both ends.

import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { after, before, describe, it } from 'node:test';

import type { BackgroundProcess, XfrmState } from '../support/guest.js';
import { gwXfrmState, ping, reachable, run, setClearForwarding, startLanEcho, startLanIperf, swanctlGw, waitFor, xfrmState } from '../support/guest.js';
import type { StrongswanClient, SwClientConnection } from '../support/strongswan-client.js';
import { readLog, startStrongswanClient } from '../support/strongswan-client.js';
import type { Netns } from '../support/topology.js';
import { CLIENT, GW, LAB_TOPOLOGY, LAN, POOL } from '../support/topology.js';

interface IpAddrJson {
  readonly ifname: string;
  readonly addr_info: ReadonlyArray<{ readonly local: string; readonly prefixlen: number }>;
}

async function addresses(ns: Netns): Promise<Map<string, string[]>> {
  const r = await run(['ip', '-n', LAB_TOPOLOGY.netns[ns], '-j', 'addr', 'show'], { check: true });
  const parsed = JSON.parse(r.stdout) as IpAddrJson[];
  return new Map(parsed.map((i) => [i.ifname, i.addr_info.map((a) => `${a.local}/${a.prefixlen}`)]));
}

function inPool4(ip: string | undefined): boolean {
  return ip !== undefined && ip.startsWith('10.99.0.') && POOL.ipv4 === '10.99.0.0/24';
}

function inPool6(ip: string | undefined): boolean {
  return ip !== undefined && ip.startsWith('fd00:99::') && POOL.ipv6 === 'fd00:99::/112';
}

const esp = (states: readonly XfrmState[]): XfrmState[] => states.filter((s) => s.proto === 'esp' && s.mode === 'tunnel');

/** The gateway connection (and remote identity) an IKE_SA was matched to, from `swanctl --list-sas`. */
async function gwSaSummary(): Promise<string> {
  const r = await swanctlGw(['--list-sas'], { check: true });
  return r.stdout;
}

/** Sends `text` to the LAN echo server from `localAddress` and returns what came back. */
function tcpEcho(localAddress: string, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const sock = connect({ host: LAN.ipv4, port: LAN.ports.echo, localAddress, timeout: 10_000 });
    let got = '';
    sock.on('connect', () => sock.write(text));
    sock.on('data', (b: Buffer) => {
      got += b.toString('utf8');
      if (got.length >= text.length) sock.end();
    });
    sock.on('timeout', () => sock.destroy(new Error('echo timed out')));
    sock.on('error', reject);
    sock.on('close', () => resolve(got));
  });
}

async function assertLanClosed(): Promise<void> {
  // Both probes at once: each waits its full second when the LAN is closed.
  const [v4, v6] = await Promise.all([reachable('client', LAN.ipv4), reachable('client', LAN.ipv6)]);
  assert.equal(v4, false, `${LAN.ipv4} answered a clear ping from the client`);
  assert.equal(v6, false, `${LAN.ipv6} answered a clear ping from the client`);
}

describe('lab topology', () => {
  it('namespaces carry the addresses from topology.ts', async () => {
    const c = await addresses('client');
    assert.ok(c.get(CLIENT.iface)?.includes(`${CLIENT.ipv4}/${CLIENT.prefix4}`), `client ${CLIENT.iface}: ${c.get(CLIENT.iface)?.join(' ')}`);
    assert.ok(c.get(CLIENT.iface)?.includes(`${CLIENT.ipv6}/${CLIENT.prefix6}`));
    const g = await addresses('gw');
    for (const a of GW.outside4) assert.ok(g.get(GW.outsideIface)?.includes(`${a}/${GW.prefix4}`), `gw ${GW.outsideIface} lacks ${a}`);
    assert.ok(g.get(GW.outsideIface)?.includes(`${GW.outside6}/${GW.prefix6}`));
    assert.ok(g.get(GW.insideIface)?.includes(`${GW.inside4}/${GW.prefix4}`));
    assert.ok(g.get(GW.insideIface)?.includes(`${GW.inside6}/${GW.prefix6}`));
    const l = await addresses('lan');
    assert.ok(l.get(LAN.iface)?.includes(`${LAN.ipv4}/${LAN.prefix4}`));
    assert.ok(l.get(LAN.iface)?.includes(`${LAN.ipv6}/${LAN.prefix6}`));
  });

  it('the LAN is unreachable from the client without a tunnel', assertLanClosed);

  it('the guard is what closes the LAN: setClearForwarding(true) opens it, (false) closes it', async () => {
    await setClearForwarding(true);
    try {
      assert.equal(await reachable('client', LAN.ipv4), true, 'LAN not reachable with clear forwarding allowed');
      assert.equal(await reachable('client', LAN.ipv6), true, 'LAN (IPv6) not reachable with clear forwarding allowed');
    } finally {
      await setClearForwarding(false);
    }
    await assertLanClosed();
  });

  it('the gateway loaded all five connections', async () => {
    const r = await swanctlGw(['--list-conns'], { check: true });
    for (const name of Object.keys(LAB_TOPOLOGY.connections)) assert.match(r.stdout, new RegExp(`^${name}: IKEv2`, 'm'));
  });
});

describe('strongSwan client against the lab gateway', () => {
  let sw: StrongswanClient;
  let echo: Promise<BackgroundProcess>;

  before(async () => {
    // Node needs seconds to start under UML: let the LAN echo server boot meanwhile.
    echo = startLanEcho();
    echo.catch(() => undefined);
    sw = await startStrongswanClient();
  });

  after(async () => {
    await sw?.stop();
    await (await echo?.catch(() => undefined))?.stop();
  });

  /** Connects `conn`, checks the CHILD_SA on both ends, pings the LAN over v4 and v6, terminates. */
  function fullCheck(conn: SwClientConnection, gwConn: string, opts: { lanServices?: boolean } = {}): void {
    describe(`${conn} -> ${gwConn}`, () => {
      it('CHILD_SA up', async () => {
        const r = await sw.initiate(conn);
        assert.equal(r.code, 0, `swanctl --initiate ${conn}: ${r.stdout.split('\n').slice(-3).join(' | ')}`);
        assert.match(await gwSaSummary(), new RegExp(`^${gwConn}: #\\d+, ESTABLISHED, IKEv2`, 'm'));
      });

      it('tunnel-mode ESP SAs with the same keys on client and gateway', async () => {
        const client = esp(await xfrmState('client'));
        const gw = esp(await gwXfrmState());
        assert.ok(client.length >= 2, `client has ${client.length} ESP tunnel SAs`);
        for (const s of client) {
          assert.equal(s.aead?.alg, 'rfc4106(gcm(aes))');
          const peer = gw.find((g) => g.spi === s.spi && g.src === s.src && g.dst === s.dst);
          assert.ok(peer, `gateway has no SA with SPI ${s.spiHex} ${s.src} -> ${s.dst}`);
          // Never print key material: compare, report only the SPI.
          assert.ok(peer.aead?.keyHex === s.aead?.keyHex && (s.aead?.keyHex.length ?? 0) === 72, `AEAD keys differ for SPI ${s.spiHex}`);
        }
      });

      it('virtual IPv4 + IPv6 from the pools, DNS servers received', async () => {
        const vips = await sw.virtualIps();
        assert.ok(inPool4(vips.ipv4), `IPv4 VIP ${vips.ipv4 ?? 'none'}`);
        assert.ok(inPool6(vips.ipv6), `IPv6 VIP ${vips.ipv6 ?? 'none'}`);
        const resolv = await waitFor(async () => (await run(['cat', sw.resolvConf])).stdout || undefined, 5000, { what: sw.resolvConf });
        assert.match(resolv, new RegExp(`nameserver ${POOL.dns4.replaceAll('.', '\\.')}`));
        assert.match(resolv, new RegExp(`nameserver ${POOL.dns6}`));
        // INTERNAL_DNS_DOMAIN (RFC 8598) travels in the CP reply; charon 5.9.8 cannot apply it, only parse it.
        assert.match(readLog(sw), new RegExp(`<${conn}\\|\\d+> parsed IKE_AUTH response \\d+ \\[[^\\]]*CPRP\\([^)]*DOMAIN`));
      });

      it('ping 10.10.0.10 through the tunnel (3/3), ESP counters move', async () => {
        const vips = await sw.virtualIps();
        const before = esp(await xfrmState('client', { stats: true })).reduce((n, s) => n + (s.stats?.packets ?? 0), 0);
        const p = await ping('client', LAN.ipv4, { count: 3, ...(vips.ipv4 ? { from: vips.ipv4 } : {}) });
        assert.equal(p.received, 3, p.output);
        const afterCount = esp(await xfrmState('client', { stats: true })).reduce((n, s) => n + (s.stats?.packets ?? 0), 0);
        assert.ok(afterCount - before >= 6, `ESP packet counters moved by ${afterCount - before}, expected >= 6`);
      });

      it('ping fd00:10::10 from the IPv6 virtual IP (3/3)', async () => {
        const vips = await sw.virtualIps();
        assert.ok(vips.ipv6, 'no IPv6 virtual IP');
        const p = await ping('client', LAN.ipv6, { count: 3, from: vips.ipv6 });
        assert.equal(p.received, 3, p.output);
      });

      if (opts.lanServices) {
        it('TCP echo and a 1 s iperf3 run to the LAN host through the tunnel', async () => {
          const vip = (await sw.virtualIps()).ipv4;
          assert.ok(vip, 'no IPv4 virtual IP');
          await echo;
          assert.equal(await tcpEcho(vip, 'hello through ESP'), 'hello through ESP');
          const iperf = await startLanIperf();
          try {
            const r = await run(['iperf3', '-c', LAN.ipv4, '-p', String(LAN.ports.iperf3), '-B', vip, '-t', '1', '-J'], { timeoutMs: 30_000, check: true });
            const report = JSON.parse(r.stdout) as { end?: { sum_received?: { bits_per_second?: number } } };
            assert.ok((report.end?.sum_received?.bits_per_second ?? 0) > 0, 'iperf3 received nothing');
          } finally {
            await iperf.stop();
          }
        });
      }

      it('terminate: SAs gone, LAN unreachable again', async () => {
        const r = await sw.terminate(conn);
        assert.equal(r.code, 0, r.stderr);
        await waitFor(async () => esp(await xfrmState('client')).length === 0, 5000, { what: 'client ESP SAs removed' });
        await assertLanClosed();
      });
    });
  }

  /** Connects `conn`, pings the LAN over IPv4, terminates; `extra` checks more while it is up. */
  function quickCheck(conn: SwClientConnection, gwConn: string, extra?: () => Promise<void>): void {
    it(`${conn} -> ${gwConn}: connect, ping, terminate`, async () => {
      const r = await sw.initiate(conn);
      try {
        assert.equal(r.code, 0, `swanctl --initiate ${conn}: ${r.stdout.split('\n').slice(-3).join(' | ')}`);
        assert.match(await gwSaSummary(), new RegExp(`^${gwConn}: #\\d+, ESTABLISHED, IKEv2`, 'm'));
        const vips = await sw.virtualIps();
        const p = await ping('client', LAN.ipv4, { count: 3, ...(vips.ipv4 ? { from: vips.ipv4 } : {}) });
        assert.equal(p.received, 3, p.output);
        await extra?.();
      } finally {
        await sw.terminate(conn);
      }
      await waitFor(async () => esp(await xfrmState('client')).length === 0, 5000, { what: 'client ESP SAs removed' });
    });
  }

  fullCheck('psk', 'rw-psk', { lanServices: true });
  fullCheck('ecdsa', 'rw-ecdsa');

  quickCheck('ecdsa-email', 'rw-ecdsa', async () => {
    assert.match(await gwSaSummary(), /alice@lab\.example/);
  });
  quickCheck('eap', 'rw-eap');
  quickCheck('rsa', 'rw-rsa');
  quickCheck('psk-full', 'rw-psk', async () => {
    // RFC 7296 §2.9: the client asked for 0.0.0.0/0 + ::/0; the gateway narrowed it to its LAN.
    const sas = await sw.swanctl(['--list-sas', '--ike', 'psk-full'], { check: true });
    assert.match(sas.stdout, new RegExp(`^\\s+remote ${LAN.subnet4.replaceAll('.', '\\.')} ${LAN.subnet6}\\s*$`, 'm'), sas.stdout);
  });
  quickCheck('ecp384', 'rw-ecp384', async () => {
    // The client proposed ECP-256 first; the gateway demanded group 20 (RFC 7296 §1.2).
    assert.match(readLog(sw), /peer didn't accept DH group ECP_256, it requested ECP_384/);
    assert.match(await gwSaSummary(), /ECP_384/);
  });
});
