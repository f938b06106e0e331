// Helpers for lab suites. They run INSIDE the User-Mode Linux guest, in the
// one Node process that test/lab/guest/run-suites.mjs starts in netns
// `client` (as root). Nothing here works on the host.
//
// Secrets rule: a command string may be logged (failures quote it), so never
// put a PSK, password or key in `cmd`/argv. Pass secrets by file path (see
// labState().secrets) or on stdin (`input`).

import { spawn } from 'node:child_process';
import { openSync, readFileSync } from 'node:fs';
import { constants } from 'node:os';
import { join } from 'node:path';

import * as v from 'valibot';

import type { Netns } from './topology.js';
import { LAB_TOPOLOGY } from './topology.js';

// ---------------------------------------------------------------- processes

export interface ShOptions {
  /** Kill the command (and its process group) after this long; default 60 s. */
  readonly timeoutMs?: number;
  /** Written to the command's stdin (the place for secrets). */
  readonly input?: string | Uint8Array;
  /** Extra environment variables (never secrets). */
  readonly env?: Readonly<Record<string, string>>;
  readonly cwd?: string;
  /** Throw LabCommandError when the exit code is not 0. */
  readonly check?: boolean;
}

export interface ShResult {
  readonly stdout: string;
  readonly stderr: string;
  /** Exit code; 128 + signal number when killed by a signal (124 on our timeout). */
  readonly code: number;
}

/** A command that failed while the caller asked for `check: true`. */
export class LabCommandError extends Error {
  override readonly name = 'LabCommandError';
  constructor(
    readonly command: string,
    readonly result: ShResult,
  ) {
    const tail = (result.stderr.trim() || result.stdout.trim()).split('\n').slice(-5).join('\n');
    super(`command failed (exit ${result.code}): ${command}${tail ? `\n${tail}` : ''}`);
  }
}

const TIMEOUT_EXIT = 124;

function signalExit(code: number | null, signal: NodeJS.Signals | null): number {
  return code ?? 128 + (signal ? constants.signals[signal] : 0);
}

/** Runs argv without a shell. */
export function run(argv: readonly string[], opts: ShOptions = {}): Promise<ShResult> {
  const [file, ...args] = argv;
  if (file === undefined) return Promise.reject(new Error('run: empty argv'));
  const command = argv.join(' ');
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, {
      cwd: opts.cwd,
      env: { ...process.env, ...opts.env },
      stdio: ['pipe', 'pipe', 'pipe'],
      // Own process group, so a timeout also ends what the command started.
      detached: true,
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      killGroup(child.pid, 'SIGKILL');
    }, opts.timeoutMs ?? 60_000);
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const result: ShResult = {
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8') + (timedOut ? `\n[timed out after ${opts.timeoutMs ?? 60_000} ms]` : ''),
        code: timedOut ? TIMEOUT_EXIT : signalExit(code, signal),
      };
      if (opts.check && result.code !== 0) reject(new LabCommandError(command, result));
      else resolve(result);
    });
    child.stdin.on('error', () => undefined); // the command may exit without reading stdin
    child.stdin.end(opts.input ?? '');
  });
}

/** Runs `cmd` with /bin/sh in the runner's own namespace (netns `client`). */
export function sh(cmd: string, opts: ShOptions = {}): Promise<ShResult> {
  return run(['/bin/sh', '-c', cmd], opts);
}

/** Runs `cmd` with /bin/sh inside network namespace `ns` (`ip netns exec`). */
export function inNetns(ns: Netns, cmd: string, opts: ShOptions = {}): Promise<ShResult> {
  return run(['ip', 'netns', 'exec', LAB_TOPOLOGY.netns[ns], '/bin/sh', '-c', cmd], opts);
}

