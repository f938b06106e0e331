/**
 * RFC 4739 certificate then EAP against the in-process responder: the
 * first IKE_AUTH carries our certificate AUTH with N(MULTIPLE_AUTH_SUPPORTED)
 * and N(ANOTHER_AUTH_FOLLOWS), the second round only the EAP identity as
 * IDi, then EAP-MSCHAPv2 and the MSK AUTH over that second IDi.
 */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';

import { ExchangeType, PayloadType } from '../../../../native-helper/src/ike/constants.js';
import { parseIdentity } from '../../../../native-helper/src/pki/identity.js';
import { makePki } from '../../../support/pki-fixtures.js';
import type { Pki } from '../../../support/pki-fixtures.js';
import { connect, events, failure, installed, makePair, toHex } from './harness.js';
import type { Pair } from './harness.js';

const PASSWORD = 'correct horse battery staple';

function certEapPair(pki: Pki, password = PASSWORD): Pair {
  const client = pki.clients[0] ?? assert.fail('no client certificate');
  const pair = makePair(
    {
      localId: parseIdentity('alice@lab.example'),
      auth: {
        method: 'signature',
        privateKey: client.privateKey,
        certificate: client.der,
        secondRound: { identity: parseIdentity('carol'), eap: { method: 'mschapv2', identity: 'carol', password } },
      },
      trust: { caCertificates: pki.trustAnchors },
    },
    {
      auth: { method: 'signature', privateKey: pki.gateway.privateKey, chain: pki.gatewayChain },
      peerPsk: undefined,
      eap: { identity: 'carol', password: PASSWORD },
    },
  );
  pair.now = Date.now();
  return pair;
}

describe('IkeSession with certificate then EAP (RFC 4739)', () => {
  let pki: Pki;
  before(async () => {
    pki = await makePki({ keyAlgorithm: 'ecdsa-p256' });
  });

  it('two rounds: certificate AUTH + ANOTHER_AUTH_FOLLOWS, then IDi alone, EAP-MSCHAPv2, MSK AUTH; CHILD_SA keys agree', () => {
    const pair = certEapPair(pki);
    const actions = connect(pair);
    assert.equal(pair.session.state, 'established', JSON.stringify(failure(actions)));
    const auths = pair.responder.log.filter((l) => l.exchange === ExchangeType.IKE_AUTH);
    assert.ok(auths[0]?.inner.includes(PayloadType.AUTH) && auths[0]?.inner.includes(PayloadType.CERT) && auths[0]?.inner.includes(PayloadType.SA));
    assert.deepEqual(auths[1]?.inner, [PayloadType.IDi], 'the second round starts with the EAP identity alone');
    assert.deepEqual(auths.at(-1)?.inner, [PayloadType.AUTH]);
    const sent = events(actions).filter((e) => e.event === 'message.sent').map((e) => String(e.fields?.summary));
    assert.ok(sent.some((s) => s.includes('IKE_AUTH request 1') && s.includes('N(MULT_AUTH)') && s.includes('N(AUTH_FOLLOWS)')), sent.join('\n'));
    const order = events(actions).map((e) => e.event).filter((e) => ['ike_auth.peer_authenticated', 'ike_auth.first_round_done', 'ike_auth.second_round', 'eap.started', 'eap.succeeded', 'eap.auth_verified'].includes(e));
    assert.deepEqual(order, ['ike_auth.peer_authenticated', 'ike_auth.first_round_done', 'ike_auth.second_round', 'eap.started', 'eap.succeeded', 'eap.auth_verified']);
    const [child] = installed(actions);
    assert.equal(toHex(child?.outbound.encKey ?? new Uint8Array()), toHex(pair.responder.children[0]?.keys.encI ?? new Uint8Array(1)));
    assert.ok(!JSON.stringify(events(actions)).includes(PASSWORD));
  });

  it('a wrong password in the second round → EAP_PASSWORD_WRONG after the certificate round', () => {
    const pair = certEapPair(pki, 'wrong');
    const actions = connect(pair);
    assert.equal(failure(actions)?.code, 'EAP_PASSWORD_WRONG');
    assert.ok(events(actions).some((e) => e.event === 'ike_auth.first_round_done'));
  });
});
