/**
 * The renderer's view of the world, fed by `window.strait` events: helper
 * status, connection state, profiles and the live log. Components read it
 * with useAppState() (useSyncExternalStore), so an event re-renders only what
 * reads the changed part.
 */
import { createContext, useContext, useEffect, useState, useSyncExternalStore } from 'react';

import type { DesktopError, DesktopEvent, HelperStatus, ProfilesView, StraitDesktopApi } from '../../../native-helper/src/api/desktop.js';
import type { ConnectionState, LogRecord } from '../../../native-helper/src/api/rpc.js';

/** The log view keeps at most this many records in memory (the helper's own ring is the same size). */
export const MAX_LOG_RECORDS = 100_000;

export interface AppSnapshot {
  readonly helper: HelperStatus;
  readonly state: ConnectionState;
  readonly profiles: ProfilesView | undefined;
  readonly profilesError: DesktopError | undefined;
  readonly logs: readonly LogRecord[];
  /**
   * the last connection failure, kept after the state moves on, for the Logs
   * screen's explanation (the helpdesk asks about it even after a later
   * success); `connectedSince` says when a connect succeeded after it.
   */
  readonly lastFailure: { readonly code: string; readonly message: string; readonly profileName: string; readonly at: number; readonly connectedSince?: number } | undefined;
}

export class AppStore {
  private snapshot: AppSnapshot = {
    helper: { status: 'connecting' },
    state: { state: 'disconnected' },
    profiles: undefined,
    profilesError: undefined,
    logs: [],
    lastFailure: undefined,
  };
  private readonly listeners = new Set<() => void>();
  private unsubscribe: (() => void) | undefined;
  private lastSeq = -1;

  constructor(private readonly api: StraitDesktopApi) {}

  readonly subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  readonly get = (): AppSnapshot => this.snapshot;

  private set(patch: Partial<AppSnapshot>): void {
    this.snapshot = { ...this.snapshot, ...patch };
    for (const l of this.listeners) l();
  }

  start(): void {
    this.unsubscribe = this.api.onEvent((e) => this.onEvent(e));
    void this.api.helperStatus().then((r) => r.ok && this.set({ helper: r.value }));
    void this.refreshState();
    void this.refreshProfiles();
  }

  stop(): void {
    this.unsubscribe?.();
  }

  async refreshState(): Promise<void> {
    const r = await this.api.status();
    if (r.ok) this.setState(r.value);
  }

  async refreshProfiles(): Promise<void> {
    const r = await this.api.listProfiles();
    this.set(r.ok ? { profiles: r.value, profilesError: undefined } : { profilesError: r.error });
  }

  /** Loads the helper's recent log and merges it with what arrived live. */
  async loadLogs(): Promise<DesktopError | undefined> {
    const r = await this.api.logs({ limit: 10_000 });
    if (!r.ok) return r.error;
    const bySeq = new Map<number, LogRecord>();
    for (const rec of r.value.records) bySeq.set(rec.seq, rec);
    for (const rec of this.snapshot.logs) bySeq.set(rec.seq, rec);
    const merged = [...bySeq.values()].sort((a, b) => a.seq - b.seq).slice(-MAX_LOG_RECORDS);
    this.lastSeq = merged.at(-1)?.seq ?? this.lastSeq;
    this.set({ logs: merged });
    return undefined;
  }

  setState(state: ConnectionState): void {
    const previous = this.snapshot.lastFailure;
    const lastFailure =
      state.state === 'error'
        ? { code: state.code, message: state.message, profileName: state.profileName, at: state.at }
        : state.state === 'connected' && previous !== undefined && previous.connectedSince === undefined
          ? { ...previous, connectedSince: Date.now() }
          : previous;
    this.set({ state, lastFailure });
  }

  private pendingLogs: LogRecord[] = [];
  private flushScheduled = false;

  /**
   * Live records are batched: a burst (straitd replaying its ring, a chatty
   * debug session) becomes one state update per tick instead of one copy of
   * the whole list per record.
   */
  private appendLog(record: LogRecord): void {
    // seq restarts when straitd restarts: then keep everything and start counting again.
    if (record.seq <= this.lastSeq && record.seq !== 0) return;
    this.lastSeq = record.seq;
    this.pendingLogs.push(record);
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setTimeout(() => {
      this.flushScheduled = false;
      const batch = this.pendingLogs;
      this.pendingLogs = [];
      const merged = this.snapshot.logs.concat(batch);
      this.set({ logs: merged.length > MAX_LOG_RECORDS ? merged.slice(merged.length - MAX_LOG_RECORDS) : merged });
    }, 0);
  }

  private onEvent(e: DesktopEvent): void {
    switch (e.kind) {
      case 'helper':
        this.set({ helper: e.helper });
        if (e.helper.status === 'up') {
          void this.refreshState();
          void this.refreshProfiles();
        }
        break;
      case 'state':
        this.setState(e.state);
        break;
      case 'stage':
        break; // the state event that follows carries the timeline
      case 'log':
        this.appendLog(e.record);
        break;
      case 'profiles-changed':
        void this.refreshProfiles();
        break;
    }
  }
}

export const StoreContext = createContext<AppStore | undefined>(undefined);

export function useStore(): AppStore {
  const store = useContext(StoreContext);
  if (store === undefined) throw new Error('useStore outside StoreContext');
  return store;
}

export function useAppState<T>(select: (s: AppSnapshot) => T): T {
  const store = useStore();
  return useSyncExternalStore(store.subscribe, () => select(store.get()));
}

/** A clock that re-renders every `ms` while `active` (elapsed times, durations). */
export function useNow(active: boolean, ms = 1000): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    if (!active) return;
    setNow(Date.now());
    const t = setInterval(() => setNow(Date.now()), ms);
    return () => clearInterval(t);
  }, [active, ms]);
  return now;
}
