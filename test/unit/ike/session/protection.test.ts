/** SK protection (RFC 7296 §3.14) and SKF fragmentation/reassembly (RFC 7383), with their bounds. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { EncrId, ExchangeType, IntegId, PayloadType } from '../../../../native-helper/src/ike/constants.js';
import { decodeMessage } from '../../../../native-helper/src/ike/codec/message.js';
import type { IkeMessage, Payload } from '../../../../native-helper/src/ike/codec/types.js';
import { createSkCipher } from '../../../../native-helper/src/ike/crypto/sk-cipher.js';
import { FragmentReassembler, protect, unprotect } from '../../../../native-helper/src/ike/protection.js';
import type { MessageHeader, SkDirection } from '../../../../native-helper/src/ike/protection.js';
import { seededRandom } from '../../../support/test-responder.js';

const random = seededRandom('protection');
const header: MessageHeader = { spiI: random(8), spiR: random(8), version: 0x20, exchange: ExchangeType.IKE_AUTH, initiator: false, response: true, messageId: 1 };

function keys(encr: number, bits: number | undefined, integ?: number): SkDirection {
  const cipher = createSkCipher(encr, bits, integ);
  return { cipher, encKey: random(cipher.encKeyLength), ...(cipher.integKeyLength > 0 ? { integKey: random(cipher.integKeyLength) } : {}) };
}

const CIPHERS: [string, SkDirection][] = [
  ['aes256gcm16', keys(EncrId.AES_GCM_16, 256)],
  ['aes128-sha256', keys(EncrId.AES_CBC, 128, IntegId.HMAC_SHA2_256_128)],
  ['chacha20poly1305', keys(EncrId.CHACHA20_POLY1305, undefined)],
];

/** Inner payloads of a given size: one CERT payload. */
function inner(size: number): Payload[] {
  return [
    { type: PayloadType.IDr, idType: 2, data: new TextEncoder().encode('vpn.lab.example') },
    { type: PayloadType.CERT, encoding: 4, data: random(size) },
    { type: PayloadType.AUTH, method: 2, data: random(32) },
  ];
}

function decode(d: Uint8Array): IkeMessage {
  const m = decodeMessage(d);
  assert.ok(m.ok, m.ok ? '' : m.error.message);
  return m.value;
}

describe('SK protection', () => {
  for (const [name, k] of CIPHERS) {
    it(`${name}: round trip, and any flipped bit fails integrity before parsing`, () => {
      const payloads = inner(100);
      const [d] = protect({ header, inner: payloads, keys: k, random });
      assert.ok(d);
      const m = decode(d);
      assert.deepEqual(m.payloads.map((p) => p.type), [PayloadType.SK]);
      const r = unprotect(m, d, k);
      assert.equal(r.kind, 'ok');
      assert.deepEqual(r.kind === 'ok' && r.inner.map((p) => p.type), [PayloadType.IDr, PayloadType.CERT, PayloadType.AUTH]);
      for (const at of [0, 17, 27, 28, 31, 40, d.length - 20, d.length - 1]) {
        const bad: Uint8Array = Uint8Array.from(d);
        bad[at] = (bad[at] as number) ^ 0x04;
        const mb = decodeMessage(bad);
        if (!mb.ok) continue; // a broken header never reaches unprotect
        assert.equal(unprotect(mb.value, bad, k).kind, 'icv', `bit flip at ${at}`);
      }
    });
  }

  it('reports authenticated but unparsable content as malformed, with the DecodeError', () => {
    const k = CIPHERS[0]?.[1] as SkDirection;
    // an unknown payload type with the critical bit set (RFC 7296 §2.5)
    const raw = protect({ header, inner: [{ type: 200, critical: true, body: Uint8Array.of(1, 2), unknown: true }], keys: k, random })[0] as Uint8Array;
    const r = unprotect(decode(raw), raw, k);
    assert.equal(r.kind, 'malformed');
    assert.ok(r.kind === 'malformed' && r.error?.code === 'UNSUPPORTED_CRITICAL_PAYLOAD' && r.error.payloadType === 200);
    const other = keys(EncrId.AES_GCM_16, 256);
    assert.equal(unprotect(decode(raw), raw, other).kind, 'icv', 'with a wrong key the integrity check fails first');
  });

  it('uses a fresh IV from the injected RNG for every message', () => {
    const k = CIPHERS[1]?.[1] as SkDirection;
    const a = protect({ header, inner: inner(10), keys: k, random })[0] as Uint8Array;
    const b = protect({ header, inner: inner(10), keys: k, random })[0] as Uint8Array;
    assert.notDeepEqual(a.subarray(32, 48), b.subarray(32, 48));
  });
});

