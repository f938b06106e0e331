// The lab's test runner, inside UML, in netns `client` (started by init.sh
// with reporter.mjs). Node needs seconds to start under UML, so this ONE
// process runs every requested suite: each compiled suite
// <dist>/test/lab/suites/<name>.suite.js is imported inside a node:test
// `describe(<name>)`, so its tests register (and run, in order) under that
// suite's name in this process.
//
// Suite files must not do work at module top level (all are imported before
// the first test runs): put setup in before()/it().
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { pathToFileURL } from 'node:url';

const stateDir = process.env.LAB_STATE;
if (!stateDir) throw new Error('LAB_STATE is not set');
const state = JSON.parse(readFileSync(join(stateDir, 'lab.json'), 'utf8'));
const suiteDir = join(state.distDir, 'test', 'lab', 'suites');
const timeout = Number(state.env.LAB_SUITE_TIMEOUT_MS ?? 240_000);

const available = existsSync(suiteDir)
  ? readdirSync(suiteDir).filter((f) => f.endsWith('.suite.js')).map((f) => f.slice(0, -'.suite.js'.length)).sort()
  : [];
const requested = state.suites.length > 0 ? state.suites : available;

console.log(`[lab] suites: ${requested.join(', ') || '(none)'} (mode ${state.mode}, from ${suiteDir})`);

for (const name of requested) {
  if (!available.includes(name)) {
    describe(name, () => {
      it('exists', () => {
        throw new Error(`no ${name}.suite.js in ${suiteDir} (available: ${available.join(', ') || 'none'}); was tsc -b run?`);
      });
    });
    continue;
  }
  // One suite module at a time: while a module evaluates, its top-level
  // describe()/it() calls attach to whichever suite node:test thinks is
  // current; evaluating two at once files one suite's tests under another's name.
  await new Promise((resolve) => {
    describe(name, { timeout }, async () => {
      try {
        await import(pathToFileURL(join(suiteDir, `${name}.suite.js`)).href);
      } finally {
        resolve();
      }
    });
  });
}

// A suite may leave a handle open (a server, an interval) that would keep this
// process, and so the guest, alive until the host's timeout. Once every test
// has finished, give stragglers a moment, then leave; node:test's exit
// handler still sets the failure exit code.
after(() => {
  setTimeout(() => process.exit(), 3000).unref();
});
