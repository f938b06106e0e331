/**
 * The profile store: the user's profiles (read-write, in the user's config
 * folder) and IT's managed profiles (read-only to users, in a root-owned
 * system folder). One `<id>.json` per profile, written atomically
 * (atomic-file.ts), so a crash mid-write never loses the previous version.
 *
 * Managed profiles carry `managed.lockedFields` (JSON pointers). A profile
 * that came from a signed bundle keeps those fields as the bundle set them:
 * saveUser() refuses to change them, whichever store the profile lives in.
 */
import { mkdir, readdir, readFile, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';

import { formatIssues, parseProfile, type Profile, type ProfileIssue } from '../api/profile.js';
import { fsyncDirectory, isTempFileName, writeFileAtomic } from './atomic-file.js';
import { jsonEqual, resolvePointer } from './json-pointer.js';

export type ProfileSource = 'user' | 'managed';

export interface StoredProfile {
  readonly profile: Profile;
  readonly source: ProfileSource;
  readonly path: string;
  /** The bundle issuer, when the profile came from IT: the UI shows "managed by <issuer>". */
  readonly managedBy?: string;
}

export interface UnreadableProfileFile {
  readonly path: string;
  readonly source: ProfileSource;
  readonly issues: ProfileIssue[];
}

export interface ProfileListing {
  readonly profiles: StoredProfile[];
  /** Files that are not valid profiles (kept on disk untouched, reported so nobody wonders where a profile went). */
  readonly unreadable: UnreadableProfileFile[];
}

export type ProfileStoreErrorCode = 'NOT_FOUND' | 'MANAGED_READ_ONLY' | 'LOCKED_FIELD' | 'INVALID' | 'PERMISSION_DENIED';

export class ProfileStoreError extends Error {
  override readonly name = 'ProfileStoreError';
  constructor(
    readonly code: ProfileStoreErrorCode,
    message: string,
    readonly fields: readonly string[] = [],
  ) {
    super(message);
  }
}

export interface ProfileStoreDirs {
  readonly userProfilesDir: string;
  readonly managedDir: string;
}

export interface SaveOptions {
  /** Only the bundle importer sets this: a newer signed bundle may change locked fields. */
  readonly replaceLocked?: boolean;
}

/** Profiles are small; anything bigger is not one of ours. */
const MAX_PROFILE_FILE_BYTES = 1024 * 1024;
const PROFILE_FILE = /^([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\.json$/u;

const fileNameFor = (id: string): string => `${id.toLowerCase()}.json`;

const errnoCode = (error: unknown): string | undefined =>
  error !== null && typeof error === 'object' && 'code' in error && typeof error.code === 'string' ? error.code : undefined;

/** The locked fields whose values differ between two versions of a managed profile. */
export function changedLockedFields(before: Profile, after: Profile): string[] {
  const locked = before.managed?.lockedFields ?? [];
  const changed = locked.filter((pointer) => !jsonEqual(resolvePointer(before, pointer), resolvePointer(after, pointer)));
  if (before.managed !== undefined && !jsonEqual(before.managed, after.managed)) changed.push('/managed');
  return changed;
}

export class ProfileStore {
  constructor(private readonly dirs: ProfileStoreDirs) {}

  get userProfilesDir(): string {
    return this.dirs.userProfilesDir;
  }

  get managedDir(): string {
    return this.dirs.managedDir;
  }

  async list(): Promise<ProfileListing> {
    const managed = await this.readDir(this.dirs.managedDir, 'managed');
    const user = await this.readDir(this.dirs.userProfilesDir, 'user');
    const managedIds = new Set(managed.profiles.map((p) => p.profile.id.toLowerCase()));
    const shadowed = user.profiles.filter((p) => managedIds.has(p.profile.id.toLowerCase()));
    const profiles = [...managed.profiles, ...user.profiles.filter((p) => !shadowed.includes(p))].sort(
      (a, b) => a.profile.name.localeCompare(b.profile.name) || a.profile.id.localeCompare(b.profile.id),
    );
    return {
      profiles,
      unreadable: [
        ...managed.unreadable,
        ...user.unreadable,
        ...shadowed.map((p) => ({ path: p.path, source: 'user' as const, issues: [{ path: '/id', message: 'a managed profile with the same id takes precedence' }] })),
      ],
    };
  }

  /** The profile with this id; a managed profile wins over a user profile with the same id. */
  async get(id: string): Promise<StoredProfile | undefined> {
    return (await this.readOne(this.dirs.managedDir, id, 'managed')) ?? (await this.readOne(this.dirs.userProfilesDir, id, 'user'));
  }

  /** Creates or replaces a user profile. Locked fields of a bundle-imported profile stay as they are. */
  async saveUser(input: Profile, options: SaveOptions = {}): Promise<StoredProfile> {
    const profile = this.validate(input);
    if ((await this.readOne(this.dirs.managedDir, profile.id, 'managed')) !== undefined) {
      throw new ProfileStoreError('MANAGED_READ_ONLY', `profile ${profile.id} is managed by your organisation and cannot be changed here`);
    }
    const existing = await this.readOne(this.dirs.userProfilesDir, profile.id, 'user');
    if (existing !== undefined && options.replaceLocked !== true) {
      const changed = changedLockedFields(existing.profile, profile);
      if (changed.length > 0) {
        throw new ProfileStoreError('LOCKED_FIELD', `profile ${profile.id} is managed by ${existing.managedBy ?? 'your organisation'}; these fields are locked: ${changed.join(', ')}`, changed);
      }
    }
    if (existing === undefined && profile.managed !== undefined && options.replaceLocked !== true) {
      throw new ProfileStoreError('LOCKED_FIELD', 'only a verified bundle import may create a managed profile', ['/managed']);
    }
    await mkdir(this.dirs.userProfilesDir, { recursive: true, mode: 0o700 });
    const path = join(this.dirs.userProfilesDir, fileNameFor(profile.id));
    await writeFileAtomic(path, `${JSON.stringify(profile, null, 2)}\n`, { mode: 0o600 });
    return this.stored(profile, 'user', path);
  }

  /** Writes a managed profile (bundle import with --managed). Needs write access to the system folder. */
  async saveManaged(input: Profile): Promise<StoredProfile> {
    const profile = this.validate(input);
    if (profile.managed === undefined) throw new ProfileStoreError('INVALID', 'a managed profile needs its managed block (issuer, serial, signer)', ['/managed']);
    const path = join(this.dirs.managedDir, fileNameFor(profile.id));
    try {
      await mkdir(this.dirs.managedDir, { recursive: true, mode: 0o755 });
      // World-readable: every user of the machine sees IT's profiles; no secret is ever in one.
      await writeFileAtomic(path, `${JSON.stringify(profile, null, 2)}\n`, { mode: 0o644 });
    } catch (error) {
      throw this.permission(error, 'write');
    }
    return this.stored(profile, 'managed', path);
  }

  async removeUser(id: string): Promise<void> {
    if ((await this.readOne(this.dirs.managedDir, id, 'managed')) !== undefined) {
      throw new ProfileStoreError('MANAGED_READ_ONLY', `profile ${id} is managed by your organisation; an administrator removes it with --managed`);
    }
    await this.removeFile(this.dirs.userProfilesDir, id);
  }

  async removeManaged(id: string): Promise<void> {
    try {
      await this.removeFile(this.dirs.managedDir, id);
    } catch (error) {
      if (error instanceof ProfileStoreError) throw error;
      throw this.permission(error, 'remove');
    }
  }

  private async removeFile(dir: string, id: string): Promise<void> {
    const path = join(dir, fileNameFor(id));
    try {
      await rm(path);
    } catch (error) {
      if (errnoCode(error) === 'ENOENT') throw new ProfileStoreError('NOT_FOUND', `no profile with id ${id}`);
      throw error;
    }
    await fsyncDirectory(dir);
  }

  private permission(error: unknown, what: string): unknown {
    const code = errnoCode(error);
    return code === 'EACCES' || code === 'EPERM' || code === 'EROFS'
      ? new ProfileStoreError('PERMISSION_DENIED', `cannot ${what} managed profiles in ${this.dirs.managedDir}: administrator rights are needed (${code})`)
      : error;
  }

  private validate(input: Profile): Profile {
    const parsed = parseProfile(input);
    if (!parsed.ok) throw new ProfileStoreError('INVALID', `invalid profile:\n${formatIssues(parsed.issues)}`, parsed.issues.map((i) => i.path));
    return parsed.profile;
  }

  private stored(profile: Profile, source: ProfileSource, path: string): StoredProfile {
    return profile.managed === undefined ? { profile, source, path } : { profile, source, path, managedBy: profile.managed.bundleIssuer };
  }

  private async readOne(dir: string, id: string, source: ProfileSource): Promise<StoredProfile | undefined> {
    if (!/^[0-9A-Fa-f-]{36}$/u.test(id)) return undefined;
    const path = join(dir, fileNameFor(id));
    const result = await this.readFileAsProfile(path, source);
    return result !== undefined && 'profile' in result ? result : undefined;
  }

  private async readDir(dir: string, source: ProfileSource): Promise<ProfileListing> {
    let names: string[];
    try {
      names = await readdir(dir);
    } catch (error) {
      if (errnoCode(error) === 'ENOENT') return { profiles: [], unreadable: [] };
      throw error;
    }
    const profiles: StoredProfile[] = [];
    const unreadable: UnreadableProfileFile[] = [];
    for (const name of names.sort()) {
      if (isTempFileName(name) || !name.endsWith('.json') || name === 'bundle-state.json') continue;
      const path = join(dir, name);
      if (!PROFILE_FILE.test(name)) {
        unreadable.push({ path, source, issues: [{ path: '', message: 'file name is not <profile id>.json' }] });
        continue;
      }
      const result = await this.readFileAsProfile(path, source);
      if (result === undefined) continue;
      if ('profile' in result) profiles.push(result);
      else unreadable.push(result);
    }
    return { profiles, unreadable };
  }

  private async readFileAsProfile(path: string, source: ProfileSource): Promise<StoredProfile | UnreadableProfileFile | undefined> {
    let text: string;
    try {
      const info = await stat(path);
      if (!info.isFile()) return { path, source, issues: [{ path: '', message: 'not a regular file' }] };
      if (info.size > MAX_PROFILE_FILE_BYTES) return { path, source, issues: [{ path: '', message: `file is larger than ${MAX_PROFILE_FILE_BYTES} bytes` }] };
      text = await readFile(path, 'utf8');
    } catch (error) {
      if (errnoCode(error) === 'ENOENT') return undefined;
      return { path, source, issues: [{ path: '', message: `cannot read file (${errnoCode(error) ?? 'error'})` }] };
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (error) {
      return { path, source, issues: [{ path: '', message: `not JSON: ${error instanceof Error ? error.message : String(error)}` }] };
    }
    const parsed = parseProfile(json);
    if (!parsed.ok) return { path, source, issues: parsed.issues };
    if (!path.endsWith(fileNameFor(parsed.profile.id))) return { path, source, issues: [{ path: '/id', message: 'the id does not match the file name' }] };
    if (source === 'managed' && parsed.profile.managed === undefined) return { path, source, issues: [{ path: '/managed', message: 'a managed profile must say who manages it' }] };
    return this.stored(parsed.profile, source, path);
  }
}
