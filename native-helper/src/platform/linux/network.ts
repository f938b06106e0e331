/**
 * Virtual IP, routes and the routing rule for a policy-based tunnel
 * (the UML lab kernel, like many distribution kernels, has no XFRM
 * interfaces), planned as pure data and written as `ip -batch` lines.
 *
 * Design (the same as strongSwan's charon):
 * - The virtual IP goes on the interface that reaches the gateway, as a
 *   host address (/32, /128): a shorter prefix would make the rest of the
 *   gateway's pool look on-link. Traffic picks it as source through the
 *   `src` of Strait's routes, and the XFRM policies match on it (TSi).
 *   IPv6 VIPs are added with `nodad`: a tentative address cannot be a route
 *   source, and nobody else on the link can answer for it anyway.
 * - Routes for the tunnel live in table 21332, consulted by a rule before
 *   `main`, via the gateway's next hop with `src <vip>`. The gateway's own
 *   address and the excluded networks get `throw` routes there, so lookups
 *   for them fall through to `main` and keep using the original route: IKE
 *   and ESP to the gateway never loop into the tunnel (full tunnel).
 * - Inner packets are transformed by XFRM before any neighbour lookup, so
 *   the route's next hop only matters for reaching the gateway; for an
 *   inner family other than the gateway's, the route names just the device.
 */
import { PlatformError } from '../errors.js';
import type { Cidr, IpFamily } from './cidr.js';
import { contains, dedupe, formatCidr, hostCidr, intersect, parseCidr, parseIp, rangeToCidrs } from './cidr.js';
import type { BatchLine } from './ip-command.js';
import type { AddressItem, RouteItem, RuleItem } from './items.js';
import { ADDRESS_METRIC, ROUTE_PROTOCOL, ROUTE_TABLE, RULE_PREFERENCE } from './marks.js';
import type { ApplyConfigParams } from '../backend.js';

/** The path to the gateway as `ip route get` reports it. */
export interface GatewayPath {
  readonly dev: string;
  /** next-hop router; absent when the gateway is on-link */
  readonly via?: string;
}

export interface NetworkPlan {
  readonly addresses: readonly AddressItem[];
  readonly routes: readonly RouteItem[];
  readonly rules: readonly RuleItem[];
  /** networks kept out of the tunnel (for bypass policies) */
  readonly excluded: readonly Cidr[];
  /** families whose traffic goes into the tunnel */
  readonly families: readonly IpFamily[];
}

/** Parses `ip -j route get <addr>`. */
export function parseRouteGet(json: string, gateway: string): GatewayPath {
  let parsed: unknown;
  try {
    parsed = JSON.parse(json);
  } catch {
    throw new PlatformError('command-failed', 'applyConfig/route-get', `unreadable "ip -j route get ${gateway}" output`);
  }
  const first: unknown = Array.isArray(parsed) ? parsed[0] : undefined;
  if (typeof first !== 'object' || first === null) {
    throw new PlatformError('command-failed', 'applyConfig/route-get', `no route to the gateway ${gateway}`);
  }
  const rec = first as Record<string, unknown>;
  const dev = rec['dev'];
  const via = rec['gateway'];
  if (typeof dev !== 'string' || dev === '') throw new PlatformError('command-failed', 'applyConfig/route-get', `the route to ${gateway} names no interface`);
  return { dev, ...(typeof via === 'string' && via !== '' ? { via } : {}) };
}

function parseList(list: readonly string[], what: string): Cidr[] {
  return list.map((s) => {
    try {
      return parseCidr(s);
    } catch {
      throw new PlatformError('invalid-spec', 'applyConfig', `${what} entry "${s.slice(0, 64)}" is not an IP prefix`);
    }
  });
}

/**
 * The networks to route into the tunnel (RFC 7296 §2.9: the narrowed TSr is
 * what the SA carries) and the ones kept out. Only families with a local
 * traffic selector carry tunnel traffic, IPv6 only when the profile allows it.
 */
export function tunnelNetworks(p: ApplyConfigParams): { routed: Cidr[]; excluded: Cidr[]; families: IpFamily[] } {
  const localFamilies = new Set<IpFamily>(p.childSa.localTs.map((ts) => (ts.startAddress.length === 4 ? 4 : 6)));
  const families = ([4, 6] as const).filter((f) => localFamilies.has(f) && (f === 4 || p.tunnel.ipv6));
  const remote = dedupe(p.childSa.remoteTs.flatMap((ts) => rangeToCidrs(ts.startAddress, ts.endAddress)));
  const wanted = p.tunnel.mode === 'split' && p.tunnel.include.length > 0 ? intersect(parseList(p.tunnel.include, 'include'), remote) : remote;
  const routed = wanted.filter((c) => families.includes(c.family));
  const excluded = dedupe(parseList(p.tunnel.exclude, 'exclude')).filter((c) => families.includes(c.family));
  return { routed, excluded, families };
}

