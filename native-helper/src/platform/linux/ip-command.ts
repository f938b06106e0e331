/**
 * Runs iproute2's `ip`: batches on stdin (`ip -batch -`), queries with
 * argv. The batch script may contain ESP keys, so it only ever goes to the
 * child's stdin and is never quoted in an error, a log or a report: each
 * line carries a secret-free `label` that is used instead.
 *
 * iproute2 6.1 behaviour this relies on (checked on the host and in the lab):
 * - `-batch -` stops at the first failing line unless `-force` is given;
 *   then it prints "Command failed -:N" after each failing line's message.
 * - `ip xfrm` commands call exit(2) on a kernel error even under `-force`,
 *   so a batch of xfrm lines ends at the first failure: callers delete only
 *   what exists, or fall back to one command per object.
 * - Global options (-4/-6) cannot appear inside a batch line: an IPv6
 *   `rule` needs its own `ip -6 -batch -` run (`rule` takes its family
 *   only from -6; even `from ::/0` yields an IPv4 rule). `address`,
 *   `route` (add and get) infer the family from their prefix, so one run
 *   without -4/-6 carries both families.
 * - `ip -j -batch -` prints one compact JSON document per query line.
 */
import { PlatformError } from '../errors.js';
import type { CommandRunner } from './command-runner.js';

export interface BatchLine {
  /** the command without the leading "ip", e.g. "route add 10.0.0.0/8 dev eth0 table 21332" */
  readonly text: string;
  /** secret-free description for errors and logs, e.g. "SA in spi 0xc0ffee01" */
  readonly label: string;
}

export interface LineFailure {
  /** 1-based line number in the batch, when iproute2 said which */
  readonly line?: number;
  readonly label?: string;
  /** the kernel's/iproute2's message, redacted */
  readonly message: string;
}

export interface BatchOutcome {
  readonly exitCode: number;
  readonly failures: readonly LineFailure[];
}

export interface IpCommandOptions {
  readonly runner: CommandRunner;
  /** default "ip" (resolved through PATH) */
  readonly ipPath?: string;
  /** run every command in this network namespace (`ip -n <netns>`): tests and the lab */
  readonly netns?: string;
  readonly timeoutMs?: number;
}

export type Family = 4 | 6;

/** Messages meaning "the object is not there", for idempotent deletes. */
const GONE_PATTERNS = [
  /No such process/i, // ESRCH: routes, XFRM states
  /No such file or directory/i, // ENOENT: XFRM policies, rules
  /Cannot assign requested address/i, // EADDRNOTAVAIL: address del
  /Cannot find device/i, // the interface itself is gone (and its addresses with it)
  /does not exist/i,
];

export const meansGone = (message: string): boolean => GONE_PATTERNS.some((p) => p.test(message));

/**
 * Makes iproute2 output safe to log: drops quoted arguments (iproute2 quotes
 * the offending argument, which could be key hex) and long hex runs.
 */
export function redact(text: string): string {
  return text
    .replace(/"[^"\n]*"/g, '"…"')
    .replace(/\b(?:0x)?[0-9a-fA-F]{16,}\b/g, '<hex>')
    .replace(/\s+/g, ' ')
    .trim()
    .slice(0, 400);
}

/** Splits `ip -batch` stderr into per-line failures ("msg… \n Command failed -:N"). */
export function parseBatchErrors(stderr: string, lines: readonly BatchLine[]): LineFailure[] {
  const failures: LineFailure[] = [];
  let pending: string[] = [];
  for (const raw of stderr.split('\n')) {
    const m = /^Command failed -:(\d+)\s*$/.exec(raw.trim());
    if (m) {
      const line = Number(m[1]);
      const label = lines[line - 1]?.label;
      failures.push({ line, ...(label !== undefined ? { label } : {}), message: redact(pending.join(' ')) || 'failed' });
      pending = [];
    } else if (raw.trim() !== '') {
      pending.push(raw);
    }
  }
  // xfrm commands exit(2) without the "Command failed" trailer
  if (pending.length > 0) failures.push({ message: redact(pending.join(' ')) });
  return failures;
}

export class IpCommand {
  private readonly runner: CommandRunner;
  private readonly ipPath: string;
  private readonly netns: string | undefined;
  private readonly timeoutMs: number | undefined;

  constructor(opts: IpCommandOptions) {
    this.runner = opts.runner;
    this.ipPath = opts.ipPath ?? 'ip';
    this.netns = opts.netns;
    this.timeoutMs = opts.timeoutMs;
  }

