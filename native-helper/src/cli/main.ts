#!/usr/bin/env node
/**
 * `strait` — the command-line client (DESIGN.md: the same API as the UI,
 * over the same socket). Dispatches to the sub-commands in ./commands and
 * provides their terminal I/O: secrets only through a no-echo prompt or
 * stdin, never argv.
 */
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

import { ExitCode, type CliCommand, type CliIo } from './command.js';
import { bundleCommand } from './commands/bundle.js';
import { createConnectionCommands } from './commands/connection.js';
import { profilesCommand } from './commands/profiles.js';
import { packageVersion } from '../package-version.js';


export function allCommands(version = packageVersion()): CliCommand[] {
  return [...createConnectionCommands({ cliVersion: version }), profilesCommand, bundleCommand];
}

export function helpText(commands: readonly CliCommand[]): string {
  const width = Math.max(...commands.map((c) => c.name.length));
  return [
    'usage: strait <command> [options]',
    '',
    ...commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    '',
    '`strait <command> --help` shows a command\'s options. The helper socket is /run/strait/straitd.sock',
    '(--socket PATH or STRAIT_SOCKET to override). Secrets are never taken from the command line.',
    '',
    'exit codes: 0 ok, 1 failure, 2 usage, 3 straitd unreachable, 4 connect failed,',
    '            5 invalid input, 6 not found, 7 signature verification failed',
  ].join('\n');
}

/** Reads stdin to the end. */
async function readAllStdin(): Promise<Uint8Array> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(typeof c === 'string' ? Buffer.from(c) : (c as Buffer));
  return new Uint8Array(Buffer.concat(chunks));
}

/** One line from stdin (no TTY) or a prompt without echo (TTY). */
function readSecret(prompt: string): Promise<string> {
  const stdin = process.stdin;
  if (!stdin.isTTY) {
    return new Promise((resolve) => {
      let buf = '';
      const onData = (d: Buffer | string): void => {
        buf += d.toString();
        const nl = buf.indexOf('\n');
        if (nl >= 0) {
          done(buf.slice(0, nl).replace(/\r$/u, ''));
        }
      };
      const done = (line: string): void => {
        stdin.off('data', onData);
        stdin.off('end', onEnd);
        stdin.pause();
        resolve(line);
      };
      const onEnd = (): void => done(buf.replace(/\r?\n$/u, ''));
      stdin.on('data', onData);
      stdin.once('end', onEnd);
      stdin.resume();
    });
  }
  return new Promise((resolve, reject) => {
    process.stderr.write(prompt);
    stdin.setRawMode(true);
    stdin.resume();
    let value = '';
    const finish = (ok: boolean): void => {
      stdin.setRawMode(false);
      stdin.pause();
      stdin.off('data', onData);
      process.stderr.write('\n');
      if (ok) resolve(value);
      else reject(new Error('cancelled'));
    };
    const onData = (d: Buffer): void => {
      for (const ch of d.toString('utf8')) {
        if (ch === '\r' || ch === '\n') return finish(true);
        if (ch === '\u0003') return finish(false); // Ctrl-C
        if (ch === '\u007f' || ch === '\b') value = value.slice(0, -1);
        else if (ch >= ' ') value += ch;
      }
    };
    stdin.on('data', onData);
  });
}

export const processIo: CliIo = {
  out: (line) => process.stdout.write(`${line}\n`),
  err: (line) => process.stderr.write(`${line}\n`),
  readSecret,
  readStdin: readAllStdin,
  isTty: process.stdin.isTTY === true,
  env: process.env,
};

export async function runCli(argv: readonly string[], io: CliIo, commands: readonly CliCommand[] = allCommands()): Promise<ExitCode> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    (name === undefined ? io.err : io.out)(helpText(commands));
    return name === undefined ? ExitCode.USAGE : ExitCode.OK;
  }
  if (name === '--version') return runCli(['version', ...rest], io, commands);
  const command = commands.find((c) => c.name === name);
  if (command === undefined) {
    io.err(`strait: unknown command "${name}"\n${helpText(commands)}`);
    return ExitCode.USAGE;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    io.out(command.usage);
    return ExitCode.OK;
  }
  return command.run(rest, io);
}

const isEntry = (): boolean => {
  try {
    return process.argv[1] !== undefined && realpathSync(fileURLToPath(import.meta.url)) === realpathSync(process.argv[1]);
  } catch {
    return false;
  }
};

if (isEntry()) {
  runCli(process.argv.slice(2), processIo).then(
    (code) => {
      process.exitCode = code;
      // `logs --follow` and the like leave nothing pending; anything left (a TTY stdin) must not keep us alive.
      setImmediate(() => process.exit(code));
    },
    (e: unknown) => {
      process.stderr.write(`strait: ${e instanceof Error ? e.message : String(e)}\n`);
      process.exit(ExitCode.FAILURE);
    },
  );
}
