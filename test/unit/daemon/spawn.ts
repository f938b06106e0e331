/**
 * Starts a real straitd process for tests: the compiled entry point next to
 * a compiled test, or the TypeScript source through tsx when the test runs
 * from source. Platform work goes into a private network namespace (the
 * daemon's --netns), so nothing touches the host's XFRM, routes or DNS.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const fromSource = import.meta.url.endsWith('.ts');

/** `node` argv prefix that runs one of our entry points (tsx loader when running from source). */
export function entryArgv(relativeFromRepo: string): string[] {
  const path = fileURLToPath(new URL(`../../../${relativeFromRepo}.${fromSource ? 'ts' : 'js'}`, import.meta.url));
  return fromSource ? ['--import', 'tsx', path] : [path];
}

export interface Daemon {
  readonly dir: string;
  readonly socket: string;
  readonly logDir: string;
  readonly netns: string;
  readonly child: ChildProcess;
  readonly stdout: string[];
  readonly stderr: string[];
  /** SIGTERM and wait for the exit code */
  stop(): Promise<number | null>;
  cleanup(): Promise<void>;
}

export function canRunDaemon(): string | undefined {
  if (process.getuid?.() !== 0) return 'needs root (a private network namespace for the platform backend)';
  return undefined;
}

export async function startDaemon(extra: readonly string[] = [], reuse?: { readonly dir: string }): Promise<Daemon> {
  const dir = reuse?.dir ?? (await mkdtemp(join(tmpdir(), 'straitd-')));
  const netns = `strait-d-${process.pid}-${randomBytes(3).toString('hex')}`;
  const add = spawnSync('ip', ['netns', 'add', netns], { encoding: 'utf8' });
  if (add.status !== 0) throw new Error(`ip netns add: ${add.stderr}`);
  const socket = join(dir, 'straitd.sock');
  const logDir = join(dir, 'log');
  const args = [
    ...entryArgv('native-helper/src/daemon/main'),
    '--socket', socket,
    '--runtime-dir', join(dir, 'run'),
    '--state-dir', join(dir, 'lib'),
    '--log-dir', logDir,
    '--log-level', 'debug',
    '--dns', 'none',
    '--netns', netns,
    ...extra,
  ];
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const stdout: string[] = [];
  const stderr: string[] = [];
  child.stderr?.on('data', (d: Buffer) => stderr.push(d.toString()));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`straitd did not get ready in 30 s: ${stderr.join('')}`)), 30_000);
    child.stdout?.on('data', (d: Buffer) => {
      stdout.push(d.toString());
      if (stdout.join('').includes('straitd ready')) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`straitd exited with ${code}: ${stderr.join('')}`));
    });
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return {
    dir,
    socket,
    logDir,
    netns,
    child,
    stdout,
    stderr,
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      return exited;
    },
    async cleanup() {
      if (child.exitCode === null) {
        child.kill('SIGKILL');
        await exited;
      }
      spawnSync('ip', ['netns', 'del', netns]);
      await rm(dir, { recursive: true, force: true });
    },
  };
}
