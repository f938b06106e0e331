/**
 * The Linux platform backend: kernel XFRM (policy-based tunnel mode),
 * virtual IP, routes and DNS, with a crash-safe journal (journal.ts) and a
 * stale-state sweep (cleanup.ts). The connect path (SAs, policies,
 * addresses, routes, rules, the route/address queries) and the SA counters
 * go over netlink (netlink/*: one socket, microseconds per object); `ip
 * -batch -` on stdin (keys never in argv) is the fallback when the netlink
 * addon cannot be loaded, and still does the removals. DNS goes through
 * `resolvectl` or resolv.conf.
 *
 * Calls are serialised: the daemon may ask for counters while a rekey
 * installs SAs, and the journal and the kernel must see one change at a time.
 */
import { access, constants as fsConstants } from 'node:fs/promises';
import { delimiter, join } from 'node:path';

import type { ChildSaSpec } from '../../ike/actions.js';
import type {
  ApplyConfigParams,
  LeakGuardSpec,
  ObjectCounts,
  PlatformBackend,
  PlatformLog,
  InstallChildSaOptions,
  PlatformLogEntry,
  PlatformObjectKind,
  PlatformProblem,
  SaCounters,
  SweepReport,
  TeardownReport,
  TrafficCounters,
} from '../backend.js';
import { isPlatformError, PlatformError } from '../errors.js';
import { Cleaner, markedCount, removeMarked, scanMarks, zeroCounts } from './cleanup.js';
import type { CommandRunner } from './command-runner.js';
import { spawnRunner } from './command-runner.js';
import { familyOf } from './cidr.js';
import { ResolvConfDns, ResolvedDns, sanitizeDns } from './dns.js';
import type { BatchLine } from './ip-command.js';
import { IpCommand } from './ip-command.js';
import type { JournalEntry } from './journal.js';
import { Journal } from './journal.js';
import type { PlatformItem, PolicyItem, SaItem } from './items.js';
import { readLocalNetworks } from './local-networks.js';
import { LeakGuard } from './leak-guard.js';
import type { LeakGuardVariant } from './leak-guard.js';
import { hex8, policyKey } from './items.js';
import type { NetworkPlan } from './network.js';
import { addressAddLine, parseAddressList, parseRouteGet, planNetwork, routeAddLine, ruleAddLine } from './network.js';
import { NetlinkKernel } from './netlink/kernel.js';
import type { NetlinkTransport } from './netlink/transport.js';
import { loadNetlinkTransport } from './netlink/transport.js';
import { ADDRESS_METRIC } from './marks.js';
import { parseXfrmStates } from './xfrm-parse.js';
import { allocateReqid, childPolicies, excludeBypassPolicies, ikeBypassPolicies, policyLine, saAddLine, saDeleteLine, saItems, validateChildSa } from './xfrm.js';
import type { ReplayState } from './migrate.js';
import { carriedReplay, parseReplayState, withReplay } from './migrate.js';

export type DnsMethodOption = 'auto' | 'resolved' | 'file' | 'none';

export interface LinuxBackendOptions {
  /** how commands run (tests inject a recorder); default: child_process.spawn without a shell */
  readonly runner?: CommandRunner;
  readonly ipPath?: string;
  /** operate inside this network namespace (`ip -n`); default: the process's own */
  readonly netns?: string;
  /** journal directory, cleared at boot like the kernel state it describes; default /run/strait/state */
  readonly runtimeDir?: string;
  /** for the resolv.conf backup, which must outlive a reboot; default /var/lib/strait/state */
  readonly persistentDir?: string;
  /** default /etc/resolv.conf — tests and the lab pass a temporary file */
  readonly resolvConfPath?: string;
  /** default auto: systemd-resolved when it runs, else resolv.conf */
  readonly dns?: DnsMethodOption;
  readonly resolvectlPath?: string;
  /** resolved's varlink socket: its presence means resolved runs; default /run/systemd/resolve/io.systemd.Resolve */
  readonly resolvedProbePath?: string;
  readonly commandTimeoutMs?: number;
  readonly log?: PlatformLog;
  readonly now?: () => number;
  /** leak guard implementation; default auto (nftables inet if the kernel has it, else iptables-legacy) */
  readonly leakGuardVariant?: 'auto' | LeakGuardVariant;
  /**
   * How kernel objects are added and read: a netlink transport (tests inject a
   * recording one), 'auto' (the netlink addon, falling back to `ip` if it does
   * not load) or 'off' (`ip` only). Default: 'auto' unless `runner` or
   * `netns` is given — a netlink socket works in the process's own
   * namespace, and an injected runner means the caller records `ip` lines.
   */
  readonly netlink?: NetlinkTransport | 'auto' | 'off';
}

interface PolicyState {
  readonly entryId: string;
  item: PolicyItem;
  /** CHILD_SA ids using this policy, oldest first */
  owners: number[];
}

