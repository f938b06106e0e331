#!/usr/bin/env node
// `npm run demo`: boots the lab once (User-Mode Linux, a real strongSwan
// gateway), starts straitd in the client namespace, connects with the `strait`
// CLI and a demo profile, prints the stage timeline, pings the LAN host through
// the tunnel, disconnects and shows that nothing is left behind
// (test/lab/suites/demo.suite.ts does the steps inside the guest).
//
//   --dist <dir>     compiled tree (default dist/, or STRAIT_DIST)
//   --timeout <s>    kill UML after this long (default 400)
//   --verbose        the guest's whole console, not only the demo's lines
import { relative } from 'node:path';
import { parseArgs } from 'node:util';

import { runLab } from './lab.mjs';

const USAGE = 'usage: demo.mjs [--dist dir] [--timeout s] [--verbose]';
let args;
try {
  args = parseArgs({
    options: {
      dist: { type: 'string' },
      timeout: { type: 'string', default: '400' },
      verbose: { type: 'boolean', default: false },
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

const STAGES = {
  init: 'kernel up',
  crypto: 'ESP crypto ready',
  topology: 'namespaces client / gw / lan built',
  gateway: 'strongSwan gateway running',
  runner: 'demo starting',
};
let pending = '';
let inFailure = false;
const output = {
  write(chunk) {
    if (args.verbose) {
      process.stdout.write(chunk);
      return;
    }
    pending += chunk.toString();
    const lines = pending.split('\n');
    pending = lines.pop() ?? '';
    for (const raw of lines) {
      const line = raw.replace(/\r$/, ''); // the guest console ends lines with CR LF
      const demo = /^\[demo\] ?(.*)$/.exec(line);
      const stage = /^\[lab\] stage (\S+) uptime=([\d.]+)/.exec(line);
      if (demo) process.stdout.write(`${demo[1]}\n`);
      else if (stage && STAGES[stage[1]]) process.stdout.write(`  lab: ${STAGES[stage[1]]} (${stage[2]} s)\n`);
      else if (/^\s+✖ |^\[lab\] (FAIL|timeout)/.test(line)) {
        inFailure = true;
        process.stdout.write(`${line}\n`);
      } else if (inFailure && /^ {6}/.test(line)) process.stdout.write(`${line}\n`);
      else inFailure = false;
    }
  },
};

console.log('Strait demo: booting the lab (User-Mode Linux with kernel ESP, strongSwan gateway, a LAN host) ...');
const t0 = Date.now();
const outcome = await runLab({ mode: 'demo', suites: ['demo'], timeoutMs: Number(args.timeout) * 1000, output, ...(args.dist ? { distDir: args.dist } : {}) });
const failed = outcome.results.filter((r) => r.status === 'fail');
const logs = `${relative(process.cwd(), outcome.outDir) || outcome.outDir}/logs`;
console.log('');
if (outcome.exitCode === 0 && failed.length === 0) {
  console.log(`demo: ok in ${((Date.now() - t0) / 1000).toFixed(0)} s (straitd log, gateway log and the guest console in ${logs})`);
} else {
  for (const r of failed) console.log(`FAIL ${r.suite} > ${r.name}${r.details ? `\n  ${r.details.split('\n').join('\n  ')}` : ''}`);
  console.log(`demo: FAILED (see ${logs}/console.log)`);
  process.exit(1);
}
