/**
 * Parsers for `ip -s xfrm state list nokeys` and `ip -s xfrm policy list
 * nosock` (iproute2 6.1 has no JSON output for xfrm: `-j` is ignored).
 *
 * `nokeys` keeps key material out of the output in the first place; the
 * parser still reads only the fields it needs (identity, reqid, counters,
 * add time), so it would not pick up keys even from a full listing.
 * Unexpected text yields fewer fields, never an exception.
 */

export interface XfrmStateInfo {
  readonly src: string;
  readonly dst: string;
  readonly proto: string;
  readonly spi: number;
  readonly reqid: number;
  readonly mode: string;
  /** `lifetime current:` counters (present with `ip -s`) */
  readonly bytes?: number;
  readonly packets?: number;
  /** ms since the epoch, from "add YYYY-MM-DD HH:MM:SS" (iproute2 prints local time) */
  readonly addTime?: number;
}

export interface XfrmPolicyInfo {
  /** the selector line as printed ("src 10.0.0.0/24 dst 10.1.0.0/24 proto tcp"), for messages only */
  readonly selector: string;
  readonly dir: string;
  readonly index: number;
  readonly priority: number;
  readonly action: string;
  readonly tmplReqids: readonly number[];
}

/** Splits iproute2 output into blocks that start at column 0 with "src ". */
function blocks(text: string): string[][] {
  const out: string[][] = [];
  for (const line of text.split('\n')) {
    if (line.startsWith('src ')) out.push([line]);
    else if (line.trim() !== '') out[out.length - 1]?.push(line);
  }
  return out;
}

function word(w: readonly string[], key: string): string | undefined {
  const i = w.indexOf(key);
  return i >= 0 ? w[i + 1] : undefined;
}

/** "1398013953(0x53540001)" or "1398013953" → number */
function leadingInt(s: string | undefined): number | undefined {
  const m = s === undefined ? null : /^(\d+)/.exec(s);
  return m?.[1] !== undefined ? Number(m[1]) : undefined;
}

function localTime(date: string | undefined, time: string | undefined): number | undefined {
  const d = date === undefined ? null : /^(\d{4})-(\d{2})-(\d{2})$/.exec(date);
  const t = time === undefined ? null : /^(\d{2}):(\d{2}):(\d{2})$/.exec(time);
  if (!d || !t) return undefined;
  const v = new Date(Number(d[1]), Number(d[2]) - 1, Number(d[3]), Number(t[1]), Number(t[2]), Number(t[3])).getTime();
  return Number.isFinite(v) ? v : undefined;
}

export function parseXfrmStates(text: string): XfrmStateInfo[] {
  const out: XfrmStateInfo[] = [];
  for (const b of blocks(text)) {
    const head = b[0]?.trim().split(/\s+/) ?? [];
    const src = word(head, 'src');
    const dst = word(head, 'dst');
    let proto: string | undefined;
    let spi: number | undefined;
    let reqid = 0;
    let mode = '';
    let bytes: number | undefined;
    let packets: number | undefined;
    let addTime: number | undefined;
    let inCurrent = false;
    for (const raw of b.slice(1)) {
      const line = raw.trim();
      const w = line.split(/\s+/);
      if (w[0] === 'proto') {
        proto = w[1];
        const spiText = word(w, 'spi');
        const m = spiText === undefined ? null : /^0x([0-9a-fA-F]{1,8})/.exec(spiText);
        spi = m?.[1] !== undefined ? Number.parseInt(m[1], 16) : undefined;
        reqid = leadingInt(word(w, 'reqid')) ?? 0;
        mode = word(w, 'mode') ?? '';
      } else if (line.startsWith('lifetime current:')) {
        inCurrent = true;
        continue;
      } else if (inCurrent) {
        const c = /^(\d+)\(bytes\),\s*(\d+)\(packets\)/.exec(line);
        if (c) {
          bytes = Number(c[1]);
          packets = Number(c[2]);
          continue;
        }
        if (w[0] === 'add') {
          addTime = localTime(w[1], w[2]);
          continue;
        }
        inCurrent = false;
      }
    }
    if (src === undefined || dst === undefined || proto === undefined || spi === undefined) continue;
    out.push({
      src,
      dst,
      proto,
      spi,
      reqid,
      mode,
      ...(bytes !== undefined ? { bytes } : {}),
      ...(packets !== undefined ? { packets } : {}),
      ...(addTime !== undefined ? { addTime } : {}),
    });
  }
  return out;
}

export function parseXfrmPolicies(text: string): XfrmPolicyInfo[] {
  const out: XfrmPolicyInfo[] = [];
  for (const b of blocks(text)) {
    const selector = (b[0] ?? '').replace(/\s+uid \d+\s*$/, '').trim();
    let dir: string | undefined;
    let index: number | undefined;
    let priority = 0;
    let action = 'allow';
    const tmplReqids: number[] = [];
    let inTmpl = false;
    for (const raw of b.slice(1)) {
      const w = raw.trim().split(/\s+/);
      if (w[0] === 'dir') {
        dir = w[1];
        index = leadingInt(word(w, 'index'));
        priority = leadingInt(word(w, 'priority')) ?? 0;
        action = word(w, 'action') ?? 'allow';
      } else if (w[0] === 'tmpl') {
        inTmpl = true;
      } else if (inTmpl && w[0] === 'proto') {
        const r = leadingInt(word(w, 'reqid'));
        if (r !== undefined) tmplReqids.push(r);
      }
    }
    if (dir === undefined || index === undefined) continue;
    out.push({ selector, dir, index, priority, action, tmplReqids });
  }
  return out;
}
