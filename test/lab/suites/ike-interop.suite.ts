/**
 * Strait's own IKEv2 initiator against the lab's real strongSwan gateway
 * (Debian charon), over real UDP from netns `client`, inside User-Mode
 * Linux. Each case completes IKE_SA_INIT + IKE_AUTH with IkeDriver and then
 * checks that the CHILD_SA keys our engine derived, both directions with
 * their SPIs, are exactly the keys in the gateway kernel's XFRM states. The
 * client installs nothing: the comparison is the proof.
 *
 * Negative cases assert the typed failure and that its plain-language
 * message names the mismatch. The IKE_SA_INIT → IKE_AUTH-complete time of
 * every successful connect is recorded; the median is printed at the end
 * and written to <logDir>/ike-interop-timings.json.
 */
import assert from 'node:assert/strict';
import { createPrivateKey } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';

import { IkeDriver } from '../../../native-helper/src/daemon/ike-driver.js';
import type { IkeDriverOutcome } from '../../../native-helper/src/daemon/ike-driver.js';
import type { AssignedConfig, ChildSaSpec, IkeAction, IkeEvent } from '../../../native-helper/src/ike/actions.js';
import { parseEspProposals, parseIkeProposals } from '../../../native-helper/src/ike/proposals.js';
import { IkeSession } from '../../../native-helper/src/ike/session.js';
import type { IkeSessionConfig } from '../../../native-helper/src/ike/session.js';
import { formatTrafficSelector, selectorFromCidr } from '../../../native-helper/src/ike/traffic-selectors.js';
import { parseIdentity } from '../../../native-helper/src/pki/identity.js';
import { pemToDerList } from '../../../native-helper/src/pki/pem.js';
import { randomBytes } from 'node:crypto';
import { gwXfrmState, labSecret, labState, swanctlGw } from '../support/guest.js';
import type { XfrmState } from '../support/guest.js';
import { GATEWAYS, IDENTITIES, LAN, POOL } from '../support/topology.js';
import { labPskSessionConfig } from '../support/session-config.js';

interface Connected {
  readonly child: ChildSaSpec;
  readonly config?: AssignedConfig;
  readonly events: readonly IkeEvent[];
  readonly session: IkeSession;
  readonly driver: IkeDriver;
  readonly done: Promise<IkeDriverOutcome>;
  /** session clock from start() to IKE_AUTH complete */
  readonly connectMs: number;
}

interface Failed {
  readonly outcome: IkeDriverOutcome;
  readonly events: readonly IkeEvent[];
}

const hex = (b: Uint8Array | undefined): string => (b === undefined ? '' : Buffer.from(b).toString('hex'));

const baseConfig = (over: Partial<IkeSessionConfig> = {}): IkeSessionConfig => labPskSessionConfig({ requestConfig: { ipv4: true, ipv6: false, dns: true }, ...over });

/** Runs one session until the CHILD_SA is there (resolves Connected) or it fails (resolves Failed). */
function connect(config: IkeSessionConfig): Promise<Connected | Failed> {
  const session = new IkeSession(config, { random: (n) => new Uint8Array(randomBytes(n)) });
  const events: IkeEvent[] = [];
  let child: ChildSaSpec | undefined;
  let assigned: AssignedConfig | undefined;
  return new Promise((resolve) => {
    const driver = new IkeDriver(session, {
      localAddress: config.local.address,
      onAction: (a: IkeAction) => {
        if (a.kind === 'event') events.push(a.event);
        if (a.kind === 'installChildSa') child = a.sa;
        if (a.kind === 'assignConfig') assigned = a.config;
        if (a.kind === 'stage' && a.stage === 'established' && child !== undefined) {
          const timing = events.find((e) => e.event === 'stage.timing' && e.fields?.stage === 'ike_auth');
          resolve({ child, ...(assigned === undefined ? {} : { config: assigned }), events, session, driver, done, connectMs: Number(timing?.fields?.totalMs ?? Number.NaN) });
        }
      },
    });
    const done = driver.run();
    void done.then((outcome) => {
      if (session.state !== 'closed' || child === undefined) resolve({ outcome, events });
    });
  });
}

