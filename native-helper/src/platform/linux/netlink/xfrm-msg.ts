/**
 * NETLINK_XFRM messages (linux/xfrm.h) for the Linux backend: add an ESP
 * tunnel-mode SA (RFC 4303) with its algorithms, replay state and RFC 3948
 * encapsulation; add/update/delete policies (RFC 4301 §4.4.1) with their
 * template; delete SAs; dump SAs for their counters (xfrm_lifetime_cur).
 *
 * The same objects `ip xfrm` (iproute2 6.1) builds for the lines in
 * ../xfrm.ts, field by field. Offsets were checked against
 * /usr/include/linux/xfrm.h on x86_64 (offsetof/sizeof: xfrm_selector 56,
 * xfrm_usersa_info 224, xfrm_userpolicy_info 168, xfrm_user_tmpl 64,
 * xfrm_usersa_id 24, xfrm_userpolicy_id 64); the lab compares the result
 * with `ip -j xfrm state`.
 *
 * An SA message carries key material: it goes to the kernel and nowhere else.
 */
import type { ChildSaSpec, EspSaKeys } from '../../../ike/actions.js';
import type { KernelAlgorithms } from '../algorithms.js';
import { parseCidr } from '../cidr.js';
import type { PolicyItem, SaItem, XfrmSelector } from '../items.js';
import type { NetlinkMessage } from './codec.js';
import { NetlinkDecodeError, afOf, attr, formatAddressBytes, message, NLM_F_ACK, NLM_F_CREATE, NLM_F_DUMP, NLM_F_EXCL, NLM_F_REQUEST, parseAttributes, xfrmAddress } from './codec.js';

export const NETLINK_XFRM = 6;

export const XFRM_MSG_NEWSA = 0x10;
export const XFRM_MSG_DELSA = 0x11;
export const XFRM_MSG_GETSA = 0x12;
export const XFRM_MSG_NEWPOLICY = 0x13;
export const XFRM_MSG_DELPOLICY = 0x14;
export const XFRM_MSG_UPDPOLICY = 0x19;

export const XFRMA_ALG_CRYPT = 2;
export const XFRMA_ENCAP = 4;
export const XFRMA_TMPL = 5;
export const XFRMA_SRCADDR = 13;
export const XFRMA_ALG_AEAD = 18;
export const XFRMA_ALG_AUTH_TRUNC = 20;
export const XFRMA_REPLAY_ESN_VAL = 23;

export const XFRM_STATE_AF_UNSPEC = 32;
export const XFRM_STATE_ESN = 128;
export const XFRM_MODE_TUNNEL = 1;
export const IPPROTO_ESP = 50;
/** UDP_ENCAP_ESPINUDP (linux/udp.h), RFC 3948 */
export const UDP_ENCAP_ESPINUDP = 2;
const XFRM_INF = 0xffff_ffff_ffff_ffffn;
const DIR = { in: 0, out: 1, fwd: 2 } as const;

const SELECTOR_LEN = 56;
const USERSA_INFO_LEN = 224;
const USERPOLICY_INFO_LEN = 168;
const USER_TMPL_LEN = 64;
const USERSA_ID_LEN = 24;
const USERPOLICY_ID_LEN = 64;
/** iproute2 uses the 32-packet bitmap of xfrm_replay_state up to this window, the ESN state above it */
const LEGACY_REPLAY_MAX = 32;

