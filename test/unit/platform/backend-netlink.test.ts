// The Linux backend on its netlink path, against a recording netlink
// transport that answers like the kernel (acks, route/link/address answers,
// an SA dump, refusals on demand). What this proves: the connect path
// (installChildSa, applyConfig) and the counters run no `ip` at all, keys
// travel only inside netlink messages, a kernel refusal rolls back exactly
// what was journaled and surfaces as a typed PlatformError naming the errno.
// The lab (netlink.suite.ts, platform.suite.ts) proves the real kernel.

import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';

import type { PlatformLogEntry } from '../../../native-helper/src/platform/backend.js';
import { isPlatformError } from '../../../native-helper/src/platform/errors.js';
import { LinuxBackend } from '../../../native-helper/src/platform/linux/linux-backend.js';
import { attr, attrU32, message, NLMSG_DONE, NLMSG_ERROR, parseMessages } from '../../../native-helper/src/platform/linux/netlink/codec.js';
import { RTM_GETADDR, RTM_GETLINK, RTM_GETROUTE, RTM_NEWADDR, RTM_NEWLINK, RTM_NEWROUTE } from '../../../native-helper/src/platform/linux/netlink/rtnl-msg.js';
import type { NetlinkProtocol, NetlinkTransport } from '../../../native-helper/src/platform/linux/netlink/transport.js';
import { XFRM_MSG_GETSA, XFRM_MSG_NEWSA } from '../../../native-helper/src/platform/linux/netlink/xfrm-msg.js';
import { FakeIp } from './fake-ip.js';
import { childSpec, configParams, keyHexes } from './specs.js';

interface Sent {
  readonly protocol: NetlinkProtocol;
  readonly type: number;
  readonly bytes: Buffer;
}

/** Answers like the kernel; `refuse` makes the n-th message of a type fail with an errno. */
class RecordingNetlink implements NetlinkTransport {
  readonly sent: Sent[] = [];
  /** SA messages added (XFRM_MSG_NEWSA requests), answered back in a dump with counters */
  readonly sas: Buffer[] = [];
  refuse: { type: number; errno: number; nth: number } | undefined;
  private seen = new Map<number, number>();

  request(protocol: NetlinkProtocol, msg: Buffer): Buffer[] {
    const [m] = parseMessages(msg);
    assert.ok(m);
    this.sent.push({ protocol, type: m.type, bytes: Buffer.from(msg) });
    const n = (this.seen.get(m.type) ?? 0) + 1;
    this.seen.set(m.type, n);
    const ack = (errno: number): Buffer => {
      const e = Buffer.alloc(4 + 16);
      e.writeInt32LE(-errno, 0);
      msg.copy(e, 4, 0, 16);
      return message(NLMSG_ERROR, 0, m.seq, [e]);
    };
    if (this.refuse && this.refuse.type === m.type && this.refuse.nth === n) return [ack(this.refuse.errno)];
    if (protocol === 0 && m.type === RTM_GETROUTE) {
      return [message(RTM_NEWROUTE, 0, m.seq, [m.payload.subarray(0, 12), attrU32(4, 2), attr(5, Buffer.from([192, 0, 2, 254]))]), ack(0)];
    }
    if (protocol === 0 && m.type === RTM_GETLINK) {
      const hdr = Buffer.alloc(16);
      hdr.writeInt32LE(2, 4);
      return [message(RTM_NEWLINK, 0, m.seq, [hdr, attr(3, Buffer.from('eth0\0'))]), ack(0)];
    }
    if (protocol === 0 && m.type === RTM_GETADDR) {
      return [message(RTM_NEWADDR, 2, m.seq, [Buffer.from([2, 24, 0, 0, 2, 0, 0, 0]), attr(2, Buffer.from([192, 0, 2, 2]))]), message(NLMSG_DONE, 2, m.seq, [Buffer.alloc(4)])];
    }
    if (protocol === 6 && m.type === XFRM_MSG_GETSA) {
      const entries = this.sas.map((sa) => {
        const [req] = parseMessages(sa);
        const p = Buffer.from(req?.payload ?? Buffer.alloc(0));
        p.writeBigUInt64LE(1000n, 160); // bytes
        p.writeBigUInt64LE(10n, 168); // packets
        p.writeBigUInt64LE(BigInt(Math.floor(Date.now() / 1000)), 176); // add_time, seconds
        return message(XFRM_MSG_NEWSA, 2, m.seq, [p]);
      });
      return [...entries, message(NLMSG_DONE, 2, m.seq, [Buffer.alloc(4)])];
    }
    if (protocol === 6 && m.type === XFRM_MSG_NEWSA) this.sas.push(Buffer.from(msg));
    return [ack(0)];
  }

  close(): void {}
}

