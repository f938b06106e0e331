/**
 * NETLINK_ROUTE messages (linux/rtnetlink.h, if_addr.h, fib_rules.h) for
 * the Linux backend: virtual IP addresses, routes in Strait's table
 * (unicast and throw), the routing rules that consult it, and the queries
 * applyConfig makes (the route to the gateway, an interface's name, the
 * addresses present). The same objects iproute2 6.1 builds for the lines
 * in ../network.ts.
 */
import type { IpFamily } from '../cidr.js';
import { parseCidr } from '../cidr.js';
import type { AddressItem, RouteItem, RuleItem } from '../items.js';
import type { NetlinkMessage } from './codec.js';
import {
  addressBytes,
  afOf,
  AF_INET,
  AF_INET6,
  attr,
  attrString,
  attrU32,
  attrU32Value,
  findAttr,
  formatAddressBytes,
  message,
  NetlinkDecodeError,
  NLM_F_ACK,
  NLM_F_CREATE,
  NLM_F_DUMP,
  NLM_F_EXCL,
  NLM_F_REQUEST,
  parseAttributes,
} from './codec.js';

export const NETLINK_ROUTE = 0;

export const RTM_NEWLINK = 16;
export const RTM_GETLINK = 18;
export const RTM_NEWADDR = 20;
export const RTM_DELADDR = 21;
export const RTM_GETADDR = 22;
export const RTM_NEWROUTE = 24;
export const RTM_DELROUTE = 25;
export const RTM_GETROUTE = 26;
export const RTM_NEWRULE = 32;
export const RTM_DELRULE = 33;

const IFA_ADDRESS = 1;
const IFA_LOCAL = 2;
const IFA_FLAGS = 8;
const IFA_RT_PRIORITY = 9;
const IFA_F_NODAD = 0x02;

const RTA_DST = 1;
const RTA_OIF = 4;
const RTA_GATEWAY = 5;
const RTA_PREFSRC = 7;
const RTA_METRICS = 8;
const RTA_TABLE = 15;
const RTAX_MTU = 2;

const RTN_UNICAST = 1;
const RTN_THROW = 9;
const RT_SCOPE_UNIVERSE = 0;
const RT_SCOPE_LINK = 253;
const RT_TABLE_UNSPEC = 0;

const FRA_PRIORITY = 6;
const FRA_TABLE = 15;
const FR_ACT_TO_TBL = 1;

const IFLA_IFNAME = 3;

const IFADDRMSG_LEN = 8;
const RTMSG_LEN = 12;
const FIB_RULE_HDR_LEN = 12;
const IFINFOMSG_LEN = 16;

const CREATE = NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL;
const DELETE = NLM_F_REQUEST | NLM_F_ACK;

function ifaddrmsg(family: IpFamily, prefix: number, flags: number, index: number): Buffer {
  const b = Buffer.alloc(IFADDRMSG_LEN);
  b.writeUInt8(afOf(family), 0);
  b.writeUInt8(prefix, 1);
  b.writeUInt8(flags & 0xff, 2);
  b.writeUInt8(0, 3); // RT_SCOPE_UNIVERSE
  b.writeUInt32LE(index, 4);
  return b;
}

function cidrParts(text: string): { family: IpFamily; bytes: Buffer; prefix: number } {
  const c = parseCidr(text);
  const slash = text.indexOf('/');
  // the address as written (an address's host bits matter; a route's are zero already)
  const { bytes } = addressBytes(slash < 0 ? text : text.slice(0, slash));
  return { family: c.family, bytes, prefix: c.prefix };
}

/** `ip address add <cidr> dev <dev> metric <m> [nodad]`: IFA_LOCAL = IFA_ADDRESS (no peer), the metric as IFA_RT_PRIORITY. */
export function newAddressMessage(a: AddressItem, index: number, metric: number, seq: number): Buffer {
  const { family, bytes, prefix } = cidrParts(a.cidr);
  const flags = family === 6 ? IFA_F_NODAD : 0;
  return message(RTM_NEWADDR, CREATE, seq, [
    ifaddrmsg(family, prefix, flags, index),
    attr(IFA_LOCAL, bytes),
    attr(IFA_ADDRESS, bytes),
    attrU32(IFA_RT_PRIORITY, metric),
    ...(flags !== 0 ? [attrU32(IFA_FLAGS, flags)] : []),
  ]);
}

