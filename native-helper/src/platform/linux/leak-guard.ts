/**
 * The leak guard ("block traffic outside the tunnel"): installs, replaces and
 * removes the packet-filter policy of leak-guard-rules.ts, atomically, with
 * nftables when the kernel has nf_tables' inet family and legacy iptables
 * otherwise. See LEAK-GUARD.md for how the daemon uses it.
 *
 * Crash safety, like the rest of the platform (journal.ts): before the
 * filter changes, an intent record (variant and spec, no secrets) is written
 * and fsync'ed to `<runtimeDir>/leak-guard.json`; it is deleted once the
 * guard is removed. `sweep()` at daemon start removes whatever an earlier
 * process left (the file says what; the fixed table and chain names are the
 * marks that find it even without the file).
 *
 * Scripts go to `nft -f -` / `iptables-restore --noflush` on stdin (never
 * argv); they hold no secrets, but one code path for everything is simpler.
 */
import { mkdir, open, readFile, unlink } from 'node:fs/promises';
import { join } from 'node:path';

import { isPlatformError, PlatformError } from '../errors.js';
import type { PlatformLog } from '../backend.js';
import type { CommandResult, CommandRunner } from './command-runner.js';
import { spawnRunner } from './command-runner.js';
import type { IpFamily } from './cidr.js';
import type { IptablesPresence, LeakGuardSpec, NormalizedGuardSpec } from './leak-guard-rules.js';
import type { LocalNetwork } from './local-networks.js';
import { iptablesDisableScript, iptablesEnableScript, nftDisableScript, nftEnableScript, normalizeGuardSpec, parseIptablesSave, NFT_TABLE } from './leak-guard-rules.js';

export type { LeakGuardSpec } from './leak-guard-rules.js';
export type LeakGuardVariant = 'nft' | 'iptables';

export interface LeakGuardOptions {
  readonly runner?: CommandRunner;
  /** run the filter tools inside this network namespace (`ip netns exec`); default: our own */
  readonly netns?: string;
  /** where the intent record lives; default /run/strait/state (emptied at boot, like the rules) */
  readonly runtimeDir?: string;
  /** auto: nft when its inet family works here, else iptables-legacy */
  readonly variant?: 'auto' | LeakGuardVariant;
  readonly nftPath?: string;
  /** default iptables-legacy-restore / ip6tables-legacy-restore / …-save (the kernel's xtables, not iptables-nft) */
  readonly iptables?: { readonly restore4: string; readonly restore6: string; readonly save4: string; readonly save6: string };
  readonly ipPath?: string;
  readonly timeoutMs?: number;
  readonly log?: PlatformLog;
  readonly now?: () => number;
}

export interface LeakGuardState {
  readonly active: boolean;
  readonly variant?: LeakGuardVariant;
  readonly spec?: NormalizedGuardSpec;
}

export interface LeakGuardSweep {
  /** an earlier process's guard was found (by its intent record or by the table/chain names) and removed */
  readonly removed: boolean;
  readonly problems: readonly string[];
}

const STATE_FILE = 'leak-guard.json';

/**
 * `nft -c` (check mode: the kernel validates the batch, then aborts it) of
 * the expressions the guard needs beyond plain matches. Answers per network
 * namespace ('' = our own) are kept for the process: the kernel does not
 * change, and under UML every nft call costs seconds of module requests.
 */
const NFT_PROBE = `table inet ${NFT_TABLE}_probe {
  chain o { type filter hook output priority filter; rt ipsec exists accept; meta l4proto esp accept; }
  chain i { type filter hook input priority filter; meta ipsec exists accept; }
}
`;
const nftUsable = new Map<string, Promise<boolean>>();
const DEFAULT_IPTABLES = {
  restore4: 'iptables-legacy-restore',
  restore6: 'ip6tables-legacy-restore',
  save4: 'iptables-legacy-save',
  save6: 'ip6tables-legacy-save',
} as const;

const NOTHING_PRESENT: IptablesPresence = { chains: new Set(), jumps: [] };

export class LeakGuard {
  private readonly runner: CommandRunner;
  private readonly stateFile: string;
  private readonly ipt: NonNullable<LeakGuardOptions['iptables']>;
  private chosen: LeakGuardVariant | undefined;
  private current: { variant: LeakGuardVariant; spec: NormalizedGuardSpec } | undefined;
  private tail: Promise<unknown> = Promise.resolve();
  /**
   * iptables families where this instance itself removed, or saw no trace
   * of, every chain and jump of ours (after a sweep or a disable). Only
   * Strait writes these chain names, so the next enable there can skip its
   * `iptables-save`: each tool start costs 100+ ms on a slow machine, and
   * enable is on the connect path. Cleared as soon as a guard goes in.
   */
  private readonly iptAbsent = new Set<IpFamily>();

