/**
 * The desktop against the REAL helper and the REAL gateway (issue 6): the
 * built React renderer in Debian's Chromium (Playwright), `window.strait` from
 * the same main-process handler module Electron uses (page-harness.ts), and
 * behind it, over a unix socket on the host:
 *   - a TEST-ONLY relay (support/tcp-socket-relay.ts) to TCP 10.200.0.2 on a
 *     TAP link into the lab's User-Mode Linux guest, where a second TEST-ONLY
 *     relay (test/lab/guest/e2e-relay.mjs, in its own netns holding eth0)
 *     hands the bytes to straitd's unix socket — straitd has no TCP listener;
 *   - the real straitd (daemon/main.js as root in netns `client`: real XFRM in
 *     the UML kernel, real resolver file handling), connecting to
 *   - the lab's strongSwan charon, connection `rw-eap` (gateway certificate
 *     from the lab's ECDSA CA + EAP-MSCHAPv2 for user carol, password from the
 *     run's secrets folder), pool 10.99.0.0/24.
 * Run only by `test/lab/run-lab.mjs --e2e` (through run-e2e.mjs --lab, in the
 * run's host netns), after the lab suites, in the same UML boot. Without the
 * lab it FAILS (it never skips): STRAIT_E2E_LAB_STATE names the lab run.
 * The bundle is generated here: signed with `openssl cms -sign -nodetach
 * -binary` by a profile signer the lab's ECDSA CA issues for this run.
 * Screenshots: test-results/screenshots/lab-*.png.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { chmod, mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import type { Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';

import { chromium, type Browser, type Page } from '@playwright/test';

import type { DesktopEvent } from '../../../native-helper/src/api/desktop.js';
import { NapiKeyringStore } from '../../../native-helper/src/keychain/napi-keyring-store.js';
import { createMainServices, type MainServices } from '../../../electron/main/services.js';
import { LAB_TOPOLOGY } from '../../lab/support/topology.js';
import { bridge, CHROMIUM_ARGS, serveRenderer, SHOTS } from '../support/page-harness.js';
import { startTcpSocketRelay, type TcpSocketRelay } from '../support/tcp-socket-relay.js';

const run = promisify(execFile);
const PROFILE_ID = randomUUID();
const GATEWAY = LAB_TOPOLOGY.gateways.main;
const CAROL = LAB_TOPOLOGY.identities.carol;
const POOL_PREFIX4 = LAB_TOPOLOGY.pool.ipv4.replace(/\.0\/24$/, '.');

interface LabRun {
  readonly stateDir: string;
  readonly caCert: string;
  readonly caKey: string;
  readonly eapPassword: string;
  /** alice's PKCS#12 (strongSwan pki key + cert, packed by openssl) and its password file */
  readonly p12: string;
  readonly p12Password: string;
  readonly gwLog: string;
  readonly ready: { readonly address: string; readonly port: number; readonly straitdLogDir: string };
}

/** The lab run this e2e belongs to: lab.json and the guest's e2e-ready (both written into the run's state dir). */
async function labRun(): Promise<LabRun> {
  const stateDir = process.env['STRAIT_E2E_LAB_STATE'];
  if (stateDir === undefined || stateDir === '') throw new Error('STRAIT_E2E_LAB_STATE is not set: this e2e runs only inside `node test/lab/run-lab.mjs --e2e`');
  const lab = JSON.parse(await readFile(join(stateDir, 'lab.json'), 'utf8')) as {
    pki: { ecdsa: { caCert: string; caKey: string; client: { p12: string } } };
    secrets: { eapPassword: string; p12Password: string };
    gw: { log: string };
  };
  const ready = JSON.parse(await readFile(join(stateDir, 'e2e-ready'), 'utf8')) as LabRun['ready'];
  return {
    stateDir,
    caCert: lab.pki.ecdsa.caCert,
    caKey: lab.pki.ecdsa.caKey,
    eapPassword: (await readFile(lab.secrets.eapPassword, 'utf8')).trim(),
    p12: lab.pki.ecdsa.client.p12,
    p12Password: (await readFile(lab.secrets.p12Password, 'utf8')).trim(),
    gwLog: lab.gw.log,
    ready,
  };
}

