/**
 * The OS-neutral platform interface: what the daemon calls when the IKE
 * session (ike/actions.ts) emits `installChildSa`, `removeChildSa` and
 * `assignConfig`, when `status` asks for traffic counters, on disconnect,
 * and once at start-up to clean up after a crash.
 *
 *   const platform = createPlatformBackend({ log });
 *   await platform.sweepStale();                 // at daemon start, before any session
 *   await platform.installChildSa(spec);         // action installChildSa
 *   await platform.applyConfig({ config, childSa: spec, tunnel, dnsOverride, mtu });
 *   await platform.readCounters();               // status
 *   await platform.removeChildSa(oldId);         // action removeChildSa (after a rekey)
 *   await platform.teardown('user disconnect');  // disconnect, error, shutdown
 *
 * Contract for every implementation:
 * - Everything a backend adds to the OS is recorded (journaled) before it is
 *   added, and `teardown` removes all of it; `sweepStale` removes what an
 *   earlier process left behind after a crash. Both are idempotent and never
 *   throw for objects that are already gone: they report.
 * - Failures are `PlatformError` (errors.ts, failure code PLATFORM_ERROR).
 *   A failed `installChildSa`/`applyConfig` has already rolled back what it
 *   added before it throws.
 * - Key material never leaves the process except towards the kernel through
 *   a pipe (never argv, environment, logs, errors or reports).
 */
import type { AssignedConfig, ChildSaSpec } from '../ike/actions.js';
import { PlatformUnsupportedError } from './errors.js';
import type { LinuxBackendOptions } from './linux/linux-backend.js';
import { LinuxBackend } from './linux/linux-backend.js';
import { MacosNevpnBackend } from './macos/nevpn-backend.js';
import { WindowsRasBackend } from './windows/ras-backend.js';

export { PlatformError, PlatformUnsupportedError, isPlatformError } from './errors.js';
export type { PlatformErrorReason } from './errors.js';

/** Which traffic goes into the tunnel (from the profile). CIDR strings. */
export interface TunnelRouting {
  /** full: everything the gateway's traffic selectors allow (0.0.0.0/0, ::/0); split: only `include` */
  readonly mode: 'full' | 'split';
  /** split mode: networks to route into the tunnel (intersected with the negotiated remote TS) */
  readonly include: readonly string[];
  /** networks that always stay outside the tunnel (e.g. the local LAN), in both modes */
  readonly exclude: readonly string[];
  /** route IPv6 into the tunnel at all (needs an IPv6 virtual IP) */
  readonly ipv6: boolean;
  /**
   * also keep the networks directly connected to the interface towards the
   * gateway outside the tunnel (read at applyConfig; the profile's allowLan):
   * without this a full tunnel would carry LAN traffic to the gateway even
   * though the leak guard lets it out directly
   */
  readonly excludeLocalNetworks?: boolean;
}

/** DNS settings from the profile that replace the ones the gateway sent. */
export interface DnsOverride {
  readonly servers: readonly string[];
  readonly searchDomains: readonly string[];
  /** split DNS: only names under these domains go to `servers` (RFC 8598) */
  readonly matchDomains: readonly string[];
}

export interface ApplyConfigParams {
  /** the configuration payload reply (virtual IP, DNS, domains, subnets) */
  readonly config: AssignedConfig;
  /** the CHILD_SA whose remote traffic selectors are routed; its `remote` is the gateway */
  readonly childSa: ChildSaSpec;
  readonly tunnel: TunnelRouting;
  readonly dnsOverride?: DnsOverride;
  /** MTU for traffic routed into the tunnel (bytes) */
  readonly mtu?: number;
}

/**
 * The leak guard's policy ("block traffic outside the tunnel"): besides the
 * tunnel itself (whatever the kernel's IPsec policies protect), only these
 * pass. See platform/linux/LEAK-GUARD.md.
 */
export interface LeakGuardSpec {
  /** the VPN gateways' addresses (IPv4/IPv6): IKE, ESP and ESP-in-UDP with them stay allowed */
  readonly gateways: readonly string[];
  /** IKE ports; default 500 and 4500 (RFC 7296 §2.23, RFC 3948) */
  readonly ports?: { readonly ike: number; readonly natt: number };
  /** local networks (CIDR) that stay reachable outside the tunnel; empty = none */
  readonly allowLan: readonly string[];
  /**
   * also allow the networks directly connected to the interface that carries
   * the route to the gateway (v4, v6, link-local), read when the guard goes on
   * and bound to that interface; default false (the profile's `allowLan`)
   */
  readonly allowLocalNetworks?: boolean;
}

/** One SA's counters as the kernel reports them (bytes are inner/payload bytes). */
export interface SaCounters {
  /** "0x" + 8 hex digits */
  readonly spi: string;
  readonly direction: 'in' | 'out';
  readonly bytes: number;
  readonly packets: number;
  /** when the kernel added the SA (ms since the epoch) */
  readonly addTime?: number;
}