interface ChildState {
  readonly id: number;
  readonly reqid: number;
  /** identity of the policy set: a rekeyed CHILD_SA with the same one shares the reqid */
  readonly signature: string;
  readonly sas: ReadonlyArray<{ readonly entryId: string; readonly item: SaItem }>;
  readonly policyKeys: readonly string[];
}

interface Totals {
  bytesIn: number;
  bytesOut: number;
  packetsIn: number;
  packetsOut: number;
}

export class LinuxBackend implements PlatformBackend {
  readonly name = 'linux-xfrm';
  private readonly ip: IpCommand;
  private readonly journal: Journal;
  private readonly cleaner: Cleaner;
  private readonly resolved: ResolvedDns;
  private readonly resolvConf: ResolvConfDns;
  private readonly runner: CommandRunner;
  private readonly opts: LinuxBackendOptions;
  private readonly now: () => number;
  private readonly guard: LeakGuard;

  /** journal id → object, for everything this instance added and has not removed */
  private readonly live = new Map<string, PlatformItem>();
  private readonly children = new Map<number, ChildState>();
  private readonly policies = new Map<string, PolicyState>();
  /** outbound SAs held back by deferOutbound (the gateway's rekey), installed by installOutboundSa; keys in memory only */
  private readonly deferredOut = new Map<number, { readonly spec: ChildSaSpec; readonly item: SaItem }>();
  private configEntries: string[] = [];
  private retired: Totals = { bytesIn: 0, bytesOut: 0, packetsIn: 0, packetsOut: 0 };
  private tail: Promise<unknown> = Promise.resolve();
  /** resolvectl's presence does not change while the helper runs: looked up once (a PATH walk per connect is waste) */
  private resolvectlFound: Promise<boolean> | undefined;
  /** undefined: not decided yet; null: `ip` fallback */
  private nl: NetlinkKernel | null | undefined;

  constructor(opts: LinuxBackendOptions = {}) {
    this.opts = opts;
    this.now = opts.now ?? Date.now;
    this.runner = opts.runner ?? spawnRunner;
    this.ip = new IpCommand({
      runner: this.runner,
      ...(opts.ipPath !== undefined ? { ipPath: opts.ipPath } : {}),
      ...(opts.netns !== undefined ? { netns: opts.netns } : {}),
      ...(opts.commandTimeoutMs !== undefined ? { timeoutMs: opts.commandTimeoutMs } : {}),
    });
    this.journal = new Journal(opts.runtimeDir ?? '/run/strait/state', this.now);
    this.resolved = new ResolvedDns(this.runner, opts.resolvectlPath ?? 'resolvectl');
    this.resolvConf = new ResolvConfDns(opts.resolvConfPath ?? '/etc/resolv.conf', opts.persistentDir ?? '/var/lib/strait/state');
    this.cleaner = new Cleaner(this.ip, this.resolved, () => this.kernel());
    this.guard = new LeakGuard({
      runner: this.runner,
      runtimeDir: opts.runtimeDir ?? '/run/strait/state',
      ...(opts.netns !== undefined ? { netns: opts.netns } : {}),
      ...(opts.ipPath !== undefined ? { ipPath: opts.ipPath } : {}),
      ...(opts.commandTimeoutMs !== undefined ? { timeoutMs: opts.commandTimeoutMs } : {}),
      ...(opts.leakGuardVariant !== undefined ? { variant: opts.leakGuardVariant } : {}),
      log: (e) => this.emit(e),
      now: this.now,
    });
  }

  // ------------------------------------------------------------ leak guard

  async enableLeakGuard(spec: LeakGuardSpec): Promise<void> {
    // "Allow local LAN": read the gateway's interface and its prefixes now, not from a stale copy.
    const local = spec.allowLocalNetworks === true ? await readLocalNetworks(this.ip, spec.gateways) : [];
    await this.guard.enable(spec, local);
  }

  disableLeakGuard(): Promise<void> {
    return this.guard.disable();
  }

  // ------------------------------------------------------------ CHILD_SA

