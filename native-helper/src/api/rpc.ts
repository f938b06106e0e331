/**
 * The straitd RPC contract: every method, its params and result, the error
 * codes and the event notifications, as valibot schemas with inferred types.
 * straitd (daemon/), the CLI (cli/), Electron main and the preload import it;
 * the renderer imports the types. This file must stay free of Node built-ins.
 *
 * Wire format
 * -----------
 * - Transport: a local stream socket (`/run/strait/straitd.sock`, mode 0660,
 *   group `strait`). Each message is ONE line: a JSON-RPC 2.0 object
 *   (https://www.jsonrpc.org/specification) encoded as UTF-8 JSON, terminated
 *   by "\n" (newline-delimited JSON). JSON.stringify never emits a raw
 *   newline, so a line is always a whole message.
 * - A line is at most MAX_LINE_BYTES (1 MiB) including the "\n". A longer line
 *   is answered with MESSAGE_TOO_LARGE (id null) and the connection closed.
 * - Client → server: requests `{"jsonrpc":"2.0","id":<int|string>,"method":M,"params":{...}}`.
 *   `params` is always an object (by-name) and may be omitted when every field
 *   is optional. Batches (arrays) are not supported: answered with
 *   INVALID_REQUEST. Client notifications (no `id`) are ignored, as the spec says.
 * - Server → client: responses `{"jsonrpc":"2.0","id":..,"result":R}` or
 *   `{"jsonrpc":"2.0","id":..,"error":{"code":C,"message":"...","data":D}}`,
 *   and, after `subscribe`, notifications `{"jsonrpc":"2.0","method":"strait.state"|
 *   "strait.stage"|"strait.log","params":{...}}`. Responses may come out of
 *   order (connect is long-running); correlate by `id`.
 * - Errors: JSON-RPC's codes (-32700 … -32603) for framing and validation,
 *   -32000 … -32099 for Strait's. A failed connection attempt is
 *   CONNECT_FAILED with `data.failure` = a stable FailureCode (api/errors.ts)
 *   and the plain-language `message`; invalid params carry `data.issues`
 *   ({path: RFC 6901 pointer, message}) and never echo the input (it may hold
 *   a secret).
 * - Per connection the server bounds the request rate (RATE_LIMITED) and the
 *   number of requests in flight.
 *
 * Timestamps in state and events are milliseconds since the Unix epoch;
 * log records carry an ISO 8601 `ts` (they are also the on-disk format).
 */
import * as v from 'valibot';

import { FailureCodes, type FailureCode } from './errors.js';
import { ConnectSecretsSchema, ProfileSchema, toIssues, type ProfileIssue } from './profile.js';

export const RPC_PROTOCOL_VERSION = 1 as const;
/** Longest accepted line, in bytes, including the terminating "\n". */
export const MAX_LINE_BYTES = 1024 * 1024;
export const DEFAULT_SOCKET_PATH = '/run/strait/straitd.sock';

// ---------------------------------------------------------------- error codes

export const RpcErrorCode = {
  // JSON-RPC 2.0 §5.1
  PARSE_ERROR: -32700,
  INVALID_REQUEST: -32600,
  METHOD_NOT_FOUND: -32601,
  INVALID_PARAMS: -32602,
  INTERNAL_ERROR: -32603,
  // Strait (server-defined range -32000 … -32099)
  /** the connection attempt failed; `data.failure` says why */
  CONNECT_FAILED: -32000,
  /** another connection is active or in progress; disconnect first */
  BUSY: -32001,
  /** the request names a profile that is not the active one */
  NOT_CONNECTED: -32002,
  /** too many requests per second, or too many in flight, on this socket connection */
  RATE_LIMITED: -32003,
  /** a line longer than MAX_LINE_BYTES; the server closes the connection after answering */
  MESSAGE_TOO_LARGE: -32004,
  /** straitd is stopping and takes no new work */
  SHUTTING_DOWN: -32005,
} as const;
export type RpcErrorCode = (typeof RpcErrorCode)[keyof typeof RpcErrorCode];
const RPC_ERROR_CODES: ReadonlySet<number> = new Set(Object.values(RpcErrorCode));
export const isRpcErrorCode = (n: unknown): n is RpcErrorCode => typeof n === 'number' && RPC_ERROR_CODES.has(n);

