/**
 * Rollback protection: the highest bundle serial imported per issuer. A
 * signed bundle stays validly signed forever, so without this an old bundle
 * (say, with a since-retired gateway or CA) could be replayed over a newer
 * one. The state file lives next to the store the bundle went into
 * (`<managedDir>/bundle-state.json`, or the user's Strait folder for a
 * per-user import) and is written atomically. A state file that cannot be
 * read stops imports instead of silently resetting the protection.
 */
import { mkdir, readFile } from 'node:fs/promises';
import { dirname } from 'node:path';

import * as v from 'valibot';

import { writeFileAtomic } from './atomic-file.js';

export const BUNDLE_STATE_FILE = 'bundle-state.json';

const StateSchema = v.object({
  version: v.literal(1),
  issuers: v.record(
    v.string(),
    v.object({ serial: v.pipe(v.number(), v.integer(), v.minValue(0)), importedAt: v.string(), signer: v.string() }),
  ),
});
export type BundleState = v.InferOutput<typeof StateSchema>;

export class BundleStateError extends Error {
  override readonly name = 'BundleStateError';
}

const errnoCode = (error: unknown): string | undefined =>
  error !== null && typeof error === 'object' && 'code' in error && typeof error.code === 'string' ? error.code : undefined;

export async function readBundleState(path: string): Promise<BundleState> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if (errnoCode(error) === 'ENOENT') return { version: 1, issuers: {} };
    throw new BundleStateError(`cannot read the bundle state ${path} (${errnoCode(error) ?? String(error)})`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new BundleStateError(`the bundle state ${path} is not JSON; refusing imports until an administrator repairs or removes it`);
  }
  const parsed = v.safeParse(StateSchema, json);
  if (!parsed.success) throw new BundleStateError(`the bundle state ${path} is invalid; refusing imports until an administrator repairs or removes it`);
  return parsed.output;
}

/** The highest serial seen for `issuer` across the given state files (managed and per-user). */
export async function lastSerial(paths: readonly string[], issuer: string): Promise<number | undefined> {
  let best: number | undefined;
  for (const path of paths) {
    const entry = (await readBundleState(path)).issuers[issuer];
    if (entry !== undefined && (best === undefined || entry.serial > best)) best = entry.serial;
  }
  return best;
}

export async function recordImport(path: string, issuer: string, serial: number, signer: string, now: Date): Promise<void> {
  const state = await readBundleState(path);
  const previous = state.issuers[issuer];
  if (previous !== undefined && previous.serial > serial) throw new BundleStateError(`serial ${serial} is older than ${previous.serial} already imported from ${issuer}`);
  state.issuers[issuer] = { serial, importedAt: now.toISOString(), signer };
  await mkdir(dirname(path), { recursive: true });
  // Readable by all (users' imports compare against it), writable by its owner only.
  await writeFileAtomic(path, `${JSON.stringify(state, null, 2)}\n`, { mode: 0o644 });
}