  installChildSa(spec: ChildSaSpec, options?: InstallChildSaOptions): Promise<void> {
    return this.exclusive(async () => {
      if (this.children.has(spec.id)) throw new PlatformError('conflict', 'installChildSa', `CHILD_SA ${spec.id} is installed already`);
      const alg = validateChildSa(spec);
      const signature = childSignature(spec);
      // A rekeyed CHILD_SA with the same selectors keeps the reqid, so its
      // policies stay as they are while old and new SAs overlap (charon does the same).
      const reqid =
        [...this.children.values()].find((c) => c.signature === signature)?.reqid ??
        allocateReqid(spec.id, new Set([...this.children.values()].map((c) => c.reqid)));
      const sas = saItems(spec, reqid);
      const desired = uniqueByKey([...ikeBypassPolicies(spec), ...childPolicies(spec, reqid)]);
      const added = desired.filter((p) => !this.policies.has(policyKey(p.dir, p.sel)));
      const retargeted = desired.filter((p) => {
        const have = this.policies.get(policyKey(p.dir, p.sel));
        return have !== undefined && p.tmpl !== undefined && have.item.tmpl?.reqid !== reqid;
      });

      // The outbound SA can wait only when the old pair's policies (same reqid) stay as they are:
      // the kernel keeps sending on the old outbound SA until the new one is added (the newest wins).
      const defer = options?.deferOutbound === true && added.length === 0 && retargeted.length === 0;
      const installNow = defer ? sas.filter((sa) => sa.dir === 'in') : sas;
      const t0 = performance.now();
      const entries = await this.intend([...installNow, ...added]);
      const t1 = performance.now();
      const nl = this.kernel();
      try {
        if (nl) {
          // the same objects in the same order as the batch below, one acknowledged message each
          nl.addSa('installChildSa', spec, 'in', reqid, alg);
          if (!defer) nl.addSa('installChildSa', spec, 'out', reqid, alg);
          for (const p of added) nl.policy('installChildSa', p, 'add');
          for (const p of retargeted) nl.policy('installChildSa', p, 'update');
        } else {
          const lines: BatchLine[] = [
            saAddLine(spec, 'in', reqid, alg),
            ...(defer ? [] : [saAddLine(spec, 'out', reqid, alg)]),
            ...added.map((p) => policyLine(p, 'add')),
            ...retargeted.map((p) => policyLine(p, 'update')),
          ];
          await this.ip.batchOrThrow('installChildSa', lines);
        }
      } catch (e) {
        await this.rollback(entries, 'installChildSa');
        // an `update` that ran must point back at the old SAs
        const back = retargeted.flatMap((p) => {
          const old = this.policies.get(policyKey(p.dir, p.sel))?.item;
          return old ? [old] : [];
        });
        await this.updatePolicies('installChildSa/restore', back).catch(() => undefined);
        throw e;
      }
      const t2 = performance.now();
      await this.markDone(entries);
      const t3 = performance.now();

      const byItem = new Map(entries.map((e) => [e.item, e.id]));
      for (const p of desired) {
        const key = policyKey(p.dir, p.sel);
        const have = this.policies.get(key);
        if (have) {
          have.owners.push(spec.id);
          if (retargeted.includes(p)) have.item = p;
        } else {
          this.policies.set(key, { entryId: byItem.get(p) ?? '', item: p, owners: [spec.id] });
        }
      }
      this.children.set(spec.id, {
        id: spec.id,
        reqid,
        signature,
        sas: installNow.map((item) => ({ entryId: byItem.get(item) ?? '', item })),
        policyKeys: desired.map((p) => policyKey(p.dir, p.sel)),
      });
      const held = sas.find((sa) => sa.dir === 'out');
      if (defer && held !== undefined) this.deferredOut.set(spec.id, { spec, item: held });
      this.emit({
        level: 'info',
        event: 'platform.child_sa.installed',
        message: `CHILD_SA ${spec.id} installed: SPIs in 0x${hex8(spec.inbound.spi)} out 0x${hex8(spec.outbound.spi)}${defer ? ' (outbound held back)' : ''}, ${desired.length} policies (${added.length} new)`,
        fields: {
          childSa: spec.id,
          reqid,
          spiIn: `0x${hex8(spec.inbound.spi)}`,
          spiOut: `0x${hex8(spec.outbound.spi)}`,
          encap: spec.encap !== null,
          esn: spec.algorithms.esn,
          outboundDeferred: defer,
          // where the time went (the connect stage "install"): journal writes vs the kernel
          journalMs: Math.round(t1 - t0 + (t3 - t2)),
          kernelMs: Math.round(t2 - t1),
          via: nl ? 'netlink' : 'ip',
        },
      });
    });
  }

  installOutboundSa(id: number): Promise<void> {
    return this.exclusive(async () => {
      const held = this.deferredOut.get(id);
      const child = this.children.get(id);
      if (held === undefined || child === undefined) {
        this.emit({ level: 'debug', event: 'platform.child_sa.outbound_present', message: `installOutboundSa(${id}): nothing held back (installed with its inbound SA, or removed)` });
        return;
      }
      const entries = await this.intend([held.item]);
      try {
        const nl = this.kernel();
        if (nl) nl.addSa('installOutboundSa', held.spec, 'out', child.reqid, validateChildSa(held.spec));
        else await this.ip.batchOrThrow('installOutboundSa', [saAddLine(held.spec, 'out', child.reqid, validateChildSa(held.spec))]);
      } catch (e) {
        await this.rollback(entries, 'installOutboundSa');
        throw e;
      }
      await this.markDone(entries);
      this.deferredOut.delete(id);
      this.children.set(id, { ...child, sas: [...child.sas, { entryId: entries[0]?.id ?? '', item: held.item }] });
      this.emit({
        level: 'info',
        event: 'platform.child_sa.outbound_installed',
        message: `CHILD_SA ${id}: outbound SA 0x${hex8(held.spec.outbound.spi)} installed; traffic leaves on it now`,
        fields: { childSa: id, reqid: child.reqid, spiOut: `0x${hex8(held.spec.outbound.spi)}` },
      });
    });
  }