/** struct xfrm_selector (56 octets); an absent selector (all zero) is what `flag af-unspec` SAs carry. */
export function encodeSelector(sel: XfrmSelector | undefined): Buffer {
  const b = Buffer.alloc(SELECTOR_LEN);
  if (sel === undefined) return b;
  const src = parseCidr(sel.src);
  const dst = parseCidr(sel.dst);
  if (src.family !== dst.family) throw new RangeError('selector source and destination of different families');
  xfrmAddress(cidrAddress(sel.dst)).copy(b, 0);
  xfrmAddress(cidrAddress(sel.src)).copy(b, 16);
  // ports are __be16 with a mask: an exact port is port/0xffff
  if (sel.dport !== undefined) {
    b.writeUInt16BE(sel.dport, 32);
    b.writeUInt16BE(0xffff, 34);
  }
  if (sel.sport !== undefined) {
    b.writeUInt16BE(sel.sport, 36);
    b.writeUInt16BE(0xffff, 38);
  }
  b.writeUInt16LE(afOf(src.family), 40);
  b.writeUInt8(dst.prefix, 42);
  b.writeUInt8(src.prefix, 43);
  b.writeUInt8(sel.proto ?? 0, 44);
  return b;
}

/** "10.0.0.0/8" → "10.0.0.0" (the network address; host bits are zero after parseCidr) */
function cidrAddress(text: string): string {
  const slash = text.indexOf('/');
  return slash < 0 ? text : text.slice(0, slash);
}

/** struct xfrm_lifetime_cfg: no byte/packet limits, the given time limits (seconds; 0 = none). */
function lifetimeCfg(softSeconds: number, hardSeconds: number): Buffer {
  const b = Buffer.alloc(64);
  b.writeBigUInt64LE(XFRM_INF, 0); // soft_byte_limit
  b.writeBigUInt64LE(XFRM_INF, 8); // hard_byte_limit
  b.writeBigUInt64LE(XFRM_INF, 16); // soft_packet_limit
  b.writeBigUInt64LE(XFRM_INF, 24); // hard_packet_limit
  b.writeBigUInt64LE(BigInt(softSeconds), 32); // soft_add_expires_seconds
  b.writeBigUInt64LE(BigInt(hardSeconds), 40); // hard_add_expires_seconds
  return b;
}

function algName(name: string): Buffer {
  const b = Buffer.alloc(64);
  if (Buffer.byteLength(name) >= 64) throw new RangeError(`algorithm name ${name} longer than 63 octets`);
  b.write(name, 0, 'latin1');
  return b;
}

/**
 * XFRM_MSG_NEWSA for one direction of a CHILD_SA: the netlink twin of
 * xfrm.ts saAddLine (same addresses, SPI, reqid, mode, flags, algorithms,
 * encapsulation ports, replay window and time limits).
 */
