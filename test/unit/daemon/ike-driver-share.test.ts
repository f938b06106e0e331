/**
 * Two IKE SAs on one pair of sockets (IkeDriver `share`, the make-before-break
 * reauthentication's transport): over real loopback UDP against the
 * in-process responder (helpers.ts udpGateway, which serves each IKE SA by
 * its initiator SPI), both sessions come up from the same local port, each
 * gets its own answers (RFC 7296 §2.2), the sockets stay open while either
 * runs, and a MOBIKE rebind of the binder ends the sharing session.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { afterEach, describe, it } from 'node:test';

import { IkeDriver, type IkeDriverOutcome } from '../../../native-helper/src/daemon/ike-driver.js';
import type { IkeAction } from '../../../native-helper/src/ike/actions.js';
import { NotifyType } from '../../../native-helper/src/ike/constants.js';
import { IkeSession } from '../../../native-helper/src/ike/session.js';
import { sessionConfig } from '../ike/session/harness.js';
import { LOOPBACK, freePorts, udpGateway, type UdpGateway } from './helpers.js';

const gateways: UdpGateway[] = [];
afterEach(async () => {
  for (const g of gateways.splice(0)) await g.close();
});

interface Run {
  readonly session: IkeSession;
  readonly driver: IkeDriver;
  readonly outcome: Promise<IkeDriverOutcome>;
  readonly established: Promise<void>;
}

function start(gw: UdpGateway, ports: { ike: number; natt: number }, share?: IkeDriver, local = LOOPBACK): Run {
  const session = new IkeSession(
    sessionConfig({ local: { address: local, port: ports.ike }, remote: { address: LOOPBACK, port: gw.port }, nattPorts: { local: ports.natt, remote: 4500 }, ...(share !== undefined ? { initialContact: false, firstChildId: 100_001 } : {}) }),
    { random: (n) => new Uint8Array(randomBytes(n)) },
  );
  let up: () => void = () => undefined;
  const established = new Promise<void>((resolve) => (up = resolve));
  const onAction = (a: IkeAction): void => {
    if (a.kind === 'stage' && a.stage === 'established') up();
  };
  const driver = new IkeDriver(session, { localAddress: local, ports, udpEncap: () => ({ ok: true }), onAction, ...(share !== undefined ? { share } : {}) });
  const outcome = driver.run();
  void outcome.then(() => up());
  return { session, driver, outcome, established };
}

describe('IkeDriver share: two IKE SAs from the same local ports', () => {
  it('both sessions come up from one port; the second outlives the first; the ports are free once both ended', async () => {
    const gw = await udpGateway();
    gateways.push(gw);
    const [ike, natt] = (await freePorts(2)) as [number, number];
    const ports = { ike, natt };
    const first = start(gw, ports);
    await first.established;
    assert.equal(first.session.state, 'established');
    const firstResponder = gw.responder;
    const second = start(gw, ports, first.driver);
    await second.established;
    assert.equal(second.session.state, 'established', 'the second IKE SA got its answers through the first driver’s sockets');
    assert.notEqual(second.session.spis.initiator, first.session.spis.initiator);
    assert.deepEqual([...gw.sourcePorts], [ike], 'both from the same local port');
    assert.equal(gw.responder.childRequest?.notifies.includes(NotifyType.INITIAL_CONTACT), false, 'no INITIAL_CONTACT on the second');
    // break: the first IKE SA goes (DELETE answered by its own responder); the second keeps working
    first.driver.close();
    assert.equal((await first.outcome).kind, 'closed');
    assert.equal(firstResponder.deleted, true);
    second.driver.close();
    const o = await second.outcome;
    assert.equal(o.kind, 'closed', JSON.stringify(o));
    assert.equal(gw.responder.deleted, true, 'the second DELETE reached the second IKE SA through the sockets the first one bound');
    // the sockets are closed: the ports can be bound again
    const again = start(gw, ports);
    await again.established;
    assert.equal(again.session.state, 'established', 'the ports were free again');
    again.driver.abort('done');
    await again.outcome;
  });

  it('a MOBIKE rebind of the binder ends the session sharing its old sockets', async () => {
    const gw = await udpGateway();
    gateways.push(gw);
    const [ike, natt] = (await freePorts(2)) as [number, number];
    const first = start(gw, { ike, natt });
    await first.established;
    const second = start(gw, { ike, natt }, first.driver);
    await second.established;
    await first.driver.rebind('127.0.0.2');
    const o = await second.outcome;
    assert.deepEqual(o, { kind: 'closed', reason: 'the IKE sockets moved to a new address' });
    first.driver.abort('done');
    await first.outcome;
  });
});
