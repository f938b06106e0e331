#!/usr/bin/env node
// `npm run bench`: one lab boot (mode "bench", suite test/lab/suites/bench.suite.ts):
// N connects + iperf3 with Strait (straitd) and with strongSwan's own client
// against the same gateway, then prints the medians. Last two lines, exactly:
//   bench connect_ms strait=<median> strongswan=<median> ratio=<r> n=<N>
//   bench throughput_mbps strait=<median> strongswan=<median> ratio=<r> n=<N>
// (ratio = strait / strongswan). Exits non-zero, without those lines, when a
// side produced no measurement.
//
//   --n <N>            connects per side (default 10, at least 10 for a real result)
//   --iperf-s <s>      iperf3 seconds per connect (default 3)
//   --dist <dir>       compiled tree (default dist/, or STRAIT_DIST)
//   --timeout <s>      kill UML after this long (default 900)
//   --quiet            only the summary (default: the guest's bench lines live)
//   --node-args=<opts> extra Node/V8 options for straitd, space-separated, after the = (a value that starts
//                      with -- is not accepted as a separate argument); experiments, printed by the bench
//   --strace           straitd runs under strace -f -ttt -T (<logDir>/straitd.strace; its CPU and page-fault
//                      figures are then strace's, the pid the bench watches)
//   --profile          straitd runs under node --cpu-prof (profile in the run's log dir)
//                      and tcpdump records the IKE packets: for finding where connect time goes
import { existsSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { parseArgs } from 'node:util';

import { runLab } from './lab.mjs';

const USAGE = 'usage: bench.mjs [--n N] [--iperf-s S] [--dist dir] [--timeout s] [--quiet] [--profile] [--strace] [--node-args=<opts>]';
let args;
try {
  args = parseArgs({
    options: {
      n: { type: 'string', default: '10' },
      'iperf-s': { type: 'string', default: '3' },
      dist: { type: 'string' },
      timeout: { type: 'string', default: '900' },
      quiet: { type: 'boolean', default: false },
      profile: { type: 'boolean', default: false },
      'node-args': { type: 'string', default: '' },
      strace: { type: 'boolean', default: false },
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
const n = Number(args.n);
const iperfS = Number(args['iperf-s']);
if (!Number.isInteger(n) || n < 1 || !Number.isInteger(iperfS) || iperfS < 1) {
  console.error(`--n and --iperf-s must be positive integers\n${USAGE}`);
  process.exit(2);
}

// Live output: only the guest's [bench] lines and failures, not the whole console.
let pending = '';
const output = {
  write(chunk) {
    if (args.quiet) return;
    pending += chunk.toString();
    const lines = pending.split('\n');
    pending = lines.pop() ?? '';
    for (const raw of lines) {
      const line = raw.replace(/\r$/, ''); // the guest console ends lines with CR LF
      if (/^\[bench\] |^\s+✖ |^\[lab\] (FAIL|timeout)/.test(line)) process.stdout.write(`${line}\n`);
      else if (/^\[lab\] stage (runner|gateway) /.test(line)) process.stdout.write(`${line.replace(/ uptime=.*/, '')}\n`);
    }
  },
};

console.log(`bench: booting the lab (User-Mode Linux, strongSwan gateway); ${n} connects + ${iperfS} s iperf3 per side ...`);
const outcome = await runLab({
  mode: 'bench',
  suites: ['bench'],
  // the whole bench is one suite: give it the run's time, not the default 240 s per suite
  env: { BENCH_N: String(n), BENCH_IPERF_S: String(iperfS), LAB_SUITE_TIMEOUT_MS: String(Number(args.timeout) * 1000), ...(args.profile ? { BENCH_CPU_PROF: '1' } : {}), ...(args['node-args'] !== '' ? { BENCH_NODE_ARGS: args['node-args'] } : {}), ...(args.strace ? { BENCH_STRACE: '1' } : {}) },
  timeoutMs: Number(args.timeout) * 1000,
  output,
  ...(args.dist ? { distDir: args.dist } : {}),
});

for (const r of outcome.results.filter((x) => x.status === 'fail')) {
  console.log(`FAIL ${r.suite} > ${r.name}${r.details ? `\n  ${r.details.split('\n').join('\n  ')}` : ''}`);
}
const file = join(outcome.outDir, 'logs', 'bench.json');
if (!existsSync(file)) {
  console.log(`bench: no results (${relative(process.cwd(), file)} missing); logs in ${outcome.outDir}/logs`);
  process.exit(1);
}
const data = JSON.parse(readFileSync(file, 'utf8'));

function median(xs) {
  const s = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (s.length === 0) return Number.NaN;
  const m = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[m] : (s[m - 1] + s[m]) / 2;
}
const side = (name, key) => (data[name]?.samples ?? []).map((s) => s[key]).filter((x) => typeof x === 'number');
const fmt = (x, digits) => (Number.isFinite(x) ? x.toFixed(digits) : 'NaN');

const sw = { c: side('strongswan', 'connectMs'), t: side('strongswan', 'throughputMbps') };
const st = { c: side('strait', 'connectMs'), d: side('strait', 'daemonMs'), t: side('strait', 'throughputMbps') };
console.log(`\n=== bench (${relative(process.cwd(), outcome.outDir) || outcome.outDir}/logs/bench.json)`);
console.log(`  gateway ${data.gateway}, IKE ${data.proposal.ike}, ESP ${data.proposal.esp}, iperf3 ${data.iperfSeconds} s per connect, rounds alternate strongSwan / Strait, 1 warm-up round not counted`);
console.log(`  strongSwan (vici initiate → CHILD_SA installed):  connect ms ${sw.c.map((x) => x.toFixed(1)).join(' ')}`);
console.log(`  Strait (connect RPC → Connected, client clock):    connect ms ${st.c.map((x) => x.toFixed(1)).join(' ')}`);
console.log(`  Strait (straitd stage timeline, connectMs):        connect ms ${st.d.join(' ')}  (median ${fmt(median(st.d), 1)})`);
const stageNames = [...new Set((data.strait?.samples ?? []).flatMap((x) => Object.keys(x.stages ?? {})))];
if (stageNames.length > 0) {
  const per = stageNames.map((name) => `${name} ${fmt(median((data.strait.samples ?? []).map((x) => x.stages?.[name] ?? Number.NaN)), 0)}`);
  console.log(`  Strait stage medians (ms): ${per.join(', ')}`);
}
const outside = { req: side('strait', 'requestMs'), rep: side('strait', 'replyMs') };
if (outside.req.length > 0) {
  console.log(`  Strait outside its timeline (ms, guest wall clock): request → timeline start median ${fmt(median(outside.req), 0)}, timeline end → answer read median ${fmt(median(outside.rep), 0)}`);
}
const faults = { sw: side('strongswan', 'faults'), st: side('strait', 'faults') };
if (faults.sw.length > 0 && faults.st.length > 0) {
  console.log(`  page faults per connect (minor; each a trip to the host in User-Mode Linux): strongSwan's charon median ${fmt(median(faults.sw), 0)}, straitd median ${fmt(median(faults.st), 0)}`);
}
const cpu = { sw: side('strongswan', 'cpuMs'), st: side('strait', 'cpuMs') };
if (cpu.sw.length > 0 && cpu.st.length > 0) {
  console.log(`  CPU time charged to the client process per connect (ms; the guest kernel's 10 ms ticks, all threads):`);
  console.log(`    strongSwan's charon ${cpu.sw.map((x) => x.toFixed(0)).join(' ')}  (median ${fmt(median(cpu.sw), 1)})`);
  console.log(`    straitd             ${cpu.st.map((x) => x.toFixed(0)).join(' ')}  (median ${fmt(median(cpu.st), 1)})`);
}
console.log(`  throughput Mbit/s  strongSwan ${sw.t.map((x) => x.toFixed(0)).join(' ')}`);
console.log(`                     Strait     ${st.t.map((x) => x.toFixed(0)).join(' ')}`);

const complete = sw.c.length === n && st.c.length === n && outcome.exitCode === 0;
if (!complete) {
  console.log(`bench: incomplete (strongSwan ${sw.c.length}/${n}, Strait ${st.c.length}/${n} connects, lab exit ${outcome.exitCode}); no result lines printed`);
  process.exit(1);
}
const cs = median(st.c);
const cw = median(sw.c);
const ts = median(st.t);
const tw = median(sw.t);
console.log(`bench connect_ms strait=${fmt(cs, 1)} strongswan=${fmt(cw, 1)} ratio=${fmt(cs / cw, 2)} n=${n}`);
console.log(`bench throughput_mbps strait=${fmt(ts, 1)} strongswan=${fmt(tw, 1)} ratio=${fmt(ts / tw, 2)} n=${n}`);
