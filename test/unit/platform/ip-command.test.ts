// Running commands: the real spawn runner (no shell, stdin, timeout, missing
// binary), iproute2's batch error output (captured on the host with iproute2
// 6.1) mapped to lines, and redaction of anything that could be key material.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { isPlatformError } from '../../../native-helper/src/platform/errors.js';
import { spawnRunner } from '../../../native-helper/src/platform/linux/command-runner.js';
import type { BatchLine } from '../../../native-helper/src/platform/linux/ip-command.js';
import { IpCommand, meansGone, parseBatchErrors, redact } from '../../../native-helper/src/platform/linux/ip-command.js';

const lines = (n: number): BatchLine[] => Array.from({ length: n }, (_, i) => ({ text: `line ${i + 1}`, label: `label ${i + 1}` }));

describe('spawnRunner', () => {
  it('passes argv verbatim without a shell and feeds stdin', async () => {
    const r = await spawnRunner({ file: 'sh', args: ['-c', 'printf "%s|" "$0" "$1"; cat', '$(touch /nonexistent)', 'a b'], input: 'from stdin' });
    assert.equal(r.exitCode, 0);
    assert.equal(r.stdout, '$(touch /nonexistent)|a b|from stdin');
  });

  it('reports the exit code and stderr; a missing binary and a timeout become typed errors', async () => {
    const r = await spawnRunner({ file: 'sh', args: ['-c', 'echo oops >&2; exit 3'] });
    assert.deepEqual([r.exitCode, r.stderr], [3, 'oops\n']);
    await assert.rejects(spawnRunner({ file: 'strait-no-such-binary', args: [] }), (e: unknown) => isPlatformError(e) && e.reason === 'spawn-failed' && /ENOENT/.test(e.message));
    await assert.rejects(spawnRunner({ file: 'sleep', args: ['5'], timeoutMs: 100 }), (e: unknown) => isPlatformError(e) && e.reason === 'timeout');
  });
});

describe('ip -batch errors', () => {
  it('-force: each failing line is named (captured from iproute2 6.1)', () => {
    const stderr = 'RTNETLINK answers: No such file or directory\nCommand failed -:2\nRTNETLINK answers: No such file or directory\nCommand failed -:3\nRTNETLINK answers: No such process\nCommand failed -:4\n';
    assert.deepEqual(parseBatchErrors(stderr, lines(4)), [
      { line: 2, label: 'label 2', message: 'RTNETLINK answers: No such file or directory' },
      { line: 3, label: 'label 3', message: 'RTNETLINK answers: No such file or directory' },
      { line: 4, label: 'label 4', message: 'RTNETLINK answers: No such process' },
    ]);
  });

  it('`ip xfrm` exits without naming the line', () => {
    assert.deepEqual(parseBatchErrors('Error: Requested AEAD algorithm not found.\n', lines(3)), [{ message: 'Error: Requested AEAD algorithm not found.' }]);
  });

  it('redaction drops quoted arguments and long hex runs', () => {
    const key = 'a1'.repeat(18);
    assert.equal(redact(`Error: argument "0x${key}" is wrong: ALGO-KEYMAT value is invalid`), 'Error: argument "…" is wrong: ALGO-KEYMAT value is invalid');
    assert.equal(redact(`bad key 0x${key} and ${key}`), 'bad key <hex> and <hex>');
    assert.equal(redact('spi 0xc0000001 ok'), 'spi 0xc0000001 ok');
  });

  it('"not there" messages count as already removed', () => {
    for (const m of ['RTNETLINK answers: No such process', 'RTNETLINK answers: No such file or directory', 'RTNETLINK answers: Cannot assign requested address', 'Cannot find device "eth9"']) assert.ok(meansGone(m), m);
    assert.ok(!meansGone('RTNETLINK answers: Operation not permitted'));
  });

  it('a line break inside a line is refused before anything runs', async () => {
    let ran = false;
    const ip = new IpCommand({ runner: async () => ((ran = true), { exitCode: 0, stdout: '', stderr: '' }) });
    await assert.rejects(ip.batch([{ text: 'route add 10.0.0.0/8 dev eth0\nxfrm state flush', label: 'evil' }]), (e: unknown) => isPlatformError(e) && e.reason === 'invalid-spec');
    assert.equal(ran, false);
  });

  it('batchOrThrow: EEXIST is a conflict; the message names the label, never the line text', async () => {
    const secretLine = { text: `xfrm state add … aead 'rfc4106(gcm(aes))' 0x${'ab'.repeat(20)} 128`, label: 'SA in spi 0xc0000001' };
    const ip = new IpCommand({ runner: async () => ({ exitCode: 1, stdout: '', stderr: 'RTNETLINK answers: File exists\nCommand failed -:1\n' }), netns: 'x' });
    await assert.rejects(ip.batchOrThrow('installChildSa', [secretLine]), (e: unknown) => {
      assert.ok(isPlatformError(e));
      assert.equal(e.reason, 'conflict');
      assert.match(e.message, /at "SA in spi 0xc0000001": RTNETLINK answers: File exists/);
      assert.ok(!e.message.includes('abab') && !JSON.stringify(e.details).includes('abab'));
      return true;
    });
  });
});

describe('queryBatch (`ip -j -batch -`)', () => {
  it('the real ip prints one JSON document per query, in order', async () => {
    const out = await new IpCommand({ runner: spawnRunner }).queryBatch('test', ['route get 127.0.0.1', 'address show dev lo']);
    assert.equal(out.length, 2);
    const [route, links] = out.map((o) => JSON.parse(o) as Array<Record<string, unknown>>);
    assert.equal(route?.[0]?.['dev'], 'lo');
    assert.equal(links?.[0]?.['ifname'], 'lo');
  });

  it('a failing query names itself (stderr captured from iproute2 6.1); a short answer is an error, not a guess', async () => {
    const failing = new IpCommand({ runner: () => Promise.resolve({ exitCode: 1, stdout: '', stderr: 'RTNETLINK answers: Network is unreachable\nCommand failed -:1\n' }) });
    await assert.rejects(failing.queryBatch('applyConfig/route-get', ['route get 198.51.100.1', 'address show']), (e: unknown) => {
      assert.ok(isPlatformError(e));
      assert.equal(e.reason, 'command-failed');
      assert.equal(e.message, 'applyConfig/route-get: ip route get 198.51.100.1 failed: RTNETLINK answers: Network is unreachable');
      return true;
    });
    const short = new IpCommand({ runner: () => Promise.resolve({ exitCode: 0, stdout: '[]\n', stderr: '' }) });
    await assert.rejects(short.queryBatch('t', ['route get 198.51.100.1', 'address show']), /printed 1 results for 2 queries/);
    await assert.rejects(short.queryBatch('t', ['address show\nxfrm state flush']), (e: unknown) => isPlatformError(e) && e.reason === 'invalid-spec');
  });
});
