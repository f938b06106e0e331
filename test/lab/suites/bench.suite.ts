// `npm run bench` (lab mode "bench" only; in a test run this suite registers
// nothing): connect N times with Strait (straitd, through the client library)
// and N times with strongSwan's own client (a second charon in netns
// `client`, driven over its VICI socket so that no process start-up is
// timed), against the same gateway connection (rw-psk) with the same
// proposal, and run iperf3 through each tunnel after each connect. The two
// alternate round by round (charon on local ports 5500/5501, straitd on
// 500/4500; one tunnel up at a time), so a machine whose load drifts
// (other labs on the same two cores) does not favour either side. The
// client whose round it is not is paused (SIGSTOP/SIGCONT): both watch the
// namespace's addresses and routes, and UML has one CPU.
//
// What is timed, on both sides: the connect request leaving the client →
// the answer that the CHILD_SA is installed and routes are up (vici
// `initiate` returns when charon's CHILD_SA is installed; straitd's
// `connect` resolves in state Connected, after install + configure). For
// Strait, straitd's own stage timeline (connectMs) is recorded too, as a
// cross-check. One warm-up connect per side is not counted (first-use costs
// in the gateway and the kernel). Results: <logDir>/bench.json, read by
// test/lab/bench.mjs. Measurements only: nothing here asserts a timing.

import assert from 'node:assert/strict';
import { fstatSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { after, before, describe, it } from 'node:test';

import type { StraitClient } from '../../../native-helper/src/api/client.js';
import type { ConnectedState, ResultOf } from '../../../native-helper/src/api/rpc.js';
import type { BackgroundProcess } from '../support/guest.js';
import { labState, run, spawnBackground, startLanIperf, waitFor, xfrmState } from '../support/guest.js';
import { labProfile } from '../support/lab-profiles.js';
import { iperfReceivedMbps, median, summary } from '../support/stats.js';
import type { Straitd } from '../support/straitd.js';
import { startStraitd } from '../support/straitd.js';
import type { StrongswanClient, VirtualIps } from '../support/strongswan-client.js';
import { startStrongswanClient } from '../support/strongswan-client.js';
import { LAN } from '../support/topology.js';
import { expectSuccess, ViciSession } from '../support/vici.js';

/** The strongSwan client's `psk` connection proposes exactly these (support/strongswan-client.ts). */
const IKE_PROPOSAL = 'aes256gcm16-prfsha256-ecp256';
const ESP_PROPOSAL = 'aes256gcm16';
/** strongSwan's client IKE ports in the bench: 500/4500 belong to straitd (RFC 7296 §2.23 lets an initiator use any). */
const SW_PORTS = { ike: 5500, natt: 5501 };

interface Sample {
  readonly connectMs: number;
  /** CPU the client process (straitd / the client charon, all threads) used during the connect */
  readonly cpuMs: number;
  /** page faults the client process took during the connect (minor, all threads; /proc/<pid>/stat minflt) */
  readonly faults: number;
  /** straitd's own connect request → connected time (Strait only) */
  readonly daemonMs?: number;
  readonly stages?: Readonly<Record<string, number>>;
  /** Strait only, wall clock ms: request sent → straitd's timeline starts (RPC in, profile checks) and its end → answer read here */
  readonly requestMs?: number;
  readonly replyMs?: number;
  readonly throughputMbps: number;
}

interface SideResult {
  readonly warmup?: Sample;
  readonly samples: Sample[];
}

const esp = async (): Promise<number> => (await xfrmState('client')).filter((s) => s.proto === 'esp').length;

/** The route to the LAN host uses the tunnel: source address = the virtual IP. */
async function routeSource(): Promise<string> {
  const r = await run(['ip', 'route', 'get', LAN.ipv4], { check: true });
  return /\bsrc (\S+)/.exec(r.stdout)?.[1] ?? '';
}

async function iperf(vip: string, seconds: number): Promise<number> {
  const r = await run(['iperf3', '-c', LAN.ipv4, '-p', String(LAN.ports.iperf3), '-B', vip, '-t', String(seconds), '-J'], { timeoutMs: (seconds + 30) * 1000 });
  return iperfReceivedMbps(r.stdout);
}

/** /proc/<pid>/stat from field 3 (state) on: [0] is field 3 of stat(5); the command name, which may hold spaces, is cut off. */
function procStat(pid: number): string[] {
  return readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /, '').split(' ');
}

