/**
 * Builds main's services — the straitd link, the keychain, the profile store,
 * the certificate library and the IPC handlers — from plain values. Electron's
 * main.ts calls this with the real paths; the e2e test calls it with a
 * temporary config folder and a test straitd socket. No Electron import here.
 */
import { access, mkdir, rm, writeFile } from 'node:fs/promises';

import type { DesktopEvent, DesktopSettings } from '../../native-helper/src/api/desktop.js';
import { StraitClient } from '../../native-helper/src/api/client.js';
import type { StraitNotification } from '../../native-helper/src/api/rpc.js';
import { NapiKeyringStore } from '../../native-helper/src/keychain/napi-keyring-store.js';
import type { SecretStore } from '../../native-helper/src/keychain/secret-store.js';
import type { StraitPaths } from '../../native-helper/src/profiles/paths.js';
import { ProfileStore } from '../../native-helper/src/profiles/profile-store.js';
import { loadTrustAnchors } from '../../native-helper/src/profiles/trust-anchors.js';
import { CertificateLibrary } from './certificate-library.js';
import { diagnoseHelperError, HelperLink, type HelperClient } from './helper-link.js';
import { createDesktopHandlers, type DesktopHandlers, type HandlerLog } from './ipc-handlers.js';
import { FileSettingsStore } from './settings-store.js';

export interface ServiceOptions {
  readonly socketPath: string;
  readonly paths: StraitPaths;
  /** owner the trust folder must have (root in production; the test's own uid in e2e) */
  readonly trustOwnerUid?: number;
  readonly secrets?: SecretStore;
  readonly emit: (event: DesktopEvent) => void;
  readonly log: HandlerLog;
  readonly applyStartAtLogin?: (enabled: boolean) => Promise<boolean>;
  /** where a straitd installation would be, for the "not installed" vs "not running" message */
  readonly serviceMarkers?: readonly string[];
  readonly now?: () => Date;
}

export interface MainServices {
  readonly handlers: DesktopHandlers;
  readonly helper: HelperLink;
  readonly settings: { get(): Promise<DesktopSettings> };
  stop(): void;
}

const exists = async (path: string): Promise<boolean> => {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
};

/** Adapts StraitClient's variadic request signature to HelperClient. */
const adapt = (client: StraitClient): HelperClient => ({
  request: (method, params, options) => (client.request as (m: typeof method, p: typeof params, o?: typeof options) => ReturnType<HelperClient['request']>)(method, params, options),
  on: (event: 'notification' | 'disconnected', listener: (arg: never) => void) => client.on(event, listener as never),
  close: () => client.close(),
});

export function createMainServices(options: ServiceOptions): MainServices {
  const now = options.now ?? (() => new Date());
  const secrets = options.secrets ?? new NapiKeyringStore();
  const store = new ProfileStore({ userProfilesDir: options.paths.userProfilesDir, managedDir: options.paths.managedDir });
  const certificates = new CertificateLibrary({ userConfigDir: options.paths.userConfigDir, secrets, now });
  const markers = options.serviceMarkers ?? ['/lib/systemd/system/straitd.service', '/usr/lib/systemd/system/straitd.service', '/etc/systemd/system/straitd.service', '/opt/Strait/resources/straitd'];

  const forward = (n: StraitNotification): void => {
    if (n.method === 'strait.state') options.emit({ kind: 'state', state: n.params.state });
    else if (n.method === 'strait.stage') options.emit({ kind: 'stage', stage: n.params });
    else options.emit({ kind: 'log', record: n.params });
  };

  const helper = new HelperLink({
    open: async () => adapt(await StraitClient.open({ socketPath: options.socketPath })),
    diagnose: (error) => diagnoseHelperError(error, options.socketPath, { serviceInstalled: async () => (await Promise.all(markers.map(exists))).some(Boolean) }),
    setTimer: (fn, ms) => setTimeout(fn, ms),
    clearTimer: (h) => clearTimeout(h as NodeJS.Timeout),
    now: () => now().getTime(),
    onStatus: (status) => options.emit({ kind: 'helper', helper: status }),
    onNotification: forward,
  });

  const settings = new FileSettingsStore(options.paths.userConfigDir, options.applyStartAtLogin ?? (async () => false));
  const handlers = createDesktopHandlers({
    helper,
    store,
    secrets,
    certificates,
    userConfigDir: options.paths.userConfigDir,
    trustAnchors: () => loadTrustAnchors(options.paths.trustDir, options.trustOwnerUid === undefined ? {} : { ownerUid: options.trustOwnerUid }),
    settings,
    now,
    emit: options.emit,
    log: options.log,
  });
  helper.start();
  return { handlers, helper, settings, stop: () => helper.stop() };
}

/** Linux start-at-login through an XDG autostart entry (app-lifecycle.ts). */
export const nodeAutostartFs = {
  writeFile: (path: string, text: string) => writeFile(path, text, { mode: 0o644 }),
  rm: (path: string) => rm(path, { force: true }),
  exists,
  mkdir: async (path: string) => {
    await mkdir(path, { recursive: true });
  },
};
