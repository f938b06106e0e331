/**
 * Where Strait keeps profiles and trust on each OS. Every consumer takes
 * these as injectable values; this module only computes the defaults.
 *
 * - user store:    the user's config folder (XDG on Linux), writable by the user
 * - managed store: a system folder writable only by root/Administrators, read
 *                  by everyone: IT's profiles, shown as "managed by <issuer>"
 * - trust dir:     the bundle-signer trust anchors the admin installed
 */
import { homedir } from 'node:os';
import { join } from 'node:path';

export interface StraitPaths {
  /** `<config>/strait`: the user's Strait folder (bundle rollback state for per-user imports lives here). */
  readonly userConfigDir: string;
  /** `<config>/strait/profiles`: one `<id>.json` per user profile. */
  readonly userProfilesDir: string;
  /** Managed profiles (`<id>.json`) and the managed rollback state (`bundle-state.json`). */
  readonly managedDir: string;
  /** Trust anchors for bundle signers: `*.pem`, root-owned. */
  readonly trustDir: string;
}

export function defaultStraitPaths(
  env: Readonly<Record<string, string | undefined>> = process.env,
  platform: NodeJS.Platform = process.platform,
  home: string = homedir(),
): StraitPaths {
  let userConfigDir: string;
  let systemDir: string;
  if (platform === 'win32') {
    userConfigDir = join(env['APPDATA'] ?? join(home, 'AppData', 'Roaming'), 'Strait');
    systemDir = join(env['ProgramData'] ?? 'C:\\ProgramData', 'Strait');
  } else if (platform === 'darwin') {
    userConfigDir = join(home, 'Library', 'Application Support', 'Strait');
    systemDir = '/Library/Application Support/Strait';
  } else {
    // XDG Base Directory spec: $XDG_CONFIG_HOME if set and absolute, else ~/.config.
    const xdg = env['XDG_CONFIG_HOME'];
    userConfigDir = join(xdg !== undefined && xdg.startsWith('/') ? xdg : join(home, '.config'), 'strait');
    systemDir = '/etc/strait';
  }
  return {
    userConfigDir,
    userProfilesDir: join(userConfigDir, 'profiles'),
    managedDir: join(systemDir, 'managed'),
    trustDir: join(systemDir, 'trust'),
  };
}
