/**
 * IKE SA rekeying (RFC 7296 §1.3.2, §2.18) against the in-process
 * responder: our own rekey on the ikeRekeySeconds timer (with jitter), the
 * gateway's rekey, both old IKE SAs deleted, Message IDs restarting on the
 * new IKE SA, CHILD_SAs kept (a later CHILD_SA rekey derives from the NEW
 * SK_d), simultaneous rekeys (§2.8.2), and hostile or refused answers
 * (typed events, no crash, the current IKE SA stays).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import type { IkeAction } from '../../../../native-helper/src/ike/actions.js';
import { ExchangeType, NotifyType, PayloadType, ProtocolId } from '../../../../native-helper/src/ike/constants.js';
import { IKE_REKEY_RETRY_MS } from '../../../../native-helper/src/ike/exchange/ike-rekey.js';
import type { Misbehaviour } from '../../../support/test-responder.js';
import { CLIENT, GATEWAY, connect, events, failure, installed, makePair, pump, toHex } from './harness.js';
import type { Pair } from './harness.js';

const REKEY_S = 100;

function established(over: Parameters<typeof makePair>[0] = {}, misbehave: Misbehaviour = {}): { pair: Pair; actions: IkeAction[] } {
  const pair = makePair({ childLifetime: { soft: 3000, hard: 3600 }, ikeRekeySeconds: REKEY_S, ...over }, { misbehave });
  const actions = connect(pair);
  assert.equal(pair.session.state, 'established', JSON.stringify(failure(actions)));
  return { pair, actions };
}

const timerOf = (actions: readonly IkeAction[]): number | undefined => {
  let at: number | undefined;
  for (const a of actions) if (a.kind === 'timer') at = a.at;
  return at;
};

/** The session's answer to gateway requests, delivered back to the responder. */
function serve(pair: Pair, datagrams: readonly Uint8Array[]): IkeAction[] {
  const out = datagrams.flatMap((d) => pair.session.receive({ data: d, from: GATEWAY, to: CLIENT }, pair.now));
  for (const a of out) if (a.kind === 'send') pair.responder.handle(a.data, CLIENT);
  return out;
}

const names = (actions: readonly IkeAction[]): string[] => events(actions).map((e) => e.event);
const spisOf = (pair: Pair): { initiator: string; responder: string } => ({ initiator: toHex(pair.responder.spiI), responder: toHex(pair.responder.spiR) });
const DELETE_IKE = { type: PayloadType.DELETE, protocol: ProtocolId.IKE, spis: [] };

