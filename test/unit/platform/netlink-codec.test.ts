// The netlink codec (platform/linux/netlink): framing and attribute round
// trips, truncated and overlong input refused with a typed error, and the
// XFRM / rtnetlink structures at the offsets of linux/xfrm.h and
// rtnetlink.h (x86_64). The lab suite netlink.suite.ts proves the same
// messages against a real kernel.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { kernelAlgorithms } from '../../../native-helper/src/platform/linux/algorithms.js';
import {
  attr,
  attrU32,
  errnoName,
  errorCode,
  message,
  NetlinkDecodeError,
  NLM_F_ACK,
  NLM_F_REQUEST,
  NLMSG_ERROR,
  parseAttributes,
  parseMessages,
} from '../../../native-helper/src/platform/linux/netlink/codec.js';
import {
  decodeAddress,
  decodeLink,
  decodeRoute,
  getRouteMessage,
  newAddressMessage,
  newRouteMessage,
  newRuleMessage,
  RTM_NEWADDR,
  RTM_NEWLINK,
  RTM_NEWROUTE,
} from '../../../native-helper/src/platform/linux/netlink/rtnl-msg.js';
import {
  decodeSaInfo,
  deletePolicyMessage,
  deleteSaMessage,
  encodeSelector,
  newSaMessage,
  policyMessage,
  XFRM_MSG_NEWSA,
  XFRMA_ALG_AEAD,
  XFRMA_ALG_AUTH_TRUNC,
  XFRMA_ALG_CRYPT,
  XFRMA_ENCAP,
  XFRMA_REPLAY_ESN_VAL,
  XFRMA_TMPL,
} from '../../../native-helper/src/platform/linux/netlink/xfrm-msg.js';
import { childSpec } from './specs.js';

const one = (b: Buffer): ReturnType<typeof parseMessages>[number] => {
  const [m] = parseMessages(b);
  assert.ok(m);
  return m;
};

describe('netlink framing', () => {
  it('round-trips a message with attributes (lengths, padding, header fields)', () => {
    const fixed = Buffer.from([1, 2, 3, 4, 5, 6]); // not a multiple of 4: padded
    const b = message(0x1234, NLM_F_REQUEST | NLM_F_ACK, 77, [fixed, attr(1, Buffer.from('abc')), attrU32(2, 0xdeadbeef)]);
    assert.equal(b.readUInt32LE(0), b.length);
    assert.equal(b.length % 4, 0);
    const m = one(b);
    assert.equal(m.type, 0x1234);
    assert.equal(m.flags, NLM_F_REQUEST | NLM_F_ACK);
    assert.equal(m.seq, 77);
    const attrs = parseAttributes(m.payload, 8);
    assert.deepEqual(
      attrs.map((a) => [a.type, a.value.toString('hex')]),
      [
        [1, Buffer.from('abc').toString('hex')],
        [2, 'efbeadde'],
      ],
    );
  });

  it('splits several messages in one datagram', () => {
    const a = message(16, 0, 1, [Buffer.alloc(4)]);
    const b = message(17, 0, 2, [Buffer.alloc(8)]);
    assert.deepEqual(
      parseMessages(Buffer.concat([a, b])).map((m) => [m.type, m.seq, m.payload.length]),
      [
        [16, 1, 4],
        [17, 2, 8],
      ],
    );
  });

  it('refuses every truncation of a message and of its attributes with NetlinkDecodeError', () => {
    const b = newSaMessage(childSpec({ encap: true }), 'out', 0x53540001, kernelAlgorithms(childSpec().algorithms), 5);
    for (let cut = 1; cut < b.length; cut++) {
      assert.throws(() => parseMessages(b.subarray(0, cut)), NetlinkDecodeError, `cut at ${cut}`);
    }
    // a header that claims more than the buffer holds
    const lying = Buffer.from(b);
    lying.writeUInt32LE(b.length + 4, 0);
    assert.throws(() => parseMessages(lying), NetlinkDecodeError);
    // an attribute whose length runs past the payload
    const m = one(b);
    const payload = Buffer.from(m.payload);
    payload.writeUInt16LE(0xfff0, 224);
    assert.throws(() => parseAttributes(payload, 224), NetlinkDecodeError);
    // an attribute length below its own header
    payload.writeUInt16LE(2, 224);
    assert.throws(() => parseAttributes(payload, 224), NetlinkDecodeError);
    // a fixed header longer than the payload
    assert.throws(() => parseAttributes(Buffer.alloc(8), 12), NetlinkDecodeError);
    assert.throws(() => decodeSaInfo({ ...m, type: XFRM_MSG_NEWSA, payload: m.payload.subarray(0, 200) }), NetlinkDecodeError);
  });

  it('reads NLMSG_ERROR: 0 is an ack, a negative errno a refusal with its name', () => {
    const ack = Buffer.alloc(20);
    const err = Buffer.alloc(20);
    err.writeInt32LE(-17, 0);
    assert.equal(errorCode(one(message(NLMSG_ERROR, 0, 1, [ack]))), 0);
    assert.equal(errnoName(errorCode(one(message(NLMSG_ERROR, 0, 1, [err])))), 'EEXIST');
    assert.throws(() => errorCode(one(message(NLMSG_ERROR, 0, 1, []))), NetlinkDecodeError);
  });
});

