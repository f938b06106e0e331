/**
 * The leak guard's policy as packet-filter text, one policy in two dialects:
 * an nftables table (`inet strait_guard`, IPv4 and IPv6 in one) and legacy
 * iptables/ip6tables chains (`STRAIT-GUARD-IN`/`-OUT`) for kernels without
 * nf_tables' inet family (Debian's UML kernel has only bridge nf_tables).
 *
 * What passes while the guard is on (everything else is dropped on input and
 * rejected on output, so applications fail fast instead of hanging):
 *  - loopback;
 *  - traffic IPsec protects: outbound packets whose route is an XFRM bundle
 *    (nft `rt ipsec exists`, xt_policy `--dir out --pol ipsec`) and inbound
 *    packets an SA decapsulated (`meta ipsec exists`, `--dir in --pol ipsec`),
 *    RFC 4301 §5.1/§5.2 — the kernel decides by its SPD, so the tunnel's
 *    selectors need no copy here;
 *  - the gateways' IKE (UDP 500 and 4500 both ways), ESP (IP protocol 50,
 *    RFC 4303) and ESP in UDP (on 4500, RFC 3948);
 *  - IPv6 neighbour discovery and router discovery (RFC 4861 §4: without it
 *    IPv6 cannot even reach the gateway) and DHCPv4/DHCPv6 (keeps the lease);
 *  - optionally the local networks in `allowLan` (printers, the router's UI),
 *    and with `allowLocalNetworks` the prefixes directly connected to the
 *    interface that carries the route to the gateway (local-networks.ts),
 *    each bound to that interface (`oifname`/`iifname`, `-o`/`-i`), so the
 *    same prefix on another interface (a second uplink, a bridge) stays shut.
 *
 * Inputs are validated and re-formatted (canonical CIDR text) before they are
 * put into rule text, so nothing a profile holds can inject a rule.
 */
import { familyOf, formatCidr, parseCidr } from './cidr.js';
import type { IpFamily } from './cidr.js';
import type { LeakGuardSpec } from '../backend.js';
import { PlatformError } from '../errors.js';
import type { LocalNetwork } from './local-networks.js';

export const NFT_TABLE = 'strait_guard';
export const IPT_CHAIN_IN = 'STRAIT-GUARD-IN';
export const IPT_CHAIN_OUT = 'STRAIT-GUARD-OUT';

export type { LeakGuardSpec } from '../backend.js';

export interface NormalizedGuardSpec {
  readonly gateways: ReadonlyArray<{ readonly family: IpFamily; readonly address: string }>;
  readonly ike: number;
  readonly natt: number;
  /** `iface` set: the prefix passes only on that interface (allowLocalNetworks) */
  readonly lan: ReadonlyArray<{ readonly family: IpFamily; readonly cidr: string; readonly iface?: string }>;
}

const MAX_ENTRIES = 64;

function invalid(message: string): PlatformError {
  return new PlatformError('invalid-spec', 'leakGuard', message);
}

/**
 * Interface names as the kernel allows them, narrowed to what needs no
 * quoting in either dialect (dev_valid_name: at most 15 octets, no '/',
 * ':' or white space); anything else is refused rather than escaped.
 */
const IFACE = /^[A-Za-z0-9_.-]{1,15}$/u;

/**
 * Validates the spec and returns canonical text for every address. `local`:
 * the connected networks read for `spec.allowLocalNetworks` (ignored without it).
 */
export function normalizeGuardSpec(spec: LeakGuardSpec, local: readonly LocalNetwork[] = []): NormalizedGuardSpec {
  if (spec.gateways.length === 0) throw invalid('at least one gateway address is needed (the tunnel itself must stay reachable)');
  if (spec.gateways.length > MAX_ENTRIES || spec.allowLan.length > MAX_ENTRIES) throw invalid(`at most ${MAX_ENTRIES} gateways and ${MAX_ENTRIES} LAN prefixes`);
  const port = (p: number, what: string): number => {
    if (!Number.isInteger(p) || p < 1 || p > 65535) throw invalid(`${what} port must be 1..65535`);
    return p;
  };
  const gateways = spec.gateways.map((g) => {
    const c = parseCidr(g);
    const family = familyOf(g.includes('/') ? g.slice(0, g.indexOf('/')) : g);
    if (c.prefix !== (family === 4 ? 32 : 128)) throw invalid(`gateway "${g.slice(0, 64)}" must be one address, not a network`);
    const text = formatCidr(c);
    return { family, address: text.slice(0, text.indexOf('/')) };
  });
  const lan: Array<{ family: IpFamily; cidr: string; iface?: string }> = spec.allowLan.map((l) => {
    const c = parseCidr(l);
    if (c.prefix === 0) throw invalid(`allowLan "${l.slice(0, 64)}" would allow everything`);
    return { family: c.family, cidr: formatCidr(c) };
  });
  if (spec.allowLocalNetworks === true) {
    if (local.length > MAX_ENTRIES) throw invalid(`at most ${MAX_ENTRIES} local networks`);
    for (const n of local) {
      if (!IFACE.test(n.iface)) throw invalid(`interface name "${n.iface.slice(0, 32)}" cannot be put into a rule`);
      const c = parseCidr(n.cidr);
      if (c.prefix === 0) throw invalid(`local network "${n.cidr.slice(0, 64)}" would allow everything`);
      lan.push({ family: c.family, cidr: formatCidr(c), iface: n.iface });
    }
  }
  return { gateways, ike: port(spec.ports?.ike ?? 500, 'IKE'), natt: port(spec.ports?.natt ?? 4500, 'NAT-T'), lan };
}