// ---------------------------------------------------------------- shared pieces

const failureCodeSchema = v.picklist(Object.keys(FailureCodes) as [FailureCode, ...FailureCode[]]);
const epochMs = v.pipe(v.number(), v.integer(), v.minValue(0));
const count = v.pipe(v.number(), v.integer(), v.minValue(0));
const shortText = (max: number) => v.pipe(v.string(), v.maxLength(max));
const uuid = v.pipe(v.string(), v.uuid());

export const LOG_LEVELS = ['debug', 'info', 'warn', 'error'] as const;
export const LogLevelSchema = v.picklist(LOG_LEVELS, 'level must be one of debug, info, warn, error');
export type LogLevel = v.InferOutput<typeof LogLevelSchema>;
export const logLevelRank = (l: LogLevel): number => LOG_LEVELS.indexOf(l);

/**
 * The stages of a connection attempt, in order. `ike_auth` and `eap` are the
 * IKE_AUTH exchange (RFC 7296 §1.2, RFC 7296 §2.16); `install` puts the
 * CHILD_SA into the kernel; `configure` applies virtual IP, routes and DNS.
 * `connected` is reached, never spent in: it closes the timeline.
 */
/** `probe`: after a reconnect, proving the data path before Connected again (daemon/data-path-probe.ts) */
export const STAGES = ['resolve', 'ike_sa_init', 'ike_auth', 'eap', 'install', 'configure', 'probe', 'connected'] as const;
export const StageSchema = v.picklist(STAGES);
export type Stage = v.InferOutput<typeof StageSchema>;
/** A stage a Connecting state can be in. */
export type ActiveStage = Exclude<Stage, 'connected'>;
const ActiveStageSchema = v.picklist(STAGES.filter((s): s is ActiveStage => s !== 'connected') as [ActiveStage, ...ActiveStage[]]);

/** One finished stage of the timeline. */
export const StageTimingSchema = v.strictObject({ stage: ActiveStageSchema, startedAt: epochMs, ms: count });
export type StageTiming = v.InferOutput<typeof StageTimingSchema>;

export const TrafficCountersSchema = v.strictObject({ bytesIn: count, bytesOut: count, packetsIn: count, packetsOut: count });
export type TrafficCountersView = v.InferOutput<typeof TrafficCountersSchema>;

const ProfileRefSchema = { sessionId: uuid, profileId: uuid, profileName: shortText(200) };

// ---------------------------------------------------------------- connection state

export const DisconnectedStateSchema = v.strictObject({ state: v.literal('disconnected') });

export const ConnectingStateSchema = v.strictObject({
  state: v.literal('connecting'),
  ...ProfileRefSchema,
  gateway: v.strictObject({ host: shortText(253), port: count }),
  startedAt: epochMs,
  stage: ActiveStageSchema,
  stageStartedAt: epochMs,
  /** stages already finished, in order */
  stages: v.array(StageTimingSchema),
  /**
   * present when the tunnel was up and is being re-established automatically
   * (dead peer, gateway deleted the IKE SA or restarted, RFC 4478 reauthentication)
   */
  reconnect: v.optional(
    v.strictObject({
      /** when the tunnel was lost */
      since: epochMs,
      /** reconnect attempts started so far (the one in progress included) */
      attempt: count,
      /** why the tunnel was lost, plain language */
      reason: shortText(1024),
      /** when the next attempt starts, while waiting between attempts */
      nextAttemptAt: v.optional(epochMs),
    }),
  ),
});

