/**
 * INFORMATIONAL exchanges once established (RFC 7296 §1.4, §2.4): the
 * gateway's liveness checks, DELETEs of the CHILD_SA and of the IKE SA, the
 * response cache for retransmitted requests, requests we refuse, and our
 * own DELETE on close().
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { ExchangeType, NotifyType, PayloadType, ProtocolId } from '../../../../native-helper/src/ike/constants.js';
import { decodeMessage } from '../../../../native-helper/src/ike/codec/message.js';
import type { Payload } from '../../../../native-helper/src/ike/codec/types.js';
import { CLIENT, GATEWAY, connect, events, failure, installed, makePair, pump, sends } from './harness.js';

function established() {
  const pair = makePair();
  const actions = connect(pair);
  assert.equal(pair.session.state, 'established');
  const child = installed(actions)[0];
  assert.ok(child);
  return { pair, child };
}

/** The session's answer to one request datagram from the gateway, decrypted by the responder. */
function answer(pair: ReturnType<typeof established>['pair'], request: Uint8Array) {
  const out = pair.session.receive({ data: request, from: GATEWAY, to: CLIENT }, pair.now);
  const replies = sends(out);
  for (const r of replies) pair.responder.handle(r.data, CLIENT);
  return { out, replies, payloads: pair.responder.lastPeerResponse };
}

const spiBytes = (spi: number): Uint8Array => {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, spi);
  return b;
};

