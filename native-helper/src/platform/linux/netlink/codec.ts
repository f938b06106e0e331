/**
 * Netlink framing (RFC 3549 §2.3.2; linux/netlink.h): the 16-octet
 * nlmsghdr, 4-octet aligned attributes (struct nlattr / rtattr: u16 length,
 * u16 type, payload), NLMSG_ERROR and NLMSG_DONE. Host byte order is little
 * endian on every platform Strait's Linux backend runs on (x86_64, aarch64);
 * the `le` helpers say so where it matters.
 *
 * Every read is bounds-checked: a length that points outside its buffer is
 * a NetlinkDecodeError, never a silent truncation or an out-of-range read.
 */
import { constants as osConstants } from 'node:os';

import type { IpFamily } from '../cidr.js';
import { parseIp } from '../cidr.js';
import { formatIp as formatIpOctets, parseIp as parseIpOctets } from '../../../pki/ip-address.js';

export const NLMSG_HDRLEN = 16;
export const NLA_HDRLEN = 4;

export const NLMSG_NOOP = 1;
export const NLMSG_ERROR = 2;
export const NLMSG_DONE = 3;

export const NLM_F_REQUEST = 0x01;
export const NLM_F_MULTI = 0x02;
export const NLM_F_ACK = 0x04;
export const NLM_F_ROOT = 0x100;
export const NLM_F_MATCH = 0x200;
export const NLM_F_DUMP = NLM_F_ROOT | NLM_F_MATCH;
export const NLM_F_REPLACE = 0x100;
export const NLM_F_EXCL = 0x200;
export const NLM_F_CREATE = 0x400;

export const AF_INET = 2;
export const AF_INET6 = 10;

export const align4 = (n: number): number => (n + 3) & ~3;

export class NetlinkDecodeError extends Error {
  override readonly name = 'NetlinkDecodeError';
}

export interface NetlinkMessage {
  readonly type: number;
  readonly flags: number;
  readonly seq: number;
  readonly pid: number;
  /** the payload after the header, a view into the received buffer */
  readonly payload: Buffer;
}

export interface Attribute {
  readonly type: number;
  readonly value: Buffer;
}

/** One attribute, padded to 4 octets. NLA_F_NESTED is the caller's to set in `type`. */
export function attr(type: number, value: Uint8Array): Buffer {
  const len = NLA_HDRLEN + value.length;
  if (len > 0xffff) throw new RangeError(`netlink attribute ${type} is ${len} octets, more than 65535`);
  const b = Buffer.alloc(align4(len));
  b.writeUInt16LE(len, 0);
  b.writeUInt16LE(type, 2);
  Buffer.from(value.buffer, value.byteOffset, value.byteLength).copy(b, NLA_HDRLEN);
  return b;
}

export const attrU32 = (type: number, v: number): Buffer => {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(v >>> 0, 0);
  return attr(type, b);
};

/** A whole message: header + fixed-size family header + attributes. */
export function message(type: number, flags: number, seq: number, body: readonly Uint8Array[]): Buffer {
  const parts = body.map((p) => Buffer.from(p.buffer, p.byteOffset, p.byteLength));
  const payload = Buffer.concat(parts.map((p) => (p.length % 4 === 0 ? p : Buffer.concat([p, Buffer.alloc(align4(p.length) - p.length)]))));
  const len = NLMSG_HDRLEN + payload.length;
  const h = Buffer.alloc(NLMSG_HDRLEN);
  h.writeUInt32LE(len, 0);
  h.writeUInt16LE(type, 4);
  h.writeUInt16LE(flags, 6);
  h.writeUInt32LE(seq >>> 0, 8);
  h.writeUInt32LE(0, 12); // nlmsg_pid 0: addressed to the kernel
  return Buffer.concat([h, payload]);
}

/** Splits a buffer holding one or more netlink messages (one datagram, or one message per Buffer). */
export function parseMessages(buf: Buffer): NetlinkMessage[] {
  const out: NetlinkMessage[] = [];
  let off = 0;
  while (off < buf.length) {
    if (buf.length - off < NLMSG_HDRLEN) throw new NetlinkDecodeError(`${buf.length - off} trailing octets are shorter than a netlink header`);
    const len = buf.readUInt32LE(off);
    if (len < NLMSG_HDRLEN || len > buf.length - off) throw new NetlinkDecodeError(`netlink message length ${len} at offset ${off} outside the ${buf.length}-octet buffer`);
    out.push({
      type: buf.readUInt16LE(off + 4),
      flags: buf.readUInt16LE(off + 6),
      seq: buf.readUInt32LE(off + 8),
      pid: buf.readUInt32LE(off + 12),
      payload: buf.subarray(off + NLMSG_HDRLEN, off + len),
    });
    off += align4(len);
  }
  return out;
}