const dirs: string[] = [];
after(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

async function rig(): Promise<{ fake: FakeIp; nl: RecordingNetlink; backend: LinuxBackend; logs: PlatformLogEntry[] }> {
  const dir = await mkdtemp(join(tmpdir(), 'strait-netlink-'));
  dirs.push(dir);
  const resolv = join(dir, 'resolv.conf');
  await writeFile(resolv, 'nameserver 192.168.1.1\n');
  const fake = new FakeIp();
  const nl = new RecordingNetlink();
  const logs: PlatformLogEntry[] = [];
  const backend = new LinuxBackend({ runner: fake.runner, netlink: nl, runtimeDir: join(dir, 'run'), persistentDir: join(dir, 'lib'), resolvConfPath: resolv, dns: 'file', log: (e) => logs.push(e) });
  return { fake, nl, backend, logs };
}

describe('LinuxBackend over netlink', () => {
  it('installs the CHILD_SA and applies the configuration without running ip; keys only in netlink messages', async () => {
    const { fake, nl, backend, logs } = await rig();
    const spec = childSpec({ alg: 'cbcSha256' });
    await backend.installChildSa(spec);
    await backend.applyConfig(configParams(spec));
    assert.deepEqual(
      fake.calls.map((c) => c.file),
      [],
      'no process was spawned on the connect path',
    );
    const xfrm = nl.sent.filter((s) => s.protocol === 6).map((s) => s.type);
    assert.deepEqual(xfrm.slice(0, 2), [XFRM_MSG_NEWSA, XFRM_MSG_NEWSA], 'both SAs first, then the policies');
    assert.ok(xfrm.slice(2).every((t) => t === 0x13));
    const route = nl.sent.filter((s) => s.protocol === 0).map((s) => s.type);
    assert.deepEqual(route.slice(0, 3), [RTM_GETROUTE, RTM_GETLINK, RTM_GETADDR], 'the queries before any change');
    // 2 addresses, 2 routes (IPv4 and IPv6 LAN; the gateway is outside them: no throw), 2 rules
    assert.deepEqual(route.slice(3), [20, 20, 24, 24, 32, 32]);
    const keys = keyHexes(spec);
    const sas = nl.sent.filter((s) => s.type === XFRM_MSG_NEWSA).map((s) => s.bytes.toString('hex'));
    for (const k of keys) assert.ok(sas.some((hex) => hex.includes(k)), 'each key reached the kernel');
    const logText = JSON.stringify(logs).toLowerCase();
    for (const k of keys) assert.ok(!logText.includes(k), 'a key in the log');
    const installed = logs.find((l) => l.event === 'platform.child_sa.installed');
    assert.equal(installed?.fields?.['via'], 'netlink');
  });

  it('reads the SA counters from an XFRM dump', async () => {
    const { fake, backend } = await rig();
    const spec = childSpec();
    await backend.installChildSa(spec);
    const c = await backend.readCounters();
    assert.deepEqual([c.bytesIn, c.bytesOut, c.packetsIn, c.packetsOut], [1000, 1000, 10, 10]);
    assert.deepEqual(c.sas.map((s) => s.direction).sort(), ['in', 'out']);
    assert.ok(c.sas.every((s) => s.addTime !== undefined && Math.abs(s.addTime - Date.now()) < 60_000), 'add time in ms since the epoch');
    assert.equal(fake.calls.length, 0);
  });

  it('a refused policy (EEXIST) is a conflict naming the errno; what was journaled is removed again', async () => {
    const { fake, nl, backend } = await rig();
    nl.refuse = { type: 0x13, errno: 17, nth: 3 };
    const spec = childSpec();
    await assert.rejects(backend.installChildSa(spec), (e: unknown) => {
      assert.ok(isPlatformError(e));
      assert.equal(e.reason, 'conflict');
      assert.match(e.message, /EEXIST/);
      assert.equal(e.details['errno'], 'EEXIST');
      return true;
    });
    // the rollback removes both SAs and the two policies that were journaled, over netlink too, no `ip`
    assert.equal(fake.calls.length, 0);
    const deletedSpis = nl.sent.filter((x) => x.type === 0x11).map((x) => x.bytes.readUInt32BE(16 + 16));
    assert.deepEqual(deletedSpis.sort(), [spec.inbound.spi, spec.outbound.spi].sort());
    const policiesAdded = nl.sent.filter((x) => x.type === 0x13).length;
    assert.ok(nl.sent.filter((x) => x.type === 0x14).length >= policiesAdded - 1, 'every policy added before the refusal is deleted');
    // and the backend holds nothing: a teardown has nothing to remove
    const t = await backend.teardown('test');
    assert.equal(t.removed.sa, 0);
  });

  it('a refused route (ENETUNREACH) fails applyConfig with the errno and rolls the configuration back', async () => {
    const { nl, backend } = await rig();
    nl.refuse = { type: 24, errno: 101, nth: 2 };
    const spec = childSpec();
    await backend.installChildSa(spec);
    await assert.rejects(backend.applyConfig(configParams(spec)), (e: unknown) => isPlatformError(e) && e.reason === 'command-failed' && /ENETUNREACH/.test(e.message));
    const t = await backend.teardown('test');
    assert.equal(t.removed.route, 0, 'the rollback removed the routes already');
    assert.equal(t.removed.sa, 2);
  });
});
