// The netlink codec against the real kernel (the UML guest has ESP): every
// object the Linux backend adds over netlink must be the object iproute2
// builds for the same `ip -batch` line. For each case the test adds one
// object through NetlinkKernel, reads it back with `ip`, removes it through
// NetlinkKernel, adds the same object through `ip -batch -` (keys on stdin),
// reads it back and removes it with `ip`; the two readings must be equal
// (SPIs, keys and kernel bookkeeping aside), and the SA readings must also
// show exactly the requested algorithms, keys, SPI, reqid, encapsulation and
// replay window. Keys are compared in this process and never printed.

import assert from 'node:assert/strict';
import { randomBytes, randomInt } from 'node:crypto';
import { after, describe, it } from 'node:test';

import type { ChildSaSpec, EspAlgorithms } from '../../../native-helper/src/ike/actions.js';
import type { TrafficSelector } from '../../../native-helper/src/ike/codec/types.js';
import { EncrId, IntegId, TsType } from '../../../native-helper/src/ike/constants.js';
import { parseIp } from '../../../native-helper/src/platform/linux/cidr.js';
import type { AddressItem, PolicyItem, RouteItem, RuleItem } from '../../../native-helper/src/platform/linux/items.js';
import { ADDRESS_METRIC, REQID_MIN } from '../../../native-helper/src/platform/linux/marks.js';
import { NetlinkKernel } from '../../../native-helper/src/platform/linux/netlink/kernel.js';
import { loadNetlinkTransport } from '../../../native-helper/src/platform/linux/netlink/transport.js';
import { addressAddLine, addressDeleteLine, routeAddLine, routeDeleteLine, ruleAddLine, ruleDeleteLine } from '../../../native-helper/src/platform/linux/network.js';
import { childPolicies, policyDeleteLine, policyLine, saAddLine, saDeleteLine, validateChildSa } from '../../../native-helper/src/platform/linux/xfrm.js';
import { run } from '../support/guest.js';
import { CLIENT, GW } from '../support/topology.js';

function addrBytes(a: string): Uint8Array {
  const { family, value } = parseIp(a);
  const n = family === 4 ? 4 : 16;
  return Uint8Array.from({ length: n }, (_, i) => Number((value >> BigInt(8 * (n - 1 - i))) & 0xffn));
}
function ts(start: string, end = start, proto = 0, port?: number): TrafficSelector {
  return {
    tsType: start.includes(':') ? TsType.TS_IPV6_ADDR_RANGE : TsType.TS_IPV4_ADDR_RANGE,
    ipProtocol: proto,
    startPort: port ?? 0,
    endPort: port ?? 65535,
    startAddress: addrBytes(start),
    endAddress: addrBytes(end),
  };
}

interface SaCase {
  readonly name: string;
  readonly algorithms: EspAlgorithms;
  readonly enc: number;
  readonly integ: number;
  readonly encap: boolean;
  readonly replayWindow: number;
}

const CASES: readonly SaCase[] = [
  { name: 'AES-GCM-16-256, window 32', algorithms: { encr: EncrId.AES_GCM_16, encrKeyLength: 256, esn: false }, enc: 36, integ: 0, encap: false, replayWindow: 32 },
  { name: 'AES-GCM-16-128 + ESN, window 128, ESP in UDP', algorithms: { encr: EncrId.AES_GCM_16, encrKeyLength: 128, esn: true }, enc: 20, integ: 0, encap: true, replayWindow: 128 },
  { name: 'AES-CBC-256 + HMAC-SHA2-256-128, window 64', algorithms: { encr: EncrId.AES_CBC, encrKeyLength: 256, integ: IntegId.HMAC_SHA2_256_128, esn: false }, enc: 32, integ: 32, encap: false, replayWindow: 64 },
  { name: 'AES-CBC-128 + HMAC-SHA1-96, window 0, ESP in UDP', algorithms: { encr: EncrId.AES_CBC, encrKeyLength: 128, integ: IntegId.HMAC_SHA1_96, esn: false }, enc: 16, integ: 20, encap: true, replayWindow: 0 },
  { name: 'ChaCha20-Poly1305, window 4096', algorithms: { encr: EncrId.CHACHA20_POLY1305, esn: false }, enc: 36, integ: 0, encap: false, replayWindow: 4096 },
];

