/**
 * Cryptographically strong random octets, drawn from node:crypto in blocks.
 *
 * Why a pool: every randomBytes() call is a trip into OpenSSL's DRBG, which
 * checks the process id and the time on each call (fork safety and the
 * reseed interval: two system calls). An IKE connect draws octets a dozen
 * times (SPIs, nonces, an IV per encrypted message, RFC 7296 §3.14), and
 * where a system call is expensive (User-Mode Linux, ~45-90 µs each) those
 * checks alone cost a millisecond. One draw of a block serves many calls.
 *
 * Each octet is handed out once; the pool's copy is zeroed as it is taken,
 * so octets already given away do not linger in it.
 */
import { randomFillSync } from 'node:crypto';

export class RandomPool {
  private readonly block: Uint8Array;
  /** octets from here on are fresh; block.length means empty */
  private next: number;

  constructor(blockSize = 1024) {
    if (!Number.isInteger(blockSize) || blockSize < 64) throw new RangeError(`RandomPool block size ${blockSize}: at least 64`);
    this.block = new Uint8Array(blockSize);
    this.next = blockSize;
  }

  /** n fresh random octets (a new array the caller owns). */
  take(n: number): Uint8Array {
    if (!Number.isInteger(n) || n < 0) throw new RangeError(`random(${n})`);
    const out = new Uint8Array(n);
    // requests larger than half a block do not go through the pool
    if (n > this.block.length / 2) return randomFillSync(out);
    if (this.block.length - this.next < n) {
      randomFillSync(this.block);
      this.next = 0;
    }
    out.set(this.block.subarray(this.next, this.next + n));
    this.block.fill(0, this.next, this.next + n);
    this.next += n;
    return out;
  }
}
