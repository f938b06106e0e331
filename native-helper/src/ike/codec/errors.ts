/**
 * The one error type the codec produces. Decoding untrusted bytes never
 * throws anything else: `decodeMessage` and friends catch `DecodeError`
 * and return it as a value, and the fuzz test asserts that nothing else
 * escapes.
 */
export type DecodeErrorCode =
  /** fewer bytes than a field or declared length needs */
  | 'TRUNCATED'
  /** a length field smaller than its own header, or not a multiple it must be */
  | 'BAD_LENGTH'
  /** bytes left over after a structure that must fill its container */
  | 'TRAILING_BYTES'
  /** a value outside what the RFC allows (e.g. nonce < 16 octets) */
  | 'INVALID_VALUE'
  /** RFC 7296 §2.5: an unknown payload with the critical bit set */
  | 'UNSUPPORTED_CRITICAL_PAYLOAD'
  /** RFC 7296 §3.1: not IKEv2 */
  | 'INVALID_MAJOR_VERSION';

export class DecodeError extends Error {
  override readonly name = 'DecodeError';
  constructor(
    readonly code: DecodeErrorCode,
    /** where: e.g. "SA/proposal[1]/transform[2]/attribute" */
    readonly path: string,
    /** byte offset within the buffer being read */
    readonly offset: number,
    detail: string,
    /** for UNSUPPORTED_CRITICAL_PAYLOAD: the payload type (RFC 7296 §3.10.1 notify data) */
    readonly payloadType?: number,
  ) {
    // A DecodeError is an expected outcome for hostile input, returned as a
    // value; `path` and `offset` say where it arose. Capturing a stack trace
    // would cost more than decoding the message (a third of the fuzzer's time),
    // so none is captured. Synchronous, so restoring the limit is safe.
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    super(`${path} @${offset}: ${detail}`);
    Error.stackTraceLimit = limit;
  }
}

export type DecodeResult<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: DecodeError };

/** Runs a decoder that may throw DecodeError and turns it into a value. Other throws are bugs and propagate. */
export function tryDecode<T>(fn: () => T): DecodeResult<T> {
  try {
    return { ok: true, value: fn() };
  } catch (e) {
    if (e instanceof DecodeError) return { ok: false, error: e };
    throw e;
  }
}