/** A profile-signing certificate issued by the lab's ECDSA CA (keyUsage digitalSignature, RFC 5280 §4.2.1.3). */
async function issueSigner(dir: string, lab: LabRun): Promise<{ cert: string; key: string }> {
  const key = join(dir, 'signer.key');
  const csr = join(dir, 'signer.csr');
  const cert = join(dir, 'signer.crt');
  const ext = join(dir, 'signer.ext');
  await run('openssl', ['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', key]);
  await run('openssl', ['req', '-new', '-key', key, '-subj', '/C=XX/O=VPN Lab/CN=VPN Lab Profile Signer', '-out', csr]);
  await writeFile(ext, 'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n');
  await run('openssl', ['x509', '-req', '-in', csr, '-CA', lab.caCert, '-CAkey', lab.caKey, '-set_serial', `0x${randomBytes(8).toString('hex')}`, '-days', '30', '-extfile', ext, '-out', cert]);
  return { cert, key };
}

/** The length of the gateway's charon log now: what the gateway logs after this point is about us. */
async function logMark(path: string): Promise<number> {
  return (await stat(path)).size;
}
async function logSince(path: string, mark: number): Promise<string> {
  return (await readFile(path)).subarray(mark).toString('utf8');
}

interface StraitdRecord {
  readonly seq: number;
  readonly event: string;
  readonly message: string;
  readonly fields: Readonly<Record<string, unknown>>;
}

/**
 * straitd's own JSON-lines log inside the guest (the run's state dir, shared through hostfs):
 * what its Linux backend did to the UML kernel's XFRM. Polls, since the guest writes it as it goes.
 */
async function straitdRecord(lab: LabRun, event: string, afterSeq: number): Promise<StraitdRecord> {
  const file = join(lab.ready.straitdLogDir, 'straitd.log');
  for (let i = 0; i < 100; i++) {
    const text = await readFile(file, 'utf8').catch(() => '');
    const found = text
      .split('\n')
      .filter((l) => l.trim() !== '')
      .map((l) => JSON.parse(l) as StraitdRecord)
      .find((r) => r.event === event && r.seq > afterSeq);
    if (found !== undefined) return found;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`no ${event} record after seq ${afterSeq} in ${file}`);
}

