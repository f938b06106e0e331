/** Log filtering (pure, so it is unit-tested on 100,000 records). */
import { logLevelRank, type LogLevel, type LogRecord } from '../../../../native-helper/src/api/rpc.js';

export interface LogFilter {
  /** minimum level */
  readonly level: LogLevel;
  /** a session id, or '' for all */
  readonly session: string;
  /** case-insensitive text in message, event or component */
  readonly text: string;
}

export function filterLogs(records: readonly LogRecord[], filter: LogFilter): readonly LogRecord[] {
  const min = logLevelRank(filter.level);
  const text = filter.text.trim().toLowerCase();
  if (min === 0 && filter.session === '' && text === '') return records;
  return records.filter(
    (r) =>
      logLevelRank(r.level) >= min &&
      (filter.session === '' || r.session === filter.session) &&
      (text === '' || r.message.toLowerCase().includes(text) || r.event.toLowerCase().includes(text) || r.component.toLowerCase().includes(text)),
  );
}

/** Sessions seen in the log, newest first, for the session filter. */
export function sessionsIn(records: readonly LogRecord[]): { id: string; firstTs: string }[] {
  const seen = new Map<string, string>();
  for (const r of records) if (r.session !== null && !seen.has(r.session)) seen.set(r.session, r.ts);
  return [...seen.entries()].map(([id, firstTs]) => ({ id, firstTs })).reverse();
}

const fieldText = (fields: LogRecord['fields']): string =>
  Object.entries(fields)
    .map(([k, v]) => `${k}=${Array.isArray(v) ? v.join(',') : String(v)}`)
    .join(' ');

/** One line per record, as the helpdesk pastes it into a ticket. */
export const formatLogLine = (r: LogRecord): string =>
  `${r.ts} ${r.level.toUpperCase().padEnd(5)} ${r.component}${r.session === null ? '' : ` [${r.session.slice(0, 8)}]`} ${r.event}: ${r.message}${Object.keys(r.fields).length > 0 ? ` (${fieldText(r.fields)})` : ''}`;