/** Single-quotes a word for /bin/sh. */
export function shQuote(word: string): string {
  return `'${word.replaceAll("'", `'\\''`)}'`;
}

function killGroup(pid: number | undefined, signal: NodeJS.Signals): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, signal);
  } catch {
    // already gone
  }
}

export interface BackgroundProcess {
  readonly pid: number;
  readonly logFile: string;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves once the process is gone. */
  stop(graceMs?: number): Promise<void>;
  /** Resolves with the exit code when the process ends on its own or is stopped. */
  readonly exited: Promise<number>;
}

/** Starts a long-running process (optionally in `netns`), stdout+stderr appended to `logFile`. */
export function spawnBackground(argv: readonly string[], opts: { logFile: string; netns?: Netns; env?: Readonly<Record<string, string>> }): BackgroundProcess {
  const full = opts.netns ? ['ip', 'netns', 'exec', LAB_TOPOLOGY.netns[opts.netns], ...argv] : [...argv];
  const [file, ...args] = full;
  if (file === undefined) throw new Error('spawnBackground: empty argv');
  const fd = openSync(opts.logFile, 'a');
  const child = spawn(file, args, { env: { ...process.env, ...opts.env }, stdio: ['ignore', fd, fd], detached: true });
  if (child.pid === undefined) throw new Error(`spawnBackground: could not start ${file}`);
  const pid = child.pid;
  const exited = new Promise<number>((resolve) => {
    child.on('exit', (code, signal) => resolve(signalExit(code, signal)));
    child.on('error', () => resolve(127));
  });
  return {
    pid,
    logFile: opts.logFile,
    exited,
    async stop(graceMs = 3000) {
      killGroup(pid, 'SIGTERM');
      const gone = await Promise.race([exited.then(() => true), sleep(graceMs).then(() => false)]);
      if (!gone) {
        killGroup(pid, 'SIGKILL');
        await exited;
      }
    },
  };
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Polls `fn` until it returns something other than undefined/null/false and
 * returns that value. Exceptions from `fn` count as "not yet"; the last one
 * is quoted when the wait times out.
 */
export async function waitFor<T>(
  fn: () => T | Promise<T>,
  timeoutMs: number,
  opts: { intervalMs?: number; what?: string } = {},
): Promise<Exclude<T, undefined | null | false>> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await fn();
      if (value !== undefined && value !== null && value !== false) return value as Exclude<T, undefined | null | false>;
    } catch (e) {
      lastError = e;
    }
    if (Date.now() >= deadline) {
      const why = lastError instanceof Error ? `: ${lastError.message}` : '';
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${opts.what ?? 'condition'}${why}`);
    }
    await sleep(opts.intervalMs ?? 100);
  }
}

// ---------------------------------------------------------------- lab state

const LabModeSchema = v.picklist(['test', 'demo', 'bench']);
export type LabMode = v.InferOutput<typeof LabModeSchema>;

const CaSetSchema = v.object({ caCert: v.string(), caKey: v.string(), gwCert: v.string(), gwKey: v.string() });
const ClientCertSchema = v.object({ cert: v.string(), key: v.string(), p12: v.string() });

const LabStateSchema = v.object({
  version: v.literal(1),
  runId: v.string(),
  mode: LabModeSchema,
  /** Suite names requested (empty: all). */
  suites: v.array(v.string()),
  /** Extra KEY=VALUE parameters the host passed (runLab's `env`). */
  env: v.record(v.string(), v.string()),
  repoDir: v.string(),
  stateDir: v.string(),
  distDir: v.string(),
  logDir: v.string(),
  resultsFile: v.string(),
  /** Guest-private tmpfs for daemons' runtime files (/run/lab/<role>). */
  runDir: v.string(),
  pki: v.object({
    ecdsa: v.object({ ...CaSetSchema.entries, client: ClientCertSchema }),
    rsa: v.object({ ...CaSetSchema.entries, client: ClientCertSchema }),
    evil: CaSetSchema,
  }),
  /** Paths of files (mode 0600) holding the generated secrets. */
  secrets: v.object({ psk: v.string(), eapPassword: v.string(), p12Password: v.string() }),
  gw: v.object({
    vici: v.string(),
    viciUri: v.string(),
    swanctlDir: v.string(),
    strongswanConf: v.string(),
    log: v.string(),
  }),
});
export type LabState = v.InferOutput<typeof LabStateSchema>;

let cachedState: LabState | undefined;

/** The current run's state (paths of PKI, secrets, gateway vici socket, logs), from $LAB_STATE/lab.json. */
export function labState(): LabState {
  if (cachedState) return cachedState;
  const dir = process.env.LAB_STATE;
  if (!dir) throw new Error('LAB_STATE is not set: lab helpers run only inside the lab guest');
  const parsed = v.safeParse(LabStateSchema, JSON.parse(readFileSync(join(dir, 'lab.json'), 'utf8')));
  if (!parsed.success) throw new Error(`invalid ${join(dir, 'lab.json')}: ${parsed.issues.map((i) => i.message).join('; ')}`);
  cachedState = parsed.output;
  return cachedState;
}

/** Reads one generated secret. Hand it to the code under test by stdin or memory; never log it. */
export function labSecret(kind: keyof LabState['secrets']): string {
  return readFileSync(labState().secrets[kind], 'utf8').trim();
}

// ---------------------------------------------------------------- gateway

/**
 * Runs swanctl against the gateway's charon, e.g. swanctlGw(['--list-sas']).
 * args[0] is the swanctl command; the vici URI is inserted after it.
 */