/** Everything applyConfig adds to the routing system, given the path to the gateway. */
export function planNetwork(p: ApplyConfigParams, path: GatewayPath): NetworkPlan {
  const gw = p.childSa.remote.address;
  const gwFamily = parseIp(gw).family;
  const { routed, excluded, families } = tunnelNetworks(p);
  if (p.mtu !== undefined && (!Number.isInteger(p.mtu) || p.mtu < 576 || p.mtu > 65535)) {
    throw new PlatformError('invalid-spec', 'applyConfig', `MTU ${p.mtu} outside 576..65535`);
  }
  const vip = { 4: p.config.ipv4?.address, 6: p.tunnel.ipv6 ? p.config.ipv6?.address : undefined } as const;
  const addresses: AddressItem[] = [];
  for (const f of families) {
    const a = vip[f];
    if (a === undefined) continue;
    const c = hostCidr(a);
    if (c.family !== f) throw new PlatformError('invalid-spec', 'applyConfig', `virtual IPv${f} address ${a} is not IPv${f}`);
    addresses.push({ kind: 'address', family: f, cidr: formatCidr(c), dev: path.dev });
  }
  const routes: RouteItem[] = [];
  for (const c of routed) {
    const sameFamily = c.family === gwFamily;
    const via = sameFamily ? (path.via ?? gw) : undefined;
    const src = vip[c.family];
    routes.push({
      kind: 'route',
      family: c.family,
      type: 'unicast',
      dst: formatCidr(c),
      table: ROUTE_TABLE,
      proto: ROUTE_PROTOCOL,
      dev: path.dev,
      ...(via !== undefined ? { via } : {}),
      ...(src !== undefined ? { src } : {}),
      ...(p.mtu !== undefined ? { mtu: p.mtu } : {}),
    });
  }
  const throwFor = (c: Cidr): RouteItem => ({ kind: 'route', family: c.family, type: 'throw', dst: formatCidr(c), table: ROUTE_TABLE, proto: ROUTE_PROTOCOL });
  // The gateway (and excluded networks) keep their original route: a throw sends their lookup on
  // to the main table. Only where a tunnel route covers them — elsewhere the table has no route for
  // them anyway (a split tunnel to the office LAN, with the gateway outside it, needs none).
  for (const c of dedupe([hostCidr(gw), ...excluded])) if (routed.some((r) => contains(r, c))) routes.push(throwFor(c));
  const routedFamilies = [...new Set(routed.map((c) => c.family))];
  const rules: RuleItem[] = routedFamilies.map((f) => ({ kind: 'rule', family: f, pref: RULE_PREFERENCE, table: ROUTE_TABLE }));
  return { addresses, routes, rules, excluded, families: routedFamilies };
}

export function addressAddLine(a: AddressItem): BatchLine {
  // the metric is Strait's mark on the address (marks.ts)
  return { text: `address add ${a.cidr} dev ${a.dev} metric ${ADDRESS_METRIC}${a.family === 6 ? ' nodad' : ''}`, label: `address ${a.cidr} dev ${a.dev}` };
}
export function addressDeleteLine(a: AddressItem): BatchLine {
  return { text: `address del ${a.cidr} dev ${a.dev}`, label: `delete address ${a.cidr} dev ${a.dev}` };
}

export function routeAddLine(r: RouteItem): BatchLine {
  let text = `route add ${r.type === 'throw' ? 'throw ' : ''}${r.dst}`;
  if (r.via !== undefined) text += ` via ${r.via}`;
  if (r.dev !== undefined) text += ` dev ${r.dev}`;
  if (r.src !== undefined) text += ` src ${r.src}`;
  text += ` table ${r.table} proto ${r.proto}`;
  if (r.mtu !== undefined) text += ` mtu ${r.mtu}`;
  return { text, label: `route ${r.type === 'throw' ? 'throw ' : ''}${r.dst} table ${r.table}` };
}
export function routeDeleteLine(r: Pick<RouteItem, 'type' | 'dst' | 'table' | 'proto'>): BatchLine {
  return {
    text: `route del ${r.type === 'throw' ? 'throw ' : ''}${r.dst} table ${r.table} proto ${r.proto}`,
    label: `delete route ${r.type === 'throw' ? 'throw ' : ''}${r.dst} table ${r.table}`,
  };
}

