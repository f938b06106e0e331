/**
 * The `strait` CLI as a separate process against a real straitd process:
 * stable exit codes and messages, the stage timeline, JSON output, logs,
 * and secret handling — a secret given on stdin never shows up in the CLI's
 * /proc/<pid>/cmdline or environ, nor in any output or log.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';

import { ExitCode } from '../../../native-helper/src/cli/command.js';
import { TEST_PSK, freePorts, testProfile, udpGateway, type UdpGateway } from '../daemon/helpers.js';
import { canRunDaemon, entryArgv, startDaemon, type Daemon } from '../daemon/spawn.js';

interface Run {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
  /** /proc/<pid>/cmdline and environ of the CLI while it ran */
  readonly procText: string;
}

const skip = canRunDaemon();
let daemon: Daemon;
let gw: UdpGateway;
let dir: string;

/** Runs `strait …`, writing `stdin` only after /proc/<pid> was read (the secret is not yet anywhere). */
function strait(args: readonly string[], stdin = '', opts: { env?: Record<string, string>; timeoutMs?: number } = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...entryArgv('native-helper/src/cli/main'), ...args], {
      stdio: ['pipe', 'pipe', 'pipe'],
      env: { PATH: process.env['PATH'] ?? '', HOME: dir, XDG_CONFIG_HOME: join(dir, 'config'), ...(opts.env ?? {}) },
    });
    let stdout = '';
    let stderr = '';
    let procText = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const readProc = (): void => {
      try {
        procText += readFileSync(`/proc/${child.pid}/cmdline`, 'latin1') + readFileSync(`/proc/${child.pid}/environ`, 'latin1');
      } catch {
        // exited already
      }
    };
    readProc();
    child.stdin.end(stdin);
    // and again while it works with the secret
    const again = setTimeout(readProc, 300);
    const killer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 60_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(again);
      clearTimeout(killer);
      resolve({ code, stdout, stderr, procText });
    });
  });
}

