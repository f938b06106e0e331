/**
 * The app shell: a sidebar (status at a glance, the four screens, theme) and
 * the current screen. When straitd is not reachable, an explanation of why
 * (and when Strait tries again) sits above the screen, whose Connect buttons
 * are disabled meanwhile; profiles and certificates stay usable.
 */
import { useEffect, useState } from 'react';

import { Icon, type IconName } from './components/Icon.js';
import { CertificatesView } from './features/certificates/CertificatesView.js';
import { ConnectionsView } from './features/connections/ConnectionsView.js';
import { LogsView } from './features/logs/LogsView.js';
import { ProfilesView } from './features/profiles/ProfilesView.js';
import { useApi } from './lib/api.js';
import { useAppState, useNow } from './lib/store.js';

export type Screen = 'connections' | 'profiles' | 'certificates' | 'logs';
type Theme = 'system' | 'light' | 'dark';

const SCREENS: readonly { id: Screen; label: string; icon: IconName }[] = [
  { id: 'connections', label: 'Connections', icon: 'plug' },
  { id: 'profiles', label: 'Profiles', icon: 'list' },
  { id: 'certificates', label: 'Certificates', icon: 'cert' },
  { id: 'logs', label: 'Logs', icon: 'logs' },
];

function StatusSummary() {
  const state = useAppState((s) => s.state);
  const helper = useAppState((s) => s.helper);
  const [tone, text] =
    helper.status !== 'up'
      ? ['error', helper.status === 'connecting' ? 'Starting…' : 'VPN service unavailable']
      : state.state === 'connected'
        ? ['connected', `Connected to ${state.profileName}`]
        : state.state === 'connecting'
          ? ['connecting', state.reconnect !== undefined ? `Reconnecting to ${state.profileName}…` : `Connecting to ${state.profileName}…`]
          : state.state === 'disconnecting'
            ? ['connecting', 'Disconnecting…']
            : state.state === 'error'
              ? ['error', 'Not connected']
              : ['idle', 'Not connected'];
  return (
    <div className={`summary ${tone}`} role="status" aria-live="polite" data-testid="status-summary">
      <span className={`status-dot ${tone}`} aria-hidden="true" />
      <span>{text}</span>
    </div>
  );
}

function HelperDown() {
  const helper = useAppState((s) => s.helper);
  const now = useNow(helper.status === 'down' && helper.retryAt !== undefined);
  if (helper.status === 'up') return null;
  if (helper.status === 'connecting') return <p className="muted">Connecting to the Strait VPN service…</p>;
  const wait = helper.retryAt === undefined ? undefined : Math.max(0, Math.ceil((helper.retryAt - now) / 1000));
  return (
    <section className="card helper-down" role="alert" aria-labelledby="helper-down-title">
      <Icon name="warn" size={36} />
      <h2 id="helper-down-title">{helper.reason === 'not-installed' ? 'The Strait VPN service is not installed' : helper.reason === 'permission-denied' ? 'You may not use the VPN service yet' : 'The Strait VPN service is not running'}</h2>
      <p>{helper.message}</p>
      <p className="muted">{wait === undefined ? 'Strait will keep trying.' : wait > 0 ? `Trying again in ${wait} s…` : 'Trying again…'}</p>
    </section>
  );
}

/** Start at login: main applies it to the OS (XDG autostart on Linux) and answers with what the OS now has. */
function StartAtLogin() {
  const api = useApi();
  const [enabled, setEnabled] = useState<boolean>();
  useEffect(() => {
    void api.getSettings().then((r) => r.ok && setEnabled(r.value.startAtLogin));
  }, [api]);
  if (enabled === undefined) return null;
  return (
    <label className="checkbox small">
      <input
        type="checkbox"
        checked={enabled}
        onChange={(e) => void api.setSettings({ startAtLogin: e.target.checked }).then((r) => r.ok && setEnabled(r.value.startAtLogin))}
      />
      Start Strait when I log in
    </label>
  );
}

function useTheme(): [Theme, (t: Theme) => void] {
  const [theme, setTheme] = useState<Theme>(() => (localStorage.getItem('strait.theme') as Theme | null) ?? 'system');
  useEffect(() => {
    localStorage.setItem('strait.theme', theme);
    if (theme === 'system') delete document.documentElement.dataset['theme'];
    else document.documentElement.dataset['theme'] = theme;
  }, [theme]);
  return [theme, setTheme];
}

export function App({ initialScreen = 'connections' }: { initialScreen?: Screen }) {
  const [screen, setScreen] = useState<Screen>(initialScreen);
  const helperUp = useAppState((s) => s.helper.status === 'up');
  const [theme, setTheme] = useTheme();
  const title = SCREENS.find((s) => s.id === screen)?.label ?? '';

  return (
    <div className="app">
      <nav className="sidebar" aria-label="Strait">
        <div className="brand">
          <Icon name="shield" size={26} />
          <span>Strait</span>
        </div>
        <StatusSummary />
        <ul className="nav">
          {SCREENS.map((s) => (
            <li key={s.id}>
              <button type="button" className={`nav-item${screen === s.id ? ' current' : ''}`} aria-current={screen === s.id ? 'page' : undefined} onClick={() => setScreen(s.id)}>
                <Icon name={s.icon} /> {s.label}
              </button>
            </li>
          ))}
        </ul>
        <div className="sidebar-bottom">
        <StartAtLogin />
        <label className="theme-picker">
          <span className="theme-label">
            <Icon name={theme === 'dark' ? 'moon' : 'sun'} /> Theme
          </span>
          <select value={theme} onChange={(e) => setTheme(e.target.value as Theme)}>
            <option value="system">Like the system</option>
            <option value="light">Light</option>
            <option value="dark">Dark</option>
          </select>
        </label>
        </div>
      </nav>
      <main className="content" aria-labelledby="screen-title">
        <h1 id="screen-title">{title}</h1>
        {!helperUp && <HelperDown />}
        {screen === 'connections' && <ConnectionsView onGoToProfiles={() => setScreen('profiles')} />}
        {screen === 'profiles' && <ProfilesView />}
        {screen === 'certificates' && <CertificatesView />}
        {screen === 'logs' && <LogsView />}
      </main>
    </div>
  );
}
