// Counter and marker parsing from real iproute2 output captured in the UML
// lab (fixtures/iproute2-captures.ts: linux.uml 6.1.176, iproute2 6.1; the
// full-output capture had its throwaway test keys zeroed before it was committed).

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { isStraitPriority, isStraitReqid } from '../../../native-helper/src/platform/linux/marks.js';
import { parseXfrmPolicies, parseXfrmStates } from '../../../native-helper/src/platform/linux/xfrm-parse.js';
import { XFRM_POLICY_STRAIT, XFRM_STATE_FULL_ESN, XFRM_STATE_NOKEYS_ENCAP } from './fixtures/iproute2-captures.js';


describe('ip -s xfrm state list nokeys', () => {
  it('reads identity, reqid and the current lifetime counters of each SA', () => {
    const states = parseXfrmStates(XFRM_STATE_NOKEYS_ENCAP);
    assert.equal(states.length, 2);
    const [out, inbound] = states;
    assert.deepEqual(
      { ...out, addTime: undefined },
      { src: '192.0.2.2', dst: '192.0.2.1', proto: 'esp', spi: 0xd0000005, reqid: 0x53540005, mode: 'tunnel', bytes: 564, packets: 6, addTime: undefined },
    );
    assert.equal(inbound?.spi, 0xc0000005);
    assert.equal(inbound?.packets, 6);
    assert.ok(isStraitReqid(inbound?.reqid ?? 0));
    // "add 2026-11-23 00:56:02" is local time
    assert.equal(out?.addTime, new Date(2026, 10, 23, 0, 56, 2).getTime());
  });

  it('the full listing (with keys) yields the same fields and nothing else', () => {
    const states = parseXfrmStates(XFRM_STATE_FULL_ESN);
    assert.equal(states.length, 2);
    for (const s of states) {
      assert.deepEqual(Object.keys(s).sort(), ['addTime', 'bytes', 'dst', 'mode', 'packets', 'proto', 'reqid', 'spi', 'src']);
      assert.equal(s.bytes, 564);
      assert.equal(s.reqid, 0x53540002);
      assert.ok(!JSON.stringify(s).includes('0000000000'), 'a key field leaked into the parsed value');
    }
  });

  it('odd input gives fewer SAs, never an exception', () => {
    assert.deepEqual(parseXfrmStates(''), []);
    assert.deepEqual(parseXfrmStates('src 1.2.3.4 dst 5.6.7.8\n\tgarbage\n'), []);
    assert.deepEqual(parseXfrmStates('\tproto esp spi 0x1 reqid 1 mode tunnel\n'), []);
    const truncated = XFRM_STATE_NOKEYS_ENCAP.split('\n').slice(0, 4).join('\n');
    assert.deepEqual(
      parseXfrmStates(truncated).map((s) => [s.spi, s.bytes]),
      [[0xd0000005, undefined]],
    );
  });
});

describe('ip -s xfrm policy list nosock', () => {
  it('reads direction, index, priority and template reqids', () => {
    const pols = parseXfrmPolicies(XFRM_POLICY_STRAIT);
    assert.equal(pols.length, 10);
    const fwd6 = pols.find((p) => p.selector === 'src fd00:10::/64 dst fd00:99::77/128' && p.dir === 'fwd');
    assert.deepEqual(fwd6, { selector: 'src fd00:10::/64 dst fd00:99::77/128', dir: 'fwd', index: 234, priority: 1398018177, action: 'allow', tmplReqids: [0x53540003] });
    const bypass = pols.filter((p) => p.tmplReqids.length === 0);
    assert.equal(bypass.length, 4);
    assert.ok(pols.every((p) => isStraitPriority(p.priority)));
  });
});
