/**
 * Logs for the helpdesk: the last failure explained in plain words at the
 * top, filters (level, session, text), the live virtualised list, and copy /
 * export of exactly what is filtered.
 */
import { useDeferredValue, useEffect, useMemo, useState } from 'react';

import { LOG_LEVELS, type LogLevel, type LogRecord } from '../../../../native-helper/src/api/rpc.js';
import { VirtualList } from '../../components/VirtualList.js';
import { downloadText } from '../../lib/format.js';
import { useAppState, useStore } from '../../lib/store.js';
import { FailureText } from '../connections/ConnectionCard.js';
import { filterLogs, formatLogLine, sessionsIn, type LogFilter } from './filter.js';

const LEVEL_WORDS: Readonly<Record<LogLevel, string>> = { debug: 'Everything (debug)', info: 'Info and above', warn: 'Warnings and errors', error: 'Errors only' };

function LogRow({ record }: { record: LogRecord }) {
  const time = record.ts.slice(11, 23);
  return (
    <div className={`log-row level-${record.level}`}>
      <span className="log-time">{time}</span>
      <span className={`log-level ${record.level}`}>{record.level}</span>
      <span className="log-component">{record.component}</span>
      <span className="log-message" title={formatLogLine(record)}>
        {record.message}
      </span>
    </div>
  );
}

export function LogsView() {
  const store = useStore();
  const logs = useAppState((s) => s.logs);
  const lastFailure = useAppState((s) => s.lastFailure);
  const [loadError, setLoadError] = useState<string>();
  const [level, setLevel] = useState<LogLevel>('info');
  const [session, setSession] = useState('');
  const [text, setText] = useState('');
  const [copied, setCopied] = useState(false);
  const deferredText = useDeferredValue(text);

  useEffect(() => {
    void store.loadLogs().then((e) => setLoadError(e?.message));
  }, [store]);

  const shown = useMemo(() => filterLogs(logs, { level, session, text: deferredText } satisfies LogFilter), [logs, level, session, deferredText]);
  const sessions = useMemo(() => sessionsIn(logs), [logs]);

  const copy = async () => {
    await navigator.clipboard.writeText(shown.map(formatLogLine).join('\n'));
    setCopied(true);
    setTimeout(() => setCopied(false), 2000);
  };

  return (
    <section aria-label="Logs" className="logs-view">
      {lastFailure !== undefined && (
        <div className={`card explain ${lastFailure.connectedSince === undefined ? 'failure' : 'resolved'}`} role="region" aria-label="Last problem">
          <p className="muted small">
            Last problem: {lastFailure.profileName}, {new Date(lastFailure.at).toLocaleString()}
            {lastFailure.connectedSince !== undefined && <> — connected again since {new Date(lastFailure.connectedSince).toLocaleString()}</>}
          </p>
          <FailureText code={lastFailure.code} message={lastFailure.message} />
        </div>
      )}
      <div className="toolbar" role="search">
        <label>
          Show
          <select value={level} onChange={(e) => setLevel(e.target.value as LogLevel)}>
            {LOG_LEVELS.map((l) => (
              <option key={l} value={l}>
                {LEVEL_WORDS[l]}
              </option>
            ))}
          </select>
        </label>
        <label>
          Connection
          <select value={session} onChange={(e) => setSession(e.target.value)}>
            <option value="">All connections</option>
            {sessions.map((s) => (
              <option key={s.id} value={s.id}>
                {new Date(s.firstTs).toLocaleString()} ({s.id.slice(0, 8)})
              </option>
            ))}
          </select>
        </label>
        <label className="grow">
          Search
          <input type="search" placeholder="Text in the message or event" value={text} onChange={(e) => setText(e.target.value)} />
        </label>
        <div className="toolbar-actions">
        <button type="button" className="button secondary" onClick={() => void copy()} disabled={shown.length === 0}>
          {copied ? 'Copied' : 'Copy'}
        </button>
        <button type="button" className="button secondary" onClick={() => downloadText(`strait-log-${new Date().toISOString().slice(0, 19).replace(/:/gu, '-')}.txt`, `${shown.map(formatLogLine).join('\n')}\n`, 'text/plain')} disabled={shown.length === 0}>
          Export…
        </button>
        </div>
      </div>
      <p className="muted small" aria-live="polite" data-testid="log-count">
        {shown.length === logs.length ? `${logs.length.toLocaleString()} records` : `${shown.length.toLocaleString()} of ${logs.length.toLocaleString()} records`}
      </p>
      {loadError !== undefined && <p className="form-error">{loadError}</p>}
      <VirtualList className="log-list" items={shown} rowRem={1.75} rowKey={(r) => r.seq} renderRow={(r) => <LogRow record={r} />} label="Log records" follow />
    </section>
  );
}