function spec(c: SaCase): ChildSaSpec {
  const keys = (): ChildSaSpec['inbound'] => ({ spi: randomInt(0xc000_0000, 0xcfff_ffff), encKey: randomBytes(c.enc), ...(c.integ > 0 ? { integKey: randomBytes(c.integ) } : {}) });
  const port = c.encap ? 4500 : 500;
  return {
    id: 900,
    local: { address: CLIENT.ipv4, port },
    remote: { address: GW.outside4[0], port },
    algorithms: c.algorithms,
    inbound: keys(),
    outbound: keys(),
    localTs: [ts('10.99.0.77')],
    remoteTs: [ts('10.10.0.0', '10.10.0.255')],
    encap: c.encap ? { localPort: 4500, remotePort: 4501 } : null,
    lifetime: { soft: 3000, hard: 3600 },
    replayWindow: c.replayWindow,
  };
}

const REQID = REQID_MIN + 0xfe00;

async function ip(args: readonly string[], input?: string): Promise<string> {
  const r = await run(['ip', ...args], { check: true, ...(input !== undefined ? { input } : {}) });
  return r.stdout;
}

/** `ip xfrm state get` output of one SA, with keys (this process only; never printed). */
async function stateText(src: string, dst: string, spi: number): Promise<string> {
  return ip(['-s', 'xfrm', 'state', 'get', 'src', src, 'dst', dst, 'proto', 'esp', 'spi', `0x${spi.toString(16)}`]);
}

/** The reading without what differs between two otherwise equal SAs: SPI, key hex, counters and timestamps. */
function normalizeState(text: string): string {
  return text
    .replace(/spi 0x[0-9a-f]+(\(\d+\))?/g, 'spi <spi>')
    .replace(/0x[0-9a-f]{16,}/g, '<key>')
    .replace(/add \d{4}-\d\d-\d\d \d\d:\d\d:\d\d/g, 'add <time>')
    .replace(/use \d{4}-\d\d-\d\d \d\d:\d\d:\d\d/g, 'use <time>')
    .trim();
}

const hex = (b: Uint8Array | undefined): string => Buffer.from(b ?? new Uint8Array()).toString('hex');

