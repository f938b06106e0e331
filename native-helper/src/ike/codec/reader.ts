import { DecodeError } from './errors.js';

/**
 * A bounds-checked cursor over untrusted bytes. Every read checks the
 * remaining length first and throws `DecodeError` naming the field path and
 * the offset; `finish()` rejects unread bytes. Sub-readers share the
 * underlying buffer (no copies) and carry an absolute offset for messages.
 */
export class Reader {
  private pos = 0;

  constructor(
    private readonly buf: Uint8Array,
    readonly path: string,
    private readonly base = 0,
  ) {}

  get offset(): number {
    return this.base + this.pos;
  }

  get remaining(): number {
    return this.buf.length - this.pos;
  }

  fail(code: ConstructorParameters<typeof DecodeError>[0], detail: string, payloadType?: number): never {
    throw new DecodeError(code, this.path, this.offset, detail, payloadType);
  }

  private need(n: number, what: string): void {
    if (n < 0 || this.remaining < n) {
      this.fail('TRUNCATED', `${what}: need ${n} octet(s), ${this.remaining} left`);
    }
  }

  u8(what = 'u8'): number {
    this.need(1, what);
    return this.buf[this.pos++] as number;
  }

  u16(what = 'u16'): number {
    this.need(2, what);
    const v = ((this.buf[this.pos] as number) << 8) | (this.buf[this.pos + 1] as number);
    this.pos += 2;
    return v;
  }

  u32(what = 'u32'): number {
    this.need(4, what);
    const b = this.buf;
    const p = this.pos;
    const v = ((b[p] as number) * 0x1000000) + (((b[p + 1] as number) << 16) | ((b[p + 2] as number) << 8) | (b[p + 3] as number));
    this.pos += 4;
    return v;
  }

  /** A view (not a copy) of the next `n` octets. */
  bytes(n: number, what = 'bytes'): Uint8Array {
    this.need(n, what);
    const v = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return v;
  }

  /** A view of the next `n` octets without consuming them (to check a length field before taking a whole structure). */
  peek(n: number, what = 'bytes'): Uint8Array {
    this.need(n, what);
    return this.buf.subarray(this.pos, this.pos + n);
  }

  /** Copies the next `n` octets (use for values that outlive the datagram). */
  copy(n: number, what = 'bytes'): Uint8Array {
    return Uint8Array.from(this.bytes(n, what));
  }

  rest(): Uint8Array {
    return this.bytes(this.remaining, 'rest');
  }

  skip(n: number, what = 'skip'): void {
    this.need(n, what);
    this.pos += n;
  }

  /** A reader over the next `n` octets, under a longer path. */
  sub(n: number, path: string): Reader {
    const start = this.offset;
    const view = this.bytes(n, path);
    return new Reader(view, `${this.path}/${path}`, start);
  }

  finish(): void {
    if (this.remaining !== 0) this.fail('TRAILING_BYTES', `${this.remaining} unexpected trailing octet(s)`);
  }
}
