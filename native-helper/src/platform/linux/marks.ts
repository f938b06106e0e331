/**
 * The marks that make everything Strait adds to the kernel recognisable
 * without its journal, so a stale-state sweep after a crash (or a lost
 * /run) finds exactly Strait's objects and nobody else's. "ST" = 0x5354.
 *
 * | object        | mark                                                   |
 * |---------------|--------------------------------------------------------|
 * | XFRM state    | reqid in 0x5354_0000–0x5354_ffff                       |
 * | XFRM policy   | priority in 0x5354_0000–0x5354_ffff (and tmpl reqid)   |
 * | route         | routing table 0x5354 = 21332, protocol 0x53 = 83       |
 * | rule          | preference 21332, lookup table 21332                   |
 * | address (VIP) | address metric (IFA_RT_PRIORITY) 0x5354 = 21332        |
 *
 * Policy priorities: the kernel prefers the lowest value. A policy's
 * identity is its selector and direction, not its priority: another IKE
 * daemon's policy for the same selector makes `policy add` fail with EEXIST,
 * which installChildSa reports as a conflict rather than overwriting it.
 * The band is a fixed, recognisable range well below catch-all blocks such
 * as the lab gateway's guard (4294967000). Inside it, bypass policies (IKE
 * to the gateway, excluded networks) come first, then IPsec policies ordered
 * by selector specificity (more specific = lower value, the ordered SPD of
 * RFC 4301 §4.4.1).
 *
 * iproute2 6.1 cannot tag an address with IFA_PROTO, but it sets the
 * address's route metric (`metric N`, kernel ≥ 4.18). A host address (/32,
 * /128) has no prefix route of its own to speak of (IPv6 installs a /128
 * on-link route with that metric), so the value is free to serve as a mark.
 *
 * Routes live in their own table, consulted by one rule before `main`
 * (preference 21332 < 32766): full-tunnel default routes never replace the
 * system's own, and removing the rule and flushing the table undoes
 * everything (the same design as charon's table 220).
 */
export const REQID_MIN = 0x5354_0000;
export const REQID_MAX = 0x5354_ffff;

export const POLICY_PRIORITY_MIN = 0x5354_0000;
export const POLICY_PRIORITY_MAX = 0x5354_ffff;
/** IKE to/from the gateway and excluded networks: no IPsec, before any tunnel policy */
export const POLICY_PRIORITY_BYPASS = 0x5354_0100;
/** tunnel policies: this + specificity penalty (≤ 513) */
export const POLICY_PRIORITY_IPSEC_BASE = 0x5354_1000;

export const ROUTE_TABLE = 0x5354;
export const RULE_PREFERENCE = 0x5354;
/** rtm_protocol of every route Strait adds (unassigned in /etc/iproute2/rt_protos) */
export const ROUTE_PROTOCOL = 0x53;
/** the metric every virtual IP address is added with */
export const ADDRESS_METRIC = 0x5354;

export const isStraitReqid = (reqid: number): boolean => reqid >= REQID_MIN && reqid <= REQID_MAX;
export const isStraitPriority = (priority: number): boolean => priority >= POLICY_PRIORITY_MIN && priority <= POLICY_PRIORITY_MAX;
