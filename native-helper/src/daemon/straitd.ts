/**
 * straitd — the privileged helper (README.md in this folder); main.ts is the
 * process entry, which sets V8 flags before this module is compiled.
 *
 * Every path and setting comes from this process's own argv (the systemd
 * unit or the lab), never from an RPC caller. Start-up order: log store →
 * platform backend → supervisor → stale-state sweep → socket. SIGTERM/SIGINT:
 * disconnect (DELETE sent), teardown, close the socket, exit 0.
 */
import { chmodSync, chownSync, existsSync, lstatSync, mkdirSync, readFileSync, unlinkSync } from 'node:fs';
import { createConnection } from 'node:net';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';

import { DEFAULT_SOCKET_PATH, LOG_LEVELS, RPC_PROTOCOL_VERSION, type ConnectionState, type LogLevel, type ResultOf } from '../api/rpc.js';
import { createPlatformBackend } from '../platform/backend.js';
import type { DnsMethodOption } from '../platform/linux/linux-backend.js';
import { exposedMinorGc, IdleCollector } from './idle-gc.js';
import { LogStore } from './log-store.js';
import { missingNodeFlags } from './node-flags.js';
import { RpcServer } from './rpc-server.js';
import { createHandlers, publishEvents } from './service.js';
import { Supervisor } from './supervisor.js';
import { packageVersion } from '../package-version.js';

const USAGE = `usage: straitd [--socket PATH] [--runtime-dir DIR] [--state-dir DIR] [--log-dir DIR]
               [--log-level debug|info|warn|error] [--dns auto|resolved|file|none] [--resolv-conf PATH]
               [--netns NAME] [--ike-port N] [--natt-port N] [--connect-timeout-ms N]
               [--retransmit TIMEOUT_MS,BASE,TRIES] [--allow-non-root]`;

export interface DaemonArgs {
  readonly socket: string;
  readonly runtimeDir: string;
  readonly stateDir: string;
  readonly logDir: string;
  readonly logLevel: LogLevel;
  readonly dns: DnsMethodOption;
  readonly resolvConf?: string;
  readonly netns?: string;
  readonly ikePort: number;
  readonly nattPort: number;
  readonly connectTimeoutMs: number;
  /** RFC 7296 §2.1 schedule (first timeout, back-off base, tries), like charon's retransmit_*; default the engine's */
  readonly retransmit?: { readonly timeoutMs: number; readonly base: number; readonly tries: number };
  readonly allowNonRoot: boolean;
}

class UsageError extends Error {}

const port = (text: string | undefined, fallback: number, what: string): number => {
  if (text === undefined) return fallback;
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1 || n > 65_535) throw new UsageError(`${what} must be a port number 1..65535`);
  return n;
};

function parseRetransmit(text: string | undefined): DaemonArgs['retransmit'] {
  if (text === undefined) return undefined;
  const parts = text.split(',').map(Number);
  const [timeoutMs, base, tries] = parts;
  if (parts.length !== 3 || timeoutMs === undefined || base === undefined || tries === undefined) throw new UsageError('--retransmit takes TIMEOUT_MS,BASE,TRIES');
  if (!Number.isInteger(timeoutMs) || timeoutMs < 100 || timeoutMs > 60_000) throw new UsageError('--retransmit: TIMEOUT_MS must be 100..60000');
  if (!(base >= 1 && base <= 4)) throw new UsageError('--retransmit: BASE must be 1..4');
  if (!Number.isInteger(tries) || tries < 1 || tries > 10) throw new UsageError('--retransmit: TRIES must be 1..10');
  return { timeoutMs, base, tries };
}