describe('desktop e2e: real straitd in the UML lab + real strongSwan gateway (rw-eap)', () => {
  let lab: LabRun;
  let work: string;
  let relay: TcpSocketRelay;
  let services: MainServices;
  let browser: Browser;
  let page: Page;
  let http: { url: string; server: Server };
  let bundlePath: string;
  const events: DesktopEvent[] = [];
  let installedSeq = Number.POSITIVE_INFINITY;
  const keychain = new NapiKeyringStore('org.strait.vpn.e2e-lab');

  const shot = async (name: string) => {
    await page.screenshot({ path: join(SHOTS, `lab-${name}.png`), fullPage: false });
  };
  const nav = async (name: string) => {
    await page.getByRole('button', { name, exact: true }).click();
    await page.getByRole('heading', { level: 1, name }).waitFor();
  };

  before(async () => {
    lab = await labRun();
    await mkdir(SHOTS, { recursive: true });
    work = await mkdtemp(join(tmpdir(), 'strait-e2e-lab-'));
    relay = await startTcpSocketRelay(join(work, 'straitd.sock'), lab.ready);

    // IT's side: the lab CA is the trust anchor for bundle signers (root-owned folder, like /etc/strait/trust).
    const trustDir = join(work, 'trust');
    await mkdir(trustDir, { mode: 0o755 });
    await chmod(trustDir, 0o755);
    const caPem = await readFile(lab.caCert, 'utf8');
    await writeFile(join(trustDir, 'vpn-lab-ecdsa.pem'), caPem, { mode: 0o644 });
    const signer = await issueSigner(work, lab);
    const bundle = {
      format: 'strait-bundle',
      formatVersion: 1,
      issuer: 'VPN Lab IT',
      serial: 1,
      issuedAt: new Date(Date.now() - 3_600_000).toISOString(),
      expiresAt: new Date(Date.now() + 30 * 86_400_000).toISOString(),
      profiles: [
        {
          version: 1,
          id: PROFILE_ID,
          name: 'VPN Lab (strongSwan)',
          gateway: { host: GATEWAY.address },
          remoteId: GATEWAY.id,
          auth: { method: 'eap-mschapv2', eapIdentity: CAROL.eapId, localId: CAROL.ikeId },
          trust: { serverName: GATEWAY.id },
        },
      ],
      caCertificates: [caPem],
      identities: [],
    };
    const content = join(work, 'bundle.json');
    await writeFile(content, JSON.stringify(bundle, null, 2));
    bundlePath = join(work, 'vpn-lab.strait-bundle');
    await run('openssl', ['cms', '-sign', '-nodetach', '-binary', '-in', content, '-signer', signer.cert, '-inkey', signer.key, '-outform', 'DER', '-out', bundlePath]);

    const target: { page?: Page } = {};
    services = createMainServices({
      socketPath: relay.socketPath,
      paths: { userConfigDir: join(work, 'config'), userProfilesDir: join(work, 'config', 'profiles'), managedDir: join(work, 'managed'), trustDir },
      trustOwnerUid: process.getuid?.() ?? 0,
      secrets: keychain,
      emit: (e) => {
        events.push(e);
        void target.page?.evaluate((ev) => (globalThis as unknown as { __straitEmit?: (x: unknown) => void }).__straitEmit?.(ev), e as unknown).catch(() => undefined);
      },
      log: { info: () => undefined, warn: (m) => console.error(`[main] ${m}`) },
      serviceMarkers: [],
    });

    http = await serveRenderer();
    browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS });
    const context = await browser.newContext({ viewport: { width: 1180, height: 780 }, colorScheme: 'light' });
    page = await context.newPage();
    page.on('pageerror', (e) => console.error(`[page] ${e.message}`));
    await bridge(page, () => services);
    await page.goto(http.url);
    target.page = page;
    await page.getByTestId('status-summary').getByText('Not connected').waitFor({ timeout: 30_000 });
  });

  after(async () => {
    await browser?.close();
    services?.stop();
    await relay?.close();
    http?.server.close();
    await keychain.deleteAll(PROFILE_ID).catch(() => []);
    if (work !== undefined) await rm(work, { recursive: true, force: true });
  });

  it('first start against the real straitd: no profiles yet', async () => {
    await page.getByRole('heading', { name: 'No VPN profiles yet' }).waitFor();
    await shot('01-connections-empty');
  });

  it('imports a bundle signed by the lab CA-issued signer: signature verified, signer shown', async () => {
    await nav('Profiles');
    await page.getByLabel('Profile file to import').setInputFiles(bundlePath);
    const result = page.getByTestId('import-result');
    await result.waitFor();
    const text = await result.innerText();
    assert.match(text, /Signature verified/);
    assert.match(text, /VPN Lab Profile Signer/);
    assert.match(text, /VPN Lab IT \(version 1\)/);
    assert.match(text, /installed VPN Lab \(strongSwan\)/);
    await page.getByText('Managed by VPN Lab IT').first().waitFor();
    await shot('02-profiles-imported');
  });

  it('a wrong password: strongSwan rejects it, the plain-language error shows, nothing is saved', async () => {
    await nav('Connections');
    const mark = await logMark(lab.gwLog);
    await page.getByRole('button', { name: 'Connect', exact: true }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByText('Signing in as').waitFor();
    await dialog.getByLabel('Password').fill(`not-${lab.eapPassword}`);
    await dialog.getByRole('button', { name: 'Connect' }).click();
    await page.getByRole('dialog').getByRole('alert').waitFor({ timeout: 60_000 });
    const alert = await page.getByRole('dialog').getByRole('alert').innerText();
    assert.match(alert, /rejected the password/i);
    const card = await page.locator('article.connection').innerText();
    assert.match(card, /The gateway rejected the password for this user name\./);
    await shot('03-connect-wrong-password');
    assert.equal(await keychain.get(PROFILE_ID, 'eap-password'), null, 'a rejected password is never remembered');
    // The verdict was the real gateway's: charon's log of this attempt says EAP-MSCHAPv2 failed.
    const gw = await logSince(lab.gwLog, mark);
    assert.match(gw, /EAP method EAP_MSCHAPV2 failed for peer carol/, gw.slice(-3000));
    await page.getByRole('dialog').getByRole('button', { name: 'Cancel' }).click();
  });

  it('connects to charon: the stage timeline, then Connected with a virtual IP from the pool', async () => {
    const mark = await logMark(lab.gwLog);
    const stagesBefore = events.filter((e) => e.kind === 'stage').length;
    await page.getByRole('button', { name: 'Try again' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByLabel('Password').fill(lab.eapPassword);
    await dialog.getByRole('button', { name: 'Connect' }).click();
    // The live timeline while it works: a step in progress (aria-current) after at least one finished one.
    // Under UML the last steps (XFRM states and policies, addresses, routes, DNS, leak guard) take
    // seconds, so this is seen reliably; a connect too fast to show progress fails here, visibly.
    const live = page.getByRole('list', { name: 'Connection progress' });
    await live.locator('li.timeline-step.current[aria-current="step"]').waitFor({ timeout: 30_000 });
    await live.locator('li.timeline-step.done').first().waitFor({ timeout: 30_000 });
    await shot('04-connecting-timeline');
    const ip = page.getByTestId('virtual-ip');
    await ip.waitFor({ timeout: 90_000 });
    const vip = await ip.innerText();
    assert.ok(vip.startsWith(POOL_PREFIX4), `virtual IP ${vip} from ${LAB_TOPOLOGY.pool.ipv4}`);
    const card = await page.locator('article.connection').innerText();
    assert.match(card, /Connected/);
    assert.match(card, new RegExp(GATEWAY.address.replace(/\./g, '\\.')));
    await page.getByText(/Connected in .* show steps/).click();
    const steps = await page.getByRole('list', { name: 'Connection progress' }).innerText();
    for (const label of ['Finding the gateway', 'Agreeing on encryption', 'Proving who we are', 'Checking your password', 'Opening the secure tunnel', 'Setting up addresses and DNS']) assert.match(steps, new RegExp(label));
    await shot('05-connected');
    assert.ok(events.filter((e) => e.kind === 'stage').length > stagesBefore, 'live stage events reached main');
    assert.equal(await keychain.get(PROFILE_ID, 'eap-password'), lab.eapPassword, 'remembered after the gateway accepted it');
    // The gateway's side of the same connection: EAP succeeded for carol, the CHILD_SA is up, the IP is the one shown.
    const gw = await logSince(lab.gwLog, mark);
    assert.match(gw, /EAP_MSCHAPV2 succeeded/, gw.slice(-3000));
    assert.match(gw, /CHILD_SA lan\{\d+\} established/, gw.slice(-3000));
    const vip4 = vip.split(',')[0]?.trim() ?? '(none)';
    assert.ok(gw.includes(`assigning virtual IP ${vip4} to peer 'carol'`), `charon assigned ${vip4}: ${gw.slice(-3000)}`);
    // Real kernel SAs on both ends, paired: straitd's inbound SPI is the gateway's outbound one and vice versa.
    const installed = await straitdRecord(lab, 'platform.child_sa.installed', 0);
    const spis = /CHILD_SA lan\{\d+\} established with SPIs ([0-9a-f]{8})_i ([0-9a-f]{8})_o/.exec(gw);
    assert.ok(spis !== null, gw.slice(-3000));
    const spi = (hex: unknown): number => Number.parseInt(String(hex).replace(/^0x/, ''), 16); // charon pads to 8 digits
    assert.equal(spi(installed.fields['spiIn']), spi(spis[2]), `${installed.message} / gateway ${spis[0]}`);
    assert.equal(spi(installed.fields['spiOut']), spi(spis[1]), `${installed.message} / gateway ${spis[0]}`);
    installedSeq = installed.seq;
  });

  it('disconnects: the gateway sees the IKE_SA deleted', async () => {
    const mark = await logMark(lab.gwLog);
    await page.getByRole('button', { name: 'Disconnect' }).click();
    await page.getByRole('button', { name: 'Connect', exact: true }).waitFor({ timeout: 30_000 });
    await page.getByTestId('status-summary').getByText('Not connected').waitFor();
    const gw = await logSince(lab.gwLog, mark);
    assert.match(gw, /deleting IKE_SA rw-eap\[\d+\] between 192\.0\.2\.1\[vpn\.lab\.example\]\.\.\.192\.0\.2\.2\[carol@lab\.example\]|IKE_SA deleted/, gw.slice(-3000));
    // And straitd removed what it had put into the kernel.
    const teardown = await straitdRecord(lab, 'platform.teardown', installedSeq);
    assert.equal(teardown.fields['clean'], true, teardown.message);
    assert.ok(Number(teardown.fields['sa']) >= 2, teardown.message);
  });

  it("certificates: the lab's PKCS#12 for alice asks for its password, then is listed with its validity", async () => {
    await nav('Certificates');
    await page.getByLabel('Certificate file to import').setInputFiles(lab.p12);
    const dialog = page.getByRole('dialog');
    await dialog.getByLabel('Certificate file password').fill(lab.p12Password);
    await dialog.getByRole('button', { name: 'Import' }).click();
    await page.getByRole('cell', { name: /alice@lab\.example/ }).first().waitFor({ timeout: 30_000 });
    await page.getByText(/Valid until/).first().waitFor();
    assert.equal(await page.getByRole('dialog').count(), 0);
    await shot('06-certificates');
  });

  it('the log view explains the last failure and filters by level and text', async () => {
    await nav('Logs');
    const count = page.getByTestId('log-count');
    await count.getByText(/records/).waitFor();
    const explain = await page.getByRole('region', { name: 'Last problem' }).innerText();
    assert.match(explain, /The gateway rejected the password for this user name\./);
    const total = Number((await count.innerText()).match(/([\d,]+) records/)?.[1]?.replace(/,/g, ''));
    assert.ok(total > 10, `log has ${total} records`);
    await page.getByLabel('Show').selectOption('error');
    await count.getByText(/ of /).waitFor();
    const errors = await page.getByRole('list', { name: 'Log records' }).innerText();
    assert.match(errors, /error/i);
    assert.doesNotMatch(errors, /\binfo\b/);
    await page.getByLabel('Show').selectOption('debug');
    await page.getByLabel('Search').fill('eap');
    await count.getByText(/ of /).waitFor();
    const rows = await page.locator('.vl-row').allInnerTexts();
    assert.ok(rows.length > 0, 'records about EAP');
    assert.ok(rows.every((r) => /eap/i.test(r)), rows.join('\n'));
    assert.ok(!(await page.content()).includes(lab.eapPassword), 'no password in the rendered log');
    await shot('07-logs-filtered');
    await page.getByLabel('Search').fill('');
  });
});
