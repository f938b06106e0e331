/**
 * IP literal ↔ octets, for ID_IPV4_ADDR / ID_IPV6_ADDR (RFC 7296 §3.5) and
 * certificate iPAddress SANs (RFC 5280 §4.2.1.6), which carry 4 or 16
 * octets. Text output is canonical (RFC 5952 for IPv6), so two spellings
 * of one address format identically.
 */
import { isIPv4, isIPv6 } from 'node:net';

export type IpFamily = 4 | 6;

/** The octets of an IPv4 or IPv6 literal, or undefined if `text` is not one (no zone IDs, no brackets). */
export function parseIp(text: string): { family: IpFamily; bytes: Uint8Array } | undefined {
  if (isIPv4(text)) return { family: 4, bytes: ipv4Bytes(text) };
  if (isIPv6(text) && !text.includes('%')) return { family: 6, bytes: ipv6Bytes(text) };
  return undefined;
}

function ipv4Bytes(text: string): Uint8Array {
  return Uint8Array.from(text.split('.').map(Number));
}

function ipv6Bytes(text: string): Uint8Array {
  // isIPv6 has already validated the syntax; expand "::" and an embedded IPv4 tail.
  let groups: number[] = [];
  const [headText, tailText] = text.includes('::') ? (text.split('::') as [string, string]) : [text, undefined];
  const toGroups = (part: string): number[] => {
    if (part === '') return [];
    const out: number[] = [];
    for (const piece of part.split(':')) {
      if (piece.includes('.')) {
        const v4 = ipv4Bytes(piece);
        out.push(((v4[0] as number) << 8) | (v4[1] as number), ((v4[2] as number) << 8) | (v4[3] as number));
      } else {
        out.push(parseInt(piece, 16));
      }
    }
    return out;
  };
  const head = toGroups(headText);
  if (tailText === undefined) {
    groups = head;
  } else {
    const tail = toGroups(tailText);
    groups = [...head, ...new Array<number>(8 - head.length - tail.length).fill(0), ...tail];
  }
  const bytes = new Uint8Array(16);
  groups.forEach((g, i) => {
    bytes[2 * i] = g >> 8;
    bytes[2 * i + 1] = g & 0xff;
  });
  return bytes;
}

/** Canonical text of 4 or 16 octets; undefined for any other length. */
export function formatIp(bytes: Uint8Array): string | undefined {
  if (bytes.length === 4) return Array.from(bytes).join('.');
  if (bytes.length !== 16) return undefined;
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((bytes[i] as number) << 8) | (bytes[i + 1] as number));
  // RFC 5952 §4.2: compress the longest run (≥ 2) of zero groups, the first on a tie.
  let bestStart = -1;
  let bestLength = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLength) {
      bestStart = i;
      bestLength = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLength).join(':')}`;
}