export function deleteAddressMessage(a: AddressItem, index: number, seq: number): Buffer {
  const { family, bytes, prefix } = cidrParts(a.cidr);
  return message(RTM_DELADDR, DELETE, seq, [ifaddrmsg(family, prefix, 0, index), attr(IFA_LOCAL, bytes), attr(IFA_ADDRESS, bytes)]);
}

function rtmsg(family: IpFamily, dstLen: number, table: number, protocol: number, scope: number, type: number): Buffer {
  const b = Buffer.alloc(RTMSG_LEN);
  b.writeUInt8(afOf(family), 0);
  b.writeUInt8(dstLen, 1);
  b.writeUInt8(table < 256 ? table : RT_TABLE_UNSPEC, 4); // a table ≥ 256 goes in RTA_TABLE only
  b.writeUInt8(protocol, 5);
  b.writeUInt8(scope, 6);
  b.writeUInt8(type, 7);
  return b;
}

/**
 * `ip route add [throw] <dst> [via <gw>] [dev <dev>] [src <vip>] table <t> proto <p> [mtu <m>]`.
 * iproute2 gives a unicast route without a gateway link scope, everything else universe scope.
 */
export function newRouteMessage(r: RouteItem, oif: number | undefined, seq: number): Buffer {
  const { family, bytes, prefix } = cidrParts(r.dst);
  const throwRoute = r.type === 'throw';
  const scope = !throwRoute && r.via === undefined ? RT_SCOPE_LINK : RT_SCOPE_UNIVERSE;
  const attrs: Buffer[] = [attr(RTA_DST, bytes), attrU32(RTA_TABLE, r.table)];
  if (r.via !== undefined) attrs.push(attr(RTA_GATEWAY, addressBytes(r.via).bytes));
  if (oif !== undefined) attrs.push(attrU32(RTA_OIF, oif));
  if (r.src !== undefined) attrs.push(attr(RTA_PREFSRC, addressBytes(r.src).bytes));
  if (r.mtu !== undefined) attrs.push(attr(RTA_METRICS, attrU32(RTAX_MTU, r.mtu)));
  return message(RTM_NEWROUTE, CREATE, seq, [rtmsg(family, prefix, r.table, r.proto, scope, throwRoute ? RTN_THROW : RTN_UNICAST), ...attrs]);
}

/** `ip route del [throw] <dst> table <t> proto <p>`: iproute2 sends scope NOWHERE (253 < 255 = "any") for deletes. */
export function deleteRouteMessage(r: Pick<RouteItem, 'type' | 'dst' | 'table' | 'proto'>, seq: number): Buffer {
  const { family, bytes, prefix } = cidrParts(r.dst);
  const RT_SCOPE_NOWHERE = 255;
  return message(RTM_DELROUTE, DELETE, seq, [rtmsg(family, prefix, r.table, r.proto, RT_SCOPE_NOWHERE, r.type === 'throw' ? RTN_THROW : RTN_UNICAST), attr(RTA_DST, bytes), attrU32(RTA_TABLE, r.table)]);
}

function ruleHdr(family: IpFamily, table: number): Buffer {
  const b = Buffer.alloc(FIB_RULE_HDR_LEN);
  b.writeUInt8(afOf(family), 0);
  b.writeUInt8(table < 256 ? table : RT_TABLE_UNSPEC, 4);
  b.writeUInt8(FR_ACT_TO_TBL, 7);
  return b;
}

/** `ip [-6] rule add pref <p> table <t>` */
export function newRuleMessage(r: RuleItem, seq: number): Buffer {
  return message(RTM_NEWRULE, CREATE, seq, [ruleHdr(r.family, r.table), attrU32(FRA_PRIORITY, r.pref), attrU32(FRA_TABLE, r.table)]);
}

/** `ip [-6] rule del pref <p>` */
export function deleteRuleMessage(r: Pick<RuleItem, 'family' | 'pref'>, seq: number): Buffer {
  const b = Buffer.alloc(FIB_RULE_HDR_LEN);
  b.writeUInt8(afOf(r.family), 0);
  return message(RTM_DELRULE, DELETE, seq, [b, attrU32(FRA_PRIORITY, r.pref)]);
}

