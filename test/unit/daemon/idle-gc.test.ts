// The idle collector: a scavenge once things have been quiet for the delay
// after a connect or disconnect finished, none while one is under way, one
// per quiet period however many settle events came, and nothing at all
// without --expose-gc. With --expose-gc (a child node) the real gc runs.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';

import { exposedMinorGc, IdleCollector } from '../../../native-helper/src/daemon/idle-gc.js';

describe('IdleCollector', () => {
  it('collects once after the quiet delay; a later settle restarts the wait; busy cancels', async () => {
    let calls = 0;
    const c = new IdleCollector(() => calls++, 40);
    c.settled();
    await sleep(15);
    c.settled(); // restarts the 40 ms wait
    await sleep(30);
    assert.equal(calls, 0, 'collected before the quiet delay had passed since the last settle');
    await sleep(40);
    assert.equal(calls, 1);
    c.settled();
    await sleep(10);
    c.busy(); // a connect started: no collection in its window
    await sleep(60);
    assert.equal(calls, 1);
    assert.equal(c.runs, 1);
  });

  it('does nothing without a gc function, and cancel() leaves no timer behind', async () => {
    const none = new IdleCollector(undefined, 5);
    none.settled();
    await sleep(20);
    assert.equal(none.runs, 0);
    let calls = 0;
    const c = new IdleCollector(() => calls++, 5);
    c.settled();
    c.cancel();
    await sleep(20);
    assert.equal(calls, 0);
  });

  it('exposedMinorGc: undefined in a process without --expose-gc; a real scavenge with it', () => {
    if (!process.execArgv.includes('--expose-gc')) assert.equal(exposedMinorGc(), undefined);
    const script = `import('${new URL('../../../native-helper/src/daemon/idle-gc.js', import.meta.url).href}').then(({ exposedMinorGc }) => { const gc = exposedMinorGc(); if (!gc) process.exit(3); gc(); })`;
    const r = spawnSync(process.execPath, ['--expose-gc', '--trace-gc', ...process.execArgv.filter((a) => a !== '--expose-gc'), '-e', script], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /Scavenge .* testing/, 'no scavenge traced');
  });
});
