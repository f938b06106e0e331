// The systemd-resolved DNS path of the Linux backend (dns.ts ResolvedDns) against a
// real systemd-resolved, run by hand (needs root): a private network namespace and
// a private mount namespace with their own /run, a private system D-Bus (no other
// bus, no polkit: root has CAP_NET_ADMIN), and a passwd copy with the
// `systemd-resolve` user bound over /etc/passwd inside that mount namespace only.
// The backend's commands (ip, resolvectl) enter both namespaces with nsenter.
//
// systemd-resolved is not installed on these machines (Debian ships it apart from
// systemd, and installing it takes over /etc/resolv.conf). Point STRAIT_RESOLVED_ROOT
// at an unpacked package (`apt-get download systemd-resolved && dpkg -x *.deb root`)
// or install it; without either the test is skipped and says so.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';

import type { CommandRunner } from '../../../native-helper/src/platform/linux/command-runner.js';
import { spawnRunner } from '../../../native-helper/src/platform/linux/command-runner.js';
import { LinuxBackend } from '../../../native-helper/src/platform/linux/linux-backend.js';
import { childSpec, configParams } from './specs.js';

const root = process.env['STRAIT_RESOLVED_ROOT'] ?? '';
const RESOLVED = [join(root, 'lib/systemd/systemd-resolved'), join(root, 'usr/lib/systemd/systemd-resolved')].find((p) => existsSync(p));
const RESOLVECTL = [join(root, 'usr/bin/resolvectl'), '/usr/bin/resolvectl'].find((p) => existsSync(p));
const NS = `strait-res-${process.pid}`;

function sh(argv: readonly string[]): { code: number; out: string } {
  const r = spawnSync(argv[0] ?? '', argv.slice(1), { encoding: 'utf8', timeout: 15_000 });
  return { code: r.status ?? -1, out: `${r.stdout}${r.stderr}` };
}

function canRun(): string | undefined {
  if (process.getuid?.() !== 0) return 'needs root for network and mount namespaces';
  // CI sets STRAIT_RESOLVED_ROOT (.ci/run unpacks the package): there a missing binary is a failure, not a skip.
  if (RESOLVED === undefined || RESOLVECTL === undefined) {
    if (root !== '') throw new Error(`STRAIT_RESOLVED_ROOT=${root} holds no systemd-resolved and resolvectl`);
    return 'systemd-resolved is not installed (set STRAIT_RESOLVED_ROOT to an unpacked systemd-resolved package)';
  }
  for (const tool of ['dbus-daemon', 'nsenter', 'unshare']) if (sh(['sh', '-c', `command -v ${tool}`]).code !== 0) return `${tool} is missing`;
  return undefined;
}

// Runs as PID of the spawned child: private /run, bus, passwd; then exec resolved (same PID).
const SETUP = `set -eu
mount --make-rprivate /
mount -t tmpfs run /run
mkdir -p /run/dbus /run/systemd /run/strait-test
cp /etc/passwd /run/strait-test/passwd; cp /etc/group /run/strait-test/group
grep -q '^systemd-resolve:' /etc/passwd || echo 'systemd-resolve:x:990:990:systemd Resolver:/:/usr/sbin/nologin' >> /run/strait-test/passwd
grep -q '^systemd-resolve:' /etc/group || echo 'systemd-resolve:x:990:' >> /run/strait-test/group
mount --bind /run/strait-test/passwd /etc/passwd; mount --bind /run/strait-test/group /etc/group
cat > /run/strait-test/bus.conf <<'X'
<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN" "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig><type>system</type><listen>unix:path=/run/dbus/system_bus_socket</listen><auth>EXTERNAL</auth>
<policy context="default"><allow user="*"/><allow own="*"/><allow send_destination="*"/><allow receive_sender="*"/></policy></busconfig>
X
dbus-daemon --config-file=/run/strait-test/bus.conf --fork --print-pid > /run/strait-test/dbus.pid
exec "$0"`;

