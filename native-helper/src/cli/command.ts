import { UsageError } from '../profiles/report.js';

/**
 * The shape of one `strait` sub-command. `cli/main.ts` dispatches to these;
 * each command module owns its argument parsing and help text. Commands
 * never take secrets from argv: they read them from `io.readSecret` (a
 * no-echo prompt on a TTY, or one line of stdin otherwise).
 */
export interface CliIo {
  readonly out: (line: string) => void;
  readonly err: (line: string) => void;
  /** Prompts without echo on a TTY; reads one line from stdin otherwise. Never logs the value. */
  readonly readSecret: (prompt: string) => Promise<string>;
  /** Reads all of stdin (for `--stdin` style input). */
  readonly readStdin: () => Promise<Uint8Array>;
  readonly isTty: boolean;
  readonly env: Readonly<Record<string, string | undefined>>;
}

/** Exit codes scripts can rely on (documented in `strait --help`). */
export const ExitCode = {
  OK: 0,
  FAILURE: 1,
  USAGE: 2,
  HELPER_UNREACHABLE: 3,
  CONNECT_FAILED: 4,
  INVALID_INPUT: 5,
  NOT_FOUND: 6,
  VERIFICATION_FAILED: 7,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

export interface CliCommand {
  /** e.g. "connect", "profiles", "bundle" */
  readonly name: string;
  readonly summary: string;
  readonly usage: string;
  run(args: readonly string[], io: CliIo): Promise<ExitCode>;
}

/** One verb of a command with verbs (`strait profiles list`, `strait bundle sign`). */
export type VerbHandler = (args: readonly string[], io: CliIo) => Promise<ExitCode>;

/**
 * Runs `args[0]` as one of `verbs`. No verb prints the usage and exits USAGE;
 * `help`/`--help` prints it and exits OK; an unknown verb throws UsageError
 * (own keys only: "constructor" is not a verb).
 */
export async function runVerb(verbs: Readonly<Record<string, VerbHandler>>, usage: string, args: readonly string[], io: CliIo): Promise<ExitCode> {
  const [verb, ...rest] = args;
  if (verb === undefined || verb === 'help' || verb === '--help') {
    io.out(usage);
    return verb === undefined ? ExitCode.USAGE : ExitCode.OK;
  }
  const handler = Object.hasOwn(verbs, verb) ? verbs[verb] : undefined;
  if (handler === undefined) throw new UsageError(`unknown verb "${verb}"\n${usage}`);
  return handler(rest, io);
}
