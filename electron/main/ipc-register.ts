/**
 * Wires the handlers to Electron IPC: one `ipcMain.handle` channel per
 * contract method (`strait:<method>`), answering only the app's own window
 * (a frame from anywhere else — there should be none — is refused), and one
 * push channel for events.
 */
import { DESKTOP_EVENT_CHANNEL, DESKTOP_METHODS, desktopChannel, type DesktopEvent } from '../../native-helper/src/api/desktop.js';
import type { DesktopHandlers } from './ipc-handlers.js';
import { isAllowedAppUrl } from './window-security.js';

export interface IpcMainLike {
  handle(channel: string, listener: (event: { senderFrame: { url: string } | null }, input: unknown) => Promise<unknown>): void;
  removeHandler(channel: string): void;
}

export interface EventTarget {
  isDestroyed(): boolean;
  send(channel: string, payload: DesktopEvent): void;
}

export function registerIpc(ipcMain: IpcMainLike, handlers: DesktopHandlers, rendererRootUrl: string): () => void {
  for (const method of DESKTOP_METHODS) {
    ipcMain.handle(desktopChannel(method), async (event, input) => {
      const url = event.senderFrame?.url ?? '';
      if (!isAllowedAppUrl(url, rendererRootUrl)) return { ok: false, error: { code: 'INVALID_INPUT', message: 'request from an unknown page refused' } };
      return handlers[method](input);
    });
  }
  return () => {
    for (const method of DESKTOP_METHODS) ipcMain.removeHandler(desktopChannel(method));
  };
}

export function broadcast(targets: Iterable<EventTarget>, event: DesktopEvent): void {
  for (const t of targets) if (!t.isDestroyed()) t.send(DESKTOP_EVENT_CHANNEL, event);
}