describe('SKF fragmentation and reassembly', () => {
  for (const [name, k] of CIPHERS) {
    it(`${name}: fragments fit the limit and reassemble to the same payloads`, () => {
      const payloads = inner(3000);
      const frags = protect({ header, inner: payloads, keys: k, random, maxMessageSize: 500 });
      assert.ok(frags.length >= 7, `${frags.length} fragments`);
      for (const f of frags) assert.ok(f.length <= 500, `fragment of ${f.length}`);
      const r = new FragmentReassembler();
      let result;
      for (const f of frags) result = r.add(decode(f), f, k);
      assert.equal(result?.kind, 'ok');
      assert.ok(result?.kind === 'ok');
      assert.equal(result.fragments, frags.length);
      const cert = result.inner[1];
      assert.ok(cert !== undefined && 'encoding' in cert);
      assert.deepEqual(cert.data, (payloads[1] as { data: Uint8Array }).data);
      // the first fragment names the first inner payload, the others 0 (RFC 7383 §2.5)
      const first = decode(frags[0] as Uint8Array).payloads[0];
      const second = decode(frags[1] as Uint8Array).payloads[0];
      assert.ok(first && 'innerNext' in first && first.innerNext === PayloadType.IDr);
      assert.ok(second && 'innerNext' in second && second.innerNext === 0);
    });
  }

  it('does not fragment a message that fits', () => {
    const k = CIPHERS[0]?.[1] as SkDirection;
    assert.equal(protect({ header, inner: inner(100), keys: k, random, maxMessageSize: 1200 }).length, 1);
  });

  const k = CIPHERS[0]?.[1] as SkDirection;
  const frags = protect({ header, inner: inner(2000), keys: k, random, maxMessageSize: 600 });

  it('stores nothing from a fragment that fails integrity', () => {
    const r = new FragmentReassembler();
    const bad = Uint8Array.from(frags[0] as Uint8Array);
    bad[bad.length - 1] = (bad[bad.length - 1] as number) ^ 1;
    assert.equal(r.add(decode(bad), bad, k).kind, 'icv');
    for (const f of frags.slice(1)) assert.equal(r.add(decode(f), f, k).kind, 'pending');
    assert.equal(r.add(decode(frags[0] as Uint8Array), frags[0] as Uint8Array, k).kind, 'ok');
  });

  it('ignores duplicates and completes in any order', () => {
    const r = new FragmentReassembler();
    const order = [...frags].reverse();
    assert.equal(r.add(decode(order[0] as Uint8Array), order[0] as Uint8Array, k).kind, 'pending');
    const dup = r.add(decode(order[0] as Uint8Array), order[0] as Uint8Array, k);
    assert.ok(dup.kind === 'ignored' && /duplicate/.test(dup.reason));
    let last;
    for (const f of order.slice(1)) last = r.add(decode(f), f, k);
    assert.equal(last?.kind, 'ok');
  });

  it('bounds the number of fragments and the reassembled size', () => {
    const few = new FragmentReassembler({ maxFragments: 2, maxBytes: 65535 });
    const tooMany = few.add(decode(frags[0] as Uint8Array), frags[0] as Uint8Array, k);
    assert.ok(tooMany.kind === 'ignored' && /exceed the limit of 2/.test(tooMany.reason));
    const small = new FragmentReassembler({ maxFragments: 32, maxBytes: 1000 });
    let r;
    for (const f of frags) {
      r = small.add(decode(f), f, k);
      if (r.kind === 'ignored') break;
    }
    assert.ok(r?.kind === 'ignored' && /exceed 1000 octets/.test(r.reason));
  });

  it('restarts when the sender re-fragments with more fragments, and ignores fewer (RFC 7383 §2.6)', () => {
    const finer = protect({ header, inner: inner(2000), keys: k, random, maxMessageSize: 400 });
    assert.ok(finer.length > frags.length);
    const r = new FragmentReassembler();
    r.add(decode(frags[0] as Uint8Array), frags[0] as Uint8Array, k);
    const coarse = r.add(decode(frags[1] as Uint8Array), frags[1] as Uint8Array, k);
    assert.equal(coarse.kind, 'pending');
    let last;
    for (const f of finer) last = r.add(decode(f), f, k);
    assert.equal(last?.kind, 'ok');
    const again = new FragmentReassembler();
    again.add(decode(finer[0] as Uint8Array), finer[0] as Uint8Array, k);
    const fewer = again.add(decode(frags[1] as Uint8Array), frags[1] as Uint8Array, k);
    assert.ok(fewer.kind === 'ignored' && /while collecting/.test(fewer.reason));
  });
});
