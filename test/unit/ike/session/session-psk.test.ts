/**
 * The happy path with pre-shared keys, step by step, against the in-process
 * responder:
 *
 *   IKE_SA_INIT { SA, KE, Ni, N(NATD_S), N(NATD_D), N(FRAG_SUP), N(HASH_ALG) }            -->
 *                                          <--  { SA, KE, Nr, N(NATD_S), N(NATD_D), N(FRAG_SUP), N(HASH_ALG) }
 *   IKE_AUTH { IDi, N(INITIAL_CONTACT), IDr, AUTH, CP(CFG_REQUEST), SA, TSi, TSr }          -->
 *                                          <--  { IDr, AUTH, CP(CFG_REPLY), SA, TSi, TSr }
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { ExchangeType, PayloadType } from '../../../../native-helper/src/ike/constants.js';
import { decodeMessage } from '../../../../native-helper/src/ike/codec/message.js';
import { formatTrafficSelector } from '../../../../native-helper/src/ike/traffic-selectors.js';
import { PSK, connect, events, failure, installed, makePair, toHex } from './harness.js';

describe('IkeSession with PSK', () => {
  it('establishes the IKE SA and one CHILD_SA, with the keys the responder derived', () => {
    const pair = makePair();
    const actions = connect(pair);
    assert.equal(failure(actions), undefined, JSON.stringify(failure(actions)));
    assert.equal(pair.session.state, 'established');

    /* IKE_SA_INIT request: SA, KE, Ni, NAT-D x2, FRAG_SUP, HASH_ALG, in the clear, Message ID 0 */
    const init = decodeMessage(pair.sent[0]?.data as Uint8Array);
    assert.ok(init.ok);
    assert.equal(init.value.header.exchange, ExchangeType.IKE_SA_INIT);
    assert.equal(init.value.header.messageId, 0);
    assert.deepEqual(
      init.value.payloads.map((p) => p.type),
      [PayloadType.SA, PayloadType.KE, PayloadType.NONCE, PayloadType.NOTIFY, PayloadType.NOTIFY, PayloadType.NOTIFY, PayloadType.NOTIFY],
    );
    /* IKE_AUTH request: one SK payload, Message ID 1; inside what the responder logged */
    const auth = decodeMessage(pair.sent[1]?.data as Uint8Array);
    assert.ok(auth.ok);
    assert.equal(auth.value.header.messageId, 1);
    assert.deepEqual(auth.value.payloads.map((p) => p.type), [PayloadType.SK]);
    assert.deepEqual(pair.responder.log[0]?.inner, [
      PayloadType.IDi,
      PayloadType.NOTIFY,
      PayloadType.IDr,
      PayloadType.AUTH,
      PayloadType.CP,
      PayloadType.SA,
      PayloadType.TSi,
      PayloadType.TSr,
    ]);

    /* installChildSa: both directions equal what the responder derived (RFC 7296 §2.17 order) */
    const [child] = installed(actions);
    assert.ok(child);
    const theirs = pair.responder.children[0];
    assert.ok(theirs);
    assert.equal(child.inbound.spi, theirs.initiatorSpi);
    assert.equal(child.outbound.spi, theirs.responderSpi);
    assert.equal(toHex(child.outbound.encKey), toHex(theirs.keys.encI));
    assert.equal(toHex(child.inbound.encKey), toHex(theirs.keys.encR));
    assert.equal(child.outbound.encKey.length, 36, 'AES-256-GCM key + 4-octet salt');
    assert.equal(child.inbound.integKey, undefined);
    assert.equal(child.encap, null);
    assert.deepEqual(child.localTs.map(formatTrafficSelector), ['10.99.0.1/32', 'fd00:99::1/128']);
    assert.deepEqual(child.remoteTs.map(formatTrafficSelector), ['10.10.0.0/24', 'fd00:10::/64']);
    assert.ok(child.inbound.spi >= 0xc0000000, 'our SPI is outside the reserved range');

    /* assignConfig: the CP reply, typed */
    const config = actions.find((a) => a.kind === 'assignConfig');
    assert.ok(config?.kind === 'assignConfig');
    assert.deepEqual(config.config, {
      ipv4: { address: '10.99.0.1', prefixLength: 32 },
      ipv6: { address: 'fd00:99::1', prefixLength: 128 },
      dns: ['10.10.0.53', 'fd00:10::53'],
      dnsDomains: ['lab.example'],
      subnets: [],
    });

    /* stages in order, then a timer action only while something is outstanding */
    const stages = actions.flatMap((a) => (a.kind === 'stage' ? [a.stage] : []));
    assert.deepEqual(stages, ['ike_sa_init', 'ike_auth', 'established']);
    assert.equal(pair.session.negotiated.ike, 'aes256gcm16-prfsha256-ecp256');
    assert.deepEqual(pair.session.negotiated.esp, ['aes256gcm16-noesn']);
  });

  it('logs every message, the proposals and the stage timings, and no secret', () => {
    const pair = makePair();
    const actions = connect(pair, { rtt: 7 });
    const ev = events(actions);
    const names = ev.map((e) => e.event);
    for (const name of ['ike_sa_init.proposals_offered', 'ike_sa_init.proposal_chosen', 'nat.detection', 'ike_auth.peer_authenticated', 'child_sa.proposal_chosen', 'config.assigned', 'ike_sa.established']) {
      assert.ok(names.includes(name), `missing event ${name}`);
    }
    const sent = ev.filter((e) => e.event === 'message.sent').map((e) => e.fields?.summary);
    assert.match(String(sent[0]), /^IKE_SA_INIT request 0 \[ SA KE No N\(NATD_S_IP\) N\(NATD_D_IP\) N\(FRAG_SUP\) N\(HASH_ALG\) \]$/);
    assert.match(String(sent[1]), /^IKE_AUTH request 1 \[ IDi N\(INITIAL_CONTACT\) IDr AUTH CPRQ\(ADDR DNS ADDR6 DNS6 DOMAIN\) SA TSi TSr \]$/);
    const received = ev.filter((e) => e.event === 'message.received').map((e) => e.fields?.summary);
    assert.match(String(received[1]), /^IKE_AUTH response 1 \[ IDr AUTH CPRP\(ADDR ADDR6 DNS DNS6 DOMAIN\) SA TSi TSr \]$/);
    const timings = ev.filter((e) => e.event === 'stage.timing');
    assert.deepEqual(timings.map((t) => t.fields?.stage), ['ike_sa_init', 'ike_auth']);
    assert.equal(timings[0]?.fields?.ms, 7);
    assert.equal(timings[1]?.fields?.ms, 7);
    // No secret in any event: the PSK and every derived key, as hex and as text.
    const text = JSON.stringify(ev);
    const child = installed(actions)[0];
    assert.ok(child);
    const secrets = [toHex(PSK), new TextDecoder().decode(PSK), toHex(child.inbound.encKey), toHex(child.outbound.encKey), toHex(pair.responder.ikeKeys?.skD ?? new Uint8Array(1))];
    for (const s of secrets) assert.ok(!text.includes(s), 'a secret leaked into the events');
  });

  it('completes with AES-CBC + HMAC-SHA-256 and MODP-2048 when the gateway prefers them', () => {
    const pair = makePair({}, { ike: [{ encr: 12, encrKeyLength: 256, prf: 5, integ: 12, ke: 14 }], esp: [{ encr: 12, encrKeyLength: 128, integ: 12, esn: false }] });
    const actions = connect(pair);
    assert.equal(failure(actions), undefined, JSON.stringify(failure(actions)));
    assert.equal(pair.session.negotiated.ike, 'aes256-sha256-prfsha256-modp2048');
    const [child] = installed(actions);
    assert.ok(child?.inbound.integKey && child.outbound.integKey);
    const theirs = pair.responder.children[0];
    assert.equal(toHex(child.outbound.integKey), toHex(theirs?.keys.integI ?? new Uint8Array()));
    assert.equal(toHex(child.inbound.integKey), toHex(theirs?.keys.integR ?? new Uint8Array()));
    assert.equal(child.outbound.encKey.length, 16);
    assert.equal(child.algorithms.integ, 12);
  });

  it('moves to port 4500 when the gateway sees us behind a NAT, and encapsulates ESP', () => {
    const pair = makePair({}, { misbehave: { natInitiator: true } });
    const actions = connect(pair);
    assert.equal(pair.session.state, 'established');
    assert.equal(pair.sent[0]?.from.port, 500);
    assert.equal(pair.sent[1]?.from.port, 4500);
    assert.equal(pair.sent[1]?.to.port, 4500);
    assert.deepEqual(installed(actions)[0]?.encap, { localPort: 4500, remotePort: 4500 });
    assert.deepEqual(pair.session.negotiated.nat, { local: true, remote: false });
  });

  it('forces UDP encapsulation with a fake NAT_DETECTION_SOURCE_IP when configured', () => {
    const pair = makePair({ forceEncapsulation: true });
    const actions = connect(pair);
    assert.equal(pair.session.state, 'established');
    assert.equal(pair.sent[1]?.from.port, 4500);
    assert.deepEqual(installed(actions)[0]?.encap, { localPort: 4500, remotePort: 4500 });
    // the gateway's own hashes match: nobody is actually behind a NAT
    assert.deepEqual(pair.session.negotiated.nat, { local: false, remote: false });
  });

  it('stays on port 500 without encapsulation when the gateway sends no NAT detection', () => {
    const pair = makePair({}, { misbehave: { noNatd: true } });
    const actions = connect(pair);
    assert.equal(pair.session.state, 'established');
    assert.equal(pair.sent[1]?.to.port, 500);
    assert.equal(installed(actions)[0]?.encap, null);
  });

  it('exposes SPIs as hex and nothing secret in negotiated', () => {
    const pair = makePair();
    connect(pair);
    assert.match(pair.session.spis.initiator, /^[0-9a-f]{16}$/);
    assert.equal(pair.session.spis.responder, toHex(pair.responder.spiR));
    const n = JSON.stringify(pair.session.negotiated);
    assert.ok(!n.includes(toHex(PSK)));
    assert.equal(pair.session.negotiated.peerFragmentation, true);
  });
});
