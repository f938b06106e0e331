/**
 * Removing what the backend added — from journal entries (teardown, the
 * sweep of a crashed predecessor's journal) or by Strait's marks alone
 * (marks.ts: the sweep's safety net when a journal is lost or torn).
 *
 * Idempotent by construction: an object that is already gone counts as
 * removed. Nothing here throws for a single object; failures become
 * secret-free problems in the result, and the next object is tried.
 */
import { dirname } from 'node:path';

import type { ObjectCounts, PlatformObjectKind, PlatformProblem } from '../backend.js';
import { isPlatformError } from '../errors.js';
import type { ResolvedDns } from './dns.js';
import { ResolvConfDns } from './dns.js';
import type { BatchLine, Family, IpCommand } from './ip-command.js';
import { meansGone } from './ip-command.js';
import type { JournalEntry } from './journal.js';
import type { PlatformItem } from './items.js';
import { describeItem } from './items.js';
import { ADDRESS_METRIC, isStraitPriority, isStraitReqid, ROUTE_PROTOCOL, ROUTE_TABLE, RULE_PREFERENCE } from './marks.js';
import type { ListedAddress, ListedRoute, ListedRule } from './network.js';
import { addressDeleteLine, listedRouteDeleteLine, parseAddressList, parseRouteList, parseRuleList, routeDeleteLine, ruleDeleteLine } from './network.js';
import type { XfrmPolicyInfo, XfrmStateInfo } from './xfrm-parse.js';
import { parseXfrmPolicies, parseXfrmStates } from './xfrm-parse.js';
import { policyDeleteByIndexLine, policyDeleteLine, saDeleteLine } from './xfrm.js';
import type { NetlinkKernel } from './netlink/kernel.js';

export const zeroCounts = (): Record<PlatformObjectKind, number> => ({ sa: 0, policy: 0, route: 0, rule: 0, address: 0, dns: 0 });

export interface RemovalResult {
  /** journal ids of the entries that are gone now */
  readonly removedIds: string[];
  readonly counts: ObjectCounts;
  readonly problems: PlatformProblem[];
  /** DNS restore outcomes worth a log line */
  readonly notes: string[];
}

interface Job {
  readonly id: string;
  readonly kind: PlatformObjectKind;
  readonly line: BatchLine;
}

const message = (e: unknown): string => (isPlatformError(e) ? e.message : e instanceof Error ? e.message : String(e));

export class Cleaner {
  constructor(
    private readonly ip: IpCommand,
    private readonly resolved: ResolvedDns,
    /** the backend's netlink path, when it has one: deletes go there instead of `ip` */
    private readonly netlink: () => NetlinkKernel | null = () => null,
  ) {}

