/**
 * COOKIE back-off (RFC 7296 §2.6; ike-sa-init.ts COOKIE_BACKOFF): the first
 * cookie is answered at once, a gateway that keeps asking is answered after a
 * growing pause, and the rounds end after a bounded time, not a count.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import type { IkeAction } from '../../../../native-helper/src/ike/actions.js';
import { decodeMessage } from '../../../../native-helper/src/ike/codec/message.js';
import { NotifyType } from '../../../../native-helper/src/ike/constants.js';
import { COOKIE_BACKOFF, cookieDelayMs } from '../../../../native-helper/src/ike/exchange/ike-sa-init.js';
import { connect, events, failure, makePair, pump, type Pair } from './harness.js';

const RTT = 5;

/** Pumps, then keeps firing the session's timer (advancing the clock to it) until it is established or ended. */
function drive(pair: Pair, first: readonly IkeAction[]): IkeAction[] {
  const all = [...first];
  let timerAt: number | undefined;
  const note = (acts: readonly IkeAction[]): void => {
    for (const a of acts) if (a.kind === 'timer') timerAt = a.at;
  };
  note(first);
  for (let guard = 0; guard < 200; guard++) {
    const s = pair.session.state;
    if (s === 'established' || s === 'failed' || s === 'closed' || timerAt === undefined) break;
    pair.now = Math.max(pair.now, timerAt);
    timerAt = undefined;
    const more = pump(pair, pair.session.tick(pair.now), { rtt: RTT });
    note(more);
    all.push(...more);
  }
  return all;
}

/** When each IKE_SA_INIT request went out (the harness sends in order; `at` from the event stream). */
function initSendTimes(actions: readonly IkeAction[]): number[] {
  return events(actions)
    .filter((e) => e.event === 'message.sent' && /IKE_SA_INIT/.test(e.message))
    .map((e) => e.at);
}

const hasCookieFirst = (data: Uint8Array): boolean => {
  const m = decodeMessage(data);
  const p0 = m.ok ? m.value.payloads[0] : undefined;
  return p0 !== undefined && 'notifyType' in p0 && p0.notifyType === NotifyType.COOKIE;
};

describe('IKE_SA_INIT COOKIE back-off', () => {
  it('the schedule: at once, then 250, 500, 1000, 2000, 2000 … ms', () => {
    assert.deepEqual([1, 2, 3, 4, 5, 6, 9].map(cookieDelayMs), [0, 250, 500, 1000, 2000, 2000, 2000]);
  });

  it('one COOKIE costs no pause (the normal case)', () => {
    const pair = makePair({}, { misbehave: { cookie: true } });
    const actions = drive(pair, connect(pair, { rtt: RTT }));
    assert.equal(pair.session.state, 'established', JSON.stringify(failure(actions)));
    const t = initSendTimes(actions);
    assert.equal(t.length, 2);
    assert.equal((t[1] as number) - (t[0] as number), RTT, 'the retry goes out as soon as the COOKIE arrives');
  });

  it('a gateway that keeps refusing our cookie for ~6 s (6 COOKIEs) is ridden out with growing pauses, then we connect', () => {
    const pair = makePair({}, { misbehave: { cookie: true, cookieRounds: 7 } });
    const actions = drive(pair, connect(pair, { rtt: RTT }));
    assert.equal(pair.session.state, 'established', JSON.stringify(failure(actions)));
    const t = initSendTimes(actions);
    assert.equal(t.length, 7, 'the first request and six retries, each with the cookie');
    const gaps = t.slice(1).map((x, i) => x - (t[i] as number) - RTT);
    assert.deepEqual(gaps, [0, 250, 500, 1000, 2000, 2000]);
    for (const s of pair.sent.slice(1, 7)) assert.ok(hasCookieFirst(s.data), 'every retry carries the cookie first (§2.6)');
    const cookieEvents = events(actions).filter((e) => e.event === 'ike_sa_init.cookie');
    assert.deepEqual(
      cookieEvents.map((e) => e.fields?.['delayMs']),
      [0, 250, 500, 1000, 2000, 2000],
    );
    // while a retry waits there is no retransmission of the old request
    assert.equal(events(actions).filter((e) => e.event === 'message.retransmit').length, 0);
  });

  it('a gateway that never takes our cookie: PROTOCOL_ERROR once the rounds have lasted the budget, not after 4 rounds in a second', () => {
    const pair = makePair({}, { misbehave: { cookie: true, cookieRounds: 1000 } });
    const start = pair.now;
    const actions = drive(pair, connect(pair, { rtt: RTT }));
    const f = failure(actions);
    assert.equal(f?.code, 'PROTOCOL_ERROR');
    assert.match(f?.message ?? '', /COOKIE/);
    const elapsed = pair.now - start;
    assert.ok(elapsed > COOKIE_BACKOFF.budgetMs - COOKIE_BACKOFF.maxMs && elapsed <= COOKIE_BACKOFF.budgetMs + 100, `gave up after ${elapsed} ms`);
    const rounds = initSendTimes(actions).length;
    // 0 + 250 + 500 + 1000 + 2000·k ≤ 20 000 → 13 retries at most
    assert.ok(rounds >= 12 && rounds <= 15, `${rounds} requests`);
    assert.equal(f?.fields?.['cookieRounds'], rounds);
  });

  it('close() during a pause: nothing more is sent', () => {
    const pair = makePair({}, { misbehave: { cookie: true, cookieRounds: 3 } });
    connect(pair, { rtt: RTT });
    const sentBefore = pair.sent.length;
    assert.equal(sentBefore, 2, 'the first request and the immediate first retry; the second retry waits');
    const closed = pair.session.close(pair.now);
    assert.ok(closed.some((a) => a.kind === 'closed'));
    const later = pair.session.tick(pair.now + 10_000);
    assert.equal(later.filter((a) => a.kind === 'send').length, 0);
  });
});
