// The leak guard's iptables-legacy variant (the one the UML lab uses) against
// the host's real kernel, in a private network namespace (needs root and
// iptables-legacy). What it proves: an enable after this instance's own sweep
// or disable skips `iptables-save` (one tool start less per family on the
// connect path) and still leaves exactly one jump per chain; a replacement
// (state unknown) reads the tables first; disable leaves nothing behind.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';

import type { CommandRequest, CommandRunner } from '../../../native-helper/src/platform/linux/command-runner.js';
import { spawnRunner } from '../../../native-helper/src/platform/linux/command-runner.js';
import { LeakGuard } from '../../../native-helper/src/platform/linux/leak-guard.js';

const NS = `sg-i-${process.pid.toString(36)}${randomBytes(2).toString('hex')}`;

function sh(argv: readonly string[]): { code: number; out: string } {
  const r = spawnSync(argv[0] ?? '', argv.slice(1), { encoding: 'utf8', timeout: 15_000 });
  return { code: r.status ?? -1, out: `${r.stdout}${r.stderr}` };
}

function canRun(): string | undefined {
  if (process.getuid?.() !== 0) return 'needs root to create network namespaces';
  if (sh(['iptables-legacy-save', '--version']).code !== 0) return 'iptables-legacy is not installed';
  const r = sh(['ip', 'netns', 'add', NS]);
  return r.code === 0 ? undefined : `ip netns add failed: ${r.out.trim()}`;
}

/** Our jumps and chains as the kernel has them, both families. */
function ours(): string {
  return ['iptables-legacy-save', 'ip6tables-legacy-save']
    .map((tool) =>
      sh(['ip', 'netns', 'exec', NS, tool, '-t', 'filter'])
        .out.split('\n')
        .filter((l) => /STRAIT/i.test(l))
        .join('\n'),
    )
    .join('\n--\n');
}

const jumps = (text: string): string[] => text.split('\n').filter((l) => /^-A (INPUT|OUTPUT) -j /.test(l));

describe('leak guard, iptables-legacy variant, real kernel in a private network namespace', () => {
  const skip = canRun();
  let dir = '';
  const calls: CommandRequest[] = [];
  const recording: CommandRunner = (req) => {
    calls.push(req);
    return spawnRunner(req);
  };
  const saves = (): number => calls.filter((c) => c.args.some((a) => a.endsWith('-save'))).length;

  before(async () => {
    if (skip === undefined) dir = await mkdtemp(join(tmpdir(), 'strait-lg-ipt-'));
  });
  after(async () => {
    if (skip === undefined) sh(['ip', 'netns', 'del', NS]);
    if (dir !== '') await rm(dir, { recursive: true, force: true });
  });

  it('enable after a sweep or a disable skips iptables-save; one jump per chain; disable leaves nothing', { skip }, async () => {
    const guard = new LeakGuard({ netns: NS, runtimeDir: dir, variant: 'iptables', runner: recording });
    await guard.sweep();
    assert.equal(ours().replace(/\n--\n/, ''), '', 'a fresh namespace has none of our chains');

    calls.length = 0;
    assert.equal(await guard.enable({ gateways: ['198.18.0.1', 'fd00:198::1'], allowLan: [] }), 'iptables');
    assert.equal(saves(), 0, 'the sweep saw both families clean: no iptables-save on enable');
    assert.equal(calls.length, 2, 'one iptables-restore per family');
    const first = ours();
    assert.equal(jumps(first).length, 4, first);
    assert.match(first, /-d 198\.18\.0\.1\/32 -p udp/);

    // a replacement does not trust memory: it reads, removes the old jumps, installs the new spec
    calls.length = 0;
    await guard.enable({ gateways: ['198.18.0.3'], allowLan: [] });
    assert.equal(saves(), 2);
    const second = ours();
    assert.equal(jumps(second).length, 4, second);
    assert.doesNotMatch(second, /198\.18\.0\.1\//);

    await guard.disable();
    assert.equal(ours().replace(/\n--\n/, ''), '');

    calls.length = 0;
    await guard.enable({ gateways: ['198.18.0.1'], allowLan: [] });
    assert.equal(saves(), 0, 'disable removed everything itself: no iptables-save on the next enable');
    assert.equal(jumps(ours()).length, 4);
    await guard.disable();
    assert.equal(ours().replace(/\n--\n/, ''), '');
  });
});