export const ConnectedStateSchema = v.strictObject({
  state: v.literal('connected'),
  ...ProfileRefSchema,
  gateway: v.strictObject({ host: shortText(253), address: shortText(64), port: count }),
  /** our address towards the gateway */
  localAddress: shortText(64),
  /** addresses the gateway assigned (RFC 7296 §3.15.1 INTERNAL_IP4/6_ADDRESS) */
  virtualIps: v.array(shortText(64)),
  dns: v.array(shortText(64)),
  /** negotiated suites in strongSwan proposal syntax, e.g. "aes256gcm16-prfsha256-ecp256" */
  algorithms: v.strictObject({ ike: shortText(256), esp: shortText(256) }),
  /** seconds: the profile's IKE SA lifetime; the CHILD_SA's soft (rekey) and hard (expiry) lifetimes */
  saLifetimes: v.strictObject({ ikeSeconds: count, childSoftSeconds: count, childHardSeconds: count }),
  /** RFC 3948 UDP encapsulation in use (NAT detected or forced) */
  encapsulation: v.boolean(),
  /** when the tunnel came up */
  since: epochMs,
  /** connect request → connected, ms */
  connectMs: count,
  stages: v.array(StageTimingSchema),
  /** kernel SA counters (inner bytes), read when the state was produced */
  counters: TrafficCountersSchema,
});

export const DisconnectingStateSchema = v.strictObject({
  state: v.literal('disconnecting'),
  ...ProfileRefSchema,
  since: epochMs,
  reason: shortText(1024),
});

export const ErrorStateSchema = v.strictObject({
  state: v.literal('error'),
  ...ProfileRefSchema,
  code: failureCodeSchema,
  /** plain language, naming the concrete mismatch */
  message: shortText(4096),
  at: epochMs,
  /** the stage the attempt failed in, if it failed while connecting */
  stage: v.optional(ActiveStageSchema),
  stages: v.array(StageTimingSchema),
});

export const ConnectionStateSchema = v.variant('state', [
  DisconnectedStateSchema,
  ConnectingStateSchema,
  ConnectedStateSchema,
  DisconnectingStateSchema,
  ErrorStateSchema,
]);
export type ConnectionState = v.InferOutput<typeof ConnectionStateSchema>;
export type DisconnectedState = v.InferOutput<typeof DisconnectedStateSchema>;
export type ConnectingState = v.InferOutput<typeof ConnectingStateSchema>;
export type ConnectedState = v.InferOutput<typeof ConnectedStateSchema>;
export type DisconnectingState = v.InferOutput<typeof DisconnectingStateSchema>;
export type ErrorState = v.InferOutput<typeof ErrorStateSchema>;

// ---------------------------------------------------------------- log records

const fieldValue = v.union([v.string(), v.number(), v.boolean(), v.null(), v.array(v.string())]);

/** One structured log record: the JSON-lines file format and the `logs`/`strait.log` payload. */
export const LogRecordSchema = v.strictObject({
  /** increases by one per record within a straitd run; lets `logs --follow` resume without duplicates */
  seq: count,
  /** ISO 8601, UTC */
  ts: v.pipe(v.string(), v.isoTimestamp()),
  level: LogLevelSchema,
  /** the connection's sessionId, or null for daemon-wide records */
  session: v.nullable(uuid),
  /** "daemon", "rpc", "supervisor", "ike", "platform" */
  component: shortText(32),
  /** stable machine name, e.g. "ike_sa_init.sent" */
  event: shortText(128),
  stage: v.optional(StageSchema),
  message: shortText(8192),
  fields: v.record(v.string(), fieldValue),
});
export type LogRecord = v.InferOutput<typeof LogRecordSchema>;
export type LogFieldValue = v.InferOutput<typeof fieldValue>;

// ---------------------------------------------------------------- methods

const noParams = v.optional(v.strictObject({}, 'this method takes no params'), {});

export const VersionResultSchema = v.strictObject({
  name: v.literal('straitd'),
  version: shortText(64),
  protocol: v.literal(RPC_PROTOCOL_VERSION),
  platform: shortText(32),
  /** the OS backend in use, e.g. "linux-xfrm" */
  backend: shortText(32),
  pid: count,
  startedAt: epochMs,
});

