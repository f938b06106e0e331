// The daemon's random pool: right lengths, every octet handed out once (no
// two takes share a window of the pool), refills at the block boundary,
// large requests bypass it, and what it gave away is zeroed in the pool.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { RandomPool } from '../../../native-helper/src/daemon/random-pool.js';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

describe('RandomPool', () => {
  it('returns the asked number of octets, and no two takes are equal across several refills', () => {
    const pool = new RandomPool(64);
    const seen = new Set<string>();
    for (let i = 0; i < 200; i++) {
      const n = [4, 8, 20, 32][i % 4]!;
      const r = pool.take(n);
      assert.equal(r.length, n);
      const h = hex(r);
      assert.ok(!seen.has(h), `take ${i} repeated earlier octets`);
      seen.add(h);
    }
  });

  it('octets taken are zeroed in the pool (white box: the block holds nothing already given away)', () => {
    const pool = new RandomPool(64);
    const a = pool.take(32);
    const block = (pool as unknown as { block: Uint8Array }).block;
    assert.equal(hex(block.subarray(0, 32)), '00'.repeat(32));
    assert.notEqual(hex(a), '00'.repeat(32));
    assert.notEqual(hex(block.subarray(32)), '00'.repeat(32), 'the untaken half is still random');
  });

  it('a request larger than half a block is filled directly; zero octets is an empty array; bad sizes throw', () => {
    const pool = new RandomPool(64);
    const big = pool.take(1000);
    assert.equal(big.length, 1000);
    assert.ok(big.some((x) => x !== 0));
    assert.equal(pool.take(0).length, 0);
    assert.throws(() => pool.take(-1), RangeError);
    assert.throws(() => pool.take(1.5), RangeError);
    assert.throws(() => new RandomPool(8), RangeError);
  });

  it('the octets look uniform (chi-square over 64 KiB, 255 degrees of freedom, far tail bound)', () => {
    const pool = new RandomPool();
    const counts = new Array<number>(256).fill(0);
    for (let i = 0; i < 2048; i++) for (const x of pool.take(32)) counts[x]!++;
    const expected = (2048 * 32) / 256;
    const chi = counts.reduce((s, c) => s + (c - expected) ** 2 / expected, 0);
    // mean 255, sd ≈ 22.6: 400 is > 6 sd out; a pool that repeats or zeroes octets lands far beyond it
    assert.ok(chi < 400, `chi-square ${chi.toFixed(1)}`);
  });
});