  constructor(private readonly opts: LeakGuardOptions = {}) {
    this.runner = opts.runner ?? spawnRunner;
    this.stateFile = join(opts.runtimeDir ?? '/run/strait/state', STATE_FILE);
    this.ipt = opts.iptables ?? DEFAULT_IPTABLES;
    if (opts.variant !== undefined && opts.variant !== 'auto') this.chosen = opts.variant;
  }

  get state(): LeakGuardState {
    return this.current ? { active: true, variant: this.current.variant, spec: this.current.spec } : { active: false };
  }

  /**
   * Installs the guard, or replaces the active one atomically (e.g. a new gateway address after a reconnect).
   * `local`: the connected networks for `spec.allowLocalNetworks` (local-networks.ts).
   */
  enable(spec: LeakGuardSpec, local: readonly LocalNetwork[] = []): Promise<LeakGuardVariant> {
    return this.exclusive(async () => {
      const n = normalizeGuardSpec(spec, local);
      const variant = await this.variant(n);
      await this.writeIntent(variant, n);
      if (variant === 'nft') {
        await this.check('enable/nft', await this.tool(this.opts.nftPath ?? 'nft', ['-f', '-'], nftEnableScript(n)));
      } else {
        for (const family of [4, 6] as const) {
          const present = this.iptAbsent.has(family) ? NOTHING_PRESENT : parseIptablesSave(await this.iptablesSave(family));
          this.iptAbsent.delete(family);
          await this.check(`enable/iptables-v${family}`, await this.tool(this.restore(family), ['--noflush', '-w', '5'], iptablesEnableScript(n, family, present)));
        }
      }
      // A switch of variant (should not happen) must not leave the other one behind.
      if (this.current && this.current.variant !== variant) await this.removeVariant(this.current.variant);
      this.current = { variant, spec: n };
      this.emit('info', 'platform.leak_guard.enabled', `leak guard on (${variant}): only the tunnel, ${n.gateways.map((g) => g.address).join(', ')} (IKE/ESP)${n.lan.length > 0 ? `, LAN ${n.lan.map((l) => (l.iface === undefined ? l.cidr : `${l.cidr} on ${l.iface}`)).join(', ')}` : ''} and loopback pass`);
      return variant;
    });
  }

  /** Removes the guard; idempotent. */
  disable(): Promise<void> {
    return this.exclusive(async () => {
      const variant = this.current?.variant ?? this.chosen;
      if (variant !== undefined) await this.removeVariant(variant);
      this.current = undefined;
      await this.dropIntent();
      this.emit('info', 'platform.leak_guard.disabled', 'leak guard off');
    });
  }

  /** At daemon start: removes a guard an earlier process left (never throws). */
  sweep(): Promise<LeakGuardSweep> {
    return this.exclusive(async () => {
      const problems: string[] = [];
      let removed = false;
      const recorded = await this.readIntent().catch((e: unknown) => {
        problems.push(message(e));
        return undefined;
      });
      if (recorded !== undefined) removed = true;
      // The marks: a table and chains with fixed names, whatever the record says.
      try {
        const r = (await this.nftWorks()) ? await this.tool(this.opts.nftPath ?? 'nft', ['list', 'table', 'inet', NFT_TABLE]) : { exitCode: 1 };
        if (r.exitCode === 0) {
          await this.removeVariant('nft');
          removed = true;
        }
      } catch (e) {
        if (!(isPlatformError(e) && e.reason === 'spawn-failed')) problems.push(message(e));
      }
      for (const family of [4, 6] as const) {
        // iptables-save failing (tool missing, no ip_tables in this kernel) means no
        // iptables guard can exist here: nothing to sweep, not a problem.
        const saved = await this.iptablesSave(family).catch(() => undefined);
        if (saved === undefined) continue;
        try {
          const present = parseIptablesSave(saved);
          const script = iptablesDisableScript(present);
          if (script !== undefined) {
            await this.check(`sweep/iptables-v${family}`, await this.tool(this.restore(family), ['--noflush', '-w', '5'], script));
            removed = true;
          }
          this.iptAbsent.add(family);
        } catch (e) {
          if (!(isPlatformError(e) && e.reason === 'spawn-failed')) problems.push(message(e));
        }
      }
      if (problems.length === 0) await this.dropIntent().catch((e: unknown) => problems.push(message(e)));
      this.current = undefined;
      if (removed || problems.length > 0) {
        this.emit(problems.length > 0 ? 'error' : 'warn', 'platform.leak_guard.swept', removed ? 'removed the leak guard of an earlier run' : 'leak guard sweep had problems', { problems });
      }
      return { removed, problems };
    });
  }

  // ------------------------------------------------------------ internals

