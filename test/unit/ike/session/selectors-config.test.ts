/** Traffic selector narrowing (RFC 7296 §2.9) and the configuration payload (§3.15, RFC 8598). */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { CfgAttr, CfgType, PayloadType } from '../../../../native-helper/src/ike/constants.js';
import type { CpPayload } from '../../../../native-helper/src/ike/codec/types.js';
import { buildConfigRequest, describeConfig, parseConfigReply } from '../../../../native-helper/src/ike/config-payload.js';
import {
  TrafficSelectorError,
  checkNarrowed,
  exactPrefix,
  formatAddress,
  formatTrafficSelector,
  isSubset,
  parseAddress,
  selectorFromCidr,
} from '../../../../native-helper/src/ike/traffic-selectors.js';

const ts = selectorFromCidr;

describe('traffic selectors', () => {
  it('builds selectors from prefixes and prints them back', () => {
    for (const c of ['10.10.0.0/24', '0.0.0.0/0', '::/0', 'fd00:10::/64', '192.0.2.7/32', '2001:db8::1/128']) assert.equal(formatTrafficSelector(ts(c)), c);
    assert.equal(formatTrafficSelector(ts('10.10.0.77/24')), '10.10.0.0/24', 'host bits are ignored');
    assert.equal(formatTrafficSelector(ts('192.0.2.7')), '192.0.2.7/32');
    assert.equal(formatTrafficSelector({ ...ts('10.0.0.1/32'), endAddress: Uint8Array.of(10, 0, 0, 9) }), '10.0.0.1..10.0.0.9');
    assert.equal(formatTrafficSelector({ ...ts('10.0.0.0/8'), ipProtocol: 6, startPort: 443, endPort: 443 }), '10.0.0.0/8[tcp/443]');
  });

  it('finds the prefix of an address range byte-wise, as the BigInt definition does (seeded random ranges)', () => {
    // reference: [start, end] is one prefix when its size is a power of two and start is aligned to it
    const reference = (a: Uint8Array, b: Uint8Array): number | undefined => {
      const big = (x: Uint8Array): bigint => x.reduce((acc, v) => (acc << 8n) | BigInt(v), 0n);
      const [lo, hi] = [big(a), big(b)];
      if (hi < lo) return undefined;
      const span = hi - lo + 1n;
      if ((span & (span - 1n)) !== 0n || (lo & (span - 1n)) !== 0n) return undefined;
      return a.length * 8 - (span.toString(2).length - 1);
    };
    let seed = 0x5eed;
    const rnd = (n: number): number => ((seed = (seed * 1103515245 + 12345) >>> 0) % n);
    let prefixes = 0;
    for (let i = 0; i < 20_000; i++) {
      const len = rnd(2) === 0 ? 4 : 16;
      const a = Uint8Array.from({ length: len }, () => rnd(256));
      const b = Uint8Array.from(a);
      const p = rnd(len * 8 + 1);
      for (let bit = p; bit < len * 8; bit++) {
        a[bit >> 3] = (a[bit >> 3] as number) & ~(0x80 >> (bit & 7));
        b[bit >> 3] = (b[bit >> 3] as number) | (0x80 >> (bit & 7));
      }
      if (rnd(3) === 0) b[rnd(len)] = rnd(256); // mostly not a prefix any more
      const want = reference(a, b);
      if (want !== undefined) prefixes++;
      assert.equal(exactPrefix(a, b), want, `${Buffer.from(a).toString('hex')}..${Buffer.from(b).toString('hex')}`);
    }
    assert.ok(prefixes > 10_000, `the generator made ${prefixes} prefixes`);
    assert.equal(exactPrefix(Uint8Array.of(10, 0, 0, 0), Uint8Array.of(10, 0, 0, 255)), 24);
    assert.equal(exactPrefix(Uint8Array.of(0, 0, 0, 0), Uint8Array.of(255, 255, 255, 255)), 0);
    assert.equal(exactPrefix(Uint8Array.of(10, 0, 0, 1), Uint8Array.of(10, 0, 0, 9)), undefined);
    assert.equal(exactPrefix(Uint8Array.of(10, 0, 0, 9), Uint8Array.of(10, 0, 0, 1)), undefined);
  });

  it('refuses what is not a prefix', () => {
    for (const bad of ['10.0.0.0/33', '10.0.0', 'fd00::1::2/64', 'example.org/24', '10.0.0.256/8', '::/129']) {
      assert.throws(() => ts(bad), TrafficSelectorError, bad);
    }
  });

  it('parses and prints addresses (RFC 5952)', () => {
    assert.equal(formatAddress(parseAddress('2001:0db8:0:0:0:0:0:1') as Uint8Array), '2001:db8::1');
    assert.equal(formatAddress(parseAddress('::ffff:192.0.2.1') as Uint8Array), '::ffff:c000:201');
    assert.equal(formatAddress(parseAddress('fd00:99::1') as Uint8Array), 'fd00:99::1');
    assert.equal(parseAddress('1.2.3'), undefined);
    assert.equal(parseAddress('01.2.3.4'), undefined);
  });

  it('knows what lies within what', () => {
    assert.ok(isSubset(ts('10.10.0.0/24'), ts('10.0.0.0/8')));
    assert.ok(isSubset(ts('10.99.0.1/32'), ts('0.0.0.0/0')));
    assert.ok(!isSubset(ts('0.0.0.0/0'), ts('10.10.0.0/24')));
    assert.ok(!isSubset(ts('fd00:10::/64'), ts('0.0.0.0/0')), 'families never mix');
    assert.ok(!isSubset({ ...ts('10.10.0.0/24'), ipProtocol: 6 }, { ...ts('10.0.0.0/8'), ipProtocol: 17 }));
    assert.ok(isSubset({ ...ts('10.10.0.0/24'), ipProtocol: 6, startPort: 80, endPort: 80 }, ts('10.0.0.0/8')));
    assert.ok(!isSubset(ts('10.10.0.0/24'), { ...ts('10.0.0.0/8'), startPort: 80, endPort: 80 }));
    assert.ok(isSubset({ ...ts('10.10.0.0/24'), startPort: 0xffff, endPort: 0 }, ts('10.0.0.0/8')), 'OPAQUE ports within all ports');
    assert.ok(!isSubset({ ...ts('10.10.0.0/24'), startAddress: Uint8Array.of(10, 10, 0, 9), endAddress: Uint8Array.of(10, 10, 0, 1) }, ts('0.0.0.0/0')), 'an inverted range is nothing');
  });

  it('isSubset compares addresses byte-wise as the numeric definition does (seeded random ranges, near-equal bounds)', () => {
    const big = (x: Uint8Array): bigint => x.reduce((acc, v) => (acc << 8n) | BigInt(v), 0n);
    let seed = 0x75ec;
    const rnd = (n: number): number => ((seed = (seed * 1103515245 + 12345) >>> 0) % n);
    const addr = (len: number, base?: Uint8Array): Uint8Array => {
      if (base === undefined || rnd(2) === 0) return Uint8Array.from({ length: len }, () => rnd(256));
      const out = Uint8Array.from(base); // differs from base in one octet: bounds that meet or cross by little
      out[rnd(len)] = rnd(256);
      return out;
    };
    let inside = 0;
    for (let i = 0; i < 20_000; i++) {
      const len = rnd(2) === 0 ? 4 : 16;
      const tsType = len === 4 ? ts('0.0.0.0/0').tsType : ts('::/0').tsType;
      const oS = addr(len);
      const oE = addr(len, oS);
      const iS = addr(len, oS);
      const iE = addr(len, oE);
      const outer = { ...ts(len === 4 ? '0.0.0.0/0' : '::/0'), tsType, startAddress: oS, endAddress: oE };
      const inner = { ...outer, startAddress: iS, endAddress: iE };
      const want = big(oS) <= big(oE) && big(iS) <= big(iE) && big(iS) >= big(oS) && big(iE) <= big(oE);
      if (want) inside++;
      assert.equal(isSubset(inner, outer), want, `${Buffer.from(iS).toString('hex')}..${Buffer.from(iE).toString('hex')} in ${Buffer.from(oS).toString('hex')}..${Buffer.from(oE).toString('hex')}`);
    }
    assert.ok(inside > 500, `the generator made ${inside} inside cases`);
  });

  it('accepts narrowing and names the first selector that widens', () => {
    assert.deepEqual(checkNarrowed([ts('0.0.0.0/0'), ts('::/0')], [ts('10.99.0.1/32'), ts('fd00:99::1/128')]), { ok: true });
    const r = checkNarrowed([ts('10.10.0.0/24')], [ts('10.10.0.0/25'), ts('10.0.0.0/8')]);
    assert.ok(!r.ok);
    assert.equal(formatTrafficSelector(r.offending), '10.0.0.0/8');
  });
});

