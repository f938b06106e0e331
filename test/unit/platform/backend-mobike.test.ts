// MOBIKE on Linux (RFC 4555 §3.5): LinuxBackend.updateChildSaAddresses moves
// a CHILD_SA to new outer addresses — both SAs deleted and added again with
// the same SPIs, keys (on stdin only) and reqid, the sequence numbers carried
// over, the policies' templates pointed at the new addresses — against FakeIp.
// The replay-state parser is checked on iproute2 6.1's two output forms.

import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';

import type { PlatformLogEntry } from '../../../native-helper/src/platform/backend.js';
import { LinuxBackend } from '../../../native-helper/src/platform/linux/linux-backend.js';
import { OSEQ_MARGIN, carriedReplay, parseReplayState, withReplay } from '../../../native-helper/src/platform/linux/migrate.js';
import { FakeIp } from './fake-ip.js';
import { childSpec, keyHexes } from './specs.js';

const NEW_LOCAL = '198.51.100.20';

describe('MOBIKE: moving a CHILD_SA to new addresses', () => {
  let dir: string;
  let fake: FakeIp;
  let logs: PlatformLogEntry[];
  let backend: LinuxBackend;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'strait-mobike-'));
    await writeFile(join(dir, 'resolv.conf'), 'nameserver 192.168.1.1\n');
    fake = new FakeIp();
    fake.routeGet = { dev: 'eth0' };
    logs = [];
    backend = new LinuxBackend({ runner: fake.runner, runtimeDir: join(dir, 'run'), persistentDir: join(dir, 'lib'), resolvConfPath: join(dir, 'resolv.conf'), dns: 'file', log: (e) => logs.push(e) });
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('same SPIs, keys and reqid at the new address, ESP in UDP, sequence numbers kept, policies re-pointed; teardown leaves nothing', async () => {
    const empty = fake.snapshot();
    const spec = childSpec({ id: 80 });
    await backend.installChildSa(spec);
    const outKey = `192.0.2.1|${spec.outbound.spi}`;
    const inKey = `192.0.2.2|${spec.inbound.spi}`;
    const reqid = fake.states.get(outKey)?.reqid;
    const o = fake.states.get(outKey);
    const i = fake.states.get(inKey);
    assert.ok(o !== undefined && i !== undefined);
    // traffic so far: 1000 packets out, 900 in
    Object.assign(o, { oseq: 1000, packets: 1000, bytes: 100_000 });
    Object.assign(i, { seq: 900, packets: 900, bytes: 90_000 });
    const policyCount = fake.policies.size;

    const moved = { ...spec, local: { address: NEW_LOCAL, port: 4500 }, remote: { address: '192.0.2.1', port: 4500 }, encap: { localPort: 4500, remotePort: 4500 } };
    await backend.updateChildSaAddresses(moved);

    assert.equal(fake.states.has(inKey), false, 'the old inbound SA (to the old address) is gone');
    const newIn = fake.states.get(`${NEW_LOCAL}|${spec.inbound.spi}`);
    const newOut = fake.states.get(outKey);
    assert.equal(newIn?.src, '192.0.2.1');
    assert.equal(newOut?.src, NEW_LOCAL, 'the outbound SA leaves from the new address');
    assert.equal(newIn?.reqid, reqid);
    assert.equal(newOut?.reqid, reqid, 'same reqid: the policies still bind');
    assert.match(newOut?.line ?? '', new RegExp(`replay-oseq 0x${(1000 + OSEQ_MARGIN).toString(16)}\\b`), 'outbound sequence numbers continue (ahead by the margin)');
    assert.match(newIn?.line ?? '', /replay-seq 0x384\b/, 'inbound replay window continues at 900');
    assert.match(newOut?.line ?? '', /encap espinudp 4500 4500/);
    assert.equal(fake.policies.size, policyCount, 'no policy added or lost');
    for (const p of fake.policies.values()) {
      if (p.tmplReqid === undefined) continue;
      if (p.dir === 'out') assert.equal(p.tmplSrc, NEW_LOCAL, `out policy ${p.selector} leaves from the new address`);
      else assert.equal(p.tmplDst, NEW_LOCAL, `${p.dir} policy ${p.selector} expects ESP at the new address`);
    }
    // keys only on stdin, never in argv or the log
    const keys = keyHexes(spec);
    for (const c of fake.calls) for (const k of keys) assert.ok(!c.args.join(' ').toLowerCase().includes(k), 'a key in argv');
    for (const k of keys) assert.ok(!JSON.stringify(logs).toLowerCase().includes(k), 'a key in the log');
    assert.ok(logs.some((l) => l.event === 'platform.child_sa.moved'));
    // counters stay monotonic over the move (the deleted SAs' totals are kept)
    const c = await backend.readCounters();
    assert.equal(c.packetsOut, 1000);
    assert.equal(c.packetsIn, 900);

    await backend.removeChildSa(80);
    await backend.teardown('test');
    assert.equal(fake.snapshot(), empty, 'nothing left behind');
  });

  it('a CHILD_SA that is not installed, or a gateway that moved, is refused', async () => {
    await assert.rejects(backend.updateChildSaAddresses(childSpec({ id: 81 })), /not installed/);
    const spec = childSpec({ id: 82 });
    await backend.installChildSa(spec);
    await assert.rejects(backend.updateChildSaAddresses({ ...spec, remote: { address: '192.0.2.9', port: 4500 } }), /gateway address changed/);
    await backend.teardown('test');
  });
});

