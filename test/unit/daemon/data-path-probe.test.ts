/**
 * The data-path probe on its own (daemon/data-path-probe.ts): the DNS query
 * it sends, where it sends it, and the bounded wait for the inbound counters;
 * the real sender over loopback UDP.
 */
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { describe, it } from 'node:test';

import { DNS_PORT, PROBE_DEFAULTS, dnsProbeQuery, pickProbeTarget, pickProbeTargets, probeDataPath, udpProbeSender, type ProbeTarget } from '../../../native-helper/src/daemon/data-path-probe.js';
import type { AssignedConfig } from '../../../native-helper/src/ike/actions.js';
import { selectorFromCidr } from '../../../native-helper/src/ike/traffic-selectors.js';

const cfg = (over: Partial<AssignedConfig> = {}): AssignedConfig => ({ ipv4: { address: '10.99.0.1', prefixLength: 32 }, dns: ['10.10.0.53'], dnsDomains: [], subnets: [], ...over });
const TARGET: ProbeTarget = { from: '127.0.0.1', address: '127.0.0.1', port: DNS_PORT, kind: 'dns' };

describe('data-path probe', () => {
  it('the query is a DNS query for the root SOA (RFC 1035 §4.1): 17 octets, RD, one question', () => {
    const q = dnsProbeQuery(0xbeef);
    assert.equal(q.length, 17);
    assert.deepEqual([...q], [0xbe, 0xef, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 6, 0, 1]);
  });

  it('target: a pushed DNS server inside the remote selectors; else the first host of a remote network; never outside the tunnel', () => {
    assert.deepEqual(pickProbeTarget(cfg(), [selectorFromCidr('10.10.0.0/24')]), { from: '10.99.0.1', address: '10.10.0.53', port: 53, kind: 'dns' });
    assert.deepEqual(pickProbeTarget(cfg(), [selectorFromCidr('0.0.0.0/0')]), { from: '10.99.0.1', address: '10.10.0.53', port: 53, kind: 'dns' });
    // the DNS server is not in the tunnel: the probe goes to the remote network's first host instead
    assert.deepEqual(pickProbeTarget(cfg({ dns: ['192.0.2.53'] }), [selectorFromCidr('10.10.0.0/24')]), { from: '10.99.0.1', address: '10.10.0.1', port: 53, kind: 'selector' });
    // a single remote host is its own target
    assert.deepEqual(pickProbeTarget(cfg({ dns: [] }), [selectorFromCidr('10.10.0.7/32')])?.address, '10.10.0.7');
    // everything (0.0.0.0/0) and no DNS: nothing stands for the far side
    assert.equal(pickProbeTarget(cfg({ dns: [] }), [selectorFromCidr('0.0.0.0/0')]), undefined);
    // a v6 DNS server is probed from the v6 virtual IP only
    assert.equal(pickProbeTarget(cfg({ dns: ['fd00:10::53'] }), [selectorFromCidr('::/0')]), undefined);
    assert.deepEqual(pickProbeTarget(cfg({ ipv6: { address: 'fd00:99::1', prefixLength: 128 }, dns: ['fd00:10::53'] }), [selectorFromCidr('::/0')]), { from: 'fd00:99::1', address: 'fd00:10::53', port: 53, kind: 'dns' });
    // no virtual IP: nothing to send from
    assert.equal(pickProbeTarget({ dns: ['10.10.0.53'], dnsDomains: [], subnets: [] }, [selectorFromCidr('0.0.0.0/0')]), undefined);
  });

  it("targets: the pushed DNS server and the remote network's first host, per family, one datagram each per try", async () => {
    const both = cfg({ ipv6: { address: 'fd00:99::1', prefixLength: 128 }, dns: ['10.10.0.53', 'fd00:10::53'] });
    const ts = [selectorFromCidr('10.10.0.0/24'), selectorFromCidr('fd00:10::/64')];
    assert.deepEqual(
      pickProbeTargets(both, ts).map((t) => [t.from, t.address, t.kind]),
      [
        ['10.99.0.1', '10.10.0.53', 'dns'],
        ['fd00:99::1', 'fd00:10::53', 'dns'],
        ['10.99.0.1', '10.10.0.1', 'selector'],
      ],
    );
    assert.deepEqual(pickProbeTargets(cfg(), [selectorFromCidr('0.0.0.0/0')]).map((t) => t.address), ['10.10.0.53']);
    const to: string[] = [];
    const r = await probeDataPath({
      targets: pickProbeTargets(both, ts),
      readInbound: () => Promise.resolve(0),
      send: (t) => Promise.resolve(void to.push(t.address)),
      clock: Date.now,
      random: (n) => new Uint8Array(n),
      policy: { tries: 2, tryMs: 20, pollMs: 5 },
    });
    assert.equal(r.ok, false);
    assert.deepEqual(to, ['10.10.0.53', 'fd00:10::53', '10.10.0.1', '10.10.0.53', 'fd00:10::53', '10.10.0.1']);
  });

  it('ok as soon as the inbound count rises (here: after the second datagram)', async () => {
    let inbound = 5;
    let sent = 0;
    const r = await probeDataPath({
      targets: [TARGET],
      readInbound: () => Promise.resolve(inbound),
      send: () => {
        sent++;
        if (sent === 2) inbound += 1;
        return Promise.resolve();
      },
      clock: Date.now,
      random: (n) => new Uint8Array(n),
      policy: { tryMs: 60, pollMs: 5 },
    });
    assert.equal(r.ok, true);
    assert.equal(r.tries, 2);
    assert.equal(sent, 2);
    assert.ok(r.ms >= 60 && r.ms < 1000, `${r.ms} ms`);
  });

  it('fails after `tries` windows when nothing comes back, and says so', async () => {
    let sent = 0;
    const t0 = Date.now();
    const r = await probeDataPath({
      targets: [TARGET],
      readInbound: () => Promise.resolve(7),
      send: () => Promise.resolve(void sent++),
      clock: Date.now,
      random: (n) => new Uint8Array(n),
      policy: { tries: 3, tryMs: 50, pollMs: 5 },
    });
    assert.equal(r.ok, false);
    assert.equal(sent, 3);
    assert.equal(r.tries, 3);
    assert.ok(Date.now() - t0 >= 150, 'three full windows');
    assert.ok(!r.ok && /nothing came back/.test(r.detail));
  });

  it('a datagram that cannot leave (no such source address) is a failed try with the reason', async () => {
    const r = await probeDataPath({
      targets: [{ ...TARGET, from: '192.0.2.222' }], // TEST-NET-1: not an address of this host
      readInbound: () => Promise.resolve(0),
      send: udpProbeSender,
      clock: Date.now,
      random: (n) => new Uint8Array(n),
      policy: { tries: 1, tryMs: 20, pollMs: 5 },
    });
    assert.equal(r.ok, false);
    assert.ok(!r.ok && /could not be sent .*EADDRNOTAVAIL/.test(r.detail), !r.ok ? r.detail : '');
  });

  it('the real sender: one DNS query from the given source address to port `port`', async () => {
    const server = createSocket('udp4');
    await new Promise<void>((res) => server.bind(0, '127.0.0.1', () => res()));
    const got = new Promise<{ msg: Buffer; from: string }>((res) => server.once('message', (msg, rinfo) => res({ msg, from: rinfo.address })));
    try {
      await udpProbeSender({ from: '127.0.0.1', address: '127.0.0.1', port: server.address().port, kind: 'dns' }, dnsProbeQuery(1));
      const { msg, from } = await got;
      assert.equal(from, '127.0.0.1');
      assert.deepEqual([...msg], [...dnsProbeQuery(1)]);
    } finally {
      server.close();
    }
  });

  it('defaults: 3 tries of 1 s', () => {
    assert.deepEqual({ tries: PROBE_DEFAULTS.tries, tryMs: PROBE_DEFAULTS.tryMs }, { tries: 3, tryMs: 1000 });
  });
});
