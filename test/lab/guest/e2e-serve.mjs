// The lab's e2e stage, inside UML, in netns `client` (started by init.sh after
// the suites when the host asked for it with `run-lab.mjs --e2e`):
//   1. starts the real straitd here (lab support straitd.js: real XFRM, real
//      UDP to the strongSwan gateway in netns `gw`);
//   2. starts the TEST-ONLY TCP relay (e2e-relay.mjs) in netns `e2e`, which
//      holds the guest's eth0, so the host can reach straitd's unix socket;
//   3. writes $LAB_STATE/e2e-ready (JSON: address, port) — the host sees it
//      through hostfs and runs the desktop e2e (Chromium + the handler module);
//   4. waits until the host writes $LAB_STATE/e2e-done (or a timeout), then
//      stops the relay and straitd (SIGTERM: disconnect and teardown).
// Exit status: 0 when the stage ran (test results are the host's), else 1.
import { spawn } from 'node:child_process';
import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const env = process.env;
const stateDir = env.LAB_STATE;
const address = env.LAB_E2E_GUEST_IP;
const port = Number(env.LAB_E2E_PORT);
const netns = env.LAB_E2E_NETNS;
const waitS = Number(env.LAB_E2E_WAIT_S ?? 600);
if (!stateDir || !address || !netns || !Number.isInteger(port)) {
  console.error('[lab] e2e: LAB_STATE, LAB_E2E_GUEST_IP, LAB_E2E_PORT and LAB_E2E_NETNS must be set');
  process.exit(1);
}
const say = (m) => console.log(`[lab] e2e: ${m}`);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const { startStraitd } = await import(pathToFileURL(join(env.LAB_DIST, 'test', 'lab', 'support', 'straitd.js')).href);
const straitd = await startStraitd({ name: 'e2e-straitd', logLevel: 'debug' });
say(`straitd ready (pid ${straitd.pid}, socket ${straitd.socket})`);

const relay = spawn('ip', ['netns', 'exec', netns, process.execPath, join(env.LAB_REPO, 'test', 'lab', 'guest', 'e2e-relay.mjs'), straitd.socket, address, String(port)], {
  stdio: ['ignore', 'pipe', 'inherit'],
});
let rc = 0;
try {
  await new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error('relay did not start in 30 s')), 30_000);
    relay.once('exit', (code) => reject(new Error(`relay exited with ${code}`)));
    relay.stdout.on('data', (d) => {
      process.stdout.write(d);
      if (String(d).includes('e2e-relay listening')) {
        clearTimeout(t);
        resolve();
      }
    });
  });
  writeFileSync(join(stateDir, 'e2e-ready'), `${JSON.stringify({ address, port, straitdLogDir: straitd.logDir })}\n`);
  say(`ready: straitd reachable at ${address}:${port}; waiting for the host's e2e-done`);
  // readdir, not stat: hostfs answers a directory listing from the host every
  // time, while a cached negative lookup of the name might never refresh.
  const deadline = Date.now() + waitS * 1000;
  while (!readdirSync(stateDir).includes('e2e-done')) {
    if (Date.now() > deadline) throw new Error(`the host did not write e2e-done within ${waitS} s`);
    await sleep(500);
  }
  say('host reported done');
} catch (e) {
  console.error(`[lab] e2e: ${e instanceof Error ? e.message : String(e)}`);
  rc = 1;
} finally {
  relay.kill('SIGTERM');
  const code = await straitd.stop();
  say(`straitd stopped (exit ${code})`);
}
process.exit(rc);
