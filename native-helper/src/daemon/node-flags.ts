/**
 * The V8 options straitd is started with (build/linux/straitd.service and
 * the lab's launcher put them on node's command line; a unit test keeps
 * the three in step). They must be on the command line: V8 reads its
 * threading options when the isolate is set up, and changing the garbage
 * collector's threading later aborts the process (seen: a CHECK failure in
 * the concurrent marker after v8.setFlagsFromString('--single-threaded')).
 *
 * Why these. straitd is I/O-bound: per connect it runs a few milliseconds
 * of JavaScript around kernel calls and cryptography that live in native
 * code. Measured in the lab (strace of a connect; User-Mode Linux, where
 * every system call costs ~45-90 µs because there is no vDSO):
 * - V8's optimizing tiers (Sparkplug, TurboFan) compiled during connects
 *   and read the monotonic clock 50-190 times per connect doing so, and
 *   their code grew the code space by 20-80 KB per connect. With
 *   --no-opt --no-sparkplug the clock reads on a connect fell from 115-258
 *   to 67-78; the interpreter runs straitd's few milliseconds of JavaScript
 *   with no measurable loss.
 * - V8's helper threads (parallel scavenge, concurrent marking and
 *   sweeping) hand work over with futexes: 16-30 system calls on other
 *   threads per connect, and context switches, on what may be a single
 *   CPU. --single-threaded does that work on the main thread instead:
 *   in 3 of 4 traced connects no other thread made a system call (3 in
 *   the fourth, which a full collection fell into); the heap is ~12 MB.
 * Together (bench, same lab run as strongSwan's client): straitd's CPU per
 * connect 105-140 ms → 85 ms and the connect ratio 2.1-2.5 → 1.76.
 *
 * --expose-gc lets straitd empty the young generation between connects
 * (idle-gc.ts); no code but straitd's own runs in this process.
 */
export const STRAITD_NODE_FLAGS = ['--no-opt', '--no-sparkplug', '--single-threaded', '--expose-gc'] as const;

/** The options of STRAITD_NODE_FLAGS this process was not started with. */
export function missingNodeFlags(execArgv: readonly string[]): string[] {
  return STRAITD_NODE_FLAGS.filter((f) => !execArgv.includes(f));
}