const cp = (attributes: [number, number[]][]): CpPayload => ({ type: PayloadType.CP, cfgType: CfgType.CFG_REPLY, attributes: attributes.map(([type, v]) => ({ type, value: Uint8Array.from(v) })) });

describe('configuration payload', () => {
  it('requests addresses, DNS and the split-DNS domains with empty attributes', () => {
    const req = buildConfigRequest({ ipv4: true, ipv6: true, dns: true });
    assert.equal(req.cfgType, CfgType.CFG_REQUEST);
    assert.deepEqual(req.attributes.map((a) => a.type), [CfgAttr.INTERNAL_IP4_ADDRESS, CfgAttr.INTERNAL_IP4_DNS, CfgAttr.INTERNAL_IP6_ADDRESS, CfgAttr.INTERNAL_IP6_DNS, CfgAttr.INTERNAL_DNS_DOMAIN]);
    assert.ok(req.attributes.every((a) => a.value.length === 0));
    assert.deepEqual(buildConfigRequest({ ipv4: true, ipv6: false, dns: false }).attributes.map((a) => a.type), [CfgAttr.INTERNAL_IP4_ADDRESS]);
  });

  it('asks for a specific address by value on reauthentication (RFC 7296 §3.15.1); a wrong family stays an empty request', () => {
    const req = buildConfigRequest({ ipv4: true, ipv6: true, dns: false, requested: { ipv4: '10.99.0.1', ipv6: 'fd00:99::1' } });
    const value = (t: number): number[] => [...(req.attributes.find((a) => a.type === t)?.value ?? [])];
    assert.deepEqual(value(CfgAttr.INTERNAL_IP4_ADDRESS), [10, 99, 0, 1]);
    // 16 octets and a prefix length (§3.15.1): 17 octets
    assert.deepEqual(value(CfgAttr.INTERNAL_IP6_ADDRESS), [...(parseAddress('fd00:99::1') as Uint8Array), 128]);
    const crossed = buildConfigRequest({ ipv4: true, ipv6: true, dns: false, requested: { ipv4: 'fd00:99::1', ipv6: '10.99.0.1' } });
    assert.ok(crossed.attributes.every((a) => a.value.length === 0));
  });

  it('reads a strongSwan-style reply', () => {
    const v6 = [...(parseAddress('fd00:99::1') as Uint8Array), 112];
    const reply = parseConfigReply(
      cp([
        [CfgAttr.INTERNAL_IP4_ADDRESS, [10, 99, 0, 1]],
        [CfgAttr.INTERNAL_IP6_ADDRESS, v6],
        [CfgAttr.INTERNAL_IP4_DNS, [10, 10, 0, 53]],
        [CfgAttr.INTERNAL_IP6_DNS, [...(parseAddress('fd00:10::53') as Uint8Array)]],
        [CfgAttr.INTERNAL_DNS_DOMAIN, [...new TextEncoder().encode('Lab.Example')]],
        [CfgAttr.INTERNAL_IP4_SUBNET, [10, 10, 0, 0, 255, 255, 255, 0]],
      ]),
    );
    assert.ok(reply);
    assert.deepEqual(reply.config, {
      ipv4: { address: '10.99.0.1', prefixLength: 32 },
      ipv6: { address: 'fd00:99::1', prefixLength: 112 },
      dns: ['10.10.0.53', 'fd00:10::53'],
      dnsDomains: ['lab.example'],
      subnets: ['10.10.0.0/24'],
    });
    assert.deepEqual(reply.ignored, []);
    assert.equal(describeConfig(reply.config), '10.99.0.1/32 fd00:99::1/112 dns=10.10.0.53,fd00:10::53 domains=lab.example subnets=10.10.0.0/24');
  });

  it('skips unusable attributes and says why, keeping the rest', () => {
    const reply = parseConfigReply(
      cp([
        [CfgAttr.INTERNAL_IP4_ADDRESS, [0, 0, 0, 0]],
        [CfgAttr.INTERNAL_IP4_ADDRESS, [10, 99, 0, 2]],
        [CfgAttr.INTERNAL_IP4_ADDRESS, [10, 99, 0, 3]],
        [CfgAttr.INTERNAL_IP4_NETMASK, [255, 0, 255, 0]],
        [CfgAttr.INTERNAL_DNS_DOMAIN, [...new TextEncoder().encode('bad domain!')]],
        [CfgAttr.INTERNAL_IP4_NBNS, [10, 0, 0, 1]],
      ]),
    );
    assert.ok(reply);
    assert.deepEqual(reply.config.ipv4, { address: '10.99.0.2', prefixLength: 32 });
    assert.equal(reply.ignored.length, 5);
    assert.match(reply.ignored.join('\n'), /INTERNAL_IP4_ADDRESS: no usable address/);
    assert.match(reply.ignored.join('\n'), /INTERNAL_IP4_NETMASK: not a contiguous netmask/);
    assert.match(reply.ignored.join('\n'), /INTERNAL_DNS_DOMAIN: not a DNS name/);
    assert.match(reply.ignored.join('\n'), /INTERNAL_IP4_NBNS: not used/);
  });

  it('applies a contiguous INTERNAL_IP4_NETMASK to the address', () => {
    const reply = parseConfigReply(cp([[CfgAttr.INTERNAL_IP4_ADDRESS, [10, 99, 0, 2]], [CfgAttr.INTERNAL_IP4_NETMASK, [255, 255, 255, 0]]]));
    assert.deepEqual(reply?.config.ipv4, { address: '10.99.0.2', prefixLength: 24 });
  });

  it('ignores a CP that is not a reply', () => {
    assert.equal(parseConfigReply({ ...cp([]), cfgType: CfgType.CFG_SET }), undefined);
  });
});
