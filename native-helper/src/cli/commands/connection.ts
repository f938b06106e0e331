/**
 * `strait connect | disconnect | status | logs | version`: the helper's RPC
 * contract from a terminal, through the same client library Electron main
 * uses (api/client.ts).
 *
 * Secrets never come from argv. `connect` takes them from the keychain for a
 * stored profile, else from stdin with `--secrets-stdin` (a JSON object of
 * ConnectSecrets, or one line = the PSK or EAP password), else from a no-echo
 * prompt on the terminal.
 *
 * Exit codes (cli/command.ts): 0 ok; 1 failure (e.g. already connected,
 * teardown not clean); 2 usage; 3 straitd unreachable; 4 connect failed
 * (the failure code is printed as `connect failed (CODE): message`);
 * 5 invalid profile or secrets; 6 profile not found.
 */
import { readFile, stat } from 'node:fs/promises';
import * as v from 'valibot';

import { ClientError, RpcError, StraitClient } from '../../api/client.js';
import { FailureCodes } from '../../api/errors.js';
import { ConnectSecretsSchema, formatIssues, parseProfile, type ConnectSecrets, type Profile } from '../../api/profile.js';
import { DEFAULT_SOCKET_PATH, LOG_LEVELS, RpcErrorCode, type ConnectionState, type LogLevel, type LogRecord, type StageTiming } from '../../api/rpc.js';
import { readConnectSecrets } from '../../keychain/connect-secrets.js';
import { NapiKeyringStore } from '../../keychain/napi-keyring-store.js';
import type { SecretStore } from '../../keychain/secret-store.js';
import { defaultStraitPaths } from '../../profiles/paths.js';
import { ProfileStore } from '../../profiles/profile-store.js';
import { parseArgs, single, UsageError, type ParsedArgs } from '../../profiles/report.js';
import { ExitCode, type CliCommand, type CliIo } from '../command.js';

export interface ConnectionCommandDeps {
  readonly openClient: (socketPath: string) => Promise<StraitClient>;
  readonly secretStore: () => SecretStore;
  readonly profileStore: (io: CliIo) => ProfileStore;
  readonly cliVersion: string;
}

const defaultDeps: ConnectionCommandDeps = {
  openClient: (socketPath) => StraitClient.open({ socketPath }),
  secretStore: () => new NapiKeyringStore(),
  profileStore: (io) => {
    const p = defaultStraitPaths(io.env);
    return new ProfileStore({ userProfilesDir: p.userProfilesDir, managedDir: p.managedDir });
  },
  cliVersion: '0.1.0',
};

/** connect waits for the helper's own connect timeout plus this margin. */
const CONNECT_RPC_MARGIN_MS = 15_000;
const DEFAULT_CONNECT_WAIT_MS = 30_000 + CONNECT_RPC_MARGIN_MS;

const socketOf = (parsed: ParsedArgs, io: CliIo): string => single(parsed, 'socket') ?? io.env['STRAIT_SOCKET'] ?? DEFAULT_SOCKET_PATH;

/** Maps client-side and helper errors to a message and a stable exit code. */
export function reportRpcError(e: unknown, io: CliIo, command: string): ExitCode {
  if (e instanceof UsageError) {
    io.err(`strait ${command}: ${e.message}`);
    return ExitCode.USAGE;
  }
  if (e instanceof ClientError) {
    if (e.kind === 'unreachable' || e.kind === 'untrusted_socket') {
      io.err(`straitd unreachable: ${e.message}`);
      return ExitCode.HELPER_UNREACHABLE;
    }
    io.err(`strait ${command}: ${e.message}`);
    return e.kind === 'closed' ? ExitCode.HELPER_UNREACHABLE : ExitCode.FAILURE;
  }
  if (e instanceof RpcError) {
    switch (e.code) {
      case RpcErrorCode.CONNECT_FAILED:
        io.err(`connect failed (${e.data?.failure ?? 'INTERNAL_ERROR'}): ${e.message.replace(/ \[[A-Z_]+\]$/u, '')}`);
        return ExitCode.CONNECT_FAILED;
      case RpcErrorCode.INVALID_PARAMS:
        io.err(`straitd refused the request: ${e.message}`);
        return ExitCode.INVALID_INPUT;
      case RpcErrorCode.BUSY:
        io.err('already connected or connecting: run `strait disconnect` first');
        return ExitCode.FAILURE;
      case RpcErrorCode.NOT_CONNECTED:
        io.err(e.message);
        return ExitCode.NOT_FOUND;
      default:
        io.err(`straitd: ${e.message}`);
        return ExitCode.FAILURE;
    }
  }
  io.err(`strait ${command}: ${e instanceof Error ? e.message : String(e)}`);
  return ExitCode.FAILURE;
}