export function swanctlGw(args: readonly string[], opts: ShOptions = {}): Promise<ShResult> {
  const gw = labState().gw;
  const [command, ...rest] = args;
  if (command === undefined) return Promise.reject(new Error('swanctlGw: missing command'));
  return run(['swanctl', command, '--uri', gw.viciUri, ...rest], {
    ...opts,
    env: { SWANCTL_DIR: gw.swanctlDir, STRONGSWAN_CONF: gw.strongswanConf, ...opts.env },
  });
}

/**
 * Allows (true) or forbids (false, the default) clear forwarding client -> LAN
 * on the gateway, e.g. for a plain-routing baseline in a benchmark. The guard
 * is an XFRM block policy, see guest/net.sh; both calls are idempotent.
 */
export async function setClearForwarding(allowed: boolean): Promise<void> {
  const netSh = join(labState().repoDir, 'test', 'lab', 'guest', 'net.sh');
  await run(['/bin/sh', netSh, 'guard', allowed ? 'off' : 'on'], { check: true });
}

// ---------------------------------------------------------------- XFRM

export interface XfrmState {
  readonly src: string;
  readonly dst: string;
  readonly proto: string;
  readonly spi: number;
  /** "0x" + 8 lowercase hex digits, as ip(8) prints it. */
  readonly spiHex: string;
  readonly reqid: number;
  readonly mode: string;
  readonly aead?: { readonly alg: string; readonly keyHex: string; readonly icvBits: number };
  readonly enc?: { readonly alg: string; readonly keyHex: string };
  readonly auth?: { readonly alg: string; readonly keyHex: string; readonly truncBits?: number };
  readonly encap?: { readonly type: string; readonly sport: number; readonly dport: number; readonly addr: string };
  readonly selector?: { readonly src: string; readonly dst: string };
  /** Current byte/packet counters (only when read with `ip -s`, see xfrmState(ns, { stats: true })). */
  readonly stats?: { readonly bytes: number; readonly packets: number };
  /** The state's lines as ip(8) printed them. */
  readonly raw: string;
}

/** Parses `ip xfrm state` output (iproute2 text format). Key hex comes without "0x", lowercase. */
export function parseXfrmState(text: string): XfrmState[] {
  const blocks: string[][] = [];
  for (const line of text.split('\n')) {
    if (line.startsWith('src ')) blocks.push([line]);
    else if (line.trim() !== '' && blocks.length > 0) blocks[blocks.length - 1]?.push(line.trim());
  }
  return blocks.map(parseBlock);
}

function parseBlock(lines: string[]): XfrmState {
  const head = words(lines[0] ?? '');
  const fields: { -readonly [K in keyof XfrmState]?: XfrmState[K] } = { src: after(head, 'src'), dst: after(head, 'dst'), raw: lines.join('\n') };
  let inCurrentLifetime = false;
  for (const line of lines.slice(1)) {
    const w = words(line);
    // `ip -s`: "lifetime current:" is followed by "<n>(bytes), <n>(packets)".
    const counters = inCurrentLifetime ? /^(\d+)\(bytes\), (\d+)\(packets\)/.exec(line) : null;
    if (counters) fields.stats = { bytes: Number(counters[1]), packets: Number(counters[2]) };
    inCurrentLifetime = line.startsWith('lifetime current:');
    switch (w[0]) {
      case 'proto': {
        const spiHex = after(w, 'spi').toLowerCase();
        fields.proto = after(w, 'proto');
        fields.spi = Number.parseInt(spiHex, 16);
        fields.spiHex = spiHex;
        fields.reqid = Number(after(w, 'reqid', '0'));
        fields.mode = after(w, 'mode', '');
        break;
      }
      case 'aead':
        fields.aead = { alg: w[1] ?? '', keyHex: hexKey(w[2]), icvBits: Number(w[3] ?? 0) };
        break;
      case 'enc':
        fields.enc = { alg: w[1] ?? '', keyHex: hexKey(w[2]) };
        break;
      case 'auth':
        fields.auth = { alg: w[1] ?? '', keyHex: hexKey(w[2]) };
        break;
      case 'auth-trunc':
        fields.auth = { alg: w[1] ?? '', keyHex: hexKey(w[2]), truncBits: Number(w[3] ?? 0) };
        break;
      case 'encap':
        fields.encap = { type: after(w, 'type'), sport: Number(after(w, 'sport')), dport: Number(after(w, 'dport')), addr: after(w, 'addr', '') };
        break;
      case 'sel':
        fields.selector = { src: after(w, 'src'), dst: after(w, 'dst') };
        break;
      default:
        break;
    }
  }
  if (fields.proto === undefined || fields.spi === undefined || Number.isNaN(fields.spi)) {
    throw new Error(`unparsable xfrm state: ${lines[0] ?? ''}`);
  }
  return fields as XfrmState;
}

