// What a VPN client may change in a network namespace, read back as text so
// that "after disconnect equals before connect" is one comparison: XFRM
// states (without keys) and policies, routes of every table (IPv4 and IPv6),
// policy rules, addresses and the resolver file. Used by the tunnel suite and
// the demo. Runs inside the lab guest.

import { readFile } from 'node:fs/promises';

import { run } from './guest.js';
import type { Netns } from './topology.js';
import { NETNS } from './topology.js';

export type NetSnapshot = Readonly<Record<'xfrmStates' | 'xfrmPolicies' | 'routes4' | 'routes6' | 'rules4' | 'rules6' | 'addresses' | 'firewall' | 'resolvConf', string>>;

interface RouteJson {
  readonly type?: string;
  readonly dst?: string;
  readonly table?: string;
  readonly dev?: string;
  readonly gateway?: string;
  readonly protocol?: string;
  readonly prefsrc?: string;
}

interface AddrJson {
  readonly ifname: string;
  readonly addr_info?: ReadonlyArray<{ readonly local: string; readonly prefixlen: number }>;
}

async function ip(ns: Netns, args: readonly string[]): Promise<string> {
  return (await run(['ip', '-n', NETNS[ns], ...args], { check: true })).stdout;
}

/** One line per route; fields that vary without anyone changing the routing (expiry, cache) are left out. */
async function routes(ns: Netns, family: '-4' | '-6'): Promise<string> {
  const list = JSON.parse(await ip(ns, [family, '-j', 'route', 'show', 'table', 'all'])) as RouteJson[];
  return list
    .map((r) => [r.type ?? 'unicast', r.dst, `table=${r.table ?? 'main'}`, r.dev && `dev=${r.dev}`, r.gateway && `via=${r.gateway}`, r.prefsrc && `src=${r.prefsrc}`, r.protocol && `proto=${r.protocol}`].filter(Boolean).join(' '))
    .sort()
    .join('\n');
}

async function addresses(ns: Netns): Promise<string> {
  const list = JSON.parse(await ip(ns, ['-j', 'address', 'show'])) as AddrJson[];
  return list
    .flatMap((l) => (l.addr_info ?? []).map((a) => `${l.ifname} ${a.local}/${a.prefixlen}`))
    .sort()
    .join('\n');
}

/**
 * Packet filter rules (a leak guard's chains or table): legacy iptables and
 * ip6tables (the UML kernel has no inet nftables) and the nftables ruleset,
 * without the comment lines (timestamps) and packet counters.
 */
async function firewall(ns: Netns): Promise<string> {
  const dump = async (argv: readonly string[]): Promise<string> => {
    const r = await run(['ip', 'netns', 'exec', NETNS[ns], ...argv]).catch(() => undefined);
    if (r === undefined || r.code === 127) return `${argv[0] ?? ''}: not installed`;
    return r.stdout
      .split('\n')
      .filter((l) => !l.startsWith('#') && l.trim() !== '')
      .map((l) => l.replace(/\[\d+:\d+\]/g, '[0:0]'))
      .join('\n');
  };
  const [v4, v6, nft] = await Promise.all([dump(['iptables-legacy-save']), dump(['ip6tables-legacy-save']), dump(['nft', 'list', 'ruleset'])]);
  return `# iptables\n${v4}\n# ip6tables\n${v6}\n# nft\n${nft}`;
}

/** Reads everything a VPN client may touch in `ns`; `resolvConf` is the resolver file straitd manages. */
export async function netSnapshot(ns: Netns, resolvConf = '/etc/resolv.conf'): Promise<NetSnapshot> {
  const [xfrmStates, xfrmPolicies, routes4, routes6, rules4, rules6, addrs, fw, resolv] = await Promise.all([
    ip(ns, ['xfrm', 'state', 'list', 'nokeys']), // never key material, even in a failure message
    ip(ns, ['xfrm', 'policy', 'list']),
    routes(ns, '-4'),
    routes(ns, '-6'),
    ip(ns, ['-4', 'rule', 'show']),
    ip(ns, ['-6', 'rule', 'show']),
    addresses(ns),
    firewall(ns),
    readFile(resolvConf, 'utf8').catch((e: unknown) => `(unreadable: ${e instanceof Error ? e.message : String(e)})`),
  ]);
  return { xfrmStates, xfrmPolicies, routes4, routes6, rules4, rules6, addresses: addrs, firewall: fw, resolvConf: resolv };
}

/** Lines present in one snapshot and not the other, per aspect; empty when the two are equal. */
export function snapshotDiff(before: NetSnapshot, after: NetSnapshot): string[] {
  const out: string[] = [];
  for (const key of Object.keys(before) as Array<keyof NetSnapshot>) {
    if (before[key] === after[key]) continue;
    const b = new Set(before[key].split('\n'));
    const a = new Set(after[key].split('\n'));
    const gone = [...b].filter((l) => !a.has(l) && l.trim() !== '');
    const added = [...a].filter((l) => !b.has(l) && l.trim() !== '');
    out.push(`${key}:${gone.map((l) => `\n  - ${l}`).join('')}${added.map((l) => `\n  + ${l}`).join('')}${gone.length + added.length === 0 ? ' (order changed)' : ''}`);
  }
  return out;
}

/** Short counts for a human: how many SAs, policies, routes, rules and addresses a snapshot holds. */
export function snapshotCounts(s: NetSnapshot): string {
  const n = (text: string, re: RegExp): number => text.split('\n').filter((l) => re.test(l)).length;
  return [
    `xfrm states ${n(s.xfrmStates, /^src /)}`,
    `xfrm policies ${n(s.xfrmPolicies, /^src /)}`,
    `routes ${n(s.routes4, /\S/) + n(s.routes6, /\S/)}`,
    `rules ${n(s.rules4, /\S/) + n(s.rules6, /\S/)}`,
    `addresses ${n(s.addresses, /\S/)}`,
    `filter rules ${n(s.firewall, /^-A |^\s+(ip|ip6|meta|oif|iif|ct|udp|tcp|counter|accept|drop|reject)\b/)}`,
    `resolv.conf ${s.resolvConf.length} bytes`,
  ].join(', ');
}