// ---------------------------------------------------------------- formatting

const pad = (s: string, n: number): string => (s.length >= n ? s : s + ' '.repeat(n - s.length));
export const stageLine = (t: StageTiming): string => `  ${pad(t.stage, 12)} ${String(t.ms).padStart(6)} ms`;

const bytes = (n: number): string => (n < 1024 ? `${n} B` : n < 1024 * 1024 ? `${(n / 1024).toFixed(1)} KiB` : `${(n / 1024 / 1024).toFixed(1)} MiB`);

export function stateLines(s: ConnectionState, now = Date.now()): string[] {
  switch (s.state) {
    case 'disconnected':
      return ['state: disconnected'];
    case 'connecting':
      return [`state: connecting (${s.stage}, ${now - s.stageStartedAt} ms)`, `profile: ${s.profileName} (${s.profileId})`, `gateway: ${s.gateway.host}[${s.gateway.port}]`];
    case 'connected':
      return [
        'state: connected',
        `profile: ${s.profileName} (${s.profileId})`,
        `gateway: ${s.gateway.host} ${s.gateway.address}[${s.gateway.port}]${s.encapsulation ? ' (UDP-encapsulated)' : ''}`,
        `local address: ${s.localAddress}`,
        `virtual IP: ${s.virtualIps.join(', ') || 'none'}`,
        `DNS: ${s.dns.join(', ') || 'none'}`,
        `IKE: ${s.algorithms.ike}`,
        `ESP: ${s.algorithms.esp}`,
        `lifetimes: IKE ${s.saLifetimes.ikeSeconds} s, CHILD rekey ${s.saLifetimes.childSoftSeconds} s / expiry ${s.saLifetimes.childHardSeconds} s`,
        `connected since: ${new Date(s.since).toISOString()} (${Math.round((now - s.since) / 1000)} s, connect took ${s.connectMs} ms)`,
        `traffic in: ${bytes(s.counters.bytesIn)} (${s.counters.packetsIn} packets), out: ${bytes(s.counters.bytesOut)} (${s.counters.packetsOut} packets)`,
      ];
    case 'disconnecting':
      return [`state: disconnecting (${s.reason})`, `profile: ${s.profileName} (${s.profileId})`];
    case 'error':
      return [`state: error ${s.code}${s.stage !== undefined ? ` in stage ${s.stage}` : ''}`, `profile: ${s.profileName} (${s.profileId})`, `message: ${s.message}`, `at: ${new Date(s.at).toISOString()}`];
  }
}

export const logLine = (r: LogRecord): string =>
  `${r.ts} ${pad(r.level.toUpperCase(), 5)} ${pad(r.component, 10)} ${r.event}: ${r.message}${r.session !== null ? ` [${r.session.slice(0, 8)}]` : ''}`;

// ---------------------------------------------------------------- secrets

/** A single line for the auth method that needs one secret (PSK or EAP password). */
function secretFromLine(profile: Profile, line: string): ConnectSecrets | undefined {
  if (profile.auth.method === 'psk') return { psk: line };
  if (profile.auth.method === 'eap-mschapv2') return { eapPassword: line };
  return undefined;
}

function validSecrets(value: unknown): ConnectSecrets {
  const r = v.safeParse(ConnectSecretsSchema, value);
  // Name fields only: valibot's issue texts may quote the input, which is a secret.
  if (!r.success) throw new UsageError(`the secrets on stdin are not usable: ${[...new Set(r.issues.map((i) => String(i.path?.[0]?.key ?? '(object)')))].join(', ')}`);
  return r.output;
}

async function secretsFromStdin(profile: Profile, io: CliIo): Promise<ConnectSecrets> {
  const text = Buffer.from(await io.readStdin()).toString('utf8');
  const trimmed = text.replace(/\r?\n$/u, '');
  if (trimmed.trimStart().startsWith('{')) {
    let json: unknown;
    try {
      json = JSON.parse(trimmed);
    } catch {
      throw new UsageError('stdin starts with "{" but is not valid JSON');
    }
    return validSecrets(json);
  }
  if (trimmed.includes('\n')) throw new UsageError('stdin must hold one JSON object or one line');
  const s = secretFromLine(profile, trimmed);
  if (s === undefined) throw new UsageError(`a ${profile.auth.method} profile needs a JSON object on stdin ({"privateKeyPem": …, "certificatePem": …})`);
  if (trimmed === '') throw new UsageError('the secret on stdin is empty');
  return validSecrets(s);
}

