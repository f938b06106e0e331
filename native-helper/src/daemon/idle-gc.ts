/**
 * Empties V8's young generation while straitd has nothing to do: shortly
 * after a connect finished (Connected or Error) or a disconnect did, and
 * never while one is under way.
 *
 * Why: a connect allocates several hundred KB of short-lived objects (IKE
 * messages, netlink requests, log records; a heap profile in the lab put a
 * connect and its disconnect at ~1.4 MB). Left to itself V8 scavenges when the
 * young generation fills up, which is as often as not in the middle of the
 * next connect — in the lab a scavenge ran while the gateway was working
 * on our IKE_SA_INIT, on the same single CPU, and one took 25-170 ms there
 * (User-Mode Linux: every page fault and futex is a trip to the host). A
 * scavenge started here instead finds the young generation holding one
 * connect's garbage and leaves the next connect an empty one.
 *
 * Needs node's --expose-gc (daemon/node-flags.ts); without it this does
 * nothing. `gc({ type: 'minor' })` is V8's scavenge only, not a full
 * mark-compact.
 */

export type MinorGc = () => void;

/** The `gc` function --expose-gc installs, called for a scavenge; undefined without the flag. */
export function exposedMinorGc(): MinorGc | undefined {
  const g: unknown = (globalThis as { gc?: unknown }).gc;
  if (typeof g !== 'function') return undefined;
  return () => (g as (o: { type: 'minor' }) => void)({ type: 'minor' });
}

export class IdleCollector {
  private timer: NodeJS.Timeout | undefined;
  /** scavenges run so far (diagnostics, tests) */
  runs = 0;

  constructor(
    private readonly gc: MinorGc | undefined,
    /** quiet time after the last activity before collecting: replies and log writes go first */
    private readonly delayMs = 200,
  ) {}

  /** Something finished: collect once things have been quiet for delayMs (a later call restarts the wait). */
  settled(): void {
    if (this.gc === undefined) return;
    this.cancel();
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.runs++;
      this.gc?.();
    }, this.delayMs);
    this.timer.unref(); // never what keeps the process alive
  }

  /** Work started: no collection until it settles again. */
  busy(): void {
    this.cancel();
  }

  cancel(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }
}
