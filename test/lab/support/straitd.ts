// straitd as a plain root process in the runner's namespace (netns `client`),
// with its own socket, runtime, state and log folders, for lab suites, the
// demo and the bench. Start it, talk to it through the real client library
// (api/client.ts) or the real CLI, stop it with SIGTERM or kill it with
// SIGKILL and start it again on the same folders (the stale-state sweep).
// Runs inside the lab guest only.

import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { StraitClient } from '../../../native-helper/src/api/client.js';
import type { ConnectionState } from '../../../native-helper/src/api/rpc.js';
import { STRAITD_NODE_FLAGS } from '../../../native-helper/src/daemon/node-flags.js';
import type { BackgroundProcess, ShOptions, ShResult } from './guest.js';
import { labState, run, spawnBackground, waitFor } from './guest.js';

export interface Straitd {
  readonly name: string;
  readonly pid: number;
  readonly socket: string;
  /** the resolver file this straitd manages (--dns file): a copy of the guest's, never the host's */
  readonly resolvConf: string;
  /** straitd's JSON-lines log folder (straitd.log) and its stdout/stderr file */
  readonly logDir: string;
  readonly stdoutFile: string;
  /** a client connected to this straitd (the caller closes it) */
  client(): Promise<StraitClient>;
  /** runs the `strait` CLI against this straitd; secrets only through `opts.input` */
  cli(args: readonly string[], opts?: ShOptions): Promise<ShResult>;
  /** SIGTERM (graceful: disconnect, teardown); resolves with the exit code */
  stop(): Promise<number>;
  /** SIGKILL: nothing is cleaned up (the next start must sweep) */
  kill9(): Promise<number>;
  readonly exited: Promise<number>;
}

export interface StraitdOptions {
  /** names the folders; the same name reuses them (what a restart after a crash needs); default "straitd" */
  readonly name?: string;
  readonly logLevel?: 'debug' | 'info' | 'warn' | 'error';
  /** straitd --retransmit (TIMEOUT_MS,BASE,TRIES): a shorter schedule makes dead-peer detection quick in the lab */
  readonly retransmit?: string;
  /** Node's --cpu-prof into this folder (bench diagnostics: where straitd's connect time goes) */
  readonly cpuProfileDir?: string;
  /** extra Node/V8 options before the script (bench experiments: `npm run bench -- --node-args=...`) */
  readonly nodeArgs?: readonly string[];
  /** a command straitd runs under (bench diagnostics: `npm run bench -- --strace` puts strace here) */
  readonly wrapper?: readonly string[];
}

function dist(...parts: string[]): string {
  return join(labState().distDir, 'native-helper', 'src', ...parts);
}

/** Starts straitd and waits for its "straitd ready" line. */
export async function startStraitd(opts: StraitdOptions = {}): Promise<Straitd> {
  const state = labState();
  const name = opts.name ?? 'straitd';
  if (!/^[a-z0-9-]+$/.test(name)) throw new Error(`startStraitd: bad name ${name}`);
  const runDir = join(state.runDir, name); // guest tmpfs, like /run
  const stateDir = join(state.stateDir, name, 'lib'); // like /var/lib: outlives the process
  const logDir = join(state.logDir, name);
  for (const d of [runDir, join(runDir, 'run'), stateDir, logDir]) mkdirSync(d, { recursive: true, mode: 0o700 });
  const socket = join(runDir, 'straitd.sock');
  const resolvConf = join(runDir, 'resolv.conf');
  // The first start seeds the resolver file from the guest's (itself a tmpfs copy of the host's).
  if (!existsSync(resolvConf)) {
    if (existsSync('/etc/resolv.conf')) copyFileSync('/etc/resolv.conf', resolvConf);
    else writeFileSync(resolvConf, '# lab resolver file\nnameserver 192.0.2.53\n');
  }
  const stdoutFile = join(logDir, 'stdout.log');
  const readyFrom = existsSync(stdoutFile) ? readFileSync(stdoutFile).length : 0;
  const proc: BackgroundProcess = spawnBackground(
    [
      ...(opts.wrapper ?? []),
      process.execPath,
      ...(opts.cpuProfileDir !== undefined ? ['--cpu-prof', '--cpu-prof-dir', opts.cpuProfileDir] : []),
      ...STRAITD_NODE_FLAGS, // as the systemd unit starts it
      ...(opts.nodeArgs ?? []),
      dist('daemon', 'main.js'),
      '--socket', socket,
      '--runtime-dir', join(runDir, 'run'),
      '--state-dir', stateDir,
      '--log-dir', logDir,
      '--dns', 'file',
      '--resolv-conf', resolvConf,
      '--log-level', opts.logLevel ?? 'debug',
      ...(opts.retransmit !== undefined ? ['--retransmit', opts.retransmit] : []),
    ],
    { logFile: stdoutFile },
  );
  let exitCode: number | undefined;
  void proc.exited.then((c) => (exitCode = c));
  await waitFor(
    () => {
      if (exitCode !== undefined) throw new Error(`straitd exited with ${exitCode}: ${readFileSync(stdoutFile).subarray(readyFrom).toString('utf8').slice(-2000)}`);
      return readFileSync(stdoutFile).subarray(readyFrom).toString('utf8').includes('straitd ready ');
    },
    30_000, // Node needs seconds to start under UML
    { what: `straitd ${name} ready (${stdoutFile})`, intervalMs: 50 },
  );
  const kill = async (signal: NodeJS.Signals): Promise<number> => {
    if (exitCode === undefined) {
      try {
        process.kill(proc.pid, signal);
      } catch {
        // already gone
      }
    }
    return proc.exited;
  };
  return {
    name,
    pid: proc.pid,
    socket,
    resolvConf,
    logDir,
    stdoutFile,
    exited: proc.exited,
    client: () => StraitClient.open({ socketPath: socket, timeoutMs: 30_000 }),
    cli: (args, o = {}) => run([process.execPath, dist('cli', 'main.js'), ...args, '--socket', socket], { timeoutMs: 90_000, ...o }),
    async stop() {
      const code = kill('SIGTERM');
      const t = setTimeout(() => void kill('SIGKILL'), 15_000);
      try {
        return await code;
      } finally {
        clearTimeout(t);
      }
    },
    kill9: () => kill('SIGKILL'),
  };
}

/** A client of `d` subscribed to state changes, each appended to `into` with the time it arrived. */
export async function stateRecorder(d: Straitd, into: { at: number; state: ConnectionState }[]): Promise<StraitClient> {
  const client = await d.client();
  client.on('notification', (n) => {
    if (n.method === 'strait.state') into.push({ at: Date.now(), state: n.params.state });
  });
  await client.request('subscribe', { topics: ['state'] });
  return client;
}
