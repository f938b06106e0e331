/**
 * Retransmission (RFC 7296 §2.1) and the handling of bad input (§2.21):
 * lost datagrams are resent byte for byte with exponential backoff; after
 * the last try the session gives up with GATEWAY_UNREACHABLE; anything that
 * is not the exact answer to our outstanding request is dropped without a
 * change of state.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import type { IkeAction } from '../../../../native-helper/src/ike/actions.js';
import { ExchangeType, NotifyType, PayloadType } from '../../../../native-helper/src/ike/constants.js';
import { encodeMessage } from '../../../../native-helper/src/ike/codec/message.js';
import { GATEWAY, T0, CLIENT, connect, events, failure, makePair, pump, sends } from './harness.js';

const timers = (actions: readonly IkeAction[]): number[] => actions.flatMap((a) => (a.kind === 'timer' ? [a.at] : []));

describe('IkeSession retransmission', () => {
  it('resends the identical IKE_SA_INIT at 1 s, 1.8 s, 3.24 s intervals, then fails GATEWAY_UNREACHABLE', () => {
    const pair = makePair({ retransmit: { timeoutMs: 1000, base: 1.8, tries: 3 } });
    const first = pair.session.start(T0);
    const [init] = sends(first);
    assert.ok(init);
    assert.deepEqual(timers(first), [T0 + 1000]);
    assert.deepEqual(pair.session.tick(T0 + 999), [], 'nothing before the deadline');
    const deadlines = [T0 + 1000, T0 + 2800, T0 + 2800 + 3240];
    let at = T0 + 1000;
    for (let i = 0; i < 3; i++) {
      const out = pair.session.tick(at);
      const resent = sends(out);
      assert.equal(resent.length, 1);
      assert.deepEqual(resent[0]?.data, init.data, 'a retransmission is the same octets');
      const next = timers(out)[0];
      assert.ok(next !== undefined);
      assert.equal(Math.round(next), Math.round((deadlines[i + 1] ?? at + 5832)));
      at = next;
    }
    const last = pair.session.tick(at);
    const f = failure(last);
    assert.equal(f?.code, 'GATEWAY_UNREACHABLE');
    assert.match(f?.message ?? '', /sent 4 time\(s\) over 11\.9 s/);
    assert.match(f?.message ?? '', /192\.0\.2\.1\[500\]/);
    assert.equal(pair.session.state, 'failed');
    assert.deepEqual(pair.session.tick(at + 10_000), [], 'a failed session stays silent');
    assert.ok(events(last).some((e) => e.event === 'session.failed' && e.fields?.code === 'GATEWAY_UNREACHABLE'));
  });

  it('completes when the first IKE_AUTH request is lost and its retransmission arrives', () => {
    const pair = makePair();
    const actions = connect(pair, { drop: (_d, i) => i === 1 });
    assert.equal(pair.session.state, 'auth_sent');
    const retry = pair.session.tick(pair.now + 1000);
    const ev = events(retry);
    assert.ok(ev.some((e) => e.event === 'message.retransmit' && e.fields?.exchange === 'IKE_AUTH' && e.fields.retransmit === 1));
    pump(pair, retry);
    assert.equal(pair.session.state, 'established', JSON.stringify(failure(actions)));
    assert.equal(pair.responder.log.length, 1, 'the responder saw IKE_AUTH once');
  });

  it('ignores a duplicated response (the exchange is already over)', () => {
    const pair = makePair();
    let saved: Uint8Array[] = [];
    connect(pair, {
      rewrite: (d) => {
        saved = d;
        return d;
      },
    });
    assert.equal(pair.session.state, 'established');
    const again = pair.session.receive({ data: saved[0] as Uint8Array, from: GATEWAY, to: CLIENT }, pair.now);
    assert.equal(sends(again).length, 0);
    assert.ok(events(again).some((e) => e.event === 'message.dropped'));
    assert.equal(pair.session.state, 'established');
  });
});

describe('IkeSession drops bad input without changing state', () => {
  function authSent() {
    const pair = makePair();
    connect(pair, { drop: (_d, i) => i === 1 });
    assert.equal(pair.session.state, 'auth_sent');
    const authReq = pair.sent[1]?.data as Uint8Array;
    const good = pair.responder.handle(authReq, CLIENT);
    return { pair, good: good[0] as Uint8Array };
  }

  const variants: [string, (good: Uint8Array, pair: ReturnType<typeof authSent>['pair']) => Uint8Array, string][] = [
    ['garbage', () => new Uint8Array(40).fill(0xab), 'malformed'],
    ['a truncated message', (g) => g.subarray(0, g.length - 7), 'malformed'],
    ['one byte', () => Uint8Array.of(0), 'malformed'],
    ['a flipped ICV bit', (g) => g.map((b, i) => (i === g.length - 1 ? b ^ 1 : b)), 'integrity'],
    ['a flipped ciphertext bit', (g) => g.map((b, i) => (i === 40 ? b ^ 0x80 : b)), 'integrity'],
    ['a wrong Message ID', (g) => withMessageId(g, 7), 'unexpected'],
    ['a wrong exchange type', (g) => withByte(g, 18, ExchangeType.INFORMATIONAL), 'unexpected'],
    ['another initiator SPI', (g) => withByte(g, 0, (g[0] as number) ^ 0xff), 'unknown initiator SPI'],
    ['another responder SPI', (g) => withByte(g, 8, (g[8] as number) ^ 0xff), 'unknown responder SPI'],
    ['the Initiator flag set', (g) => withByte(g, 19, (g[19] as number) | 0x08), 'Initiator flag'],
    [
      'an unprotected IKE_AUTH response',
      (_g, pair) =>
        encodeMessage({ spiI: pair.responder.spiI, spiR: pair.responder.spiR, version: 0x20, exchange: ExchangeType.IKE_AUTH, initiator: false, response: true, messageId: 1 }, [
          { type: PayloadType.NOTIFY, protocol: 0, spi: new Uint8Array(0), notifyType: NotifyType.AUTHENTICATION_FAILED, data: new Uint8Array(0) },
        ]),
      'without an Encrypted payload',
    ],
  ];

  for (const [name, mutate, why] of variants) {
    it(`drops ${name} and still accepts the genuine response`, () => {
      const { pair, good } = authSent();
      const bad = mutate(good, pair);
      const out = pair.session.receive({ data: bad, from: GATEWAY, to: CLIENT }, pair.now);
      assert.equal(failure(out), undefined);
      assert.equal(sends(out).length, 0);
      assert.ok(events(out).some((e) => e.message.includes(why) || e.event.includes(why)), `expected a "${why}" event, got ${events(out).map((e) => e.message).join(' | ')}`);
      assert.equal(pair.session.state, 'auth_sent');
      pair.session.receive({ data: good, from: GATEWAY, to: CLIENT }, pair.now);
      assert.equal(pair.session.state, 'established');
    });
  }

  it('drops the genuine response when it comes from another address', () => {
    const { pair, good } = authSent();
    const out = pair.session.receive({ data: good, from: { address: '203.0.113.9', port: 500 }, to: CLIENT }, pair.now);
    assert.ok(events(out).some((e) => e.message.includes('not the gateway')));
    assert.equal(pair.session.state, 'auth_sent');
  });

  it('counts ICV failures in its events', () => {
    const { pair, good } = authSent();
    const bad = good.map((b, i) => (i === good.length - 1 ? b ^ 1 : b));
    pair.session.receive({ data: bad, from: GATEWAY, to: CLIENT }, pair.now);
    const out = pair.session.receive({ data: bad, from: GATEWAY, to: CLIENT }, pair.now);
    const icv = events(out).find((e) => e.event === 'message.icv_failed');
    assert.equal(icv?.fields?.count, 2);
  });

  it('fails PROTOCOL_ERROR on an authenticated but malformed response, and reports INVALID_SYNTAX', () => {
    const { pair } = authSent();
    // A valid SK whose inner chain is a lone generic header claiming more octets than there are.
    const [bad] = pair.responder.sealRaw({ spiI: pair.responder.spiI, spiR: pair.responder.spiR, version: 0x20, exchange: ExchangeType.IKE_AUTH, initiator: false, response: true, messageId: 1 }, 36, Uint8Array.of(0, 0, 0, 200, 1, 2));
    const out = pair.session.receive({ data: bad as Uint8Array, from: GATEWAY, to: CLIENT }, pair.now);
    assert.equal(failure(out)?.code, 'PROTOCOL_ERROR');
    const [notice] = sends(out);
    assert.ok(notice, 'an INFORMATIONAL notice goes out');
    pair.responder.handle(notice.data, CLIENT);
    assert.deepEqual(pair.responder.log.at(-1), { exchange: ExchangeType.INFORMATIONAL, messageId: 2, inner: [41, 42], fragments: 1 });
  });
});

function withByte(b: Uint8Array, at: number, value: number): Uint8Array {
  const c = Uint8Array.from(b);
  c[at] = value;
  return c;
}

function withMessageId(b: Uint8Array, id: number): Uint8Array {
  const c = Uint8Array.from(b);
  new DataView(c.buffer).setUint32(20, id);
  return c;
}