  private globalArgs(family?: Family): string[] {
    return [...(this.netns !== undefined ? ['-n', this.netns] : []), ...(family ? [`-${family}`] : [])];
  }

  /** `ip [-n ns] [-4|-6] [-force] -batch -` with the lines on stdin. */
  async batch(lines: readonly BatchLine[], opts: { family?: Family; force?: boolean } = {}): Promise<BatchOutcome> {
    if (lines.length === 0) return { exitCode: 0, failures: [] };
    for (const l of lines) {
      // One command per line; a newline inside would smuggle a second command in.
      if (/[\n\r]/.test(l.text)) throw new PlatformError('invalid-spec', 'ip-batch', `line "${l.label}" contains a line break`);
    }
    const r = await this.runner({
      file: this.ipPath,
      args: [...this.globalArgs(opts.family), ...(opts.force ? ['-force'] : []), '-batch', '-'],
      input: lines.map((l) => l.text).join('\n') + '\n',
      ...(this.timeoutMs !== undefined ? { timeoutMs: this.timeoutMs } : {}),
    });
    return { exitCode: r.exitCode, failures: r.exitCode === 0 ? [] : parseBatchErrors(r.stderr, lines) };
  }

  /** Like `batch`, but throws a secret-free PlatformError when any line failed. */
  async batchOrThrow(operation: string, lines: readonly BatchLine[], opts: { family?: Family; force?: boolean } = {}): Promise<void> {
    const r = await this.batch(lines, opts);
    if (r.exitCode === 0) return;
    const first = r.failures[0];
    const where = first?.label ? ` at "${first.label}"` : '';
    const msg = r.failures.map((f) => f.message).join('; ') || `ip exited with ${r.exitCode}`;
    // EEXIST: the same selector/SPI/route is there already — another IPsec daemon's, or Strait's from a crashed run
    const reason = /File exists/i.test(msg) ? 'conflict' : 'command-failed';
    const hint = reason === 'conflict' ? ' (an object with the same identity exists: another IPsec daemon, or stale state that sweepStale removes)' : '';
    throw new PlatformError(reason, operation, `ip -batch failed${where}: ${msg}${hint}`, {
      exitCode: r.exitCode,
      kernelMessage: msg,
      ...(first?.label ? { failedAt: first.label } : {}),
    });
  }

  /**
   * Runs several read-only JSON queries in one `ip -j -batch -` process
   * (each process start is the slow part on a loaded or emulated machine)
   * and returns each command's output, in order. iproute2 prints one
   * compact JSON document per line and per command; the batch stops at the
   * first failing command. The commands hold no secrets, so they may be
   * quoted in errors.
   */
  async queryBatch(operation: string, commands: readonly string[]): Promise<string[]> {
    for (const c of commands) {
      if (/[\n\r]/.test(c)) throw new PlatformError('invalid-spec', operation, 'a query contains a line break');
    }
    if (commands.length === 0) return [];
    const r = await this.runner({
      file: this.ipPath,
      args: [...this.globalArgs(), '-j', '-batch', '-'],
      input: commands.join('\n') + '\n',
      ...(this.timeoutMs !== undefined ? { timeoutMs: this.timeoutMs } : {}),
    });
    if (r.exitCode !== 0) {
      const failures = parseBatchErrors(r.stderr, commands.map((c) => ({ text: c, label: c })));
      const first = failures[0];
      const msg = failures.map((f) => f.message).join('; ') || `exit ${r.exitCode}`;
      throw new PlatformError('command-failed', operation, `ip ${first?.label ?? commands.join('; ')} failed: ${msg}`, { exitCode: r.exitCode, kernelMessage: msg });
    }
    const out = r.stdout.split('\n').filter((l) => l.trim() !== '');
    if (out.length !== commands.length) {
      throw new PlatformError('command-failed', operation, `ip -j -batch printed ${out.length} results for ${commands.length} queries`);
    }
    return out;
  }

  /** Runs a query (`ip -j route get …`) and returns stdout; the argv never holds secrets. */
  async query(operation: string, args: readonly string[], family?: Family): Promise<string> {
    const r = await this.runner({
      file: this.ipPath,
      args: [...this.globalArgs(family), ...args],
      ...(this.timeoutMs !== undefined ? { timeoutMs: this.timeoutMs } : {}),
    });
    if (r.exitCode !== 0) {
      const msg = redact(r.stderr) || `exit ${r.exitCode}`;
      throw new PlatformError('command-failed', operation, `ip ${args.slice(0, 3).join(' ')} failed: ${msg}`, { exitCode: r.exitCode, kernelMessage: msg });
    }
    return r.stdout;
  }
}
