/**
 * Runs a helper script of this folder in a child Node process, from source
 * under tsx (npx tsx --test) or compiled under dist (node --test): the same
 * loader flags, the matching file extension.
 */
import { spawn, type SpawnOptions } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** `name` resolved next to `base` (default: this helpers folder), with this run's extension. */
export const helperPath = (name: string, base: string = import.meta.url): string => {
  const ext = import.meta.url.endsWith('.ts') ? '.ts' : '.js';
  return fileURLToPath(new URL(`./${name}${ext}`, base));
};

export interface ChildResult {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

export function runHelper(name: string, args: readonly string[], options: SpawnOptions & { input?: string; timeoutMs?: number; base?: string; wrapper?: readonly string[] } = {}): Promise<ChildResult> {
  return new Promise((resolve, reject) => {
    // `wrapper` runs the node child under another command (e.g. dbus-run-session --).
    const argv = [process.execPath, ...process.execArgv, helperPath(name, options.base), ...args];
    const [cmd, ...rest] = [...(options.wrapper ?? []), ...argv] as [string, ...string[]];
    const child = spawn(cmd, rest, { ...options, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 60_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
    child.stdin?.on('error', () => undefined);
    child.stdin?.end(options.input ?? '');
  });
}

/** Keychain tests need the real Secret Service; without a bus they fail and say how to run them. */
export function requireSecretService(): void {
  const bus = process.env['DBUS_SESSION_BUS_ADDRESS'];
  if (bus === undefined || bus === '') {
    throw new Error('no D-Bus session bus: run this suite under a real Secret Service, e.g.\n  sh test/keychain/with-secret-service.sh npx tsx --test test/unit/profiles/*.test.ts');
  }
}
