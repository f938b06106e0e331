/**
 * Errors of the platform layer. Every failure the OS backend reports is a
 * `PlatformError` carrying the stable failure code `PLATFORM_ERROR`
 * (api/errors.ts) plus a machine-readable `reason`.
 *
 * Secrets rule (DESIGN.md): a PlatformError never contains the command
 * script it ran (the `ip -batch` script holds ESP keys), only the operation,
 * a secret-free description and the kernel's own message after redaction.
 */
import type { FailureCode } from '../api/errors.js';

export type PlatformErrorReason =
  /** an `ip`/`resolvectl` command exited non-zero */
  | 'command-failed'
  /** the command could not be started (binary missing, permissions) */
  | 'spawn-failed'
  /** the command did not finish in time and was killed */
  | 'timeout'
  /** the ChildSaSpec / configuration cannot be expressed (bad key length, mixed families, …) */
  | 'invalid-spec'
  /** an IKEv2 transform the kernel mapping does not cover (RFC 8221: DES, MD5, NULL are refused) */
  | 'unsupported-algorithm'
  /** the object exists already and belongs to someone else (e.g. another IPsec daemon's policy) */
  | 'conflict'
  /** the caller asked for something that is not there (unknown CHILD_SA id) */
  | 'not-found'
  /** the operation is not allowed in the backend's current state (e.g. sweep while a tunnel is up) */
  | 'busy'
  /** reading/writing the journal or resolv.conf failed */
  | 'io'
  /** this OS backend is not implemented (or not on this OS) */
  | 'unsupported-platform';

export class PlatformError extends Error {
  override readonly name: string = 'PlatformError';
  readonly code: FailureCode = 'PLATFORM_ERROR';
  constructor(
    readonly reason: PlatformErrorReason,
    /** what the backend was doing, e.g. "installChildSa", "applyConfig/routes" */
    readonly operation: string,
    message: string,
    /** secret-free extras for logs: exit code, the kernel's (redacted) message */
    readonly details: Readonly<Record<string, string | number | boolean>> = {},
  ) {
    super(`${operation}: ${message}`);
  }
}

/** Thrown by the Windows/macOS stubs and by `createPlatformBackend` on an OS without a backend. */
export class PlatformUnsupportedError extends PlatformError {
  override readonly name = 'PlatformUnsupportedError';
  constructor(
    /** the backend that was asked ("windows-ras", "macos-nevpn") */
    readonly backend: string,
    /** the OS the process runs on (process.platform) */
    readonly runningOn: string,
    operation: string,
    message: string,
  ) {
    super('unsupported-platform', operation, message, { backend, runningOn });
  }
}

export const isPlatformError = (e: unknown): e is PlatformError => e instanceof PlatformError;