export function newSaMessage(spec: ChildSaSpec, dir: 'in' | 'out', reqid: number, alg: KernelAlgorithms, seq: number): Buffer {
  const keys: EspSaKeys = dir === 'in' ? spec.inbound : spec.outbound;
  const [src, dst] = dir === 'in' ? [spec.remote.address, spec.local.address] : [spec.local.address, spec.remote.address];
  const family = parseCidr(src).family;
  const info = Buffer.alloc(USERSA_INFO_LEN);
  encodeSelector(undefined).copy(info, 0);
  // xfrm_id at 56: daddr, spi (__be32), proto
  xfrmAddress(dst).copy(info, 56);
  info.writeUInt32BE(keys.spi >>> 0, 72);
  info.writeUInt8(IPPROTO_ESP, 76);
  xfrmAddress(src).copy(info, 80);
  lifetimeCfg(spec.lifetime.soft > 0 ? Math.floor(spec.lifetime.soft) : 0, spec.lifetime.hard > 0 ? Math.floor(spec.lifetime.hard) : 0).copy(info, 96);
  info.writeUInt32LE(reqid >>> 0, 208);
  info.writeUInt16LE(afOf(family), 212);
  info.writeUInt8(XFRM_MODE_TUNNEL, 214);
  const useEsnState = spec.algorithms.esn || spec.replayWindow > LEGACY_REPLAY_MAX;
  // With XFRMA_REPLAY_ESN_VAL the kernel requires xfrm_usersa_info.replay_window 0 (verify_replay).
  info.writeUInt8(useEsnState ? 0 : spec.replayWindow, 215);
  info.writeUInt8(XFRM_STATE_AF_UNSPEC | (spec.algorithms.esn ? XFRM_STATE_ESN : 0), 216);

  const attrs: Buffer[] = [];
  const key = Buffer.from(keys.encKey);
  if (alg.kind === 'aead') {
    const a = Buffer.alloc(72);
    algName(alg.name).copy(a, 0);
    a.writeUInt32LE(key.length * 8, 64); // alg_key_len in bits
    a.writeUInt32LE(alg.icvBits, 68); // alg_icv_len in bits
    attrs.push(attr(XFRMA_ALG_AEAD, Buffer.concat([a, key])));
  } else {
    const c = Buffer.alloc(68);
    algName(alg.enc.name).copy(c, 0);
    c.writeUInt32LE(key.length * 8, 64);
    attrs.push(attr(XFRMA_ALG_CRYPT, Buffer.concat([c, key])));
    const ikey = Buffer.from(keys.integKey ?? new Uint8Array());
    const a = Buffer.alloc(72);
    algName(alg.auth.name).copy(a, 0);
    a.writeUInt32LE(ikey.length * 8, 64);
    a.writeUInt32LE(alg.auth.truncBits, 68);
    attrs.push(attr(XFRMA_ALG_AUTH_TRUNC, Buffer.concat([a, ikey])));
  }
  if (spec.encap) {
    // RFC 3948 §2.1: ports as in this SA's packets; the original address is unused in tunnel mode
    const [sport, dport] = dir === 'in' ? [spec.encap.remotePort, spec.encap.localPort] : [spec.encap.localPort, spec.encap.remotePort];
    const e = Buffer.alloc(24);
    e.writeUInt16LE(UDP_ENCAP_ESPINUDP, 0);
    e.writeUInt16BE(sport, 2);
    e.writeUInt16BE(dport, 4);
    attrs.push(attr(XFRMA_ENCAP, e));
  }
  if (useEsnState) {
    // struct xfrm_replay_state_esn + bitmap: RFC 4304 ESN, or a window wider than 32 packets
    const words = Math.ceil(spec.replayWindow / 32);
    const r = Buffer.alloc(24 + 4 * words);
    r.writeUInt32LE(words, 0); // bmp_len
    r.writeUInt32LE(spec.replayWindow, 20);
    attrs.push(attr(XFRMA_REPLAY_ESN_VAL, r));
  }
  return message(XFRM_MSG_NEWSA, NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL, seq, [info, ...attrs]);
}

/** XFRM_MSG_DELSA: xfrm_usersa_id + the source address (as `ip xfrm state delete src … dst … spi …`). */
export function deleteSaMessage(sa: Pick<SaItem, 'src' | 'dst' | 'spi'>, seq: number): Buffer {
  const id = Buffer.alloc(USERSA_ID_LEN);
  xfrmAddress(sa.dst).copy(id, 0);
  id.writeUInt32BE(sa.spi >>> 0, 16);
  id.writeUInt16LE(afOf(parseCidr(sa.dst).family), 20);
  id.writeUInt8(IPPROTO_ESP, 22);
  return message(XFRM_MSG_DELSA, NLM_F_REQUEST | NLM_F_ACK, seq, [id, attr(XFRMA_SRCADDR, xfrmAddress(sa.src))]);
}