describe('IKE SA rekey', () => {
  it('rekeys on its own timer (ikeRekeySeconds minus at most 10 % jitter): new SPIs and keys, the old IKE SA deleted', () => {
    const { pair, actions } = established();
    const at = timerOf(actions) as number;
    assert.ok(at <= pair.now + REKEY_S * 1000 && at >= pair.now + REKEY_S * 900, `timer at +${at - pair.now} ms`);
    const old = pair.session.spis;
    pair.now = at;
    const out = pump(pair, pair.session.tick(at));
    assert.deepEqual(pair.responder.ikeRekeys.map((r) => r.by), ['initiator']);
    assert.deepEqual(pair.session.spis, spisOf(pair), 'both sides on the same new IKE SA');
    assert.notEqual(pair.session.spis.initiator, old.initiator);
    assert.deepEqual(pair.responder.deletedIkeSas, [old.initiator], 'we deleted the old IKE SA on it');
    const ev = names(out);
    for (const e of ['ike_sa.rekey_started', 'ike_sa.rekey_negotiated', 'ike_sa.rekeyed', 'ike_sa.old_delete_sent', 'ike_sa.old_deleted']) assert.ok(ev.includes(e), `${e} in ${ev.join(',')}`);
    assert.equal(pair.session.state, 'established');
    assert.equal(installed(out).length, 0, 'CHILD_SAs untouched');
    // The next rekey is scheduled again on the new IKE SA.
    const next = timerOf(out) as number;
    assert.ok(next > at + REKEY_S * 800, 'rescheduled');
  });

  it('on the new IKE SA: Message IDs restart at 0 and a CHILD_SA rekey derives its keys from the new SK_d', () => {
    const { pair, actions } = established({ childLifetime: { soft: 150, hard: 200 } });
    pair.now = timerOf(actions) as number; // the IKE SA rekey comes first (≤ 100 s)
    pump(pair, pair.session.tick(pair.now));
    assert.equal(pair.responder.ikeRekeys.length, 1);
    const before = pair.responder.log.length;
    // the CHILD_SA's own rekey (soft lifetime 150 s)
    let out: IkeAction[] = [];
    for (let i = 0; i < 5 && pair.responder.rekeys.length === 0; i++) {
      const at = timerOf([...pair.actions]) as number;
      pair.now = Math.max(pair.now, at);
      out = pump(pair, pair.session.tick(pair.now));
    }
    assert.equal(pair.responder.rekeys.length, 1, 'CHILD_SA rekeyed on the new IKE SA');
    const request = pair.responder.log.slice(before).find((l) => l.exchange === ExchangeType.CREATE_CHILD_SA);
    assert.equal(request?.messageId, 0, 'first request on the new IKE SA has Message ID 0');
    const [spec] = installed(out);
    const gw = pair.responder.children.at(-1);
    assert.ok(spec && gw);
    assert.equal(toHex(spec.outbound.encKey), toHex(gw.keys.encI), 'keys from the new SK_d agree');
  });

  it("answers the gateway's rekey: we become the responder of the new IKE SA; the gateway deletes the old one", () => {
    const { pair } = established({ ikeRekeySeconds: 0 });
    const old = pair.session.spis;
    const out = serve(pair, pair.responder.ikeRekeyRequest());
    assert.ok(pair.responder.completeIkeRekey(), 'the gateway got a usable answer');
    assert.deepEqual(pair.session.spis, spisOf(pair));
    assert.ok(names(out).includes('ike_sa.rekeyed'));
    assert.equal(events(out).find((e) => e.event === 'ike_sa.rekeyed')?.fields?.['by'], 'gateway');
    // The gateway deletes the old IKE SA on it; we answer there.
    const del = serve(pair, pair.responder.requestOnRetired(0, [DELETE_IKE]));
    assert.ok(names(del).includes('ike_sa.old_deleted_by_peer'), names(del).join(','));
    assert.equal(pair.session.state, 'established', 'the session lives on the new IKE SA');
    assert.equal(pair.responder.retiredIkeSas.length, 1, 'the responder keeps its copy until it saw our answer');
    assert.ok(pair.responder.lastPeerResponse !== undefined);
    // A liveness check from the gateway (now the original initiator: I flag set) and our DELETE (I flag clear).
    const live = serve(pair, pair.responder.request([]));
    assert.equal(live.filter((a) => a.kind === 'send').length, 1, 'answered on the new IKE SA');
    const closed = pump(pair, pair.session.close(pair.now));
    assert.ok(pair.responder.deleted, 'our DELETE on the new IKE SA verified and decrypted at the gateway');
    assert.ok(closed.some((a) => a.kind === 'closed'));
    assert.notEqual(pair.session.spis.initiator, old.initiator);
  });

  it("a retransmitted rekey request on the old IKE SA gets the same answer again", () => {
    const { pair } = established({ ikeRekeySeconds: 0 });
    const req = pair.responder.ikeRekeyRequest();
    const first = req.flatMap((d) => pair.session.receive({ data: d, from: GATEWAY, to: CLIENT }, pair.now)).filter((a) => a.kind === 'send');
    const again = req.flatMap((d) => pair.session.receive({ data: d, from: GATEWAY, to: CLIENT }, pair.now)).filter((a) => a.kind === 'send');
    assert.equal(again.length, 1);
    assert.equal(toHex((again[0] as { data: Uint8Array }).data), toHex((first[0] as { data: Uint8Array }).data));
  });

  for (const gatewayLow of [true, false]) {
    it(`simultaneous rekeys (§2.8.2): ${gatewayLow ? "the gateway's new IKE SA is redundant, ours survives and we delete the old" : 'ours is redundant: we delete it and move to the gateway’s'}`, () => {
      // The lowest of the four nonces decides: 0x00… from the gateway in its own exchange, or 0x00…01 as its answer to ours.
      const { pair, actions } = established({}, gatewayLow ? {} : { ikeRekeyNonce: new Uint8Array(32).fill(0).fill(1, 31) });
      const old = pair.session.spis;
      pair.now = timerOf(actions) as number;
      const ours = pair.session.tick(pair.now); // our CREATE_CHILD_SA, not delivered yet
      assert.equal(ours.filter((a) => a.kind === 'send').length, 1);
      serve(pair, pair.responder.ikeRekeyRequest({ nonce: new Uint8Array(32).fill(gatewayLow ? 0x00 : 0xff) }));
      assert.ok(pair.responder.completeIkeRekey());
      const theirs = spisOf(pair);
      const rest = pump(pair, ours); // our request reaches the gateway (on the old IKE SA) and is answered
      const mine = pair.responder.ikeRekeys.find((r) => r.by === 'initiator');
      assert.ok(mine, 'the gateway served our rekey too');
      const collision = events(rest).find((e) => e.event === 'ike_sa.rekey_collision');
      assert.ok(collision, names(rest).join(','));
      assert.equal(collision.fields?.['redundant'], gatewayLow ? 'gateway' : 'ours');
      if (gatewayLow) {
        assert.deepEqual(pair.session.spis, { initiator: mine.spiI, responder: mine.spiR }, 'ours survives');
        assert.ok(pair.responder.deletedIkeSas.includes(old.initiator), 'we deleted the old IKE SA');
        // the gateway deletes its redundant one; we answer on it
        const del = serve(pair, pair.responder.request([DELETE_IKE]));
        assert.ok(names(del).includes('ike_sa.old_deleted_by_peer'), names(del).join(','));
      } else {
        assert.deepEqual(pair.session.spis, theirs, "the gateway's survives");
        assert.ok(pair.responder.deletedIkeSas.includes(mine.spiI), 'we deleted our redundant IKE SA');
        assert.ok(!pair.responder.deletedIkeSas.includes(old.initiator), 'the old one is the gateway’s to delete');
        const oldIndex = pair.responder.retiredIkeSas.findIndex((x) => toHex(x.spiI) === old.initiator);
        const del = serve(pair, pair.responder.requestOnRetired(oldIndex, [DELETE_IKE]));
        assert.ok(names(del).includes('ike_sa.old_deleted_by_peer'));
      }
      assert.equal(pair.session.state, 'established');
    });
  }

  it("the gateway's IKE SA rekey while our CHILD_SA rekey is in flight: TEMPORARY_FAILURE, nothing changes", () => {
    const { pair, actions } = established({ ikeRekeySeconds: 0, childLifetime: { soft: 60, hard: 90 } });
    pair.now = timerOf(actions) as number;
    const ours = pair.session.tick(pair.now);
    const before = pair.session.spis;
    serve(pair, pair.responder.ikeRekeyRequest());
    const n = pair.responder.lastPeerResponse?.find((p) => p.type === PayloadType.NOTIFY) as { notifyType: number } | undefined;
    assert.equal(n?.notifyType, NotifyType.TEMPORARY_FAILURE);
    assert.deepEqual(pair.session.spis, before);
    pump(pair, ours);
    assert.equal(pair.responder.rekeys.length, 1, 'our CHILD_SA rekey completed');
    assert.equal(pair.session.state, 'established');
  });

  const hostile: NonNullable<Misbehaviour['ikeRekeyHostile']>[] = ['zeroSpi', 'wrongKeGroup', 'noKe', 'twoProposals', 'badKeValue'];
  for (const h of hostile) {
    it(`a hostile answer (${h}) is refused: event, the current IKE SA stays, retry later`, () => {
      const { pair, actions } = established({}, { ikeRekeyHostile: h });
      const before = pair.session.spis;
      pair.now = timerOf(actions) as number;
      const out = pump(pair, pair.session.tick(pair.now));
      assert.equal(failure(out), undefined);
      assert.ok(names(out).includes('ike_sa.rekey_failed'), names(out).join(','));
      assert.deepEqual(pair.session.spis, before);
      assert.equal(pair.session.state, 'established');
      assert.equal(timerOf(out), pair.now + IKE_REKEY_RETRY_MS, 'retry scheduled');
      // the IKE SA still works: a liveness check from the gateway is answered
      assert.equal(serve(pair, pair.responder.request([])).filter((a) => a.kind === 'send').length, 1);
    });
  }

  it('an IKE proposal with a 4-octet SPI does not even parse: typed PROTOCOL_ERROR (§2.21.2), no crash', () => {
    const { pair, actions } = established({}, { ikeRekeyHostile: 'shortSpi' });
    pair.now = timerOf(actions) as number;
    const out = pump(pair, pair.session.tick(pair.now));
    assert.equal(failure(out)?.code, 'PROTOCOL_ERROR');
    assert.equal(pair.session.state, 'failed');
  });

  it('a refused rekey (NO_PROPOSAL_CHOSEN) keeps the IKE SA and retries', () => {
    const { pair, actions } = established({}, { ikeRekeyRefuse: NotifyType.NO_PROPOSAL_CHOSEN });
    pair.now = timerOf(actions) as number;
    const out = pump(pair, pair.session.tick(pair.now));
    assert.ok(names(out).includes('ike_sa.rekey_failed'));
    assert.equal(pair.session.state, 'established');
  });

  it("a malformed rekey request of the gateway (no KE) is answered INVALID_SYNTAX; nothing changes", () => {
    const { pair } = established({ ikeRekeySeconds: 0 });
    const before = pair.session.spis;
    const sa = { type: PayloadType.SA, proposals: [{ number: 1, protocol: ProtocolId.IKE, spi: new Uint8Array(8).fill(7), transforms: [] }] };
    serve(pair, pair.responder.request([sa, { type: PayloadType.NONCE, nonce: new Uint8Array(32).fill(1) }], ExchangeType.CREATE_CHILD_SA));
    const n = pair.responder.lastPeerResponse?.find((p) => p.type === PayloadType.NOTIFY) as { notifyType: number } | undefined;
    assert.equal(n?.notifyType, NotifyType.INVALID_SYNTAX);
    assert.deepEqual(pair.session.spis, before);
    assert.equal(pair.session.state, 'established');
  });
});
