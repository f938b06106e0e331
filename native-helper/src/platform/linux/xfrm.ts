/**
 * Linux XFRM for one tunnel-mode CHILD_SA: the `ip -batch` lines that add
 * (and remove) its two ESP SAs (RFC 4303) and the policies (RFC 4301 §4.4)
 * that send matching traffic through them. Pure functions; running them is
 * the backend's job (through `ip -batch -` on stdin: the SA lines carry the
 * keys as hex and must never reach argv, logs or errors).
 *
 * Kernel facts used here:
 * - `flag af-unspec`: a tunnel-mode SA whose selector is left open carries
 *   IPv4 and IPv6 inner packets (one SA pair for TSi/TSr of both families,
 *   as charon installs them).
 * - ESN (RFC 4304) needs the replay-state attribute with a window > 0 in the
 *   kernel; iproute2 builds it for `flag esn` and for windows above 32.
 * - UDP encapsulation (RFC 3948): `encap espinudp <sport> <dport> 0.0.0.0`
 *   per SA, ports as on the wire for that SA's direction. Receiving
 *   encapsulated ESP additionally needs a UDP socket with the UDP_ENCAP
 *   option on the local port (the IKE socket), which the daemon owns.
 */
import type { ChildSaSpec, EspSaKeys } from '../../ike/actions.js';
import type { TrafficSelector } from '../../ike/codec/types.js';
import { parseIp as parseIpOctets } from '../../pki/ip-address.js';
import { PlatformError } from '../errors.js';
import type { KernelAlgorithms } from './algorithms.js';
import { kernelAlgorithms } from './algorithms.js';
import type { Cidr } from './cidr.js';
import { formatCidr, hostCidr, parseIp, rangeToCidrs } from './cidr.js';
import type { BatchLine } from './ip-command.js';
import type { PolicyItem, SaItem, XfrmSelector } from './items.js';
import { hex8, selectorText } from './items.js';
import { POLICY_PRIORITY_BYPASS, POLICY_PRIORITY_IPSEC_BASE, REQID_MAX, REQID_MIN } from './marks.js';

const IPPROTO_UDP = 17;
const IPPROTO_ICMP = 1;
const IPPROTO_ICMPV6 = 58;
/** RFC 7296 §2.23: IKE ports */
const IKE_PORTS = [500, 4500] as const;

const toHex = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');

/** Checks what the kernel would reject with an opaque errno, with a message that says why. */
export function validateChildSa(spec: ChildSaSpec): KernelAlgorithms {
  const op = 'installChildSa';
  const alg = kernelAlgorithms(spec.algorithms);
  if (!Number.isInteger(spec.id) || spec.id < 0) throw new PlatformError('invalid-spec', op, `CHILD_SA id ${spec.id} is not a non-negative integer`);
  for (const [name, keys] of [['inbound', spec.inbound], ['outbound', spec.outbound]] as const) {
    // RFC 4303 §2.1: SPI values 1–255 are reserved by IANA, 0 is never used on the wire
    if (!Number.isInteger(keys.spi) || keys.spi < 256 || keys.spi > 0xffff_ffff) {
      throw new PlatformError('invalid-spec', op, `${name} SPI ${keys.spi} outside 256..2^32-1`);
    }
    const encLen = alg.kind === 'aead' ? alg.keyOctets : alg.enc.keyOctets;
    if (keys.encKey.length !== encLen) {
      throw new PlatformError('invalid-spec', op, `${name} encryption key is ${keys.encKey.length} octets, the transform needs ${encLen}`);
    }
    if (alg.kind === 'cipher+integ' && keys.integKey?.length !== alg.auth.keyOctets) {
      throw new PlatformError('invalid-spec', op, `${name} integrity key is ${keys.integKey?.length ?? 0} octets, the transform needs ${alg.auth.keyOctets}`);
    }
  }
  if (spec.inbound.spi === spec.outbound.spi && spec.local.address === spec.remote.address) {
    throw new PlatformError('invalid-spec', op, 'inbound and outbound SA would be the same kernel object');
  }
  if (parseIp(spec.local.address).family !== parseIp(spec.remote.address).family) {
    throw new PlatformError('invalid-spec', op, 'local and remote endpoint are of different address families');
  }
  if (spec.encap && !(validPort(spec.encap.localPort) && validPort(spec.encap.remotePort))) {
    throw new PlatformError('invalid-spec', op, 'UDP encapsulation ports must be 1..65535');
  }
  if (!Number.isInteger(spec.replayWindow) || spec.replayWindow < 0 || spec.replayWindow > 4096) {
    throw new PlatformError('invalid-spec', op, `replay window ${spec.replayWindow} outside 0..4096`);
  }
  if (spec.algorithms.esn && spec.replayWindow === 0) {
    // The kernel refuses ESN without anti-replay state (xfrm_init_replay: window 0 → EINVAL).
    throw new PlatformError('invalid-spec', op, 'extended sequence numbers need a replay window > 0');
  }
  if (spec.localTs.length === 0 || spec.remoteTs.length === 0) throw new PlatformError('invalid-spec', op, 'a CHILD_SA needs traffic selectors on both sides');
  return alg;
}