describe('netlink: what the backend adds over netlink is what iproute2 adds', () => {
  const loaded = loadNetlinkTransport();
  const nl = 'transport' in loaded ? new NetlinkKernel(loaded.transport) : undefined;
  const cleanup: string[] = [];

  after(async () => {
    for (const line of cleanup) await run(['ip', '-batch', '-'], { input: `${line}\n` });
    nl?.close();
  });

  it('the netlink addon loads in the guest', () => {
    assert.ok(nl, `netlink transport: ${'error' in loaded ? loaded.error : ''}`);
  });

  for (const c of CASES) {
    it(`SA ${c.name}: algorithms, keys, SPI, reqid, encap and replay window as asked, and equal to iproute2's`, async () => {
      assert.ok(nl);
      const s = spec(c);
      const alg = validateChildSa(s);
      const src = s.local.address;
      const dst = s.remote.address;
      // netlink: the outbound SA (local → gateway)
      cleanup.push(saDeleteLine({ src, dst, spi: s.outbound.spi }).text);
      nl.addSa('lab', s, 'out', REQID, alg);
      const viaNetlink = await stateText(src, dst, s.outbound.spi);
      assert.equal(nl.deleteSa('lab', { src, dst, spi: s.outbound.spi }), true);
      assert.equal(nl.deleteSa('lab', { src, dst, spi: s.outbound.spi }), false, 'a second delete finds nothing (idempotent removal)');

      // what was asked, field by field (matched on a copy without keys: an assertion message quotes its input)
      const shown = viaNetlink.replace(/0x[0-9a-f]{16,}/g, '<key>');
      assert.match(shown, new RegExp(`^src ${src} dst ${dst}\\n`));
      // `ip -s` adds the decimal SPI and the hex reqid in parentheses
      assert.match(shown, new RegExp(`proto esp spi 0x${s.outbound.spi.toString(16).padStart(8, '0')}(\\(\\d+\\))? reqid ${REQID}(\\([^)]*\\))? mode tunnel`));
      assert.match(shown, /flag af-unspec/);
      assert.equal(/flag [^\n]*\besn\b/.test(shown), c.algorithms.esn, 'ESN flag');
      if (alg.kind === 'aead') {
        const m = /aead (\S+) 0x([0-9a-f]+)(?: \(\d+ bits\))? (\d+)/.exec(viaNetlink);
        assert.ok(m, 'no aead line');
        assert.equal(m[1], alg.name);
        assert.ok(m[2] === hex(s.outbound.encKey), 'the AEAD key differs from the one asked for');
        assert.equal(Number(m[3]), alg.icvBits);
      } else {
        const e = /\benc (\S+) 0x([0-9a-f]+)/.exec(viaNetlink);
        const a = /auth-trunc (\S+) 0x([0-9a-f]+)(?: \(\d+ bits\))? (\d+)/.exec(viaNetlink);
        assert.ok(e && a, 'no enc/auth-trunc lines');
        assert.equal(e[1], alg.enc.name);
        assert.ok(e[2] === hex(s.outbound.encKey), 'the encryption key differs from the one asked for');
        assert.equal(a[1], alg.auth.name);
        assert.ok(a[2] === hex(s.outbound.integKey), 'the integrity key differs from the one asked for');
        assert.equal(Number(a[3]), alg.auth.truncBits);
      }
      if (c.encap) assert.match(shown, /encap type espinudp sport 4500 dport 4501 addr 0\.0\.0\.0/);
      else assert.doesNotMatch(shown, /encap/);
      if (c.algorithms.esn || c.replayWindow > 32) assert.equal(Number(/replay_window (\d+)/.exec(shown)?.[1]), c.replayWindow, 'ESN replay state window');
      else assert.equal(Number(/replay-window (\d+)/.exec(shown)?.[1]), c.replayWindow, 'replay window');
      assert.match(shown, /expire add: soft 3000\(sec\), hard 3600\(sec\)/);

      // iproute2's SA for the same spec (another SPI), keys on stdin
      const twin: ChildSaSpec = { ...s, outbound: { ...s.outbound, spi: (s.outbound.spi ^ 0x1) >>> 0 } };
      cleanup.push(saDeleteLine({ src, dst, spi: twin.outbound.spi }).text);
      await ip(['-batch', '-'], `${saAddLine(twin, 'out', REQID, alg).text}\n`);
      const viaIp = await stateText(src, dst, twin.outbound.spi);
      await ip(['-batch', '-'], `${saDeleteLine({ src, dst, spi: twin.outbound.spi }).text}\n`);
      assert.equal(normalizeState(viaNetlink), normalizeState(viaIp)); // normalized: no keys to quote
    });
  }

  it('policies (IPsec with template, and bypass with ports): equal to iproute2\'s, removed by netlink', async () => {
    assert.ok(nl);
    const s = spec(CASES[0] as SaCase);
    const narrowed: ChildSaSpec = { ...s, localTs: [ts('10.99.0.77', '10.99.0.77', 6, 8080)], remoteTs: [ts('10.10.0.0', '10.10.0.255')] };
    const policies: PolicyItem[] = [
      ...childPolicies(s, REQID),
      ...childPolicies(narrowed, REQID),
      { kind: 'policy', dir: 'out', sel: { src: '0.0.0.0/0', dst: `${GW.outside4[0]}/32`, proto: 17, dport: 4500 }, priority: REQID_MIN + 0x100 },
      { kind: 'policy', dir: 'in', sel: { src: 'fd00:10::/64', dst: '::/0' }, priority: REQID_MIN + 0x100 },
    ];
    // one block per policy, sorted: the kernel lists them in its own order
    const read = async (): Promise<string> =>
      (await ip(['xfrm', 'policy', 'list', 'nosock']))
        .replace(/index \d+ /g, '')
        .split(/\n(?=\S)/)
        .map((b) => b.trim())
        .filter(Boolean)
        .sort()
        .join('\n');
    const before = await read();
    for (const p of policies) cleanup.push(policyDeleteLine(p).text);
    for (const p of policies) nl.policy('lab', p, 'add');
    const viaNetlink = await read();
    // update (retarget) keeps the identity
    nl.policy('lab', policies[0] as PolicyItem, 'update');
    assert.equal(await read(), viaNetlink);
    for (const p of policies) assert.equal(nl.deletePolicy('lab', p), true);
    assert.equal(await read(), before, 'netlink deletes left policies behind');
    await ip(['-batch', '-'], policies.map((p) => policyLine(p, 'add').text).join('\n') + '\n');
    const viaIp = await read();
    await ip(['-batch', '-'], policies.map((p) => policyDeleteLine(p).text).join('\n') + '\n');
    assert.equal(viaNetlink, viaIp);
    assert.equal(await read(), before);
  });

  it('address, routes (unicast with via/src/mtu, device-only IPv6, throw) and rules: equal to iproute2\'s', async () => {
    assert.ok(nl);
    const path = nl.routeGet('lab', GW.outside4[0]);
    const routeOut = await ip(['-j', 'route', 'get', GW.outside4[0]]);
    const expected = (JSON.parse(routeOut) as Array<{ dev: string; gateway?: string }>)[0];
    assert.equal(path.dev, expected?.dev);
    assert.equal(path.via, expected?.gateway);

    const addr4: AddressItem = { kind: 'address', family: 4, cidr: '10.99.0.250/32', dev: path.dev };
    const addr6: AddressItem = { kind: 'address', family: 6, cidr: 'fd00:99::250/128', dev: path.dev };
    const routes: RouteItem[] = [
      { kind: 'route', family: 4, type: 'unicast', dst: '10.10.0.0/24', table: 0x5354, proto: 0x53, dev: path.dev, ...(path.via !== undefined ? { via: path.via } : { via: GW.outside4[0] }), src: '10.99.0.250', mtu: 1400 },
      { kind: 'route', family: 6, type: 'unicast', dst: 'fd00:10::/64', table: 0x5354, proto: 0x53, dev: path.dev, src: 'fd00:99::250' },
      { kind: 'route', family: 4, type: 'throw', dst: `${GW.outside4[0]}/32`, table: 0x5354, proto: 0x53 },
    ];
    const rules: RuleItem[] = [
      { kind: 'rule', family: 4, pref: 0x5354, table: 0x5354 },
      { kind: 'rule', family: 6, pref: 0x5354, table: 0x5354 },
    ];
    // an empty table 21332 does not exist for IPv4 ("FIB table does not exist"): read as empty
    const table = async (f: string): Promise<string> => (await run(['ip', f, 'route', 'show', 'table', String(0x5354)])).stdout;
    const read = async (): Promise<string> =>
      [
        await ip(['address', 'show', 'dev', path.dev]),
        await table('-4'),
        await table('-6'),
        await ip(['-4', 'rule', 'show']),
        await ip(['-6', 'rule', 'show']),
      ]
        .join('\n')
        .replace(/valid_lft \S+ preferred_lft \S+/g, '');
    const before = await read();
    cleanup.push(...rules.map((r) => ruleDeleteLine(r).text), ...routes.map((r) => routeDeleteLine(r).text), addressDeleteLine(addr4).text, addressDeleteLine(addr6).text);

    nl.addAddress('lab', addr4, path.index, ADDRESS_METRIC);
    nl.addAddress('lab', addr6, path.index, ADDRESS_METRIC);
    for (const r of routes) nl.addRoute('lab', r, r.dev !== undefined ? path.index : undefined);
    for (const r of rules) nl.addRule('lab', r);
    assert.throws(() => nl.addRule('lab', rules[0] as RuleItem), /EEXIST/, 'a second identical rule is refused (EEXIST)');
    const listed = nl.addresses('lab').filter((a) => a.index === path.index);
    assert.ok(listed.some((a) => a.local === '10.99.0.250' && a.metric === ADDRESS_METRIC));
    assert.ok(listed.some((a) => a.local === 'fd00:99::250' && a.metric === ADDRESS_METRIC));
    const viaNetlink = await read();
    for (const r of rules) assert.equal(nl.deleteRule('lab', r), true);
    for (const r of routes) assert.equal(nl.deleteRoute('lab', r), true);
    assert.equal(nl.deleteAddress('lab', addr4, path.index), true);
    assert.equal(nl.deleteAddress('lab', addr6, path.index), true);
    assert.equal(nl.deleteRoute('lab', routes[2] as RouteItem), false, 'a second delete finds nothing');
    assert.equal(await read(), before, 'netlink deletes left objects behind');

    await ip(['-batch', '-'], [addressAddLine(addr4), addressAddLine(addr6), ...routes.map(routeAddLine), ...rules.filter((r) => r.family === 4).map(ruleAddLine)].map((l) => l.text).join('\n') + '\n');
    await ip(['-6', '-batch', '-'], `${ruleAddLine(rules[1] as RuleItem).text}\n`);
    const viaIp = await read();
    await ip(['-batch', '-'], [ruleDeleteLine(rules[0] as RuleItem), ...routes.map(routeDeleteLine), addressDeleteLine(addr4), addressDeleteLine(addr6)].map((l) => l.text).join('\n') + '\n');
    await ip(['-6', '-batch', '-'], `${ruleDeleteLine(rules[1] as RuleItem).text}\n`);
    assert.equal(viaNetlink, viaIp);
    assert.equal(await read(), before);
  });
});
