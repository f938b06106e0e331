/**
 * IkeDriver over real UDP on loopback: the session's datagrams leave from
 * the right socket, the non-ESP marker is added and stripped on the NAT-T
 * port (RFC 3948 §2.2), ESP and keepalives reaching that socket are
 * dropped, timers drive retransmission, and close() ends with `closed`.
 * The gateway is the in-process TestResponder behind two UDP sockets.
 */
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import type { Socket } from 'node:dgram';
import { after, describe, it } from 'node:test';

import { IkeDriver, runIkeSession } from '../../../../native-helper/src/daemon/ike-driver.js';
import type { Endpoint, IkeAction } from '../../../../native-helper/src/ike/actions.js';
import { IkeSession } from '../../../../native-helper/src/ike/session.js';
import type { IkeSessionConfig } from '../../../../native-helper/src/ike/session.js';
import { TestResponder, seededRandom } from '../../../support/test-responder.js';
import { responderConfig, sessionConfig } from './harness.js';

const LOOPBACK = '127.0.0.1';

async function freePorts(n: number): Promise<number[]> {
  const sockets: Socket[] = [];
  const ports: number[] = [];
  for (let i = 0; i < n; i++) {
    const s = createSocket('udp4');
    await new Promise<void>((resolve) => s.bind(0, LOOPBACK, () => resolve()));
    ports.push(s.address().port);
    sockets.push(s);
  }
  await Promise.all(sockets.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
  return ports;
}

interface UdpGateway {
  readonly ike: Endpoint;
  readonly natt: Endpoint;
  readonly responder: TestResponder;
  /** datagrams as they arrived on each socket (marker included) */
  readonly seen: { port: number; data: Buffer; at: number }[];
  /** send raw octets from the NAT-T socket to an endpoint */
  raw(data: Uint8Array, to: Endpoint): void;
  /** stop answering */
  mute: boolean;
  close(): Promise<void>;
}

async function udpGateway(ikePort: number, nattPort: number, responder: TestResponder): Promise<UdpGateway> {
  const seen: { port: number; data: Buffer; at: number }[] = [];
  const sockets = new Map<number, Socket>();
  const gw: UdpGateway = {
    ike: { address: LOOPBACK, port: ikePort },
    natt: { address: LOOPBACK, port: nattPort },
    responder,
    seen,
    mute: false,
    raw(data, to) {
      sockets.get(nattPort)?.send(data, to.port, to.address);
    },
    async close() {
      await Promise.all([...sockets.values()].map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
    },
  };
  for (const port of [ikePort, nattPort]) {
    const s = createSocket('udp4');
    await new Promise<void>((resolve) => s.bind(port, LOOPBACK, () => resolve()));
    s.on('message', (msg, rinfo) => {
      seen.push({ port, data: msg, at: Date.now() });
      if (gw.mute) return;
      const natt = port === nattPort;
      // ESP (non-zero SPI) and NAT-keepalives (one octet) are not IKE
      if (natt && (msg.length < 4 || msg.readUInt32BE(0) !== 0)) return;
      const data = new Uint8Array(natt ? msg.subarray(4) : msg);
      for (const answer of responder.handle(Uint8Array.from(data), { address: rinfo.address, port: rinfo.port })) {
        s.send(natt ? Buffer.concat([Buffer.alloc(4), answer]) : answer, rinfo.port, rinfo.address);
      }
    });
    sockets.set(port, s);
  }
  return gw;
}

function udpConfig(ports: number[], over: Partial<IkeSessionConfig> = {}): IkeSessionConfig {
  const [cIke, cNatt, gIke, gNatt] = ports as [number, number, number, number];
  return sessionConfig({
    local: { address: LOOPBACK, port: cIke },
    remote: { address: LOOPBACK, port: gIke },
    nattPorts: { local: cNatt, remote: gNatt },
    retransmit: { timeoutMs: 200, base: 1.5, tries: 2 },
    ...over,
  });
}

describe('IkeDriver over loopback UDP', () => {
  const cleanups: (() => Promise<void>)[] = [];
  after(async () => {
    for (const c of cleanups) await c();
  });

  it('connects with forced encapsulation: port 500-style first, then the NAT-T port with the non-ESP marker', async () => {
    const ports = await freePorts(4);
    const [cIke, cNatt, gIke, gNatt] = ports as [number, number, number, number];
    const gw = await udpGateway(gIke, gNatt, new TestResponder(responderConfig({ endpoint: { address: LOOPBACK, port: gIke }, random: seededRandom('udp-gw') })));
    cleanups.push(() => gw.close());
    const session = new IkeSession(udpConfig(ports, { forceEncapsulation: true }), { random: seededRandom('udp-client') });
    const seenActions: IkeAction[] = [];
    let established!: () => void;
    const up = new Promise<void>((resolve) => (established = resolve));
    const driver = new IkeDriver(session, {
      localAddress: LOOPBACK,
      ports: { ike: cIke, natt: cNatt },
      onAction: (a) => {
        seenActions.push(a);
        if (a.kind === 'stage' && a.stage === 'established') established();
      },
    });
    const done = driver.run();
    await up;
    assert.equal(session.state, 'established');
    assert.equal(seenActions.some((a) => a.kind === 'send' || a.kind === 'timer'), false, 'send and timer stay inside the driver');
    const child = seenActions.find((a) => a.kind === 'installChildSa');
    assert.ok(child?.kind === 'installChildSa');
    assert.deepEqual(child.sa.encap, { localPort: cNatt, remotePort: gNatt });
    /* IKE_SA_INIT on the IKE port without a marker, IKE_AUTH on the NAT-T port behind four zero octets */
    assert.equal(gw.seen[0]?.port, gIke);
    assert.equal(gw.seen[0]?.data.readUInt32BE(0) === 0, false);
    assert.equal(gw.seen[1]?.port, gNatt);
    assert.equal(gw.seen[1]?.data.readUInt32BE(0), 0);
    // ESP and a NAT keepalive arriving on our NAT-T socket are not IKE: dropped, the session does not notice
    const before = seenActions.length;
    gw.raw(Uint8Array.of(0xc1, 0, 0, 1, 0, 0, 0, 1, 9, 9, 9, 9), { address: LOOPBACK, port: cNatt });
    gw.raw(Uint8Array.of(0xff), { address: LOOPBACK, port: cNatt });
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(seenActions.length, before);
    // a liveness check from the gateway over UDP is answered
    for (const d of gw.responder.request([])) gw.raw(Buffer.concat([Buffer.alloc(4), d]), { address: LOOPBACK, port: cNatt });
    await new Promise((r) => setTimeout(r, 100));
    assert.deepEqual(gw.responder.lastPeerResponse, []);
    driver.close();
    const outcome = await done;
    assert.equal(outcome.kind, 'closed');
    assert.equal(gw.responder.deleted, true);
  });

  it('sends NAT-keepalives (one 0xFF octet, RFC 3948 §2.3) on the NAT-T port while IKE is idle', async () => {
    const ports = await freePorts(4);
    const [cIke, cNatt, gIke, gNatt] = ports as [number, number, number, number];
    const gw = await udpGateway(gIke, gNatt, new TestResponder(responderConfig({ endpoint: { address: LOOPBACK, port: gIke }, random: seededRandom('ka-gw') })));
    cleanups.push(() => gw.close());
    const session = new IkeSession(udpConfig(ports, { forceEncapsulation: true }), { random: seededRandom('ka-client') });
    let established!: () => void;
    const up = new Promise<void>((resolve) => (established = resolve));
    const events: string[] = [];
    const driver = new IkeDriver(session, {
      localAddress: LOOPBACK,
      ports: { ike: cIke, natt: cNatt },
      keepaliveIntervalMs: 100,
      onAction: (a) => {
        if (a.kind === 'event') events.push(a.event.event);
        if (a.kind === 'stage' && a.stage === 'established') established();
      },
    });
    const done = driver.run();
    // a failed connect (a slow machine beyond the retransmissions) must fail the test, not hang it
    await Promise.race([up, done.then((o) => assert.fail(`session ended before it was established: ${JSON.stringify(o)}`))]);
    assert.deepEqual(driver.udpEncapsulation, { ok: true }, 'UDP_ENCAP set on the NAT-T socket (addon built?)');
    const t0 = Date.now();
    await new Promise((r) => setTimeout(r, 450));
    const keepalives = gw.seen.filter((d) => d.port === gNatt && d.data.length === 1 && d.data[0] === 0xff);
    assert.ok(keepalives.length >= 2 && keepalives.length <= 5, `${keepalives.length} keepalives in ${Date.now() - t0} ms at a 100 ms interval`);
    assert.equal(gw.seen.filter((d) => d.port === gIke && d.data.length === 1).length, 0, 'never on the IKE port');
    assert.ok(events.includes('nat.keepalive_started'));
    driver.close();
    assert.equal((await done).kind, 'closed');
    assert.equal(driver.keepalivesSent, gw.seen.filter((d) => d.data.length === 1).length);
    const after = gw.seen.length;
    await new Promise((r) => setTimeout(r, 250));
    assert.equal(gw.seen.length, after, 'no keepalive after the session ended');
  });

  it('refuses a CHILD_SA that needs ESP in UDP when UDP_ENCAP cannot be set: DELETE, then PLATFORM_ERROR', async () => {
    const ports = await freePorts(4);
    const [cIke, cNatt, gIke, gNatt] = ports as [number, number, number, number];
    const gw = await udpGateway(gIke, gNatt, new TestResponder(responderConfig({ endpoint: { address: LOOPBACK, port: gIke }, random: seededRandom('noencap-gw') })));
    cleanups.push(() => gw.close());
    const session = new IkeSession(udpConfig(ports, { forceEncapsulation: true }), { random: seededRandom('noencap') });
    const kinds: string[] = [];
    const outcome = await runIkeSession(session, {
      localAddress: LOOPBACK,
      ports: { ike: cIke, natt: cNatt },
      udpEncap: () => ({ ok: false, reason: 'test: addon missing' }),
      onAction: (a) => kinds.push(a.kind === 'event' ? a.event.event : a.kind),
    });
    assert.ok(outcome.kind === 'failed' && outcome.failure.code === 'PLATFORM_ERROR', JSON.stringify(outcome));
    assert.match(outcome.kind === 'failed' ? outcome.failure.message : '', /test: addon missing/);
    assert.equal(kinds.includes('installChildSa'), false, 'the CHILD_SA must not reach the platform');
    assert.ok(kinds.includes('driver.udp_encap_unavailable') && kinds.includes('driver.encapsulation_refused'));
    assert.equal(gw.responder.deleted, true, 'the IKE SA was deleted at the gateway');
  });

  it('retransmits on its timer and reports GATEWAY_UNREACHABLE when nobody answers', async () => {
    const ports = await freePorts(4);
    const [cIke, cNatt, gIke, gNatt] = ports as [number, number, number, number];
    const gw = await udpGateway(gIke, gNatt, new TestResponder(responderConfig({ random: seededRandom('mute') })));
    cleanups.push(() => gw.close());
    gw.mute = true;
    const session = new IkeSession(udpConfig(ports), { random: seededRandom('udp-unreachable') });
    const t0 = Date.now();
    const outcome = await runIkeSession(session, { localAddress: LOOPBACK, ports: { ike: cIke, natt: cNatt } });
    const elapsed = Date.now() - t0;
    assert.equal(outcome.kind, 'failed');
    assert.ok(outcome.kind === 'failed' && outcome.failure.code === 'GATEWAY_UNREACHABLE');
    assert.equal(gw.seen.length, 3, 'the first send and two retransmissions');
    // 200 + 300 + 450 ms of waiting
    assert.ok(elapsed >= 900 && elapsed < 5000, `gave up after ${elapsed} ms`);
  });

  it('times a retransmission from the send, not from the start of a slow session call (RFC 7296 §2.1)', async () => {
    const ports = await freePorts(4);
    const [cIke, cNatt, gIke, gNatt] = ports as [number, number, number, number];
    const gw = await udpGateway(gIke, gNatt, new TestResponder(responderConfig({ random: seededRandom('mute-slow') })));
    cleanups.push(() => gw.close());
    gw.mute = true;
    // The clock jumps 180 ms while start() builds the request: what a
    // Diffie-Hellman on a loaded machine looks like to the driver.
    let skew = 0;
    const session = new IkeSession(udpConfig(ports, { retransmit: { timeoutMs: 200, base: 1.5, tries: 1 } }), { random: seededRandom('udp-slow') });
    const start = session.start.bind(session);
    session.start = (now: number): IkeAction[] => {
      const actions = start(now);
      skew += 180;
      return [...actions];
    };
    const outcome = await runIkeSession(session, { localAddress: LOOPBACK, ports: { ike: cIke, natt: cNatt }, clock: () => Date.now() + skew });
    assert.ok(outcome.kind === 'failed' && outcome.failure.code === 'GATEWAY_UNREACHABLE');
    assert.equal(gw.seen.length, 2, 'the request and one retransmission');
    const gap = (gw.seen[1]?.at ?? 0) - (gw.seen[0]?.at ?? 0);
    assert.ok(gap >= 190, `the retransmission followed the request after ${gap} ms, not after the 200 ms timeout`);
  });

  it('reports a port it cannot bind as PLATFORM_ERROR', async () => {
    const ports = await freePorts(4);
    const [cIke, cNatt] = ports as [number, number];
    const squatter = createSocket('udp4');
    await new Promise<void>((resolve) => squatter.bind(cNatt, LOOPBACK, () => resolve()));
    cleanups.push(() => new Promise<void>((resolve) => squatter.close(() => resolve())));
    const session = new IkeSession(udpConfig(ports), { random: seededRandom('udp-bind') });
    const outcome = await runIkeSession(session, { localAddress: LOOPBACK, ports: { ike: cIke, natt: cNatt } });
    assert.ok(outcome.kind === 'failed' && outcome.failure.code === 'PLATFORM_ERROR', JSON.stringify(outcome));
    assert.match(outcome.kind === 'failed' ? outcome.failure.message : '', /EADDRINUSE/);
  });

  it('an aborted signal closes the session', async () => {
    const ports = await freePorts(4);
    const [cIke, cNatt, gIke, gNatt] = ports as [number, number, number, number];
    const gw = await udpGateway(gIke, gNatt, new TestResponder(responderConfig({ endpoint: { address: LOOPBACK, port: gIke }, random: seededRandom('abort-gw') })));
    cleanups.push(() => gw.close());
    const ac = new AbortController();
    const session = new IkeSession(udpConfig(ports), { random: seededRandom('abort') });
    const outcome = runIkeSession(session, {
      localAddress: LOOPBACK,
      ports: { ike: cIke, natt: cNatt },
      signal: ac.signal,
      onAction: (a) => {
        if (a.kind === 'stage' && a.stage === 'established') ac.abort();
      },
    });
    const o = await outcome;
    assert.equal(o.kind, 'closed');
    assert.equal(gw.responder.deleted, true);
  });
});
