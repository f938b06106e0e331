// `npm run demo` (lab mode "demo" only; in a test run this suite registers
// nothing). Inside the lab: straitd starts in netns `client`, the `strait`
// CLI connects with a demo profile (PSK, generated from this run's lab PSK;
// the secret goes to the CLI on stdin), prints the stage timeline, pings the
// LAN host behind the strongSwan gateway through the tunnel, disconnects, and
// the namespace is compared with how it was before: XFRM states and
// policies, routes of all tables, rules, addresses, resolv.conf.
// Every line meant for the human starts with "[demo] " (test/lab/demo.mjs
// shows only those). The steps are also checks: the demo fails loudly.

import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';

import type { ShResult } from '../support/guest.js';
import { labState, ping, run, swanctlGw } from '../support/guest.js';
import { labProfile } from '../support/lab-profiles.js';
import { netSnapshot, snapshotCounts, snapshotDiff } from '../support/net-state.js';
import type { Straitd } from '../support/straitd.js';
import { startStraitd } from '../support/straitd.js';
import { CLIENT, GATEWAYS, LAN } from '../support/topology.js';

function say(text = ''): void {
  for (const line of text.split('\n')) console.log(`[demo] ${line}`);
}

function step(title: string): void {
  say('');
  say(`── ${title}`);
}

/** Prints a command line as a user would type it, then its output, indented. */
function show(cmd: string, r: ShResult): void {
  say(`$ ${cmd}`);
  const out = `${r.stdout}${r.stderr}`.trimEnd();
  if (out) say(out.split('\n').map((l) => `  ${l}`).join('\n'));
}

async function lanPing(dest: string): Promise<{ received: number; line: string }> {
  const r = await ping('client', dest, { count: 3, waitS: 1 });
  const summary = /\d+ packets transmitted.*/.exec(r.output)?.[0] ?? r.output.trim().split('\n').pop() ?? '';
  return { received: r.received, line: `ping ${dest}: ${summary}` };
}

if (labState().mode === 'demo') {
  describe('demo', () => {
    let d: Straitd | undefined;

    after(async () => {
      await d?.stop();
    });

    it('straitd + strait CLI: connect, ping the LAN through the tunnel, disconnect, nothing left', async () => {
      const ver = await run(['swanctl', '--version']);
      const sw = /strongSwan [\d.]+/.exec(ver.stdout + ver.stderr)?.[0] ?? 'strongSwan';
      step('The lab (User-Mode Linux, three network namespaces)');
      say(`client ${CLIENT.ipv4}  →  strongSwan gateway ${GATEWAYS.main.address} (${GATEWAYS.main.id}, ${sw} charon)  →  LAN host ${LAN.ipv4} / ${LAN.ipv6}`);
      const closed4 = await lanPing(LAN.ipv4);
      say(`without a tunnel the gateway drops clear traffic to its LAN:  ${closed4.line}`);
      assert.equal(closed4.received, 0, 'the LAN answers without a tunnel');

      step('Start straitd (root helper) in the client namespace');
      d = await startStraitd({ name: 'straitd-demo', logLevel: 'info' });
      say(`straitd pid ${d.pid}, socket ${d.socket}, JSON-lines log ${join(d.logDir, 'straitd.log')}`);
      const before = await netSnapshot('client', d.resolvConf);
      say(`before connecting: ${snapshotCounts(before)}`);

      step('A demo profile (no secret inside; the PSK goes to the CLI on stdin)');
      const demo = labProfile({ auth: 'psk', tunnel: 'split', name: 'Lab demo (PSK, split tunnel)' });
      const dir = join(labState().stateDir, 'demo');
      mkdirSync(dir, { recursive: true, mode: 0o700 });
      const profileFile = join(dir, 'profile.json');
      writeFileSync(profileFile, `${JSON.stringify(demo.profile, null, 2)}\n`);
      const p = demo.profile;
      say(`${profileFile}:`);
      say(`  gateway ${p.gateway.host}, remote id ${p.remoteId ?? '-'}, auth ${p.auth.method} as ${p.auth.localId ?? '-'}`);
      say(`  tunnel ${p.tunnel?.mode ?? 'full'} (${p.tunnel?.include?.join(', ') ?? ''}), IPv6 ${String(p.tunnel?.ipv6 ?? true)}, proposals: engine defaults (RFC 8221/8247)`);

      step('Connect');
      const connect = await d.cli(['connect', profileFile, '--secrets-stdin'], { input: `${JSON.stringify(demo.secrets)}\n` });
      show('strait connect profile.json --secrets-stdin   # secrets on stdin', connect);
      assert.equal(connect.code, 0, `strait connect exited ${connect.code}`);
      const status = await d.cli(['status']);
      show('strait status', status);
      assert.equal(status.code, 0);
      assert.match(status.stdout, /connected/);

      step('Traffic through the tunnel (kernel ESP)');
      for (const dest of [LAN.ipv4, LAN.ipv6]) {
        const r = await lanPing(dest);
        say(r.line);
        assert.equal(r.received, 3, r.line);
      }
      const gw = await swanctlGw(['--list-sas', '--raw']);
      const spis = [...gw.stdout.matchAll(/spi-in=([0-9a-f]+)/g)].map((m) => `0x${m[1] ?? ''}`);
      say(`the gateway (swanctl --list-sas): IKE SA ${gw.stdout.includes('state=ESTABLISHED') ? 'ESTABLISHED' : 'not found'}${spis.length > 0 ? `, CHILD_SA inbound SPI ${spis.join(', ')}` : ''}`);
      const status2 = await d.cli(['status', '--json']);
      // `status --json` prints the ConnectionState (counters read from the kernel's SAs)
      const counters = (JSON.parse(status2.stdout) as { counters?: Record<string, number> }).counters;
      say(`kernel SA counters now: ${counters ? Object.entries(counters).map(([k, v]) => `${k} ${v}`).join(', ') : status2.stdout.trim()}`);

      step('Disconnect');
      const off = await d.cli(['disconnect']);
      show('strait disconnect', off);
      assert.equal(off.code, 0, `strait disconnect exited ${off.code}`);

      step('Nothing left behind');
      const afterSnap = await netSnapshot('client', d.resolvConf);
      const diff = snapshotDiff(before, afterSnap);
      say(`after disconnecting: ${snapshotCounts(afterSnap)}`);
      if (diff.length === 0) say('ip xfrm state, ip xfrm policy, routes (all tables), rules, addresses, packet filter and resolv.conf: identical to before ✔');
      else say(`DIFFERENCES:\n${diff.join('\n')}`);
      const closedAgain = await lanPing(LAN.ipv4);
      say(`LAN closed again:  ${closedAgain.line}`);
      assert.deepEqual(diff, []);
      assert.equal(closedAgain.received, 0);

      await d.stop();
      d = undefined;
      say('');
      say('demo complete: straitd stopped.');
    });
  });
}
