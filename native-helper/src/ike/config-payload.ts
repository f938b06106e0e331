/**
 * The configuration payload of a remote-access client (RFC 7296 §2.19,
 * §3.15): the CFG_REQUEST we send in IKE_AUTH and the typed view of the
 * gateway's CFG_REPLY.
 *
 * A request lists the attributes we want with empty values (§3.15.1:
 * "zero-length ... to request"). In the reply, an attribute whose value we
 * cannot use is skipped and reported, not fatal: the rest of the
 * configuration still applies.
 */
import type { AssignedConfig } from './actions.js';
import { CfgAttr, CfgType, PayloadType, cfgAttrName } from './constants.js';
import type { CfgAttribute, CpPayload } from './codec/types.js';
import { formatAddress, parseAddress } from './traffic-selectors.js';

export interface ConfigRequest {
  readonly ipv4: boolean;
  readonly ipv6: boolean;
  readonly dns: boolean;
  /**
   * Addresses to ask for by value (RFC 7296 §3.15.1: "the initiator MAY
   * request a specific address"): a reauthentication asks for the virtual IP
   * it has, so the new IKE SA's CHILD_SA can take over the same selectors.
   */
  readonly requested?: { readonly ipv4?: string; readonly ipv6?: string };
}

const EMPTY = new Uint8Array(0);

/** CP(CFG_REQUEST) for the addresses and DNS settings we want. */
export function buildConfigRequest(req: ConfigRequest): CpPayload {
  const attributes: CfgAttribute[] = [];
  const ask = (type: number, value: Uint8Array = EMPTY): void => {
    attributes.push({ type, value });
  };
  if (req.ipv4) ask(CfgAttr.INTERNAL_IP4_ADDRESS, requestedValue(req.requested?.ipv4, 4));
  if (req.ipv4 && req.dns) ask(CfgAttr.INTERNAL_IP4_DNS);
  if (req.ipv6) ask(CfgAttr.INTERNAL_IP6_ADDRESS, requestedValue(req.requested?.ipv6, 16));
  if (req.ipv6 && req.dns) ask(CfgAttr.INTERNAL_IP6_DNS);
  // RFC 8598 §3.1: an empty INTERNAL_DNS_DOMAIN asks for the split-DNS domains.
  if (req.dns) ask(CfgAttr.INTERNAL_DNS_DOMAIN);
  return { type: PayloadType.CP, cfgType: CfgType.CFG_REQUEST, attributes };
}

/**
 * The value of a requested INTERNAL_IP4_ADDRESS (4 octets) or
 * INTERNAL_IP6_ADDRESS (16 octets + prefix length, §3.15.1; we send /128
 * as a request cannot know the prefix); empty when there is none or it is not
 * of the attribute's family.
 */
function requestedValue(address: string | undefined, octets: 4 | 16): Uint8Array {
  if (address === undefined) return EMPTY;
  const bytes = parseAddress(address);
  if (bytes === undefined || bytes.length !== octets) return EMPTY;
  if (octets === 4) return bytes;
  const v = new Uint8Array(17);
  v.set(bytes);
  v[16] = 128;
  return v;
}

export interface ConfigReply {
  readonly config: AssignedConfig;
  /** attributes skipped, with the reason, for the log (no values of secrets: these are addresses and names) */
  readonly ignored: readonly string[];
}

const isZero = (b: Uint8Array): boolean => b.every((x) => x === 0);

/** Contiguous netmask → prefix length, or undefined. */
function maskToPrefix(mask: Uint8Array): number | undefined {
  let prefix = 0;
  let ended = false;
  for (const octet of mask) {
    for (let bit = 7; bit >= 0; bit--) {
      const set = ((octet >> bit) & 1) === 1;
      if (set && ended) return undefined;
      if (set) prefix++;
      else ended = true;
    }
  }
  return prefix;
}