describe('strait CLI against a real straitd process', { skip }, () => {
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'strait-cli-'));
    const [ike, natt] = await freePorts(2);
    daemon = await startDaemon(['--ike-port', String(ike), '--natt-port', String(natt), '--connect-timeout-ms', '5000']);
    gw = await udpGateway();
  });
  after(async () => {
    await gw.close();
    await daemon.cleanup();
    await rm(dir, { recursive: true, force: true });
  });

  it('version and status (text and --json)', async () => {
    const v = await strait(['version', '--socket', daemon.socket]);
    assert.equal(v.code, ExitCode.OK, v.stderr);
    assert.match(v.stdout, /^strait \d+\.\d+\.\d+\nstraitd \d+\.\d+\.\d+ \(protocol 1, linux, linux-xfrm, pid \d+\)\n$/u);
    const s = await strait(['status', '--json'], '', { env: { STRAIT_SOCKET: daemon.socket } });
    assert.equal(s.code, ExitCode.OK, s.stderr);
    assert.deepEqual(JSON.parse(s.stdout), { state: 'disconnected' });
    const t = await strait(['status', '--socket', daemon.socket]);
    assert.equal(t.stdout, 'state: disconnected\n');
  });

  it('exit codes: usage 2, helper unreachable 3, invalid profile 5, profile not found 6', async () => {
    const u = await strait(['frobnicate']);
    assert.equal(u.code, ExitCode.USAGE);
    assert.match(u.stderr, /unknown command "frobnicate"/u);
    const none = await strait([]);
    assert.equal(none.code, ExitCode.USAGE);
    const un = await strait(['status', '--socket', join(dir, 'nobody.sock')]);
    assert.equal(un.code, ExitCode.HELPER_UNREACHABLE);
    assert.match(un.stderr, /^straitd unreachable: /u);
    const bad = join(dir, 'bad.json');
    await writeFile(bad, JSON.stringify({ version: 1, id: 'not-a-uuid', name: 'x', gateway: { host: 'vpn.example' }, auth: { method: 'psk', localId: 'a@b' } }));
    const inv = await strait(['connect', bad, '--secrets-stdin', '--socket', daemon.socket], '{"psk":"x"}');
    assert.equal(inv.code, ExitCode.INVALID_INPUT);
    assert.match(inv.stderr, /\/id: id must be a UUID/u);
    const nf = await strait(['connect', 'no-such-profile', '--socket', daemon.socket], 'x\n');
    assert.equal(nf.code, ExitCode.NOT_FOUND, nf.stderr);
    const help = await strait(['connect', '--help']);
    assert.equal(help.code, ExitCode.OK);
    assert.match(help.stdout, /--secrets-stdin/u);
  });

  it('connect with the PSK as JSON on stdin: stage timeline, exit 4 with the failure code; the PSK is in no argv, environ, output or log', async () => {
    const file = join(dir, 'profile.json');
    await writeFile(file, JSON.stringify(testProfile(gw.port, { tunnel: { mode: 'split', include: ['10.10.0.0/24'], ipv6: false } })));
    const r = await strait(['connect', file, '--secrets-stdin', '--socket', daemon.socket], JSON.stringify({ psk: TEST_PSK }));
    assert.equal(r.code, ExitCode.CONNECT_FAILED, r.stderr);
    assert.match(r.stdout, /^connecting "Loopback test" to 127\.0\.0\.1 …\n/u);
    // the timeline, one finished stage per line
    for (const stage of ['resolve', 'ike_sa_init', 'ike_auth']) assert.match(r.stdout, new RegExp(`^  ${stage} +\\d+ ms$`, 'mu'));
    assert.match(r.stdout, /^ {2}install +\d+ ms {2}\(failed\)$/mu);
    assert.match(r.stderr, /^connect failed \(PLATFORM_ERROR\): The operating system refused to install the tunnel\./mu);
    assert.ok(r.procText.length > 0, 'read /proc of the CLI');
    assert.ok(r.procText.includes('--secrets-stdin'), 'the cmdline was really read');
    for (const text of [r.procText, r.stdout, r.stderr]) assert.ok(!text.includes(TEST_PSK));
    const log = await readFile(join(daemon.logDir, 'straitd.log'), 'utf8');
    assert.ok(log.includes('connection.failed'));
    assert.ok(!log.includes(TEST_PSK), 'the PSK is not in straitd.log');
    assert.equal(gw.responder.authenticated, true, 'the PSK from stdin authenticated us to the gateway');
  });

  it('connect with the PSK as one line on stdin, --json; then disconnect acknowledges the error', async () => {
    const file = join(dir, 'profile2.json');
    await writeFile(file, JSON.stringify(testProfile(gw.port, { tunnel: { mode: 'split', include: ['10.10.0.0/24'], ipv6: false } })));
    const r = await strait(['connect', file, '--secrets-stdin', '--json', '--socket', daemon.socket], `${TEST_PSK}\n`);
    assert.equal(r.code, ExitCode.CONNECT_FAILED, r.stderr);
    assert.equal(r.stdout, '');
    assert.ok(!r.procText.includes(TEST_PSK));
    const s = await strait(['status', '--json', '--socket', daemon.socket]);
    const st = JSON.parse(s.stdout) as { state: string; code: string; stage: string };
    assert.deepEqual([st.state, st.code, st.stage], ['error', 'PLATFORM_ERROR', 'install']);
    const d = await strait(['disconnect', '--socket', daemon.socket]);
    assert.equal(d.code, ExitCode.OK, d.stderr);
    assert.equal(d.stdout, 'not connected\n');
  });

  it('a wrong PSK (prompt path without a TTY: one line of stdin) fails with exit 4 and the gateway\'s refusal', async () => {
    const file = join(dir, 'profile3.json');
    await writeFile(file, JSON.stringify(testProfile(gw.port)));
    const r = await strait(['connect', file, '--socket', daemon.socket], 'definitely-not-the-psk\n');
    assert.equal(r.code, ExitCode.CONNECT_FAILED, r.stderr);
    assert.match(r.stderr, /^connect failed \((PSK_MISMATCH|AUTH_FAILED|PEER_AUTH_FAILED)\): /mu);
    assert.ok(!(r.stdout + r.stderr + r.procText).includes('definitely-not-the-psk'));
  });

  it('logs: text, --json with --level filter, and --follow streams new records', async () => {
    const t = await strait(['logs', '--socket', daemon.socket]);
    assert.equal(t.code, ExitCode.OK);
    assert.match(t.stdout, /INFO {2}supervisor connect\.requested: connecting "Loopback test"/u);
    const j = await strait(['logs', '--json', '--level', 'error', '--socket', daemon.socket]);
    const records = j.stdout.trim().split('\n').map((l) => JSON.parse(l) as { level: string; event: string });
    assert.ok(records.length >= 1);
    assert.ok(records.every((x) => x.level === 'error'));
    const badLevel = await strait(['logs', '--level', 'loud', '--socket', daemon.socket]);
    assert.equal(badLevel.code, ExitCode.USAGE);

    const follower = spawn(process.execPath, [...entryArgv('native-helper/src/cli/main'), 'logs', '--follow', '--json', '--socket', daemon.socket], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    follower.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const waitFor = async (pred: () => boolean, ms: number): Promise<void> => {
      const end = Date.now() + ms;
      while (!pred()) {
        if (Date.now() > end) throw new Error(`timeout; follower printed: ${out.slice(-500)}`);
        await new Promise((res) => setTimeout(res, 50));
      }
    };
    await waitFor(() => out.includes('connection.failed'), 20_000); // the backlog
    const failures = (): number => out.split('"event":"connection.failed"').length - 1;
    const before = failures();
    const file = join(dir, 'profile4.json');
    await writeFile(file, JSON.stringify(testProfile(gw.port)));
    await strait(['connect', file, '--socket', daemon.socket], 'another-wrong-psk\n');
    await waitFor(() => failures() > before, 20_000); // streamed live
    const seqs = out.trim().split('\n').map((l) => (JSON.parse(l) as { seq: number }).seq);
    assert.deepEqual(seqs, [...seqs].sort((a, b) => a - b), 'in order');
    assert.equal(new Set(seqs).size, seqs.length, 'no duplicates');
    follower.kill('SIGINT');
    const code = await new Promise<number | null>((res) => follower.once('close', (c) => res(c)));
    assert.equal(code, 0);
  });
});
