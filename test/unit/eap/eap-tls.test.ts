import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';

import { webcrypto } from 'node:crypto';

import { EapTlsPeer, type ServerVerdict } from '../../../native-helper/src/eap/eap-tls.js';
import type { EapRequest } from '../../../native-helper/src/eap/packet.js';
import { EapPeer, type EapStep } from '../../../native-helper/src/eap/peer.js';
import { validateGatewayCertificate } from '../../../native-helper/src/pki/gateway-trust.js';
import { parseIdentity } from '../../../native-helper/src/pki/identity.js';
import { EapTlsServer, type EapTlsServerOptions } from '../../support/eap-tls-server.js';
import { makePki, type Pki } from '../../support/pki-fixtures.js';

type Version = 'TLSv1.2' | 'TLSv1.3';

function verifierFor(pki: Pki, name = 'vpn.lab.example'): (chain: readonly Uint8Array[]) => ServerVerdict {
  return (chain) => {
    const [leaf, ...rest] = chain;
    if (leaf === undefined) return { ok: false, code: 'CERT_INVALID', message: 'no certificate' };
    const id = parseIdentity(name);
    const v = validateGatewayCertificate({ leaf, intermediates: rest, trustAnchors: pki.trustAnchors, now: new Date(), peerId: id, expectedName: id, expectedNameMatch: 'certificate' });
    return v.ok ? { ok: true, subject: v.leaf.subject } : { ok: false, code: v.error.code as 'CERT_UNTRUSTED', message: v.error.message };
  };
}

interface Run {
  readonly steps: EapStep[];
  readonly last: Uint8Array;
}

/** Runs the exchange through EapPeer (as IKE_AUTH does) until the server ends it or the peer stops. */
async function run(server: EapTlsServer, peer: EapPeer): Promise<Run> {
  const steps: EapStep[] = [];
  let packet = server.start();
  for (let i = 0; i < 100; i++) {
    const step = peer.process(packet);
    steps.push(step);
    if (step.kind !== 'respond') return { steps, last: packet };
    packet = await server.handle(step.message);
  }
  throw new Error('EAP-TLS did not end within 100 rounds');
}

const tlsPeer = (certificatePem: string, privateKeyPem: string, verify: (chain: readonly Uint8Array[]) => ServerVerdict): EapPeer =>
  new EapPeer({ method: 'tls', identity: 'alice@lab.example', certificatePem, privateKeyPem, serverName: 'vpn.lab.example' }, randomBytes, verify);
const randomBytes = (n: number): Uint8Array => new Uint8Array(webcrypto.getRandomValues(new Uint8Array(n)));

