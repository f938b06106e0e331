// The host end of the lab's desktop e2e stage (`run-lab.mjs --e2e`): a host
// network namespace with a TAP device that UML's eth0 plugs into
// (`eth0=tuntap,tap0`, recipe in /work/shared/LAB.md), and the host-side run
// of test/e2e/run-e2e.mjs --lab once the guest says straitd is ready.
// Every address here lives only inside namespaces this run creates.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const E2E_LINK = Object.freeze({
  hostIp: '10.200.0.1',
  guestIp: '10.200.0.2',
  prefix: 24,
  port: 7070,
  tap: 'tap0',
  /** the guest netns that holds eth0 (init.sh) */
  guestNetns: 'e2e',
});

const ip = (...args) => execFileSync('ip', args, { stdio: ['ignore', 'pipe', 'pipe'] });

/** Creates netns `name` with tap0 (10.200.0.1/24) and lo up; returns its remover. */
export function createHostLink(name) {
  ip('netns', 'add', name);
  try {
    ip('-n', name, 'link', 'set', 'lo', 'up');
    ip('-n', name, 'tuntap', 'add', 'dev', E2E_LINK.tap, 'mode', 'tap');
    ip('-n', name, 'addr', 'add', `${E2E_LINK.hostIp}/${E2E_LINK.prefix}`, 'dev', E2E_LINK.tap);
    ip('-n', name, 'link', 'set', E2E_LINK.tap, 'up');
  } catch (e) {
    removeHostLink(name);
    throw e;
  }
  return () => removeHostLink(name);
}

function removeHostLink(name) {
  try {
    ip('netns', 'del', name);
  } catch {
    // already gone
  }
}

/** Files through which guest and host hand over (hostfs: the same path on both sides). */
export function e2eFiles(stateDir) {
  return { ready: join(stateDir, 'e2e-ready'), done: join(stateDir, 'e2e-done') };
}

/**
 * Waits for the guest's e2e-ready while UML runs, then runs the desktop e2e
 * inside host netns `netns` (where 10.200.0.2 is reachable), its output
 * prefixed "[e2e] " (so test/run-all.mjs does not count its summary line a
 * second time: its results land in results.jsonl through the lab reporter).
 * Always writes e2e-done when it ran, so the guest goes on to power off.
 *
 * @returns {{ promise: Promise<{ ran: boolean, code?: number }>, cancel(): void }}
 */
export function hostE2e({ stateDir, netns, repo, output }) {
  const files = e2eFiles(stateDir);
  let cancelled = false;
  let child;
  const promise = (async () => {
    while (!existsSync(files.ready)) {
      if (cancelled) return { ran: false };
      await new Promise((r) => setTimeout(r, 500));
    }
    const ready = JSON.parse(readFileSync(files.ready, 'utf8'));
    output.write(`[lab] e2e: guest ready (${ready.address}:${ready.port}); running the desktop e2e on the host\n`);
    const code = await new Promise((resolve) => {
      child = spawn('ip', ['netns', 'exec', netns, process.execPath, join(repo, 'test', 'e2e', 'run-e2e.mjs'), '--lab', stateDir], {
        cwd: repo,
        stdio: ['ignore', 'pipe', 'pipe'],
        env: { ...process.env, LAB_STATE: stateDir },
        // its own process group: a cancel (UML timed out) ends Chromium, D-Bus and the keyring with it
        detached: true,
      });
      let pending = '';
      const onData = (chunk) => {
        pending += chunk.toString('utf8');
        const lines = pending.split('\n');
        pending = lines.pop() ?? '';
        for (const line of lines) output.write(`[e2e] ${line}\n`);
      };
      child.stdout.on('data', onData);
      child.stderr.on('data', onData);
      child.on('close', (c) => {
        if (pending) output.write(`[e2e] ${pending}\n`);
        resolve(c ?? 1);
      });
    });
    writeFileSync(files.done, `${code}\n`);
    return { ran: true, code };
  })();
  return {
    promise,
    cancel() {
      cancelled = true;
      if (child && child.exitCode === null) {
        try {
          process.kill(-child.pid, 'SIGTERM');
        } catch {
          // already gone
        }
      }
    },
  };
}
