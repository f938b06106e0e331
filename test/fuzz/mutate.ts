/**
 * Deterministic mutators over golden IKE messages, driven by a seeded PRNG
 * so any failure is reproduced from (seed, message index).
 *
 * Most mutators aim at structure rather than at random bytes: they know
 * where the length and Next Payload fields of each golden message are
 * (found by a small walker written independently of the codec) and corrupt
 * exactly those, or splice payloads between messages; afterwards the IKE
 * header's Length is usually fixed up so the damage reaches the payload
 * parsers instead of stopping at the header check.
 */

/** sfc32: a small, fast PRNG with a 128-bit state (seeded by splitmix32). */
export class Prng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(seed: number) {
    let s = seed >>> 0;
    const split = (): number => {
      s = (s + 0x9e3779b9) >>> 0;
      let z = s;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.a = split();
    this.b = split();
    this.c = split();
    this.d = split();
  }

  /** A uniformly random unsigned 32-bit integer. */
  next(): number {
    const t = (((this.a + this.b) >>> 0) + this.d) >>> 0;
    this.d = (this.d + 1) >>> 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) >>> 0;
    this.c = ((this.c << 21) | (this.c >>> 11)) >>> 0;
    this.c = (this.c + t) >>> 0;
    return t;
  }

  /** An integer in [0, n). */
  below(n: number): number {
    return n <= 0 ? 0 : this.next() % n;
  }

  chance(p: number): boolean {
    return this.next() / 0x100000000 < p;
  }

  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new RangeError('pick from an empty list');
    return items[this.below(items.length)] as T;
  }
}

/** Where the interesting fields of a golden message are. */
export interface Golden {
  readonly bytes: Uint8Array;
  /** offsets of 16-bit length fields: generic payload headers and sub-structures (proposal, transform, TS, attributes) */
  readonly lengthFields: readonly number[];
  /** offsets of Next Payload octets (the IKE header's and each payload's) */
  readonly nextFields: readonly number[];
  /** [start, end) of each top-level payload, generic header included */
  readonly payloads: readonly (readonly [number, number])[];
}

const u16 = (b: Uint8Array, at: number): number => (((b[at] ?? 0) << 8) | (b[at + 1] ?? 0)) >>> 0;

/** Offsets of 2-octet lengths of the sub-structures inside a payload body (SA, TS, CP), best effort. */
function subLengths(type: number, b: Uint8Array, start: number, end: number, out: number[]): void {
  if (type === 33) {
    // SA: proposals, each with transforms (RFC 7296 §3.3.1, §3.3.2)
    let p = start;
    while (p + 8 <= end) {
      const plen = u16(b, p + 2);
      out.push(p + 2);
      const spiSize = b[p + 6] ?? 0;
      let t = p + 8 + spiSize;
      const pend = Math.min(p + plen, end);
      while (t + 8 <= pend) {
        out.push(t + 2);
        const tlen = u16(b, t + 2);
        let a = t + 8;
        const tend = Math.min(t + tlen, pend);
        while (a + 4 <= tend) {
          if (((b[a] ?? 0) & 0x80) === 0) {
            out.push(a + 2);
            a += 4 + u16(b, a + 2);
          } else {
            a += 4;
          }
        }
        if (tlen < 8) break;
        t += tlen;
      }
      if (plen < 8) break;
      p += plen;
    }
  } else if (type === 44 || type === 45) {
    // TS: selectors after a 4-octet count/RESERVED (RFC 7296 §3.13.1)
    let s = start + 4;
    while (s + 4 <= end) {
      out.push(s + 2);
      const len = u16(b, s + 2);
      if (len < 4) break;
      s += len;
    }
  } else if (type === 47) {
    // CP: attributes after a 4-octet CFG type/RESERVED (RFC 7296 §3.15.1)
    let a = start + 4;
    while (a + 4 <= end) {
      out.push(a + 2);
      a += 4 + u16(b, a + 2);
    }
  }
}

export function analyze(bytes: Uint8Array): Golden {
  const lengthFields: number[] = [];
  const nextFields: number[] = [16];
  const payloads: [number, number][] = [];
  let type = bytes[16] ?? 0;
  let at = 28;
  while (type !== 0 && at + 4 <= bytes.length) {
    const len = u16(bytes, at + 2);
    if (len < 4 || at + len > bytes.length) break;
    nextFields.push(at);
    lengthFields.push(at + 2);
    payloads.push([at, at + len]);
    subLengths(type, bytes, at + 4, at + len, lengthFields);
    if (type === 46 || type === 53) break; // SK/SKF: Next Payload is the inner type
    type = bytes[at] ?? 0;
    at += len;
  }
  return { bytes, lengthFields, nextFields, payloads };
}

/** Payload types worth steering a Next Payload field to: all known ones, NONE, and a few unknown. */
const NEXT_VALUES = [0, 1, 32, 33, 34, 35, 36, 37, 38, 39, 40, 41, 42, 43, 44, 45, 46, 47, 48, 49, 53, 54, 128, 255];
const INTERESTING_U8 = [0, 1, 2, 3, 4, 7, 8, 0x0f, 0x10, 0x20, 0x7f, 0x80, 0x81, 0xfe, 0xff];

type Mutator = (b: Uint8Array, g: Golden, rng: Prng, corpus: readonly Golden[]) => Uint8Array;

const setU16 = (b: Uint8Array, at: number, v: number): void => {
  if (at + 1 >= b.length) return;
  b[at] = (v >>> 8) & 0xff;
  b[at + 1] = v & 0xff;
};

