/**
 * Proof that a (re-)established tunnel carries traffic both ways, before the
 * supervisor reports Connected again (issue 4: "proves the data path with a
 * probe through the tunnel"). An IKE SA and a CHILD_SA in the kernel are not
 * yet a working tunnel: the gateway may have no route back, a middlebox may
 * drop ESP while it passes IKE, or the kernel SAs may not match the
 * gateway's.
 *
 * How: send one small datagram from our virtual IP to an address inside the
 * tunnel and watch the kernel's inbound packet counters of our SAs (read
 * through the platform). Any answer that comes back through the tunnel
 * raises them: a DNS reply, or the ICMP port unreachable of a host without a
 * DNS server. The datagram is a real DNS query (". IN SOA", RFC 1035 §4.1)
 * to UDP port 53 so a resolver answers it normally and nothing on the way
 * sees garbage. Bounded: a few tries, each waiting a short window.
 *
 * The targets: a DNS server the gateway pushed that lies inside the remote
 * traffic selectors (else the probe would leave outside the tunnel), and
 * the first host address of a remote traffic selector that is a network and
 * not "everything" (for 10.10.0.0/24: 10.10.0.1, typically the gateway's
 * inner address). Each try sends one query to each (at most MAX_TARGETS
 * datagrams): a pushed DNS server that is down or filtered must not make a
 * working tunnel look broken, and whichever answers first proves the path.
 * None (a full tunnel without pushed DNS): no probe, the caller says so.
 */
import { createSocket } from 'node:dgram';

import { TsType } from '../ike/constants.js';
import type { AssignedConfig } from '../ike/actions.js';
import type { TrafficSelector } from '../ike/codec/types.js';
import { formatAddress, isSubset, parseAddress } from '../ike/traffic-selectors.js';

export interface ProbeTarget {
  /** the virtual IP the probe leaves from */
  readonly from: string;
  readonly address: string;
  readonly port: number;
  /** why this target: a pushed DNS server, or a remote traffic selector's first host */
  readonly kind: 'dns' | 'selector';
}

export interface ProbePolicy {
  /** datagrams sent at most (one per try) */
  readonly tries: number;
  /** how long each try waits for the inbound counters to rise */
  readonly tryMs: number;
  /** how often the counters are read meanwhile */
  readonly pollMs: number;
}

/** 3 tries × 1 s: a lost first datagram (ARP at the far end, a cold route cache) gets two more chances within ~3 s. */
export const PROBE_DEFAULTS: ProbePolicy = { tries: 3, tryMs: 1000, pollMs: 20 };

export const DNS_PORT = 53;

/** Sends one probe datagram; rejects when it cannot leave (no such source address, no route). */
export type ProbeSender = (target: ProbeTarget, payload: Uint8Array) => Promise<void>;

export type ProbeResult =
  | { readonly ok: true; readonly targets: readonly ProbeTarget[]; readonly ms: number; readonly tries: number }
  | { readonly ok: false; readonly targets: readonly ProbeTarget[]; readonly ms: number; readonly tries: number; readonly detail: string };

const errorText = (e: unknown): string => (e instanceof Error ? e.message : String(e));

/**
 * A DNS query for the root zone's SOA (RFC 1035 §4.1): header with a random
 * ID and RD set, one question: the root name (a zero octet), QTYPE SOA (6),
 * QCLASS IN (1). 17 octets.
 */
export function dnsProbeQuery(id: number): Uint8Array {
  const q = new Uint8Array(17);
  q[0] = (id >> 8) & 0xff;
  q[1] = id & 0xff;
  q[2] = 0x01; // RD
  q[5] = 1; // QDCOUNT
  // q[12] = 0: the root name
  q[14] = 6; // QTYPE SOA
  q[16] = 1; // QCLASS IN
  return q;
}

/** A UDP selector on port 53 for `address`, to test it against a remote traffic selector. */
function udpDnsSelector(bytes: Uint8Array): TrafficSelector {
  return { tsType: bytes.length === 4 ? TsType.TS_IPV4_ADDR_RANGE : TsType.TS_IPV6_ADDR_RANGE, ipProtocol: 17, startPort: DNS_PORT, endPort: DNS_PORT, startAddress: bytes, endAddress: bytes };
}

function inTunnel(address: string, remoteTs: readonly TrafficSelector[]): boolean {
  const bytes = parseAddress(address);
  if (bytes === undefined) return false;
  const sel = udpDnsSelector(bytes);
  return remoteTs.some((ts) => isSubset(sel, ts));
}

/** The first host address of a selector that is a network other than "everything" (start + 1 when the range has a network address). */
function firstHost(ts: TrafficSelector): string | undefined {
  const start = ts.startAddress;
  if (start.every((b) => b === 0)) return undefined; // 0.0.0.0/0, ::/0: no address inside stands for the far side
  const same = start.every((b, i) => b === ts.endAddress[i]);
  if (same) return formatAddress(start);
  const next = Uint8Array.from(start);
  for (let i = next.length - 1; i >= 0; i--) {
    next[i] = ((next[i] as number) + 1) & 0xff;
    if (next[i] !== 0) break;
  }
  return formatAddress(next);
}

