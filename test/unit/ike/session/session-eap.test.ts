/**
 * EAP-MSCHAPv2 in IKE_AUTH (RFC 7296 §2.16) against the in-process
 * responder: the gateway's certificate AUTH is checked before any EAP
 * answer, the MS-CHAPv2 rounds, the MSK-based AUTH of both sides, and the
 * typed failures (wrong password, locked account, impostor gateway,
 * EAP-Success without a method, a method we do not speak).
 */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';

import { ExchangeType, PayloadType } from '../../../../native-helper/src/ike/constants.js';
import { parseIdentity } from '../../../../native-helper/src/pki/identity.js';
import type { ResponderEap } from '../../../support/test-responder.js';
import { makePki } from '../../../support/pki-fixtures.js';
import type { Pki } from '../../../support/pki-fixtures.js';
import { connect, events, failure, installed, makePair, toHex } from './harness.js';
import type { Pair } from './harness.js';

const PASSWORD = 'correct horse battery staple';

function eapPair(pki: Pki, opts: { password?: string; eap?: Partial<ResponderEap>; trust?: readonly Uint8Array[] } = {}): Pair {
  const pair = makePair(
    {
      localId: parseIdentity('carol@lab.example'),
      auth: { method: 'eap', eap: { method: 'mschapv2', identity: 'carol', password: opts.password ?? PASSWORD } },
      trust: { caCertificates: opts.trust ?? pki.trustAnchors },
    },
    {
      auth: { method: 'signature', privateKey: pki.gateway.privateKey, chain: pki.gatewayChain },
      peerPsk: undefined,
      eap: { identity: 'carol', password: PASSWORD, ...opts.eap },
    },
  );
  pair.now = Date.now();
  return pair;
}

