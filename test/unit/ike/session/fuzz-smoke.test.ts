/** A short run of the session fuzzer in the unit suite: every state is reached, the parser behind the ICV is reached, nothing escapes. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { fuzzSession } from '../../../fuzz/fuzz-session.js';

describe('session fuzzer (smoke)', () => {
  it('feeds 3000 mutated datagrams to sessions in every state without an uncaught exception', () => {
    const r = fuzzSession(3000, 20251115);
    assert.equal(r.messages, 3000);
    assert.equal(r.uncaught, 0, r.firstFailure);
    assert.ok(r.sealed > 500, `only ${r.sealed} inputs reached the inner parser`);
    const perState = r.perState.split('/').map(Number);
    assert.equal(perState.length, 3);
    for (const n of perState) assert.ok(n > 500, `states reached unevenly: ${r.perState}`);
  });
});