  /** Removes journaled objects in a safe order: rules, routes, policies, SAs, addresses, DNS. */
  async remove(entries: readonly JournalEntry[]): Promise<RemovalResult> {
    const counts = zeroCounts();
    const removedIds: string[] = [];
    const problems: PlatformProblem[] = [];
    const notes: string[] = [];
    const ok = (j: Pick<Job, 'id' | 'kind'>): void => {
      removedIds.push(j.id);
      counts[j.kind]++;
    };
    const of = (kinds: readonly PlatformItem['kind'][]): JournalEntry[] => entries.filter((e) => kinds.includes(e.item.kind));

    const nl = this.netlink();
    if (nl) {
      // The same order, one acknowledged netlink delete per object; "not there" counts as removed.
      for (const e of [...of(['rule']), ...of(['route']), ...of(['policy']), ...of(['sa']), ...of(['address'])]) {
        const item = e.item;
        try {
          if (item.kind === 'rule') nl.deleteRule('remove', item);
          else if (item.kind === 'route') nl.deleteRoute('remove', item);
          else if (item.kind === 'policy') nl.deletePolicy('remove', item);
          else if (item.kind === 'sa') nl.deleteSa('remove', item);
          else if (item.kind === 'address') {
            const index = nl.linkIndex('remove', item.dev);
            if (index !== undefined) nl.deleteAddress('remove', item, index); // no device: its addresses went with it
          }
          ok({ id: e.id, kind: item.kind });
        } catch (err) {
          problems.push({ kind: item.kind, message: `${describeItem(item)}: ${message(err)}` });
        }
      }
    }

    // Stop steering traffic into the tunnel first.
    for (const family of nl ? [] : ([4, 6] as const)) {
      const jobs = [...of(['rule']), ...of(['route'])]
        .filter((e) => (e.item.kind === 'rule' || e.item.kind === 'route') && e.item.family === family)
        .map((e) => ({ id: e.id, kind: e.item.kind, line: netDeleteLine(e.item) }));
      await deleteNet(this.ip, jobs, family, ok, problems);
    }
    // Policies before SAs: once no policy points at an SA, no packet uses it.
    const xfrmJobs = nl ? [] : [...of(['policy']), ...of(['sa'])].map((e) => ({ id: e.id, kind: e.item.kind, line: xfrmDeleteLine(e.item) }));
    await deleteXfrm(this.ip, xfrmJobs, ok, problems);
    for (const family of nl ? [] : ([4, 6] as const)) {
      const jobs = of(['address'])
        .filter((e) => e.item.kind === 'address' && e.item.family === family)
        .map((e) => ({ id: e.id, kind: e.item.kind, line: netDeleteLine(e.item) }));
      await deleteNet(this.ip, jobs, family, ok, problems);
    }
    for (const e of of(['dns'])) {
      const item = e.item;
      if (item.kind !== 'dns') continue;
      try {
        if (item.method === 'resolved') {
          await this.resolved.restore(item);
        } else {
          const outcome = await new ResolvConfDns(item.path, dirname(item.backupFile)).restore();
          if (outcome === 'kept-foreign-change') notes.push(`${item.path} was replaced by another program after Strait wrote it; the newer file was kept`);
        }
        ok({ id: e.id, kind: 'dns' });
      } catch (err) {
        problems.push({ kind: 'dns', message: `${describeItem(item)}: ${message(err)}` });
      }
    }
    return { removedIds, counts, problems, notes };
  }
}

/**
 * Route/rule/address deletes in one `ip -force -batch`; a line that failed
 * because the object is gone counts as removed.
 */
async function deleteNet(ip: IpCommand, jobs: readonly Job[], family: Family, ok: (j: Job) => void, problems: PlatformProblem[]): Promise<void> {
  if (jobs.length === 0) return;
  let outcome;
  try {
    outcome = await ip.batch(
      jobs.map((j) => j.line),
      { family, force: true },
    );
  } catch (e) {
    for (const j of jobs) problems.push({ kind: j.kind, message: `${j.line.label}: ${message(e)}` });
    return;
  }
  const failed = new Map(outcome.failures.filter((f) => f.line !== undefined).map((f) => [f.line, f.message]));
  const unattributed = outcome.failures.filter((f) => f.line === undefined);
  jobs.forEach((j, i) => {
    const m = failed.get(i + 1);
    if (m === undefined && unattributed.length === 0) ok(j);
    else if (m !== undefined && meansGone(m)) ok(j);
    else problems.push({ kind: j.kind, message: `${j.line.label}: ${m ?? unattributed.map((f) => f.message).join('; ')}` });
  });
}

/**
 * XFRM deletes: one batch when everything is there (the usual teardown);
 * `ip xfrm` exits at its first error even with -force, so on any failure
 * each delete is retried alone and "not found" counts as removed.
 */
async function deleteXfrm(ip: IpCommand, jobs: readonly Job[], ok: (j: Job) => void, problems: PlatformProblem[]): Promise<void> {
  if (jobs.length === 0) return;
  try {
    const all = await ip.batch(jobs.map((j) => j.line));
    if (all.exitCode === 0) {
      jobs.forEach(ok);
      return;
    }
  } catch {
    // fall through to one by one
  }
  for (const j of jobs) {
    try {
      const r = await ip.batch([j.line]);
      const m = r.failures.map((f) => f.message).join('; ');
      if (r.exitCode === 0 || meansGone(m)) ok(j);
      else problems.push({ kind: j.kind, message: `${j.line.label}: ${m || `exit ${r.exitCode}`}` });
    } catch (e) {
      problems.push({ kind: j.kind, message: `${j.line.label}: ${message(e)}` });
    }
  }
}

function netDeleteLine(item: PlatformItem): BatchLine {
  switch (item.kind) {
    case 'route':
      return routeDeleteLine(item);
    case 'rule':
      return ruleDeleteLine(item);
    case 'address':
      return addressDeleteLine(item);
    default:
      throw new Error(`not a network item: ${item.kind}`);
  }
}

