/**
 * The Linux backend's kernel operations over netlink: one request per
 * object, each acknowledged (NLM_F_ACK) before the next is sent, so a
 * sequence stops at the first refusal exactly like `ip -batch -` did and
 * the backend's journal/rollback logic is unchanged. A refusal becomes a
 * PlatformError naming the errno (EEXIST → reason "conflict").
 *
 * Labels in errors are secret-free (an SA is named by its SPI); the
 * messages themselves, which carry keys, are never logged or quoted.
 */
import type { ChildSaSpec } from '../../../ike/actions.js';
import { PlatformError } from '../../errors.js';
import type { KernelAlgorithms } from '../algorithms.js';
import type { AddressItem, PolicyItem, RouteItem, RuleItem, SaItem } from '../items.js';
import { describeItem, hex8 } from '../items.js';
import type { NetlinkMessage } from './codec.js';
import { errnoName, errorCode, NetlinkDecodeError, NLMSG_DONE, NLMSG_ERROR, parseMessages } from './codec.js';
import type { AddressAnswer } from './rtnl-msg.js';
import {
  decodeAddress,
  decodeLink,
  decodeRoute,
  deleteAddressMessage,
  deleteRouteMessage,
  deleteRuleMessage,
  dumpAddressMessage,
  getLinkByNameMessage,
  getLinkMessage,
  getRouteMessage,
  NETLINK_ROUTE,
  newAddressMessage,
  newRouteMessage,
  newRuleMessage,
  RTM_NEWADDR,
} from './rtnl-msg.js';
import type { NetlinkProtocol, NetlinkTransport } from './transport.js';
import type { SaInfo } from './xfrm-msg.js';
import { decodeSaInfo, deletePolicyMessage, deleteSaMessage, dumpSaMessage, NETLINK_XFRM, newSaMessage, policyMessage, XFRM_MSG_NEWSA } from './xfrm-msg.js';

/** The errnos that mean "the object is not there" for an idempotent delete. */
const GONE = new Set(['ESRCH', 'ENOENT', 'EADDRNOTAVAIL', 'ENODEV']);

export class NetlinkKernel {
  private seq = Math.floor(Date.now() / 1000) & 0x7fff_ffff;

  constructor(private readonly transport: NetlinkTransport) {}

  /** Sends one request; returns the replies before the ack, throws a PlatformError on a kernel refusal. */
  private call(protocol: NetlinkProtocol, operation: string, label: string, build: (seq: number) => Buffer): NetlinkMessage[] {
    this.seq = (this.seq + 1) >>> 0 || 1;
    const seq = this.seq;
    let raw: Buffer[];
    try {
      raw = this.transport.request(protocol, build(seq));
    } catch (e) {
      const code = typeof (e as { code?: unknown }).code === 'string' ? (e as { code: string }).code : 'EIO';
      throw new PlatformError(code === 'ETIMEDOUT' ? 'timeout' : 'command-failed', operation, `netlink ${label}: ${e instanceof Error ? e.message : String(e)}`, { errno: code });
    }
    const out: NetlinkMessage[] = [];
    try {
      for (const buf of raw) {
        for (const m of parseMessages(buf)) {
          if (m.seq !== seq) continue;
          if (m.type === NLMSG_ERROR) {
            const errno = errorCode(m);
            if (errno !== 0) {
              const name = errnoName(errno);
              const reason = name === 'EEXIST' ? 'conflict' : 'command-failed';
              const hint = reason === 'conflict' ? ' (an object with the same identity exists: another IPsec daemon, or stale state that sweepStale removes)' : '';
              throw new PlatformError(reason, operation, `netlink failed at "${label}": ${name}${hint}`, { errno: name, kernelMessage: name, failedAt: label });
            }
            return out;
          }
          if (m.type === NLMSG_DONE) return out;
          out.push(m);
        }
      }
    } catch (e) {
      if (e instanceof NetlinkDecodeError) throw new PlatformError('command-failed', operation, `netlink ${label}: unreadable reply: ${e.message}`);
      throw e;
    }
    throw new PlatformError('command-failed', operation, `netlink ${label}: the reply ended without an acknowledgement`);
  }

  // ---------------------------------------------------------------- XFRM

  addSa(operation: string, spec: ChildSaSpec, dir: 'in' | 'out', reqid: number, alg: KernelAlgorithms): void {
    const spi = dir === 'in' ? spec.inbound.spi : spec.outbound.spi;
    this.call(NETLINK_XFRM, operation, `SA ${dir} spi 0x${hex8(spi)}`, (seq) => newSaMessage(spec, dir, reqid, alg, seq));
  }

