/**
 * Traffic selectors (RFC 7296 §2.9, §3.13.1): building them from prefixes,
 * printing them, and checking the responder's narrowing.
 *
 * The responder may narrow what we asked for ("the responder is allowed to
 * narrow the choices by selecting a subset of the traffic", §2.9) but never
 * widen it, so every selector it returns must lie inside one we sent. What
 * it returns is what gets installed.
 */
import { TsType } from './constants.js';
import type { TrafficSelector } from './codec/types.js';

export class TrafficSelectorError extends Error {
  override readonly name = 'TrafficSelectorError';
  constructor(
    readonly input: string,
    detail: string,
  ) {
    super(`traffic selector "${input}": ${detail}`);
  }
}

const IPV4_OCTETS = 4;
const IPV6_OCTETS = 16;

function parseIpv4(text: string): Uint8Array | undefined {
  const parts = text.split('.');
  if (parts.length !== 4) return undefined;
  const out = new Uint8Array(IPV4_OCTETS);
  for (let i = 0; i < 4; i++) {
    const p = parts[i] as string;
    if (!/^\d{1,3}$/.test(p) || Number(p) > 255 || (p.length > 1 && p.startsWith('0'))) return undefined;
    out[i] = Number(p);
  }
  return out;
}

function parseIpv6(text: string): Uint8Array | undefined {
  if (!/^[0-9a-fA-F:.]+$/.test(text)) return undefined;
  const halves = text.split('::');
  if (halves.length > 2) return undefined;
  const groups = (s: string): number[] | undefined => {
    if (s === '') return [];
    const out: number[] = [];
    const parts = s.split(':');
    for (let i = 0; i < parts.length; i++) {
      const part = parts[i] as string;
      if (i === parts.length - 1 && part.includes('.')) {
        const v4 = parseIpv4(part);
        if (v4 === undefined) return undefined;
        out.push(((v4[0] as number) << 8) | (v4[1] as number), ((v4[2] as number) << 8) | (v4[3] as number));
      } else {
        if (!/^[0-9a-fA-F]{1,4}$/.test(part)) return undefined;
        out.push(Number.parseInt(part, 16));
      }
    }
    return out;
  };
  const head = groups(halves[0] as string);
  const tail = halves.length === 2 ? groups(halves[1] as string) : [];
  if (head === undefined || tail === undefined) return undefined;
  const missing = 8 - head.length - tail.length;
  if ((halves.length === 1 && missing !== 0) || (halves.length === 2 && missing < 1)) return undefined;
  const all = [...head, ...new Array<number>(halves.length === 2 ? missing : 0).fill(0), ...tail];
  const out = new Uint8Array(IPV6_OCTETS);
  all.forEach((g, i) => {
    out[2 * i] = g >> 8;
    out[2 * i + 1] = g & 0xff;
  });
  return out;
}

/** Parses an IPv4 or IPv6 address literal into 4 or 16 octets, or undefined. */
export function parseAddress(text: string): Uint8Array | undefined {
  return text.includes(':') ? parseIpv6(text) : parseIpv4(text);
}

/** Prints 4 or 16 octets as an address (IPv6 in RFC 5952 form). */
export function formatAddress(bytes: Uint8Array): string {
  if (bytes.length === IPV4_OCTETS) return Array.from(bytes).join('.');
  if (bytes.length !== IPV6_OCTETS) return `<${bytes.length}-octet address>`;
  const g: number[] = [];
  for (let i = 0; i < 8; i++) g.push(((bytes[2 * i] as number) << 8) | (bytes[2 * i + 1] as number));
  // RFC 5952 §4.2: compress the longest run (≥ 2) of zero groups, the first if tied.
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = (xs: number[]): string => xs.map((x) => x.toString(16)).join(':');
  if (best < 0) return hex(g);
  return `${hex(g.slice(0, best))}::${hex(g.slice(best + bestLen))}`;
}

const toBig = (b: Uint8Array): bigint => b.reduce((acc, x) => (acc << 8n) | BigInt(x), 0n);