  removeChildSa(id: number): Promise<void> {
    return this.exclusive(async () => {
      const child = this.children.get(id);
      if (!child) {
        this.emit({ level: 'debug', event: 'platform.child_sa.unknown', message: `removeChildSa(${id}): not installed, nothing to do` });
        return;
      }
      // Keep the totals monotonic over a rekey: count what the old SAs carried.
      try {
        const live = await this.readKernelCounters([child]);
        for (const s of live) addTo(this.retired, s);
      } catch {
        // counters are best effort; removal is not
      }
      const remove: JournalEntry[] = child.sas.map((s) => ({ id: s.entryId, item: s.item, done: true }));
      const retarget: PolicyItem[] = [];
      for (const key of child.policyKeys) {
        const st = this.policies.get(key);
        if (!st) continue;
        st.owners = st.owners.filter((o) => o !== id);
        if (st.owners.length === 0) {
          remove.push({ id: st.entryId, item: st.item, done: true });
          this.policies.delete(key);
        } else if (st.item.tmpl && st.item.tmpl.reqid === child.reqid) {
          const newest = this.children.get(st.owners[st.owners.length - 1] ?? -1);
          if (newest && newest.reqid !== child.reqid) {
            st.item = { ...st.item, tmpl: { ...st.item.tmpl, reqid: newest.reqid } };
            retarget.push(st.item);
          }
        }
      }
      this.children.delete(id);
      this.deferredOut.delete(id);
      const problems: PlatformProblem[] = [];
      if (retarget.length > 0) {
        await this.updatePolicies('removeChildSa/retarget', retarget).catch((e: unknown) => {
          problems.push({ kind: 'policy', message: errorText(e) });
        });
      }
      problems.push(...(await this.removeEntries(remove)).problems);
      this.emit({ level: 'info', event: 'platform.child_sa.removed', message: `CHILD_SA ${id} removed`, fields: { childSa: id, reqid: child.reqid } });
      if (problems.length > 0) {
        throw new PlatformError('command-failed', 'removeChildSa', problems.map((p) => p.message).join('; '));
      }
    });
  }

  updateChildSaAddresses(spec: ChildSaSpec): Promise<void> {
    return this.exclusive(async () => {
      const op = 'updateChildSaAddresses';
      const child = this.children.get(spec.id);
      if (!child) throw new PlatformError('invalid-spec', op, `CHILD_SA ${spec.id} is not installed`);
      const alg = validateChildSa(spec);
      const oldOut = child.sas.find((s) => s.item.dir === 'out')?.item;
      // The bypass policies for IKE name the gateway: a client move keeps it; a gateway move needs a new IKE SA.
      if (oldOut !== undefined && oldOut.dst !== spec.remote.address) throw new PlatformError('invalid-spec', op, `the gateway address changed (${oldOut.dst} → ${spec.remote.address})`);
      const listing = await this.ip.query(op, ['-s', 'xfrm', 'state', 'list', 'nokeys']);
      const states = parseXfrmStates(listing);
      const esn = spec.algorithms.esn;
      const replay = (dir: 'in' | 'out'): ReplayState | undefined => {
        const old = child.sas.find((s) => s.item.dir === dir)?.item;
        return old === undefined ? undefined : carriedReplay(dir, parseReplayState(listing, old.dst, old.spi), esn);
      };
      const sas = saItems(spec, child.reqid);
      const policies = childPolicies(spec, child.reqid);
      const entries = await this.intend(sas);
      // Delete first: the outbound SA keeps its kernel identity (gateway, SPI), so it cannot be added beside the old one.
      const lines: BatchLine[] = [
        ...child.sas.map((s) => saDeleteLine(s.item)),
        withReplay(saAddLine(spec, 'in', child.reqid, alg), replay('in'), esn),
        withReplay(saAddLine(spec, 'out', child.reqid, alg), replay('out'), esn),
        ...policies.map((p) => policyLine(p, 'update')),
      ];
      try {
        await this.ip.batchOrThrow(op, lines);
      } catch (e) {
        await this.rollback(entries, op);
        throw e;
      }
      await this.markDone(entries);
      // The deleted SAs' counters stay in the totals; their journal entries go.
      for (const { item } of child.sas) {
        const k = states.find((s) => s.proto === 'esp' && s.spi === item.spi && s.dst === item.dst);
        if (k) addTo(this.retired, { spi: `0x${hex8(item.spi)}`, direction: item.dir, bytes: k.bytes ?? 0, packets: k.packets ?? 0 });
        this.live.delete(child.sas.find((s) => s.item === item)?.entryId ?? '');
      }
      await this.journal.removed(child.sas.map((s) => s.entryId)).catch(() => undefined);
      const byItem = new Map(entries.map((e) => [e.item, e.id]));
      for (const p of policies) {
        const st = this.policies.get(policyKey(p.dir, p.sel));
        if (st !== undefined) st.item = p;
      }
      this.children.set(spec.id, {
        ...child,
        signature: childSignature(spec),
        sas: sas.map((item) => ({ entryId: byItem.get(item) ?? '', item })),
      });
      this.emit({
        level: 'info',
        event: 'platform.child_sa.moved',
        message: `CHILD_SA ${spec.id} moved to ${spec.local.address} <-> ${spec.remote.address}${spec.encap ? ` (ESP in UDP ${spec.encap.localPort}/${spec.encap.remotePort})` : ''}, sequence numbers kept`,
        fields: { childSa: spec.id, reqid: child.reqid, local: spec.local.address, remote: spec.remote.address, encap: spec.encap !== null, replayKept: replay('out') !== undefined },
      });
    });
  }

