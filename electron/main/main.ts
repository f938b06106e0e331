/**
 * Electron's entry point: the only file that imports `electron` at runtime
 * (it cannot run here — no Electron binary — so it stays thin and is only
 * type-checked; every decision it makes lives in a module tested in Node).
 *
 *   window (hardened: window-security.ts) ── preload ── ipc-register.ts ── ipc-handlers.ts
 *   tray (tray-model.ts, tray-icons.ts), notifications (tray-model.ts notificationFor)
 *   single instance + start at login (app-lifecycle.ts), straitd link (helper-link.ts)
 */
import { homedir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

import { app, BrowserWindow, ipcMain, Menu, nativeImage, Notification, session, Tray, type MenuItemConstructorOptions } from 'electron';

import type { DesktopEvent, HelperStatus } from '../../native-helper/src/api/desktop.js';
import { DEFAULT_SOCKET_PATH, type ConnectionState } from '../../native-helper/src/api/rpc.js';
import { defaultStraitPaths } from '../../native-helper/src/profiles/paths.js';
import { enforceSingleInstance, setLinuxAutostart, setStartAtLogin, startedHidden } from './app-lifecycle.js';
import { appStatus } from './app-status.js';
import { broadcast, registerIpc } from './ipc-register.js';
import { createMainServices, nodeAutostartFs } from './services.js';
import { trayIconPng } from './tray-icons.js';
import { notificationFor, trayModel, type AppStatus, type TrayAction, type TrayMenuItem } from './tray-model.js';
import { guardSession, guardWebContents, secureWebPreferences } from './window-security.js';

const log = { info: (m: string) => console.log(`[strait] ${m}`), warn: (m: string) => console.warn(`[strait] ${m}`) };

let window: BrowserWindow | undefined;
let tray: Tray | undefined;
let helperStatus: HelperStatus = { status: 'connecting' };
let connection: ConnectionState | undefined;
let status: AppStatus = { kind: 'disconnected' };
let profileNames: { id: string; name: string }[] = [];

const appRoot = app.getAppPath();
const rendererDir = join(appRoot, 'renderer', 'dist');
const rendererRootUrl = pathToFileURL(rendererDir).href;
const preloadPath = join(appRoot, 'dist', 'electron', 'preload', 'preload.js');

function showWindow(): void {
  if (window === undefined || window.isDestroyed()) {
    window = new BrowserWindow({
      width: 1100,
      height: 760,
      minWidth: 640,
      minHeight: 480,
      title: 'Strait VPN',
      show: false,
      webPreferences: secureWebPreferences(preloadPath),
    });
    guardWebContents(window.webContents, rendererRootUrl, log);
    window.once('ready-to-show', () => window?.show());
    void window.loadFile(join(rendererDir, 'index.html'));
    // Closing the window keeps the tunnel and the tray; Quit is in the tray menu.
    window.on('close', (event) => {
      if (!quitting) {
        event.preventDefault();
        window?.hide();
      }
    });
    return;
  }
  window.show();
  window.focus();
}

let quitting = false;

if (enforceSingleInstance(app, showWindow)) {
  void app.whenReady().then(() => {
    guardSession(session.defaultSession, rendererRootUrl, log);
    const paths = defaultStraitPaths();
    const services = createMainServices({
      socketPath: process.env['STRAIT_SOCKET'] ?? DEFAULT_SOCKET_PATH,
      paths,
      emit: (event) => onEvent(event),
      log,
      applyStartAtLogin: (enabled) =>
        process.platform === 'linux'
          ? setLinuxAutostart(nodeAutostartFs, process.env['XDG_CONFIG_HOME'] ?? join(homedir(), '.config'), process.execPath, enabled)
          : Promise.resolve(setStartAtLogin(app, enabled)),
    });
    registerIpc(ipcMain, services.handlers, rendererRootUrl);

    tray = new Tray(nativeImage.createFromBuffer(trayIconPng('disconnected')));
    tray.on('click', showWindow);
    const refreshProfiles = async (): Promise<void> => {
      const r = await services.handlers.listProfiles(undefined);
      if (r.ok) profileNames = r.value.profiles.map((p) => ({ id: p.profile.id, name: p.profile.name }));
      renderTray();
    };
    void refreshProfiles();

    function runTrayAction(action: TrayAction): void {
      if (action.kind === 'show') showWindow();
      else if (action.kind === 'quit') {
        quitting = true;
        services.stop();
        app.quit();
      } else if (action.kind === 'disconnect') void services.handlers.disconnect({});
      else
        void services.handlers.connect({ profileId: action.profileId }).then((r) => {
          // The tray cannot type a password: open the window, which shows the prompt.
          if (!r.ok && r.error.code === 'SECRET_MISSING') showWindow();
        });
    }

    function renderTray(): void {
      if (tray === undefined) return;
      const model = trayModel(status, profileNames);
      tray.setImage(nativeImage.createFromBuffer(trayIconPng(model.icon)));
      tray.setToolTip(model.tooltip);
      const toItem = (item: TrayMenuItem): MenuItemConstructorOptions => {
        if (item.type === 'separator') return { type: 'separator' };
        const action = item.action;
        return action === undefined ? { label: item.label, enabled: item.enabled } : { label: item.label, enabled: item.enabled, click: () => runTrayAction(action) };
      };
      tray.setContextMenu(Menu.buildFromTemplate(model.menu.map(toItem)));
    }

    function onEvent(event: DesktopEvent): void {
      if (event.kind === 'helper') helperStatus = event.helper;
      if (event.kind === 'state') connection = event.state;
      if (event.kind === 'profiles-changed') void refreshProfiles();
      if (event.kind === 'helper' || event.kind === 'state') {
        const next = appStatus(helperStatus, connection);
        const note = notificationFor(status, next);
        status = next;
        if (note !== undefined && Notification.isSupported()) new Notification({ title: note.title, body: note.body, silent: next.kind !== 'error' }).show();
        renderTray();
      }
      broadcast(BrowserWindow.getAllWindows().map((w) => w.webContents), event);
    }

    if (!startedHidden(process.argv)) showWindow();
  });

  app.on('window-all-closed', () => {
    // Stay in the tray: the VPN keeps running with no window open.
  });
  app.on('before-quit', () => {
    quitting = true;
  });
}
