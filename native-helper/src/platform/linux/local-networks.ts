/**
 * "Allow local LAN" for the leak guard: the networks directly connected to
 * the interface that carries the route to the gateway, read from the kernel
 * when the guard goes on (`ip -j route get <gateway>` names the interface,
 * `ip -j address show` its prefixes). IPv4 and IPv6 both, link-local
 * (fe80::/64, 169.254.0.0/16) included when the interface has such an
 * address: printers, the router's web page and mDNS peers live there.
 *
 * Only on-link prefixes of that one interface: never the default route's
 * destinations, never another interface (a container bridge, a second
 * uplink), never Strait's own virtual IPs (host addresses, marked with
 * ADDRESS_METRIC, marks.ts). The guard binds each prefix to its interface.
 */
import { PlatformError } from '../errors.js';
import { formatCidr, parseCidr } from './cidr.js';
import type { IpFamily } from './cidr.js';
import type { IpCommand } from './ip-command.js';
import { ADDRESS_METRIC } from './marks.js';
import { parseAddressList, parseRouteGet } from './network.js';

/** One connected prefix and the interface it is on. */
export interface LocalNetwork {
  readonly iface: string;
  readonly family: IpFamily;
  /** canonical CIDR text, e.g. "192.168.1.0/24", "fe80::/64" */
  readonly cidr: string;
}

/**
 * The connected prefixes of `ifaces` from `ip -j address show` output.
 * Host prefixes (/32, /128) are addresses, not networks: skipped.
 */
export function connectedNetworks(addressJson: string, ifaces: ReadonlySet<string>): LocalNetwork[] {
  const seen = new Set<string>();
  const out: LocalNetwork[] = [];
  for (const a of parseAddressList(addressJson)) {
    if (!ifaces.has(a.dev) || a.metric === ADDRESS_METRIC) continue;
    if (a.prefixlen >= (a.family === 4 ? 32 : 128) || a.prefixlen === 0) continue;
    let cidr: string;
    try {
      cidr = formatCidr(parseCidr(`${a.local}/${a.prefixlen}`));
    } catch {
      continue; // iproute2 printed something that is no address: not a network we can allow
    }
    const key = `${a.dev} ${cidr}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push({ iface: a.dev, family: a.family, cidr });
  }
  return out;
}

/**
 * Reads the local networks for these gateway addresses. A gateway address
 * without a route (an IPv6 address on an IPv4-only link) is skipped; none
 * routable at all is an error (the guard would then allow nothing useful and
 * the tunnel cannot come up either).
 */
export async function readLocalNetworks(ip: IpCommand, gateways: readonly string[]): Promise<LocalNetwork[]> {
  for (const g of gateways) parseCidr(g); // throws unless an IP address: nothing else reaches the query script
  let routes: string[];
  let addressJson: string;
  try {
    // One `ip` process for everything (each process start costs 100+ ms on a slow machine).
    const out = await ip.queryBatch('leakGuard/local-networks', [...gateways.map((g) => `route get ${g}`), 'address show']);
    routes = out.slice(0, gateways.length);
    addressJson = out[gateways.length] ?? '';
  } catch {
    // The batch stops at the first unroutable address: ask one by one.
    routes = [];
    for (const g of gateways) routes.push(await ip.query('leakGuard/route-get', ['-j', 'route', 'get', g]).catch(() => ''));
    addressJson = await ip.query('leakGuard/addresses', ['-j', 'address', 'show']);
  }
  const ifaces = new Set<string>();
  routes.forEach((json, i) => {
    if (json.trim() === '') return;
    try {
      ifaces.add(parseRouteGet(json, gateways[i] ?? '').dev);
    } catch {
      // no route for this one; another gateway address may have one
    }
  });
  if (ifaces.size === 0) throw new PlatformError('command-failed', 'leakGuard/local-networks', `no route to the gateway (${gateways.join(', ')}): cannot tell which networks are local`);
  return connectedNetworks(addressJson, ifaces);
}
