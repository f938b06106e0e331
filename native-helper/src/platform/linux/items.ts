/**
 * The objects the Linux backend adds, as journal records: enough to remove
 * each one again, and nothing secret (no keys — an SA is identified by
 * addresses and SPI, RFC 4301 §4.1).
 */
export type IpFamily = 4 | 6;
export type PolicyDir = 'in' | 'out' | 'fwd';

/** An XFRM selector (RFC 4301 §4.4.1.1) as `ip xfrm policy` writes it. */
export interface XfrmSelector {
  /** canonical prefix text, e.g. "10.99.0.77/32" */
  readonly src: string;
  readonly dst: string;
  /** IP protocol number; absent = any */
  readonly proto?: number;
  readonly sport?: number;
  readonly dport?: number;
}

export interface SaItem {
  readonly kind: 'sa';
  readonly dir: 'in' | 'out';
  readonly src: string;
  readonly dst: string;
  readonly spi: number;
  readonly reqid: number;
}

export interface PolicyItem {
  readonly kind: 'policy';
  readonly dir: PolicyDir;
  readonly sel: XfrmSelector;
  readonly priority: number;
  /** absent: a bypass policy (traffic allowed without IPsec) */
  readonly tmpl?: { readonly src: string; readonly dst: string; readonly reqid: number };
}

export interface RouteItem {
  readonly kind: 'route';
  readonly family: IpFamily;
  readonly type: 'unicast' | 'throw';
  readonly dst: string;
  readonly table: number;
  readonly proto: number;
  readonly via?: string;
  readonly dev?: string;
  readonly src?: string;
  readonly mtu?: number;
}

export interface RuleItem {
  readonly kind: 'rule';
  readonly family: IpFamily;
  readonly pref: number;
  readonly table: number;
}

export interface AddressItem {
  readonly kind: 'address';
  readonly family: IpFamily;
  /** "10.99.0.77/32" */
  readonly cidr: string;
  readonly dev: string;
}

/** DNS as configured through systemd-resolved on one link; `previous` is restored. */
export interface ResolvedDnsItem {
  readonly kind: 'dns';
  readonly method: 'resolved';
  readonly iface: string;
  readonly previous: { readonly servers: readonly string[]; readonly domains: readonly string[]; readonly defaultRoute: boolean | null };
}

/** DNS written to a resolv.conf; the original is in `backupFile` (a persistent directory). */
export interface FileDnsItem {
  readonly kind: 'dns';
  readonly method: 'file';
  readonly path: string;
  readonly backupFile: string;
}

export type DnsItem = ResolvedDnsItem | FileDnsItem;
export type PlatformItem = SaItem | PolicyItem | RouteItem | RuleItem | AddressItem | DnsItem;

/** Removal order: stop steering traffic first, then policies, SAs, addresses, DNS. */
export const REMOVAL_ORDER: readonly PlatformItem['kind'][] = ['rule', 'route', 'policy', 'sa', 'address', 'dns'];

/** Secret-free one-line description for logs and error messages. */
export function describeItem(item: PlatformItem): string {
  switch (item.kind) {
    case 'sa':
      return `SA ${item.dir} spi 0x${hex8(item.spi)} ${item.src}->${item.dst}`;
    case 'policy':
      return `policy ${item.dir} ${selectorText(item.sel)}${item.tmpl ? '' : ' (bypass)'}`;
    case 'route':
      return `route ${item.type === 'throw' ? 'throw ' : ''}${item.dst} table ${item.table}`;
    case 'rule':
      return `rule IPv${item.family} pref ${item.pref}`;
    case 'address':
      return `address ${item.cidr} dev ${item.dev}`;
    case 'dns':
      return item.method === 'resolved' ? `DNS on link ${item.iface}` : `DNS in ${item.path}`;
  }
}

export const hex8 = (n: number): string => n.toString(16).padStart(8, '0');

/** `src A dst B [proto N [sport P] [dport P]]` */
export function selectorText(sel: XfrmSelector): string {
  let s = `src ${sel.src} dst ${sel.dst}`;
  if (sel.proto !== undefined) {
    s += ` proto ${sel.proto}`;
    if (sel.sport !== undefined) s += ` sport ${sel.sport}`;
    if (sel.dport !== undefined) s += ` dport ${sel.dport}`;
  }
  return s;
}

/** Identity of a policy in the kernel: direction + selector (RFC 4301 §4.4.1; priority is not part of it). */
export const policyKey = (dir: PolicyDir, sel: XfrmSelector): string => `${dir} ${selectorText(sel)}`;
