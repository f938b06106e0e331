/** The small, compatible additions this codec made to Reader, Writer and DecodeError. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { DecodeError } from '../../../../native-helper/src/ike/codec/errors.js';
import { Reader } from '../../../../native-helper/src/ike/codec/reader.js';
import { Writer } from '../../../../native-helper/src/ike/codec/writer.js';
import { hex, toHex } from './hex.js';

describe('codec additions to Reader / Writer / DecodeError', () => {
  it('Reader.peek returns a view without consuming, and is bounds-checked', () => {
    const r = new Reader(hex('01020304'), 'x');
    assert.equal(toHex(r.peek(2)), '0102');
    assert.equal(r.u16(), 0x0102);
    assert.throws(() => r.peek(3), (e: unknown) => e instanceof DecodeError && e.code === 'TRUNCATED');
    assert.equal(r.remaining, 2);
  });

  it('Writer.placeholder32 patches a 32-bit big-endian length; zeros writes RESERVED octets', () => {
    const w = new Writer();
    const patch = w.placeholder32();
    w.zeros(3).u8(0xff).bytes(new Uint8Array(300).fill(1));
    patch(0xdeadbeef);
    const out = w.finish();
    assert.equal(toHex(out.subarray(0, 8)), 'deadbeef000000ff');
    assert.equal(out.length, 308);
    assert.throws(() => patch(2 ** 32), RangeError);
  });

  it('a DecodeError carries no stack frames and leaves Error.stackTraceLimit as it was', () => {
    const before = Error.stackTraceLimit;
    const e = new DecodeError('TRUNCATED', 'p', 3, 'detail');
    assert.equal(Error.stackTraceLimit, before);
    assert.equal(e.message, 'p @3: detail');
    assert.doesNotMatch(e.stack ?? '', /\n\s+at /);
    assert.match(new Error('other').stack ?? '', /\n\s+at /, 'ordinary errors keep their stacks');
  });
});