function connected(r: Connected | Failed): Connected {
  if ('outcome' in r) {
    const why = r.outcome.kind === 'failed' ? `${r.outcome.failure.code}: ${r.outcome.failure.message}` : r.outcome.reason;
    assert.fail(`connect failed: ${why}\n${r.events.map((e) => `  ${e.event}: ${e.message}`).join('\n')}`);
  }
  return r;
}

function failedWith(r: Connected | Failed, code: string): { message: string; fields: Record<string, unknown> } {
  if (!('outcome' in r)) {
    r.driver.close();
    assert.fail(`expected ${code}, but the connection was established`);
  }
  assert.equal(r.outcome.kind, 'failed', JSON.stringify(r.outcome));
  if (r.outcome.kind !== 'failed') throw new Error('unreachable');
  assert.equal(r.outcome.failure.code, code, `${r.outcome.failure.code}: ${r.outcome.failure.message}`);
  return { message: r.outcome.failure.message, fields: { ...(r.outcome.failure.fields ?? {}) } };
}

/** The gateway's XFRM key of one direction, as one hex string (AEAD: key||salt, CBC: enc + auth). */
function gwKeys(s: XfrmState): { enc: string; auth: string } {
  return { enc: s.aead?.keyHex ?? s.enc?.keyHex ?? '', auth: s.auth?.keyHex ?? '' };
}

async function assertKeysMatchGateway(c: Connected, gwAddress: string): Promise<void> {
  const states = await gwXfrmState();
  const spiHex = (spi: number): string => `0x${spi.toString(16).padStart(8, '0')}`;
  // gateway → us: the gateway's outbound state carries our inbound SPI and keys.
  const toUs = states.find((s) => s.spi === c.child.inbound.spi && s.dst === c.child.local.address);
  const fromUs = states.find((s) => s.spi === c.child.outbound.spi && s.src === c.child.local.address);
  assert.ok(toUs, `no gateway XFRM state with our inbound SPI ${spiHex(c.child.inbound.spi)}; states: ${states.map((s) => `${s.src}->${s.dst} ${s.spiHex}`).join(', ')}`);
  assert.ok(fromUs, `no gateway XFRM state with its inbound SPI ${spiHex(c.child.outbound.spi)}`);
  assert.equal(toUs.src, gwAddress);
  assert.equal(fromUs.dst, gwAddress);
  assert.equal(gwKeys(toUs).enc, hex(c.child.inbound.encKey), 'gateway→client encryption key');
  assert.equal(gwKeys(fromUs).enc, hex(c.child.outbound.encKey), 'client→gateway encryption key');
  assert.equal(gwKeys(toUs).auth, hex(c.child.inbound.integKey), 'gateway→client integrity key');
  assert.equal(gwKeys(fromUs).auth, hex(c.child.outbound.integKey), 'client→gateway integrity key');
}

async function disconnect(c: Connected): Promise<void> {
  c.driver.close();
  const outcome = await c.done;
  assert.equal(outcome.kind, 'closed', JSON.stringify(outcome));
}

function readCert(path: string): Uint8Array {
  const [der] = pemToDerList(readFileSync(path, 'utf8'), 'CERTIFICATE');
  if (der === undefined) throw new Error(`no certificate in ${path}`);
  return der;
}

const timings: { case: string; ms: number }[] = [];

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
}