const validPort = (p: number): boolean => Number.isInteger(p) && p >= 1 && p <= 65535;

/** `ip xfrm state add` for one direction; the returned text holds key hex (stdin only). */
export function saAddLine(spec: ChildSaSpec, dir: 'in' | 'out', reqid: number, alg: KernelAlgorithms): BatchLine {
  const keys: EspSaKeys = dir === 'in' ? spec.inbound : spec.outbound;
  // inbound: gateway → us; outbound: us → gateway (RFC 7296 §2.17 key order is the engine's job)
  const [src, dst] = dir === 'in' ? [spec.remote, spec.local] : [spec.local, spec.remote];
  const parts = [
    `xfrm state add src ${src.address} dst ${dst.address} proto esp spi 0x${hex8(keys.spi)} reqid ${reqid} mode tunnel`,
    `replay-window ${spec.replayWindow}`,
    `flag af-unspec${spec.algorithms.esn ? ' esn' : ''}`,
  ];
  if (alg.kind === 'aead') {
    parts.push(`aead '${alg.name}' 0x${toHex(keys.encKey)} ${alg.icvBits}`);
  } else {
    parts.push(`enc '${alg.enc.name}' 0x${toHex(keys.encKey)}`);
    parts.push(`auth-trunc '${alg.auth.name}' 0x${toHex(keys.integKey ?? new Uint8Array())} ${alg.auth.truncBits}`);
  }
  if (spec.encap) {
    // RFC 3948 §2.1: ports as in this SA's packets; OA unused for tunnel mode
    const [sport, dport] = dir === 'in' ? [spec.encap.remotePort, spec.encap.localPort] : [spec.encap.localPort, spec.encap.remotePort];
    parts.push(`encap espinudp ${sport} ${dport} 0.0.0.0`);
  }
  // The engine rekeys at `soft`; `hard` makes the kernel drop the SA even if the helper died.
  if (spec.lifetime.soft > 0) parts.push(`limit time-soft ${Math.floor(spec.lifetime.soft)}`);
  if (spec.lifetime.hard > 0) parts.push(`limit time-hard ${Math.floor(spec.lifetime.hard)}`);
  return { text: parts.join(' '), label: `SA ${dir} spi 0x${hex8(keys.spi)}` };
}

export function saItems(spec: ChildSaSpec, reqid: number): [SaItem, SaItem] {
  return [
    { kind: 'sa', dir: 'in', src: spec.remote.address, dst: spec.local.address, spi: spec.inbound.spi, reqid },
    { kind: 'sa', dir: 'out', src: spec.local.address, dst: spec.remote.address, spi: spec.outbound.spi, reqid },
  ];
}

export function saDeleteLine(sa: Pick<SaItem, 'src' | 'dst' | 'spi'>): BatchLine {
  return { text: `xfrm state delete src ${sa.src} dst ${sa.dst} proto esp spi 0x${hex8(sa.spi)}`, label: `delete SA spi 0x${hex8(sa.spi)}` };
}

