/** Folds helper status and straitd's connection state into the tray's AppStatus. */
import type { HelperStatus } from '../../native-helper/src/api/desktop.js';
import type { ConnectionState } from '../../native-helper/src/api/rpc.js';
import type { AppStatus } from './tray-model.js';

export function appStatus(helper: HelperStatus, state: ConnectionState | undefined): AppStatus {
  if (helper.status === 'down') return { kind: 'helper-down', reason: helper.message };
  if (state === undefined) return { kind: 'disconnected' };
  switch (state.state) {
    case 'disconnected':
      return { kind: 'disconnected' };
    case 'connecting':
      return {
        kind: 'connecting',
        profileId: state.profileId,
        profileName: state.profileName,
        stage: state.stage,
        ...(state.reconnect !== undefined ? { reconnectAttempt: state.reconnect.attempt } : {}),
      };
    case 'connected':
      return { kind: 'connected', profileId: state.profileId, profileName: state.profileName, virtualIps: state.virtualIps };
    case 'disconnecting':
      return { kind: 'disconnecting', profileId: state.profileId, profileName: state.profileName };
    case 'error':
      return { kind: 'error', profileId: state.profileId, profileName: state.profileName, message: state.message };
  }
}