// ---------------------------------------------------------------- nftables

const nftSet = (xs: readonly string[]): string => (xs.length === 1 ? (xs[0] ?? '') : `{ ${xs.join(', ')} }`);

/**
 * The whole table in one `nft -f -` transaction: declaring the table first
 * makes the delete succeed when it does not exist yet, so enabling replaces
 * an earlier guard atomically (no moment without rules).
 */
export function nftEnableScript(spec: NormalizedGuardSpec): string {
  const lines: string[] = [`table inet ${NFT_TABLE}`, `delete table inet ${NFT_TABLE}`, `table inet ${NFT_TABLE} {`];
  const gw4 = spec.gateways.filter((g) => g.family === 4).map((g) => g.address);
  const gw6 = spec.gateways.filter((g) => g.family === 6).map((g) => g.address);
  const lan4 = spec.lan.filter((l) => l.family === 4 && l.iface === undefined).map((l) => l.cidr);
  const lan6 = spec.lan.filter((l) => l.family === 6 && l.iface === undefined).map((l) => l.cidr);
  const onLink = spec.lan.filter((l) => l.iface !== undefined);
  // allowLocalNetworks: the prefix only on its interface (iifname/oifname match by name, so a
  // link that goes away and comes back keeps matching).
  const linkRules = (dir: 'saddr' | 'daddr'): string[] =>
    onLink.map((l) => `${dir === 'saddr' ? 'iifname' : 'oifname'} "${l.iface ?? ''}" ${l.family === 4 ? 'ip' : 'ip6'} ${dir} ${l.cidr} accept`);
  const ports = nftSet([String(spec.ike), String(spec.natt)]);
  const chain = (name: string, hook: 'input' | 'output', body: string[], last: string): void => {
    lines.push(`  chain ${name} {`, `    type filter hook ${hook} priority filter; policy accept;`, ...body.map((b) => `    ${b}`), `    ${last}`, '  }');
  };
  const gwRules = (dir: 'saddr' | 'daddr', portDir: 'sport' | 'dport'): string[] => [
    ...(gw4.length > 0 ? [`ip ${dir} ${nftSet(gw4)} udp ${portDir} ${ports} accept`, `ip ${dir} ${nftSet(gw4)} meta l4proto esp accept`] : []),
    ...(gw6.length > 0 ? [`ip6 ${dir} ${nftSet(gw6)} udp ${portDir} ${ports} accept`, `ip6 ${dir} ${nftSet(gw6)} meta l4proto esp accept`] : []),
  ];
  const nd = 'icmpv6 type { nd-router-solicit, nd-router-advert, nd-neighbor-solicit, nd-neighbor-advert, nd-redirect } accept';
  chain(
    'input',
    'input',
    [
      'iif lo accept',
      // RFC 4301 §5.2: decapsulated by an SA whose selectors the kernel checked
      'meta ipsec exists accept',
      ...gwRules('saddr', 'sport'),
      nd,
      'udp sport 67 udp dport 68 accept',
      'ip6 saddr fe80::/10 udp sport 547 udp dport 546 accept',
      ...(lan4.length > 0 ? [`ip saddr ${nftSet(lan4)} accept`] : []),
      ...(lan6.length > 0 ? [`ip6 saddr ${nftSet(lan6)} accept`] : []),
      ...linkRules('saddr'),
    ],
    'counter drop',
  );
  chain(
    'output',
    'output',
    [
      'oif lo accept',
      // RFC 4301 §5.1: the route is an XFRM bundle, so the packet leaves inside ESP
      'rt ipsec exists accept',
      ...gwRules('daddr', 'dport'),
      nd,
      'udp sport 68 udp dport 67 accept',
      'ip6 daddr ff02::1:2 udp sport 546 udp dport 547 accept',
      ...(lan4.length > 0 ? [`ip daddr ${nftSet(lan4)} accept`] : []),
      ...(lan6.length > 0 ? [`ip6 daddr ${nftSet(lan6)} accept`] : []),
      ...linkRules('daddr'),
    ],
    'counter reject with icmpx type admin-prohibited',
  );
  lines.push('}');
  return lines.join('\n') + '\n';
}

/** Removes the table if it is there (declaring it first makes the delete idempotent). */
export function nftDisableScript(): string {
  return `table inet ${NFT_TABLE}\ndelete table inet ${NFT_TABLE}\n`;
}

// ---------------------------------------------------------------- iptables (legacy)