export function policyLine(p: PolicyItem, verb: 'add' | 'update'): BatchLine {
  let text = `xfrm policy ${verb} ${selectorText(p.sel)} dir ${p.dir} priority ${p.priority}`;
  if (p.tmpl) text += ` tmpl src ${p.tmpl.src} dst ${p.tmpl.dst} proto esp reqid ${p.tmpl.reqid} mode tunnel`;
  return { text, label: `policy ${verb} ${p.dir} ${selectorText(p.sel)}` };
}

export function policyDeleteLine(p: Pick<PolicyItem, 'dir' | 'sel'>): BatchLine {
  return { text: `xfrm policy delete ${selectorText(p.sel)} dir ${p.dir}`, label: `delete policy ${p.dir} ${selectorText(p.sel)}` };
}

/** Delete by kernel index (the sweep, for policies found by their marks). */
export function policyDeleteByIndexLine(index: number, dir: string): BatchLine {
  return { text: `xfrm policy delete index ${index} dir ${dir}`, label: `delete policy index ${index} dir ${dir}` };
}

interface SideSelector {
  readonly cidrs: Cidr[];
  readonly proto: number;
  readonly port: number | undefined;
}

/**
 * One TS → prefixes, protocol and (single) port. A port range that is not a
 * single port, and ICMP type/code (RFC 7296 §3.13.1 packs them into the
 * port fields), become "any port": the kernel selector would be wider than
 * negotiated, so such traffic still goes into the tunnel (where the gateway
 * enforces the exact selector) instead of leaking outside it.
 */
function side(ts: TrafficSelector): SideSelector {
  const cidrs = rangeToCidrs(ts.startAddress, ts.endAddress);
  const icmp = ts.ipProtocol === IPPROTO_ICMP || ts.ipProtocol === IPPROTO_ICMPV6;
  if (ts.startPort > ts.endPort) throw new PlatformError('invalid-spec', 'traffic selector', `port range ${ts.startPort}-${ts.endPort} is empty`);
  const port = !icmp && ts.ipProtocol !== 0 && ts.startPort === ts.endPort ? ts.startPort : undefined;
  return { cidrs, proto: ts.ipProtocol, port };
}

/** Lower = preferred; more specific selectors first (RFC 4301 §4.4.1: ordered SPD). */
function ipsecPriority(src: Cidr, dst: Cidr, proto: number | undefined): number {
  const max = src.family === 4 ? 32 : 128;
  return POLICY_PRIORITY_IPSEC_BASE + 2 * (2 * max - src.prefix - dst.prefix) + (proto === undefined ? 1 : 0);
}

/**
 * out/in/fwd policies for every localTs × remoteTs pair of the same family.
 * `out` sends local→remote traffic through the SA towards the gateway; `in`
 * and `fwd` require that remote→local traffic arrived through ESP.
 */
export function childPolicies(spec: ChildSaSpec, reqid: number): PolicyItem[] {
  const out: PolicyItem[] = [];
  const l = spec.local.address;
  const r = spec.remote.address;
  for (const lts of spec.localTs) {
    for (const rts of spec.remoteTs) {
      const a = side(lts);
      const b = side(rts);
      if ((a.cidrs[0]?.family ?? 0) !== (b.cidrs[0]?.family ?? 0)) continue;
      if (a.proto !== 0 && b.proto !== 0 && a.proto !== b.proto) continue; // no packet can match both
      const proto = a.proto !== 0 ? a.proto : b.proto !== 0 ? b.proto : undefined;
      for (const lc of a.cidrs) {
        for (const rc of b.cidrs) {
          const priority = ipsecPriority(lc, rc, proto);
          const outSel = selector(formatCidr(lc), formatCidr(rc), proto, a.port, b.port);
          const inSel = selector(formatCidr(rc), formatCidr(lc), proto, b.port, a.port);
          out.push({ kind: 'policy', dir: 'out', sel: outSel, priority, tmpl: { src: l, dst: r, reqid } });
          out.push({ kind: 'policy', dir: 'in', sel: inSel, priority, tmpl: { src: r, dst: l, reqid } });
          out.push({ kind: 'policy', dir: 'fwd', sel: inSel, priority, tmpl: { src: r, dst: l, reqid } });
        }
      }
    }
  }
  if (out.length === 0) throw new PlatformError('invalid-spec', 'installChildSa', 'no pair of local and remote traffic selectors can carry traffic');
  return out;
}

