/**
 * Crash-safe file replacement: a reader (or the next start after a power
 * cut) sees either the old file or the new one, never a torn mix.
 *
 *   write temp file in the same directory → fsync(temp) → rename(temp, target)
 *   → fsync(directory)
 *
 * rename(2) is atomic within one file system (POSIX), which is why the temp
 * file lives next to the target; the directory fsync makes the rename itself
 * durable. Temp files are named `.<target>.<random>.tmp` so listings skip
 * them and a crash leaves only ignorable debris (cleaned by removeStaleTemps).
 */
import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { open, readdir, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

export interface AtomicWriteOptions {
  /** File mode of the new file; default 0o600 (profiles are private to the user). */
  readonly mode?: number;
}

const TEMP_SUFFIX = '.tmp';

export const isTempFileName = (name: string): boolean => name.startsWith('.') && name.endsWith(TEMP_SUFFIX);

export async function writeFileAtomic(target: string, data: string | Uint8Array, options: AtomicWriteOptions = {}): Promise<void> {
  const dir = dirname(target);
  const temp = join(dir, `.${basename(target)}.${randomBytes(6).toString('hex')}${TEMP_SUFFIX}`);
  const mode = options.mode ?? 0o600;
  // O_EXCL: never follow or reuse something an attacker placed under our temp name.
  const handle = await open(temp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, mode);
  let renamed = false;
  try {
    await handle.writeFile(data);
    await handle.chmod(mode); // the umask may have narrowed the mode given to open()
    await handle.sync();
    await handle.close();
    await rename(temp, target);
    renamed = true;
    await fsyncDirectory(dir);
  } finally {
    if (!renamed) {
      await handle.close().catch(() => undefined);
      await rm(temp, { force: true });
    }
  }
}

/** Makes a rename or unlink in `dir` durable. */
export async function fsyncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, constants.O_RDONLY | constants.O_DIRECTORY);
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Removes temp files a crashed writer left behind (older than `olderThanMs`, so a concurrent writer's temp survives). */
export async function removeStaleTemps(dir: string, now: number, olderThanMs = 60_000): Promise<string[]> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const name of names.filter(isTempFileName)) {
    const path = join(dir, name);
    try {
      if (now - (await stat(path)).mtimeMs > olderThanMs) {
        await rm(path, { force: true });
        removed.push(name);
      }
    } catch {
      // raced with its writer's rename: fine
    }
  }
  return removed;
}