  // ------------------------------------------------------------ configuration

  applyConfig(p: ApplyConfigParams): Promise<void> {
    return this.exclusive(async () => {
      if (this.configEntries.length > 0) {
        const old = this.configEntries.flatMap((id) => {
          const item = this.live.get(id);
          return item ? [{ id, item, done: true }] : [];
        });
        const r = await this.removeEntries(old);
        if (r.problems.length > 0) throw new PlatformError('command-failed', 'applyConfig', `could not remove the previous configuration: ${r.problems[0]?.message ?? ''}`);
        this.configEntries = [];
      }
      const gw = p.childSa.remote.address;
      familyOf(gw); // throws unless an IP address: nothing else may reach the query script
      // Both queries in one `ip` run: a process start costs far more than
      // the queries (200+ ms in the UML lab). `route get` takes the family
      // from the address; all links are listed and filtered below, since the
      // device is not known before the route is.
      const nl = this.kernel();
      const t0 = performance.now();
      let path: { dev: string; via?: string; index?: number };
      let present: Set<string>;
      if (nl) {
        path = nl.routeGet('applyConfig/route-get', gw);
        const index = path.index;
        present = new Set(
          nl
            .addresses('applyConfig/addresses')
            .filter((a) => a.index === index)
            .map((a) => a.local),
        );
      } else {
        const [routeJson = '', addressJson = ''] = await this.ip.queryBatch('applyConfig/route-get', [`route get ${gw}`, 'address show']);
        path = parseRouteGet(routeJson, gw);
        const dev = path.dev;
        present = new Set(
          parseAddressList(addressJson)
            .filter((a) => a.dev === dev)
            .map((a) => a.local),
        );
      }
      // allowLan: the connected networks of the gateway's interface join the excluded ones (throw
      // routes, bypass policies), or a full tunnel would carry LAN traffic to the gateway.
      const local = p.tunnel.excludeLocalNetworks === true ? (await readLocalNetworks(this.ip, [gw])).map((n) => n.cidr) : [];
      const plan = planNetwork(local.length === 0 ? p : { ...p, tunnel: { ...p.tunnel, exclude: [...p.tunnel.exclude, ...local] } }, path);
      const addresses = plan.addresses.filter((a) => !present.has(a.cidr.slice(0, a.cidr.indexOf('/'))));
      const bypass = uniqueByKey(excludeBypassPolicies(plan.excluded)).filter((b) => !this.policies.has(policyKey(b.dir, b.sel)));

      const t1 = performance.now();
      const entries = await this.intend([...addresses, ...bypass, ...plan.routes, ...plan.rules]);
      this.configEntries = entries.map((e) => e.id);
      const t2 = performance.now();
      let t3 = t2;
      let t4 = t2;
      try {
        // One `ip -batch -` without -4/-6 for both families: iproute2 takes
        // the family of `address` and `route` lines from their prefixes.
        // Order: addresses (routes name them as src), bypass policies (the
        // excluded networks must not be caught by a tunnel policy), routes,
        // and last the rules that make the kernel consult the routes' table.
        // The batch stops at the first failing line; the rollback below
        // deletes every journaled object and treats "not there" as removed.
        if (nl && path.index !== undefined) {
          const op = 'applyConfig/network';
          for (const a of addresses) nl.addAddress(op, a, path.index, ADDRESS_METRIC);
          for (const b of bypass) nl.policy(op, b, 'add');
          // every route of the plan that names a device names the gateway's (planNetwork)
          for (const r of plan.routes) nl.addRoute(op, r, r.dev !== undefined ? path.index : undefined);
          for (const r of plan.rules) nl.addRule(op, r);
        } else {
          await this.ip.batchOrThrow('applyConfig/network', [
            ...addresses.map(addressAddLine),
            ...bypass.map((b) => policyLine(b, 'add')),
            ...plan.routes.map(routeAddLine),
            ...plan.rules.filter((r) => r.family === 4).map(ruleAddLine),
          ]);
          // `rule` takes its family only from -4/-6 (a selector like
          // `from ::/0` still makes an IPv4 rule in iproute2 6.1), and a
          // batch line cannot carry -6: the IPv6 rule needs its own run.
          await this.ip.batchOrThrow('applyConfig/rule6', plan.rules.filter((r) => r.family === 6).map(ruleAddLine), { family: 6 });
        }
        t3 = performance.now();
        await this.markDone(entries);
        t4 = performance.now();
        await this.applyDns(p, plan, path.dev);
      } catch (e) {
        await this.rollback(
          this.configEntries.flatMap((id) => {
            const item = this.live.get(id);
            return item ? [{ id, item, done: false }] : [];
          }),
          'applyConfig',
        );
        this.configEntries = [];
        throw e;
      }
      this.emit({
        level: 'info',
        event: 'platform.config.applied',
        message: `virtual IP ${[p.config.ipv4?.address, plan.families.includes(6) ? p.config.ipv6?.address : undefined].filter(Boolean).join(', ') || 'none'} on ${path.dev}, ${plan.routes.filter((r) => r.type === 'unicast').length} routes (${p.tunnel.mode} tunnel)`,
        fields: {
          dev: path.dev,
          routes: plan.routes.filter((r) => r.type === 'unicast').map((r) => r.dst),
          kept_outside: plan.routes.filter((r) => r.type === 'throw').map((r) => r.dst),
          ...(p.mtu !== undefined ? { mtu: p.mtu } : {}),
          // where the time went (the connect stage "configure")
          queryMs: Math.round(t1 - t0),
          journalMs: Math.round(t2 - t1 + (t4 - t3)),
          kernelMs: Math.round(t3 - t2),
          dnsMs: Math.round(performance.now() - t4),
          via: nl ? 'netlink' : 'ip',
        },
      });
    });
  }

