/**
 * Dead peer detection (RFC 7296 §2.4): an empty INFORMATIONAL after the
 * profile's interval of silence, postponed by traffic the host reports,
 * and DEAD_PEER (with the detection time) when the retransmissions of the
 * check go unanswered.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import type { IkeAction } from '../../../../native-helper/src/ike/actions.js';
import { ExchangeType } from '../../../../native-helper/src/ike/constants.js';
import { connect, failure, makePair, pump } from './harness.js';

const timerOf = (actions: readonly IkeAction[]): number | undefined => {
  let at: number | undefined;
  for (const a of actions) if (a.kind === 'timer') at = a.at;
  return at;
};

describe('dead peer detection', () => {
  it('sends an empty INFORMATIONAL after the interval; an answer keeps the SA up', () => {
    const pair = makePair({ dpdIntervalMs: 5000 });
    const actions = connect(pair);
    assert.equal(pair.session.state, 'established', JSON.stringify(failure(actions)));
    const heard = pair.now;
    const at = timerOf(actions);
    assert.equal(at, heard + 5000, 'the first check is due one interval after the last message');
    pair.now = at as number;
    const before = pair.responder.log.length;
    const out = pump(pair, pair.session.tick(pair.now));
    const probe = pair.responder.log.slice(before);
    assert.deepEqual(probe.map((l) => [l.exchange, l.inner.length]), [[ExchangeType.INFORMATIONAL, 0]], 'one empty INFORMATIONAL');
    assert.equal(pair.session.state, 'established');
    assert.equal(timerOf(out), pair.now + 5000, 'the next check one interval after the answer');
  });

  it('traffic the host reports postpones the check', () => {
    const pair = makePair({ dpdIntervalMs: 5000 });
    connect(pair);
    const out = pair.session.trafficSeen(pair.now + 4000);
    assert.equal(timerOf(out), pair.now + 9000, 'rescheduled after the reported traffic');
  });

  it('no answer: DEAD_PEER after the retransmission schedule, with the detection time in the fields', () => {
    const pair = makePair({ dpdIntervalMs: 5000, retransmit: { timeoutMs: 1000, base: 2, tries: 3 } });
    const actions = connect(pair);
    const heard = pair.now;
    let out = actions;
    let dead: ReturnType<typeof failure>;
    for (let i = 0; i < 10 && dead === undefined; i++) {
      const at = timerOf(out);
      assert.ok(at !== undefined, 'a timer');
      out = pair.session.tick(at);
      pair.now = at;
      dead = failure(out);
    }
    assert.equal(dead?.code, 'DEAD_PEER', JSON.stringify(dead));
    // check at +5 s, retransmissions at +1, +2, +4 s, given up 8 s after the first send: 5 + 1 + 2 + 4 + 8 = 20 s
    assert.equal(dead?.fields?.silentMs, 20_000);
    assert.equal(dead?.fields?.sends, 4);
    assert.equal(pair.now - heard, 20_000);
    assert.match(dead?.message ?? '', /stopped answering: nothing heard for 20\.0 s/);
    assert.ok(out.some((a) => a.kind === 'removeChildSa'), 'the CHILD_SA is removed');
    assert.equal(pair.session.state, 'failed');
  });

  it('AUTH_LIFETIME (RFC 4478): tells the host to sign in again shortly before the deadline', () => {
    const pair = makePair({}, { misbehave: { authLifetime: 300 } });
    const actions = connect(pair);
    assert.equal(pair.session.state, 'established', JSON.stringify(failure(actions)));
    const t0 = pair.now;
    const at = timerOf(actions);
    assert.equal(at, t0 + 300_000 - 30_000, 'due 10 % before the 300 s lifetime');
    const out = pair.session.tick(at as number);
    const e = out.flatMap((a) => (a.kind === 'event' ? [a.event] : [])).find((x) => x.event === 'ike_sa.reauth_required');
    assert.ok(e, 'reauth_required event');
    assert.equal(e.fields?.deadline, t0 + 300_000);
    assert.equal(e.fields?.remainingMs, 30_000);
    assert.equal(pair.session.state, 'established', 'the session stays up; the host reconnects');
  });

  it('off by default: no timer once established (with a long rekey lifetime)', () => {
    const pair = makePair({ childLifetime: { soft: 3000, hard: 3600 } });
    const actions = connect(pair);
    const at = timerOf(actions);
    assert.ok(at === undefined || at - pair.now > 2_000_000, `timer at +${at === undefined ? 'none' : at - pair.now} ms is the rekey only`);
  });
});
