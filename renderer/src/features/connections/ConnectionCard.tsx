/**
 * One profile on the Connections screen: its big Connect/Disconnect button,
 * the live stage timeline while connecting, and once connected the virtual
 * IP, gateway, duration, traffic and algorithms.
 */
import type { DesktopError, ProfileView } from '../../../../native-helper/src/api/desktop.js';
import type { ConnectionState } from '../../../../native-helper/src/api/rpc.js';
import { Icon } from '../../components/Icon.js';
import { AUTH_LABELS, explainFailure, formatBytes, formatDuration, formatMs, stagesFor } from '../../lib/format.js';
import { useNow } from '../../lib/store.js';
import { StageTimeline } from './StageTimeline.js';

export interface ConnectionCardProps {
  readonly view: ProfileView;
  readonly state: ConnectionState;
  /** a request is on its way (before straitd's first state event) */
  readonly pending: boolean;
  /** another profile is active: this one cannot connect now */
  readonly blockedBy?: string;
  readonly helperUp: boolean;
  /** an error from the last action that is not a connection state (helper down, not found…) */
  readonly localError?: DesktopError;
  readonly onConnect: () => void;
  readonly onDisconnect: () => void;
}

type Phase = 'idle' | 'connecting' | 'connected' | 'disconnecting' | 'error';

export function ConnectionCard({ view, state, pending, blockedBy, helperUp, localError, onConnect, onDisconnect }: ConnectionCardProps) {
  const profile = view.profile;
  const mine = state.state !== 'disconnected' && state.profileId === profile.id;
  const phase: Phase = mine ? state.state : pending ? 'connecting' : 'idle';
  const now = useNow(phase === 'connecting' || phase === 'connected', phase === 'connecting' ? 200 : 1000);
  const order = stagesFor(profile.auth.method);
  const titleId = `profile-${profile.id}-title`;

  const button =
    phase === 'connected' ? (
      <button type="button" className="button big danger" onClick={onDisconnect}>
        Disconnect
      </button>
    ) : phase === 'connecting' ? (
      <button type="button" className="button big secondary" onClick={onDisconnect}>
        Cancel
      </button>
    ) : phase === 'disconnecting' ? (
      <button type="button" className="button big secondary" disabled>
        Disconnecting…
      </button>
    ) : (
      <button type="button" className="button big primary" onClick={onConnect} disabled={!helperUp || blockedBy !== undefined} title={blockedBy === undefined ? undefined : `Disconnect ${blockedBy} first`}>
        {phase === 'error' ? 'Try again' : 'Connect'}
      </button>
    );

  return (
    <article className={`card connection ${phase}`} aria-labelledby={titleId}>
      <header className="connection-head">
        <div className={`status-dot ${phase}`} aria-hidden="true" />
        <div className="connection-title">
          <h2 id={titleId}>{profile.name}</h2>
          <p className="muted">
            {profile.gateway.host}
            {' · '}
            {AUTH_LABELS[profile.auth.method] ?? profile.auth.method}
          </p>
          {view.managedBy !== undefined && (
            <p className="badges">
              <span className="badge managed" title={`Managed by ${view.managedBy}`}>
                <Icon name="lock" size={12} /> Managed by {view.managedBy}
              </span>
            </p>
          )}
        </div>
        <p className="connection-status" role="status" aria-live="polite">
          {phase === 'connected' ? 'Connected' : phase === 'connecting' ? (mine && state.state === 'connecting' && state.reconnect !== undefined ? `Reconnecting… attempt ${state.reconnect.attempt}, offline ${formatMs(now - state.reconnect.since)}` : `Connecting… ${mine && state.state === 'connecting' ? formatMs(now - state.startedAt) : ''}`) : phase === 'disconnecting' ? 'Disconnecting…' : phase === 'error' ? 'Not connected' : 'Not connected'}
        </p>
        {button}
      </header>

      {phase === 'connecting' && (
        <StageTimeline
          order={order}
          finished={mine && state.state === 'connecting' ? state.stages : []}
          current={mine && state.state === 'connecting' ? { stage: state.stage, elapsedMs: now - state.stageStartedAt } : { stage: 'resolve', elapsedMs: 0 }}
        />
      )}

      {phase === 'connected' && mine && state.state === 'connected' && (
        <div className="connected-details">
          <dl className="facts">
            <div className="fact primary-fact">
              <dt>Your VPN address</dt>
              <dd data-testid="virtual-ip">{state.virtualIps.length > 0 ? state.virtualIps.join(', ') : 'none assigned'}</dd>
            </div>
            <div className="fact">
              <dt>Connected for</dt>
              <dd>{formatDuration(now - state.since)}</dd>
            </div>
            <div className="fact">
              <dt>Gateway</dt>
              <dd>
                {state.gateway.host}
                {state.gateway.address !== state.gateway.host && <span className="muted"> ({state.gateway.address})</span>}
              </dd>
            </div>
            <div className="fact">
              <dt>Received / sent</dt>
              <dd>
                {formatBytes(state.counters.bytesIn)} / {formatBytes(state.counters.bytesOut)}
              </dd>
            </div>
            <div className="fact">
              <dt>DNS</dt>
              <dd>{state.dns.length > 0 ? state.dns.join(', ') : 'unchanged'}</dd>
            </div>
            <div className="fact">
              <dt>Encryption</dt>
              <dd className="mono">
                IKE {state.algorithms.ike}
                <br />
                ESP {state.algorithms.esp}
                {state.encapsulation ? ' (UDP-encapsulated)' : ''}
              </dd>
            </div>
          </dl>
          <details className="timeline-details">
            <summary>Connected in {formatMs(state.connectMs)} — show steps</summary>
            <StageTimeline order={order} finished={state.stages} />
          </details>
        </div>
      )}

      {phase === 'error' && mine && state.state === 'error' && (
        <div className="failure" role="alert">
          <FailureText code={state.code} message={state.message} />
          {state.stages.length > 0 || state.stage !== undefined ? (
            <StageTimeline order={order} finished={state.stages} {...(state.stage === undefined ? {} : { failedAt: state.stage })} />
          ) : null}
        </div>
      )}

      {localError !== undefined && !(phase === 'error' && mine) && (
        <div className="failure" role="alert">
          <FailureText code={localError.code} message={localError.message} />
        </div>
      )}
    </article>
  );
}

export function FailureText({ code, message }: { code: string; message: string }) {
  const e = explainFailure(code, message);
  return (
    <div className="failure-text">
      <p className="failure-title">
        <Icon name="warn" /> {e.title}
      </p>
      {e.detail !== '' && <p className="failure-detail">{e.detail}</p>}
      {e.advice !== undefined && <p className="failure-advice">{e.advice}</p>}
      <p className="muted small">Error code: {code}</p>
    </div>
  );
}