/** Datagrams per try at most: a DNS server and a remote network's first host, per address family in use. */
export const MAX_TARGETS = 3;

/** Where to probe (see the module comment), best first; empty when nothing inside the tunnel stands out. */
export function pickProbeTargets(config: AssignedConfig, remoteTs: readonly TrafficSelector[]): ProbeTarget[] {
  const families: { from: string; v6: boolean }[] = [];
  if (config.ipv4 !== undefined) families.push({ from: config.ipv4.address, v6: false });
  if (config.ipv6 !== undefined) families.push({ from: config.ipv6.address, v6: true });
  const out: ProbeTarget[] = [];
  for (const f of families) {
    const dns = config.dns.find((d) => d.includes(':') === f.v6 && inTunnel(d, remoteTs));
    if (dns !== undefined) out.push({ from: f.from, address: dns, port: DNS_PORT, kind: 'dns' });
  }
  for (const f of families) {
    for (const ts of remoteTs) {
      if ((ts.startAddress.length === 16) !== f.v6) continue;
      const host = firstHost(ts);
      if (host !== undefined && inTunnel(host, remoteTs) && !out.some((t) => t.address === host)) {
        out.push({ from: f.from, address: host, port: DNS_PORT, kind: 'selector' });
        break;
      }
    }
  }
  return out.slice(0, MAX_TARGETS);
}

/** The best single target (pickProbeTargets' first), or undefined. */
export function pickProbeTarget(config: AssignedConfig, remoteTs: readonly TrafficSelector[]): ProbeTarget | undefined {
  return pickProbeTargets(config, remoteTs)[0];
}

/** The real sender: a UDP socket bound to the virtual IP (so the tunnel's policy matches), one datagram, closed. */
export const udpProbeSender: ProbeSender = async (target, payload) => {
  const socket = createSocket({ type: target.from.includes(':') ? 'udp6' : 'udp4' });
  try {
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind({ address: target.from, port: 0, exclusive: true }, () => {
        socket.off('error', reject);
        resolve();
      });
    });
    await new Promise<void>((resolve, reject) => socket.send(payload, target.port, target.address, (e) => (e ? reject(e) : resolve())));
  } finally {
    socket.close();
  }
};

export interface ProbeRun {
  /** one datagram to each per try (pickProbeTargets) */
  readonly targets: readonly ProbeTarget[];
  /** the kernel's inbound packet count over our SAs */
  readonly readInbound: () => Promise<number>;
  readonly send: ProbeSender;
  readonly clock: () => number;
  readonly random: (n: number) => Uint8Array;
  readonly policy?: Partial<ProbePolicy>;
  /** true once the caller no longer wants the answer (disconnect, the attempt ended) */
  readonly cancelled?: () => boolean;
}

/** Sends up to `tries` probes; ok as soon as the inbound counters rise. */
export async function probeDataPath(r: ProbeRun): Promise<ProbeResult> {
  const policy = { ...PROBE_DEFAULTS, ...r.policy };
  const t0 = r.clock();
  const sleep = (ms: number): Promise<void> => new Promise((res) => setTimeout(res, ms));
  let lastError = '';
  let base: number;
  try {
    base = await r.readInbound();
  } catch (e) {
    return { ok: false, targets: r.targets, ms: r.clock() - t0, tries: 0, detail: `the SA counters cannot be read (${errorText(e)})` };
  }
  for (let attempt = 1; attempt <= policy.tries; attempt++) {
    if (r.cancelled?.() === true) return { ok: false, targets: r.targets, ms: r.clock() - t0, tries: attempt - 1, detail: 'cancelled' };
    const tryStart = r.clock();
    for (const target of r.targets) {
      const id = r.random(2);
      try {
        await r.send(target, dnsProbeQuery(((id[0] ?? 0) << 8) | (id[1] ?? 0)));
      } catch (e) {
        lastError = `the probe to ${target.address} could not be sent (${errorText(e)})`;
      }
    }
    for (;;) {
      await sleep(policy.pollMs);
      if (r.cancelled?.() === true) return { ok: false, targets: r.targets, ms: r.clock() - t0, tries: attempt, detail: 'cancelled' };
      try {
        if ((await r.readInbound()) > base) return { ok: true, targets: r.targets, ms: r.clock() - t0, tries: attempt };
      } catch (e) {
        lastError = `the SA counters cannot be read (${errorText(e)})`;
      }
      if (r.clock() - tryStart >= policy.tryMs) break;
    }
  }
  return { ok: false, targets: r.targets, ms: r.clock() - t0, tries: policy.tries, detail: lastError || 'nothing came back through the tunnel' };
}