/** XFRM_MSG_NEWPOLICY (`add`, fails if the selector exists) or XFRM_MSG_UPDPOLICY (`update`). */
export function policyMessage(p: PolicyItem, verb: 'add' | 'update', seq: number): Buffer {
  const info = Buffer.alloc(USERPOLICY_INFO_LEN);
  encodeSelector(p.sel).copy(info, 0);
  lifetimeCfg(0, 0).copy(info, 56);
  info.writeUInt32LE(p.priority >>> 0, 152);
  info.writeUInt8(DIR[p.dir], 160);
  // action 0 = XFRM_POLICY_ALLOW: a policy without template is a bypass
  const attrs: Buffer[] = [];
  if (p.tmpl) {
    const t = Buffer.alloc(USER_TMPL_LEN);
    xfrmAddress(p.tmpl.dst).copy(t, 0); // id.daddr
    t.writeUInt8(IPPROTO_ESP, 20); // id.proto
    t.writeUInt16LE(afOf(parseCidr(p.tmpl.dst).family), 24);
    xfrmAddress(p.tmpl.src).copy(t, 28);
    t.writeUInt32LE(p.tmpl.reqid >>> 0, 44);
    t.writeUInt8(XFRM_MODE_TUNNEL, 48);
    // any algorithm (iproute2's default for a template)
    t.writeUInt32LE(0xffff_ffff, 52);
    t.writeUInt32LE(0xffff_ffff, 56);
    t.writeUInt32LE(0xffff_ffff, 60);
    attrs.push(attr(XFRMA_TMPL, t));
  }
  const type = verb === 'add' ? XFRM_MSG_NEWPOLICY : XFRM_MSG_UPDPOLICY;
  const flags = NLM_F_REQUEST | NLM_F_ACK | (verb === 'add' ? NLM_F_CREATE | NLM_F_EXCL : NLM_F_CREATE);
  return message(type, flags, seq, [info, ...attrs]);
}

/** XFRM_MSG_DELPOLICY by selector and direction. */
export function deletePolicyMessage(p: Pick<PolicyItem, 'dir' | 'sel'>, seq: number): Buffer {
  const id = Buffer.alloc(USERPOLICY_ID_LEN);
  encodeSelector(p.sel).copy(id, 0);
  id.writeUInt8(DIR[p.dir], 60);
  return message(XFRM_MSG_DELPOLICY, NLM_F_REQUEST | NLM_F_ACK, seq, [id]);
}

/** XFRM_MSG_GETSA dump (all SAs; the kernel needs no payload for an unfiltered dump). */
export function dumpSaMessage(seq: number): Buffer {
  return message(XFRM_MSG_GETSA, NLM_F_REQUEST | NLM_F_DUMP, seq, []);
}

/** What the backend reads back from an SA (no keys are decoded). */
export interface SaInfo {
  readonly src: string;
  readonly dst: string;
  readonly spi: number;
  readonly proto: number;
  readonly reqid: number;
  readonly mode: number;
  readonly replayWindow: number;
  readonly flags: number;
  readonly bytes: number;
  readonly packets: number;
  /** seconds since the epoch (xfrm_lifetime_cur.add_time) */
  readonly addTimeSeconds: number;
}

/** Decodes an XFRM_MSG_NEWSA (a dump entry or a GETSA answer). */
export function decodeSaInfo(m: NetlinkMessage): SaInfo {
  if (m.type !== XFRM_MSG_NEWSA) throw new NetlinkDecodeError(`message type ${m.type} is not XFRM_MSG_NEWSA`);
  const p = m.payload;
  if (p.length < USERSA_INFO_LEN) throw new NetlinkDecodeError(`xfrm_usersa_info of ${p.length} octets, expected ${USERSA_INFO_LEN}`);
  parseAttributes(p, USERSA_INFO_LEN); // the attributes must be well-formed even if unused
  const family = p.readUInt16LE(212);
  const n = family === 2 ? 4 : family === 10 ? 16 : 0;
  if (n === 0) throw new NetlinkDecodeError(`SA of address family ${family}`);
  return {
    dst: formatAddressBytes(p.subarray(56, 56 + n)),
    spi: p.readUInt32BE(72),
    proto: p.readUInt8(76),
    src: formatAddressBytes(p.subarray(80, 80 + n)),
    bytes: Number(p.readBigUInt64LE(160)),
    packets: Number(p.readBigUInt64LE(168)),
    addTimeSeconds: Number(p.readBigUInt64LE(176)),
    reqid: p.readUInt32LE(208),
    mode: p.readUInt8(214),
    replayWindow: p.readUInt8(215),
    flags: p.readUInt8(216),
  };
}