describe('IkeSession with EAP-MSCHAPv2', () => {
  let pki: Pki;
  let other: Pki;
  before(async () => {
    pki = await makePki({ keyAlgorithm: 'ecdsa-p256' });
    other = await makePki({ keyAlgorithm: 'ecdsa-p256' });
  });

  it('signs in: certificate AUTH of the gateway, 4 EAP rounds, MSK AUTH both ways, CHILD_SA keys agree', () => {
    const pair = eapPair(pki);
    const actions = connect(pair);
    assert.equal(pair.session.state, 'established', JSON.stringify(failure(actions)));
    // IKE_SA_INIT, then IKE_AUTH 1 (no AUTH), identity, MS-CHAPv2 response, MS-CHAPv2 success ack, AUTH(MSK)
    const auths = pair.responder.log.filter((l) => l.exchange === ExchangeType.IKE_AUTH);
    assert.deepEqual(auths.map((l) => l.messageId), [1, 2, 3, 4, 5]);
    assert.ok(!auths[0]?.inner.includes(PayloadType.AUTH), 'no AUTH in the first IKE_AUTH request');
    assert.ok(auths[0]?.inner.includes(PayloadType.SA) && auths[0]?.inner.includes(PayloadType.CP));
    assert.deepEqual(auths.slice(1, 4).map((l) => l.inner), [[PayloadType.EAP], [PayloadType.EAP], [PayloadType.EAP]]);
    assert.deepEqual(auths[4]?.inner, [PayloadType.AUTH]);
    const ev = events(actions);
    const order = ev.map((e) => e.event).filter((e) => e === 'ike_auth.peer_authenticated' || e === 'eap.round' || e === 'eap.succeeded' || e === 'eap.auth_verified');
    assert.equal(order[0], 'ike_auth.peer_authenticated', 'the gateway is authenticated before we answer EAP');
    assert.deepEqual(order.slice(-2), ['eap.succeeded', 'eap.auth_verified']);
    const stages = actions.flatMap((a) => (a.kind === 'stage' ? [a.stage] : []));
    assert.deepEqual(stages, ['ike_sa_init', 'ike_auth', 'eap', 'established']);
    const [child] = installed(actions);
    assert.equal(toHex(child?.outbound.encKey ?? new Uint8Array()), toHex(pair.responder.children[0]?.keys.encI ?? new Uint8Array(1)));
    assert.ok(actions.some((a) => a.kind === 'assignConfig'));
    // The password never appears in an event.
    assert.ok(!JSON.stringify(ev).includes(PASSWORD));
  });

  it('wrong password → EAP_PASSWORD_WRONG with a plain message; the Failure is acknowledged', () => {
    const pair = eapPair(pki, { password: 'not the password' });
    const actions = connect(pair);
    const f = failure(actions);
    assert.equal(f?.code, 'EAP_PASSWORD_WRONG', JSON.stringify(f));
    // named by the EAP identity the user typed, not the IKE identity; the code after the plain sentence
    assert.match(f?.message ?? '', /rejected the password for "carol"\. Check the user name and password\. \(EAP-MSCHAPv2 error 691\)/);
    assert.equal(f?.fields?.errorCode, 691);
    assert.equal(pair.session.state, 'failed');
    assert.ok(!JSON.stringify(actions.filter((a) => a.kind !== 'send')).includes('not the password'));
    assert.equal(installed(actions).length, 0);
  });

  it('disabled account (E=647) → EAP_ACCOUNT_REJECTED, distinct from a wrong password', () => {
    const f = failure(connect(eapPair(pki, { eap: { rejectWith: 647 } })));
    assert.equal(f?.code, 'EAP_ACCOUNT_REJECTED', JSON.stringify(f));
    assert.match(f?.message ?? '', /disabled or locked/);
  });

  it('right password, account refused after EAP-Success (AUTHENTICATION_FAILED, no AUTH) → EAP_ACCOUNT_REJECTED, not a wrong password', () => {
    const actions = connect(eapPair(pki, { eap: { refuseAfterSuccess: true } }));
    const f = failure(actions);
    assert.equal(f?.code, 'EAP_ACCOUNT_REJECTED', JSON.stringify(f));
    assert.match(f?.message ?? '', /accepted the password of "carol@lab\.example" but refused the sign-in/);
    assert.equal(f?.fields?.afterEapSuccess, true);
    assert.ok(events(actions).some((e) => e.event === 'eap.succeeded'));
    assert.ok(!JSON.stringify(actions.filter((a) => a.kind !== 'send')).includes(PASSWORD));
    assert.equal(installed(actions).length, 0);
  });

  it('gateway certificate from an untrusted CA → CERT_UNTRUSTED before any EAP answer', () => {
    const pair = eapPair(pki, { trust: other.trustAnchors });
    const actions = connect(pair);
    assert.equal(failure(actions)?.code, 'CERT_UNTRUSTED');
    // Only the first IKE_AUTH was sent (then the one-way AUTHENTICATION_FAILED notice): no EAP identity left us.
    assert.equal(pair.responder.log.filter((l) => l.exchange === ExchangeType.IKE_AUTH).length, 1);
    assert.ok(!events(actions).some((e) => e.event === 'eap.round'));
  });

  it('gateway with a wrong MS-CHAPv2 authenticator response → PROTOCOL_ERROR naming the impostor', () => {
    const f = failure(connect(eapPair(pki, { eap: { wrongAuthenticator: true } })));
    assert.equal(f?.code, 'PROTOCOL_ERROR', JSON.stringify(f));
    assert.match(f?.message ?? '', /does not know the password/);
  });

  it('EAP-Success without a method run is refused (no MSK)', () => {
    const f = failure(connect(eapPair(pki, { eap: { earlySuccess: true } })));
    assert.equal(f?.code, 'PROTOCOL_ERROR', JSON.stringify(f));
    assert.match(f?.message ?? '', /no MSK/);
  });

  it('gateway AUTH with a wrong MSK → PEER_AUTH_FAILED', () => {
    const f = failure(connect(eapPair(pki, { eap: { wrongMskAuth: true } })));
    assert.equal(f?.code, 'PEER_AUTH_FAILED', JSON.stringify(f));
  });

  it('a method we do not speak (EAP-MD5) is Nak-ed, and the ending EAP-Failure → EAP_METHOD_REFUSED', () => {
    const f = failure(connect(eapPair(pki, { eap: { proposeType: 4 } })));
    assert.equal(f?.code, 'EAP_METHOD_REFUSED', JSON.stringify(f));
  });

  it('an EAP profile without a CA certificate is invalid (the gateway must prove itself by certificate)', () => {
    const f = failure(connect(eapPair(pki, { trust: [] })));
    assert.equal(f?.code, 'PROFILE_INVALID');
  });
});
