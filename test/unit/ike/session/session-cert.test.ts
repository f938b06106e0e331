/**
 * Certificate authentication both ways (RFC 7296 §2.15, RFC 7427), with
 * keys and chains generated at run time, and IKE fragmentation (RFC 7383)
 * in both directions, which certificate chains make necessary:
 *
 *   IKE_AUTH { IDi, CERT, N(INITIAL_CONTACT), CERTREQ, IDr, AUTH, CPRQ, SA, TSi, TSr }  -->
 *                              <--  { IDr, CERT, CERT, AUTH, CPRP, SA, TSi, TSr }   (as EF(1/n) ... EF(n/n))
 */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';

import { ExchangeType, PayloadType } from '../../../../native-helper/src/ike/constants.js';
import { decodeMessage } from '../../../../native-helper/src/ike/codec/message.js';
import { parseIdentity } from '../../../../native-helper/src/pki/identity.js';
import { makePki } from '../../../support/pki-fixtures.js';
import type { Pki } from '../../../support/pki-fixtures.js';
import { connect, events, failure, installed, makePair, toHex } from './harness.js';
import type { Pair } from './harness.js';

function certPair(pki: Pki, over: { session?: Parameters<typeof makePair>[0]; responder?: Parameters<typeof makePair>[1] } = {}): Pair {
  const alice = pki.clients[0];
  if (alice === undefined) throw new Error('no client certificate');
  const pair = makePair(
    {
      localId: parseIdentity('alice@lab.example'),
      auth: { method: 'signature', privateKey: alice.privateKey, certificate: alice.der },
      trust: { caCertificates: pki.trustAnchors },
      ...over.session,
    },
    { auth: { method: 'signature', privateKey: pki.gateway.privateKey, chain: pki.gatewayChain }, peerPsk: undefined, ...over.responder },
  );
  // The certificates were issued just now (valid from an hour ago): check them against the real clock.
  pair.now = Date.now();
  return pair;
}

