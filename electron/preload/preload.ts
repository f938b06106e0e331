/**
 * The preload: exposes `window.strait` (api/desktop.ts StraitDesktopApi) and
 * nothing else. It runs sandboxed (sandbox: true), where only `electron` can
 * be required, so it carries no runtime imports from the contract: the method
 * list is repeated here and checked against the contract at compile time.
 * Compiled as CommonJS (package.json next to this file): sandboxed preloads
 * are not ES modules.
 */
// A sandboxed preload is CommonJS; this is TypeScript's CommonJS import form.
// eslint-disable-next-line @typescript-eslint/no-require-imports
import electron = require('electron');
import type { IpcRendererEvent } from 'electron';

import type { DesktopEvent, DesktopMethod, StraitDesktopApi } from '../../native-helper/src/api/desktop.js';

const { contextBridge, ipcRenderer } = electron;

const METHODS = [
  'helperStatus',
  'status',
  'listProfiles',
  'saveProfile',
  'deleteProfile',
  'exportProfile',
  'importFile',
  'forgetSecret',
  'connect',
  'disconnect',
  'logs',
  'listCertificates',
  'importCertificate',
  'deleteCertificate',
  'getSettings',
  'setSettings',
] as const satisfies readonly DesktopMethod[];
type _Complete = Exclude<DesktopMethod, (typeof METHODS)[number]> extends never ? true : never;
const complete: _Complete = true;
void complete;

const api = Object.fromEntries(METHODS.map((m) => [m, (input?: unknown) => ipcRenderer.invoke(`strait:${m}`, input)])) as unknown as Omit<StraitDesktopApi, 'onEvent'>;

const bridge: StraitDesktopApi = {
  ...api,
  onEvent(listener) {
    // The page gets the event only, never the IpcRendererEvent (it would expose ipcRenderer via event.sender).
    const wrapped = (_event: IpcRendererEvent, payload: DesktopEvent): void => listener(payload);
    ipcRenderer.on('strait:event', wrapped);
    return () => {
      ipcRenderer.off('strait:event', wrapped);
    };
  },
};

contextBridge.exposeInMainWorld('strait', bridge);
