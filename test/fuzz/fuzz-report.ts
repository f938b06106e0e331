/** What every fuzzer returns to fuzz-main.ts (the codec fuzzer, and the session fuzzer when it lands). */
export interface FuzzReport {
  readonly messages: number;
  /** inputs that made the code under test throw or break an invariant */
  readonly uncaught: number;
  /** how to reproduce the first one (seed, message index, input) */
  readonly firstFailure?: string;
}
