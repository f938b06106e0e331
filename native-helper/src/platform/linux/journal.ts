/**
 * The crash-safe record of what the Linux backend added: an append-only
 * JSON-lines file, written *before* each change (intent), completed after
 * it (done), and closed when the object is gone (removed).
 * After `kill -9` the next process reads the intents that were never
 * removed and undoes exactly those (an intent without "done" may or may not
 * have reached the kernel; removal is idempotent, so both cases are fine).
 *
 * Where it lives: the runtime directory (default /run/strait/state). /run is
 * emptied at boot, and so is everything this journal describes (XFRM
 * states and policies, routes, rules, addresses, systemd-resolved link
 * settings), so a journal that survived a reboot would describe nothing.
 * The one change that survives a reboot, a rewritten /etc/resolv.conf, keeps
 * its backup in the persistent directory instead (see dns.ts).
 *
 * Why a write() and no fsync: the failure this journal is for is the
 * process dying (kill -9, a crash), and what write() put in the page cache
 * outlives the process. The failures an fsync guards against (a kernel
 * panic, power loss) empty /run and the kernel's tables alike, so a synced
 * intent would protect nothing — and on the connect path it cost a flush
 * per change. One descriptor (O_APPEND) stays open between appends: one
 * system call per append instead of four.
 *
 * The journal holds no secrets: SAs are recorded by addresses and SPI.
 * A torn last line (crash mid-write) or a malformed record is skipped and
 * counted; the marker sweep still finds such objects.
 */
import { randomBytes } from 'node:crypto';
import { closeSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { readFile, unlink } from 'node:fs/promises';
import { join } from 'node:path';

import * as v from 'valibot';

import { PlatformError } from '../errors.js';
import type { PlatformItem } from './items.js';

const family = v.picklist([4, 6]);
const str = v.pipe(v.string(), v.maxLength(256));
const u32 = v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(0xffff_ffff));
const port = v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(65535));

const ItemSchema = v.variant('kind', [
  v.object({ kind: v.literal('sa'), dir: v.picklist(['in', 'out']), src: str, dst: str, spi: u32, reqid: u32 }),
  v.object({
    kind: v.literal('policy'),
    dir: v.picklist(['in', 'out', 'fwd']),
    sel: v.object({ src: str, dst: str, proto: v.optional(v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(255))), sport: v.optional(port), dport: v.optional(port) }),
    priority: u32,
    tmpl: v.optional(v.object({ src: str, dst: str, reqid: u32 })),
  }),
  v.object({
    kind: v.literal('route'),
    family,
    type: v.picklist(['unicast', 'throw']),
    dst: str,
    table: u32,
    proto: u32,
    via: v.optional(str),
    dev: v.optional(str),
    src: v.optional(str),
    mtu: v.optional(u32),
  }),
  v.object({ kind: v.literal('rule'), family, pref: u32, table: u32 }),
  v.object({ kind: v.literal('address'), family, cidr: str, dev: str }),
  v.variant('method', [
    v.object({
      kind: v.literal('dns'),
      method: v.literal('resolved'),
      iface: str,
      previous: v.object({ servers: v.array(str), domains: v.array(str), defaultRoute: v.nullable(v.boolean()) }),
    }),
    v.object({ kind: v.literal('dns'), method: v.literal('file'), path: str, backupFile: str }),
  ]),
]);

// The schema must describe exactly the PlatformItem union.
type SchemaItem = v.InferOutput<typeof ItemSchema>;
const _schemaMatchesItems: (x: SchemaItem) => PlatformItem = (x) => x;
void _schemaMatchesItems;

const RecordSchema = v.variant('op', [
  v.object({ op: v.literal('intent'), id: str, at: v.number(), item: ItemSchema }),
  v.object({ op: v.literal('done'), id: str }),
  v.object({ op: v.literal('removed'), id: str }),
]);
/** What is written; `RecordSchema` reads it back. */
type JournalRecord =
  | { readonly op: 'intent'; readonly id: string; readonly at: number; readonly item: PlatformItem }
  | { readonly op: 'done' | 'removed'; readonly id: string };

export interface JournalEntry {
  readonly id: string;
  readonly item: PlatformItem;
  /** the change was confirmed (false: the process died or failed between intent and done) */
  readonly done: boolean;
}

