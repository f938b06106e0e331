#!/usr/bin/env node
// e2e: builds the renderer (vite), then runs test/e2e/*.e2e.ts with node:test
// (through tsx, so the Electron main modules run from source) under a private
// D-Bus + gnome-keyring Secret Service. Prints the node:test spec output and
// a last line "e2e: N passed, M failed" (test/run-all.mjs reads it).
//
//   --lab <state dir>  run test/e2e/lab/*.e2e.ts instead: the desktop against the
//                      real straitd inside the lab's UML guest and its strongSwan.
//                      Started by test/lab/run-lab.mjs --e2e (host/e2e-link.mjs)
//                      inside the run's host netns once the guest is ready; results
//                      go to the lab's results.jsonl through the lab reporter.
import { spawn } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const root = fileURLToPath(new URL('../..', import.meta.url));
const bin = (name) => join(root, 'node_modules', '.bin', name);
const { lab } = parseArgs({ options: { lab: { type: 'string' } } }).values;
const labState = lab === undefined ? undefined : resolve(lab);

function run(cmd, args, { filter } = {}) {
  return new Promise((resolve) => {
    const labEnv = labState === undefined ? {} : { LAB_STATE: labState, STRAIT_E2E_LAB_STATE: labState };
    const child = spawn(cmd, args, { cwd: root, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ELECTRON_SKIP_BINARY_DOWNLOAD: '1', ...labEnv } });
    let text = '';
    const onData = (stream) => (chunk) => {
      const s = chunk.toString();
      text += s;
      // node:test's own "ℹ pass N" totals are summarised below as one line (so the runner counts once).
      stream.write(filter ? s.replace(/^ℹ (pass|fail) \d+\n/gmu, '') : s);
    };
    child.stdout.on('data', onData(process.stdout));
    child.stderr.on('data', onData(process.stderr));
    child.on('close', (code) => resolve({ code: code ?? 1, text }));
  });
}

if (!existsSync('/usr/bin/chromium')) {
  console.log('e2e: /usr/bin/chromium not found (apt-get install chromium)');
  console.log('e2e: 0 passed, 1 failed');
  process.exit(1);
}
const build = await run(bin('vite'), ['build', '--config', 'renderer/vite.config.ts', '--logLevel', 'warn']);
if (build.code !== 0) {
  console.log('e2e: renderer build failed');
  console.log('e2e: 0 passed, 1 failed');
  process.exit(1);
}
const dir = labState === undefined ? join('test', 'e2e') : join('test', 'e2e', 'lab');
const files = readdirSync(join(root, dir)).filter((f) => f.endsWith('.e2e.ts')).map((f) => join(dir, f));
// In the lab the lab's own reporter records each test in results.jsonl (what run-lab.mjs counts).
const reporter = labState === undefined ? ['--test-reporter=spec'] : [`--test-reporter=${join(root, 'test', 'lab', 'guest', 'reporter.mjs')}`, '--test-reporter-destination=stdout'];
const test = await run('sh', [join(root, 'test', 'keychain', 'with-secret-service.sh'), process.execPath, '--import', 'tsx', '--test', '--test-concurrency=1', ...reporter, ...files], { filter: true });
const num = (re) => Number(test.text.match(re)?.[1] ?? 0);
const passed = labState === undefined ? num(/^ℹ pass (\d+)$/mu) : (test.text.match(/^ {2}✔ /gmu) ?? []).length;
const failed = labState === undefined ? num(/^ℹ fail (\d+)$/mu) : (test.text.match(/^ {2}✖ /gmu) ?? []).length;
console.log(`screenshots: ${join('test-results', 'screenshots')}`);
console.log(`e2e: ${passed} passed, ${failed + (test.code !== 0 && failed === 0 ? 1 : 0)} failed`);
process.exit(test.code === 0 && failed === 0 && passed > 0 ? 0 : 1);
