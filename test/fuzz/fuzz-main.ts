/**
 * The fuzzing CLI (`npm run fuzz`, and the "fuzz" stage of test/run-all.mjs):
 *
 *   node dist/test/fuzz/fuzz-main.js --count N [--session-count M] [--seed S]
 *
 * Runs every fuzzer with N messages each (the session fuzzer, which drives a
 * whole IkeSession with real cryptography per message and so runs ~30x slower
 * than the codec fuzzer, with M when given) and ends with exactly
 * `fuzz messages=<total> uncaught=<total>`; exits 1 if anything escaped.
 * Without --seed a fresh seed is drawn and printed, so each run explores
 * new inputs and any failure can be replayed with --seed.
 *
 * Adding a fuzzer (e.g. test/fuzz/fuzz-session.ts exporting
 * `fuzzSession(count: number, seed: number): FuzzReport`, the type in
 * fuzz-report.ts) is two lines: its import below, and its entry in FUZZERS.
 */
import { randomInt } from 'node:crypto';
import process from 'node:process';

import { fuzzCodec } from './fuzz-codec.js';
import type { FuzzReport } from './fuzz-report.js';
import { fuzzSession } from './fuzz-session.js';

interface Fuzzer {
  readonly name: string;
  readonly run: (count: number, seed: number) => FuzzReport;
  /** which count it takes */
  readonly slow: boolean;
}

const FUZZERS: readonly Fuzzer[] = [
  { name: 'codec', run: fuzzCodec, slow: false },
  { name: 'session', run: fuzzSession, slow: true },
];

function usage(message: string): never {
  process.stderr.write(`${message}\nusage: fuzz-main --count N [--session-count M] [--seed S]\n`);
  process.exit(2);
}

function parseArgs(argv: readonly string[]): { count: number; sessionCount: number; seed: number } {
  let count: number | undefined;
  let sessionCount: number | undefined;
  let seed: number | undefined;
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    const value = argv[i + 1];
    if (flag !== '--count' && flag !== '--session-count' && flag !== '--seed') usage(`unknown argument: ${flag}`);
    if (value === undefined || !/^\d+$/.test(value)) usage(`${flag} needs a non-negative integer`);
    if (flag === '--count') count = Number(value);
    else if (flag === '--session-count') sessionCount = Number(value);
    else seed = Number(value) >>> 0;
    i++;
  }
  if (count === undefined) usage('--count is required');
  return { count, sessionCount: sessionCount ?? count, seed: seed ?? randomInt(0, 2 ** 32 - 1) };
}

const { count, sessionCount, seed } = parseArgs(process.argv.slice(2));
let messages = 0;
let uncaught = 0;
for (const fuzzer of FUZZERS) {
  const t0 = performance.now();
  const report = fuzzer.run(fuzzer.slow ? sessionCount : count, seed);
  const seconds = (performance.now() - t0) / 1000;
  messages += report.messages;
  uncaught += report.uncaught;
  const extra = Object.entries(report)
    .filter(([k]) => !['messages', 'uncaught', 'firstFailure'].includes(k))
    .map(([k, v]) => ` ${k}=${String(v)}`)
    .join('');
  process.stdout.write(
    `fuzz ${fuzzer.name}: seed=${seed} messages=${report.messages} uncaught=${report.uncaught}${extra} ` +
      `${seconds.toFixed(1)} s (${Math.round(report.messages / Math.max(seconds, 1e-9))}/s)\n`,
  );
  if (report.firstFailure !== undefined) process.stderr.write(`fuzz ${fuzzer.name}: first failure: ${report.firstFailure}\n`);
}
process.stdout.write(`fuzz messages=${messages} uncaught=${uncaught}\n`);
process.exitCode = uncaught > 0 ? 1 : 0;