describe('IkeSession INFORMATIONAL', () => {
  it('answers an empty request (liveness check) with an empty response, Message ID 0 of the gateway', () => {
    const { pair } = established();
    /* <-- INFORMATIONAL request 0 { }    INFORMATIONAL response 0 { } --> */
    const [req] = pair.responder.request([]);
    const { replies, payloads } = answer(pair, req as Uint8Array);
    assert.equal(replies.length, 1);
    const m = decodeMessage(replies[0]?.data as Uint8Array);
    assert.ok(m.ok);
    assert.equal(m.value.header.response, true);
    assert.equal(m.value.header.initiator, true, 'we keep the I flag as original initiator');
    assert.equal(m.value.header.messageId, 0);
    assert.deepEqual(payloads, []);
    assert.equal(pair.session.state, 'established');
  });

  it('answers a retransmitted request from its cache with the identical octets', () => {
    const { pair } = established();
    const [req] = pair.responder.request([]);
    const first = answer(pair, req as Uint8Array);
    const again = pair.session.receive({ data: req as Uint8Array, from: GATEWAY, to: CLIENT }, pair.now + 1000);
    assert.deepEqual(sends(again).map((s) => s.data), first.replies.map((s) => s.data));
    assert.ok(events(again).some((e) => e.event === 'message.response_retransmitted'));
    // the next request is processed normally
    const [next] = pair.responder.request([]);
    const second = answer(pair, next as Uint8Array);
    assert.equal(decodeMessage(second.replies[0]?.data as Uint8Array).ok && second.replies.length, 1);
  });

  it('drops requests outside the window (a skipped Message ID)', () => {
    const { pair } = established();
    pair.responder.request([]); // Message ID 0, never delivered
    const [req1] = pair.responder.request([]);
    const out = pair.session.receive({ data: req1 as Uint8Array, from: GATEWAY, to: CLIENT }, pair.now);
    assert.equal(sends(out).length, 0);
    assert.ok(events(out).some((e) => e.message.includes('outside the window')));
  });

  it('a DELETE of its CHILD_SA: replies with our SPI, removes it, then deletes the IKE SA → PEER_DELETED', () => {
    const { pair, child } = established();
    /* <-- INFORMATIONAL { D(ESP, gateway SPI) }   INFORMATIONAL { D(ESP, our SPI) } --> */
    const del: Payload = { type: PayloadType.DELETE, protocol: ProtocolId.ESP, spis: [spiBytes(child.outbound.spi)] };
    const [req] = pair.responder.request([del]);
    const out = pair.session.receive({ data: req as Uint8Array, from: GATEWAY, to: CLIENT }, pair.now);
    const [reply, ourDelete] = sends(out);
    assert.ok(reply && ourDelete);
    pair.responder.handle(reply.data, CLIENT);
    const p = pair.responder.lastPeerResponse?.[0];
    assert.ok(p !== undefined && p.type === PayloadType.DELETE && 'spis' in p);
    assert.deepEqual(p.spis.map((s) => new DataView(s.buffer, s.byteOffset, 4).getUint32(0)), [child.inbound.spi]);
    assert.ok(out.some((a) => a.kind === 'removeChildSa' && a.id === child.id));
    assert.equal(pair.session.state, 'deleting');
    /* INFORMATIONAL { D(IKE) } -->   <-- { } */
    const done = pump(pair, [ourDelete]);
    assert.equal(pair.responder.deleted, true);
    const f = failure(done);
    assert.equal(f?.code, 'PEER_DELETED');
    assert.match(f?.message ?? '', /deleted the tunnel/);
  });

  it('a DELETE of the IKE SA: empty response, CHILD_SAs removed, PEER_DELETED', () => {
    const { pair, child } = established();
    const [req] = pair.responder.request([{ type: PayloadType.DELETE, protocol: ProtocolId.IKE, spis: [] }]);
    const { out, payloads } = answer(pair, req as Uint8Array);
    assert.deepEqual(payloads, []);
    assert.ok(out.some((a) => a.kind === 'removeChildSa' && a.id === child.id));
    assert.equal(failure(out)?.code, 'PEER_DELETED');
    assert.equal(pair.session.state, 'failed');
  });

  it('a DELETE for an SPI we do not know changes nothing', () => {
    const { pair } = established();
    const [req] = pair.responder.request([{ type: PayloadType.DELETE, protocol: ProtocolId.ESP, spis: [spiBytes(0x12345678)] }]);
    const { out, payloads } = answer(pair, req as Uint8Array);
    assert.deepEqual(payloads, []);
    assert.equal(out.some((a) => a.kind === 'removeChildSa'), false);
    assert.equal(pair.session.state, 'established');
  });

  it('refuses a CREATE_CHILD_SA request with NO_ADDITIONAL_SAS and stays up', () => {
    const { pair } = established();
    const [req] = pair.responder.request([], ExchangeType.CREATE_CHILD_SA);
    const out = pair.session.receive({ data: req as Uint8Array, from: GATEWAY, to: CLIENT }, pair.now);
    const [reply] = sends(out);
    assert.ok(reply);
    const m = decodeMessage(reply.data);
    assert.ok(m.ok && m.value.header.exchange === ExchangeType.CREATE_CHILD_SA && m.value.header.response);
    assert.ok(events(out).some((e) => e.event === 'request.refused'));
    assert.equal(pair.session.state, 'established');
  });

  it('answers an authenticated request with an unknown critical payload with UNSUPPORTED_CRITICAL_PAYLOAD', () => {
    const { pair } = established();
    const header = { spiI: pair.responder.spiI, spiR: pair.responder.spiR, version: 0x20, exchange: ExchangeType.INFORMATIONAL, initiator: false, response: false, messageId: pair.responder.nextRequestId };
    // inner: one payload of unknown type 200, critical bit set, 4-octet body
    const [req] = pair.responder.sealRaw(header, 200, Uint8Array.of(0, 0x80, 0, 8, 1, 2, 3, 4));
    const { replies } = answer(pair, req as Uint8Array);
    assert.equal(replies.length, 1);
    const n = pair.responder.lastPeerResponse?.[0];
    assert.ok(n !== undefined && 'notifyType' in n && n.notifyType === NotifyType.UNSUPPORTED_CRITICAL_PAYLOAD);
    assert.deepEqual(Array.from(n.data), [200]);
    assert.equal(pair.session.state, 'established');
  });

  it('reassembles a fragmented request, answers once, and answers a retransmission only on its first fragment', () => {
    const pair = makePair({}, { fragmentSize: 200 });
    connect(pair);
    assert.equal(pair.session.state, 'established');
    // a status notify with 600 octets of data: far more than one 200-octet fragment
    const big: Payload = { type: PayloadType.NOTIFY, protocol: 0, spi: new Uint8Array(0), notifyType: 40000, data: new Uint8Array(600).fill(7) };
    const frags = pair.responder.request([big]);
    assert.ok(frags.length >= 4, `${frags.length} fragments`);
    const answers = frags.map((f) => sends(pair.session.receive({ data: f, from: GATEWAY, to: CLIENT }, pair.now)));
    assert.deepEqual(answers.map((a) => a.length), [...new Array<number>(frags.length - 1).fill(0), 1], 'one answer, after the last fragment');
    const again = frags.map((f) => sends(pair.session.receive({ data: f, from: GATEWAY, to: CLIENT }, pair.now)));
    assert.deepEqual(again.map((a) => a.length), [1, ...new Array<number>(frags.length - 1).fill(0)], 'the cached answer, for fragment 1 only');
    assert.deepEqual(again[0]?.[0]?.data, answers.at(-1)?.[0]?.data);
  });

  it('close(): sends DELETE(IKE), removes the CHILD_SA and closes when the gateway answers', () => {
    const { pair, child } = established();
    const out = pair.session.close(pair.now);
    assert.equal(pair.session.state, 'deleting');
    const all = pump(pair, out);
    assert.equal(pair.responder.deleted, true);
    assert.ok(all.some((a) => a.kind === 'removeChildSa' && a.id === child.id));
    const closed = all.find((a) => a.kind === 'closed');
    assert.ok(closed?.kind === 'closed');
    assert.match(closed.reason, /deleted/);
    assert.equal(pair.session.state, 'closed');
  });

  it('close() without an answer: gives up after a bounded number of tries and closes anyway', () => {
    const { pair } = established();
    let out = pair.session.close(pair.now);
    let at = pair.now;
    for (let i = 0; i < 10 && pair.session.state === 'deleting'; i++) {
      const t = out.find((a) => a.kind === 'timer');
      assert.ok(t?.kind === 'timer');
      at = t.at;
      out = pair.session.tick(at);
    }
    assert.equal(pair.session.state, 'closed');
    assert.ok(at - pair.now < 10_000, 'closing took less than 10 s');
    const closed = out.find((a) => a.kind === 'closed');
    assert.ok(closed?.kind === 'closed' && /did not confirm/.test(closed.reason));
  });

  it('close() while connecting stops at once', () => {
    const pair = makePair();
    pair.session.start(pair.now);
    const out = pair.session.close(pair.now + 1);
    assert.ok(out.some((a) => a.kind === 'closed'));
    assert.equal(pair.session.state, 'closed');
    assert.deepEqual(pair.session.tick(pair.now + 5000), []);
  });
});