/** Attributes after a fixed header of `skip` octets; the last attribute may omit its padding. */
export function parseAttributes(payload: Buffer, skip: number): Attribute[] {
  if (skip > payload.length) throw new NetlinkDecodeError(`payload of ${payload.length} octets is shorter than its ${skip}-octet header`);
  const out: Attribute[] = [];
  let off = skip;
  while (off < payload.length) {
    if (payload.length - off < NLA_HDRLEN) throw new NetlinkDecodeError(`${payload.length - off} trailing octets are shorter than an attribute header`);
    const len = payload.readUInt16LE(off);
    const type = payload.readUInt16LE(off + 2) & 0x3fff; // NLA_F_NESTED / NLA_F_NET_BYTEORDER are flags
    if (len < NLA_HDRLEN || len > payload.length - off) throw new NetlinkDecodeError(`attribute ${type} length ${len} at offset ${off} outside the ${payload.length}-octet payload`);
    out.push({ type, value: payload.subarray(off + NLA_HDRLEN, off + len) });
    off += align4(len);
  }
  return out;
}

export function findAttr(attrs: readonly Attribute[], type: number): Buffer | undefined {
  return attrs.find((a) => a.type === type)?.value;
}

export function attrU32Value(attrs: readonly Attribute[], type: number): number | undefined {
  const v = findAttr(attrs, type);
  if (v === undefined) return undefined;
  if (v.length < 4) throw new NetlinkDecodeError(`attribute ${type} is ${v.length} octets, a u32 needs 4`);
  return v.readUInt32LE(0);
}

/** NUL-terminated string attribute (IFLA_IFNAME). */
export function attrString(attrs: readonly Attribute[], type: number): string | undefined {
  const v = findAttr(attrs, type);
  if (v === undefined) return undefined;
  const nul = v.indexOf(0);
  return v.subarray(0, nul < 0 ? v.length : nul).toString('utf8');
}

/** The errno of an NLMSG_ERROR (0 = ack); the payload starts with a negative int32. */
export function errorCode(m: NetlinkMessage): number {
  if (m.type !== NLMSG_ERROR) throw new NetlinkDecodeError(`message type ${m.type} is not NLMSG_ERROR`);
  if (m.payload.length < 4) throw new NetlinkDecodeError('NLMSG_ERROR shorter than its error field');
  const e = m.payload.readInt32LE(0);
  return e === 0 ? 0 : -e;
}

const ERRNO_NAMES = new Map<number, string>(Object.entries(osConstants.errno).map(([name, n]) => [n, name]));
export const errnoName = (errno: number): string => ERRNO_NAMES.get(errno) ?? `errno ${errno}`;
export const ERRNO = osConstants.errno;

// ---------------------------------------------------------------- addresses

export const afOf = (family: IpFamily): number => (family === 4 ? AF_INET : AF_INET6);

/** Network-order address octets (4 or 16). */
export function addressBytes(text: string): { family: IpFamily; bytes: Buffer } {
  // octets straight from the text (no BigInt: this runs for every address of every kernel object)
  const ip = parseIpOctets(text);
  if (ip === undefined) {
    parseIp(text); // throws the typed PlatformError that names the problem
    throw new NetlinkDecodeError(`"${text.slice(0, 64)}" is not an IP address`);
  }
  return { family: ip.family, bytes: Buffer.from(ip.bytes.buffer, ip.bytes.byteOffset, ip.bytes.length) };
}

/** xfrm_address_t: 16 octets, an IPv4 address in the first 4. */
export function xfrmAddress(text: string): Buffer {
  const out = Buffer.alloc(16);
  addressBytes(text).bytes.copy(out, 0);
  return out;
}

export function formatAddressBytes(b: Buffer): string {
  if (b.length !== 4 && b.length !== 16) throw new NetlinkDecodeError(`an address attribute has ${b.length} octets, not 4 or 16`);
  return formatIpOctets(b) as string; // 4 or 16 octets, checked above
}
