/**
 * strongSwan writes traffic selectors as a CIDR, a single address, or an
 * address range "a-b" (.sswan split-tunneling). Profiles hold CIDRs only,
 * so a range becomes the smallest list of prefixes covering exactly it.
 */
import { isIP } from 'node:net';

const parseAddress = (text: string): { family: 4 | 6; value: bigint } | undefined => {
  const family = isIP(text);
  if (family === 4) {
    const parts = text.split('.').map(Number);
    return { family: 4, value: parts.reduce((acc, p) => (acc << 8n) | BigInt(p), 0n) };
  }
  if (family === 6) {
    let t = text;
    // An embedded IPv4 tail (::ffff:192.0.2.1) becomes two hextets.
    const v4 = /(\d+\.\d+\.\d+\.\d+)$/u.exec(t);
    if (v4 !== null) {
      const p = (v4[1] as string).split('.').map(Number);
      t = `${t.slice(0, v4.index)}${(((p[0] as number) << 8) | (p[1] as number)).toString(16)}:${(((p[2] as number) << 8) | (p[3] as number)).toString(16)}`;
    }
    const [head = '', tail] = t.split('::');
    const h = head === '' ? [] : head.split(':');
    const tl = tail === undefined || tail === '' ? [] : tail.split(':');
    const groups = tail === undefined ? h : [...h, ...Array<string>(8 - h.length - tl.length).fill('0'), ...tl];
    if (groups.length !== 8) return undefined;
    return { family: 6, value: groups.reduce((acc, g) => (acc << 16n) | BigInt(parseInt(g, 16)), 0n) };
  }
  return undefined;
};

const formatAddress = (family: 4 | 6, value: bigint): string => {
  if (family === 4) return [24n, 16n, 8n, 0n].map((s) => ((value >> s) & 0xffn).toString()).join('.');
  const groups = Array.from({ length: 8 }, (_, i) => ((value >> BigInt((7 - i) * 16)) & 0xffffn).toString(16));
  // RFC 5952 §4.2: compress the longest run of zero groups (at least two).
  let bestStart = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== '0') {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === '0') j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  if (bestStart < 0) return groups.join(':');
  return `${groups.slice(0, bestStart).join(':')}::${groups.slice(bestStart + bestLen).join(':')}`;
};

/** CIDRs covering [start, end] exactly (classic range-to-prefix split). */
export function rangeToCidrs(startText: string, endText: string): string[] | undefined {
  const start = parseAddress(startText.trim());
  const end = parseAddress(endText.trim());
  if (start === undefined || end === undefined || start.family !== end.family || start.value > end.value) return undefined;
  const bits = start.family === 4 ? 32n : 128n;
  const out: string[] = [];
  let cur = start.value;
  while (cur <= end.value) {
    let size = 0n;
    // Grow the block while it stays aligned at `cur` and inside the range.
    while (size < bits && (cur & ((1n << (size + 1n)) - 1n)) === 0n && cur + (1n << (size + 1n)) - 1n <= end.value) size++;
    out.push(`${formatAddress(start.family, cur)}/${bits - size}`);
    cur += 1n << size;
    if (out.length > 256) return undefined;
  }
  return out;
}

/** One .sswan selector ("10.0.0.0/8", "192.0.2.1", "10.0.0.1-10.0.0.9") as CIDRs, or undefined if unreadable. */
export function selectorToCidrs(selector: string): string[] | undefined {
  const s = selector.trim();
  if (s.includes('-')) {
    const [a, b, ...rest] = s.split('-');
    return rest.length > 0 || a === undefined || b === undefined ? undefined : rangeToCidrs(a, b);
  }
  const [addr, prefix, ...rest] = s.split('/');
  if (rest.length > 0 || addr === undefined) return undefined;
  const parsed = parseAddress(addr);
  if (parsed === undefined) return undefined;
  const max = parsed.family === 4 ? 32 : 128;
  if (prefix === undefined) return [`${addr}/${max}`];
  if (!/^\d{1,3}$/u.test(prefix) || Number(prefix) > max) return undefined;
  return [`${addr}/${prefix}`];
}