/**
 * CPU time a process (all its threads) has used so far, in ms: the
 * scheduler's exact run time per thread (/proc/<pid>/task/<tid>/sched,
 * se.sum_exec_runtime, ms), else utime + stime from /proc/<pid>/stat (10 ms
 * ticks: too coarse for one connect). Wall time inside UML counts the
 * gateway, the kernel and any other load on the machine; this counts only
 * the client's own work.
 */
function cpuMs(pid: number): number {
  try {
    let total = 0;
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      const m = /se\.sum_exec_runtime\s*:\s*([\d.]+)/.exec(readFileSync(`/proc/${pid}/task/${tid}/sched`, 'utf8'));
      if (m?.[1] === undefined) throw new Error('no sum_exec_runtime');
      total += Number(m[1]);
    }
    return total;
  } catch {
    const fields = procStat(pid);
    return (Number(fields[11]) + Number(fields[12])) * 10; // utime, stime (fields 14, 15 of stat(5))
  }
}

/**
 * Minor page faults a process has taken so far (/proc/<pid>/stat, field 10
 * minflt): each one is a trap to the host in User-Mode Linux, so a client
 * that grows or re-touches its heap during a connect pays for it there.
 */
function faults(pid: number): number {
  return Number(procStat(pid)[7]);
}

/** SIGSTOP / SIGCONT a client; one that already exited is the test's failure to report, not this. */
function pause(pid: number, signal: 'SIGSTOP' | 'SIGCONT'): void {
  try {
    process.kill(pid, signal);
  } catch {
    // gone
  }
}

function log(line: string): void {
  console.log(`[bench] ${line}`);
}

