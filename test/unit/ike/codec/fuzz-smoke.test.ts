/**
 * A short run of the codec fuzzer (test/fuzz/fuzz-codec.ts) on every test
 * run: 20,000 mutated golden messages, none of which may make the codec
 * throw or fail its decode → encode → decode round trip. The long run is
 * `npm run fuzz` (1,000,000 messages in CI).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { decodeMessage, encodeMessage } from '../../../../native-helper/src/ike/codec/message.js';
import { PayloadType } from '../../../../native-helper/src/ike/constants.js';
import { codecCorpus, fuzzCodec, fuzzCodecWith, sameValue } from '../../../fuzz/fuzz-codec.js';
import { mutate, Prng } from '../../../fuzz/mutate.js';
import { hex } from './hex.js';

describe('codec fuzz smoke test', () => {
  it('20,000 mutated messages: nothing escapes decodeMessage, and what decodes round-trips', () => {
    const t0 = performance.now();
    const report = fuzzCodec(20_000, 0x5eed);
    const seconds = (performance.now() - t0) / 1000;
    assert.equal(report.uncaught, 0, report.firstFailure);
    assert.equal(report.messages, 20_000);
    // the mutators must reach past the header: a good share of inputs still decode
    assert.ok(report.accepted > 2_000 && report.accepted < 19_000, `accepted ${report.accepted}`);
    assert.ok(seconds < 10, `took ${seconds.toFixed(1)} s`);
  });

  it('is deterministic for a seed', () => {
    const corpus = codecCorpus();
    const a = new Prng(42);
    const b = new Prng(42);
    for (let i = 0; i < 200; i++) assert.deepEqual(mutate(corpus, a), mutate(corpus, b));
    assert.deepEqual(fuzzCodec(500, 7), fuzzCodec(500, 7));
  });

  it('every golden message decodes unmutated, and the corpus covers every payload type', () => {
    const seen = new Set<number>();
    for (const g of codecCorpus()) {
      const r = decodeMessage(g.bytes);
      assert.ok(r.ok, r.ok ? '' : r.error.message);
      for (const p of r.value.payloads) seen.add(p.type);
    }
    for (const t of Object.values(PayloadType)) if (t !== PayloadType.NONE) assert.ok(seen.has(t), `payload type ${t} is not in the corpus`);
  });

  it('reports a codec that throws, or one whose round trip loses information', () => {
    const throwing = fuzzCodecWith(
      {
        decode: (b) => {
          if (b.length % 7 === 0) throw new TypeError('boom');
          return decodeMessage(b);
        },
        encode: encodeMessage,
      },
      300,
      1,
    );
    assert.ok(throwing.uncaught > 0);
    assert.match(throwing.firstFailure ?? '', /seed=1 message=\d+ .*decodeMessage threw: TypeError: boom/s);

    const lossy = fuzzCodecWith({ decode: decodeMessage, encode: (h, p) => encodeMessage(h, p.slice(0, -1)) }, 300, 1);
    assert.ok(lossy.uncaught > 0);
    assert.match(lossy.firstFailure ?? '', /(differs from m|does not decode)/);
  });

  it('sameValue compares decoded values structurally', () => {
    assert.ok(sameValue({ a: [1, hex('0102')], b: true }, { a: [1, hex('0102')], b: true }));
    assert.ok(!sameValue({ a: [1, hex('0102')] }, { a: [1, hex('0103')] }));
    assert.ok(!sameValue({ a: 1 }, { a: 1, b: undefined }));
    assert.ok(!sameValue([1, 2], { 0: 1, 1: 2 }));
    assert.ok(!sameValue(hex('01'), [1]));
  });
});
