/**
 * CHILD_SA rekeying (RFC 7296 §1.3.3, §2.8, §2.8.1) against the in-process
 * responder: our own rekey at the soft lifetime (with jitter), with and
 * without PFS, make-before-break ordering of the actions, the gateway's
 * rekey, and simultaneous rekeys of the same CHILD_SA.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import type { IkeAction } from '../../../../native-helper/src/ike/actions.js';
import { EncrId, KeId, NotifyType } from '../../../../native-helper/src/ike/constants.js';
import { parseEspProposals } from '../../../../native-helper/src/ike/proposals.js';
import { formatTrafficSelector, selectorFromCidr } from '../../../../native-helper/src/ike/traffic-selectors.js';
import { CLIENT, GATEWAY, GW_ESP, connect, events, failure, installed, makePair, pump, toHex } from './harness.js';
import type { Pair } from './harness.js';

const SOFT_S = 60;

function established(over: Parameters<typeof makePair>[0] = {}, responder: Parameters<typeof makePair>[1] = {}): { pair: Pair; actions: IkeAction[] } {
  const pair = makePair({ childLifetime: { soft: SOFT_S, hard: 90 }, ...over }, responder);
  const actions = connect(pair);
  assert.equal(pair.session.state, 'established', JSON.stringify(failure(actions)));
  return { pair, actions };
}

const timerOf = (actions: readonly IkeAction[]): number | undefined => {
  let at: number | undefined;
  for (const a of actions) if (a.kind === 'timer') at = a.at;
  return at;
};

/** Ticks at the session's requested timer and pumps everything through the responder. */
function fireTimer(pair: Pair, actions: readonly IkeAction[]): IkeAction[] {
  const at = timerOf(actions);
  assert.ok(at !== undefined, 'the session asked for a timer');
  pair.now = at;
  return pump(pair, pair.session.tick(at));
}

/** The session's handling of a gateway request: receive, report every install as done, deliver our answers. */
function serve(pair: Pair, datagrams: readonly Uint8Array[]): IkeAction[] {
  const out: IkeAction[] = [];
  for (const d of datagrams) out.push(...pair.session.receive({ data: d, from: GATEWAY, to: CLIENT }, pair.now));
  for (const sa of installed(out)) out.push(...pair.session.childSaInstalled(sa.id, pair.now));
  for (const a of out) if (a.kind === 'send') pair.responder.handle(a.data, CLIENT);
  return out;
}