  private async applyDns(p: ApplyConfigParams, plan: NetworkPlan, dev: string): Promise<void> {
    const o = p.dnsOverride;
    const servers = (o && o.servers.length > 0 ? o.servers : p.config.dns).filter((s) => {
      try {
        return plan.families.includes(familyOf(s));
      } catch {
        return true; // sanitizeDns drops it and says so
      }
    });
    const { req, dropped } = sanitizeDns({
      iface: dev,
      servers,
      searchDomains: o?.searchDomains ?? [],
      matchDomains: o && o.matchDomains.length > 0 ? o.matchDomains : p.config.dnsDomains,
      routeAll: p.tunnel.mode === 'full',
    });
    if (dropped.length > 0) {
      this.emit({ level: 'warn', event: 'platform.dns.dropped', message: `ignored DNS values that are not addresses or names: ${dropped.join(', ')}` });
    }
    if (req.servers.length === 0) return;
    const method = await this.dnsMethod();
    if (method === 'none') return;
    if (method === 'resolved') {
      const item = await this.resolved.snapshot(dev);
      const entries = await this.intend([item]);
      this.configEntries.push(...entries.map((e) => e.id));
      await this.resolved.apply(req);
      await this.markDone(entries);
    } else {
      const { item, content } = await this.resolvConf.prepare(req);
      const entries = await this.intend([item]);
      this.configEntries.push(...entries.map((e) => e.id));
      await this.resolvConf.write(content);
      await this.markDone(entries);
    }
    this.emit({
      level: 'info',
      event: 'platform.dns.applied',
      message: `DNS ${req.servers.join(', ')} via ${method === 'resolved' ? `systemd-resolved on ${dev}` : this.resolvConf.path}`,
      fields: { servers: req.servers, matchDomains: req.matchDomains, searchDomains: req.searchDomains, method },
    });
  }

  private async dnsMethod(): Promise<'resolved' | 'file' | 'none'> {
    const opt = this.opts.dns ?? 'auto';
    if (opt !== 'auto') return opt;
    const probe = this.opts.resolvedProbePath ?? '/run/systemd/resolve/io.systemd.Resolve';
    const running = await access(probe).then(
      () => true,
      () => false,
    );
    return running && (await this.resolvectlAvailable()) ? 'resolved' : 'file';
  }

  private resolvectlAvailable(): Promise<boolean> {
    this.resolvectlFound ??= this.findResolvectl();
    return this.resolvectlFound;
  }

  private async findResolvectl(): Promise<boolean> {
    const name = this.opts.resolvectlPath ?? 'resolvectl';
    const candidates = name.includes('/') ? [name] : (process.env['PATH'] ?? '/usr/bin:/bin').split(delimiter).map((d) => join(d, name));
    for (const c of candidates) {
      if (await access(c, fsConstants.X_OK).then(() => true, () => false)) return true;
    }
    return false;
  }

  // ------------------------------------------------------------ status

  readCounters(): Promise<TrafficCounters> {
    return this.exclusive(async () => {
      const sas = await this.readKernelCounters([...this.children.values()]);
      const t = { ...this.retired };
      for (const s of sas) addTo(t, s);
      return { ...t, sas };
    });
  }