describe('XFRM messages (linux/xfrm.h layouts)', () => {
  it('XFRM_MSG_NEWSA (AEAD, ESN, encap): xfrm_usersa_info fields and attributes, decodable back', () => {
    const spec = childSpec({ alg: 'gcm256esn', encap: true, replayWindow: 128 });
    const alg = kernelAlgorithms(spec.algorithms);
    const b = newSaMessage(spec, 'out', 0x53540007, alg, 9);
    const m = one(b);
    assert.equal(m.type, XFRM_MSG_NEWSA);
    const p = m.payload;
    assert.equal(p.readUInt32BE(72), spec.outbound.spi, 'id.spi (network order)');
    assert.equal(p.readUInt8(76), 50, 'id.proto ESP');
    assert.equal(p.readUInt32LE(208), 0x53540007, 'reqid');
    assert.equal(p.readUInt16LE(212), 2, 'family AF_INET');
    assert.equal(p.readUInt8(214), 1, 'mode tunnel');
    assert.equal(p.readUInt8(215), 0, 'replay_window 0 when the ESN replay state carries it');
    assert.equal(p.readUInt8(216), 32 | 128, 'flags af-unspec | esn');
    assert.equal(p.readBigUInt64LE(96 + 32), 3000n, 'soft add expiry');
    assert.equal(p.readBigUInt64LE(96 + 40), 3600n, 'hard add expiry');
    assert.equal(p.readBigUInt64LE(96), 0xffff_ffff_ffff_ffffn, 'no byte limit');
    const attrs = parseAttributes(p, 224);
    const aead = attrs.find((a) => a.type === XFRMA_ALG_AEAD)?.value;
    assert.ok(aead);
    assert.equal(aead.subarray(0, 64).toString('latin1').replace(/\0+$/, ''), 'rfc4106(gcm(aes))');
    assert.equal(aead.readUInt32LE(64), spec.outbound.encKey.length * 8);
    assert.equal(aead.readUInt32LE(68), 128);
    assert.ok(aead.subarray(72).equals(Buffer.from(spec.outbound.encKey)), 'the outbound key');
    const encap = attrs.find((a) => a.type === XFRMA_ENCAP)?.value;
    assert.ok(encap);
    assert.deepEqual([encap.readUInt16LE(0), encap.readUInt16BE(2), encap.readUInt16BE(4)], [2, spec.encap?.localPort, spec.encap?.remotePort]);
    const esn = attrs.find((a) => a.type === XFRMA_REPLAY_ESN_VAL)?.value;
    assert.ok(esn);
    assert.deepEqual([esn.readUInt32LE(0), esn.readUInt32LE(20), esn.length], [4, 128, 24 + 16]);
    const back = decodeSaInfo(m);
    assert.deepEqual([back.src, back.dst, back.spi, back.reqid, back.proto], [spec.local.address, spec.remote.address, spec.outbound.spi, 0x53540007, 50]);
  });

  it('XFRM_MSG_NEWSA (cipher + integrity, small window, inbound): enc and auth-trunc, legacy window, swapped ports', () => {
    const spec = childSpec({ alg: 'cbcSha256', encap: true, replayWindow: 32 });
    const m = one(newSaMessage(spec, 'in', 1, kernelAlgorithms(spec.algorithms), 1));
    assert.equal(m.payload.readUInt8(215), 32);
    assert.equal(m.payload.readUInt8(216), 32);
    const attrs = parseAttributes(m.payload, 224);
    assert.equal(attrs.find((a) => a.type === XFRMA_REPLAY_ESN_VAL), undefined);
    const crypt = attrs.find((a) => a.type === XFRMA_ALG_CRYPT)?.value;
    const auth = attrs.find((a) => a.type === XFRMA_ALG_AUTH_TRUNC)?.value;
    assert.ok(crypt && auth);
    assert.equal(crypt.readUInt32LE(64), 256);
    assert.ok(crypt.subarray(68).equals(Buffer.from(spec.inbound.encKey)));
    assert.equal(auth.subarray(0, 64).toString('latin1').replace(/\0+$/, ''), 'hmac(sha256)');
    assert.deepEqual([auth.readUInt32LE(64), auth.readUInt32LE(68)], [256, 128]);
    assert.ok(auth.subarray(72).equals(Buffer.from(spec.inbound.integKey ?? new Uint8Array())));
    const encap = attrs.find((a) => a.type === XFRMA_ENCAP)?.value;
    assert.deepEqual([encap?.readUInt16BE(2), encap?.readUInt16BE(4)], [spec.encap?.remotePort, spec.encap?.localPort], 'inbound: gateway port → ours');
    const back = decodeSaInfo(m);
    assert.deepEqual([back.src, back.dst], [spec.remote.address, spec.local.address]);
  });

  it('selectors, policies and deletes', () => {
    const sel = encodeSelector({ src: '10.99.0.77/32', dst: '10.10.0.0/24', proto: 6, sport: 8080 });
    assert.equal(sel.length, 56);
    assert.deepEqual([...sel.subarray(0, 4)], [10, 10, 0, 0], 'daddr first');
    assert.deepEqual([...sel.subarray(16, 20)], [10, 99, 0, 77]);
    assert.deepEqual([sel.readUInt16BE(32), sel.readUInt16BE(34), sel.readUInt16BE(36), sel.readUInt16BE(38)], [0, 0, 8080, 0xffff]);
    assert.deepEqual([sel.readUInt16LE(40), sel.readUInt8(42), sel.readUInt8(43), sel.readUInt8(44)], [2, 24, 32, 6]);
    const p6 = encodeSelector({ src: 'fd00:99::77/128', dst: '::/0' });
    assert.deepEqual([p6.readUInt16LE(40), p6.readUInt8(42), p6.readUInt8(43)], [10, 0, 128]);

    const pol = one(policyMessage({ kind: 'policy', dir: 'fwd', sel: { src: '10.10.0.0/24', dst: '10.99.0.77/32' }, priority: 0x53541000, tmpl: { src: '192.0.2.1', dst: '192.0.2.2', reqid: 0x53540001 } }, 'add', 3));
    assert.equal(pol.type, 0x13);
    assert.equal(pol.payload.readUInt32LE(152), 0x53541000);
    assert.equal(pol.payload.readUInt8(160), 2, 'dir fwd');
    const tmpl = parseAttributes(pol.payload, 168).find((a) => a.type === XFRMA_TMPL)?.value;
    assert.ok(tmpl);
    assert.equal(tmpl.length, 64);
    assert.deepEqual([...tmpl.subarray(0, 4)], [192, 0, 2, 2], 'id.daddr');
    assert.deepEqual([...tmpl.subarray(28, 32)], [192, 0, 2, 1], 'saddr');
    assert.deepEqual([tmpl.readUInt8(20), tmpl.readUInt16LE(24), tmpl.readUInt32LE(44), tmpl.readUInt8(48)], [50, 2, 0x53540001, 1]);
    assert.equal(one(policyMessage({ kind: 'policy', dir: 'in', sel: { src: '0.0.0.0/0', dst: '192.0.2.1/32' }, priority: 1 }, 'update', 4)).type, 0x19);

    const ds = one(deleteSaMessage({ src: '192.0.2.2', dst: '192.0.2.1', spi: 0xc0ffee01 }, 5));
    assert.deepEqual([ds.type, ds.payload.readUInt32BE(16), ds.payload.readUInt16LE(20), ds.payload.readUInt8(22)], [0x11, 0xc0ffee01, 2, 50]);
    const dp = one(deletePolicyMessage({ dir: 'out', sel: { src: '0.0.0.0/0', dst: '192.0.2.1/32' } }, 6));
    assert.deepEqual([dp.type, dp.payload.length, dp.payload.readUInt8(60)], [0x14, 64, 1]);
  });
});

