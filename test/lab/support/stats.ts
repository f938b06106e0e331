// Small statistics for lab measurements (never used for assertions).

export function median(xs: readonly number[]): number {
  if (xs.length === 0) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? (s[mid] ?? Number.NaN) : ((s[mid - 1] ?? Number.NaN) + (s[mid] ?? Number.NaN)) / 2;
}

export function summary(xs: readonly number[]): { n: number; median: number; min: number; max: number } {
  return { n: xs.length, median: median(xs), min: xs.length > 0 ? Math.min(...xs) : Number.NaN, max: xs.length > 0 ? Math.max(...xs) : Number.NaN };
}

/** Mbit/s from an `iperf3 -J` client report: what the receiver got. */
export function iperfReceivedMbps(json: string): number {
  const report = JSON.parse(json) as { end?: { sum_received?: { bits_per_second?: number } }; error?: string };
  if (report.error !== undefined) throw new Error(`iperf3: ${report.error}`);
  const bps = report.end?.sum_received?.bits_per_second;
  if (typeof bps !== 'number' || !(bps > 0)) throw new Error('iperf3 report without received throughput');
  return bps / 1e6;
}