describe('IkeSession with certificates', () => {
  let ecdsa: Pki;
  let rsa: Pki;
  let other: Pki;

  before(async () => {
    ecdsa = await makePki({ keyAlgorithm: 'ecdsa-p256', intermediate: true });
    rsa = await makePki({ keyAlgorithm: 'rsa-2048' });
    other = await makePki({ keyAlgorithm: 'ecdsa-p256' });
  });

  it('ECDSA P-256 with an intermediate CA: both sides authenticate, keys agree', () => {
    const pair = certPair(ecdsa);
    const actions = connect(pair);
    assert.equal(pair.session.state, 'established', JSON.stringify(failure(actions)));
    assert.deepEqual(pair.responder.log[0]?.inner.slice(0, 5), [PayloadType.IDi, PayloadType.CERT, PayloadType.NOTIFY, PayloadType.CERTREQ, PayloadType.IDr]);
    const peer = events(actions).find((e) => e.event === 'ike_auth.peer_authenticated');
    assert.equal(peer?.fields?.method, 'ecdsa-sha256');
    assert.equal(peer?.fields?.certificate, 'C=XX, O=VPN Lab, CN=vpn.lab.example');
    const [child] = installed(actions);
    assert.equal(toHex(child?.outbound.encKey ?? new Uint8Array()), toHex(pair.responder.children[0]?.keys.encI ?? new Uint8Array(1)));
  });

  it('RSA: RFC 7427 signatures both ways', () => {
    const pair = certPair(rsa);
    const actions = connect(pair);
    assert.equal(pair.session.state, 'established', JSON.stringify(failure(actions)));
    const peer = events(actions).find((e) => e.event === 'ike_auth.peer_authenticated');
    assert.match(String(peer?.fields?.method), /^rsa-/);
  });

  it('a gateway certificate from a CA the profile does not trust → CERT_UNTRUSTED', () => {
    const pair = certPair(ecdsa, { session: { trust: { caCertificates: other.trustAnchors } } });
    const f = failure(connect(pair));
    assert.equal(f?.code, 'CERT_UNTRUSTED');
    assert.equal(pair.responder.deleted, true, 'the gateway is told and its IKE SA deleted');
  });

  it('a gateway certificate for another name → CERT_NAME_MISMATCH naming both', () => {
    const pair = certPair(ecdsa, { session: { remoteId: undefined, trust: { caCertificates: ecdsa.trustAnchors, serverName: parseIdentity('vpn2.lab.example') } } });
    const f = failure(connect(pair));
    assert.equal(f?.code, 'CERT_NAME_MISMATCH');
    assert.match(f?.message ?? '', /vpn2\.lab\.example/);
  });

  it('a gateway signature that does not verify → PEER_AUTH_FAILED', () => {
    const pair = certPair(ecdsa, { responder: { misbehave: { wrongAuth: true } } });
    const f = failure(connect(pair));
    assert.equal(f?.code, 'PEER_AUTH_FAILED');
    assert.match(f?.message ?? '', /does not verify/);
  });

  it('a profile without CAs refuses certificate authentication of the gateway → CERT_UNTRUSTED', () => {
    const pair = certPair(ecdsa, { session: { auth: { method: 'psk', psk: new TextEncoder().encode('x') }, trust: { caCertificates: [] } }, responder: { peerPsk: new TextEncoder().encode('x') } });
    const f = failure(connect(pair));
    assert.equal(f?.code, 'CERT_UNTRUSTED');
  });

  it('AUTHENTICATION_FAILED with a certificate → AUTH_FAILED', () => {
    const pair = certPair(ecdsa, { responder: { misbehave: { authFailed: true } } });
    const f = failure(connect(pair));
    assert.equal(f?.code, 'AUTH_FAILED');
    assert.match(f?.message ?? '', /certificate/);
  });

  it('reassembles a fragmented IKE_AUTH response (RFC 7383)', () => {
    const pair = certPair(rsa, { responder: { fragmentSize: 400 } });
    let fragments = 0;
    const actions = connect(pair, {
      rewrite: (d) => {
        fragments = Math.max(fragments, d.length);
        return d;
      },
    });
    assert.ok(fragments > 2, `the responder fragmented its answer (${fragments})`);
    assert.equal(pair.session.state, 'established', JSON.stringify(failure(actions)));
    assert.ok(events(actions).some((e) => e.event === 'fragment.reassembled' && e.fields?.fragments === fragments));
  });

  it('reassembles fragments that arrive out of order and duplicated', () => {
    const pair = certPair(rsa, { responder: { fragmentSize: 500 } });
    // n, 1, 1, 2 .. n-1: the last first, the first twice
    const actions = connect(pair, { rewrite: (d) => (d.length > 2 ? [d.at(-1) as Uint8Array, ...d.slice(0, 1), ...d.slice(0, -1)] : d) });
    assert.equal(pair.session.state, 'established', JSON.stringify(failure(actions)));
    assert.ok(events(actions).some((e) => e.message.includes('duplicate fragment')));
  });

  it('fragments its own IKE_AUTH request when it exceeds the IKE MTU', () => {
    const pair = certPair(rsa, { session: { ikeMtu: 600 } });
    const actions = connect(pair);
    assert.equal(pair.session.state, 'established', JSON.stringify(failure(actions)));
    const auth = pair.sent.filter((s) => {
      const m = decodeMessage(s.data);
      return m.ok && m.value.header.exchange === ExchangeType.IKE_AUTH;
    });
    assert.ok(auth.length > 1, 'sent as several fragments');
    for (const a of auth) assert.ok(a.data.length <= 600 - 28, `fragment of ${a.data.length} octets fits the MTU`);
    assert.equal(pair.responder.log[0]?.fragments, auth.length);
  });

  it('does not fragment when the gateway did not announce support', () => {
    const pair = certPair(rsa, { session: { ikeMtu: 600 }, responder: { fragmentation: false } });
    connect(pair);
    assert.equal(pair.responder.log[0]?.fragments, 1);
  });
});
