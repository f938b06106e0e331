/**
 * The gateway's CHILD_SA rekey without loss (RFC 7296 §2.8): as the
 * responder we install the new inbound SA at once (deferOutbound) and switch
 * outbound only when the gateway deletes the old pair, or after a grace
 * time; a redundant SA of a collision we won (§2.8.1) never gets traffic.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import type { IkeAction } from '../../../../native-helper/src/ike/actions.js';
import { PEER_REKEY_OUTBOUND_GRACE_MS } from '../../../../native-helper/src/ike/session.js';
import { CLIENT, GATEWAY, connect, failure, installed, makePair, pump } from './harness.js';
import type { Pair } from './harness.js';

function established(over: Parameters<typeof makePair>[0] = {}): { pair: Pair; actions: IkeAction[] } {
  const pair = makePair({ childLifetime: { soft: 60, hard: 90 }, ...over });
  const actions = connect(pair);
  assert.equal(pair.session.state, 'established', JSON.stringify(failure(actions)));
  return { pair, actions };
}

function serve(pair: Pair, datagrams: readonly Uint8Array[]): IkeAction[] {
  const out: IkeAction[] = [];
  for (const d of datagrams) out.push(...pair.session.receive({ data: d, from: GATEWAY, to: CLIENT }, pair.now));
  for (const sa of installed(out)) out.push(...pair.session.childSaInstalled(sa.id, pair.now));
  for (const a of out) if (a.kind === 'send') pair.responder.handle(a.data, CLIENT);
  return out;
}

const spiBytes = (spi: number): Uint8Array => {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, spi);
  return b;
};

const kinds = (actions: readonly IkeAction[]): string[] =>
  actions.flatMap((a) => (a.kind === 'installOutboundSa' || a.kind === 'removeChildSa' ? [`${a.kind}:${a.id}`] : a.kind === 'installChildSa' ? [`installChildSa:${a.sa.id}${a.deferOutbound === true ? ':deferred' : ''}`] : []));

describe("the gateway's CHILD_SA rekey, lossless", () => {
  it('installs inbound first and switches outbound when the gateway deletes the old pair, before removing it', () => {
    const { pair, actions } = established();
    const [first] = installed(actions);
    const gwChild = pair.responder.children[0];
    assert.ok(first && gwChild);
    const out = serve(pair, pair.responder.rekeyRequest(gwChild));
    const [second] = installed(out);
    assert.ok(second);
    assert.deepEqual(kinds(out), [`installChildSa:${second.id}:deferred`], 'inbound only; nothing switched or removed yet');
    assert.ok(pair.responder.completePeerRekey(), 'the gateway got our answer');
    const del = pair.responder.request([{ type: 42, protocol: 3, spis: [spiBytes(gwChild.responderSpi)] }]);
    const out2 = del.flatMap((d) => pair.session.receive({ data: d, from: GATEWAY, to: CLIENT }, pair.now));
    assert.deepEqual(kinds(out2), [`installOutboundSa:${second.id}`, `removeChildSa:${first.id}`], 'switch, then remove');
    const ev = out2.find((a) => a.kind === 'event' && a.event.event === 'child_sa.outbound_switched');
    assert.ok(ev, 'helpdesk event');
    // no later timer switches it again
    const later = pair.session.tick(pair.now + 2 * PEER_REKEY_OUTBOUND_GRACE_MS);
    assert.deepEqual(kinds(later), []);
    assert.equal(pair.session.state, 'established');
  });

  it('switches outbound after the grace time when the DELETE never comes', () => {
    const { pair } = established({ peerRekeyOutboundGraceMs: 3000 });
    const gwChild = pair.responder.children[0];
    assert.ok(gwChild);
    const t0 = pair.now;
    const out = serve(pair, pair.responder.rekeyRequest(gwChild));
    const [second] = installed(out);
    assert.ok(second);
    assert.deepEqual(kinds(pair.session.tick(t0 + 2999)), [], 'not before the grace');
    assert.deepEqual(kinds(pair.session.tick(t0 + 3000)), [`installOutboundSa:${second.id}`]);
  });

  it('the gateway deleting the NEW pair (its redundant one) drops the pending switch', () => {
    const { pair } = established({ peerRekeyOutboundGraceMs: 3000 });
    const gwChild = pair.responder.children[0];
    assert.ok(gwChild);
    const out = serve(pair, pair.responder.rekeyRequest(gwChild));
    const gwNew = pair.responder.completePeerRekey();
    const [second] = installed(out);
    assert.ok(second && gwNew);
    const del = pair.responder.request([{ type: 42, protocol: 3, spis: [spiBytes(gwNew.responderSpi)] }]);
    const out2 = del.flatMap((d) => pair.session.receive({ data: d, from: GATEWAY, to: CLIENT }, pair.now));
    assert.deepEqual(kinds(out2), [`removeChildSa:${second.id}`]);
    assert.deepEqual(kinds(pair.session.tick(pair.now + 10_000)).filter((k) => k.startsWith('installOutboundSa')), [], 'never sends on it');
  });

  for (const gatewayLow of [true, false]) {
    it(`collision (§2.8.1), ${gatewayLow ? 'we win: the gateway’s redundant SA never carries our traffic' : 'the gateway wins: we switch to its SA when it deletes the old'}`, () => {
      const { pair, actions } = established();
      const [first] = installed(actions);
      const gwChild = pair.responder.children[0];
      assert.ok(first && gwChild);
      let at: number | undefined;
      for (const a of actions) if (a.kind === 'timer') at = a.at;
      pair.now = at as number;
      const ours = pair.session.tick(pair.now);
      const theirs = serve(pair, pair.responder.rekeyRequest(gwChild, { nonce: new Uint8Array(32).fill(gatewayLow ? 0x00 : 0xff) }));
      const gwNew = pair.responder.completePeerRekey();
      assert.ok(gwNew);
      const rest = pump(pair, ours);
      const later = installed(rest).flatMap((n) => pump(pair, pair.session.childSaInstalled(n.id, pair.now)));
      const gwMade = installed(theirs)[0];
      assert.ok(gwMade);
      assert.equal(installed(theirs).length, 1);
      if (gatewayLow) {
        const all = [...theirs, ...rest, ...later, ...pair.session.tick(pair.now + 60_000)];
        assert.ok(!kinds(all).includes(`installOutboundSa:${gwMade.id}`), kinds(all).join(' '));
      } else {
        const del = pair.responder.request([{ type: 42, protocol: 3, spis: [spiBytes(gwChild.responderSpi)] }]);
        const out2 = del.flatMap((d) => pair.session.receive({ data: d, from: GATEWAY, to: CLIENT }, pair.now));
        assert.deepEqual(kinds(out2), [`installOutboundSa:${gwMade.id}`, `removeChildSa:${first.id}`]);
      }
      assert.equal(pair.session.state, 'established');
    });
  }
});