describe('EAP-TLS peer against a node:tls authenticator', () => {
  let pki: Pki;
  let serverOpts: (v: Version, extra?: Partial<EapTlsServerOptions>) => EapTlsServerOptions;
  before(async () => {
    // RSA-2048: certificates big enough that both sides' flights need several 1 KB fragments.
    pki = await makePki({ keyAlgorithm: 'rsa-2048', intermediate: true });
    serverOpts = (v, extra = {}) => ({
      certificatePem: `${pki.gateway.pem}\n${pki.intermediate?.pem ?? ''}`,
      privateKeyPem: pki.gateway.privateKeyPem,
      caPem: [pki.intermediate?.pem ?? pki.root.pem],
      minVersion: v,
      maxVersion: v,
      ...extra,
    });
  });
  const client = () => pki.clients[0] ?? assert.fail('no client');
  const clientChain = () => `${client().pem}\n${pki.intermediate?.pem ?? ''}`;

  for (const version of ['TLSv1.2', 'TLSv1.3'] as const) {
    it(`${version}: fragments both ways, MSK equals the server's exporter`, async () => {
      const server = new EapTlsServer(serverOpts(version));
      const peer = tlsPeer(clientChain(), client().privateKeyPem, verifierFor(pki));
      try {
        const r = await run(server, peer);
        const last = r.steps.at(-1);
        assert.equal(last?.kind, 'success', `expected success, got ${last?.kind} after ${Buffer.from(r.last).toString('hex')} (${server.trace.error ?? ''})`);
        assert.equal(server.version, version);
        const info = peer.tlsInfo;
        assert.equal(info?.version, version);
        assert.ok(server.trace.fragmentsSent > 0, 'the server flight was fragmented');
        assert.ok(server.trace.peerFragments > 0, 'the peer flight was fragmented');
        assert.ok((info?.fragmentsOut ?? 0) > 1 && (info?.fragmentsIn ?? 0) > 1);
        assert.equal(server.peerSubject?.includes('alice@lab.example'), true);
        const msk = last?.kind === 'success' ? last.msk : undefined;
        assert.ok(msk !== undefined && server.msk !== undefined);
        assert.equal(msk.length, 64);
        assert.deepEqual(msk, server.msk);
        assert.equal(info?.committed, version === 'TLSv1.3');
        assert.equal(info?.msk, version === 'TLSv1.3' ? 'rfc9190' : 'rfc5216');
      } finally {
        peer.wipe();
      }
    });
  }

  it('TLSv1.3 with a pre-RFC 9190 gateway (strongSwan 5.9.x): no commitment message, so EAP-Success takes the pre-RFC 9190 MSK', async () => {
    const server = new EapTlsServer(serverOpts('TLSv1.3', { preRfc9190: true }));
    const peer = tlsPeer(clientChain(), client().privateKeyPem, verifierFor(pki));
    try {
      const r = await run(server, peer);
      const last = r.steps.at(-1);
      assert.equal(last?.kind, 'success', `expected success, got ${last?.kind} (${server.trace.error ?? ''})`);
      assert.equal(server.trace.commitmentSent, false);
      const info = peer.tlsInfo;
      assert.equal(info?.version, 'TLSv1.3');
      assert.equal(info?.committed, false);
      assert.equal(info?.msk, 'pre-rfc9190');
      const msk = last?.kind === 'success' ? last.msk : undefined;
      assert.ok(msk !== undefined && server.msk !== undefined);
      assert.equal(msk.length, 64);
      assert.deepEqual(msk, server.msk);
    } finally {
      peer.wipe();
    }
  });

  it('a gateway certificate from another CA is refused before any MSK exists', async () => {
    const other = await makePki({ keyAlgorithm: 'ecdsa-p256' });
    const server = new EapTlsServer({ certificatePem: other.gateway.pem, privateKeyPem: other.gateway.privateKeyPem, caPem: [pki.root.pem, pki.intermediate?.pem ?? ''] });
    const peer = tlsPeer(clientChain(), client().privateKeyPem, verifierFor(pki));
    const r = await run(server, peer);
    const last = r.steps.at(-1);
    assert.equal(last?.kind, 'untrusted');
    assert.equal(last?.kind === 'untrusted' ? last.code : '', 'CERT_UNTRUSTED');
    assert.ok(!r.steps.some((s) => s.kind === 'success'));
  });

  it('a gateway certificate for another name is refused', async () => {
    const server = new EapTlsServer(serverOpts('TLSv1.3'));
    const peer = tlsPeer(clientChain(), client().privateKeyPem, verifierFor(pki, 'other.lab.example'));
    const r = await run(server, peer);
    const last = r.steps.at(-1);
    assert.equal(last?.kind, 'untrusted');
    assert.equal(last?.kind === 'untrusted' ? last.code : '', 'CERT_NAME_MISMATCH');
  });

  for (const version of ['TLSv1.2', 'TLSv1.3'] as const) {
    it(`${version}: a client certificate the gateway does not trust: EAP-Failure, classified client_cert_rejected`, async () => {
      const stranger = await makePki({ keyAlgorithm: 'ecdsa-p256' });
      const c = stranger.clients[0] ?? assert.fail('no client');
      const server = new EapTlsServer(serverOpts(version));
      const peer = tlsPeer(c.pem, c.privateKeyPem, verifierFor(pki));
      const r = await run(server, peer);
      // node's TLS server closes without an alert, so this is the bare EAP-Failure case of RFC 5216 §2.1.3.
      assert.equal(r.last[0], 4, 'EAP-Failure ends it');
      const last = r.steps.at(-1);
      assert.ok(last?.kind === 'rejected', `steps: ${r.steps.map((s) => s.kind).join(',')}`);
      assert.equal(last.reason.rejection, 'client_cert_rejected');
      assert.equal(last.reason.method, 'EAP-TLS');
      assert.match(server.trace.error ?? '', /certificate/i);
      peer.wipe();
    });
  }

  it('refuses malformed EAP-TLS input with a typed step, not an exception', async () => {
    const peer = new EapTlsPeer({ certificatePem: clientChain(), privateKeyPem: client().privateKeyPem }, verifierFor(pki));
    try {
      // (EapTlsPeer directly: EapPeer would answer type 13 the same way)
      const req = (typeData: number[]): EapRequest => ({ code: 1, identifier: 7, type: 13, typeData: Uint8Array.from(typeData) });
      assert.equal(peer.process(req([])).kind, 'invalid');
      assert.equal(peer.process(req([0x00, 1, 2, 3])).kind, 'invalid', 'data before Start');
      assert.equal(peer.process(req([FLAG_S])).kind, 'respond');
      assert.equal(peer.process(req([0x80, 0, 0])).kind, 'invalid', 'L without a full length');
      assert.equal(peer.process(req([0x80 | 0x40, 0xff, 0xff, 0xff, 0xff, 1])).kind, 'invalid', 'absurd length');
    } finally {
      peer.wipe();
    }
  });
});
const FLAG_S = 0x20;