export function ruleAddLine(r: RuleItem): BatchLine {
  return { text: `rule add pref ${r.pref} table ${r.table}`, label: `rule IPv${r.family} pref ${r.pref} table ${r.table}` };
}
export function ruleDeleteLine(r: Pick<RuleItem, 'pref' | 'family'>): BatchLine {
  return { text: `rule del pref ${r.pref}`, label: `delete rule IPv${r.family} pref ${r.pref}` };
}

/** A route found by `ip -j route show` (for the marker sweep). */
export interface ListedRoute {
  readonly type: 'unicast' | 'throw' | string;
  readonly dst: string;
  readonly table: string;
  readonly dev?: string;
  readonly metric?: number;
  /** rtm_protocol as iproute2 prints it: a number, or a name from rt_protos */
  readonly protocol?: string;
}

export function parseRouteList(json: string, family: IpFamily): ListedRoute[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(json.trim() === '' ? '[]' : json);
  } catch {
    return [];
  }
  if (!Array.isArray(parsed)) return [];
  const out: ListedRoute[] = [];
  for (const r of parsed as unknown[]) {
    if (typeof r !== 'object' || r === null) continue;
    const rec = r as Record<string, unknown>;
    const rawDst = rec['dst'];
    if (typeof rawDst !== 'string') continue;
    const dst = rawDst === 'default' ? (family === 4 ? '0.0.0.0/0' : '::/0') : rawDst;
    const type = typeof rec['type'] === 'string' ? (rec['type'] as string) : 'unicast';
    const table = rec['table'] === undefined ? 'main' : String(rec['table']);
    out.push({
      type,
      dst,
      table,
      ...(typeof rec['dev'] === 'string' ? { dev: rec['dev'] } : {}),
      ...(typeof rec['metric'] === 'number' ? { metric: rec['metric'] } : {}),
      ...(rec['protocol'] !== undefined ? { protocol: String(rec['protocol']) } : {}),
    });
  }
  return out;
}

export function listedRouteDeleteLine(r: ListedRoute): BatchLine {
  const type = r.type === 'unicast' ? '' : `${r.type} `;
  let text = `route del ${type}${r.dst} table ${r.table}`;
  if (r.dev !== undefined) text += ` dev ${r.dev}`;
  if (r.metric !== undefined) text += ` metric ${r.metric}`;
  return { text, label: `delete route ${type}${r.dst} table ${r.table}` };
}

export interface ListedRule {
  readonly priority: number;
  readonly table: string;
}

export function parseRuleList(json: string): ListedRule[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(json.trim() === '' ? '[]' : json);
  } catch {
    return [];
  }
  if (!Array.isArray(parsed)) return [];
  return (parsed as unknown[]).flatMap((r): ListedRule[] => {
    if (typeof r !== 'object' || r === null) return [];
    const rec = r as Record<string, unknown>;
    return typeof rec['priority'] === 'number' ? [{ priority: rec['priority'], table: String(rec['table'] ?? '') }] : [];
  });
}

/** An address found by `ip -j address show`. */
export interface ListedAddress {
  readonly family: IpFamily;
  readonly dev: string;
  /** address without prefix, as iproute2 prints it */
  readonly local: string;
  readonly prefixlen: number;
  readonly metric?: number;
}

export function parseAddressList(json: string): ListedAddress[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(json.trim() === '' ? '[]' : json);
  } catch {
    return [];
  }
  if (!Array.isArray(parsed)) return [];
  const out: ListedAddress[] = [];
  for (const link of parsed as unknown[]) {
    if (typeof link !== 'object' || link === null) continue;
    const l = link as Record<string, unknown>;
    const dev = l['ifname'];
    const info = l['addr_info'];
    if (typeof dev !== 'string' || !Array.isArray(info)) continue;
    for (const a of info as unknown[]) {
      if (typeof a !== 'object' || a === null) continue;
      const r = a as Record<string, unknown>;
      const local = r['local'];
      const prefixlen = r['prefixlen'];
      if (typeof local !== 'string' || typeof prefixlen !== 'number') continue;
      out.push({
        family: r['family'] === 'inet6' || local.includes(':') ? 6 : 4,
        dev,
        local,
        prefixlen,
        ...(typeof r['metric'] === 'number' ? { metric: r['metric'] } : {}),
      });
    }
  }
  return out;
}
