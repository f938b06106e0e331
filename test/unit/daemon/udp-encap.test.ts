// The UDP_ENCAP addon on the host's real kernel (CONFIG_XFRM=y: the socket
// option exists even though the host has no ESP): it must set
// UDP_ENCAP_ESPINUDP on exactly the dgram socket bound to the given address
// and port, and say so when there is none. Needs the addon built
// (node native-helper/addon/build.mjs, run by `npm ci`'s postinstall).
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import type { Socket } from 'node:dgram';
import { after, describe, it } from 'node:test';

import { enableUdpEncap, queryUdpEncap, UDP_ENCAP_ESPINUDP } from '../../../native-helper/src/daemon/udp-encap.js';

function bound(type: 'udp4' | 'udp6', address: string): Promise<{ socket: Socket; port: number }> {
  const socket = createSocket(type);
  return new Promise((resolve, reject) => {
    socket.once('error', reject);
    socket.bind({ address, port: 0, exclusive: true }, () => resolve({ socket, port: socket.address().port }));
  });
}

describe('UDP_ENCAP addon', { skip: process.platform !== 'linux' ? 'Linux only' : false }, () => {
  const open: Socket[] = [];
  after(() => open.forEach((s) => s.close()));

  it('sets ESP-in-UDP on the IPv4 socket bound to address:port, and only on it', async () => {
    const a = await bound('udp4', '127.0.0.1');
    const b = await bound('udp4', '127.0.0.1');
    open.push(a.socket, b.socket);
    assert.deepEqual(queryUdpEncap('127.0.0.1', a.port), { ok: true, type: 0 });
    assert.deepEqual(enableUdpEncap('127.0.0.1', a.port), { ok: true });
    assert.deepEqual(queryUdpEncap('127.0.0.1', a.port), { ok: true, type: UDP_ENCAP_ESPINUDP });
    assert.deepEqual(queryUdpEncap('127.0.0.1', b.port), { ok: true, type: 0 }, 'another socket must be untouched');
  });

  it('works on IPv6 sockets (kernel ≥ 5.8)', async () => {
    const s = await bound('udp6', '::1');
    open.push(s.socket);
    assert.deepEqual(enableUdpEncap('::1', s.port), { ok: true });
    assert.deepEqual(queryUdpEncap('::1', s.port), { ok: true, type: UDP_ENCAP_ESPINUDP });
  });

  it('a descriptor number the last search found, now reused by another socket, is not taken for the one asked for', async () => {
    const first = await bound('udp4', '127.0.0.1');
    assert.deepEqual(enableUdpEncap('127.0.0.1', first.port), { ok: true }); // the addon remembers this descriptor
    await new Promise<void>((r) => first.socket.close(() => r()));
    // the next socket gets the lowest free descriptor: most likely the one just closed
    const other = await bound('udp4', '127.0.0.1');
    const wanted = await bound('udp4', '127.0.0.1');
    open.push(other.socket, wanted.socket);
    assert.deepEqual(enableUdpEncap('127.0.0.1', wanted.port), { ok: true });
    assert.deepEqual(queryUdpEncap('127.0.0.1', wanted.port), { ok: true, type: UDP_ENCAP_ESPINUDP });
    assert.deepEqual(queryUdpEncap('127.0.0.1', other.port), { ok: true, type: 0 }, 'the socket on the remembered descriptor must be untouched');
    // and the remembered descriptor, when it is the right one, still answers
    assert.deepEqual(queryUdpEncap('127.0.0.1', wanted.port), { ok: true, type: UDP_ENCAP_ESPINUDP });
  });

  it('reports a typed reason when no socket is bound there or the input is bad', async () => {
    const s = await bound('udp4', '127.0.0.1');
    const port = s.port;
    await new Promise<void>((r) => s.socket.close(() => r()));
    const r = enableUdpEncap('127.0.0.1', port);
    assert.equal(r.ok, false);
    assert.match(r.ok ? '' : r.reason, /no UDP socket/);
    assert.equal(enableUdpEncap('not-an-address', 4500).ok, false);
    assert.equal(enableUdpEncap('127.0.0.1', 70000).ok, false);
  });
});
