/**
 * Moving a CHILD_SA to new outer addresses (MOBIKE, RFC 4555 §3.5) with
 * iproute2: the kernel identifies an SA by (destination, SPI, protocol) and
 * `ip xfrm state update` cannot change its source, and iproute2 has no
 * XFRM_MSG_MIGRATE. So both SAs are deleted and added again with the new
 * addresses, the same SPIs and keys, and the sequence-number state carried
 * over (`replay-seq` / `replay-oseq`): the gateway keeps its inbound replay
 * window across the move, and an outbound SA that restarted at 1 would have
 * its packets dropped as replays (RFC 4303 §3.4.3). Policies keep their
 * selectors; `policy update` points their templates at the new addresses.
 *
 * The sequence numbers are read just before the delete; packets sent in
 * between would reuse numbers, so the outbound counter jumps ahead by
 * OSEQ_MARGIN (gaps are harmless to the receiver, reuse is not).
 */
import type { BatchLine } from './ip-command.js';

/** Outbound sequence numbers skipped on a move: more than can leave during one `ip` run. */
export const OSEQ_MARGIN = 4096;

export interface ReplayState {
  readonly seq: number;
  readonly oseq: number;
  readonly seqHi: number;
  readonly oseqHi: number;
}

const hexField = (text: string, name: string): number | undefined => {
  // "seq 0x5," or "oseq-hi 0x0," — the names are matched as whole words
  const m = new RegExp(`(?:^|[\\s,])${name} 0x([0-9a-f]{1,8})\\b`).exec(text);
  return m?.[1] !== undefined ? Number.parseInt(m[1], 16) : undefined;
};

/**
 * The anti-replay state of the SA (dst, spi) in `ip -s xfrm state list nokeys`
 * output ("anti-replay context: seq 0x0, oseq 0x5, …" or the ESN form with
 * seq-hi / oseq-hi). Undefined when the SA or the context is not there.
 */
export function parseReplayState(listing: string, dst: string, spi: number): ReplayState | undefined {
  const spiText = `spi 0x${(spi >>> 0).toString(16).padStart(8, '0')}`;
  const blocks: string[] = [];
  for (const line of listing.split('\n')) {
    if (line.startsWith('src ')) blocks.push(line);
    else if (blocks.length > 0) blocks[blocks.length - 1] += `\n${line}`;
  }
  for (const b of blocks) {
    const head = b.slice(0, b.indexOf('\n') < 0 ? b.length : b.indexOf('\n')).trim().split(/\s+/);
    if (head[3] !== dst || !b.includes(spiText) || !/proto esp/.test(b)) continue;
    const ctxAt = b.indexOf('anti-replay');
    if (ctxAt < 0) return undefined;
    const text = b.slice(ctxAt);
    const seq = hexField(text, 'seq');
    const oseq = hexField(text, 'oseq');
    if (seq === undefined || oseq === undefined) return undefined;
    return { seq, oseq, seqHi: hexField(text, 'seq-hi') ?? 0, oseqHi: hexField(text, 'oseq-hi') ?? 0 };
  }
  return undefined;
}

/** The sequence state to give the re-added SA: inbound as it was, outbound ahead by OSEQ_MARGIN (carrying into the high half with ESN). */
export function carriedReplay(dir: 'in' | 'out', r: ReplayState | undefined, esn: boolean): ReplayState | undefined {
  if (r === undefined) return undefined;
  if (dir === 'in') return r;
  const next = r.oseq + OSEQ_MARGIN;
  if (next <= 0xffff_ffff) return { ...r, oseq: next };
  // Without ESN the counter must not wrap (RFC 4303 §3.3.3): leave it, the SA is due for a rekey anyway.
  return esn ? { ...r, oseq: next - 0x1_0000_0000, oseqHi: r.oseqHi + 1 } : r;
}

const hex = (n: number): string => `0x${(n >>> 0).toString(16)}`;

/** Inserts the replay state into an `xfrm state add` line right after its replay-window option. */
export function withReplay(line: BatchLine, r: ReplayState | undefined, esn: boolean): BatchLine {
  if (r === undefined) return line;
  const at = /replay-window \d+/.exec(line.text);
  if (at === null) return line;
  const extra = ` replay-seq ${hex(r.seq)} replay-oseq ${hex(r.oseq)}${esn ? ` replay-seq-hi ${hex(r.seqHi)} replay-oseq-hi ${hex(r.oseqHi)}` : ''}`;
  const end = at.index + at[0].length;
  return { ...line, text: line.text.slice(0, end) + extra + line.text.slice(end) };
}