export interface TrafficCounters {
  /** totals over the live SAs plus SAs this backend already removed (rekeyed) in this connection */
  readonly bytesIn: number;
  readonly bytesOut: number;
  readonly packetsIn: number;
  readonly packetsOut: number;
  /** the live SAs */
  readonly sas: readonly SaCounters[];
}

export type PlatformObjectKind = 'sa' | 'policy' | 'route' | 'rule' | 'address' | 'dns';
export type ObjectCounts = Readonly<Record<PlatformObjectKind, number>>;

/** Something that could not be removed or checked; secret-free. */
export interface PlatformProblem {
  readonly kind: PlatformObjectKind | 'journal';
  readonly message: string;
}

export interface TeardownReport {
  readonly reason: string;
  /** objects removed now, by kind */
  readonly removed: ObjectCounts;
  readonly problems: readonly PlatformProblem[];
  /** after removal nothing this backend recorded, and nothing carrying Strait's marks, is left */
  readonly clean: boolean;
  readonly durationMs: number;
}

export interface SweepReport {
  /** objects a previous process journaled and never removed */
  readonly fromJournal: ObjectCounts;
  /** objects found only by Strait's marks (reqid range, policy priority band, route table/protocol, rule preference) */
  readonly fromMarkers: ObjectCounts;
  readonly problems: readonly PlatformProblem[];
  readonly clean: boolean;
  readonly durationMs: number;
}

export interface InstallChildSaOptions {
  /**
   * Install only the inbound SA now (the gateway's CHILD_SA rekey, RFC 7296
   * §2.8): traffic keeps leaving on the old pair until installOutboundSa.
   * A backend may ignore it when the new pair cannot share the old one's
   * policies (then both go in at once).
   */
  readonly deferOutbound?: boolean;
}

export interface PlatformBackend {
  /** short name for logs: "linux-xfrm", "windows-ras", "macos-nevpn" */
  readonly name: string;
  /** Installs both SAs of a CHILD_SA and the policies that steer its traffic (RFC 4301 §4.4). */
  installChildSa(spec: ChildSaSpec, options?: InstallChildSaOptions): Promise<void>;
  /**
   * Installs the outbound SA held back by `deferOutbound`: from now on traffic
   * leaves on it. Optional: a backend without it gets both SAs at once.
   */
  installOutboundSa?(id: number): Promise<void>;
  /** Removes a CHILD_SA's SAs (and its policies, unless a newer CHILD_SA with the same selectors uses them). */
  removeChildSa(id: number): Promise<void>;
  /**
   * MOBIKE (RFC 4555 §3.5): moves an installed CHILD_SA (same id, SPIs, keys)
   * to `spec.local`/`spec.remote`/`spec.encap`, keeping its sequence numbers,
   * and points its policies at the new addresses. Optional: a backend without
   * it makes the daemon start a new IKE SA instead.
   */
  updateChildSaAddresses?(spec: ChildSaSpec): Promise<void>;
  /** Virtual IP, routes, DNS. Calling it again replaces the previous configuration. */
  applyConfig(p: ApplyConfigParams): Promise<void>;
  readCounters(): Promise<TrafficCounters>;
  /** Removes everything this backend added. Never throws for objects already gone. */
  teardown(reason: string): Promise<TeardownReport>;
  /** At start-up: removes what an earlier (crashed) process left behind (the leak guard too). Refuses while this backend holds live state. */
  sweepStale(): Promise<SweepReport>;
  /**
   * Blocks all traffic outside the tunnel except `spec`'s; replaces an active
   * guard atomically. It is independent of `teardown`: it stays on while the
   * daemon reconnects, until `disableLeakGuard`.
   */
  enableLeakGuard(spec: LeakGuardSpec): Promise<void>;
  /** Removes the leak guard; idempotent. */
  disableLeakGuard(): Promise<void>;
}

/** Secret-free structured log record (the daemon adds time and session id). */
export interface PlatformLogEntry {
  readonly level: 'debug' | 'info' | 'warn' | 'error';
  /** stable machine name, e.g. "platform.child_sa.installed" */
  readonly event: string;
  readonly message: string;
  readonly fields?: Readonly<Record<string, string | number | boolean | readonly string[]>>;
}
export type PlatformLog = (entry: PlatformLogEntry) => void;

export interface PlatformBackendOptions {
  /** default: process.platform */
  readonly platform?: NodeJS.Platform;
  readonly linux?: Omit<LinuxBackendOptions, 'log'>;
  readonly log?: PlatformLog;
}

/** Picks the implementation for the OS the helper runs on. */
export function createPlatformBackend(opts: PlatformBackendOptions = {}): PlatformBackend {
  const platform = opts.platform ?? process.platform;
  switch (platform) {
    case 'linux':
      return new LinuxBackend({ ...opts.linux, ...(opts.log ? { log: opts.log } : {}) });
    case 'win32':
      return new WindowsRasBackend();
    case 'darwin':
      return new MacosNevpnBackend();
    default:
      throw new PlatformUnsupportedError('none', platform, 'createPlatformBackend', `no platform backend for ${platform}`);
  }
}
