/**
 * Every typed failure, provoked by a misbehaving responder, with a message
 * that names the concrete mismatch (what we offered, what came back).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { KeId, NotifyType, PayloadType } from '../../../../native-helper/src/ike/constants.js';
import { decodeMessage } from '../../../../native-helper/src/ike/codec/message.js';
import { parseEspProposals, parseIkeProposals } from '../../../../native-helper/src/ike/proposals.js';
import { selectorFromCidr } from '../../../../native-helper/src/ike/traffic-selectors.js';
import { parseIdentity } from '../../../../native-helper/src/pki/identity.js';
import { connect, failure, makePair, sends } from './harness.js';

describe('IkeSession typed failures', () => {
  it('COOKIE: resends IKE_SA_INIT with the cookie first, same SPI, and completes', () => {
    const pair = makePair({}, { misbehave: { cookie: true } });
    const actions = connect(pair);
    assert.equal(pair.session.state, 'established', JSON.stringify(failure(actions)));
    /* IKE_SA_INIT { SA KE Ni ... } -->  <-- { N(COOKIE) }  IKE_SA_INIT { N(COOKIE) SA KE Ni ... } --> */
    const first = decodeMessage(pair.sent[0]?.data as Uint8Array);
    const second = decodeMessage(pair.sent[1]?.data as Uint8Array);
    assert.ok(first.ok && second.ok);
    assert.equal(second.value.header.messageId, 0);
    assert.deepEqual(second.value.header.spiI, first.value.header.spiI);
    const p0 = second.value.payloads[0];
    assert.ok(p0 !== undefined && 'notifyType' in p0 && p0.notifyType === NotifyType.COOKIE);
    assert.equal(second.value.payloads[1]?.type, PayloadType.SA);
  });

  // COOKIE forever (PROTOCOL_ERROR once the back-off budget is spent): session-cookie.test.ts

  it('INVALID_KE_PAYLOAD: retries with the group the gateway wants (new SPI) and completes', () => {
    const pair = makePair({}, { ike: [{ encr: 20, encrKeyLength: 256, prf: 6, ke: KeId.ECP_384 }] });
    const actions = connect(pair);
    assert.equal(pair.session.state, 'established', JSON.stringify(failure(actions)));
    const first = decodeMessage(pair.sent[0]?.data as Uint8Array);
    const second = decodeMessage(pair.sent[1]?.data as Uint8Array);
    assert.ok(first.ok && second.ok);
    const ke = second.value.payloads.find((p) => p.type === PayloadType.KE);
    assert.ok(ke !== undefined && 'group' in ke && ke.group === KeId.ECP_384);
    assert.notDeepEqual(second.value.header.spiI, first.value.header.spiI);
    assert.equal(pair.session.negotiated.ike, 'aes256gcm16-prfsha384-ecp384');
  });

  it('INVALID_KE_PAYLOAD for a group we never offered → INVALID_KE_PAYLOAD naming it and our offer', () => {
    const pair = makePair({ ikeProposals: parseIkeProposals(['aes256gcm16-prfsha256-ecp256']) }, { misbehave: { demandGroup: KeId.ECP_521 } });
    const f = failure(connect(pair));
    assert.equal(f?.code, 'INVALID_KE_PAYLOAD');
    assert.match(f?.message ?? '', /ECP_521 \(21\)/);
    assert.match(f?.message ?? '', /aes256gcm16-prfsha256-ecp256/);
    assert.equal(f?.fields?.requestedGroup, 21);
  });

  it('NO_PROPOSAL_CHOSEN in IKE_SA_INIT names every IKE proposal we offered', () => {
    const pair = makePair({ ikeProposals: parseIkeProposals(['aes128gcm16-prfsha512-x25519']) }, { misbehave: { ikeNoProposal: true } });
    const f = failure(connect(pair));
    assert.equal(f?.code, 'NO_PROPOSAL_CHOSEN');
    assert.match(f?.message ?? '', /IKE proposals/);
    assert.match(f?.message ?? '', /aes128gcm16-prfsha512-x25519/);
  });

  it('a gateway with no common IKE algorithm answers NO_PROPOSAL_CHOSEN too', () => {
    const pair = makePair({ ikeProposals: parseIkeProposals(['aes128gcm16-prfsha512-x25519']) });
    assert.equal(failure(connect(pair))?.code, 'NO_PROPOSAL_CHOSEN');
  });

  it('NO_PROPOSAL_CHOSEN in IKE_AUTH names our ESP proposals and deletes the authenticated IKE SA', () => {
    const pair = makePair({ espProposals: parseEspProposals(['aes128-sha512']) }, { misbehave: { espNoProposal: true } });
    const actions = connect(pair);
    const f = failure(actions);
    assert.equal(f?.code, 'NO_PROPOSAL_CHOSEN');
    assert.match(f?.message ?? '', /ESP/);
    assert.match(f?.message ?? '', /aes128-sha512/);
    /* INFORMATIONAL { D(IKE) } --> sent once before giving up */
    assert.equal(pair.responder.deleted, true);
    assert.equal(pair.responder.log.at(-1)?.inner.includes(PayloadType.DELETE), true);
  });

  it('AUTHENTICATION_FAILED with a PSK → PSK_MISMATCH explaining key or identity', () => {
    const pair = makePair({}, { peerPsk: new TextEncoder().encode('another key') });
    const f = failure(connect(pair));
    assert.equal(f?.code, 'PSK_MISMATCH');
    assert.match(f?.message ?? '', /pre-shared key is wrong/);
    assert.match(f?.message ?? '', /psk-client@lab\.example/);
  });

  it('a gateway AUTH that does not verify → PEER_AUTH_FAILED, and the gateway is told AUTHENTICATION_FAILED', () => {
    const pair = makePair({}, { misbehave: { wrongAuth: true } });
    const f = failure(connect(pair));
    assert.equal(f?.code, 'PEER_AUTH_FAILED');
    assert.match(f?.message ?? '', /vpn\.lab\.example/);
    /* INFORMATIONAL { N(AUTHENTICATION_FAILED), D(IKE) } --> */
    assert.deepEqual(pair.responder.log.at(-1)?.inner, [PayloadType.NOTIFY, PayloadType.DELETE]);
  });

  it('the gateway identifies as someone else → IDENTITY_MISMATCH naming both', () => {
    const pair = makePair({}, { misbehave: { idr: parseIdentity('evil.example.net') } });
    const f = failure(connect(pair));
    assert.equal(f?.code, 'IDENTITY_MISMATCH');
    assert.match(f?.message ?? '', /evil\.example\.net/);
    assert.match(f?.message ?? '', /vpn\.lab\.example/);
  });

  for (const [notify, code] of [
    [NotifyType.TS_UNACCEPTABLE, 'TS_UNACCEPTABLE'],
    [NotifyType.INTERNAL_ADDRESS_FAILURE, 'INTERNAL_ADDRESS_FAILURE'],
    [NotifyType.FAILED_CP_REQUIRED, 'FAILED_CP_REQUIRED'],
    [NotifyType.SINGLE_PAIR_REQUIRED, 'TS_UNACCEPTABLE'],
    [NotifyType.TEMPORARY_FAILURE, 'CHILD_SA_FAILED'],
  ] as const) {
    it(`${code} when the gateway refuses the CHILD_SA with notify ${notify}`, () => {
      const pair = makePair({}, { misbehave: { childError: notify } });
      const f = failure(connect(pair));
      assert.equal(f?.code, code);
      if (code === 'TS_UNACCEPTABLE') assert.match(f?.message ?? '', /10\.10\.0\.0\/24/);
      if (code === 'INTERNAL_ADDRESS_FAILURE') assert.match(f?.message ?? '', /IPv4 address/);
      assert.equal(pair.responder.deleted, true, 'the authenticated IKE SA is deleted');
    });
  }

  it('selectors wider than requested → TS_UNACCEPTABLE naming the offending one', () => {
    const pair = makePair({}, { misbehave: { widenTs: true } });
    const f = failure(connect(pair));
    assert.equal(f?.code, 'TS_UNACCEPTABLE');
    assert.match(f?.message ?? '', /0\.0\.0\.0\/0/);
    assert.match(f?.message ?? '', /remote \(TSr\)/);
  });

  it('a transform we did not offer → PROPOSAL_MISMATCH with offered and chosen', () => {
    const pair = makePair({}, { misbehave: { pickUnoffered: true } });
    const f = failure(connect(pair));
    assert.equal(f?.code, 'PROPOSAL_MISMATCH');
    assert.match(f?.message ?? '', /ENCR 20\/192 was not offered/);
    assert.match(f?.message ?? '', /We offered: aes256gcm16-aes128gcm16-chacha20poly1305/);
  });

  it('no virtual IP in the reply → INTERNAL_ADDRESS_FAILURE', () => {
    const pair = makePair({}, { misbehave: { noCp: true } });
    const f = failure(connect(pair));
    assert.equal(f?.code, 'INTERNAL_ADDRESS_FAILURE');
    assert.match(f?.message ?? '', /no configuration payload/);
  });

  it('without a config request, no CP is needed and none is assigned', () => {
    const pair = makePair({ requestConfig: { ipv4: false, ipv6: false, dns: false }, trafficSelectors: { local: [selectorFromCidr('192.0.2.2/32')], remote: [selectorFromCidr('10.10.0.0/24')] } });
    const actions = connect(pair);
    assert.equal(pair.session.state, 'established', JSON.stringify(failure(actions)));
    assert.equal(actions.some((a) => a.kind === 'assignConfig'), false);
  });

  it('an invalid configuration fails at start with PROFILE_INVALID and sends nothing', () => {
    const pair = makePair({ ikeMtu: 100 });
    const actions = connect(pair);
    assert.equal(failure(actions)?.code, 'PROFILE_INVALID');
    assert.equal(sends(actions).length, 0);
  });
});