  private async readKernelCounters(children: readonly ChildState[]): Promise<SaCounters[]> {
    if (children.length === 0) return [];
    const nl = this.kernel();
    const states = nl
      ? nl.listSas('readCounters').map((s) => ({ proto: s.proto === 50 ? 'esp' : String(s.proto), spi: s.spi, dst: s.dst, bytes: s.bytes, packets: s.packets, addTime: s.addTimeSeconds * 1000 }))
      : parseXfrmStates(await this.ip.query('readCounters', ['-s', 'xfrm', 'state', 'list', 'nokeys']));
    const out: SaCounters[] = [];
    for (const c of children) {
      for (const { item } of c.sas) {
        const k = states.find((s) => s.proto === 'esp' && s.spi === item.spi && s.dst === item.dst);
        if (!k) continue;
        out.push({
          spi: `0x${hex8(item.spi)}`,
          direction: item.dir,
          bytes: k.bytes ?? 0,
          packets: k.packets ?? 0,
          ...(k.addTime !== undefined ? { addTime: k.addTime } : {}),
        });
      }
    }
    return out;
  }

  // ------------------------------------------------------------ cleanup

  teardown(reason: string): Promise<TeardownReport> {
    return this.exclusive(async () => {
      const t0 = this.now();
      const entries = [...this.live].map(([id, item]) => ({ id, item, done: true }));
      const r = await this.removeEntries(entries);
      const problems: PlatformProblem[] = [...r.problems];
      if (this.live.size === 0) {
        this.children.clear();
        this.deferredOut.clear();
        this.policies.clear();
        this.configEntries = [];
        this.retired = { bytesIn: 0, bytesOut: 0, packetsIn: 0, packetsOut: 0 };
        await this.journal.compact().catch((e: unknown) => problems.push({ kind: 'journal', message: errorText(e) }));
      }
      let leftovers = 0;
      try {
        leftovers = markedCount(await scanMarks(this.ip));
        if (leftovers > 0) problems.push({ kind: 'journal', message: `${leftovers} kernel objects with Strait's marks remain (from an earlier run?); sweepStale removes them` });
      } catch (e) {
        problems.push({ kind: 'journal', message: `could not verify: ${errorText(e)}` });
        leftovers = -1;
      }
      const report: TeardownReport = { reason, removed: r.counts, problems, clean: this.live.size === 0 && leftovers === 0, durationMs: this.now() - t0 };
      this.emit({
        level: report.clean ? 'info' : 'warn',
        event: 'platform.teardown',
        message: `teardown (${reason}): removed ${summary(r.counts)}${report.clean ? '' : `; ${problems.length} problems`}`,
        fields: { reason, clean: report.clean, ...r.counts },
      });
      return report;
    });
  }

  sweepStale(): Promise<SweepReport> {
    return this.exclusive(async () => {
      if (this.live.size > 0) throw new PlatformError('busy', 'sweepStale', 'this backend holds live state: call teardown first');
      const t0 = this.now();
      const problems: PlatformProblem[] = [];
      const { outstanding, skippedLines } = await this.journal.load();
      if (skippedLines > 0) problems.push({ kind: 'journal', message: `${skippedLines} unreadable journal lines skipped (a torn write); the marker sweep covers their objects` });
      const fromJournal = zeroCounts();
      const r = await this.cleaner.remove(outstanding);
      await this.journal.removed(r.removedIds).catch((e: unknown) => problems.push({ kind: 'journal', message: errorText(e) }));
      add(fromJournal, r.counts);
      problems.push(...r.problems);
      // A resolv.conf backup can outlive the journal (it survives a reboot; /run does not).
      try {
        if ((await this.resolvConf.restore()) !== 'nothing-to-restore') fromJournal.dns++;
      } catch (e) {
        problems.push({ kind: 'dns', message: errorText(e) });
      }
      const fromMarkers = zeroCounts();
      let clean = r.removedIds.length === outstanding.length;
      try {
        const marked = await scanMarks(this.ip);
        if (markedCount(marked) > 0) {
          const m = await removeMarked(this.ip, marked);
          add(fromMarkers, m.counts);
          problems.push(...m.problems);
          clean &&= markedCount(await scanMarks(this.ip)) === 0;
        }
      } catch (e) {
        problems.push({ kind: 'journal', message: `marker sweep failed: ${errorText(e)}` });
        clean = false;
      }
      if (clean) await this.journal.compact().catch((e: unknown) => problems.push({ kind: 'journal', message: errorText(e) }));
      // A leak guard of a crashed run would block all traffic until the user reconnects.
      const guard = await this.guard.sweep();
      for (const m of guard.problems) problems.push({ kind: 'journal', message: `leak guard: ${m}` });
      clean &&= guard.problems.length === 0;
      const report: SweepReport = { fromJournal, fromMarkers, problems, clean, durationMs: this.now() - t0 };
      const total = Object.values(fromJournal).reduce((a, b) => a + b, 0) + Object.values(fromMarkers).reduce((a, b) => a + b, 0);
      this.emit({
        level: clean ? (total > 0 ? 'warn' : 'debug') : 'error',
        event: 'platform.sweep',
        message: total > 0 ? `removed stale state of an earlier run: journal ${summary(fromJournal)}; marks ${summary(fromMarkers)}` : 'no stale state',
        fields: { clean, ...prefixed('journal_', fromJournal), ...prefixed('marks_', fromMarkers) },
      });
      return report;
    });
  }

