/**
 * straitd's structured log (DESIGN.md "Logs"): JSON lines, one record per
 * line, `LogRecord` of api/rpc.ts.
 *
 * - An in-memory ring (default 100 000 records) answers `logs` queries and
 *   feeds `strait.log` subscribers.
 * - An on-disk file `<dir>/straitd.log` with size-based rotation
 *   (straitd.log.1 … .N, oldest dropped), so the disk use is bounded by
 *   maxBytes × (files + 1). Lines are written in batches after the current
 *   tick (never a synchronous disk write in the IKE path: measured in the lab,
 *   ~1 ms per record on UML's hostfs); `flush()`/`close()` wait for them.
 * - A redaction guard sits in front of both: secrets registered with
 *   `redact.add()` (the PSK, EAP password and private key of a connect
 *   request, and their hex/base64 forms) are replaced wherever they appear in
 *   a message or a field, fields whose names say "secret" are blanked, and any
 *   PEM private key block is cut out. What reaches the ring or the disk has
 *   passed through it.
 */
import { closeSync, existsSync, fstatSync, mkdirSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';

import { logLevelRank, type LogFieldValue, type LogLevel, type LogRecord, type LogsQuery, type Stage } from '../api/rpc.js';

export interface LogInput {
  readonly level: LogLevel;
  readonly session?: string | null;
  readonly component: string;
  readonly event: string;
  readonly stage?: Stage;
  readonly message: string;
  readonly fields?: Readonly<Record<string, unknown>>;
}

export interface LogStoreOptions {
  /** directory of straitd.log; absent: memory only */
  readonly dir?: string;
  /** records kept in memory (default 100 000) */
  readonly capacity?: number;
  /** rotate when the file would exceed this (default 5 MiB) */
  readonly maxFileBytes?: number;
  /** rotated files kept (default 5) */
  readonly maxFiles?: number;
  /** lowest level written to disk (the ring keeps everything) */
  readonly fileLevel?: LogLevel;
  readonly clock?: () => number;
}

export const REDACTED = '[redacted]';
const MAX_MESSAGE = 8192;
const MAX_FIELD_STRING = 2048;
const MAX_FIELDS = 64;
/** Field names that can only hold a secret; their values are never kept. */
const SECRET_FIELD = /^(?:psk|password|passphrase|secret|secrets|eappassword|privatekey|privatekeypem|enckey|integkey|key|keymat|skeyseed|nonce|sharedsecret)$/iu;
const PEM_PRIVATE_KEY_BLOCK = /-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----[\s\S]*?(?:-----END [A-Z0-9 ]*PRIVATE KEY-----|$)/gu;
/** Secrets shorter than this are not scanned for as substrings (they would blank ordinary words). */
const MIN_SCANNED_SECRET = 4;

/** Known secret values to scrub from every record; held in memory only while a connection needs them. */
export class Redactor {
  private readonly secrets = new Map<string, number>();
  /** the secrets' forms, longest first (so a secret containing another is removed whole); rebuilt on add/forget, not per string */
  private scan: readonly string[] = [];

  /** Registers a secret (and its hex/base64 encodings); returns a function that forgets it again. */
  add(secret: string | Uint8Array): () => void {
    const bytes = typeof secret === 'string' ? Buffer.from(secret, 'utf8') : Buffer.from(secret);
    const forms = new Set<string>();
    if (typeof secret === 'string') {
      forms.add(secret);
      // a PEM's base64 body lines are secrets too (a single line could be logged)
      for (const line of secret.split(/\r?\n/u)) if (line.length >= 16 && !line.startsWith('-----')) forms.add(line);
    }
    forms.add(bytes.toString('hex'));
    forms.add(bytes.toString('hex').toUpperCase());
    forms.add(bytes.toString('base64'));
    const kept = [...forms].filter((f) => f.length >= MIN_SCANNED_SECRET);
    for (const f of kept) this.secrets.set(f, (this.secrets.get(f) ?? 0) + 1);
    this.rebuild();
    let forgotten = false;
    return () => {
      if (forgotten) return;
      forgotten = true;
      for (const f of kept) {
        const n = (this.secrets.get(f) ?? 1) - 1;
        if (n <= 0) this.secrets.delete(f);
        else this.secrets.set(f, n);
      }
      this.rebuild();
    };
  }

  /**
   * Every log string passes through here (a connect logs a few hundred), so
   * the common case — no key block, no registered secret — costs two
   * substring searches and no allocation.
   */
  text(s: string): string {
    let out = s.includes('PRIVATE KEY-----') ? s.replace(PEM_PRIVATE_KEY_BLOCK, REDACTED) : s;
    for (const secret of this.scan) {
      if (out.includes(secret)) out = out.split(secret).join(REDACTED);
    }
    return out;
  }

  private rebuild(): void {
    this.scan = [...this.secrets.keys()].sort((a, b) => b.length - a.length);
  }

  fields(fields: Readonly<Record<string, unknown>> | undefined): Record<string, LogFieldValue> {
    const out: Record<string, LogFieldValue> = {};
    if (fields === undefined) return out;
    let n = 0;
    for (const [k, value] of Object.entries(fields)) {
      if (value === undefined) continue;
      if (n++ >= MAX_FIELDS) break;
      const key = this.text(k).slice(0, 128);
      if (SECRET_FIELD.test(k)) {
        out[key] = REDACTED;
        continue;
      }
      out[key] = this.value(value);
    }
    return out;
  }

  private value(value: unknown): LogFieldValue {
    if (value === null) return null;
    if (typeof value === 'number') return Number.isFinite(value) ? value : String(value);
    if (typeof value === 'boolean') return value;
    if (typeof value === 'string') return this.text(value).slice(0, MAX_FIELD_STRING);
    if (Array.isArray(value)) return value.slice(0, 256).map((x) => this.text(typeof x === 'string' ? x : JSON.stringify(x) ?? String(x)).slice(0, MAX_FIELD_STRING));
    // Uint8Array and objects: never logged raw (key material travels as bytes).
    if (value instanceof Uint8Array) return `<${value.length} octets>`;
    return this.text(JSON.stringify(value) ?? String(value)).slice(0, MAX_FIELD_STRING);
  }
}

type Listener = (r: LogRecord) => void;

export class LogStore {
  readonly redact = new Redactor();
  private readonly ring: (LogRecord | undefined)[];
  private head = 0;
  private size = 0;
  private seq = 0;
  private readonly listeners = new Set<Listener>();
  private fd: number | undefined;
  private fileBytes = 0;
  /** lines waiting for the next batch write */
  private pending: Buffer[] = [];
  private flushScheduled = false;
  /** the batch writes, one after another */
  private writing: Promise<void> = Promise.resolve();
  private readonly capacity: number;
  private readonly maxFileBytes: number;
  private readonly maxFiles: number;
  private readonly fileLevel: LogLevel;
  private readonly clock: () => number;
  private fileError: string | undefined;
  /** the timestamp of the current synchronous run of appends (timestamp()) */
  private turnStamp: string | undefined;

  constructor(private readonly opts: LogStoreOptions = {}) {
    this.capacity = opts.capacity ?? 100_000;
    this.maxFileBytes = opts.maxFileBytes ?? 5 * 1024 * 1024;
    this.maxFiles = opts.maxFiles ?? 5;
    this.fileLevel = opts.fileLevel ?? 'debug';
    this.clock = opts.clock ?? Date.now;
    this.ring = new Array<LogRecord | undefined>(this.capacity);
    if (opts.dir !== undefined) this.openFile();
  }

  get path(): string | undefined {
    return this.opts.dir === undefined ? undefined : join(this.opts.dir, 'straitd.log');
  }

  /** Redacts, stamps, stores and publishes one record. Never throws. */
  append(input: LogInput): LogRecord {
    const record: LogRecord = {
      seq: ++this.seq,
      ts: this.timestamp(),
      level: input.level,
      session: input.session ?? null,
      component: this.redact.text(input.component).slice(0, 32),
      event: this.redact.text(input.event).slice(0, 128),
      ...(input.stage !== undefined ? { stage: input.stage } : {}),
      message: this.redact.text(input.message).slice(0, MAX_MESSAGE),
      fields: this.redact.fields(input.fields),
    };
    this.ring[this.head] = record;
    this.head = (this.head + 1) % this.capacity;
    this.size = Math.min(this.size + 1, this.capacity);
    if (logLevelRank(record.level) >= logLevelRank(this.fileLevel)) this.write(record);
    for (const l of this.listeners) {
      try {
        l(record);
      } catch {
        // a broken subscriber must not break logging
      }
    }
    return record;
  }

  /**
   * One clock reading per synchronous run of appends: an IKE exchange logs a
   * dozen records in one go, and where reading the clock is a real system
   * call (User-Mode Linux has no vDSO: ~45 µs each) that adds up on the
   * connect's path. Records of one run share a timestamp; seq orders them.
   */
  private timestamp(): string {
    if (this.turnStamp === undefined) {
      this.turnStamp = new Date(this.clock()).toISOString();
      queueMicrotask(() => {
        this.turnStamp = undefined;
      });
    }
    return this.turnStamp;
  }

  subscribe(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Matching records, oldest first; the most recent `limit` when more match. */
  query(q: LogsQuery): { records: LogRecord[]; truncated: boolean } {
    const since = q.since === undefined ? undefined : typeof q.since === 'number' ? q.since : Date.parse(q.since);
    const minRank = q.level === undefined ? 0 : logLevelRank(q.level);
    const text = q.text?.toLowerCase();
    const limit = q.limit ?? 1000;
    const picked: LogRecord[] = [];
    let matched = 0;
    // newest → oldest so we can stop at `limit` and still know whether more matched
    for (let i = 0; i < this.size; i++) {
      const r = this.ring[(this.head - 1 - i + this.capacity) % this.capacity];
      if (r === undefined) continue;
      if (q.afterSeq !== undefined && r.seq <= q.afterSeq) break;
      if (since !== undefined && Date.parse(r.ts) < since) break;
      if (logLevelRank(r.level) < minRank) continue;
      if (q.session !== undefined && r.session !== q.session) continue;
      if (text !== undefined && !r.message.toLowerCase().includes(text) && !r.event.toLowerCase().includes(text)) continue;
      matched++;
      if (picked.length < limit) picked.push(r);
      else break;
    }
    return { records: picked.reverse(), truncated: matched > limit };
  }

  /** The last file error, if writing to disk failed (the ring keeps working). */
  get diskProblem(): string | undefined {
    return this.fileError;
  }

  /** Resolves when every record appended so far is on disk (written, not fsync'ed). */
  flush(): Promise<void> {
    this.schedule(true);
    return this.writing;
  }

  async close(): Promise<void> {
    await this.flush();
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
    this.listeners.clear();
  }

  // ------------------------------------------------------------ file

  private openFile(): void {
    const path = this.path;
    if (path === undefined) return;
    try {
      mkdirSync(this.opts.dir as string, { recursive: true, mode: 0o750 });
      // 0640: the log is secret-free but still private to root and the strait group's admins
      this.fd = openSync(path, 'a', 0o640);
      this.fileBytes = fstatSync(this.fd).size;
      this.fileError = undefined;
    } catch (e) {
      this.fd = undefined;
      this.fileError = e instanceof Error ? e.message : String(e);
    }
  }

  private write(record: LogRecord): void {
    if (this.fd === undefined) return;
    this.pending.push(Buffer.from(`${JSON.stringify(record)}\n`, 'utf8'));
    this.schedule(false);
  }

  private schedule(now: boolean): void {
    if (now) {
      this.flushScheduled = false;
      this.writing = this.writing.then(() => this.writeBatch());
      return;
    }
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(() => {
      if (!this.flushScheduled) return;
      this.flushScheduled = false;
      this.writing = this.writing.then(() => this.writeBatch());
    });
  }

  /** Writes the pending lines, rotating between lines where the size bound says so. */
  private async writeBatch(): Promise<void> {
    const lines = this.pending;
    this.pending = [];
    let chunk: Buffer[] = [];
    let chunkBytes = 0;
    const put = async (): Promise<void> => {
      if (chunk.length === 0 || this.fd === undefined) return;
      const buf = chunk.length === 1 ? (chunk[0] as Buffer) : Buffer.concat(chunk);
      chunk = [];
      chunkBytes = 0;
      await writeAll(this.fd, buf);
      this.fileBytes += buf.length;
    };
    try {
      for (const line of lines) {
        if (this.fileBytes + chunkBytes > 0 && this.fileBytes + chunkBytes + line.length > this.maxFileBytes) {
          await put();
          this.rotate();
        }
        chunk.push(line);
        chunkBytes += line.length;
      }
      await put();
    } catch (e) {
      this.fileError = e instanceof Error ? e.message : String(e);
    }
  }

  /** straitd.log → .1 → .2 … → .maxFiles (dropped). */
  private rotate(): void {
    const path = this.path as string;
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
    const oldest = `${path}.${this.maxFiles}`;
    if (existsSync(oldest)) rmSync(oldest, { force: true });
    for (let i = this.maxFiles - 1; i >= 1; i--) {
      const from = `${path}.${i}`;
      if (existsSync(from)) renameSync(from, `${path}.${i + 1}`);
    }
    if (this.maxFiles >= 1) renameSync(path, `${path}.1`);
    else rmSync(path, { force: true });
    this.openFile();
  }
}

/**
 * Synchronous, like the platform journal: a batch is a few KiB appended to a
 * local file (page cache, no fsync), which costs one system call; the
 * thread pool would cost a wake-up of a worker, its write, an eventfd
 * write and another turn of the event loop, each several system calls, and
 * a system call is ~45 µs in the UML lab.
 */
function writeAll(fd: number, buf: Buffer): Promise<void> {
  let offset = 0;
  while (offset < buf.length) offset += writeSync(fd, buf, offset, buf.length - offset);
  return Promise.resolve();
}