describe('replay state carried over a move', () => {
  const plain = [
    'src 192.0.2.1 dst 192.0.2.2',
    '\tproto esp spi 0xc0000050(3221225552) reqid 1050(0x0000041a) mode tunnel',
    '\treplay-window 0 seq 0x00000000 flag af-unspec (0x00100000)',
    '\tanti-replay context: seq 0x2a, oseq 0x0, bitmap 0xffffffff',
    'src 192.0.2.2 dst 192.0.2.1',
    '\tproto esp spi 0xd0000050(3489661008) reqid 1050(0x0000041a) mode tunnel',
    '\tanti-replay context: seq 0x0, oseq 0x1f4, bitmap 0x00000000',
  ].join('\n');
  const esn = [
    'src 192.0.2.2 dst 192.0.2.1',
    '\tproto esp spi 0xd0000051(3489661009) reqid 1051(0x0000041b) mode tunnel',
    '\tanti-replay esn context:',
    '\t seq-hi 0x0, seq 0x0, oseq-hi 0x1, oseq 0xfffff000',
    '\t replay_window 128, bitmap-length 4',
  ].join('\n');

  it('reads seq/oseq for the right SA, in the plain and the ESN form', () => {
    assert.deepEqual(parseReplayState(plain, '192.0.2.2', 0xc0000050), { seq: 0x2a, oseq: 0, seqHi: 0, oseqHi: 0 });
    assert.deepEqual(parseReplayState(plain, '192.0.2.1', 0xd0000050), { seq: 0, oseq: 500, seqHi: 0, oseqHi: 0 });
    assert.deepEqual(parseReplayState(esn, '192.0.2.1', 0xd0000051), { seq: 0, oseq: 0xfffff000, seqHi: 0, oseqHi: 1 });
    assert.equal(parseReplayState(plain, '192.0.2.9', 0xc0000050), undefined, 'other destination');
  });

  it('moves the outbound counter ahead, carrying into the high half with ESN only', () => {
    const esnState = parseReplayState(esn, '192.0.2.1', 0xd0000051);
    assert.deepEqual(carriedReplay('out', esnState, true), { seq: 0, oseq: 0xfffff000 + OSEQ_MARGIN - 0x1_0000_0000, seqHi: 0, oseqHi: 2 });
    assert.deepEqual(carriedReplay('in', esnState, true), esnState, 'inbound as it was');
    const line = withReplay({ text: 'xfrm state add src a dst b proto esp spi 0x1 reqid 1 mode tunnel replay-window 128 flag af-unspec esn limit time-soft 1', label: 'x' }, carriedReplay('out', esnState, true), true);
    assert.match(line.text, /replay-window 128 replay-seq 0x0 replay-oseq 0x0 replay-seq-hi 0x0 replay-oseq-hi 0x2 flag/);
  });
});
