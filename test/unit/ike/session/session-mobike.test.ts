/**
 * MOBIKE (RFC 4555) against the in-process responder: MOBIKE_SUPPORTED in
 * IKE_AUTH (§3.3), the UPDATE_SA_ADDRESSES exchange from the new address on
 * the NAT-T port with NAT detection and COOKIE2 (§3.5, §3.8), the action that
 * tells the host to move its CHILD_SAs, and every way the update can fail.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import type { IkeAction } from '../../../../native-helper/src/ike/actions.js';
import { ExchangeType, NotifyType, PayloadType } from '../../../../native-helper/src/ike/constants.js';
import { GATEWAY, connect, events, failure, installed, makePair, pump, sends } from './harness.js';

const NEW_LOCAL = '198.51.100.20';

const updateOf = (actions: readonly IkeAction[]): Extract<IkeAction, { kind: 'updateSaAddresses' }> | undefined =>
  actions.find((a): a is Extract<IkeAction, { kind: 'updateSaAddresses' }> => a.kind === 'updateSaAddresses');

const timerOf = (actions: readonly IkeAction[]): number | undefined => {
  let at: number | undefined;
  for (const a of actions) if (a.kind === 'timer') at = a.at;
  return at;
};

describe('MOBIKE (RFC 4555)', () => {
  it('is negotiated only when both sides announce MOBIKE_SUPPORTED in IKE_AUTH', () => {
    const both = makePair({ mobike: true }, { misbehave: { mobike: true } });
    connect(both);
    assert.equal(both.session.state, 'established');
    assert.equal(both.session.mobike, true);

    const gatewayWithout = makePair({ mobike: true }, { misbehave: {} });
    connect(gatewayWithout);
    assert.equal(gatewayWithout.session.state, 'established');
    assert.equal(gatewayWithout.session.mobike, false, 'the gateway did not answer with MOBIKE_SUPPORTED');

    const clientOff = makePair({ mobike: false }, { misbehave: { mobike: true } });
    connect(clientOff);
    assert.equal(clientOff.session.mobike, false, 'we did not announce it: the responder does not answer with it either');
  });

  it('moves the IKE SA: UPDATE_SA_ADDRESSES from the new address on port 4500, then updateSaAddresses for every CHILD_SA', () => {
    const pair = makePair({ mobike: true }, { misbehave: { mobike: true } });
    const up = connect(pair);
    const child = installed(up)[0];
    assert.ok(child !== undefined);
    assert.equal(child.encap, null, 'no NAT on the first path');
    const before = pair.responder.log.length;
    const out = pump(pair, pair.session.updateAddresses(NEW_LOCAL, pair.now));
    const request = sends(out)[0];
    assert.ok(request !== undefined, 'a request went out');
    assert.deepEqual(request.from, { address: NEW_LOCAL, port: 4500 }, 'from the new address, NAT-T port (§3.5)');
    assert.deepEqual(request.to, { address: GATEWAY.address, port: 4500 });
    const logged = pair.responder.log.slice(before);
    // N(UPDATE_SA_ADDRESSES), N(NAT_DETECTION_SOURCE_IP), N(NAT_DETECTION_DESTINATION_IP), N(COOKIE2)
    assert.deepEqual(logged.map((l) => [l.exchange, l.inner]), [[ExchangeType.INFORMATIONAL, [PayloadType.NOTIFY, PayloadType.NOTIFY, PayloadType.NOTIFY, PayloadType.NOTIFY]]]);
    assert.deepEqual(pair.responder.addressUpdates, [{ address: NEW_LOCAL, port: 4500 }]);
    const u = updateOf(out);
    assert.ok(u !== undefined, 'updateSaAddresses action');
    assert.deepEqual(u.childIds, [child.id]);
    assert.deepEqual(u.local, { address: NEW_LOCAL, port: 4500 });
    assert.deepEqual(u.remote, { address: GATEWAY.address, port: 4500 });
    assert.equal(u.encap, null, 'the new path has no NAT: plain ESP');
    assert.equal(pair.session.state, 'established');
    assert.deepEqual(pair.session.negotiated.local, { address: NEW_LOCAL, port: 4500 });
    assert.ok(events(out).some((e) => e.event === 'mobike.updated'));

    // Later exchanges (here a liveness check) run on the new addresses.
    const dpd = pump(pair, pair.session.tick(pair.now + 10 * 60_000));
    for (const s of sends(dpd)) assert.deepEqual(s.from, { address: NEW_LOCAL, port: 4500 });
  });

  it('a NAT on the new path switches the CHILD_SAs to ESP in UDP', () => {
    const pair = makePair({ mobike: true }, { misbehave: { mobike: true, mobikeNat: true } });
    connect(pair);
    const out = pump(pair, pair.session.updateAddresses(NEW_LOCAL, pair.now));
    const u = updateOf(out);
    assert.deepEqual(u?.encap, { localPort: 4500, remotePort: 4500 });
    assert.equal(pair.session.negotiated.encapsulation, true);
    assert.deepEqual(pair.session.negotiated.nat, { local: true, remote: false });
  });

  it('a refusal (UNACCEPTABLE_ADDRESSES) ends the session: the host starts a new IKE SA', () => {
    const pair = makePair({ mobike: true }, { misbehave: { mobike: true, mobikeRefuse: NotifyType.UNACCEPTABLE_ADDRESSES } });
    connect(pair);
    const out = pump(pair, pair.session.updateAddresses(NEW_LOCAL, pair.now));
    assert.equal(updateOf(out), undefined);
    const f = failure(out);
    assert.equal(f?.code, 'PEER_DELETED', JSON.stringify(f));
    assert.equal(f?.fields?.notify, 'UNACCEPTABLE_ADDRESSES');
    assert.equal(pair.session.state, 'failed');
  });

  it('an answer without our COOKIE2 is refused (§3.8)', () => {
    const pair = makePair({ mobike: true }, { misbehave: { mobike: true, mobikeWrongCookie2: true } });
    connect(pair);
    const out = pump(pair, pair.session.updateAddresses(NEW_LOCAL, pair.now));
    assert.equal(updateOf(out), undefined, 'no move on a wrong COOKIE2');
    assert.equal(failure(out)?.code, 'PROTOCOL_ERROR');
    assert.ok(events(out).some((e) => e.event === 'mobike.cookie2_mismatch'));
  });

  it('without MOBIKE nothing is sent; the host is told it is unavailable', () => {
    const pair = makePair({ mobike: true }, { misbehave: {} });
    connect(pair);
    const out = pair.session.updateAddresses(NEW_LOCAL, pair.now);
    assert.equal(sends(out).length, 0);
    assert.ok(events(out).some((e) => e.event === 'mobike.unavailable'));
    assert.equal(pair.session.state, 'established');
    assert.deepEqual(pair.session.negotiated.local.address, '192.0.2.2', 'addresses unchanged');
  });

  it('no answer on the new path: DEAD_PEER after the retransmissions, every one from the new address', () => {
    const pair = makePair({ mobike: true, retransmit: { timeoutMs: 1000, base: 2, tries: 2 } }, { misbehave: { mobike: true } });
    connect(pair);
    let out = pair.session.updateAddresses(NEW_LOCAL, pair.now);
    const all = [...out];
    for (let i = 0; i < 10 && failure(out) === undefined; i++) {
      const at = timerOf(out);
      assert.ok(at !== undefined);
      pair.now = at;
      out = pair.session.tick(at);
      all.push(...out);
    }
    assert.equal(failure(all)?.code, 'DEAD_PEER');
    const s = sends(all);
    assert.equal(s.length, 3, 'first send + 2 retransmissions');
    for (const d of s) assert.deepEqual(d.from, { address: NEW_LOCAL, port: 4500 });
    assert.deepEqual(pair.responder.addressUpdates, []);
  });
});