  private async variant(n: NormalizedGuardSpec): Promise<LeakGuardVariant> {
    if (this.chosen !== undefined) return this.chosen;
    // fails where the inet family (or `rt ipsec`, `meta ipsec`) is missing, or nft itself
    const nftWorks = (await this.nftWorks()) && (await this.tool(this.opts.nftPath ?? 'nft', ['-c', '-f', '-'], nftEnableScript(n)).then((r) => r.exitCode === 0, () => false));
    this.chosen = nftWorks ? 'nft' : 'iptables';
    this.emit('debug', 'platform.leak_guard.variant', `leak guard uses ${this.chosen}${nftWorks ? '' : ' (nftables inet family unavailable here)'}`);
    return this.chosen;
  }

  private nftWorks(): Promise<boolean> {
    const key = this.opts.netns ?? '';
    let known = nftUsable.get(key);
    if (known === undefined) {
      known = this.tool(this.opts.nftPath ?? 'nft', ['-c', '-f', '-'], NFT_PROBE).then(
        (r) => r.exitCode === 0,
        () => false,
      );
      nftUsable.set(key, known);
    }
    return known;
  }

  private async removeVariant(variant: LeakGuardVariant): Promise<void> {
    if (variant === 'nft') {
      await this.check('disable/nft', await this.tool(this.opts.nftPath ?? 'nft', ['-f', '-'], nftDisableScript()));
      return;
    }
    for (const family of [4, 6] as const) {
      const script = iptablesDisableScript(parseIptablesSave(await this.iptablesSave(family)));
      if (script !== undefined) await this.check(`disable/iptables-v${family}`, await this.tool(this.restore(family), ['--noflush', '-w', '5'], script));
      this.iptAbsent.add(family);
    }
  }

  private restore(family: IpFamily): string {
    return family === 4 ? this.ipt.restore4 : this.ipt.restore6;
  }

  private async iptablesSave(family: IpFamily): Promise<string> {
    const r = await this.tool(family === 4 ? this.ipt.save4 : this.ipt.save6, ['-t', 'filter']);
    await this.check(`iptables-save-v${family}`, r);
    return r.stdout;
  }

  private tool(file: string, args: readonly string[], input?: string): Promise<CommandResult> {
    const ns = this.opts.netns;
    return this.runner({
      file: ns === undefined ? file : (this.opts.ipPath ?? 'ip'),
      args: ns === undefined ? args : ['netns', 'exec', ns, file, ...args],
      ...(input !== undefined ? { input } : {}),
      ...(this.opts.timeoutMs !== undefined ? { timeoutMs: this.opts.timeoutMs } : {}),
    });
  }

  private check(operation: string, r: CommandResult): Promise<void> {
    if (r.exitCode === 0) return Promise.resolve();
    const why = r.stderr.trim().split('\n').slice(0, 3).join('; ').slice(0, 400);
    return Promise.reject(new PlatformError('command-failed', `leakGuard/${operation}`, why || `exit ${r.exitCode}`, { exitCode: r.exitCode }));
  }

  private async writeIntent(variant: LeakGuardVariant, spec: NormalizedGuardSpec): Promise<void> {
    try {
      await mkdir(join(this.stateFile, '..'), { recursive: true, mode: 0o700 });
      const fh = await open(this.stateFile, 'w', 0o600);
      try {
        await fh.writeFile(JSON.stringify({ variant, at: (this.opts.now ?? Date.now)(), spec }) + '\n');
        // on disk before the filter changes (crash safety)
        await fh.datasync();
      } finally {
        await fh.close();
      }
    } catch (e) {
      throw new PlatformError('io', 'leakGuard', `cannot write ${this.stateFile}: ${(e as NodeJS.ErrnoException).code ?? 'error'}`);
    }
  }

  private async readIntent(): Promise<{ variant: string } | undefined> {
    let text: string;
    try {
      text = await readFile(this.stateFile, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw new PlatformError('io', 'leakGuard', `cannot read ${this.stateFile}: ${(e as NodeJS.ErrnoException).code ?? 'error'}`);
    }
    try {
      const v: unknown = JSON.parse(text);
      const variant = typeof v === 'object' && v !== null ? (v as Record<string, unknown>)['variant'] : undefined;
      return { variant: typeof variant === 'string' ? variant : 'unknown' };
    } catch {
      // a torn write: the marks still find the rules
      return { variant: 'unknown' };
    }
  }

  private async dropIntent(): Promise<void> {
    try {
      await unlink(this.stateFile);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw new PlatformError('io', 'leakGuard', `cannot remove ${this.stateFile}: ${(e as NodeJS.ErrnoException).code ?? 'error'}`);
    }
  }

  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.tail.then(fn, fn);
    this.tail = run.catch(() => undefined);
    return run;
  }

  private emit(level: 'debug' | 'info' | 'warn' | 'error', event: string, msg: string, fields?: Readonly<Record<string, readonly string[]>>): void {
    try {
      this.opts.log?.({ level, event, message: msg, ...(fields ? { fields } : {}) });
    } catch {
      // a failing logger must not break the guard
    }
  }
}

function message(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
