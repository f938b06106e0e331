/**
 * What the tray shows, as data: icon, tooltip and menu for one moment of the
 * app's life. Electron's Tray/Menu are built from this in main.ts; keeping the
 * decision pure means the "state at a glance" rules are unit-tested in Node.
 */

/** The app-level view of the tunnel, as the tray and notifications need it. */
export type AppStatus =
  | { readonly kind: 'helper-down'; readonly reason: string }
  | { readonly kind: 'disconnected' }
  | { readonly kind: 'connecting'; readonly profileId: string; readonly profileName: string; readonly stage: string; readonly reconnectAttempt?: number }
  | { readonly kind: 'connected'; readonly profileId: string; readonly profileName: string; readonly virtualIps: readonly string[] }
  | { readonly kind: 'disconnecting'; readonly profileId: string; readonly profileName: string }
  | { readonly kind: 'error'; readonly profileId?: string; readonly profileName?: string; readonly message: string };

export type TrayIcon = 'disconnected' | 'connecting' | 'connected' | 'error';

export type TrayAction =
  | { readonly kind: 'connect'; readonly profileId: string }
  | { readonly kind: 'disconnect' }
  | { readonly kind: 'show' }
  | { readonly kind: 'quit' };

export type TrayMenuItem =
  | { readonly type: 'item'; readonly label: string; readonly enabled: boolean; readonly action?: TrayAction }
  | { readonly type: 'separator' };

export interface TrayModel {
  readonly icon: TrayIcon;
  readonly tooltip: string;
  readonly menu: readonly TrayMenuItem[];
}

export interface TrayProfile {
  readonly id: string;
  readonly name: string;
}

const STAGE_WORDS: Readonly<Record<string, string>> = {
  resolving: 'finding the gateway',
  ike_sa_init: 'negotiating keys',
  ike_auth: 'signing in',
  eap: 'checking your password',
  child_sa: 'opening the tunnel',
  installing: 'setting up the network',
  configuring: 'setting up the network',
};

/** The plain words for an engine stage ("ike_auth" → "signing in"). */
export const stageWords = (stage: string): string => STAGE_WORDS[stage] ?? stage.replace(/_/gu, ' ');

export function trayModel(status: AppStatus, profiles: readonly TrayProfile[]): TrayModel {
  const show: TrayMenuItem = { type: 'item', label: 'Open Strait', enabled: true, action: { kind: 'show' } };
  const quit: TrayMenuItem = { type: 'item', label: 'Quit Strait', enabled: true, action: { kind: 'quit' } };
  const sep: TrayMenuItem = { type: 'separator' };
  const connectItems = (enabled: boolean): TrayMenuItem[] =>
    profiles.length === 0
      ? [{ type: 'item', label: 'No VPN profiles yet', enabled: false }]
      : profiles.map((p) => ({ type: 'item', label: `Connect to ${p.name}`, enabled, action: { kind: 'connect', profileId: p.id } }));

  switch (status.kind) {
    case 'helper-down':
      return {
        icon: 'error',
        tooltip: `Strait: the VPN service is not available (${status.reason})`,
        menu: [{ type: 'item', label: 'VPN service not running', enabled: false }, sep, ...connectItems(false), sep, show, quit],
      };
    case 'disconnected':
      return { icon: 'disconnected', tooltip: 'Strait: not connected', menu: [{ type: 'item', label: 'Not connected', enabled: false }, sep, ...connectItems(true), sep, show, quit] };
    case 'connecting':
      return {
        icon: 'connecting',
        tooltip:
          status.reconnectAttempt !== undefined
            ? `Strait: connection to ${status.profileName} lost, reconnecting (attempt ${status.reconnectAttempt}, ${stageWords(status.stage)})`
            : `Strait: connecting to ${status.profileName} (${stageWords(status.stage)})`,
        menu: [
          { type: 'item', label: status.reconnectAttempt !== undefined ? `Reconnecting to ${status.profileName}…` : `Connecting to ${status.profileName}…`, enabled: false },
          { type: 'item', label: 'Cancel', enabled: true, action: { kind: 'disconnect' } },
          sep,
          show,
          quit,
        ],
      };
    case 'connected':
      return {
        icon: 'connected',
        tooltip: `Strait: connected to ${status.profileName}${status.virtualIps.length > 0 ? ` as ${status.virtualIps.join(', ')}` : ''}`,
        menu: [
          { type: 'item', label: `Connected to ${status.profileName}`, enabled: false },
          { type: 'item', label: 'Disconnect', enabled: true, action: { kind: 'disconnect' } },
          sep,
          show,
          quit,
        ],
      };
    case 'disconnecting':
      return { icon: 'connecting', tooltip: `Strait: disconnecting from ${status.profileName}`, menu: [{ type: 'item', label: 'Disconnecting…', enabled: false }, sep, show, quit] };
    case 'error':
      return {
        icon: 'error',
        tooltip: `Strait: ${status.message}`,
        menu: [{ type: 'item', label: `Could not connect${status.profileName === undefined ? '' : ` to ${status.profileName}`}`, enabled: false }, sep, ...connectItems(true), sep, show, quit],
      };
  }
}

export interface NotificationModel {
  readonly title: string;
  readonly body: string;
}

/**
 * A native notification only for changes a person cares about: connected,
 * disconnected (after having been connected), failed, and the service going
 * away. Stage changes and repeats of the same state stay quiet.
 */
export function notificationFor(previous: AppStatus, next: AppStatus): NotificationModel | undefined {
  if (next.kind === 'connected' && previous.kind !== 'connected') {
    return { title: `Connected to ${next.profileName}`, body: next.virtualIps.length > 0 ? `Your address in the company network: ${next.virtualIps.join(', ')}` : 'The VPN is on.' };
  }
  if (next.kind === 'disconnected' && (previous.kind === 'connected' || previous.kind === 'disconnecting')) {
    return { title: 'VPN disconnected', body: `You are no longer connected to ${previous.profileName}.` };
  }
  if (next.kind === 'error' && !(previous.kind === 'error' && previous.message === next.message)) {
    return { title: next.profileName === undefined ? 'VPN error' : `Could not connect to ${next.profileName}`, body: next.message };
  }
  if (next.kind === 'helper-down' && previous.kind !== 'helper-down') {
    return { title: 'VPN service unavailable', body: next.reason };
  }
  return undefined;
}
