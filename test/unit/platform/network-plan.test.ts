// Prefix arithmetic and the routing plan: VIP placement, routes for the
// negotiated remote TS (full and split tunnel), the gateway kept outside
// (throw route), excluded networks, IPv6 only when allowed.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { isPlatformError } from '../../../native-helper/src/platform/errors.js';
import { formatCidr, formatIp, intersect, parseCidr, parseIp, rangeToCidrs } from '../../../native-helper/src/platform/linux/cidr.js';
import {
  addressAddLine,
  parseRouteGet,
  parseRouteList,
  planNetwork,
  routeAddLine,
  routeDeleteLine,
  ruleAddLine,
  tunnelNetworks,
} from '../../../native-helper/src/platform/linux/network.js';
import { childSpec, configParams, ts } from './specs.js';

const cidrs = (list: readonly string[]): string[] => list.map((s) => formatCidr(parseCidr(s)));
const bytes = (a: string): Uint8Array => {
  const { family, value } = parseIp(a);
  const n = family === 4 ? 4 : 16;
  return Uint8Array.from({ length: n }, (_, i) => Number((value >> BigInt(8 * (n - 1 - i))) & 0xffn));
};

describe('prefixes', () => {
  it('canonical text: host bits cleared, RFC 5952 IPv6', () => {
    assert.deepEqual(cidrs(['10.1.2.3/8', 'FD00:0:0:0:0:0:0:1/128', '2001:db8:0:0:1:0:0:1', '0.0.0.0/0', '::/0']), [
      '10.0.0.0/8',
      'fd00::1/128',
      '2001:db8::1:0:0:1/128',
      '0.0.0.0/0',
      '::/0',
    ]);
    assert.equal(formatIp(6, parseIp('2001:db8:0:1:1:1:1:1').value), '2001:db8:0:1:1:1:1:1');
  });

  it('rejects what is not an address or prefix', () => {
    for (const bad of ['10.0.0.0/33', '10.0.0', 'fe80::1%eth0', '10.0.0.0/x', 'hello']) {
      assert.throws(() => parseCidr(bad), (e: unknown) => isPlatformError(e) && e.reason === 'invalid-spec', bad);
    }
  });

  it('ranges to prefixes (exact cover)', () => {
    const r = (a: string, b: string): string[] => rangeToCidrs(bytes(a), bytes(b)).map(formatCidr);
    assert.deepEqual(r('0.0.0.0', '255.255.255.255'), ['0.0.0.0/0']);
    assert.deepEqual(r('10.0.0.0', '10.0.0.255'), ['10.0.0.0/24']);
    assert.deepEqual(r('10.0.0.1', '10.0.0.6'), ['10.0.0.1/32', '10.0.0.2/31', '10.0.0.4/31', '10.0.0.6/32']);
    assert.deepEqual(r('255.255.255.254', '255.255.255.255'), ['255.255.255.254/31']);
    assert.deepEqual(r('::', 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff'), ['::/0']);
    assert.deepEqual(r('fd00:10::', 'fd00:10::ffff:ffff:ffff:ffff'), ['fd00:10::/64']);
    assert.throws(() => rangeToCidrs(bytes('10.0.0.2'), bytes('10.0.0.1')), /start address above end/);
    assert.throws(() => rangeToCidrs(bytes('10.0.0.2'), bytes('::1')), /different families/);
  });

  it('intersection keeps the narrower prefix of each overlapping pair', () => {
    const i = intersect(['10.0.0.0/8', '192.168.0.0/16'].map(parseCidr), ['10.10.0.0/24', '0.0.0.0/0', '172.16.0.0/12'].map(parseCidr));
    assert.deepEqual(i.map(formatCidr), ['10.10.0.0/24', '10.0.0.0/8', '192.168.0.0/16']);
  });
});

describe('routing plan', () => {
  const path = { dev: 'eth0', via: '192.0.2.254' };

  it('split tunnel to the lab LAN: VIP /32 + /128 on the outgoing interface, routes in table 21332 with src VIP; the gateway, outside the LAN, needs no throw', () => {
    const plan = planNetwork(configParams(childSpec()), path);
    assert.deepEqual(plan.addresses.map(addressAddLine).map((l) => l.text), ['address add 10.99.0.77/32 dev eth0 metric 21332', 'address add fd00:99::77/128 dev eth0 metric 21332 nodad']);
    assert.deepEqual(plan.routes.map(routeAddLine).map((l) => l.text), [
      'route add 10.10.0.0/24 via 192.0.2.254 dev eth0 src 10.99.0.77 table 21332 proto 83',
      // IPv6 inner over an IPv4 gateway: XFRM sends it; the route only needs the device
      'route add fd00:10::/64 dev eth0 src fd00:99::77 table 21332 proto 83',
    ]);
    assert.deepEqual(plan.rules.map(ruleAddLine).map((l) => l.text), ['rule add pref 21332 table 21332', 'rule add pref 21332 table 21332']);
    assert.deepEqual(
      plan.rules.map((r) => r.family),
      [4, 6],
    );
  });

  it('a split network that holds the gateway gets the gateway thrown out; an excluded network no route covers gets no throw', () => {
    const spec = childSpec({ remoteTs: [ts('192.0.2.0', '192.0.2.255')], localTs: [ts('10.99.0.77')] });
    const plan = planNetwork(configParams(spec, { tunnel: { mode: 'split', include: [], exclude: ['192.168.1.0/24', '192.0.2.128/25'], ipv6: false } }), path);
    assert.deepEqual(plan.routes.map(routeAddLine).map((l) => l.text), [
      'route add 192.0.2.0/24 via 192.0.2.254 dev eth0 src 10.99.0.77 table 21332 proto 83',
      'route add throw 192.0.2.1/32 table 21332 proto 83',
      'route add throw 192.0.2.128/25 table 21332 proto 83',
    ]);
  });

  it('on-link gateway: the route goes via the gateway itself', () => {
    const plan = planNetwork(configParams(childSpec()), { dev: 'cl0' });
    assert.equal(routeAddLine(plan.routes[0]!).text, 'route add 10.10.0.0/24 via 192.0.2.1 dev cl0 src 10.99.0.77 table 21332 proto 83');
  });

  it('full tunnel: 0.0.0.0/0 and ::/0 from the TSr, the gateway and excluded networks keep the original route, MTU on routes', () => {
    const spec = childSpec({ remoteTs: [ts('0.0.0.0', '255.255.255.255'), ts('::', 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff')] });
    const plan = planNetwork(configParams(spec, { tunnel: { mode: 'full', include: [], exclude: ['192.168.1.0/24', 'fd12::/16'], ipv6: true }, mtu: 1400 }), path);
    assert.deepEqual(plan.routes.map(routeAddLine).map((l) => l.text), [
      'route add 0.0.0.0/0 via 192.0.2.254 dev eth0 src 10.99.0.77 table 21332 proto 83 mtu 1400',
      'route add ::/0 dev eth0 src fd00:99::77 table 21332 proto 83 mtu 1400',
      'route add throw 192.0.2.1/32 table 21332 proto 83',
      'route add throw 192.168.1.0/24 table 21332 proto 83',
      'route add throw fd12::/16 table 21332 proto 83',
    ]);
    assert.deepEqual(plan.excluded.map(formatCidr), ['192.168.1.0/24', 'fd12::/16']);
  });

  it('a full-tunnel request the gateway narrowed (RFC 7296 §2.9) routes only what the SA carries', () => {
    const plan = planNetwork(configParams(childSpec(), { tunnel: { mode: 'full', include: [], exclude: [], ipv6: true } }), path);
    assert.deepEqual(
      plan.routes.filter((r) => r.type === 'unicast').map((r) => r.dst),
      ['10.10.0.0/24', 'fd00:10::/64'],
    );
  });

  it('split tunnel with include: intersection with the negotiated TSr', () => {
    const spec = childSpec({ remoteTs: [ts('10.0.0.0', '10.255.255.255')] });
    const { routed } = tunnelNetworks(configParams(spec, { tunnel: { mode: 'split', include: ['10.10.0.0/16', '172.16.0.0/12'], exclude: [], ipv6: true } }));
    assert.deepEqual(routed.map(formatCidr), ['10.10.0.0/16']);
  });

  it('IPv6 stays out when the profile does not allow it: no v6 VIP, routes or rule', () => {
    const plan = planNetwork(configParams(childSpec(), { tunnel: { mode: 'split', include: [], exclude: [], ipv6: false } }), path);
    assert.deepEqual(plan.addresses.map((a) => a.cidr), ['10.99.0.77/32']);
    assert.ok(plan.routes.every((r) => r.family === 4));
    assert.deepEqual(plan.rules.map((r) => r.family), [4]);
  });

  it('rejects a bad include entry and an absurd MTU with a clear message', () => {
    assert.throws(
      () => planNetwork(configParams(childSpec(), { tunnel: { mode: 'split', include: ['10.0.0.0/99'], exclude: [], ipv6: true } }), path),
      /include entry "10.0.0.0\/99" is not an IP prefix/,
    );
    assert.throws(() => planNetwork(configParams(childSpec(), { mtu: 100 }), path), /MTU 100 outside/);
  });

  it('delete lines carry table and protocol, so only Strait routes match', () => {
    assert.equal(routeDeleteLine({ type: 'throw', dst: '192.0.2.1/32', table: 21332, proto: 83 }).text, 'route del throw 192.0.2.1/32 table 21332 proto 83');
  });
});

describe('ip -j parsing', () => {
  it('route get: device and next hop (captured in the lab: on-link gateway has no "gateway")', () => {
    assert.deepEqual(parseRouteGet('[{"dst":"192.0.2.1","dev":"cl0","prefsrc":"192.0.2.2","flags":[],"uid":0,"cache":[]}]', '192.0.2.1'), { dev: 'cl0' });
    assert.deepEqual(parseRouteGet('[{"dst":"8.8.8.8","gateway":"192.0.2.1","dev":"d0","prefsrc":"192.0.2.2","flags":[],"uid":0,"cache":[]}]', '8.8.8.8'), {
      dev: 'd0',
      via: '192.0.2.1',
    });
    assert.throws(() => parseRouteGet('[]', '192.0.2.1'), /no route to the gateway/);
    assert.throws(() => parseRouteGet('not json', '192.0.2.1'), /unreadable/);
  });

  it('route list (captured on the host): default, throw, tables, protocol', () => {
    const listed = parseRouteList(
      '[{"dst":"10.0.0.0/8","gateway":"192.0.2.1","dev":"d0","table":"21332","protocol":"83","flags":["linkdown"]},{"type":"throw","dst":"192.0.2.1","table":"21332","protocol":"83","flags":[]},{"dst":"default","gateway":"192.0.2.1","dev":"d0","flags":[]}]',
      4,
    );
    assert.deepEqual(listed, [
      { type: 'unicast', dst: '10.0.0.0/8', table: '21332', dev: 'd0', protocol: '83' },
      { type: 'throw', dst: '192.0.2.1', table: '21332', protocol: '83' },
      { type: 'unicast', dst: '0.0.0.0/0', table: 'main', dev: 'd0' },
    ]);
    assert.deepEqual(parseRouteList('', 6), []);
  });
});