describe('rtnetlink messages', () => {
  it('address: IFA_LOCAL/IFA_ADDRESS, metric as IFA_RT_PRIORITY, nodad for IPv6', () => {
    const m = one(newAddressMessage({ kind: 'address', family: 6, cidr: 'fd00:99::77/128', dev: 'eth0' }, 3, 21332, 1));
    assert.deepEqual([m.payload.readUInt8(0), m.payload.readUInt8(1), m.payload.readUInt8(2), m.payload.readUInt32LE(4)], [10, 128, 2, 3]);
    const attrs = parseAttributes(m.payload, 8);
    assert.deepEqual(
      attrs.map((a) => a.type),
      [2, 1, 9, 8],
    );
    assert.equal(attrs.find((a) => a.type === 9)?.value.readUInt32LE(0), 21332);
    // the same bytes read back as an RTM_NEWADDR answer
    const back = decodeAddress({ ...m, type: RTM_NEWADDR });
    assert.deepEqual(back, { family: 6, index: 3, prefix: 128, local: 'fd00:99::77', metric: 21332 });
  });

  it('routes: table above 255 in RTA_TABLE, throw type, link scope without gateway, MTU nested', () => {
    const u = one(newRouteMessage({ kind: 'route', family: 4, type: 'unicast', dst: '10.10.0.0/24', table: 21332, proto: 83, via: '192.0.2.1', dev: 'eth0', src: '10.99.0.77', mtu: 1400 }, 2, 1));
    assert.deepEqual([...u.payload.subarray(0, 8)], [2, 24, 0, 0, 0, 83, 0, 1]);
    const ua = parseAttributes(u.payload, 12);
    assert.equal(ua.find((a) => a.type === 15)?.value.readUInt32LE(0), 21332);
    assert.equal(ua.find((a) => a.type === 4)?.value.readUInt32LE(0), 2);
    const metrics = ua.find((a) => a.type === 8)?.value;
    assert.ok(metrics);
    assert.deepEqual(parseAttributes(metrics, 0).map((a) => [a.type, a.value.readUInt32LE(0)]), [[2, 1400]]);
    const t = one(newRouteMessage({ kind: 'route', family: 4, type: 'throw', dst: '192.0.2.1/32', table: 21332, proto: 83 }, undefined, 2));
    assert.deepEqual([t.payload.readUInt8(6), t.payload.readUInt8(7)], [0, 9]);
    assert.equal(parseAttributes(t.payload, 12).find((a) => a.type === 4), undefined, 'a throw route names no device');
    const l = one(newRouteMessage({ kind: 'route', family: 6, type: 'unicast', dst: 'fd00:10::/64', table: 21332, proto: 83, dev: 'eth0' }, 2, 3));
    assert.equal(l.payload.readUInt8(6), 253, 'link scope');
    const r = one(newRuleMessage({ kind: 'rule', family: 6, pref: 21332, table: 21332 }, 4));
    assert.deepEqual([r.payload.readUInt8(0), r.payload.readUInt8(4), r.payload.readUInt8(7)], [10, 0, 1]);
    assert.deepEqual(
      parseAttributes(r.payload, 12).map((a) => [a.type, a.value.readUInt32LE(0)]),
      [
        [6, 21332],
        [15, 21332],
      ],
    );
  });

  it('route get and link answers decode; answers without the needed attributes are refused', () => {
    const q = one(getRouteMessage('192.0.2.1', 1));
    assert.equal(q.payload.readUInt8(1), 32);
    const answer = message(RTM_NEWROUTE, 0, 1, [q.payload.subarray(0, 12), attrU32(4, 7), attr(5, Buffer.from([192, 0, 2, 254]))]);
    assert.deepEqual(decodeRoute(one(answer)), { oif: 7, gateway: '192.0.2.254' });
    assert.throws(() => decodeRoute(one(message(RTM_NEWROUTE, 0, 1, [Buffer.alloc(12)]))), NetlinkDecodeError);
    const link = message(RTM_NEWLINK, 0, 1, [Buffer.from([0, 0, 0, 0, 7, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]), attr(3, Buffer.from('cl0\0'))]);
    assert.deepEqual(decodeLink(one(link)), { index: 7, name: 'cl0' });
    assert.throws(() => decodeLink(one(message(RTM_NEWLINK, 0, 1, [Buffer.alloc(8)]))), NetlinkDecodeError);
    assert.throws(() => decodeAddress(one(message(RTM_NEWADDR, 0, 1, [Buffer.from([2, 32, 0, 0, 1, 0, 0, 0])]))), NetlinkDecodeError);
  });
});