/** `ip route get <address>` */
export function getRouteMessage(address: string, seq: number): Buffer {
  const { family, bytes } = addressBytes(address);
  return message(RTM_GETROUTE, NLM_F_REQUEST | NLM_F_ACK, seq, [rtmsg(family, family === 4 ? 32 : 128, 0, 0, 0, 0), attr(RTA_DST, bytes)]);
}

export interface RouteAnswer {
  readonly oif: number;
  readonly gateway?: string;
}

export function decodeRoute(m: NetlinkMessage): RouteAnswer {
  if (m.type !== RTM_NEWROUTE) throw new NetlinkDecodeError(`message type ${m.type} is not RTM_NEWROUTE`);
  const attrs = parseAttributes(m.payload, RTMSG_LEN);
  const oif = attrU32Value(attrs, RTA_OIF);
  if (oif === undefined) throw new NetlinkDecodeError('the route names no output interface');
  const gw = findAttr(attrs, RTA_GATEWAY);
  return { oif, ...(gw !== undefined ? { gateway: formatAddressBytes(gw) } : {}) };
}

/** RTM_GETLINK for one interface index. */
export function getLinkMessage(index: number, seq: number): Buffer {
  const b = Buffer.alloc(IFINFOMSG_LEN);
  b.writeInt32LE(index, 4);
  return message(RTM_GETLINK, NLM_F_REQUEST | NLM_F_ACK, seq, [b]);
}

/** RTM_GETLINK by interface name (IFLA_IFNAME; kernel ≥ 2.6.33). */
export function getLinkByNameMessage(name: string, seq: number): Buffer {
  if (name.length === 0 || Buffer.byteLength(name) > 15) throw new RangeError(`interface name "${name.slice(0, 32)}" is not 1..15 octets`);
  return message(RTM_GETLINK, NLM_F_REQUEST | NLM_F_ACK, seq, [Buffer.alloc(IFINFOMSG_LEN), attr(IFLA_IFNAME, Buffer.from(`${name}\0`))]);
}

export function decodeLink(m: NetlinkMessage): { index: number; name: string } {
  if (m.type !== RTM_NEWLINK) throw new NetlinkDecodeError(`message type ${m.type} is not RTM_NEWLINK`);
  if (m.payload.length < IFINFOMSG_LEN) throw new NetlinkDecodeError('ifinfomsg truncated');
  const name = attrString(parseAttributes(m.payload, IFINFOMSG_LEN), IFLA_IFNAME);
  if (name === undefined || name === '') throw new NetlinkDecodeError('the link has no name');
  return { index: m.payload.readInt32LE(4), name };
}

/** RTM_GETADDR dump of one family (or both: AF_UNSPEC). */
export function dumpAddressMessage(seq: number, family?: IpFamily): Buffer {
  const b = Buffer.alloc(IFADDRMSG_LEN);
  b.writeUInt8(family === undefined ? 0 : afOf(family), 0);
  return message(RTM_GETADDR, NLM_F_REQUEST | NLM_F_DUMP, seq, [b]);
}

export interface AddressAnswer {
  readonly family: IpFamily;
  readonly index: number;
  readonly prefix: number;
  /** IFA_LOCAL, or IFA_ADDRESS where there is no local (IPv6), as iproute2 prints "local" */
  readonly local: string;
  readonly metric?: number;
}

export function decodeAddress(m: NetlinkMessage): AddressAnswer {
  if (m.type !== RTM_NEWADDR) throw new NetlinkDecodeError(`message type ${m.type} is not RTM_NEWADDR`);
  const p = m.payload;
  if (p.length < IFADDRMSG_LEN) throw new NetlinkDecodeError('ifaddrmsg truncated');
  const af = p.readUInt8(0);
  if (af !== AF_INET && af !== AF_INET6) throw new NetlinkDecodeError(`address family ${af}`);
  const attrs = parseAttributes(p, IFADDRMSG_LEN);
  const raw = findAttr(attrs, IFA_LOCAL) ?? findAttr(attrs, IFA_ADDRESS);
  if (raw === undefined) throw new NetlinkDecodeError('an address without IFA_LOCAL or IFA_ADDRESS');
  const metric = attrU32Value(attrs, IFA_RT_PRIORITY);
  return { family: af === AF_INET ? 4 : 6, index: p.readUInt32LE(4), prefix: p.readUInt8(1), local: formatAddressBytes(raw), ...(metric !== undefined ? { metric } : {}) };
}