  policy(operation: string, p: PolicyItem, verb: 'add' | 'update'): void {
    this.call(NETLINK_XFRM, operation, `policy ${verb} ${describeItem(p).slice('policy '.length)}`, (seq) => policyMessage(p, verb, seq));
  }

  /** true if deleted, false if it was not there */
  deleteSa(operation: string, sa: Pick<SaItem, 'src' | 'dst' | 'spi'>): boolean {
    return this.gone(() => this.call(NETLINK_XFRM, operation, `delete SA spi 0x${hex8(sa.spi)}`, (seq) => deleteSaMessage(sa, seq)));
  }

  deletePolicy(operation: string, p: Pick<PolicyItem, 'dir' | 'sel'>): boolean {
    return this.gone(() => this.call(NETLINK_XFRM, operation, `delete policy ${p.dir}`, (seq) => deletePolicyMessage(p, seq)));
  }

  /** Every SA in the kernel, with its counters (no keys are decoded). */
  listSas(operation: string): SaInfo[] {
    return this.call(NETLINK_XFRM, operation, 'dump SAs', dumpSaMessage)
      .filter((m) => m.type === XFRM_MSG_NEWSA)
      .map(decodeSaInfo);
  }

  // ---------------------------------------------------------------- rtnetlink

  /** `ip route get`: the interface (index and name) and next hop towards an address. */
  routeGet(operation: string, address: string): { index: number; dev: string; via?: string } {
    const [answer] = this.call(NETLINK_ROUTE, operation, `route get ${address}`, (seq) => getRouteMessage(address, seq));
    if (answer === undefined) throw new PlatformError('command-failed', operation, `no route to ${address}`);
    const r = decodeRoute(answer);
    const [link] = this.call(NETLINK_ROUTE, operation, `link ${r.oif}`, (seq) => getLinkMessage(r.oif, seq));
    if (link === undefined) throw new PlatformError('command-failed', operation, `interface ${r.oif} not found`);
    return { index: r.oif, dev: decodeLink(link).name, ...(r.gateway !== undefined ? { via: r.gateway } : {}) };
  }

  /** The index of a named interface, or undefined when there is none (ENODEV). */
  linkIndex(operation: string, name: string): number | undefined {
    try {
      const [link] = this.call(NETLINK_ROUTE, operation, `link ${name}`, (seq) => getLinkByNameMessage(name, seq));
      return link === undefined ? undefined : decodeLink(link).index;
    } catch (e) {
      if (e instanceof PlatformError && e.details['errno'] === 'ENODEV') return undefined;
      throw e;
    }
  }

  addresses(operation: string): AddressAnswer[] {
    return this.call(NETLINK_ROUTE, operation, 'address dump', (seq) => dumpAddressMessage(seq))
      .filter((m) => m.type === RTM_NEWADDR)
      .map(decodeAddress);
  }

  addAddress(operation: string, a: AddressItem, index: number, metric: number): void {
    this.call(NETLINK_ROUTE, operation, `address ${a.cidr} dev ${a.dev}`, (seq) => newAddressMessage(a, index, metric, seq));
  }

  deleteAddress(operation: string, a: AddressItem, index: number): boolean {
    return this.gone(() => this.call(NETLINK_ROUTE, operation, `delete address ${a.cidr}`, (seq) => deleteAddressMessage(a, index, seq)));
  }

  addRoute(operation: string, r: RouteItem, oif: number | undefined): void {
    this.call(NETLINK_ROUTE, operation, `route ${r.type === 'throw' ? 'throw ' : ''}${r.dst} table ${r.table}`, (seq) => newRouteMessage(r, oif, seq));
  }

  deleteRoute(operation: string, r: Pick<RouteItem, 'type' | 'dst' | 'table' | 'proto'>): boolean {
    return this.gone(() => this.call(NETLINK_ROUTE, operation, `delete route ${r.dst} table ${r.table}`, (seq) => deleteRouteMessage(r, seq)));
  }

  addRule(operation: string, r: RuleItem): void {
    this.call(NETLINK_ROUTE, operation, `rule IPv${r.family} pref ${r.pref} table ${r.table}`, (seq) => newRuleMessage(r, seq));
  }

  deleteRule(operation: string, r: Pick<RuleItem, 'family' | 'pref'>): boolean {
    return this.gone(() => this.call(NETLINK_ROUTE, operation, `delete rule IPv${r.family} pref ${r.pref}`, (seq) => deleteRuleMessage(r, seq)));
  }

  close(): void {
    this.transport.close();
  }

  private gone(fn: () => void): boolean {
    try {
      fn();
      return true;
    } catch (e) {
      if (e instanceof PlatformError && typeof e.details['errno'] === 'string' && GONE.has(e.details['errno'])) return false;
      throw e;
    }
  }
}
