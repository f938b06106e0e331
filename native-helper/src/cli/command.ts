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