function selector(src: string, dst: string, proto: number | undefined, sport: number | undefined, dport: number | undefined): XfrmSelector {
  if (proto === undefined) return { src, dst };
  return { src, dst, proto, ...(sport !== undefined ? { sport } : {}), ...(dport !== undefined ? { dport } : {}) };
}

/**
 * IKE itself must never enter the tunnel (RFC 7296 §2.23 traffic on UDP
 * 500/4500 to the gateway): charon does this with per-socket policies, which
 * Node cannot set, so these are global bypass policies for UDP to and from
 * the gateway's IKE ports, ahead of every tunnel policy.
 *
 * They are needed only when a tunnel policy could catch IKE: some pair of
 * traffic selectors covers both our IKE address and the gateway's. With a
 * virtual IP the local selector is that address alone, so a remote-access
 * tunnel needs none (and a connect saves four kernel policies); a
 * host-to-host or no-virtual-IP full tunnel gets them.
 */
export function ikeBypassPolicies(spec: ChildSaSpec): PolicyItem[] {
  if (!tunnelCouldCarryIke(spec)) return [];
  const gw = hostCidr(spec.remote.address);
  const any = gw.family === 4 ? '0.0.0.0/0' : '::/0';
  const ports = [...new Set<number>([...IKE_PORTS, spec.remote.port])];
  return ports.flatMap((port): PolicyItem[] => [
    { kind: 'policy', dir: 'out', sel: { src: any, dst: formatCidr(gw), proto: IPPROTO_UDP, dport: port }, priority: POLICY_PRIORITY_BYPASS },
    { kind: 'policy', dir: 'in', sel: { src: formatCidr(gw), dst: any, proto: IPPROTO_UDP, sport: port }, priority: POLICY_PRIORITY_BYPASS },
  ]);
}

/** True when some localTs × remoteTs pair contains our IKE address and the gateway's (see ikeBypassPolicies). */
export function tunnelCouldCarryIke(spec: Pick<ChildSaSpec, 'local' | 'remote' | 'localTs' | 'remoteTs'>): boolean {
  const local = parseIpOctets(spec.local.address)?.bytes;
  const gateway = parseIpOctets(spec.remote.address)?.bytes;
  if (local === undefined || gateway === undefined) return true; // cannot tell: keep IKE safe
  const covers = (ts: TrafficSelector, a: Uint8Array): boolean =>
    ts.startAddress.length === a.length && Buffer.compare(ts.startAddress, a) <= 0 && Buffer.compare(a, ts.endAddress) <= 0;
  return spec.localTs.some((l) => covers(l, local)) && spec.remoteTs.some((r) => covers(r, gateway));
}

/** Networks that always stay outside the tunnel (the profile's `exclude`). */
export function excludeBypassPolicies(excluded: readonly Cidr[]): PolicyItem[] {
  return excluded.flatMap((c): PolicyItem[] => {
    const any = c.family === 4 ? '0.0.0.0/0' : '::/0';
    return [
      { kind: 'policy', dir: 'out', sel: { src: any, dst: formatCidr(c) }, priority: POLICY_PRIORITY_BYPASS },
      { kind: 'policy', dir: 'in', sel: { src: formatCidr(c), dst: any }, priority: POLICY_PRIORITY_BYPASS },
    ];
  });
}

/** reqid for a new policy set: REQID_MIN + id if free, else the next free one (RFC 4301: reqid binds policy and SA). */
export function allocateReqid(id: number, used: ReadonlySet<number>): number {
  const span = REQID_MAX - REQID_MIN + 1;
  for (let i = 0; i < span; i++) {
    const candidate = REQID_MIN + ((id + i) % span);
    if (!used.has(candidate)) return candidate;
  }
  throw new PlatformError('busy', 'installChildSa', 'no free reqid in the Strait range');
}