if (labState().mode === 'bench') {
  const env = labState().env;
  const N = Math.max(1, Number(env.BENCH_N ?? 10));
  const IPERF_S = Math.max(1, Number(env.BENCH_IPERF_S ?? 3));
  const results: { strongswan: SideResult; strait: SideResult } = { strongswan: { samples: [] }, strait: { samples: [] } };

  describe(`bench: ${N} connects + iperf3 each, Strait vs strongSwan (PSK, ${IKE_PROPOSAL} / ${ESP_PROPOSAL})`, () => {
    let iperfServer: BackgroundProcess;
    let capture: BackgroundProcess | undefined;

    before(async () => {
      iperfServer = await startLanIperf();
      // --profile: every IKE/ESP-in-UDP packet on the client's link, with kernel timestamps, so that each
      // side's connect splits into time waiting for the gateway and time spent in the client.
      if (env.BENCH_CPU_PROF === '1') {
        const file = join(labState().logDir, 'bench-ike.pcap');
        capture = spawnBackground(['tcpdump', '-i', 'cl0', '-U', '-n', '-w', file, 'udp port 500 or udp port 4500 or udp port 5500 or udp port 5501'], {
          logFile: join(labState().logDir, 'tcpdump.log'),
        });
        await waitFor(() => readFileSync(join(labState().logDir, 'tcpdump.log'), 'utf8').includes('listening on'), 15_000, { what: 'tcpdump listening' });
      }
    });

    after(async () => {
      await capture?.stop();
      await iperfServer?.stop();
      const out = {
        n: N,
        iperfSeconds: IPERF_S,
        proposal: { ike: IKE_PROPOSAL, esp: ESP_PROPOSAL },
        gateway: 'rw-psk',
        strongswan: results.strongswan,
        strait: results.strait,
      };
      writeFileSync(join(labState().logDir, 'bench.json'), `${JSON.stringify(out, null, 2)}\n`);
      for (const [side, r] of Object.entries(results)) {
        const c = summary(r.samples.map((s) => s.connectMs));
        const t = summary(r.samples.map((s) => s.throughputMbps));
        const u = summary(r.samples.map((s) => s.cpuMs));
        const f = summary(r.samples.map((s) => s.faults));
        log(`${side}: connect median ${c.median.toFixed(1)} ms (min ${c.min.toFixed(1)}, max ${c.max.toFixed(1)}, n=${c.n}); client CPU median ${u.median.toFixed(1)} ms, page faults median ${f.median}; throughput median ${t.median.toFixed(1)} Mbit/s`);
      }
    });

    it('context: what one system call and one page fault cost in this guest (each traps to the host in User-Mode Linux)', () => {
      // fstat on an open descriptor: one cheap system call, nothing else
      const calls = 5000;
      let t0 = performance.now();
      for (let i = 0; i < calls; i++) fstatSync(0);
      const perCallUs = ((performance.now() - t0) * 1000) / calls;
      // 32 MiB from malloc (mmap'd, untouched), then one write per page: one minor fault each
      const block = Buffer.allocUnsafeSlow(32 << 20);
      const f0 = process.resourceUsage().minorPageFault;
      t0 = performance.now();
      for (let off = 0; off < block.length; off += 4096) block[off] = 1;
      const ms = performance.now() - t0;
      const taken = process.resourceUsage().minorPageFault - f0;
      log(`one system call (fstat): ${perCallUs.toFixed(1)} µs; one minor page fault: ${taken > 0 ? ((ms * 1000) / taken).toFixed(1) : '?'} µs (${taken} faults in ${ms.toFixed(1)} ms)`);
      assert.ok(taken > 0, 'touching 32 MiB of fresh memory took no page fault');
    });

    it('context: what one `ip` process costs in this guest (the platform backend runs several per connect)', async () => {
      const ms: number[] = [];
      for (let i = 0; i < 10; i++) {
        const t0 = performance.now();
        await run(['ip', '-batch', '-'], { input: 'link show dev lo\n', check: true });
        ms.push(performance.now() - t0);
      }
      const s = summary(ms);
      log(`one \`ip -batch -\` process (spawn to exit): median ${s.median.toFixed(1)} ms (min ${s.min.toFixed(1)}, max ${s.max.toFixed(1)}, n=${s.n})`);
      assert.equal(ms.length, 10);
    });

    it(`${N} rounds (after 1 warm-up round), each: strongSwan connect + iperf3 + terminate, then Strait connect + iperf3 + disconnect`, async () => {
      // Both clients run side by side (charon on other local ports), one tunnel at a time; rounds
      // alternate the two so that a machine whose load changes over time biases neither side.
      let sw: StrongswanClient | undefined;
      let vici: ViciSession | undefined;
      let d: Straitd | undefined;
      let client: StraitClient | undefined;
      const lab = labProfile({ auth: 'psk', tunnel: 'split', ike: [IKE_PROPOSAL], esp: [ESP_PROPOSAL], name: 'bench psk' });
      // Same features as the anchor: strongSwan's client installs no leak guard (no firewall
      // rules at all), so the measured Strait profile turns its guard off, and says so.
      const profile = { ...lab.profile, leakGuard: false };
      const secrets = lab.secrets;
      log('Strait profile: leakGuard=false (strongSwan\'s client adds no leak guard; same features on both sides)');
      try {
        sw = await startStrongswanClient({ name: 'sw-bench', ports: SW_PORTS });
        vici = await ViciSession.open(sw.viciUri);
        // BENCH_CPU_PROF=1 (`npm run bench -- --profile`): straitd runs under
        // --cpu-prof; the profile lands in <logDir>/straitd-bench/ when straitd stops.
        const cpuProfileDir = env.BENCH_CPU_PROF === '1' ? join(labState().logDir, 'straitd-bench') : undefined;
        const nodeArgs = (env.BENCH_NODE_ARGS ?? '').split(' ').filter((a) => a !== '');
        if (nodeArgs.length > 0) log(`straitd runs with extra Node options: ${nodeArgs.join(' ')}`);
        d = await startStraitd({
          name: 'straitd-bench',
          logLevel: env.BENCH_LOG_LEVEL === 'debug' ? 'debug' : 'info',
          nodeArgs,
          // BENCH_STRACE=1 (`npm run bench -- --strace`): every system call straitd makes, timed, in <logDir>/straitd.strace
          ...(env.BENCH_STRACE === '1' ? { wrapper: ['strace', '-f', '-ttt', '-T', '-o', join(labState().logDir, 'straitd.strace')] } : {}),
          ...(cpuProfileDir !== undefined ? { cpuProfileDir } : {}),
        });
        client = await d.client();
        for (let i = 0; i <= N; i++) {
          const label = i === 0 ? 'warm-up' : `#${i}`;
          // The idle client is paused (SIGSTOP) while the other one's round runs: both share the
          // client namespace, and each listens to the kernel's address/route events, so the idle one
          // would otherwise spend CPU — the guest has one — on the other's virtual IP and routes.
          pause(d.pid, 'SIGSTOP');
          try {
            const c0 = cpuMs(sw.pid);
            const f0 = faults(sw.pid);
            const t0 = performance.now();
            const reply = await vici.request('initiate', { ike: 'psk', child: 'psk', timeout: '30000', 'init-limits': 'no' });
            const connectMs = performance.now() - t0;
            const cpu = cpuMs(sw.pid) - c0;
            const pf = faults(sw.pid) - f0;
            expectSuccess('initiate psk', reply);
            const vips: VirtualIps = await sw.virtualIps();
            assert.ok(vips.ipv4, 'strongSwan got no IPv4 virtual IP');
            assert.equal(await routeSource(), vips.ipv4, `the route to ${LAN.ipv4} does not use strongSwan's virtual IP right after initiate`);
            const throughputMbps = await iperf(vips.ipv4, IPERF_S);
            expectSuccess('terminate psk', await vici.request('terminate', { ike: 'psk', timeout: '10000' }));
            await waitFor(async () => (await esp()) === 0, 10_000, { what: 'strongSwan client ESP SAs removed' });
            const sample: Sample = { connectMs, cpuMs: cpu, faults: pf, throughputMbps };
            if (i === 0) results.strongswan = { ...results.strongswan, warmup: sample };
            else results.strongswan.samples.push(sample);
            log(`strongswan ${label}: connect ${connectMs.toFixed(1)} ms (charon CPU ${cpu.toFixed(1)} ms, ${pf} page faults), ${throughputMbps.toFixed(1)} Mbit/s`);
          } finally {
            pause(d.pid, 'SIGCONT');
          }
          pause(sw.pid, 'SIGSTOP');
          try {
            const c0 = cpuMs(d.pid);
            const f0 = faults(d.pid);
            const e0 = Date.now();
            const t0 = performance.now();
            const { state } = await client.request('connect', { profile, secrets }, { timeoutMs: 60_000 });
            const connectMs = performance.now() - t0;
            const e1 = Date.now();
            const cpu = cpuMs(d.pid) - c0;
            const pf = faults(d.pid) - f0;
            const connected: ConnectedState = state;
            const vip4 = connected.virtualIps.find((a) => !a.includes(':'));
            assert.ok(vip4, `straitd reports no IPv4 virtual IP: ${connected.virtualIps.join(', ')}`);
            assert.match(connected.algorithms.esp, /^aes256gcm16(-noesn)?$/, `negotiated ESP ${connected.algorithms.esp}`);
            assert.equal(await routeSource(), vip4, `the route to ${LAN.ipv4} does not use Strait's virtual IP right after connect`);
            const throughputMbps = await iperf(vip4, IPERF_S);
            const off: ResultOf<'disconnect'> = await client.request('disconnect', {}, { timeoutMs: 30_000 });
            assert.equal(off.clean, true, 'straitd reported leftovers after disconnect');
            await waitFor(async () => (await esp()) === 0, 10_000, { what: 'Strait ESP SAs removed' });
            const stages = Object.fromEntries(connected.stages.map((x) => [x.stage, x.ms]));
            // both clocks are the guest's: where the time outside straitd's own timeline went
            const requestMs = connected.since - connected.connectMs - e0;
            const replyMs = e1 - connected.since;
            const sample: Sample = { connectMs, cpuMs: cpu, faults: pf, daemonMs: connected.connectMs, stages, requestMs, replyMs, throughputMbps };
            if (i === 0) results.strait = { ...results.strait, warmup: sample };
            else results.strait.samples.push(sample);
            log(
              `strait ${label}: connect ${connectMs.toFixed(1)} ms (straitd CPU ${cpu.toFixed(1)} ms, ${pf} page faults; request ${requestMs} ms, timeline ${connected.connectMs} ms: ` +
                `${connected.stages.map((x) => `${x.stage} ${x.ms}`).join(', ')}, reply ${replyMs} ms), ${throughputMbps.toFixed(1)} Mbit/s`,
            );
          } finally {
            pause(sw.pid, 'SIGCONT');
          }
        }
      } finally {
        client?.close();
        await d?.stop();
        vici?.close();
        await sw?.stop();
      }
      assert.equal(results.strongswan.samples.length, N);
      assert.equal(results.strait.samples.length, N);
      // The two clocks must tell the same story: straitd's timeline sits inside the client's wall clock.
      const wall = median(results.strait.samples.map((x) => x.connectMs));
      const daemon = median(results.strait.samples.map((x) => x.daemonMs ?? Number.NaN));
      assert.ok(daemon <= wall + 1, `straitd's timeline (${daemon} ms) is longer than the client's wall clock (${wall} ms)`);
    });
  });
}