async function promptSecrets(profile: Profile, io: CliIo, fromKeychain: ConnectSecrets = {}): Promise<ConnectSecrets> {
  if (profile.auth.method === 'certificate-eap') {
    // RFC 4739: the client certificate from the keychain, then the second round's password.
    if (fromKeychain.certificatePem === undefined) throw new UsageError(`the client certificate of this certificate-eap profile is not in the keychain: import it (strait profiles import … --identity) or pass --secrets-stdin`);
    const password = fromKeychain.eapPassword ?? (await io.readSecret(`Password for ${profile.auth.eapIdentity} for "${profile.name}": `));
    if (password === '') throw new UsageError('no secret given');
    return validSecrets({ ...fromKeychain, eapPassword: password });
  }
  const what = profile.auth.method === 'psk' ? 'Pre-shared key' : profile.auth.method === 'eap-mschapv2' ? `Password for ${profile.auth.eapIdentity}` : undefined;
  if (what === undefined) throw new UsageError(`the client certificate of this ${profile.auth.method} profile is not in the keychain: import it (strait profiles import … --identity) or pass --secrets-stdin`);
  const line = await io.readSecret(`${what} for "${profile.name}": `);
  if (line === '') throw new UsageError('no secret given');
  return validSecrets(secretFromLine(profile, line));
}

async function loadProfile(ref: string, io: CliIo, deps: ConnectionCommandDeps): Promise<{ profile: Profile; stored: boolean }> {
  const isFile = await stat(ref).then((s) => s.isFile(), () => false);
  if (isFile) {
    let json: unknown;
    try {
      json = JSON.parse(await readFile(ref, 'utf8'));
    } catch (e) {
      throw new UsageError(`${ref} is not a JSON profile: ${e instanceof Error ? e.message : String(e)}`);
    }
    const parsed = parseProfile(json);
    if (!parsed.ok) throw new InvalidProfile(`${ref} is not a valid profile:\n${formatIssues(parsed.issues)}`);
    return { profile: parsed.profile, stored: false };
  }
  const store = deps.profileStore(io);
  const byId = await store.get(ref).catch(() => undefined);
  if (byId !== undefined) return { profile: byId.profile, stored: true };
  const listing = await store.list();
  const byName = listing.profiles.filter((p) => p.profile.name === ref);
  if (byName.length === 1 && byName[0] !== undefined) return { profile: byName[0].profile, stored: true };
  throw new ProfileNotFound(byName.length > 1 ? `several stored profiles are named "${ref}": use the id` : `no profile file or stored profile "${ref}"`);
}

class InvalidProfile extends Error {}
class ProfileNotFound extends Error {}

// ---------------------------------------------------------------- commands