describe('DNS through a real systemd-resolved (private namespaces)', () => {
  const skip = canRun();
  let resolved: ChildProcess | undefined;
  let dir = '';
  let pid = 0;
  const inside = (argv: readonly string[]): { code: number; out: string } => sh(['nsenter', '-t', String(pid), '-m', '-n', ...argv]);
  // Every backend command enters resolved's mount and network namespaces (its /run, its bus, its links).
  const runner: CommandRunner = (req) => spawnRunner({ ...req, file: 'nsenter', args: ['-t', String(pid), '-m', '-n', req.file, ...req.args] });

  before(async () => {
    if (skip !== undefined) return;
    dir = await mkdtemp(join(tmpdir(), 'strait-resolved-'));
    const n = ['ip', '-n', NS];
    for (const argv of [
      ['ip', 'netns', 'add', NS],
      [...n, 'link', 'set', 'lo', 'up'],
      [...n, 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'peer0'],
      [...n, 'address', 'add', '192.0.2.2/24', 'dev', 'eth0'],
      [...n, 'link', 'set', 'peer0', 'up'],
      [...n, 'link', 'set', 'eth0', 'up'],
      [...n, 'route', 'add', 'default', 'via', '192.0.2.1'],
    ]) {
      const r = sh(argv);
      assert.equal(r.code, 0, `${argv.join(' ')}: ${r.out}`);
    }
    resolved = spawn('ip', ['netns', 'exec', NS, 'unshare', '-m', 'sh', '-c', SETUP, RESOLVED ?? ''], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    resolved.stderr?.on('data', (b: Buffer) => (stderr += b.toString()));
    pid = resolved.pid ?? 0;
    const probe = `/proc/${pid}/root/run/systemd/resolve/io.systemd.Resolve`;
    for (let i = 0; i < 100 && !existsSync(probe); i++) await new Promise((r) => setTimeout(r, 100));
    assert.ok(existsSync(probe), `systemd-resolved did not come up: ${stderr}`);
  });

  after(async () => {
    if (pid !== 0) {
      const dbus = sh(['cat', `/proc/${pid}/root/run/strait-test/dbus.pid`]).out.trim();
      if (/^\d+$/.test(dbus)) process.kill(Number(dbus), 'SIGTERM');
    }
    resolved?.kill('SIGTERM');
    sh(['ip', 'netns', 'delete', NS]);
    if (dir !== '') await rm(dir, { recursive: true, force: true });
  });

  it('applyConfig sets the link\'s DNS servers and (routing) domains in resolved; teardown reverts them', { skip }, async () => {
    const b = new LinuxBackend({
      runner,
      runtimeDir: join(dir, 'run'),
      persistentDir: join(dir, 'lib'),
      dns: 'resolved',
      resolvectlPath: RESOLVECTL ?? 'resolvectl',
      resolvedProbePath: `/proc/${pid}/root/run/systemd/resolve/io.systemd.Resolve`,
    });
    const before = inside([RESOLVECTL ?? '', 'status', 'eth0']).out;
    assert.doesNotMatch(before, /10\.10\.0\.53/);
    await b.applyConfig(configParams(childSpec(), { tunnel: { mode: 'split', include: [], exclude: [], ipv6: false } }));
    const status = inside([RESOLVECTL ?? '', 'status', 'eth0']);
    assert.equal(status.code, 0, status.out);
    console.log(`[dns-resolved] resolvectl status eth0 while connected:\n${status.out}`);
    assert.match(status.out, /DNS Servers: 10\.10\.0\.53/);
    // Split tunnel: the gateway's domain routes queries to its server (~ = routing only, not a search domain).
    assert.match(status.out, /DNS Domain: ~lab\.example/);
    assert.match(status.out, /-DefaultRoute/, 'a split tunnel does not take over all queries');
    const report = await b.teardown('test');
    assert.deepEqual(report.problems, []);
    const after = inside([RESOLVECTL ?? '', 'status', 'eth0']).out;
    assert.doesNotMatch(after, /10\.10\.0\.53|lab\.example/, after);
  });
});