export const ConnectParamsSchema = v.strictObject(
  { profile: ProfileSchema, secrets: ConnectSecretsSchema },
  'connect takes { profile, secrets }',
);
export const ConnectResultSchema = v.strictObject({ state: ConnectedStateSchema });

export const DisconnectParamsSchema = v.optional(v.strictObject({ profileId: v.optional(uuid) }), {});
export const DisconnectResultSchema = v.strictObject({
  /** false when nothing was active (disconnect is idempotent) */
  wasActive: v.boolean(),
  /** the platform reported nothing left behind (SAs, policies, routes, DNS) */
  clean: v.boolean(),
  state: ConnectionStateSchema,
});

export const StatusResultSchema = v.strictObject({ state: ConnectionStateSchema, daemon: VersionResultSchema });

export const TOPICS = ['state', 'stage', 'log'] as const;
export const TopicSchema = v.picklist(TOPICS, 'topic must be one of state, stage, log');
export type Topic = v.InferOutput<typeof TopicSchema>;
export const SubscribeParamsSchema = v.strictObject({
  topics: v.pipe(v.array(TopicSchema), v.minLength(1, 'name at least one topic'), v.maxLength(TOPICS.length * 2)),
  /** lowest level of `strait.log` records sent; default info */
  logLevel: v.optional(LogLevelSchema, 'info'),
});
/** The current state comes back with the subscription so a client never misses a transition. */
export const SubscribeResultSchema = v.strictObject({ topics: v.array(TopicSchema), state: ConnectionStateSchema });
export const UnsubscribeParamsSchema = v.optional(v.strictObject({ topics: v.optional(v.array(TopicSchema)) }), {});
export const UnsubscribeResultSchema = v.strictObject({ topics: v.array(TopicSchema) });

export const LOGS_MAX_LIMIT = 10_000;
export const LogsParamsSchema = v.optional(
  v.strictObject({
    /** ms since the epoch, or an ISO 8601 timestamp: only records at or after it */
    since: v.optional(v.union([epochMs, v.pipe(v.string(), v.isoTimestamp('since must be ms since the epoch or an ISO 8601 timestamp'))])),
    /** only records after this sequence number (for following) */
    afterSeq: v.optional(count),
    /** minimum level */
    level: v.optional(LogLevelSchema),
    session: v.optional(uuid),
    /** case-insensitive substring of message or event */
    text: v.optional(v.pipe(v.string(), v.maxLength(256))),
    /** most recent N matching records; default 1000 */
    limit: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(LOGS_MAX_LIMIT)), 1000),
  }),
  { limit: 1000 },
);
export const LogsResultSchema = v.strictObject({
  records: v.array(LogRecordSchema),
  /** more records matched than `limit`: the oldest were left out */
  truncated: v.boolean(),
});

/** Every method: its params schema and its result schema. The server accepts these and nothing else. */
export const Methods = {
  version: { params: noParams, result: VersionResultSchema },
  status: { params: noParams, result: StatusResultSchema },
  connect: { params: ConnectParamsSchema, result: ConnectResultSchema },
  disconnect: { params: DisconnectParamsSchema, result: DisconnectResultSchema },
  subscribe: { params: SubscribeParamsSchema, result: SubscribeResultSchema },
  unsubscribe: { params: UnsubscribeParamsSchema, result: UnsubscribeResultSchema },
  logs: { params: LogsParamsSchema, result: LogsResultSchema },
} as const;

export type MethodName = keyof typeof Methods;
export type ParamsOf<M extends MethodName> = v.InferOutput<(typeof Methods)[M]['params']>;
/** What a caller passes (before defaults). */
export type ParamsInputOf<M extends MethodName> = v.InferInput<(typeof Methods)[M]['params']>;
export type ResultOf<M extends MethodName> = v.InferOutput<(typeof Methods)[M]['result']>;
export const isMethodName = (m: string): m is MethodName => Object.prototype.hasOwnProperty.call(Methods, m);

export type ConnectParams = ParamsOf<'connect'>;
export type LogsQuery = ParamsOf<'logs'>;

