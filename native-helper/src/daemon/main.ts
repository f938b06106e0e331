#!/usr/bin/env node
/**
 * straitd's process entry. It only sets V8 flags, then loads the daemon
 * (straitd.ts): the flags must be in place before that code is compiled.
 *
 * Why: V8 compiles a function the first time it runs and throws the
 * bytecode of long-unused functions away again. A connect runs a few
 * hundred functions of ours, once each, minutes or days apart — so every
 * connect paid for compiling most of them, and each compilation reads the
 * monotonic clock several times. Where that clock is a system call (User-
 * Mode Linux has no vDSO: ~45 µs a read) the first connect made ~5,600 clock
 * reads; measured with a breakpoint on Compiler::Compile, an engine-only
 * connect compiled 801 functions lazily (514 ms under the debugger) and 219
 * with these flags (30 ms). The price is a start-up that compiles
 * everything once, and bytecode kept in memory for the daemon's life.
 *
 *   --no-lazy            compile each module's functions when it loads
 *   --no-flush-bytecode  keep that bytecode across idle garbage collections
 */
import { setFlagsFromString } from 'node:v8';

export const STRAITD_V8_FLAGS = ['--no-lazy', '--no-flush-bytecode'] as const;

for (const flag of STRAITD_V8_FLAGS) setFlagsFromString(flag);
const { main } = await import('./straitd.js');
await main();
