#!/usr/bin/env node
// `npm test`: the whole suite, in the order that fails fastest.
//   build (tsc -b) → lint → unit (node:test, under a real Secret Service)
//   → renderer (vitest) → fuzz → lab (one User-Mode Linux boot, real strongSwan;
//     at its end the desktop e2e in Chromium against straitd in that boot)
//   → e2e (Playwright + Debian's Chromium: the stand-in scenarios, in-process responder)
// Each stage reports its own counts; the last line is the plain
// "N passed, N failed" total that CI reads. Any failing stage fails the run.
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const only = process.argv.slice(2);
const results = [];

function findFiles(dir, suffix) {
  if (!existsSync(dir)) return [];
  const out = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...findFiles(p, suffix));
    else if (p.endsWith(suffix)) out.push(p);
  }
  return out.sort();
}

/** Runs a command with inherited output (teed through us) and returns exit code + captured text. */
function run(cmd, args, opts = {}) {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { cwd: root, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...opts.env } });
    let text = '';
    const tee = (stream) => (chunk) => {
      text += chunk.toString();
      stream.write(chunk);
    };
    child.stdout.on('data', tee(process.stdout));
    child.stderr.on('data', tee(process.stderr));
    child.on('close', (code, signal) => resolve({ code: code ?? (signal ? 128 : 1), text }));
  });
}

/** Pulls pass/fail counts out of node:test, vitest, playwright and our lab/fuzz summaries. */
function counts(raw) {
  // vitest colours its summary even when piped; strip SGR codes before matching
  const text = raw.replace(new RegExp(`${String.fromCharCode(27)}\\[[0-9;]*m`, 'g'), '');
  const num = (re) => [...text.matchAll(re)].map((m) => Number(m[1])).reduce((a, b) => a + b, 0);
  let passed = num(/^# pass (\d+)$/gm) + num(/^ℹ pass (\d+)$/gm);
  let failed = num(/^# fail (\d+)$/gm) + num(/^ℹ fail (\d+)$/gm);
  const vitest = text.match(/Tests\s+(?:(\d+) failed \| )?(\d+) passed/);
  if (vitest) {
    failed += Number(vitest[1] ?? 0);
    passed += Number(vitest[2]);
  }
  const plain = [...text.matchAll(/^(?:\w+: )?(\d+) passed, (\d+) failed/gm)];
  for (const m of plain) {
    passed += Number(m[1]);
    failed += Number(m[2]);
  }
  const pw = text.match(/^\s+(\d+) passed \(/m);
  if (pw) passed += Number(pw[1]);
  const pwf = text.match(/^\s+(\d+) failed$/m);
  if (pwf) failed += Number(pwf[1]);
  return { passed, failed };
}

async function stage(name, cmd, args, opts = {}) {
  if (only.length > 0 && !only.includes(name)) return;
  const t0 = Date.now();
  process.stdout.write(`\n=== ${name}: ${[cmd, ...args].map((a) => relative(root, a) || a).join(' ')}\n`);
  const { code, text } = await run(cmd, args, opts);
  const c = opts.count === false ? { passed: 0, failed: 0 } : counts(text);
  // A stage that runs one check (the fuzzer) counts as one test.
  if (opts.single) Object.assign(c, code === 0 ? { passed: 1, failed: 0 } : { passed: 0, failed: 1 });
  const ok = code === 0 && c.failed === 0;
  results.push({ name, ok, code, ...c, seconds: (Date.now() - t0) / 1000 });
  process.stdout.write(`=== ${name}: ${ok ? 'ok' : `FAILED (exit ${code})`} in ${((Date.now() - t0) / 1000).toFixed(1)} s\n`);
  if (!ok && opts.fatal) finish();
}

function finish() {
  process.stdout.write('\n=== summary\n');
  for (const r of results) {
    process.stdout.write(`${r.ok ? 'ok  ' : 'FAIL'} ${r.name.padEnd(10)} ${String(r.passed).padStart(5)} passed ${String(r.failed).padStart(3)} failed  ${r.seconds.toFixed(1)} s\n`);
  }
  const passed = results.reduce((a, r) => a + r.passed, 0);
  const failed = results.reduce((a, r) => a + r.failed + (r.ok || r.failed > 0 ? 0 : 1), 0);
  process.stdout.write(`${passed} passed, ${failed} failed\n`);
  process.exit(results.every((r) => r.ok) && passed > 0 ? 0 : 1);
}

const node = process.execPath;
const bin = (name) => join(root, 'node_modules', '.bin', name);

await stage('build', bin('tsc'), ['-b'], { fatal: true, count: false });
await stage('lint', bin('eslint'), ['.'], { count: false });

const unitFiles = findFiles(join(root, 'dist', 'test', 'unit'), '.test.js');
const secretService = join(root, 'test', 'keychain', 'with-secret-service.sh');
// Two test files at a time: the machines this runs on have two cores and Node's default uses
// one fewer than the cores there are (measured: 331 s one at a time, 207 s two at a time).
const unitCmd = [node, '--test', '--test-concurrency=2', '--test-reporter=spec', '--test-reporter-destination=stdout', '--test-reporter=tap', '--test-reporter-destination=/dev/null', ...unitFiles];
// The DNS test runs a real systemd-resolved unpacked by .ci/run (see there); it skips, saying so, only where that was never unpacked.
const resolvedRoot = join(root, '.cache', 'systemd-resolved');
if (process.env.STRAIT_RESOLVED_ROOT === undefined && existsSync(resolvedRoot)) process.env.STRAIT_RESOLVED_ROOT = resolvedRoot;
if (existsSync(secretService)) await stage('unit', 'sh', [secretService, ...unitCmd]);
else await stage('unit', unitCmd[0], unitCmd.slice(1));

if (existsSync(join(root, 'renderer', 'vitest.config.ts'))) {
  await stage('renderer', bin('vitest'), ['run', '--config', 'renderer/vitest.config.ts']);
}
if (existsSync(join(root, 'dist', 'test', 'fuzz', 'fuzz-main.js'))) {
  await stage('fuzz', node, ['dist/test/fuzz/fuzz-main.js', '--count', process.env.STRAIT_FUZZ_COUNT ?? '1000000', '--session-count', process.env.STRAIT_FUZZ_SESSION_COUNT ?? '60000'], { single: true });
}
if (existsSync(join(root, 'test', 'lab', 'run-lab.mjs'))) {
  // --e2e: after the suites, the same boot serves the desktop e2e against the real straitd and strongSwan
  await stage('lab', node, ['test/lab/run-lab.mjs', '--timeout', '1800', '--e2e']);
}
if (existsSync(join(root, 'test', 'e2e', 'run-e2e.mjs'))) {
  await stage('e2e', node, ['test/e2e/run-e2e.mjs']);
}
finish();