// ---------------------------------------------------------------- notifications

export const StateEventSchema = v.strictObject({ state: ConnectionStateSchema });
export const StageEventSchema = v.strictObject({
  sessionId: uuid,
  profileId: uuid,
  /** the stage just entered */
  stage: StageSchema,
  at: epochMs,
  /** the stage just finished, if any */
  finished: v.nullable(StageTimingSchema),
});

export const Notifications = {
  'strait.state': { topic: 'state', params: StateEventSchema },
  'strait.stage': { topic: 'stage', params: StageEventSchema },
  'strait.log': { topic: 'log', params: LogRecordSchema },
} as const;
export type NotificationName = keyof typeof Notifications;
export type NotificationParams<N extends NotificationName> = v.InferOutput<(typeof Notifications)[N]['params']>;
export type StraitNotification = { [N in NotificationName]: { readonly method: N; readonly params: NotificationParams<N> } }[NotificationName];
export const isNotificationName = (m: string): m is NotificationName => Object.prototype.hasOwnProperty.call(Notifications, m);

// ---------------------------------------------------------------- envelopes

export const RequestIdSchema = v.union([v.pipe(v.number(), v.integer()), v.pipe(v.string(), v.maxLength(128))]);
export type RequestId = v.InferOutput<typeof RequestIdSchema>;

/** The envelope of a request, before its params are checked against the method. */
export const RequestEnvelopeSchema = v.strictObject({
  jsonrpc: v.literal('2.0', 'jsonrpc must be "2.0"'),
  id: v.optional(RequestIdSchema),
  method: v.pipe(v.string('method must be a string'), v.maxLength(64, 'method name too long')),
  params: v.optional(v.unknown()),
});

export const ErrorDataSchema = v.strictObject({
  /** for CONNECT_FAILED: the stable failure code */
  failure: v.optional(failureCodeSchema),
  /** for INVALID_PARAMS: what is wrong, by RFC 6901 path */
  issues: v.optional(v.array(v.strictObject({ path: shortText(1024), message: shortText(1024) }))),
  /** for CONNECT_FAILED / BUSY: the state at the time */
  state: v.optional(ConnectionStateSchema),
});
export type RpcErrorData = v.InferOutput<typeof ErrorDataSchema>;

export const RpcErrorObjectSchema = v.strictObject({
  code: v.pipe(v.number(), v.integer()),
  message: v.string(),
  data: v.optional(ErrorDataSchema),
});
export type RpcErrorObject = v.InferOutput<typeof RpcErrorObjectSchema>;

/** Anything the server sends: a response (result or error) or a notification. */
export const ServerMessageSchema = v.union([
  v.strictObject({ jsonrpc: v.literal('2.0'), id: RequestIdSchema, result: v.unknown() }),
  v.strictObject({ jsonrpc: v.literal('2.0'), id: v.nullable(RequestIdSchema), error: RpcErrorObjectSchema }),
  v.strictObject({ jsonrpc: v.literal('2.0'), method: v.string(), params: v.unknown() }),
]);
export type ServerMessage = v.InferOutput<typeof ServerMessageSchema>;

/**
 * Turns valibot issues into the contract's `{path, message}`. valibot's
 * default messages end in `but received <value>`: that part is cut, because
 * the value may be a secret (a PSK in the wrong field) and errors are logged.
 */
export const paramIssues = (issues: readonly v.BaseIssue<unknown>[]): ProfileIssue[] =>
  toIssues(issues).map((i) => ({ path: i.path.slice(0, 1024), message: i.message.replace(/ but received [\s\S]*$/u, '').slice(0, 1024) }));

/** A plain-language line for an error a client received. */
export const describeRpcError = (e: RpcErrorObject): string => {
  if (e.data?.failure !== undefined) return `${e.message} [${e.data.failure}]`;
  if (e.data?.issues !== undefined && e.data.issues.length > 0) return `${e.message}: ${e.data.issues.map((i) => `${i.path === '' ? '(params)' : i.path}: ${i.message}`).join('; ')}`;
  return e.message;
};
