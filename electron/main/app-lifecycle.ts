/**
 * Single instance and start-at-login, over the few `app` methods they need
 * (injected, so this runs in plain Node tests).
 */

export interface SingleInstanceApp {
  requestSingleInstanceLock(): boolean;
  quit(): void;
  on(event: 'second-instance', listener: () => void): unknown;
}

/**
 * A second launch (menu entry clicked twice, autostart plus a click) must not
 * start a second tunnel owner: it hands over to the first instance, which
 * brings its window forward, and quits. Returns false in the instance that quits.
 */
export function enforceSingleInstance(app: SingleInstanceApp, focusExisting: () => void): boolean {
  if (!app.requestSingleInstanceLock()) {
    app.quit();
    return false;
  }
  app.on('second-instance', focusExisting);
  return true;
}

export interface LoginItemApp {
  setLoginItemSettings(settings: { openAtLogin: boolean; openAsHidden?: boolean; args?: string[] }): void;
  getLoginItemSettings(): { openAtLogin: boolean };
}

/** The argument the autostart entry passes, so the app starts in the tray without a window. */
export const HIDDEN_START_ARG = '--hidden';

export function setStartAtLogin(app: LoginItemApp, enabled: boolean): boolean {
  app.setLoginItemSettings({ openAtLogin: enabled, openAsHidden: true, args: enabled ? [HIDDEN_START_ARG] : [] });
  return app.getLoginItemSettings().openAtLogin;
}

export const startedHidden = (argv: readonly string[]): boolean => argv.includes(HIDDEN_START_ARG);

/**
 * Linux has no `setLoginItemSettings` in Electron: start-at-login is an XDG
 * autostart entry (freedesktop "Desktop Application Autostart Specification"),
 * `$XDG_CONFIG_HOME/autostart/strait.desktop`. The file system comes in by
 * injection; the entry names only the app binary, never a secret.
 */
export interface AutostartFs {
  writeFile(path: string, text: string): Promise<void>;
  rm(path: string): Promise<void>;
  exists(path: string): Promise<boolean>;
  mkdir(path: string): Promise<void>;
}

export function autostartDesktopEntry(execPath: string): string {
  // Desktop Entry spec §"The Exec key": quote arguments that contain spaces.
  const exec = /[\s"'\\]/u.test(execPath) ? `"${execPath.replace(/(["`$\\])/gu, '\\$1')}"` : execPath;
  return ['[Desktop Entry]', 'Type=Application', 'Name=Strait', 'Comment=Remote-access VPN', `Exec=${exec} ${HIDDEN_START_ARG}`, 'Icon=strait', 'Terminal=false', 'X-GNOME-Autostart-enabled=true', ''].join('\n');
}

export async function setLinuxAutostart(fs: AutostartFs, configHome: string, execPath: string, enabled: boolean): Promise<boolean> {
  const dir = `${configHome}/autostart`;
  const file = `${dir}/strait.desktop`;
  if (enabled) {
    await fs.mkdir(dir);
    await fs.writeFile(file, autostartDesktopEntry(execPath));
  } else if (await fs.exists(file)) await fs.rm(file);
  return fs.exists(file);
}
