// straitd's V8 options (daemon/node-flags.ts) are on node's command line
// wherever straitd is started from this repository: the systemd unit and
// the lab's launcher. A unit that lost them would still work, only with more
// CPU per connect, so nothing else would notice.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, it } from 'node:test';

import { missingNodeFlags, STRAITD_NODE_FLAGS } from '../../../native-helper/src/daemon/node-flags.js';

/** The checkout (the nearest folder above with build/linux/straitd.service): the same from test/ (tsx) and dist/test/. */
function repoRoot(): string {
  let dir = import.meta.dirname;
  while (!existsSync(join(dir, 'build', 'linux', 'straitd.service'))) {
    const up = dirname(dir);
    if (up === dir) throw new Error(`no build/linux/straitd.service above ${import.meta.dirname}`);
    dir = up;
  }
  return dir;
}
const repo = repoRoot();

describe('straitd V8 options', () => {
  it('the systemd unit starts node with exactly these options before the script', () => {
    const unit = readFileSync(join(repo, 'build', 'linux', 'straitd.service'), 'utf8');
    const exec = /^ExecStart=(.*)$/m.exec(unit)?.[1] ?? '';
    const argv = exec.split(/\s+/);
    const script = argv.findIndex((a) => a.endsWith('/daemon/main.js'));
    assert.ok(script > 0, `no daemon/main.js in ExecStart: ${exec}`);
    assert.deepEqual(argv.slice(1, script), [...STRAITD_NODE_FLAGS]);
  });

  it('the lab starts straitd with them (test/lab/support/straitd.ts)', () => {
    const launcher = readFileSync(join(repo, 'test', 'lab', 'support', 'straitd.ts'), 'utf8');
    assert.match(launcher, /\.\.\.STRAITD_NODE_FLAGS, \/\/ as the systemd unit starts it\n\s+\.\.\.\(opts\.nodeArgs \?\? \[\]\),\n\s+dist\('daemon', 'main\.js'\)/);
  });

  it('node accepts them, and missingNodeFlags names what a process lacks', () => {
    const r = spawnSync(process.execPath, [...STRAITD_NODE_FLAGS, '-e', 'process.stdout.write(JSON.stringify(process.execArgv))'], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const execArgv: unknown = JSON.parse(r.stdout);
    assert.ok(Array.isArray(execArgv));
    assert.deepEqual(missingNodeFlags(execArgv as string[]), []);
    assert.deepEqual(missingNodeFlags(['--no-opt']), ['--no-sparkplug', '--single-threaded', '--expose-gc']);
  });
});
