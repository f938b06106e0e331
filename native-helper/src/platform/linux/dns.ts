/**
 * DNS for the tunnel (RFC 7296 §3.15.1 INTERNAL_IP4/6_DNS, RFC 8598
 * INTERNAL_DNS_DOMAIN), applied one of two ways:
 *
 * - systemd-resolved (when `resolvectl` exists and resolved runs): per-link
 *   DNS on the interface that carries the virtual IP, `~domain` routing
 *   domains for split DNS, `~.` plus default-route for a full tunnel. The
 *   link's previous settings are read first and put back on restore.
 *   (Strait has no tunnel interface of its own with policy-based XFRM, so
 *   the VIP's link is the one that can hold them, as with charon's VIP.)
 * - otherwise a rewritten resolv.conf (path injectable: tests and the lab
 *   use a temporary file, never the real one). The original — a file, a
 *   symlink (resolvconf, resolved's stub) or nothing — is saved first in
 *   the *persistent* state directory (default /var/lib/strait/state), because
 *   /etc/resolv.conf outlives a reboot while /run does not. On restore, the
 *   original comes back only if the file still holds what Strait wrote;
 *   if another program (a DHCP client) replaced it since, that newer file
 *   stays and the backup is dropped.
 *
 * Everything here comes from the gateway and is untrusted: servers must be
 * IP addresses and domains plain DNS names, or they are dropped, so nothing
 * can inject a line into resolv.conf or an option into resolvectl's argv.
 */
