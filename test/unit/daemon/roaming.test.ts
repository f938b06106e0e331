/**
 * PathWatcher (daemon/roaming.ts): a change of the source address towards
 * the gateway is reported once it is confirmed by a second lookup; a blip,
 * our own virtual IP and a missing route are not moves.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { PathWatcher } from '../../../native-helper/src/daemon/roaming.js';

function watcher(answers: (string | Error)[], ignore: string[] = []): { w: PathWatcher; changes: [string, string][]; noPath: string[] } {
  const changes: [string, string][] = [];
  const noPath: string[] = [];
  let last: string | Error = '192.0.2.2';
  const w = new PathWatcher(
    {
      gateway: '192.0.2.1',
      port: 500,
      localAddressFor: () => {
        last = answers.length > 0 ? (answers.shift() as string | Error) : last;
        return last instanceof Error ? Promise.reject(last) : Promise.resolve(last);
      },
      ignore: () => ignore,
      onChange: (from, to) => changes.push([from, to]),
      onNoPath: (d) => noPath.push(d),
      confirmMs: 1,
    },
    '192.0.2.2',
  );
  return { w, changes, noPath };
}

describe('PathWatcher', () => {
  it('reports a confirmed change once, and the new address becomes the current one', async () => {
    const { w, changes } = watcher(['192.168.50.2', '192.168.50.2', '192.168.50.2']);
    await w.check();
    await w.check();
    assert.deepEqual(changes, [['192.0.2.2', '192.168.50.2']]);
    assert.equal(w.address, '192.168.50.2');
  });

  it('a blip (one lookup differs, the confirming one does not) is not a move', async () => {
    const { w, changes } = watcher(['192.168.50.2', '192.0.2.2']);
    await w.check();
    assert.deepEqual(changes, []);
    assert.equal(w.address, '192.0.2.2');
  });

  it('our virtual IP is never the outer address; no route is reported once per outage', async () => {
    const { w, changes, noPath } = watcher(['10.99.0.1', new Error('ENETUNREACH'), new Error('ENETUNREACH'), '192.0.2.2', new Error('ENETUNREACH')], ['10.99.0.1']);
    for (let i = 0; i < 5; i++) await w.check();
    assert.deepEqual(changes, []);
    assert.deepEqual(noPath, ['ENETUNREACH', 'ENETUNREACH'], 'two outages, one report each');
  });
});
