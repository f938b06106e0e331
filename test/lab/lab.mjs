// Host orchestrator of the lab: one User-Mode Linux boot per run, with a real
// strongSwan gateway in netns `gw` and every requested suite in one Node
// process in netns `client` (see README.md). Plain ESM; runs on the host after
// `tsc -b` compiled the suites.
//
//   runLab({ suites?, mode, env?, timeoutMs, distDir?, output?, e2e? })
//     e2e: after the suites, the guest serves a real straitd over a TAP link and
//     the host runs the desktop e2e against it (host/e2e-link.mjs) in the same boot
//     -> { exitCode, results: [{ suite, name, status, details }], outDir, timings }
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { accessSync, chmodSync, constants, createWriteStream, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { delimiter, dirname, isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { isDeepStrictEqual } from 'node:util';

import { createHostLink, E2E_LINK, hostE2e } from './host/e2e-link.mjs';
import { writeGatewayConfig } from './host/gateway-config.mjs';
import { GUEST_RUN_DIR, stateLayout } from './host/layout.mjs';
import { generatePki } from './host/pki.mjs';

const REPO = fileURLToPath(new URL('../..', import.meta.url)).replace(/\/$/, '');
const LAB_DIR = join(REPO, 'test', 'lab');
const INIT = join(LAB_DIR, 'guest', 'init.sh');
const TOPOLOGY_JSON = join(LAB_DIR, 'support', 'topology.json');
const MODES = ['test', 'demo', 'bench'];
const NAME_RE = /^[a-z0-9][a-z0-9-]*$/;
const ENV_RE = /^[A-Z_][A-Z0-9_]*$/;
const TOOLS = ['linux.uml', 'pki', 'openssl', 'swanctl', 'ip', 'ping'];
const CHARON = '/usr/lib/ipsec/charon';

/** @returns {typeof import('./support/topology.json')} */
export function loadTopology() {
  return JSON.parse(readFileSync(TOPOLOGY_JSON, 'utf8'));
}

/**
 * @param {{ suites?: string[], mode: 'test'|'demo'|'bench', env?: Record<string,string>, timeoutMs: number,
 *           distDir?: string, output?: { write(s: string): unknown }, umlMem?: string, e2e?: boolean }} opts
 */
export async function runLab(opts) {
  const suites = opts.suites ?? [];
  const env = opts.env ?? {};
  const output = opts.output ?? process.stdout;
  const distDir = resolve(opts.distDir ?? process.env.STRAIT_DIST ?? join(REPO, 'dist'));
  const t0 = Date.now();

  // The guest mounts tmpfs over these: a tree there is invisible inside UML
  // (the repo itself is bound back by init.sh, so anything inside it is fine).
  if (!`${distDir}/`.startsWith(`${REPO}/`) && /^\/(tmp|run|var\/tmp|dev\/shm)(\/|$)/.test(distDir)) throw new TypeError(`runLab: ${distDir} is hidden inside the guest (tmpfs); use a folder in the repo, e.g. .lab/dist`);
  if (!MODES.includes(opts.mode)) throw new TypeError(`runLab: mode must be one of ${MODES.join('|')}`);
  if (!Number.isFinite(opts.timeoutMs) || opts.timeoutMs <= 0) throw new TypeError('runLab: timeoutMs must be a positive number');
  for (const s of suites) if (!NAME_RE.test(s)) throw new TypeError(`runLab: bad suite name ${JSON.stringify(s)}`);
  for (const k of Object.keys(env)) if (!ENV_RE.test(k)) throw new TypeError(`runLab: bad env name ${JSON.stringify(k)}`);

  const runId = `${new Date().toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15)}-${randomBytes(3).toString('hex')}`;
  const layout = stateLayout(join(REPO, '.lab', runId));
  const outDir = layout.stateDir;
  const fail = (name, details) => ({ suite: 'lab', name, status: 'fail', details });

  const missing = missingPrerequisites();
  const topo = loadTopology();
  const drift = await topologyDrift(distDir, topo);
  if (missing.length > 0 || drift) {
    const results = [
      ...(missing.length > 0 ? [fail('prerequisites', `missing: ${missing.join(', ')} (run .ci/run or install the apt packages in test/lab/README.md)`)] : []),
      ...(drift ? [fail('topology constants', drift)] : []),
    ];
    return { exitCode: 2, results, outDir, timings: { totalMs: Date.now() - t0 } };
  }

  mkdirSync(layout.logDir, { recursive: true, mode: 0o700 });
  chmodSync(layout.stateDir, 0o700);
  pruneOldRuns(join(REPO, '.lab'), Number(process.env.LAB_KEEP_RUNS ?? 10));
  const tPki = Date.now();
  generatePki(layout, topo);
  writeGatewayConfig(layout, topo);
  // The e2e link's host netns: one per run (its name carries the run id), removed after the boot.
  const e2eNetns = opts.e2e ? `strait-e2e-${runId.slice(-6)}` : undefined;
  const e2eEnv = e2eNetns
    ? { LAB_E2E: '1', LAB_E2E_NETNS: E2E_LINK.guestNetns, LAB_E2E_GUEST_IP: E2E_LINK.guestIp, LAB_E2E_PORT: String(E2E_LINK.port) }
    : {};
  writeGuestParameters(layout, { runId, mode: opts.mode, suites, env: { ...env, ...e2eEnv }, distDir, topo });
  const pkiMs = Date.now() - tPki;
  // init= needs an executable file; a checkout without the mode bit must not stop the lab.
  if ((statSync(INIT).mode & 0o111) === 0) chmodSync(INIT, 0o755);

  const removeLink = e2eNetns ? createHostLink(e2eNetns) : undefined;
  const e2e = e2eNetns ? hostE2e({ stateDir: layout.stateDir, netns: e2eNetns, repo: REPO, output }) : undefined;
  let boot;
  try {
    boot = await bootGuest(layout, { runId, timeoutMs: opts.timeoutMs, output, umlMem: opts.umlMem ?? process.env.LAB_UML_MEM ?? '768M', netns: e2eNetns });
  } finally {
    e2e?.cancel();
    removeLink?.();
  }
  const e2eOutcome = e2e ? await e2e.promise : undefined;
  const records = readRecords(layout.resultsFile);
  const results = records.filter((r) => r.type === 'test').map(({ suite, name, status, details }) => ({ suite, name, status, details }));
  if (e2eOutcome && !e2eOutcome.ran) {
    results.push(fail('desktop e2e', `the guest never reported e2e-ready (last guest stage ${boot.lastStage ?? 'none'})`));
  } else if (e2eOutcome && e2eOutcome.code !== 0 && !records.some((r) => r.type === 'test' && r.status === 'fail' && r.suite.startsWith('desktop e2e'))) {
    results.push(fail('desktop e2e', `test/e2e/run-e2e.mjs --lab exited ${e2eOutcome.code} without a failed test (see the [e2e] lines)`));
  }
  const marker = existsSync(layout.exitMarker) ? Number(readFileSync(layout.exitMarker, 'utf8').trim()) : undefined;

  if (boot.interrupted) {
    results.push(fail('interrupted', `${boot.interrupted} received: UML killed (last guest stage ${boot.lastStage ?? 'none'})`));
  } else if (boot.timedOut) {
    const running = runningTest(records);
    results.push({
      suite: running?.suite ?? 'lab',
      name: `timeout after ${Math.round(opts.timeoutMs / 1000)} s${running ? ` while running "${running.name}"` : ` (last guest stage: ${boot.lastStage ?? 'none'})`}`,
      status: 'fail',
      details: `UML killed; partial results kept; console: ${layout.consoleLog}`,
    });
  } else if (marker === undefined) {
    results.push(fail('guest finished', `no exit marker (UML exit ${boot.code}, last stage ${boot.lastStage ?? 'none'}); see ${layout.consoleLog}`));
  } else if (marker !== 0 && !results.some((r) => r.status === 'fail')) {
    results.push(fail('guest runner', `exited ${marker} without a failed test; see ${layout.consoleLog}`));
  }

  const failed = results.filter((r) => r.status === 'fail').length;
  const passed = results.filter((r) => r.status === 'pass').length;
  const timings = { totalMs: Date.now() - t0, pkiMs, ...boot.timings };
  writeFileSync(join(layout.logDir, 'timings.json'), `${JSON.stringify(timings, null, 2)}\n`);
  return { exitCode: failed > 0 || passed === 0 ? 1 : 0, results, outDir, timings };
}

function missingPrerequisites() {
  const path = (process.env.PATH ?? '').split(delimiter).concat(['/usr/sbin', '/sbin']);
  const found = (tool) =>
    path.some((d) => {
      try {
        accessSync(join(d, tool), constants.X_OK);
        return true;
      } catch {
        return false;
      }
    });
  const missing = TOOLS.filter((t) => !found(t));
  if (!existsSync(CHARON)) missing.push(CHARON);
  return missing;
}

/** Compares topology.json with the compiled topology.ts constants; returns a message if they differ. */
async function topologyDrift(distDir, topo) {
  const compiled = join(distDir, 'test', 'lab', 'support', 'topology.js');
  if (!existsSync(compiled)) return `${compiled} not found: build first (npx tsc -b) or set STRAIT_DIST`;
  const { LAB_TOPOLOGY } = await import(pathToFileURL(compiled).href);
  return isDeepStrictEqual(LAB_TOPOLOGY, topo) ? undefined : `test/lab/support/topology.json and topology.ts differ (compiled: ${compiled}); keep them identical`;
}

function pruneOldRuns(dir, keep) {
  if (!existsSync(dir) || !(keep > 0)) return;
  const runs = readdirSync(dir).filter((n) => /^\d{8}-\d{6}-[0-9a-f]{6}$/.test(n)).sort();
  for (const old of runs.slice(0, Math.max(0, runs.length - keep + 1))) rmSync(join(dir, old), { recursive: true, force: true });
}

function shellQuote(value) {
  return `'${String(value).replaceAll("'", `'\\''`)}'`;
}

/** topology.json as TOPO_* shell variables: camelCase -> SNAKE, arrays space-separated. */
function topologyEnv(value, prefix = 'TOPO') {
  if (Array.isArray(value)) return [[prefix, value.join(' ')]];
  if (value !== null && typeof value === 'object') {
    return Object.entries(value).flatMap(([k, v]) =>
      topologyEnv(v, `${prefix}_${k.replace(/([a-z0-9])([A-Z])/g, '$1_$2').replace(/[^A-Za-z0-9]/g, '_').toUpperCase()}`),
    );
  }
  return [[prefix, String(value)]];
}

/** lab.json for guest.ts / run-suites.mjs, lab.env for the guest's shell scripts. */
function writeGuestParameters(layout, { runId, mode, suites, env, distDir, topo }) {
  const { pki, secrets, gw } = layout;
  const strip = ({ dir: _dir, ...rest }) => rest;
  const labJson = {
    version: 1,
    runId,
    mode,
    suites,
    env,
    repoDir: REPO,
    stateDir: layout.stateDir,
    distDir,
    logDir: layout.logDir,
    resultsFile: layout.resultsFile,
    runDir: GUEST_RUN_DIR,
    pki: { ecdsa: strip(pki.ecdsa), rsa: strip(pki.rsa), evil: strip(pki.evil) },
    secrets: { psk: secrets.psk, eapPassword: secrets.eapPassword, p12Password: secrets.p12Password },
    gw: { vici: gw.vici, viciUri: gw.viciUri, swanctlDir: gw.swanctlDir, strongswanConf: gw.strongswanConf, log: gw.log },
  };
  writeFileSync(layout.labJson, `${JSON.stringify(labJson, null, 2)}\n`);
  const vars = [
    ['LAB_STATE', layout.stateDir],
    ['LAB_RUN_ID', runId],
    ['LAB_MODE', mode],
    ['LAB_REPO', REPO],
    ['LAB_DIST', distDir],
    ['LAB_NODE', process.execPath],
    ['LAB_LOG_DIR', layout.logDir],
    ['LAB_RESULTS', layout.resultsFile],
    ['LAB_EXIT_MARKER', layout.exitMarker],
    ['LAB_RUN_DIR', GUEST_RUN_DIR],
    ['LAB_GW_CONF', gw.strongswanConf],
    ['LAB_GW_SWANCTL_DIR', gw.swanctlDir],
    ['PATH', `${GUEST_RUN_DIR}/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:${dirname(process.execPath)}`],
    ...topologyEnv(topo),
    ...Object.entries(env),
  ];
  writeFileSync(layout.labEnv, `# Generated by test/lab/lab.mjs for run ${runId}; sourced by the guest's scripts.\n${vars.map(([k, v]) => `export ${k}=${shellQuote(v)}`).join('\n')}\n`);
}

/** Boots UML once; streams its console; kills its whole process group at the timeout or on SIGINT/SIGTERM. */
function bootGuest(layout, { runId, timeoutMs, output, umlMem, netns }) {
  const args = [
    `mem=${umlMem}`,
    'root=/dev/root', 'rootfstype=hostfs', 'rootflags=/', 'rw',
    `init=${INIT}`,
    'quiet',
    'con0=null,fd:1', 'con=null', 'ssl=null',
    `umid=lab-${runId}`, `uml_dir=${layout.umlDir}`,
    // Unknown KEY=VALUE kernel arguments reach init's environment.
    `LAB_STATE=${layout.stateDir}`,
    // The desktop e2e's link: eth0 on the TAP device of the run's host netns (UML runs inside it).
    ...(netns ? [`eth0=tuntap,${E2E_LINK.tap}`] : []),
  ];
  if (/\s/.test(layout.stateDir) || !isAbsolute(layout.stateDir)) throw new Error(`state dir must be absolute without spaces: ${layout.stateDir}`);
  mkdirSync(layout.umlDir, { recursive: true });
  const log = createWriteStream(layout.consoleLog);
  const start = Date.now();
  const stages = {};
  let lastStage;
  let pending = '';
  return new Promise((resolvePromise) => {
    // `ip netns exec` execs linux.uml in place: the pid and process group stay the ones killed below.
    const [file, ...argv] = netns ? ['ip', 'netns', 'exec', netns, 'linux.uml', ...args] : ['linux.uml', ...args];
    const child = spawn(file, argv, { cwd: layout.stateDir, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    const killAll = () => {
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    };
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      output.write(`\n[lab] timeout after ${timeoutMs} ms: killing UML\n`);
      killAll();
    }, timeoutMs);
    let interrupted;
    const onSignal = (sig) => {
      interrupted = sig;
      output.write(`\n[lab] ${sig}: killing UML\n`);
      killAll();
    };
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
    const onData = (chunk) => {
      log.write(chunk);
      output.write(chunk);
      pending += chunk.toString('utf8');
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) {
        const m = /^\[lab\] stage (\S+) uptime=([\d.]+)/.exec(line);
        if (m) {
          lastStage = m[1];
          stages[m[1]] = { hostMs: Date.now() - start, guestUptimeS: Number(m[2]) };
        }
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('close', (code) => {
      clearTimeout(timer);
      process.removeListener('SIGINT', onSignal);
      process.removeListener('SIGTERM', onSignal);
      killAll(); // UML helper processes left behind in the group, if any
      log.end();
      rmSync(layout.umlDir, { recursive: true, force: true });
      const at = (s) => stages[s]?.hostMs;
      resolvePromise({
        code,
        timedOut,
        interrupted,
        lastStage,
        timings: {
          umlMs: Date.now() - start,
          bootMs: at('init'),
          guestSetupMs: at('runner') !== undefined && at('init') !== undefined ? at('runner') - at('init') : undefined,
          suitesMs: at('suites-done') !== undefined && at('runner') !== undefined ? at('suites-done') - at('runner') : undefined,
          stages,
        },
      });
    });
  });
}

function readRecords(file) {
  if (!existsSync(file)) return [];
  const out = [];
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (!line.trim()) continue;
    try {
      out.push(JSON.parse(line));
    } catch {
      // a line cut by the kill at a timeout
    }
  }
  return out;
}

/** The last test that started and has no result: what was running when the guest was killed. */
function runningTest(records) {
  const done = new Set(records.filter((r) => r.type === 'test').map((r) => `${r.suite}\0${r.name}`));
  const started = records.filter((r) => r.type === 'start' && !done.has(`${r.suite}\0${r.name}`));
  return started.at(-1);
}