import { createHash } from 'node:crypto';
import { closeSync, fchmodSync, fsyncSync, lstatSync, mkdirSync, openSync, readFileSync, readlinkSync, renameSync, writeSync } from 'node:fs';
import { readFile, symlink, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { isIP } from 'node:net';

import * as v from 'valibot';

import { PlatformError } from '../errors.js';
import type { CommandRunner } from './command-runner.js';
import { redact } from './ip-command.js';
import type { FileDnsItem, ResolvedDnsItem } from './items.js';

export interface DnsRequest {
  /** the interface that carries the virtual IP */
  readonly iface: string;
  readonly servers: readonly string[];
  readonly searchDomains: readonly string[];
  /** split DNS: names under these go to `servers` */
  readonly matchDomains: readonly string[];
  /** full tunnel: every query goes to `servers` */
  readonly routeAll: boolean;
}

/** glibc reads at most three nameserver lines (MAXNS). */
const MAXNS = 3;

const DOMAIN_RE = /^(?=.{1,253}$)(?!-)[A-Za-z0-9_-]{1,63}(?<!-)(?:\.(?!-)[A-Za-z0-9_-]{1,63}(?<!-))*\.?$/;

export const isDnsName = (s: string): boolean => DOMAIN_RE.test(s);
export const isServer = (s: string): boolean => isIP(s) !== 0;

/** Drops anything that is not an IP address / DNS name; returns what was dropped for the log. */
export function sanitizeDns(req: DnsRequest): { req: DnsRequest; dropped: string[] } {
  const dropped: string[] = [];
  const keep = (list: readonly string[], ok: (s: string) => boolean): string[] =>
    [...new Set(list)].filter((s) => {
      if (ok(s)) return true;
      dropped.push(s.slice(0, 64).replace(/[^\x20-\x7e]/g, '?'));
      return false;
    });
  return {
    req: {
      ...req,
      servers: keep(req.servers, isServer),
      searchDomains: keep(req.searchDomains, isDnsName),
      matchDomains: keep(req.matchDomains, isDnsName),
    },
    dropped,
  };
}

// ---------------------------------------------------------------- systemd-resolved

export class ResolvedDns {
  constructor(
    private readonly runner: CommandRunner,
    private readonly resolvectl = 'resolvectl',
  ) {}

  private async run(args: readonly string[], operation: string): Promise<string> {
    const r = await this.runner({ file: this.resolvectl, args });
    if (r.exitCode !== 0) {
      throw new PlatformError('command-failed', operation, `resolvectl ${args[0] ?? ''} failed: ${redact(r.stderr) || `exit ${r.exitCode}`}`, { exitCode: r.exitCode });
    }
    return r.stdout;
  }

  /** "Link 2 (eth0): a b c" → ["a","b","c"] */
  private static values(out: string): string[] {
    const line = out.split('\n').find((l) => l.includes('):')) ?? '';
    return line.slice(line.indexOf('):') + 2).trim().split(/\s+/).filter(Boolean);
  }

  async snapshot(iface: string): Promise<ResolvedDnsItem> {
    const servers = ResolvedDns.values(await this.run(['dns', iface], 'dns/snapshot'));
    const domains = ResolvedDns.values(await this.run(['domain', iface], 'dns/snapshot'));
    const dr = ResolvedDns.values(await this.run(['default-route', iface], 'dns/snapshot'))[0];
    return { kind: 'dns', method: 'resolved', iface, previous: { servers, domains, defaultRoute: dr === 'yes' ? true : dr === 'no' ? false : null } };
  }

  async apply(req: DnsRequest): Promise<void> {
    const domains = [...(req.routeAll ? ['~.'] : []), ...req.matchDomains.map((d) => `~${d}`), ...req.searchDomains];
    await this.run(['dns', req.iface, ...req.servers], 'dns/apply');
    await this.run(['domain', req.iface, ...(domains.length > 0 ? domains : [''])], 'dns/apply');
    if (req.routeAll) await this.run(['default-route', req.iface, 'yes'], 'dns/apply');
  }

  async restore(item: ResolvedDnsItem): Promise<void> {
    const p = item.previous;
    if (p.servers.length === 0 && p.domains.length === 0 && p.defaultRoute === null) {
      await this.run(['revert', item.iface], 'dns/restore');
      return;
    }
    await this.run(['dns', item.iface, ...(p.servers.length > 0 ? p.servers : [''])], 'dns/restore');
    await this.run(['domain', item.iface, ...(p.domains.length > 0 ? p.domains : [''])], 'dns/restore');
    if (p.defaultRoute !== null) await this.run(['default-route', item.iface, p.defaultRoute ? 'yes' : 'no'], 'dns/restore');
  }
}

// ---------------------------------------------------------------- resolv.conf

const OriginalSchema = v.variant('type', [
  v.object({ type: v.literal('file'), content: v.string(), mode: v.number() }),
  v.object({ type: v.literal('symlink'), target: v.string() }),
  v.object({ type: v.literal('absent') }),
]);
const BackupSchema = v.object({ version: v.literal(1), path: v.string(), original: OriginalSchema, writtenSha256: v.string() });
type Original = v.InferOutput<typeof OriginalSchema>;
type Backup = v.InferOutput<typeof BackupSchema>;

export type FileRestoreOutcome = 'restored' | 'kept-foreign-change' | 'nothing-to-restore';

const sha256 = (s: string): string => createHash('sha256').update(s).digest('hex');

const HEADER = '# Written by Strait (VPN) for the current connection; the previous file is restored on disconnect.';

/** The new resolv.conf: VPN servers first (only them for a full tunnel), then the original's. */
export function composeResolvConf(req: DnsRequest, original: string): string {
  const oldServers: string[] = [];
  const oldSearch: string[] = [];
  const keep: string[] = [];
  for (const line of original.split('\n')) {
    const w = line.trim().split(/\s+/);
    if (w[0] === 'nameserver' && w[1]) oldServers.push(w[1]);
    else if (w[0] === 'search' || w[0] === 'domain') oldSearch.push(...w.slice(1));
    else if (w[0] === 'options' || w[0] === 'sortlist') keep.push(line.trim());
  }
  // A full tunnel must not send queries to the old servers outside it.
  const servers = [...new Set([...req.servers, ...(req.routeAll ? [] : oldServers)])].slice(0, MAXNS);
  const search = [...new Set([...req.searchDomains, ...req.matchDomains, ...oldSearch])];
  const lines = [HEADER, ...servers.map((s) => `nameserver ${s}`)];
  if (search.length > 0) lines.push(`search ${search.join(' ')}`);
  lines.push(...keep);
  return lines.join('\n') + '\n';
}

// The file operations below are synchronous on purpose: they run on the
// connect path, each is one short system call on a small file, and the
// promise API would make every one of them a hop through libuv's thread
// pool (milliseconds each on a loaded or emulated machine).

function fsyncDir(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Replaces `path` atomically (write a sibling, fsync, rename): readers see old or new, never half. */
async function writeAtomic(path: string, content: string, mode: number): Promise<void> {
  const tmp = join(dirname(path), `.${basename(path)}.strait-${process.pid}.tmp`);
  const fd = openSync(tmp, 'w', mode);
  try {
    writeSync(fd, content);
    fchmodSync(fd, mode);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
  fsyncDir(dirname(path));
  await Promise.resolve();
}

export class ResolvConfDns {
  readonly backupFile: string;

  constructor(
    readonly path: string,
    readonly backupDir: string,
  ) {
    this.backupFile = join(backupDir, `resolv-conf-backup-${sha256(path).slice(0, 12)}.json`);
  }

  private async readOriginal(): Promise<Original> {
    await Promise.resolve();
    try {
      const st = lstatSync(this.path);
      if (st.isSymbolicLink()) return { type: 'symlink', target: readlinkSync(this.path) };
      return { type: 'file', content: readFileSync(this.path, 'utf8'), mode: st.mode & 0o777 };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { type: 'absent' };
      throw ioError('read', this.path, e);
    }
  }

  async readBackup(): Promise<Backup | undefined> {
    await Promise.resolve();
    let text: string;
    try {
      text = readFileSync(this.backupFile, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw ioError('read', this.backupFile, e);
    }
    let raw: unknown;
    try {
      raw = JSON.parse(text);
    } catch {
      throw new PlatformError('io', 'dns', `${this.backupFile} is not valid JSON; left in place for inspection`);
    }
    const r = v.safeParse(BackupSchema, raw);
    if (!r.success) throw new PlatformError('io', 'dns', `${this.backupFile} has an unknown format; left in place for inspection`);
    return r.output;
  }

  /**
   * Saves the original (unless a backup from an unfinished earlier run
   * exists: that one holds the true original) and returns the journal item.
   * Nothing is changed yet.
   */
  async prepare(req: DnsRequest): Promise<{ item: FileDnsItem; content: string }> {
    const existing = await this.readBackup();
    const original = existing?.original ?? (await this.readOriginal());
    let base = '';
    if (original.type === 'file') base = original.content;
    else if (original.type === 'symlink') base = await readFile(this.path, 'utf8').catch(() => '');
    const content = composeResolvConf(req, base);
    const backup: Backup = { version: 1, path: this.path, original, writtenSha256: sha256(content) };
    try {
      mkdirSync(this.backupDir, { recursive: true, mode: 0o700 });
      await writeAtomic(this.backupFile, JSON.stringify(backup), 0o600);
    } catch (e) {
      throw ioError('write', this.backupFile, e);
    }
    return { item: { kind: 'dns', method: 'file', path: this.path, backupFile: this.backupFile }, content };
  }

  async write(content: string): Promise<void> {
    try {
      await writeAtomic(this.path, content, 0o644);
    } catch (e) {
      throw ioError('write', this.path, e);
    }
  }

  /** Puts the original back (see the module comment for when it does not). Idempotent. */
  async restore(): Promise<FileRestoreOutcome> {
    const backup = await this.readBackup();
    if (!backup) return 'nothing-to-restore';
    const current = await this.readOriginal();
    let outcome: FileRestoreOutcome;
    if (current.type === 'file' && sha256(current.content) === backup.writtenSha256) {
      try {
        await this.putBack(backup.original);
      } catch (e) {
        throw ioError('restore', this.path, e);
      }
      outcome = 'restored';
    } else if (sameOriginal(current, backup.original)) {
      // the process died between saving the backup and writing the file
      outcome = 'nothing-to-restore';
    } else {
      outcome = 'kept-foreign-change';
    }
    try {
      await unlink(this.backupFile);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw ioError('remove', this.backupFile, e);
    }
    return outcome;
  }

  private async putBack(original: Original): Promise<void> {
    switch (original.type) {
      case 'file':
        await writeAtomic(this.path, original.content, original.mode);
        return;
      case 'symlink': {
        const tmp = join(dirname(this.path), `.${basename(this.path)}.strait-${process.pid}.link`);
        await unlink(tmp).catch(() => undefined);
        await symlink(original.target, tmp);
        renameSync(tmp, this.path);
        fsyncDir(dirname(this.path));
        return;
      }
      case 'absent':
        await unlink(this.path).catch((e: NodeJS.ErrnoException) => {
          if (e.code !== 'ENOENT') throw e;
        });
        return;
    }
  }
}

function sameOriginal(a: Original, b: Original): boolean {
  if (a.type === 'file' && b.type === 'file') return a.content === b.content;
  if (a.type === 'symlink' && b.type === 'symlink') return a.target === b.target;
  return a.type === 'absent' && b.type === 'absent';
}

function ioError(what: string, file: string, e: unknown): PlatformError {
  return new PlatformError('io', 'dns', `cannot ${what} ${file}: ${(e as NodeJS.ErrnoException).code ?? 'unknown error'}`);
}