/** RFC 1123 host name in presentation format, A-labels only (RFC 8598 §4: "DNS presentation format ... IDNA A-label"). */
const DOMAIN = /^(?=.{1,253}$)(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;

/**
 * Reads a CFG_REPLY. Returns undefined when `cp` is not a reply at all (the
 * caller decides whether a missing reply is fatal).
 */
export function parseConfigReply(cp: CpPayload): ConfigReply | undefined {
  if (cp.cfgType !== CfgType.CFG_REPLY) return undefined;
  let ipv4: { address: string; prefixLength: number } | undefined;
  let ipv4Mask: number | undefined;
  let ipv6: { address: string; prefixLength: number } | undefined;
  const dns: string[] = [];
  const dnsDomains: string[] = [];
  const subnets: string[] = [];
  const ignored: string[] = [];
  const skip = (a: CfgAttribute, why: string): void => {
    ignored.push(`${cfgAttrName(a.type)}: ${why}`);
  };
  const addUnique = (list: string[], v: string): void => {
    if (!list.includes(v)) list.push(v);
  };
  for (const a of cp.attributes) {
    const v = a.value;
    switch (a.type) {
      case CfgAttr.INTERNAL_IP4_ADDRESS:
        if (v.length !== 4 || isZero(v)) skip(a, 'no usable address');
        else if (ipv4 !== undefined) skip(a, 'a second IPv4 address (only the first is used)');
        else ipv4 = { address: formatAddress(v), prefixLength: 32 };
        break;
      case CfgAttr.INTERNAL_IP4_NETMASK: {
        const p = v.length === 4 ? maskToPrefix(v) : undefined;
        if (p === undefined) skip(a, 'not a contiguous netmask');
        else ipv4Mask = p;
        break;
      }
      case CfgAttr.INTERNAL_IP6_ADDRESS: {
        // RFC 7296 §3.15.1: 16-octet address followed by a 1-octet prefix length.
        const prefix = v[16];
        if (v.length !== 17 || prefix === undefined || prefix > 128 || isZero(v.subarray(0, 16))) skip(a, 'no usable address/prefix');
        else if (ipv6 !== undefined) skip(a, 'a second IPv6 address (only the first is used)');
        else ipv6 = { address: formatAddress(v.subarray(0, 16)), prefixLength: prefix };
        break;
      }
      case CfgAttr.INTERNAL_IP4_DNS:
        if (v.length !== 4 || isZero(v)) skip(a, 'no usable address');
        else addUnique(dns, formatAddress(v));
        break;
      case CfgAttr.INTERNAL_IP6_DNS:
        if (v.length !== 16 || isZero(v)) skip(a, 'no usable address');
        else addUnique(dns, formatAddress(v));
        break;
      case CfgAttr.INTERNAL_DNS_DOMAIN: {
        const text = String.fromCharCode(...v);
        const name = text.endsWith('.') ? text.slice(0, -1) : text;
        if (!DOMAIN.test(name)) skip(a, 'not a DNS name in presentation format (RFC 8598 §4)');
        else addUnique(dnsDomains, name.toLowerCase());
        break;
      }
      case CfgAttr.INTERNAL_IP4_SUBNET: {
        const p = v.length === 8 ? maskToPrefix(v.subarray(4)) : undefined;
        if (p === undefined) skip(a, 'not address + contiguous netmask');
        else addUnique(subnets, `${formatAddress(v.subarray(0, 4))}/${p}`);
        break;
      }
      case CfgAttr.INTERNAL_IP6_SUBNET: {
        const prefix = v[16];
        if (v.length !== 17 || prefix === undefined || prefix > 128) skip(a, 'not address + prefix length');
        else addUnique(subnets, `${formatAddress(v.subarray(0, 16))}/${prefix}`);
        break;
      }
      default:
        skip(a, 'not used by this client');
    }
  }
  // §3.15.1 INTERNAL_IP4_NETMASK applies to the assigned address; remote-access gateways usually omit it.
  if (ipv4 !== undefined && ipv4Mask !== undefined) ipv4 = { ...ipv4, prefixLength: ipv4Mask };
  const config: { -readonly [K in keyof AssignedConfig]: AssignedConfig[K] } = { dns, dnsDomains, subnets };
  if (ipv4 !== undefined) config.ipv4 = ipv4;
  if (ipv6 !== undefined) config.ipv6 = ipv6;
  return { config, ignored };
}

/** A secret-free one-line summary for the log: "10.99.0.1/32 fd00:99::1/112 dns=10.10.0.53 domains=lab.example". */
export function describeConfig(c: AssignedConfig): string {
  const parts: string[] = [];
  if (c.ipv4) parts.push(`${c.ipv4.address}/${c.ipv4.prefixLength}`);
  if (c.ipv6) parts.push(`${c.ipv6.address}/${c.ipv6.prefixLength}`);
  if (c.dns.length > 0) parts.push(`dns=${c.dns.join(',')}`);
  if (c.dnsDomains.length > 0) parts.push(`domains=${c.dnsDomains.join(',')}`);
  if (c.subnets.length > 0) parts.push(`subnets=${c.subnets.join(',')}`);
  return parts.length === 0 ? '(nothing assigned)' : parts.join(' ');
}
