/**
 * The RPC methods of straitd, on top of the supervisor and the log store:
 * maps contract requests to supervisor calls and supervisor outcomes to
 * contract results and errors. No I/O of its own.
 */
import { RpcErrorCode, type ConnectionState, type ResultOf } from '../api/rpc.js';
import type { LogStore } from './log-store.js';
import { RpcFault, type RpcHandlers, type RpcServer } from './rpc-server.js';
import { BusyError, ConnectFailure, NotActiveError, type Supervisor } from './supervisor.js';

export interface ServiceOptions {
  readonly supervisor: Supervisor;
  readonly log: LogStore;
  readonly version: ResultOf<'version'>;
}

export function createHandlers(o: ServiceOptions): RpcHandlers {
  const { supervisor, log } = o;
  return {
    version: () => Promise.resolve(o.version),
    status: async () => ({ state: await supervisor.status(), daemon: o.version }),
    connect: async ({ profile, secrets }) => {
      try {
        return { state: await supervisor.connect(profile, secrets) };
      } catch (e) {
        if (e instanceof BusyError) throw new RpcFault(RpcErrorCode.BUSY, e.message, { state: e.state });
        if (e instanceof ConnectFailure) throw new RpcFault(RpcErrorCode.CONNECT_FAILED, e.message, { failure: e.code, state: e.state });
        throw e;
      }
    },
    disconnect: async ({ profileId }) => {
      try {
        return await supervisor.disconnect('requested by a client', profileId);
      } catch (e) {
        if (e instanceof NotActiveError) throw new RpcFault(RpcErrorCode.NOT_CONNECTED, e.message, { state: e.state });
        throw e;
      }
    },
    subscribe: ({ topics, logLevel }, ctx) => {
      topics.forEach((t) => ctx.topics.add(t));
      ctx.logLevel = logLevel;
      return Promise.resolve({ topics: [...ctx.topics], state: supervisor.state });
    },
    unsubscribe: ({ topics }, ctx) => {
      if (topics === undefined) ctx.topics.clear();
      else topics.forEach((t) => ctx.topics.delete(t));
      return Promise.resolve({ topics: [...ctx.topics] });
    },
    logs: (q) => Promise.resolve(log.query(q)),
  };
}

/** Wires supervisor and log events to subscribers. Returns an unhook function. */
export function publishEvents(supervisor: Supervisor, log: LogStore, server: RpcServer): () => void {
  const onState = (state: ConnectionState): void => server.broadcast('strait.state', { state });
  const onStage = (e: Parameters<typeof server.broadcast<'strait.stage'>>[1]): void => server.broadcast('strait.stage', e);
  supervisor.on('state', onState);
  supervisor.on('stage', onStage);
  const unLog = log.subscribe((r) => server.broadcast('strait.log', r, r.level));
  return () => {
    supervisor.off('state', onState);
    supervisor.off('stage', onStage);
    unLog();
  };
}