function xfrmDeleteLine(item: PlatformItem): BatchLine {
  switch (item.kind) {
    case 'sa':
      return saDeleteLine(item);
    case 'policy':
      return policyDeleteLine(item);
    default:
      throw new Error(`not an XFRM item: ${item.kind}`);
  }
}

// ---------------------------------------------------------------- marks

/** Kernel objects that carry Strait's marks right now. */
export interface MarkedObjects {
  readonly states: readonly XfrmStateInfo[];
  readonly policies: readonly XfrmPolicyInfo[];
  readonly routes: ReadonlyArray<{ readonly family: Family; readonly route: ListedRoute }>;
  readonly rules: ReadonlyArray<{ readonly family: Family; readonly rule: ListedRule }>;
  readonly addresses: readonly ListedAddress[];
}

export const markedCount = (m: MarkedObjects): number => m.states.length + m.policies.length + m.routes.length + m.rules.length + m.addresses.length;

export async function scanMarks(ip: IpCommand): Promise<MarkedObjects> {
  const states = parseXfrmStates(await ip.query('scan/xfrm-state', ['-s', 'xfrm', 'state', 'list', 'nokeys'])).filter((s) => s.proto === 'esp' && isStraitReqid(s.reqid));
  const policies = parseXfrmPolicies(await ip.query('scan/xfrm-policy', ['-s', 'xfrm', 'policy', 'list', 'nosock'])).filter(
    (p) => isStraitPriority(p.priority) || p.tmplReqids.some(isStraitReqid),
  );
  const routes: Array<{ family: Family; route: ListedRoute }> = [];
  const rules: Array<{ family: Family; rule: ListedRule }> = [];
  for (const family of [4, 6] as const) {
    const listed = parseRouteList(await ip.query('scan/routes', ['-j', 'route', 'show', 'table', 'all'], family), family);
    for (const route of listed) {
      if (route.table === String(ROUTE_TABLE) || route.protocol === String(ROUTE_PROTOCOL)) routes.push({ family, route });
    }
    for (const rule of parseRuleList(await ip.query('scan/rules', ['-j', 'rule', 'show'], family))) {
      if (rule.priority === RULE_PREFERENCE || rule.table === String(ROUTE_TABLE)) rules.push({ family, rule });
    }
  }
  const addresses = parseAddressList(await ip.query('scan/addresses', ['-j', 'address', 'show'])).filter((a) => a.metric === ADDRESS_METRIC);
  return { states, policies, routes, rules, addresses };
}

/** Removes everything `scanMarks` found; returns counts and problems. */
export async function removeMarked(ip: IpCommand, marked: MarkedObjects): Promise<{ counts: ObjectCounts; problems: PlatformProblem[] }> {
  const counts = zeroCounts();
  const problems: PlatformProblem[] = [];
  const ok = (j: Job): void => {
    counts[j.kind]++;
  };
  for (const family of [4, 6] as const) {
    const jobs: Job[] = [
      ...marked.rules.filter((r) => r.family === family).map((r, i) => ({ id: `r${i}`, kind: 'rule' as const, line: ruleDeleteLine({ pref: r.rule.priority, family }) })),
      ...marked.routes.filter((r) => r.family === family).map((r, i) => ({ id: `t${i}`, kind: 'route' as const, line: listedRouteDeleteLine(r.route) })),
    ];
    await deleteNet(ip, jobs, family, ok, problems);
  }
  const xfrm: Job[] = [
    ...marked.policies.map((p, i) => ({ id: `p${i}`, kind: 'policy' as const, line: policyDeleteByIndexLine(p.index, p.dir) })),
    ...marked.states.map((s, i) => ({ id: `s${i}`, kind: 'sa' as const, line: saDeleteLine(s) })),
  ];
  await deleteXfrm(ip, xfrm, ok, problems);
  for (const family of [4, 6] as const) {
    const jobs = marked.addresses
      .filter((a) => a.family === family)
      .map((a, i): Job => ({ id: `a${i}`, kind: 'address', line: addressDeleteLine({ kind: 'address', family, cidr: `${a.local}/${a.prefixlen}`, dev: a.dev }) }));
    await deleteNet(ip, jobs, family, ok, problems);
  }
  return { counts, problems };
}
