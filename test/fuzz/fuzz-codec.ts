/**
 * The codec fuzzer: mutated golden messages go through `decodeMessage`,
 * which must return (never throw); whatever decodes is re-encoded and
 * decoded again and must come back identical (RFC-valid values survive a
 * round trip, and every value the decoder accepts, the encoder can write).
 */
import { DecodeError } from '../../native-helper/src/ike/codec/errors.js';
import type { DecodeResult } from '../../native-helper/src/ike/codec/errors.js';
import { decodeMessage, encodeMessage } from '../../native-helper/src/ike/codec/message.js';
import type { IkeMessage } from '../../native-helper/src/ike/codec/types.js';
import type { FuzzReport } from './fuzz-report.js';
import { goldenMessages } from './golden.js';
import { analyze, mutate, Prng } from './mutate.js';
import type { Golden } from './mutate.js';

export interface CodecFuzzReport extends FuzzReport {
  /** mutated messages that decoded successfully (a measure of how deep the fuzzing reaches) */
  readonly accepted: number;
}

let corpus: readonly Golden[] | undefined;

/** The golden corpus, analysed once per process. */
export function codecCorpus(): readonly Golden[] {
  corpus ??= goldenMessages().map(analyze);
  return corpus;
}

const hex = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.length).toString('hex');

function describeError(e: unknown): string {
  return e instanceof Error ? (e.stack ?? `${e.name}: ${e.message}`) : String(e);
}

/**
 * Structural equality for decoded values (plain objects, arrays, numbers,
 * booleans, Uint8Array); much cheaper than util.isDeepStrictEqual, which
 * dominated the fuzzer's profile. Keys must match exactly, so an optional
 * field present on one side only is a difference.
 */
export function sameValue(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (a instanceof Uint8Array || b instanceof Uint8Array) {
    if (!(a instanceof Uint8Array && b instanceof Uint8Array) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
    return true;
  }
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  if (ka.length !== kb.length) return false;
  const ra = a as Record<string, unknown>;
  const rb = b as Record<string, unknown>;
  for (const k of ka) {
    if (!Object.hasOwn(rb, k) || !sameValue(ra[k], rb[k])) return false;
  }
  return true;
}

/** The two functions under test; injectable so the harness itself can be tested against a broken codec. */
export interface CodecUnderTest {
  readonly decode: (datagram: Uint8Array) => DecodeResult<IkeMessage>;
  readonly encode: typeof encodeMessage;
}

const REAL_CODEC: CodecUnderTest = { decode: decodeMessage, encode: encodeMessage };

/** Returns why `input` breaks the codec's contract, or undefined if it does not; the second value says whether it decoded. */
function check(codec: CodecUnderTest, input: Uint8Array): [problem: string | undefined, accepted: boolean] {
  let first;
  try {
    first = codec.decode(input);
  } catch (e) {
    return [`decodeMessage threw: ${describeError(e)}`, false];
  }
  if (!first.ok) return [first.error instanceof DecodeError ? undefined : 'decodeMessage returned an error that is not a DecodeError', false];
  let again: Uint8Array;
  try {
    again = codec.encode(first.value.header, first.value.payloads);
  } catch (e) {
    return [`re-encoding a decoded message threw: ${describeError(e)}`, true];
  }
  let second;
  try {
    second = codec.decode(again);
  } catch (e) {
    return [`decoding the re-encoded message threw: ${describeError(e)}`, true];
  }
  if (!second.ok) return [`the re-encoded message does not decode: ${second.error.code} ${second.error.message}\nre-encoded=${hex(again)}`, true];
  if (!sameValue(second.value, first.value)) return [`decode(encode(m)) differs from m\nre-encoded=${hex(again)}`, true];
  return [undefined, true];
}

export function fuzzCodec(count: number, seed: number): CodecFuzzReport {
  return fuzzCodecWith(REAL_CODEC, count, seed);
}

export function fuzzCodecWith(codec: CodecUnderTest, count: number, seed: number): CodecFuzzReport {
  const golden = codecCorpus();
  const rng = new Prng(seed);
  let uncaught = 0;
  let accepted = 0;
  let firstFailure: string | undefined;
  for (let i = 0; i < count; i++) {
    const { bytes, ops } = mutate(golden, rng);
    const [problem, ok] = check(codec, bytes);
    if (ok) accepted++;
    if (problem !== undefined) {
      uncaught++;
      firstFailure ??= `seed=${seed} message=${i} ops=${ops.join(',')}: ${problem}\ninput=${hex(bytes)}`;
    }
  }
  return firstFailure === undefined ? { messages: count, uncaught, accepted } : { messages: count, uncaught, accepted, firstFailure };
}