describe('CHILD_SA rekey', () => {
  it('asks for a timer at the soft lifetime minus at most 10 % jitter', () => {
    const { pair, actions } = established();
    const at = timerOf(actions);
    assert.ok(at !== undefined, 'a timer after establishment');
    const delay = at - pair.now;
    assert.ok(delay <= SOFT_S * 1000 && delay >= SOFT_S * 900 - 50, `rekey after ${delay} ms`);
  });

  it('rekeys on its own timer: install new before deleting the old, keys agree with the gateway', () => {
    const { pair, actions } = established();
    const [first] = installed(actions);
    assert.ok(first, 'first CHILD_SA');
    const rekeyed = fireTimer(pair, actions);
    assert.ok(!rekeyed.some((a) => a.kind === 'removeChildSa'), 'the old pair stays until the host has installed the new one');
    const [second] = installed(rekeyed);
    assert.ok(second, 'the new CHILD_SA');
    // The host reports the install: only now does the DELETE of the old pair go out.
    const out = [...rekeyed, ...pump(pair, pair.session.childSaInstalled(second.id, pair.now))];
    const kinds = out.filter((a) => a.kind === 'installChildSa' || a.kind === 'removeChildSa').map((a) => (a.kind === 'installChildSa' ? `install ${a.sa.id}` : `remove ${a.id}`));
    assert.deepEqual(kinds, [`install ${first.id + 1}`, `remove ${first.id}`], 'make-before-break');
    assert.notEqual(second.inbound.spi, first.inbound.spi);
    // The responder derived the same keys for the new pair.
    const gw = pair.responder.children.find((c) => c.initiatorSpi === second.inbound.spi);
    assert.ok(gw, 'the responder knows the new CHILD_SA');
    assert.equal(toHex(second.outbound.encKey), toHex(gw.keys.encI));
    assert.equal(toHex(second.inbound.encKey), toHex(gw.keys.encR));
    assert.equal(second.outbound.spi, gw.responderSpi);
    assert.deepEqual(pair.responder.deletedChildren.map((c) => c.initiatorSpi), [first.inbound.spi], 'the old pair was deleted at the gateway');
    assert.deepEqual(pair.responder.rekeys, [{ rekeyedSpi: first.inbound.spi, pfs: false }]);
    assert.ok(events(out).some((e) => e.event === 'child_sa.rekeyed'), 'rekeyed event');
    assert.equal(pair.session.state, 'established');
    // And the new one is scheduled for its own rekey.
    assert.ok((timerOf(out) ?? 0) > pair.now + SOFT_S * 800, 'next rekey scheduled');
  });

  it('without a report from the host, the old pair is deleted after the grace delay', () => {
    const { pair, actions } = established({ rekeyDeleteDelayMs: 1500 });
    const [first] = installed(actions);
    const rekeyed = fireTimer(pair, actions);
    assert.ok(!rekeyed.some((a) => a.kind === 'removeChildSa'), 'not yet');
    assert.equal(timerOf(rekeyed), pair.now + 1500, 'a timer for the delayed DELETE');
    const out = fireTimer(pair, rekeyed);
    assert.ok(out.some((a) => a.kind === 'removeChildSa' && a.id === first?.id), 'old pair removed after the delay');
  });

  it('with PFS: a KE payload in the rekey, keys from g^ir | Ni | Nr agree', () => {
    const { pair, actions } = established(
      { espProposals: parseEspProposals(['aes256gcm16-ecp256']) },
      { esp: [{ encr: EncrId.AES_GCM_16, encrKeyLength: 256, esn: false, ke: KeId.ECP_256 }] },
    );
    const out = fireTimer(pair, actions);
    const [second] = installed(out);
    assert.ok(second, 'the new CHILD_SA');
    const gw = pair.responder.children.find((c) => c.initiatorSpi === second.inbound.spi);
    assert.ok(gw, 'the responder knows the new CHILD_SA');
    assert.equal(toHex(second.outbound.encKey), toHex(gw.keys.encI));
    assert.deepEqual(pair.responder.rekeys.map((r) => r.pfs), [true]);
    assert.ok(events(out).some((e) => e.event === 'child_sa.rekeyed' && e.fields?.pfs === true), 'rekeyed with PFS');
  });

  it('a refused rekey keeps the old CHILD_SA and retries later', () => {
    const { pair, actions } = established({}, { misbehave: { rekeyRefuse: NotifyType.TEMPORARY_FAILURE } });
    const out = fireTimer(pair, actions);
    assert.equal(installed(out).length, 0, 'nothing new');
    assert.ok(!out.some((a) => a.kind === 'removeChildSa'), 'nothing removed');
    assert.ok(events(out).some((e) => e.event === 'child_sa.rekey_failed'), 'failure logged');
    assert.equal(pair.session.state, 'established');
    assert.equal((timerOf(out) ?? 0) - pair.now, 10_000);
  });

  it("answers the gateway's rekey: installs the new pair, keys agree, the gateway then deletes the old one", () => {
    const { pair, actions } = established();
    const [first] = installed(actions);
    const gwChild = pair.responder.children[0];
    assert.ok(first && gwChild, 'first CHILD_SA');
    const req = pair.responder.rekeyRequest(gwChild);
    const first0 = req.flatMap((d) => pair.session.receive({ data: d, from: GATEWAY, to: CLIENT }, pair.now));
    assert.ok(!first0.some((a) => a.kind === 'send'), 'our answer waits until the host installed the new pair');
    const [pending] = installed(first0);
    assert.ok(pending, 'install action first');
    const out = [...first0, ...pair.session.childSaInstalled(pending.id, pair.now)];
    assert.equal(out.filter((a) => a.kind === 'send').length, 1, 'released by childSaInstalled');
    for (const a of out) if (a.kind === 'send') pair.responder.handle(a.data, CLIENT);
    const gwNew = pair.responder.completePeerRekey();
    assert.ok(gwNew, 'the gateway completed its rekey');
    const [second] = installed(out);
    assert.ok(second, 'we installed the new pair');
    assert.equal(second.outbound.spi, gwNew.responderSpi);
    assert.equal(second.inbound.spi, gwNew.initiatorSpi);
    // The gateway initiated: its I→R keys are our inbound keys.
    assert.equal(toHex(second.inbound.encKey), toHex(gwNew.keys.encI));
    assert.equal(toHex(second.outbound.encKey), toHex(gwNew.keys.encR));
    assert.ok(!out.some((a) => a.kind === 'removeChildSa'), 'the old one stays until the gateway deletes it');
    // The gateway deletes the old pair.
    const spi = new Uint8Array(4);
    new DataView(spi.buffer).setUint32(0, gwChild.responderSpi);
    const del = pair.responder.request([{ type: 42, protocol: 3, spis: [spi] }]);
    const out2 = del.flatMap((d) => pair.session.receive({ data: d, from: GATEWAY, to: CLIENT }, pair.now));
    assert.ok(out2.some((a) => a.kind === 'removeChildSa' && a.id === first.id), 'old pair removed');
    assert.equal(pair.session.state, 'established', 'still up with the new pair');
  });

  it("narrows the gateway's wider selectors to the CHILD_SA's own (charon proposes its configured ones)", () => {
    const { pair } = established({ trafficSelectors: { local: [selectorFromCidr('0.0.0.0/0')], remote: [selectorFromCidr('10.10.0.0/24')] }, requestConfig: { ipv4: true, ipv6: false, dns: false } });
    const gwChild = pair.responder.children[0];
    assert.ok(gwChild, 'first CHILD_SA');
    const wide = [selectorFromCidr('10.10.0.0/16'), selectorFromCidr('fd00:10::/64')];
    const out = serve(pair, pair.responder.rekeyRequest(gwChild, { tsi: wide }));
    const [second] = installed(out);
    assert.ok(second, 'rekeyed');
    assert.deepEqual(second.remoteTs.map(formatTrafficSelector), ['10.10.0.0/24'], 'narrowed to the old CHILD_SA');
    const tsi = pair.responder.lastPeerResponse?.find((p) => p.type === 44) as { selectors: Parameters<typeof formatTrafficSelector>[0][] } | undefined;
    assert.deepEqual(tsi?.selectors.map(formatTrafficSelector), ['10.10.0.0/24'], 'narrowed TSi in our response');
  });

  it("without an install report, our answer to the gateway's rekey leaves after the hold time", () => {
    const { pair } = established({ peerRekeyHoldMs: 400 });
    const gwChild = pair.responder.children[0];
    assert.ok(gwChild, 'first CHILD_SA');
    const out = pair.responder.rekeyRequest(gwChild).flatMap((d) => pair.session.receive({ data: d, from: GATEWAY, to: CLIENT }, pair.now));
    assert.ok(!out.some((a) => a.kind === 'send'), 'held');
    assert.equal(timerOf(out), pair.now + 400, 'timer for the release');
    const later = pair.session.tick(pair.now + 400);
    assert.equal(later.filter((a) => a.kind === 'send').length, 1, 'released by the timer');
  });

  it('with PFS on the gateway side too', () => {
    const { pair } = established();
    const gwChild = pair.responder.children[0];
    assert.ok(gwChild, 'first CHILD_SA');
    const out = serve(pair, pair.responder.rekeyRequest(gwChild, { pfsGroup: KeId.ECP_256 }));
    const gwNew = pair.responder.completePeerRekey();
    const [second] = installed(out);
    assert.ok(gwNew && second, 'both sides have the new CHILD_SA');
    assert.equal(toHex(second.inbound.encKey), toHex(gwNew.keys.encI));
  });

  it('simultaneous rekey (§2.8.1): exactly one new pair survives and both old and redundant pairs are deleted', () => {
    for (const gatewayLow of [true, false]) {
      const { pair, actions } = established({}, {}, );
      const [first] = installed(actions);
      const gwChild = pair.responder.children[0];
      assert.ok(first && gwChild, 'first CHILD_SA');
      // Our rekey request goes out, but the gateway's own rekey request crosses it.
      const at = timerOf(actions) as number;
      pair.now = at;
      const ours = pair.session.tick(at);
      const ourRequest = ours.filter((a) => a.kind === 'send');
      assert.equal(ourRequest.length, 1, 'our CREATE_CHILD_SA');
      const nonce = new Uint8Array(32).fill(gatewayLow ? 0x00 : 0xff);
      const theirs = serve(pair, pair.responder.rekeyRequest(gwChild, { nonce }));
      const gwNew = pair.responder.completePeerRekey();
      assert.ok(gwNew, "the gateway's rekey completed");
      // Now our request reaches the gateway and its answer comes back.
      const rest = pump(pair, ours);
      const news = installed([...theirs, ...rest]);
      const later = installed(rest).flatMap((n) => pump(pair, pair.session.childSaInstalled(n.id, pair.now)));
      const all = [...theirs, ...rest, ...later];
      assert.equal(news.length, 2, 'two new pairs were created');
      const collision = events(all).find((e) => e.event === 'child_sa.rekey_collision');
      assert.ok(collision, 'collision detected');
      const removed = all.flatMap((a) => (a.kind === 'removeChildSa' ? [a.id] : []));
      const gwMade = news.find((n) => n.inbound.spi === gwNew.initiatorSpi);
      const weMade = news.find((n) => n.inbound.spi !== gwNew.initiatorSpi);
      assert.ok(gwMade && weMade, 'both new pairs identified');
      if (gatewayLow) {
        // The gateway's exchange has the lowest nonce: its new pair is redundant (it deletes it); we delete the old.
        assert.deepEqual(removed, [first.id], `we removed ${removed.join(',')}`);
        assert.equal(collision.fields?.redundant, gwMade.id);
      } else {
        // Our exchange has the lowest nonce (all-0xff from the gateway): we delete OUR new pair; the gateway deletes the old.
        assert.deepEqual(removed, [weMade.id], `we removed ${removed.join(',')}`);
        assert.equal(collision.fields?.redundant, weMade.id);
      }
      assert.equal(pair.session.state, 'established');
    }
  });

  it('refuses a CREATE_CHILD_SA for an unknown SPI with CHILD_SA_NOT_FOUND', () => {
    const { pair } = established();
    const gwChild = pair.responder.children[0];
    assert.ok(gwChild, 'first CHILD_SA');
    const out = serve(pair, pair.responder.rekeyRequest({ ...gwChild, responderSpi: 0xdeadbeef }));
    const n = pair.responder.lastPeerResponse?.find((p) => p.type === 41) as { notifyType: number } | undefined;
    assert.equal(n?.notifyType, NotifyType.CHILD_SA_NOT_FOUND);
    assert.equal(installed(out).length, 0, 'nothing installed');
  });

  it('GW_ESP sanity', () => assert.ok(GW_ESP.length > 0, 'responder ESP suites'));
});