/** What `iptables-save -t filter` says about our objects, to write a script that applies cleanly. */
export interface IptablesPresence {
  readonly chains: ReadonlySet<string>;
  /** "INPUT" / "OUTPUT" when a jump to our chain is there (counted: several jumps are all removed) */
  readonly jumps: ReadonlyArray<{ readonly from: 'INPUT' | 'OUTPUT'; readonly to: string }>;
}

/** Reads our chains and jumps from `iptables-save -t filter` output. */
export function parseIptablesSave(text: string): IptablesPresence {
  const chains = new Set<string>();
  const jumps: Array<{ from: 'INPUT' | 'OUTPUT'; to: string }> = [];
  const ours = new Set([IPT_CHAIN_IN, IPT_CHAIN_OUT]);
  let inFilter = false;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line.startsWith('*')) inFilter = line === '*filter';
    if (!inFilter) continue;
    const chain = /^:(\S+)\s/.exec(line)?.[1];
    if (chain !== undefined && ours.has(chain)) chains.add(chain);
    const jump = /^-A (INPUT|OUTPUT) -j (\S+)$/.exec(line);
    if (jump?.[1] !== undefined && jump[2] !== undefined && ours.has(jump[2])) jumps.push({ from: jump[1] as 'INPUT' | 'OUTPUT', to: jump[2] });
  }
  return { chains, jumps };
}

function removalLines(present: IptablesPresence): string[] {
  return [
    ...present.jumps.map((j) => `-D ${j.from} -j ${j.to}`),
    ...[...present.chains].flatMap((c) => [`-F ${c}`, `-X ${c}`]),
  ];
}

/**
 * One `iptables-restore --noflush` (or ip6tables-restore) transaction for one
 * family: drop an earlier guard's jumps, (re)create and fill our chains, jump
 * to them first thing in INPUT and OUTPUT. Legacy xtables replaces the whole
 * filter table in one step, so the change is atomic per family.
 */
export function iptablesEnableScript(spec: NormalizedGuardSpec, family: IpFamily, present: IptablesPresence): string {
  const gws = spec.gateways.filter((g) => g.family === family).map((g) => g.address);
  const lan = spec.lan.filter((l) => l.family === family);
  const lanRule = (l: (typeof lan)[number], dir: 'in' | 'out'): string =>
    `${l.iface === undefined ? '' : `${dir === 'in' ? '-i' : '-o'} ${l.iface} `}${dir === 'in' ? '-s' : '-d'} ${l.cidr} -j ACCEPT`;
  const ports = `${spec.ike},${spec.natt}`;
  const inRules = [
    '-i lo -j ACCEPT',
    '-m policy --dir in --pol ipsec -j ACCEPT',
    ...gws.flatMap((g) => [`-s ${g} -p udp -m multiport --sports ${ports} -j ACCEPT`, `-s ${g} -p esp -j ACCEPT`]),
    ...(family === 6
      ? [...[133, 134, 135, 136, 137].map((t) => `-p ipv6-icmp -m icmp6 --icmpv6-type ${t} -j ACCEPT`), '-s fe80::/10 -p udp --sport 547 --dport 546 -j ACCEPT']
      : ['-p udp --sport 67 --dport 68 -j ACCEPT']),
    ...lan.map((l) => lanRule(l, 'in')),
    '-j DROP',
  ];
  const outRules = [
    '-o lo -j ACCEPT',
    '-m policy --dir out --pol ipsec -j ACCEPT',
    ...gws.flatMap((g) => [`-d ${g} -p udp -m multiport --dports ${ports} -j ACCEPT`, `-d ${g} -p esp -j ACCEPT`]),
    ...(family === 6
      ? [...[133, 134, 135, 136, 137].map((t) => `-p ipv6-icmp -m icmp6 --icmpv6-type ${t} -j ACCEPT`), '-d ff02::1:2 -p udp --sport 546 --dport 547 -j ACCEPT']
      : ['-p udp --sport 68 --dport 67 -j ACCEPT']),
    ...lan.map((l) => lanRule(l, 'out')),
    family === 4 ? '-j REJECT --reject-with icmp-admin-prohibited' : '-j REJECT --reject-with icmp6-adm-prohibited',
  ];
  return [
    '*filter',
    ...present.jumps.map((j) => `-D ${j.from} -j ${j.to}`),
    // with --noflush, declaring an existing user chain flushes it
    `:${IPT_CHAIN_IN} - [0:0]`,
    `:${IPT_CHAIN_OUT} - [0:0]`,
    ...inRules.map((r) => `-A ${IPT_CHAIN_IN} ${r}`),
    ...outRules.map((r) => `-A ${IPT_CHAIN_OUT} ${r}`),
    `-I INPUT 1 -j ${IPT_CHAIN_IN}`,
    `-I OUTPUT 1 -j ${IPT_CHAIN_OUT}`,
    'COMMIT',
    '',
  ].join('\n');
}

/** Removes our jumps and chains (nothing when none is present). */
export function iptablesDisableScript(present: IptablesPresence): string | undefined {
  const lines = removalLines(present);
  return lines.length === 0 ? undefined : ['*filter', ...lines, 'COMMIT', ''].join('\n');
}