const mutators: readonly (readonly [string, Mutator])[] = [
  [
    'bitflip',
    (b, _g, rng) => {
      const n = 1 + rng.below(4);
      for (let i = 0; i < n && b.length > 0; i++) {
        const at = rng.below(b.length);
        b[at] = (b[at] as number) ^ (1 << rng.below(8));
      }
      return b;
    },
  ],
  [
    'byteset',
    (b, _g, rng) => {
      if (b.length > 0) b[rng.below(b.length)] = rng.chance(0.5) ? rng.pick(INTERESTING_U8) : rng.below(256);
      return b;
    },
  ],
  ['truncate', (b, _g, rng) => b.subarray(0, rng.below(b.length + 1))],
  [
    'extend',
    (b, _g, rng) => {
      const extra = 1 + rng.below(rng.chance(0.8) ? 8 : 300);
      const out = new Uint8Array(b.length + extra);
      out.set(b);
      for (let i = b.length; i < out.length; i++) out[i] = rng.chance(0.5) ? 0 : rng.below(256);
      return out;
    },
  ],
  [
    'length',
    (b, g, rng) => {
      if (g.lengthFields.length === 0 || rng.chance(0.1)) {
        // the IKE header's 32-bit Length
        const v = rng.pick([0, 27, 28, b.length - 1, b.length + 1, 0xffffffff, rng.next()]);
        if (b.length >= 28) new DataView(b.buffer, b.byteOffset, b.length).setUint32(24, v >>> 0);
        return b;
      }
      const at = rng.pick(g.lengthFields);
      const old = u16(b, at);
      const v = rng.pick([0, 1, 3, 4, 5, 7, 8, 15, 16, 17, 39, 40, 41, old - 1, old + 1, old - 4, old + 4, 0xffff, rng.below(0x10000)]);
      setU16(b, at, v & 0xffff);
      return b;
    },
  ],
  [
    'next',
    (b, g, rng) => {
      const at = rng.pick(g.nextFields);
      if (at < b.length) b[at] = rng.chance(0.8) ? (rng.pick(NEXT_VALUES) as number) : rng.below(256);
      // sometimes also set the critical bit of the payload that field announces
      if (rng.chance(0.3) && at + 1 < b.length && at !== 16) b[at + 1] = (b[at + 1] as number) | 0x80;
      return b;
    },
  ],
  [
    'critical',
    (b, g, rng) => {
      const [start] = g.payloads.length > 0 ? rng.pick(g.payloads) : [28];
      if (start + 1 < b.length) b[start + 1] = (b[start + 1] as number) ^ (rng.chance(0.5) ? 0x80 : 1 << rng.below(7));
      return b;
    },
  ],
  [
    'splice',
    (b, g, rng, corpus) => {
      // Insert or replace a whole payload taken from another golden message,
      // keeping the chain linked, so known payloads meet new neighbours.
      const donor = rng.pick(corpus);
      if (donor.payloads.length === 0 || g.payloads.length === 0) return b;
      const j = rng.below(donor.payloads.length);
      const [ds, de] = donor.payloads[j] as readonly [number, number];
      const pieceType = donor.bytes[donor.nextFields[j] as number] as number;
      const piece = donor.bytes.slice(ds, de);
      const i = rng.below(g.payloads.length);
      const [s, e] = g.payloads[i] as readonly [number, number];
      if (e > b.length) return b;
      const replace = rng.chance(0.5);
      const cut = replace ? e : s;
      const out = new Uint8Array(s + piece.length + (b.length - cut));
      out.set(b.subarray(0, s));
      out.set(piece, s);
      out.set(b.subarray(cut), s + piece.length);
      // who announced the payload at s now announces the piece; the piece announces what followed
      const announcer = g.nextFields[i] as number;
      const followerType = replace ? (b[s] ?? 0) : (b[announcer] ?? 0);
      out[announcer] = pieceType;
      if (pieceType !== 46 && pieceType !== 53) out[s] = followerType;
      return out;
    },
  ],
  [
    'payload-swap',
    (b, g, rng) => {
      // swap the type announced for a payload with another known type: the body is parsed as the wrong payload
      if (g.payloads.length === 0) return b;
      const i = rng.below(g.payloads.length);
      const at = g.nextFields[i] as number;
      if (at < b.length) b[at] = rng.pick([33, 34, 35, 37, 38, 39, 40, 41, 42, 43, 44, 46, 47, 48, 53]);
      return b;
    },
  ],
];

export const MUTATOR_NAMES: readonly string[] = mutators.map(([name]) => name);

function fixHeaderLength(b: Uint8Array): void {
  if (b.length >= 28) new DataView(b.buffer, b.byteOffset, b.length).setUint32(24, b.length);
}

/**
 * One mutated message: a copy of a golden message with 1..4 mutations,
 * then (usually) a consistent IKE header Length. `ops` names what was done.
 */
export function mutate(corpus: readonly Golden[], rng: Prng): { bytes: Uint8Array; ops: string[] } {
  const g = rng.pick(corpus);
  let b: Uint8Array = Uint8Array.from(g.bytes);
  const ops: string[] = [];
  const n = 1 + rng.below(rng.chance(0.7) ? 2 : 4);
  for (let i = 0; i < n; i++) {
    const [name, fn] = rng.pick(mutators);
    b = fn(b, g, rng, corpus);
    ops.push(name);
  }
  if (rng.chance(0.75)) {
    fixHeaderLength(b);
    ops.push('fix-length');
  }
  return { bytes: b, ops };
}
