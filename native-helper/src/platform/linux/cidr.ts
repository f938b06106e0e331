/**
 * IP prefixes for routes and XFRM selectors: parsing, canonical text
 * (RFC 5952 for IPv6), IKEv2 address ranges → prefixes (RFC 7296 §3.13.1
 * selectors are ranges; the kernel wants prefixes), containment.
 */
import { isIP } from 'node:net';

import { exactPrefix } from '../../ike/traffic-selectors.js';
import { PlatformError } from '../errors.js';

export type IpFamily = 4 | 6;

export interface Cidr {
  readonly family: IpFamily;
  /** network address as an unsigned integer (host bits zero) */
  readonly value: bigint;
  readonly prefix: number;
}

const bits = (f: IpFamily): number => (f === 4 ? 32 : 128);
const allOnes = (f: IpFamily): bigint => (1n << BigInt(bits(f))) - 1n;
const maskOf = (f: IpFamily, prefix: number): bigint => (allOnes(f) >> BigInt(bits(f) - prefix)) << BigInt(bits(f) - prefix);

function bad(text: string, why: string): PlatformError {
  return new PlatformError('invalid-spec', 'address', `"${text.slice(0, 64)}" is not a valid ${why}`);
}

/** Parses a bare IPv4/IPv6 address to its integer value. */
export function parseIp(text: string): { family: IpFamily; value: bigint } {
  const kind = isIP(text);
  if (kind === 4) {
    const v = text.split('.').reduce((acc, o) => (acc << 8n) | BigInt(Number(o)), 0n);
    return { family: 4, value: v };
  }
  if (kind === 6) {
    if (text.includes('%')) throw bad(text, 'global IPv6 address (zone index)');
    let s = text;
    // an embedded dotted quad (::ffff:192.0.2.1) becomes two hex groups
    const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(s);
    if (dotted?.[1]) {
      const v4 = parseIp(dotted[1]).value;
      s = `${s.slice(0, -dotted[1].length)}${(v4 >> 16n).toString(16)}:${(v4 & 0xffffn).toString(16)}`;
    }
    const [head = '', tail] = s.split('::');
    const h = head === '' ? [] : head.split(':');
    const t = tail === undefined || tail === '' ? [] : tail.split(':');
    const groups = tail === undefined ? h : [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t];
    if (groups.length !== 8) throw bad(text, 'IPv6 address');
    return { family: 6, value: groups.reduce((acc, g) => (acc << 16n) | BigInt(Number.parseInt(g, 16)), 0n) };
  }
  throw bad(text, 'IP address');
}

/** Parses "a.b.c.d/len", "x::/len" or a bare address (host prefix); host bits are cleared. */
export function parseCidr(text: string): Cidr {
  const slash = text.indexOf('/');
  const addr = slash < 0 ? text : text.slice(0, slash);
  const { family, value } = parseIp(addr.trim());
  let prefix = bits(family);
  if (slash >= 0) {
    const p = text.slice(slash + 1).trim();
    if (!/^\d{1,3}$/.test(p) || Number(p) > bits(family)) throw bad(text, 'prefix');
    prefix = Number(p);
  }
  return { family, value: value & maskOf(family, prefix), prefix };
}

export function ipFromBytes(bytes: Uint8Array): { family: IpFamily; value: bigint } {
  if (bytes.length !== 4 && bytes.length !== 16) {
    throw new PlatformError('invalid-spec', 'address', `an address has 4 or 16 octets, not ${bytes.length}`);
  }
  return { family: bytes.length === 4 ? 4 : 6, value: bytes.reduce((acc, b) => (acc << 8n) | BigInt(b), 0n) };
}

/** Canonical text: dotted quad, or RFC 5952 §4 (lowercase, longest zero run as "::"). */
export function formatIp(family: IpFamily, value: bigint): string {
  if (family === 4) return [24n, 16n, 8n, 0n].map((s) => ((value >> s) & 0xffn).toString()).join('.');
  const g = Array.from({ length: 8 }, (_, i) => Number((value >> BigInt(112 - 16 * i)) & 0xffffn));
  let best = { at: -1, len: 0 };
  for (let i = 0; i < 8; ) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    // RFC 5952 §4.2.2: a single 0 group is not shortened
    if (j - i > best.len && j - i > 1) best = { at: i, len: j - i };
    i = j;
  }
  const hex = g.map((x) => x.toString(16));
  if (best.at < 0) return hex.join(':');
  return `${hex.slice(0, best.at).join(':')}::${hex.slice(best.at + best.len).join(':')}`;
}

export function formatCidr(c: Cidr): string {
  return `${formatIp(c.family, c.value)}/${c.prefix}`;
}

/** The host prefix of one address (/32 or /128). */
export function hostCidr(address: string): Cidr {
  const { family, value } = parseIp(address);
  return { family, value, prefix: bits(family) };
}

/** The smallest set of prefixes that exactly covers [start, end] (RFC 7296 §3.13.1 ranges). */
export function rangeToCidrs(start: Uint8Array, end: Uint8Array): Cidr[] {
  // Nearly every selector is one prefix: found byte-wise, without the BigInt loop below.
  const exact = exactPrefix(start, end);
  if (exact !== undefined && (start.length === 4 || start.length === 16)) {
    const { family, value } = ipFromBytes(start);
    return [{ family, value, prefix: exact }];
  }
  const a = ipFromBytes(start);
  const b = ipFromBytes(end);
  if (a.family !== b.family) throw new PlatformError('invalid-spec', 'traffic selector', 'start and end address of different families');
  if (a.value > b.value) throw new PlatformError('invalid-spec', 'traffic selector', 'start address above end address');
  const family = a.family;
  const out: Cidr[] = [];
  let cur = a.value;
  while (cur <= b.value) {
    // largest block aligned at `cur` that does not pass `end`
    let size = bits(family);
    while (size > 0) {
      const block = 1n << BigInt(bits(family) - size + 1);
      if ((cur & (block - 1n)) !== 0n || cur + block - 1n > b.value) break;
      size--;
    }
    out.push({ family, value: cur, prefix: size });
    cur += 1n << BigInt(bits(family) - size);
    if (out.length > 256) throw new PlatformError('invalid-spec', 'traffic selector', 'address range needs more than 256 prefixes');
  }
  return out;
}

/** True if `outer` contains all of `inner`. */
export function contains(outer: Cidr, inner: Cidr): boolean {
  return outer.family === inner.family && outer.prefix <= inner.prefix && (inner.value & maskOf(outer.family, outer.prefix)) === outer.value;
}

export function containsIp(outer: Cidr, address: string): boolean {
  return contains(outer, hostCidr(address));
}

/** The intersection of two sets of prefixes, as prefixes (the narrower of each overlapping pair). */
export function intersect(a: readonly Cidr[], b: readonly Cidr[]): Cidr[] {
  const out: Cidr[] = [];
  for (const x of a) {
    for (const y of b) {
      if (contains(x, y)) out.push(y);
      else if (contains(y, x)) out.push(x);
    }
  }
  return dedupe(out);
}

export function dedupe(list: readonly Cidr[]): Cidr[] {
  const seen = new Set<string>();
  return list.filter((c) => {
    const k = formatCidr(c);
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

export const familyOf = (address: string): IpFamily => parseIp(address).family;
