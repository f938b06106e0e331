/**
 * How the Linux backend runs `ip` and `resolvectl`: argv only (never a
 * shell), optional stdin, a timeout. Injectable so unit tests can record
 * every spawn and assert that no key reaches argv.
 *
 * Secrets travel only in `input` (written to the child's stdin pipe); argv
 * and environment are visible to every user through /proc.
 */
import { spawn } from 'node:child_process';

import { PlatformError } from '../errors.js';

export interface CommandRequest {
  readonly file: string;
  readonly args: readonly string[];
  /** written to stdin, then stdin is closed; may contain key material */
  readonly input?: string;
  readonly timeoutMs?: number;
}

export interface CommandResult {
  readonly exitCode: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs a command and resolves with its exit code; rejects only when it cannot be run or times out. */
export type CommandRunner = (req: CommandRequest) => Promise<CommandResult>;

const DEFAULT_TIMEOUT_MS = 20_000;

/** The real runner: `child_process.spawn` without a shell, a minimal environment. */
export const spawnRunner: CommandRunner = (req) =>
  new Promise((resolve, reject) => {
    const timeoutMs = req.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    const child = spawn(req.file, [...req.args], {
      stdio: ['pipe', 'pipe', 'pipe'],
      // C locale: the parsers read iproute2's English messages and number formats.
      env: { PATH: process.env['PATH'] ?? '/usr/sbin:/usr/bin:/sbin:/bin', LC_ALL: 'C' },
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.on('error', (e: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      reject(new PlatformError('spawn-failed', req.file, `cannot run ${req.file}: ${e.code ?? e.message}`));
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (timedOut) {
        reject(new PlatformError('timeout', req.file, `${req.file} did not finish within ${timeoutMs} ms`));
        return;
      }
      resolve({
        exitCode: code ?? 128 + (signal === 'SIGKILL' ? 9 : 15),
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
      });
    });
    // The command may exit before reading all of stdin (EPIPE): its exit code tells.
    child.stdin.on('error', () => undefined);
    child.stdin.end(req.input ?? '');
  });
