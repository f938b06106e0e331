import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { ExitCode, runVerb, type CliIo } from '../../../native-helper/src/cli/command.js';
import { UsageError } from '../../../native-helper/src/profiles/report.js';

function io(): CliIo & { lines: string[] } {
  const lines: string[] = [];
  return {
    lines,
    out: (l) => lines.push(l),
    err: (l) => lines.push(l),
    readSecret: () => Promise.reject(new Error('no secrets here')),
    readStdin: () => Promise.resolve(new Uint8Array()),
    isTty: false,
    env: {},
  };
}

describe('runVerb', () => {
  const verbs = { list: (args: readonly string[]) => Promise.resolve(args.length === 1 ? ExitCode.OK : ExitCode.FAILURE) };

  it('passes the remaining arguments to the verb', async () => {
    assert.equal(await runVerb(verbs, 'usage: x', ['list', 'a'], io()), ExitCode.OK);
  });

  it('no verb: usage and USAGE; help: usage and OK', async () => {
    const a = io();
    assert.equal(await runVerb(verbs, 'usage: x', [], a), ExitCode.USAGE);
    assert.deepEqual(a.lines, ['usage: x']);
    assert.equal(await runVerb(verbs, 'usage: x', ['--help'], io()), ExitCode.OK);
  });

  it('unknown verbs, including inherited property names, are usage errors', async () => {
    for (const verb of ['nope', 'constructor', 'toString', '__proto__']) {
      await assert.rejects(runVerb(verbs, 'usage: x', [verb], io()), (e: unknown) => e instanceof UsageError && e.message.includes(`"${verb}"`));
    }
  });
});