export function parseDaemonArgs(argv: readonly string[]): DaemonArgs {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      strict: true,
      allowPositionals: false,
      options: {
        socket: { type: 'string' },
        'runtime-dir': { type: 'string' },
        'state-dir': { type: 'string' },
        'log-dir': { type: 'string' },
        'log-level': { type: 'string' },
        dns: { type: 'string' },
        'resolv-conf': { type: 'string' },
        netns: { type: 'string' },
        'ike-port': { type: 'string' },
        'natt-port': { type: 'string' },
        'connect-timeout-ms': { type: 'string' },
        retransmit: { type: 'string' },
        'allow-non-root': { type: 'boolean' },
        help: { type: 'boolean' },
      },
    });
  } catch (e) {
    throw new UsageError(e instanceof Error ? e.message : String(e));
  }
  const o = parsed.values;
  if (o.help === true) throw new UsageError('');
  const level = o['log-level'] ?? 'info';
  if (!(LOG_LEVELS as readonly string[]).includes(level)) throw new UsageError('--log-level must be debug, info, warn or error');
  const dns = o.dns ?? 'auto';
  if (!['auto', 'resolved', 'file', 'none'].includes(dns)) throw new UsageError('--dns must be auto, resolved, file or none');
  const timeout = Number(o['connect-timeout-ms'] ?? 30_000);
  if (!Number.isInteger(timeout) || timeout < 1000 || timeout > 600_000) throw new UsageError('--connect-timeout-ms must be 1000..600000');
  const retransmit = parseRetransmit(o.retransmit);
  return {
    socket: o.socket ?? DEFAULT_SOCKET_PATH,
    runtimeDir: o['runtime-dir'] ?? '/run/strait',
    stateDir: o['state-dir'] ?? '/var/lib/strait',
    logDir: o['log-dir'] ?? '/var/log/strait',
    logLevel: level as LogLevel,
    dns: dns as DnsMethodOption,
    ...(o['resolv-conf'] !== undefined ? { resolvConf: o['resolv-conf'] } : {}),
    ...(o.netns !== undefined ? { netns: o.netns } : {}),
    ikePort: port(o['ike-port'], 500, '--ike-port'),
    nattPort: port(o['natt-port'], 4500, '--natt-port'),
    connectTimeoutMs: timeout,
    ...(retransmit !== undefined ? { retransmit } : {}),
    allowNonRoot: o['allow-non-root'] === true,
  };
}


/** gid of group `strait`, when it exists (DESIGN.md: members of that group reach the helper). */
function straitGid(): number | undefined {
  try {
    for (const line of readFileSync('/etc/group', 'utf8').split('\n')) {
      const [name, , gid] = line.split(':');
      if (name === 'strait' && gid !== undefined && /^\d+$/u.test(gid)) return Number(gid);
    }
  } catch {
    // no /etc/group: no group
  }
  return undefined;
}

