#!/usr/bin/env node
/**
 * straitd's process entry. It only sets a V8 flag, then loads the daemon
 * (straitd.ts): the flag must be in place before that code runs.
 *
 * Why: V8 compiles a function the first time it runs and, by default,
 * throws the bytecode of long-unused functions away again. A connect runs a
 * few hundred functions of ours, once each, minutes or days apart, so every
 * connect paid for compiling most of them again, and each compilation reads
 * the monotonic clock several times: where that clock is a system call
 * (User-Mode Linux has no vDSO: ~45 µs a read) a connect made hundreds of
 * clock reads (measured with strace in the lab; a breakpoint on
 * Compiler::Compile showed where they come from). Keeping the bytecode costs
 * memory for the daemon's life, a few MB.
 *
 * Not --no-lazy (compile every function when its module loads): it took the
 * first connect's clock reads from ~5,600 to ~1,560, but in the lab it made
 * straitd's start take tens of seconds.
 *
 * The other V8 options straitd is tuned for (no optimizing tiers, no GC
 * helper threads) cannot be set from here: see node-flags.ts.
 */
import { setFlagsFromString } from 'node:v8';

export const STRAITD_V8_FLAGS = ['--no-flush-bytecode'] as const;

for (const flag of STRAITD_V8_FLAGS) setFlagsFromString(flag);
const { main } = await import('./straitd.js');
await main();
