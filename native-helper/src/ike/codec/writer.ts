/**
 * A growable big-endian byte writer. Encoders never see untrusted input, so
 * range errors here are programming errors and throw RangeError.
 */
export class Writer {
  private buf = new Uint8Array(256);
  private pos = 0;

  get length(): number {
    return this.pos;
  }

  private ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.pos + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.pos));
    this.buf = next;
  }

  private check(v: number, max: number, what: string): void {
    if (!Number.isInteger(v) || v < 0 || v > max) throw new RangeError(`${what} out of range: ${v}`);
  }

  u8(v: number): this {
    this.check(v, 0xff, 'u8');
    this.ensure(1);
    this.buf[this.pos++] = v;
    return this;
  }

  u16(v: number): this {
    this.check(v, 0xffff, 'u16');
    this.ensure(2);
    this.buf[this.pos++] = v >>> 8;
    this.buf[this.pos++] = v & 0xff;
    return this;
  }

  u32(v: number): this {
    this.check(v, 0xffffffff, 'u32');
    this.ensure(4);
    this.buf[this.pos++] = (v >>> 24) & 0xff;
    this.buf[this.pos++] = (v >>> 16) & 0xff;
    this.buf[this.pos++] = (v >>> 8) & 0xff;
    this.buf[this.pos++] = v & 0xff;
    return this;
  }

  bytes(b: Uint8Array): this {
    this.ensure(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
    return this;
  }

  /** Reserves a 16-bit length field and returns a function that patches it. */
  placeholder16(): (value: number) => void {
    const at = this.pos;
    this.u16(0);
    return (value: number) => {
      this.check(value, 0xffff, 'length');
      this.buf[at] = value >>> 8;
      this.buf[at + 1] = value & 0xff;
    };
  }

  /** Reserves a 32-bit length field (the IKE header's, RFC 7296 §3.1) and returns a function that patches it. */
  placeholder32(): (value: number) => void {
    const at = this.pos;
    this.u32(0);
    return (value: number) => {
      this.check(value, 0xffffffff, 'length');
      this.buf[at] = (value >>> 24) & 0xff;
      this.buf[at + 1] = (value >>> 16) & 0xff;
      this.buf[at + 2] = (value >>> 8) & 0xff;
      this.buf[at + 3] = value & 0xff;
    };
  }

  /** Writes `n` zero octets (RESERVED fields, RFC 7296 §3.2: "MUST be sent as zero"). */
  zeros(n: number): this {
    this.check(n, 0xffff, 'zeros');
    this.ensure(n);
    this.buf.fill(0, this.pos, this.pos + n);
    this.pos += n;
    return this;
  }

  finish(): Uint8Array {
    return this.buf.slice(0, this.pos);
  }
}
