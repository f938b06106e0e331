// The gateway's CHILD_SA rekey, make-before-break (RFC 7296 §2.8): the Linux
// backend installs the new inbound SA at once and holds the outbound one
// back until installOutboundSa, so traffic keeps leaving on the old pair
// until the gateway surely has the new inbound SA. Against FakeIp.

import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';

import type { PlatformLogEntry } from '../../../native-helper/src/platform/backend.js';
import { LinuxBackend } from '../../../native-helper/src/platform/linux/linux-backend.js';
import { REQID_MIN } from '../../../native-helper/src/platform/linux/marks.js';
import { FakeIp } from './fake-ip.js';
import { childSpec, keyHexes } from './specs.js';

describe('LinuxBackend: outbound SA held back for the gateway’s rekey', () => {
  let dir: string;
  let fake: FakeIp;
  let logs: PlatformLogEntry[];
  let backend: LinuxBackend;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'strait-deferred-'));
    await writeFile(join(dir, 'resolv.conf'), 'nameserver 192.168.1.1\n');
    fake = new FakeIp();
    fake.routeGet = { dev: 'eth0' };
    logs = [];
    backend = new LinuxBackend({ runner: fake.runner, runtimeDir: join(dir, 'run'), persistentDir: join(dir, 'lib'), resolvConfPath: join(dir, 'resolv.conf'), dns: 'file', log: (e) => logs.push(e) });
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('installs only the inbound SA, then the outbound one on request; removal and teardown leave nothing', async () => {
    const before = fake.snapshot();
    const old = childSpec({ id: 50 });
    await backend.installChildSa(old);
    const policies = new Map([...fake.policies].map(([k, p]) => [k, p.tmplReqid]));
    const next = childSpec({ id: 51 });
    await backend.installChildSa(next, { deferOutbound: true });
    assert.equal(fake.states.get(`192.0.2.2|${next.inbound.spi}`)?.reqid, REQID_MIN + 50, 'new inbound SA, same reqid');
    assert.equal(fake.states.has(`192.0.2.1|${next.outbound.spi}`), false, 'no new outbound SA yet: the old one still carries our traffic');
    assert.equal(fake.states.has(`192.0.2.1|${old.outbound.spi}`), true);
    assert.deepEqual(new Map([...fake.policies].map(([k, p]) => [k, p.tmplReqid])), policies, 'policies untouched');
    const counters = await backend.readCounters();
    assert.equal(counters.sas.length, 3, 'old pair and the new inbound SA');

    await backend.installOutboundSa(51);
    const out = fake.states.get(`192.0.2.1|${next.outbound.spi}`);
    assert.equal(out?.reqid, REQID_MIN + 50, 'the outbound SA joins the same reqid: the kernel sends on the newest');
    const last = fake.calls.at(-1);
    assert.deepEqual(last?.args, ['-batch', '-'], 'the outbound key went on stdin');
    assert.equal(last?.input.trim().split('\n').length, 1, 'one state add, nothing else');
    await backend.installOutboundSa(51); // twice: nothing held any more, a no-op
    assert.equal(fake.calls.at(-1), last);

    await backend.removeChildSa(50);
    assert.equal(fake.states.size, 2, 'the new pair only');
    const keys = [...keyHexes(old), ...keyHexes(next)];
    assert.ok(!JSON.stringify(logs).toLowerCase().includes(keys[0] as string), 'no key in the log');
    await backend.removeChildSa(51);
    await backend.teardown('test');
    assert.equal(fake.snapshot(), before);
  });

  it('removing a CHILD_SA whose outbound SA was still held back forgets it', async () => {
    const old = childSpec({ id: 60 });
    await backend.installChildSa(old);
    const next = childSpec({ id: 61 });
    await backend.installChildSa(next, { deferOutbound: true });
    await backend.removeChildSa(61);
    await backend.installOutboundSa(61);
    assert.equal(fake.states.has(`192.0.2.1|${next.outbound.spi}`), false, 'never installed after removal');
    await backend.teardown('test');
    assert.equal(fake.states.size, 0);
  });

  it('a pair that needs policies of its own is installed whole (deferring would leave them without an outbound SA)', async () => {
    const old = childSpec({ id: 70 });
    await backend.installChildSa(old);
    const narrower = childSpec({ id: 71, localTs: old.localTs.slice(0, 1) });
    await backend.installChildSa(narrower, { deferOutbound: true });
    assert.equal(fake.states.has(`192.0.2.1|${narrower.outbound.spi}`), true, 'both SAs at once');
    await backend.teardown('test');
    assert.equal(fake.states.size, 0);
  });
});