function fromBig(v: bigint, octets: number): Uint8Array {
  const out = new Uint8Array(octets);
  for (let i = octets - 1; i >= 0; i--) {
    out[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  return out;
}

/**
 * A selector for a prefix ("10.10.0.0/24", "::/0", or a bare address for a
 * host), all protocols and ports. Host bits below the prefix are ignored,
 * as `ip route` does.
 * @throws TrafficSelectorError
 */
export function selectorFromCidr(text: string): TrafficSelector {
  const slash = text.indexOf('/');
  const addrText = slash < 0 ? text : text.slice(0, slash);
  const addr = parseAddress(addrText.trim());
  if (addr === undefined) throw new TrafficSelectorError(text, 'is not an IPv4 or IPv6 address or prefix');
  const bits = addr.length * 8;
  let prefix = bits;
  if (slash >= 0) {
    const p = text.slice(slash + 1).trim();
    if (!/^\d{1,3}$/.test(p) || Number(p) > bits) throw new TrafficSelectorError(text, `has an invalid prefix length (0..${bits})`);
    prefix = Number(p);
  }
  const hostMask = (1n << BigInt(bits - prefix)) - 1n;
  const start = toBig(addr) & ~hostMask;
  return {
    tsType: addr.length === IPV4_OCTETS ? TsType.TS_IPV4_ADDR_RANGE : TsType.TS_IPV6_ADDR_RANGE,
    ipProtocol: 0,
    startPort: 0,
    endPort: 0xffff,
    startAddress: fromBig(start, addr.length),
    endAddress: fromBig(start | hostMask, addr.length),
  };
}

/** 0.0.0.0/0 and ::/0: a full tunnel. */
export const ANY_IPV4: TrafficSelector = selectorFromCidr('0.0.0.0/0');
export const ANY_IPV6: TrafficSelector = selectorFromCidr('::/0');

/**
 * The prefix length when [start, end] is exactly one CIDR block, else
 * undefined. Byte-wise, without BigInt: selectors are formatted and turned
 * into kernel policies on every connect, and BigInt arithmetic is slow code
 * in an interpreter that runs it once per connect.
 */
export function exactPrefix(start: Uint8Array, end: Uint8Array): number | undefined {
  if (start.length !== end.length) return undefined;
  let i = 0;
  while (i < start.length && start[i] === end[i]) i++;
  if (i === start.length) return start.length * 8;
  const s = start[i] as number;
  const e = end[i] as number;
  const diff = s ^ e;
  // inside the first differing octet the host part is a run of low bits: 0s in start, 1s in end
  if ((diff & (diff + 1)) !== 0 || (s & diff) !== 0 || (e & diff) !== diff) return undefined;
  for (let j = i + 1; j < start.length; j++) if (start[j] !== 0 || end[j] !== 0xff) return undefined;
  return i * 8 + Math.clz32(diff) - 24;
}

function prefixOf(ts: TrafficSelector): number | undefined {
  return exactPrefix(ts.startAddress, ts.endAddress);
}

/** e.g. "10.10.0.0/24", "10.0.0.1..10.0.0.9", "0.0.0.0/0[tcp/443]" (charon's style). */
export function formatTrafficSelector(ts: TrafficSelector): string {
  const prefix = prefixOf(ts);
  const range = prefix === undefined ? `${formatAddress(ts.startAddress)}..${formatAddress(ts.endAddress)}` : `${formatAddress(ts.startAddress)}/${prefix}`;
  const allPorts = ts.startPort === 0 && ts.endPort === 0xffff;
  if (ts.ipProtocol === 0 && allPorts) return range;
  const proto = ts.ipProtocol === 6 ? 'tcp' : ts.ipProtocol === 17 ? 'udp' : String(ts.ipProtocol);
  const ports = allPorts ? '' : ts.startPort === ts.endPort ? `/${ts.startPort}` : `/${ts.startPort}-${ts.endPort}`;
  return `${range}[${proto}${ports}]`;
}

/**
 * Numeric order of two addresses of the same length (network order, so
 * the first differing octet decides): no BigInt per comparison, which
 * allocates on every call and is checked for every selector of every
 * CHILD_SA the gateway returns.
 */
function compareOctets(a: Uint8Array, b: Uint8Array): number {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return 0;
}

function validRange(ts: TrafficSelector): boolean {
  const len = ts.tsType === TsType.TS_IPV4_ADDR_RANGE ? IPV4_OCTETS : ts.tsType === TsType.TS_IPV6_ADDR_RANGE ? IPV6_OCTETS : -1;
  return ts.startAddress.length === len && ts.endAddress.length === len && compareOctets(ts.startAddress, ts.endAddress) <= 0;
}

/**
 * True when `inner` lies within `outer`: same type, protocol equal (or
 * `outer` any), ports and addresses inside. An OPAQUE port range
 * (start 65535, end 0, §3.13.1) is inside only an all-ports range.
 */
export function isSubset(inner: TrafficSelector, outer: TrafficSelector): boolean {
  if (inner.tsType !== outer.tsType || !validRange(inner) || !validRange(outer)) return false;
  if (outer.ipProtocol !== 0 && inner.ipProtocol !== outer.ipProtocol) return false;
  const outerAllPorts = outer.startPort === 0 && outer.endPort === 0xffff;
  const innerOpaque = inner.startPort === 0xffff && inner.endPort === 0;
  if (innerOpaque) {
    if (!outerAllPorts) return false;
  } else if (inner.startPort > inner.endPort || inner.startPort < outer.startPort || inner.endPort > outer.endPort) {
    return false;
  }
  // validRange made both pairs the same length (the tsType fixes it)
  return compareOctets(inner.startAddress, outer.startAddress) >= 0 && compareOctets(inner.endAddress, outer.endAddress) <= 0;
}

export type NarrowingResult = { readonly ok: true } | { readonly ok: false; readonly offending: TrafficSelector };

/** Checks that every selector the responder returned lies inside one we requested (RFC 7296 §2.9). */
export function checkNarrowed(requested: readonly TrafficSelector[], received: readonly TrafficSelector[]): NarrowingResult {
  for (const r of received) {
    if (!requested.some((q) => isSubset(r, q))) return { ok: false, offending: r };
  }
  return { ok: true };
}

/** Deep copy, so selectors handed to the daemon do not alias a datagram's buffer. */
export function copySelector(ts: TrafficSelector): TrafficSelector {
  return { ...ts, startAddress: Uint8Array.from(ts.startAddress), endAddress: Uint8Array.from(ts.endAddress) };
}