export interface JournalContents {
  /** intents not yet removed, in the order they were written */
  readonly outstanding: readonly JournalEntry[];
  /** lines that could not be parsed (a torn write) */
  readonly skippedLines: number;
}

export class Journal {
  readonly file: string;
  /** distinguishes this process's entries from a crashed predecessor's */
  private readonly instance = randomBytes(4).toString('hex');
  private seq = 0;
  /** the open journal file (O_APPEND); undefined until the first append and after compact() or a failed write */
  private fd: number | undefined;

  constructor(
    readonly dir: string,
    private readonly now: () => number = Date.now,
    fileName = 'journal.jsonl',
  ) {
    this.file = join(dir, fileName);
  }

  /** Records intents and returns their ids; call before changing anything. */
  async intend(items: readonly PlatformItem[]): Promise<JournalEntry[]> {
    const entries = items.map((item) => ({ id: `${this.instance}-${++this.seq}`, item, done: false }));
    const at = this.now();
    await this.append(entries.map((e): JournalRecord => ({ op: 'intent', id: e.id, at, item: e.item })));
    return entries;
  }

  async done(ids: readonly string[]): Promise<void> {
    await this.append(ids.map((id): JournalRecord => ({ op: 'done', id })));
  }

  async removed(ids: readonly string[]): Promise<void> {
    await this.append(ids.map((id): JournalRecord => ({ op: 'removed', id })));
  }

  async load(): Promise<JournalContents> {
    let text: string;
    try {
      text = await readFile(this.file, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { outstanding: [], skippedLines: 0 };
      throw ioError('read', this.file, e);
    }
    const intents = new Map<string, { item: PlatformItem; done: boolean }>();
    let skippedLines = 0;
    for (const line of text.split('\n')) {
      if (line.trim() === '') continue;
      let raw: unknown;
      try {
        raw = JSON.parse(line);
      } catch {
        skippedLines++;
        continue;
      }
      const r = v.safeParse(RecordSchema, raw);
      if (!r.success) {
        skippedLines++;
        continue;
      }
      const rec = r.output;
      if (rec.op === 'intent') intents.set(rec.id, { item: rec.item, done: false });
      else if (rec.op === 'done') {
        const e = intents.get(rec.id);
        if (e) e.done = true;
      } else intents.delete(rec.id);
    }
    return { outstanding: [...intents].map(([id, e]) => ({ id, item: e.item, done: e.done })), skippedLines };
  }

  /** Deletes the file when nothing in it is outstanding (keeps the journal from growing forever). */
  async compact(): Promise<void> {
    const { outstanding } = await this.load();
    if (outstanding.length > 0) return;
    this.close(); // appends after this must create a new file, not write into the unlinked one
    try {
      await unlink(this.file);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw ioError('remove', this.file, e);
    }
  }

  /**
   * Appends synchronously: a few hundred octets to a tmpfs (/run) are
   * microseconds of system calls, while promise-based calls are hops through
   * libuv's thread pool, which on a loaded or emulated machine cost
   * milliseconds each — on the connect path, twice per change. A single
   * write() of the whole batch: a record is either all there or torn at the
   * end (load() skips a torn line).
   */
  private async append(records: readonly JournalRecord[]): Promise<void> {
    if (records.length === 0) return;
    const text = records.map((r) => JSON.stringify(r)).join('\n') + '\n';
    try {
      if (this.fd === undefined) {
        mkdirSync(this.dir, { recursive: true, mode: 0o700 });
        this.fd = openSync(this.file, 'a', 0o600);
      }
      const data = Buffer.from(text, 'utf8');
      let offset = 0;
      while (offset < data.length) offset += writeSync(this.fd, data, offset, data.length - offset);
    } catch (e) {
      this.close(); // the next append reopens (the directory or file may be what went missing)
      throw ioError('write', this.file, e);
    }
    await Promise.resolve();
  }

  /** Closes the descriptor; the next append reopens the file (appending to what is there). */
  close(): void {
    if (this.fd === undefined) return;
    const fd = this.fd;
    this.fd = undefined;
    try {
      closeSync(fd);
    } catch {
      // EBADF/EIO on close: nothing to keep; the records were written (or the write threw)
    }
  }
}

function ioError(what: string, file: string, e: unknown): PlatformError {
  const code = (e as NodeJS.ErrnoException).code ?? 'unknown error';
  return new PlatformError('io', 'journal', `cannot ${what} ${file}: ${code}`);
}