function words(line: string): string[] {
  return line.trim().split(/\s+/);
}

function after(w: readonly string[], key: string, fallback?: string): string {
  const i = w.indexOf(key);
  const value = i >= 0 ? w[i + 1] : undefined;
  if (value !== undefined) return value;
  if (fallback !== undefined) return fallback;
  throw new Error(`xfrm state line without "${key}": ${w.join(' ')}`);
}

function hexKey(word: string | undefined): string {
  return (word ?? '').replace(/^0x/i, '').toLowerCase();
}

/** The XFRM states (SAs, with keys) of namespace `ns`; `stats` adds byte/packet counters. */
export async function xfrmState(ns: Netns, opts: { stats?: boolean } = {}): Promise<XfrmState[]> {
  const r = await run(['ip', ...(opts.stats ? ['-s'] : []), '-n', LAB_TOPOLOGY.netns[ns], 'xfrm', 'state'], { check: true });
  return parseXfrmState(r.stdout);
}

/** The gateway's XFRM states: what strongSwan installed, keys included (compare with what our engine derived). */
export function gwXfrmState(): Promise<XfrmState[]> {
  return xfrmState('gw');
}

// ---------------------------------------------------------------- reachability

export interface PingResult {
  readonly transmitted: number;
  readonly received: number;
  readonly output: string;
}

/**
 * Pings `dest` from namespace `ns`: `count` probes `intervalS` apart (default
 * 0.2 s; root may go below 1 s), waiting `waitS` seconds for the last reply,
 * optionally from source address `from`.
 */
export async function ping(ns: Netns, dest: string, opts: { count?: number; waitS?: number; intervalS?: number; from?: string } = {}): Promise<PingResult> {
  const family = dest.includes(':') ? '-6' : '-4';
  const src = opts.from ? ` -I ${opts.from}` : '';
  const r = await inNetns(ns, `ping ${family} -n -c ${opts.count ?? 3} -i ${opts.intervalS ?? 0.2} -W ${opts.waitS ?? 2}${src} ${dest}`, {
    timeoutMs: ((opts.count ?? 3) * ((opts.waitS ?? 2) + 1) + 5) * 1000,
  });
  const m = /(\d+) packets transmitted, (\d+) (?:packets )?received/.exec(r.stdout);
  return { transmitted: Number(m?.[1] ?? 0), received: Number(m?.[2] ?? 0), output: r.stdout + r.stderr };
}

/** True if one ping from `ns` to `dest` is answered within a second. */
export async function reachable(ns: Netns, dest: string, from?: string): Promise<boolean> {
  const r = await ping(ns, dest, { count: 1, waitS: 1, ...(from ? { from } : {}) });
  return r.received > 0;
}

// ---------------------------------------------------------------- LAN services

/** Starts an iperf3 server in netns `lan` on LAN.ports.iperf3 and waits until it listens. */
export async function startLanIperf(): Promise<BackgroundProcess> {
  const port = LAB_TOPOLOGY.lan.ports.iperf3;
  const p = spawnBackground(['iperf3', '-s', '-p', String(port)], { netns: 'lan', logFile: join(labState().logDir, 'lan-iperf3.log') });
  await waitForListener('lan', port, p);
  return p;
}

/** Starts the TCP echo (LAN.ports.echo) and discard (LAN.ports.discard) servers in netns `lan`. */
export async function startLanEcho(): Promise<BackgroundProcess> {
  const { echo, discard } = LAB_TOPOLOGY.lan.ports;
  const script = join(labState().repoDir, 'test', 'lab', 'guest', 'tcp-echo.mjs');
  const p = spawnBackground([process.execPath, script, String(echo), String(discard)], { netns: 'lan', logFile: join(labState().logDir, 'lan-echo.log') });
  // Node takes seconds to start in UML.
  await waitForListener('lan', discard, p, 30_000);
  return p;
}

async function waitForListener(ns: Netns, port: number, p: BackgroundProcess, timeoutMs = 10_000): Promise<void> {
  let exited: number | undefined;
  void p.exited.then((c) => (exited = c));
  await waitFor(
    async () => {
      if (exited !== undefined) throw new Error(`process exited with ${exited} (see ${p.logFile})`);
      const r = await inNetns(ns, `ss -Htln 'sport = :${port}'`);
      return r.stdout.trim() !== '';
    },
    timeoutMs,
    { what: `a listener on port ${port} in netns ${ns}`, intervalMs: 200 },
  );
}