  // ------------------------------------------------------------ internals

  /** The netlink path, decided once: null means `ip` (said in a log event when netlink was wanted). */
  private kernel(): NetlinkKernel | null {
    if (this.nl !== undefined) return this.nl;
    const want = this.opts.netlink ?? (this.opts.runner === undefined && this.opts.netns === undefined ? 'auto' : 'off');
    if (want === 'off') return (this.nl = null);
    if (want !== 'auto') return (this.nl = new NetlinkKernel(want));
    const loaded = loadNetlinkTransport(this.opts.commandTimeoutMs);
    if ('transport' in loaded) {
      this.emit({ level: 'debug', event: 'platform.netlink', message: 'kernel objects go over netlink (NETLINK_XFRM, NETLINK_ROUTE)' });
      return (this.nl = new NetlinkKernel(loaded.transport));
    }
    this.emit({ level: 'warn', event: 'platform.netlink.unavailable', message: `netlink unavailable, falling back to \`ip -batch -\` (slower connects): ${loaded.error}`, fields: { reason: loaded.error } });
    return (this.nl = null);
  }

  /** `policy update` for each, over netlink or in one `ip -batch`. */
  private async updatePolicies(operation: string, list: readonly PolicyItem[]): Promise<void> {
    if (list.length === 0) return;
    const nl = this.kernel();
    if (nl) {
      for (const p of list) nl.policy(operation, p, 'update');
      return;
    }
    await this.ip.batchOrThrow(operation, list.map((p) => policyLine(p, 'update')));
  }

  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.tail.then(fn, fn);
    this.tail = run.catch(() => undefined);
    return run;
  }

  private async intend(items: readonly PlatformItem[]): Promise<JournalEntry[]> {
    const entries = await this.journal.intend(items);
    for (const e of entries) this.live.set(e.id, e.item);
    return entries;
  }

  private async markDone(entries: readonly JournalEntry[]): Promise<void> {
    await this.journal.done(entries.map((e) => e.id));
  }

  /** Removes entries, journals the removal, forgets them; returns what could not be removed. */
  private async removeEntries(entries: readonly JournalEntry[]): Promise<{ counts: ObjectCounts; problems: PlatformProblem[] }> {
    const r = await this.cleaner.remove(entries);
    const problems = [...r.problems];
    for (const id of r.removedIds) this.live.delete(id);
    await this.journal.removed(r.removedIds).catch((e: unknown) => problems.push({ kind: 'journal', message: errorText(e) }));
    for (const n of r.notes) this.emit({ level: 'warn', event: 'platform.dns.restore', message: n });
    return { counts: r.counts, problems };
  }

  private async rollback(entries: readonly JournalEntry[], operation: string): Promise<void> {
    const r = await this.removeEntries(entries);
    for (const p of r.problems) {
      this.emit({ level: 'error', event: 'platform.rollback_failed', message: `${operation} rollback: ${p.message}` });
    }
  }

  private emit(entry: PlatformLogEntry): void {
    try {
      this.opts.log?.(entry);
    } catch {
      // a failing logger must not break the tunnel
    }
  }
}

function uniqueByKey(list: readonly PolicyItem[]): PolicyItem[] {
  const seen = new Set<string>();
  return list.filter((p) => {
    const k = policyKey(p.dir, p.sel);
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

/** Identity of a CHILD_SA's policy set: a rekeyed CHILD_SA with the same one shares the reqid. */
function childSignature(spec: ChildSaSpec): string {
  return `${spec.local.address}>${spec.remote.address}|${childPolicies(spec, 0)
    .map((p) => policyKey(p.dir, p.sel))
    .join(',')}`;
}

function addTo(t: Totals, s: SaCounters): void {
  if (s.direction === 'in') {
    t.bytesIn += s.bytes;
    t.packetsIn += s.packets;
  } else {
    t.bytesOut += s.bytes;
    t.packetsOut += s.packets;
  }
}

function add(into: Record<PlatformObjectKind, number>, from: ObjectCounts): void {
  for (const k of Object.keys(into) as PlatformObjectKind[]) into[k] += from[k];
}

function summary(c: ObjectCounts): string {
  const parts = (Object.entries(c) as Array<[PlatformObjectKind, number]>).filter(([, n]) => n > 0).map(([k, n]) => `${n} ${k}`);
  return parts.length > 0 ? parts.join(', ') : 'nothing';
}

function prefixed(prefix: string, c: ObjectCounts): Record<string, number> {
  return Object.fromEntries(Object.entries(c).map(([k, n]) => [`${prefix}${k}`, n]));
}

function errorText(e: unknown): string {
  return isPlatformError(e) ? e.message : e instanceof Error ? e.message : String(e);
}
