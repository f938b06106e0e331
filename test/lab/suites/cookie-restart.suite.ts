// COOKIE back-off against the real gateway right after charon starts
// (RFC 7296 §2.6; ike/exchange/ike-sa-init.ts COOKIE_BACKOFF). charon 5.9.8
// rejects every cookie as "expired" for up to ~10 s after a start when its
// random cookie clock offset lands near its uptime (receiver.c: the age check
// wraps in unsigned arithmetic); whether a given start falls into that window
// is chance. Here straitd connects at once after a restart with cookies
// demanded (cookie_threshold 1 and one half-open IKE_SA): it must connect
// either way — with one COOKIE round outside the window, or by riding the
// window out with spaced retries (before the back-off it gave up after 4
// rounds within a second). It restarts charon until one start falls into the
// window (at most MAX_STARTS) and prints what each start saw.

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';

import type { StraitClient } from '../../../native-helper/src/api/client.js';
import { IkeSession } from '../../../native-helper/src/ike/session.js';
import { labState, run } from '../support/guest.js';
import { labProfile } from '../support/lab-profiles.js';
import { labPskSessionConfig } from '../support/session-config.js';
import type { Straitd } from '../support/straitd.js';
import { startStraitd } from '../support/straitd.js';
import { CLIENT, GATEWAYS } from '../support/topology.js';

async function gatewayCtl(...args: string[]): Promise<void> {
  const g = await run(['sh', join(labState().repoDir, 'test', 'lab', 'guest', 'gateway.sh'), ...args], { timeoutMs: 30_000 });
  assert.equal(g.code, 0, `gateway.sh ${args.join(' ')}: ${g.stdout}${g.stderr}`);
}

/** gateway restarts at most, looking for one inside charon's fresh-start window (which one is chance: charon seeds its offset randomly) */
const MAX_STARTS = 2;

describe('COOKIE back-off: straitd connects right after the gateway restarts with cookies demanded', () => {
  let d: Straitd;
  let client: StraitClient;

  before(async () => {
    d = await startStraitd({ name: 'straitd-cookie' });
    client = await d.client();
  });

  after(async () => {
    client?.close();
    await d?.stop();
  });

  it('restart with cookie_threshold 1 + a half-open IKE_SA, connect at once: Connected every time (COOKIE rounds spaced when charon refuses them)', async () => {
    const st = labState();
    const conf = readFileSync(st.gw.strongswanConf, 'utf8');
    assert.match(conf, /^charon \{$/m);
    const cookieConf = join(dirname(st.gw.strongswanConf), 'strongswan-cookie-restart.conf');
    writeFileSync(cookieConf, conf.replace(/^charon \{$/m, 'charon {\n  cookie_threshold = 1\n  cookie_threshold_ip = 1').replace(/^(\s*)ike = 2$/m, '$1ike = 2\n$1net = 2'));
    const sock = createSocket('udp4');
    await new Promise<void>((resolve, reject) => {
      sock.once('error', reject);
      sock.bind(0, CLIENT.ipv4, () => resolve());
    });
    const p = labProfile({ auth: 'psk', tunnel: 'split' });
    let hit = false;
    try {
      // Whether a start falls into charon's window is chance: restart until one does (at most MAX_STARTS).
      for (let i = 1; i <= MAX_STARTS && !hit; i++) {
        const logStart = readFileSync(st.gw.log, 'utf8').length;
        await gatewayCtl('stop');
        await gatewayCtl('start', cookieConf);
        const started = Date.now();
        // A half-open IKE_SA from another port: charon now demands a cookie from everyone.
        const half = new IkeSession(labPskSessionConfig({ local: { address: CLIENT.ipv4, port: sock.address().port } }), { random: (n) => new Uint8Array(randomBytes(n)) });
        const init = half.start(Date.now()).find((a) => a.kind === 'send');
        assert.ok(init !== undefined && init.kind === 'send');
        const answered = new Promise<void>((resolve, reject) => {
          const t = setTimeout(() => reject(new Error('the gateway did not answer the half-open IKE_SA_INIT')), 10_000);
          sock.once('message', () => {
            clearTimeout(t);
            resolve();
          });
        });
        sock.send(init.data, 500, GATEWAYS.main.address);
        await answered;

        const t0 = Date.now();
        const { state } = await client.request('connect', { profile: { ...p.profile, leakGuard: false }, secrets: p.secrets }, { timeoutMs: 60_000 });
        const ms = Date.now() - t0;
        assert.equal(state.state, 'connected', JSON.stringify(state));
        const { records } = await client.request('logs', { limit: 5000 });
        const rounds = records.filter((r) => r.event === 'ike_sa_init.cookie' && Date.parse(r.ts) >= t0);
        assert.ok(rounds.length >= 1, 'the gateway asked for a cookie');
        const delays = rounds.map((r) => r.fields['delayMs']);
        const expired = readFileSync(st.gw.log, 'utf8').slice(logStart).split('\n').filter((l) => /cookie lifetime expired/.test(l)).length;
        hit = expired > 0;
        // every refused cookie was answered after a growing pause (0, 250, 500, 1000, 2000 … ms)
        assert.deepEqual(delays, [0, 250, 500, 1000, 2000, 2000, 2000, 2000, 2000, 2000, 2000, 2000, 2000].slice(0, rounds.length));
        console.log(
          `[cookie-restart] start ${i}: connected ${ms} ms after the request (${t0 - started} ms after charon started) with ${rounds.length} COOKIE round(s), pauses ${JSON.stringify(delays)} ms; ` +
            `charon refused ${expired} cookie(s) as expired: ${hit ? "its fresh-start window was hit and ridden out" : 'outside its fresh-start window'}`,
        );
        await client.request('disconnect', {}, { timeoutMs: 30_000 });
      }
      if (!hit) console.log(`[cookie-restart] none of ${MAX_STARTS} starts fell into charon's fresh-start window (chance); the unit test session-cookie.test.ts covers the back-off`);
    } finally {
      sock.close();
      await gatewayCtl('stop');
      await gatewayCtl('start');
    }
  });
});