/** Refuses to start over a live straitd; removes a stale socket file left by a crash. */
async function prepareSocketPath(path: string): Promise<void> {
  mkdirSync(dirname(path), { recursive: true, mode: 0o755 });
  if (!existsSync(path)) return;
  if (!lstatSync(path).isSocket()) throw new Error(`${path} exists and is not a socket: refusing to replace it`);
  const alive = await new Promise<boolean>((resolve) => {
    const s = createConnection({ path });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
  if (alive) throw new Error(`another straitd is listening on ${path}`);
  unlinkSync(path);
}

export async function runDaemon(args: DaemonArgs): Promise<{ stop: (reason: string) => Promise<void> }> {
  const startedAt = Date.now();
  const log = new LogStore({ dir: args.logDir, fileLevel: args.logLevel });
  const late: { supervisor?: Supervisor } = {};
  const platform = createPlatformBackend({
    linux: {
      runtimeDir: join(args.runtimeDir, 'state'),
      persistentDir: join(args.stateDir, 'state'),
      dns: args.dns,
      ...(args.resolvConf !== undefined ? { resolvConfPath: args.resolvConf } : {}),
      ...(args.netns !== undefined ? { netns: args.netns } : {}),
    },
    log: (e) => late.supervisor?.platformLog(e),
  });
  const supervisor = new Supervisor({ platform, log, ports: { ike: args.ikePort, natt: args.nattPort }, connectTimeoutMs: args.connectTimeoutMs, ...(args.retransmit !== undefined ? { retransmit: args.retransmit } : {}) });
  late.supervisor = supervisor;
  const version: ResultOf<'version'> = { name: 'straitd', version: packageVersion(), protocol: RPC_PROTOCOL_VERSION, platform: process.platform, backend: platform.name, pid: process.pid, startedAt };
  log.append({ level: 'info', component: 'daemon', event: 'daemon.start', message: `straitd ${version.version} starting (pid ${process.pid}, backend ${platform.name})`, fields: { socket: args.socket, logDir: args.logDir, stateDir: args.stateDir, runtimeDir: args.runtimeDir, nodeOptions: process.execArgv } });
  const missing = missingNodeFlags(process.execArgv);
  // Not an error (everything works without them), but connects cost more CPU: say so once.
  if (missing.length > 0) log.append({ level: 'info', component: 'daemon', event: 'daemon.node_options', message: `started without the V8 options straitd is tuned for (${missing.join(' ')}): connects use more CPU (see daemon/node-flags.ts)`, fields: { missing } });
  if (log.diskProblem !== undefined) process.stderr.write(`straitd: log file not writable (${log.diskProblem}); logging to memory only\n`);
  await supervisor.sweepStale();

  let stopping = false;
  const server = new RpcServer({ handlers: createHandlers({ supervisor, log, version }), log: (r) => log.append(r), stopping: () => stopping });
  const unhook = publishEvents(supervisor, log, server);
  // Young-generation collection between connects, never during one (idle-gc.ts).
  const collector = new IdleCollector(exposedMinorGc());
  const onStateForGc = (st: ConnectionState): void => (st.state === 'connecting' || st.state === 'disconnecting' ? collector.busy() : collector.settled());
  supervisor.on('state', onStateForGc);
  await prepareSocketPath(args.socket);
  // Never world-accessible, not even between bind() and chmod().
  const oldMask = process.umask(0o117);
  try {
    await server.listen(args.socket);
  } finally {
    process.umask(oldMask);
  }
  chmodSync(args.socket, 0o660);
  const gid = straitGid();
  if (gid !== undefined && typeof process.getuid === 'function') chownSync(args.socket, process.getuid(), gid);
  log.append({ level: 'info', component: 'daemon', event: 'daemon.listening', message: `listening on ${args.socket} (mode 0660${gid !== undefined ? `, group strait ${gid}` : ', no group strait: root only'})` });

  let stopped: Promise<void> | undefined;
  const stop = (reason: string): Promise<void> => {
    stopped ??= (async () => {
      stopping = true;
      log.append({ level: 'info', component: 'daemon', event: 'daemon.stopping', message: `stopping: ${reason}` });
      await supervisor.shutdown();
      await server.close();
      unhook();
      supervisor.off('state', onStateForGc);
      collector.cancel();
      try {
        unlinkSync(args.socket);
      } catch {
        // already gone
      }
      log.append({ level: 'info', component: 'daemon', event: 'daemon.stopped', message: 'stopped' });
      await log.close();
    })();
    return stopped;
  };
  return { stop };
}

/** Runs straitd with this process's argv (the entry, main.ts, calls it). */
export async function main(): Promise<void> {
  let args: DaemonArgs;
  try {
    args = parseDaemonArgs(process.argv.slice(2));
  } catch (e) {
    if (e instanceof UsageError) {
      process.stderr.write(`${e.message === '' ? '' : `straitd: ${e.message}\n`}${USAGE}\n`);
      process.exit(e.message === '' ? 0 : 2);
    }
    throw e;
  }
  if (typeof process.getuid === 'function' && process.getuid() !== 0 && !args.allowNonRoot) {
    process.stderr.write('straitd: must run as root (it installs IPsec SAs, routes and DNS)\n');
    process.exit(1);
  }
  let daemon: { stop: (reason: string) => Promise<void> };
  try {
    daemon = await runDaemon(args);
  } catch (e) {
    process.stderr.write(`straitd: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(1);
  }
  let signals = 0;
  const onSignal = (sig: string): void => {
    if (++signals > 1) process.exit(1);
    void daemon.stop(`signal ${sig}`).then(
      () => process.exit(0),
      (e: unknown) => {
        process.stderr.write(`straitd: stop failed: ${e instanceof Error ? e.message : String(e)}\n`);
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => onSignal('SIGTERM'));
  process.on('SIGINT', () => onSignal('SIGINT'));
  process.stdout.write(`straitd ready socket=${args.socket} pid=${process.pid}\n`);
}
