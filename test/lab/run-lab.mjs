#!/usr/bin/env node
// `npm run test:lab [-- options]`: boots the lab once, prints the guest's test
// output live, then a summary whose last line is "lab: N passed, M failed".
// Exits non-zero on any failure or when no test ran.
//
//   --suite <name>       run only this suite (repeatable, or comma-separated); default: all
//   --mode test|demo|bench
//   --timeout <seconds>  kill UML after this long (default 600, or LAB_TIMEOUT_S)
//   --env KEY=VALUE      parameter for the suites (labState().env), repeatable
//   --dist <dir>         compiled tree with test/lab/suites (default dist/, or STRAIT_DIST)
//   --e2e                after the suites, in the same boot: the desktop e2e (host Chromium +
//                        handler module) against a real straitd in the guest and the lab's
//                        strongSwan (test/e2e/lab/*.e2e.ts; see test/e2e/README.md)
//   --e2e-only           the same, without the suites (a quick desktop-against-the-gateway run)
import { relative } from 'node:path';
import { parseArgs } from 'node:util';

import { runLab } from './lab.mjs';

const USAGE = 'usage: run-lab.mjs [--suite name]... [--mode test|demo|bench] [--timeout s] [--env KEY=VALUE]... [--dist dir] [--e2e | --e2e-only]';

let args;
try {
  args = parseArgs({
    options: {
      suite: { type: 'string', multiple: true },
      mode: { type: 'string', default: 'test' },
      timeout: { type: 'string' },
      env: { type: 'string', multiple: true },
      dist: { type: 'string' },
      e2e: { type: 'boolean', default: false },
      'e2e-only': { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h' },
    },
  }).values;
} catch (e) {
  console.error(`${e.message}\n${USAGE}`);
  process.exit(2);
}
if (args.help) {
  console.log(USAGE);
  process.exit(0);
}

const env = {};
for (const kv of args.env ?? []) {
  const i = kv.indexOf('=');
  if (i <= 0) {
    console.error(`--env wants KEY=VALUE, got ${kv}\n${USAGE}`);
    process.exit(2);
  }
  env[kv.slice(0, i)] = kv.slice(i + 1);
}
if (args['e2e-only'] && (args.suite ?? []).length > 0) {
  console.error(`--e2e-only runs no suites; drop --suite\n${USAGE}`);
  process.exit(2);
}
if (args['e2e-only']) env.LAB_SKIP_SUITES = '1';
const suites = (args.suite ?? []).flatMap((s) => s.split(',')).map((s) => s.trim()).filter(Boolean);
const timeoutS = Number(args.timeout ?? process.env.LAB_TIMEOUT_S ?? 600);

let outcome;
try {
  outcome = await runLab({ suites, mode: args.mode, env, timeoutMs: timeoutS * 1000, ...(args.dist ? { distDir: args.dist } : {}), e2e: args.e2e || args['e2e-only'] });
} catch (e) {
  console.error(`lab: ${e instanceof Error ? e.message : String(e)}`);
  console.log('lab: 0 passed, 1 failed');
  process.exit(2);
}

const { results, outDir, timings, exitCode } = outcome;
const count = (status) => results.filter((r) => r.status === status).length;
const bySuite = new Map();
for (const r of results) {
  const s = bySuite.get(r.suite) ?? { pass: 0, fail: 0, skip: 0 };
  s[r.status] += 1;
  bySuite.set(r.suite, s);
}

const sec = (ms) => (ms === undefined ? '?' : `${(ms / 1000).toFixed(1)} s`);
console.log(`\n=== lab summary (${relative(process.cwd(), outDir) || outDir})`);
for (const [suite, s] of bySuite) console.log(`  ${suite.padEnd(24)} pass ${s.pass}  fail ${s.fail}  skip ${s.skip}`);
for (const r of results.filter((x) => x.status === 'fail')) {
  console.log(`  FAIL ${r.suite} > ${r.name}${r.details ? `\n       ${r.details.split('\n').join('\n       ')}` : ''}`);
}
console.log(
  `  time: boot ${sec(timings.bootMs)}, guest setup ${sec(timings.guestSetupMs)}, suites ${sec(timings.suitesMs)}, ` +
    `UML total ${sec(timings.umlMs)}, run total ${sec(timings.totalMs)}`,
);
if (count('skip') > 0) console.log(`  skipped: ${count('skip')}`);
console.log(`  logs: ${outDir}/logs`);
console.log(`lab: ${count('pass')} passed, ${count('fail')} failed`);
process.exit(exitCode !== 0 || count('fail') > 0 || count('pass') === 0 ? exitCode || 1 : 0);