describe('ike-interop: Strait initiator vs strongSwan gateway', () => {
  let certs: {
    ecdsaCa: Uint8Array;
    rsaCa: Uint8Array;
    evilCa: Uint8Array;
    alice: { cert: Uint8Array; key: ReturnType<typeof createPrivateKey> };
    bob: { cert: Uint8Array; key: ReturnType<typeof createPrivateKey> };
  };

  before(() => {
    const pki = labState().pki;
    certs = {
      ecdsaCa: readCert(pki.ecdsa.caCert),
      rsaCa: readCert(pki.rsa.caCert),
      evilCa: readCert(pki.evil.caCert),
      alice: { cert: readCert(pki.ecdsa.client.cert), key: createPrivateKey(readFileSync(pki.ecdsa.client.key)) },
      bob: { cert: readCert(pki.rsa.client.cert), key: createPrivateKey(readFileSync(pki.rsa.client.key)) },
    };
  });

  after(async () => {
    // Leave the gateway as we found it, whatever a failed case left behind.
    for (const conn of ['rw-psk', 'rw-ecdsa', 'rw-eap', 'rw-rsa', 'rw-ecp384']) await swanctlGw(['--terminate', '--ike', conn, '--timeout', '5']).catch(() => undefined);
    const ms = timings.map((t) => t.ms);
    const summary = { connects: timings, medianMs: ms.length > 0 ? median(ms) : null };
    writeFileSync(join(labState().logDir, 'ike-interop-timings.json'), `${JSON.stringify(summary, null, 2)}\n`);
    console.log(`[ike-interop] IKE_SA_INIT→IKE_AUTH connect times (ms): ${ms.join(', ')}; median ${summary.medianMs ?? 'n/a'}`);
  });

  it('PSK (rw-psk): keys equal the gateway XFRM states, config assigned', async () => {
    for (let i = 0; i < 5; i++) {
      const c = connected(await connect(baseConfig({})));
      timings.push({ case: 'psk', ms: c.connectMs });
      await assertKeysMatchGateway(c, GATEWAYS.main.address);
      assert.equal(c.session.negotiated.ike, 'aes256gcm16-prfsha256-ecp256');
      assert.ok(c.config?.ipv4 !== undefined && c.config.ipv4.address.startsWith('10.99.0.'), JSON.stringify(c.config));
      assert.deepEqual(c.config?.dns, [POOL.dns4]);
      assert.deepEqual(c.config?.dnsDomains, [POOL.dnsDomain]);
      assert.deepEqual(c.child.remoteTs.map(formatTrafficSelector), [LAN.subnet4]);
      assert.deepEqual(c.child.localTs.map(formatTrafficSelector), [`${c.config?.ipv4?.address}/32`]);
      await disconnect(c);
    }
  });

  it('ECDSA certificates (rw-ecdsa): keys equal the gateway XFRM states', async () => {
    const c = connected(
      await connect(
        baseConfig({
          localId: parseIdentity(IDENTITIES.alice.email),
          auth: { method: 'signature', privateKey: certs.alice.key, certificate: certs.alice.cert },
          trust: { caCertificates: [certs.ecdsaCa] },
        }),
      ),
    );
    timings.push({ case: 'ecdsa', ms: c.connectMs });
    await assertKeysMatchGateway(c, GATEWAYS.main.address);
    assert.ok(c.events.some((e) => e.event === 'ike_auth.peer_authenticated' && String(e.fields?.method).startsWith('ecdsa')), 'gateway authenticated by ECDSA');
    await disconnect(c);
  });

  it('RSA-3072 certificates (rw-rsa): keys equal the gateway XFRM states', async () => {
    const c = connected(
      await connect(
        baseConfig({
          remote: { address: GATEWAYS.rsa.address, port: 500 },
          remoteId: parseIdentity(GATEWAYS.rsa.id),
          localId: parseIdentity(IDENTITIES.bob.email),
          auth: { method: 'signature', privateKey: certs.bob.key, certificate: certs.bob.cert },
          trust: { caCertificates: [certs.rsaCa] },
        }),
      ),
    );
    timings.push({ case: 'rsa', ms: c.connectMs });
    await assertKeysMatchGateway(c, GATEWAYS.rsa.address);
    // RSA-3072 certificates do not fit 1280 octets: RFC 7383 fragments in both directions.
    assert.ok(c.events.some((e) => e.event === 'message.sent' && Number(e.fields?.fragments) > 1), 'our IKE_AUTH request went out in fragments');
    assert.ok(c.events.some((e) => e.event === 'fragment.reassembled'), "we reassembled the gateway's fragmented IKE_AUTH response");
    assert.ok(c.events.some((e) => e.event === 'ike_auth.peer_authenticated' && String(e.fields?.method).startsWith('rsa')), 'gateway authenticated by RSA');
    await disconnect(c);
  });

  it('forced UDP encapsulation: IKE_AUTH on port 4500, ESP-in-UDP states on the gateway, keys equal', async () => {
    const c = connected(await connect(baseConfig({ forceEncapsulation: true })));
    timings.push({ case: 'psk-encap', ms: c.connectMs });
    assert.deepEqual(c.child.encap, { localPort: 4500, remotePort: 4500 });
    assert.equal(c.session.negotiated.local.port, 4500);
    await assertKeysMatchGateway(c, GATEWAYS.main.address);
    const states = await gwXfrmState();
    const toUs = states.find((s) => s.spi === c.child.inbound.spi);
    assert.equal(toUs?.encap?.type, 'espinudp', toUs?.raw);
    assert.equal(toUs?.encap?.sport, 4500);
    assert.equal(toUs?.encap?.dport, 4500);
    await disconnect(c);
  });

  it('ECP-384-only gateway (rw-ecp384): INVALID_KE_PAYLOAD, retry with group 20, keys equal', async () => {
    const c = connected(await connect(baseConfig({ remote: { address: GATEWAYS.ecp384.address, port: 500 }, remoteId: parseIdentity(GATEWAYS.ecp384.id) })));
    timings.push({ case: 'ecp384', ms: c.connectMs });
    assert.ok(c.events.some((e) => e.event === 'ike_sa_init.invalid_ke' && e.fields?.requested === 'ECP_384'), 'retried after INVALID_KE_PAYLOAD');
    assert.equal(c.session.negotiated.ike, 'aes256gcm16-prfsha384-ecp384');
    await assertKeysMatchGateway(c, GATEWAYS.ecp384.address);
    await disconnect(c);
  });

  it('IPv4 + IPv6 virtual IPs with DNS and the split-DNS domain', async () => {
    const c = connected(
      await connect(
        baseConfig({
          trafficSelectors: { local: [selectorFromCidr('0.0.0.0/0'), selectorFromCidr('::/0')], remote: [selectorFromCidr(LAN.subnet4), selectorFromCidr(LAN.subnet6)] },
          requestConfig: { ipv4: true, ipv6: true, dns: true },
        }),
      ),
    );
    timings.push({ case: 'dual-stack', ms: c.connectMs });
    await assertKeysMatchGateway(c, GATEWAYS.main.address);
    assert.ok(c.config?.ipv4?.address.startsWith('10.99.0.'), JSON.stringify(c.config));
    assert.ok(c.config?.ipv6?.address.startsWith('fd00:99::'), JSON.stringify(c.config));
    assert.deepEqual([...(c.config?.dns ?? [])].sort(), [POOL.dns4, POOL.dns6].sort());
    assert.deepEqual(c.config?.dnsDomains, [POOL.dnsDomain]);
    assert.deepEqual(c.child.remoteTs.map(formatTrafficSelector), [LAN.subnet4, LAN.subnet6]);
    assert.equal(c.child.localTs.length, 2);
    await disconnect(c);
  });

  const eapConfig = (password: string): IkeSessionConfig =>
    baseConfig({
      localId: parseIdentity(IDENTITIES.carol.ikeId),
      auth: { method: 'eap', eap: { method: 'mschapv2', identity: IDENTITIES.carol.eapId, password } },
      trust: { caCertificates: [certs.ecdsaCa] },
    });

  it('EAP-MSCHAPv2 (rw-eap): gateway certificate first, MSK AUTH, keys equal the gateway XFRM states', async () => {
    const c = connected(await connect(eapConfig(labSecret('eapPassword'))));
    timings.push({ case: 'eap-mschapv2', ms: c.connectMs });
    await assertKeysMatchGateway(c, GATEWAYS.main.address);
    const order = c.events.map((e) => e.event).filter((e) => ['ike_auth.peer_authenticated', 'eap.round', 'eap.succeeded', 'eap.auth_verified'].includes(e));
    assert.equal(order[0], 'ike_auth.peer_authenticated', order.join(', '));
    assert.deepEqual(order.slice(-2), ['eap.succeeded', 'eap.auth_verified']);
    const rounds = c.events.find((e) => e.event === 'eap.succeeded')?.fields?.rounds;
    console.log(`[ike-interop] EAP-MSCHAPv2 signed in after ${String(rounds)} EAP round(s) in ${c.connectMs} ms`);
    assert.ok(c.config?.ipv4?.address.startsWith('10.99.0.'), JSON.stringify(c.config));
    assert.ok(!JSON.stringify(c.events).includes(labSecret('eapPassword')), 'the password is in no event');
    await disconnect(c);
  });

  it('EAP-MSCHAPv2 wrong password → EAP_PASSWORD_WRONG (distinct code, plain message)', async () => {
    const r = await connect(eapConfig('certainly-not-carols-password'));
    const f = failedWith(r, 'EAP_PASSWORD_WRONG');
    assert.match(f.message, /rejected the password/);
    assert.equal(f.fields.errorCode, 691);
    const events = 'events' in r ? r.events : [];
    assert.ok(!JSON.stringify(events).includes('certainly-not-carols-password'), 'the password is in no event');
  });

  it('wrong PSK → PSK_MISMATCH naming our identity', async () => {
    const f = failedWith(await connect(baseConfig({ auth: { method: 'psk', psk: new TextEncoder().encode('certainly-not-the-lab-psk') } })), 'PSK_MISMATCH');
    assert.match(f.message, /pre-shared key/);
    assert.ok(f.message.includes(IDENTITIES.pskClient), f.message);
  });

  it('gateway certificate from a CA the profile does not trust → CERT_UNTRUSTED', async () => {
    const f = failedWith(
      await connect(
        baseConfig({
          localId: parseIdentity(IDENTITIES.alice.email),
          auth: { method: 'signature', privateKey: certs.alice.key, certificate: certs.alice.cert },
          trust: { caCertificates: [certs.evilCa] },
        }),
      ),
      'CERT_UNTRUSTED',
    );
    assert.match(f.message, /CA|trust/i);
  });

  it('gateway certificate for another name than expected → CERT_NAME_MISMATCH', async () => {
    const r = await connect(
      baseConfig({
        localId: parseIdentity(IDENTITIES.alice.email),
        auth: { method: 'signature', privateKey: certs.alice.key, certificate: certs.alice.cert },
        trust: { caCertificates: [certs.ecdsaCa], serverName: parseIdentity('vpn2.lab.example') },
        remoteId: undefined,
      }),
    );
    const code = 'outcome' in r && r.outcome.kind === 'failed' ? r.outcome.failure.code : 'none';
    assert.ok(code === 'CERT_NAME_MISMATCH' || code === 'IDENTITY_MISMATCH', `got ${code}`);
    const f = failedWith(r, code);
    assert.ok(f.message.includes('vpn2.lab.example'), f.message);
  });

  it('ESP proposal the gateway refuses → NO_PROPOSAL_CHOSEN naming what we offered', async () => {
    const f = failedWith(await connect(baseConfig({ espProposals: parseEspProposals(['aes128-sha512']) })), 'NO_PROPOSAL_CHOSEN');
    assert.ok(f.message.includes('aes128-sha512'), f.message);
    assert.match(f.message, /ESP/);
  });

  it('IKE proposal the gateway refuses → NO_PROPOSAL_CHOSEN naming what we offered', async () => {
    const f = failedWith(
      await connect(baseConfig({ remote: { address: GATEWAYS.ecp384.address, port: 500 }, remoteId: parseIdentity(GATEWAYS.ecp384.id), ikeProposals: parseIkeProposals(['aes128gcm16-prfsha256-ecp256']) })),
      'NO_PROPOSAL_CHOSEN',
    );
    assert.ok(f.message.includes('aes128gcm16-prfsha256-ecp256'), f.message);
  });
});
