import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { DecodeError } from '../../../native-helper/src/ike/codec/errors.js';
import { Reader } from '../../../native-helper/src/ike/codec/reader.js';
import { Writer } from '../../../native-helper/src/ike/codec/writer.js';

describe('Reader', () => {
  it('reads big-endian fields and tracks absolute offsets', () => {
    const r = new Reader(Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 0xff, 0xff, 0xff, 0xff), 'msg');
    assert.equal(r.u8(), 1);
    assert.equal(r.u16(), 0x0203);
    assert.equal(r.u32(), 0x04050607);
    assert.equal(r.u32(), 0xffffffff);
    r.finish();
  });

  it('throws a DecodeError naming the path and offset on truncation', () => {
    const r = new Reader(Uint8Array.of(1, 2, 3), 'msg');
    const sub = r.sub(3, 'SA');
    sub.u16();
    assert.throws(() => sub.u16('proposal length'), (e: unknown) => {
      assert.ok(e instanceof DecodeError);
      assert.equal(e.code, 'TRUNCATED');
      assert.equal(e.path, 'msg/SA');
      assert.equal(e.offset, 2);
      return true;
    });
  });

  it('rejects trailing bytes and negative lengths', () => {
    assert.throws(() => new Reader(Uint8Array.of(0), 'x').finish(), /trailing/);
    assert.throws(() => new Reader(Uint8Array.of(0), 'x').bytes(-1), DecodeError);
  });
});

describe('Writer', () => {
  it('round-trips through Reader and patches length placeholders', () => {
    const w = new Writer();
    const patch = w.placeholder16();
    w.u8(7).u32(0xdeadbeef).bytes(new Uint8Array(300).fill(9));
    patch(w.length);
    const out = w.finish();
    const r = new Reader(out, 't');
    assert.equal(r.u16(), 307);
    assert.equal(r.u8(), 7);
    assert.equal(r.u32(), 0xdeadbeef);
    assert.equal(r.bytes(300).every((b) => b === 9), true);
    r.finish();
  });

  it('refuses values that do not fit', () => {
    assert.throws(() => new Writer().u8(256), RangeError);
    assert.throws(() => new Writer().u16(-1), RangeError);
  });
});