export function createConnectionCommands(overrides: Partial<ConnectionCommandDeps> = {}): CliCommand[] {
  const deps: ConnectionCommandDeps = { ...defaultDeps, ...overrides };

  /**
   * The frame of every helper command but connect: parse, let `use` validate and
   * open the helper when it is ready (`open()`), report any error the one way,
   * always close the socket. `beforeError` prints what must come first (version).
   */
  async function withHelper(
    args: readonly string[],
    io: CliIo,
    command: string,
    spec: { readonly flags: readonly string[]; readonly options: readonly string[] },
    use: (parsed: ParsedArgs, open: () => Promise<StraitClient>) => Promise<ExitCode>,
    beforeError?: () => void,
  ): Promise<ExitCode> {
    let client: StraitClient | undefined;
    try {
      const parsed = parseArgs(args, spec);
      return await use(parsed, async () => (client = await deps.openClient(socketOf(parsed, io))));
    } catch (e) {
      beforeError?.();
      return reportRpcError(e, io, command);
    } finally {
      client?.close();
    }
  }

  const connect: CliCommand = {
    name: 'connect',
    summary: 'connect with a profile file or a stored profile, printing the stage timeline',
    usage: `usage: strait connect <profile.json | stored-profile-id | name> [--secrets-stdin] [--json] [--timeout SECONDS] [--socket PATH]
  Secrets: keychain (stored profiles), else --secrets-stdin (a JSON object {"psk"|"eapPassword"|"privateKeyPem"+"certificatePem"…}
  or one line: the PSK / EAP password), else a prompt without echo. Never on the command line.`,
    async run(args, io) {
      let client: StraitClient | undefined;
      let printedStages = 0;
      let json = false;
      try {
        const parsed = parseArgs(args, { flags: ['secrets-stdin', 'json'], options: ['socket', 'timeout'] });
        json = parsed.flags.has('json');
        const [ref, ...extra] = parsed.positionals;
        if (ref === undefined || extra.length > 0) throw new UsageError('connect takes one profile (a file or a stored profile id/name)');
        const timeoutText = single(parsed, 'timeout');
        const waitMs = timeoutText === undefined ? DEFAULT_CONNECT_WAIT_MS : Number(timeoutText) * 1000;
        if (!Number.isFinite(waitMs) || waitMs <= 0) throw new UsageError('--timeout needs a number of seconds');
        const { profile, stored } = await loadProfile(ref, io, deps);
        let secrets: ConnectSecrets;
        if (parsed.flags.has('secrets-stdin')) secrets = await secretsFromStdin(profile, io);
        else if (stored) {
          const got = await readConnectSecrets(deps.secretStore(), profile, { pkcs12Password: (p) => io.readSecret(`${p}: `) }).catch(() => ({ secrets: {}, missing: ['keychain'] }));
          secrets = got.missing.length === 0 ? got.secrets : await promptSecrets(profile, io, got.secrets);
        } else secrets = await promptSecrets(profile, io);

        client = await deps.openClient(socketOf(parsed, io));
        const c = client;
        c.on('notification', (n) => {
          if (json || n.method !== 'strait.stage' || n.params.finished === null) return;
          printedStages++;
          io.out(stageLine(n.params.finished));
        });
        await c.request('subscribe', { topics: ['stage'] });
        if (!json) io.out(`connecting "${profile.name}" to ${profile.gateway.host} …`);
        const onInt = (): void => {
          void c.request('disconnect', { profileId: profile.id }).catch(() => undefined);
        };
        process.once('SIGINT', onInt);
        try {
          const { state } = await c.request('connect', { profile, secrets }, { timeoutMs: waitMs });
          if (json) io.out(JSON.stringify(state));
          else {
            io.out(`connected in ${state.connectMs} ms: virtual IP ${state.virtualIps.join(', ') || 'none'}, IKE ${state.algorithms.ike}, ESP ${state.algorithms.esp}`);
          }
          return ExitCode.OK;
        } finally {
          process.off('SIGINT', onInt);
        }
      } catch (e) {
        if (e instanceof InvalidProfile) {
          io.err(e.message);
          return ExitCode.INVALID_INPUT;
        }
        if (e instanceof ProfileNotFound) {
          io.err(e.message);
          return ExitCode.NOT_FOUND;
        }
        if (!json && e instanceof RpcError && e.code === RpcErrorCode.CONNECT_FAILED && e.data?.state?.state === 'error') {
          // the rest of the timeline, the failed stage last
          const rest = e.data.state.stages.slice(printedStages);
          rest.forEach((t, i) => io.out(`${stageLine(t)}${i === rest.length - 1 && e.data?.state?.state === 'error' && e.data.state.stage !== undefined ? '  (failed)' : ''}`));
        }
        return reportRpcError(e, io, 'connect');
      } finally {
        client?.close();
      }
    },
  };

  const disconnect: CliCommand = {
    name: 'disconnect',
    summary: 'disconnect (or cancel a connection attempt)',
    usage: 'usage: strait disconnect [--socket PATH] [--json]',
    run: (args, io) =>
      withHelper(args, io, 'disconnect', { flags: ['json'], options: ['socket'] }, async (parsed, open) => {
        if (parsed.positionals.length > 0) throw new UsageError('disconnect takes no arguments');
        const r = await (await open()).request('disconnect', {}, { timeoutMs: 30_000 });
        if (parsed.flags.has('json')) io.out(JSON.stringify(r));
        else io.out(r.wasActive ? `disconnected${r.clean ? '' : ' (WARNING: the system was not left clean; see strait logs)'}` : 'not connected');
        return r.clean ? ExitCode.OK : ExitCode.FAILURE;
      }),
  };

  const status: CliCommand = {
    name: 'status',
    summary: 'show the connection state, negotiated algorithms and traffic counters',
    usage: 'usage: strait status [--json] [--socket PATH]',
    run: (args, io) =>
      withHelper(args, io, 'status', { flags: ['json'], options: ['socket'] }, async (parsed, open) => {
        if (parsed.positionals.length > 0) throw new UsageError('status takes no arguments');
        const r = await (await open()).request('status');
        if (parsed.flags.has('json')) io.out(JSON.stringify(r.state));
        else for (const l of stateLines(r.state)) io.out(l);
        return ExitCode.OK;
      }),
  };

  const logs: CliCommand = {
    name: 'logs',
    summary: "print (and follow) straitd's structured log",
    usage: 'usage: strait logs [--follow] [--json] [--level debug|info|warn|error] [--session ID] [--text T] [--limit N] [--socket PATH]',
    run: (args, io) =>
      withHelper(args, io, 'logs', { flags: ['follow', 'json'], options: ['socket', 'level', 'session', 'text', 'limit'] }, async (parsed, open) => {
        if (parsed.positionals.length > 0) throw new UsageError('logs takes no positional arguments');
        const level = single(parsed, 'level');
        if (level !== undefined && !(LOG_LEVELS as readonly string[]).includes(level)) throw new UsageError('--level must be debug, info, warn or error');
        const limitText = single(parsed, 'limit');
        const limit = limitText === undefined ? undefined : Number(limitText);
        const session = single(parsed, 'session');
        const text = single(parsed, 'text');
        const json = parsed.flags.has('json');
        const print = (r: LogRecord): void => io.out(json ? JSON.stringify(r) : logLine(r));
        const c = await open();
        const query = { ...(level !== undefined ? { level: level as LogLevel } : {}), ...(session !== undefined ? { session } : {}), ...(text !== undefined ? { text } : {}), ...(limit !== undefined ? { limit } : {}) };
        if (!parsed.flags.has('follow')) {
          const r = await c.request('logs', query);
          r.records.forEach(print);
          return ExitCode.OK;
        }
        // Subscribe first, then read the backlog: nothing falls between the two (dedup by seq).
        let lastSeq = 0;
        const early: LogRecord[] = [];
        let live = false;
        const matches = (r: LogRecord): boolean =>
          (session === undefined || r.session === session) && (text === undefined || r.message.toLowerCase().includes(text.toLowerCase()) || r.event.toLowerCase().includes(text.toLowerCase()));
        c.on('notification', (n) => {
          if (n.method !== 'strait.log' || !matches(n.params)) return;
          if (!live) early.push(n.params);
          else if (n.params.seq > lastSeq) {
            lastSeq = n.params.seq;
            print(n.params);
          }
        });
        await c.request('subscribe', { topics: ['log'], logLevel: (level as LogLevel | undefined) ?? 'debug' });
        const backlog = await c.request('logs', query);
        for (const r of backlog.records) print(r);
        lastSeq = backlog.records[backlog.records.length - 1]?.seq ?? 0;
        for (const r of early) if (r.seq > lastSeq) print(r);
        lastSeq = Math.max(lastSeq, ...early.map((r) => r.seq));
        live = true;
        await new Promise<void>((resolve) => {
          c.once('disconnected', () => resolve());
          process.once('SIGINT', () => resolve());
        });
        return ExitCode.OK;
      }),
  };

  const version: CliCommand = {
    name: 'version',
    summary: 'print the CLI and helper versions',
    usage: 'usage: strait version [--json] [--socket PATH]',
    run: (args, io) =>
      withHelper(
        args,
        io,
        'version',
        { flags: ['json'], options: ['socket'] },
        async (parsed, open) => {
          const d = await (await open()).request('version');
          if (parsed.flags.has('json')) io.out(JSON.stringify({ cli: deps.cliVersion, daemon: d }));
          else {
            io.out(`strait ${deps.cliVersion}`);
            io.out(`straitd ${d.version} (protocol ${d.protocol}, ${d.platform}, ${d.backend}, pid ${d.pid})`);
          }
          return ExitCode.OK;
        },
        () => io.out(`strait ${deps.cliVersion}`),
      ),
  };

  return [connect, disconnect, status, logs, version];
}

/** For help texts: every failure code a connect can end with. */
export const CONNECT_FAILURE_CODES = Object.keys(FailureCodes);
