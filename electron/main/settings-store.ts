/** The app's own settings (start at login), in the user's Strait folder. */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as v from 'valibot';

import type { DesktopSettings } from '../../native-helper/src/api/desktop.js';
import { writeFileAtomic } from '../../native-helper/src/profiles/atomic-file.js';
import type { SettingsStore } from './ipc-handlers.js';

const SettingsSchema = v.looseObject({ startAtLogin: v.optional(v.boolean(), false) });

export class FileSettingsStore implements SettingsStore {
  constructor(
    private readonly userConfigDir: string,
    /** applies start-at-login to the OS (app-lifecycle.ts); returns what the OS now has */
    private readonly applyStartAtLogin: (enabled: boolean) => Promise<boolean>,
  ) {}

  private get path(): string {
    return join(this.userConfigDir, 'settings.json');
  }

  async get(): Promise<DesktopSettings> {
    try {
      const parsed = v.safeParse(SettingsSchema, JSON.parse(await readFile(this.path, 'utf8')) as unknown);
      return { startAtLogin: parsed.success ? parsed.output.startAtLogin : false };
    } catch {
      return { startAtLogin: false };
    }
  }

  async set(settings: DesktopSettings): Promise<DesktopSettings> {
    const startAtLogin = await this.applyStartAtLogin(settings.startAtLogin);
    await writeFileAtomic(this.path, `${JSON.stringify({ startAtLogin }, null, 2)}\n`, { mode: 0o600 });
    return { startAtLogin };
  }
}
