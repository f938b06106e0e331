// A minimal client for charon's VICI protocol (the strongSwan vici plugin's
// README, "Transport protocol", "Packet layer", "Message format"), so the
// benchmark can time strongSwan's connect inside the daemon: one request on an
// already open socket, no swanctl process start-up in the measurement.
//
// Wire format:
//   transport: u32 big-endian length, then that many bytes (one packet, <= 512 KiB)
//   packet:    u8 type; named types add u8 name length + name; then a message
//   message:   elements: 1 SECTION_START(name) 2 SECTION_END 3 KEY_VALUE(name, u16 len, value)
//              4 LIST_START(name) 5 LIST_ITEM(u16 len, value) 6 LIST_END
// Runs inside the lab guest only (it talks to a charon's unix socket).

import { connect } from 'node:net';
import type { Socket } from 'node:net';

/** Packet types (vici README "Packet layer"). */
const enum PacketType {
  CmdRequest = 0,
  CmdResponse = 1,
  CmdUnknown = 2,
  EventRegister = 3,
  EventUnregister = 4,
  EventConfirm = 5,
  EventUnknown = 6,
  Event = 7,
}

const enum Element {
  SectionStart = 1,
  SectionEnd = 2,
  KeyValue = 3,
  ListStart = 4,
  ListItem = 5,
  ListEnd = 6,
}

/** The vici plugin refuses segments over 512 KiB; so do we. */
const MAX_SEGMENT = 512 * 1024;

/** A vici message as a plain object: values are strings, lists are string arrays, sections nest. */
export interface ViciMessage {
  readonly [key: string]: string | readonly string[] | ViciMessage;
}

export class ViciError extends Error {
  override readonly name = 'ViciError';
}

// ---------------------------------------------------------------- encoding

function nameBytes(name: string): Buffer {
  const b = Buffer.from(name, 'ascii');
  if (b.length === 0 || b.length > 255) throw new ViciError(`vici name must be 1..255 octets: ${name}`);
  return b;
}

function valueBytes(value: string): Buffer {
  const b = Buffer.from(value, 'utf8');
  if (b.length > 0xffff) throw new ViciError('vici value longer than 65535 octets');
  return b;
}

function u16(n: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(n);
  return b;
}

export function encodeMessage(msg: ViciMessage): Buffer {
  const parts: Buffer[] = [];
  const walk = (m: ViciMessage): void => {
    for (const [key, value] of Object.entries(m)) {
      const name = nameBytes(key);
      if (typeof value === 'string') {
        const v = valueBytes(value);
        parts.push(Buffer.from([Element.KeyValue, name.length]), name, u16(v.length), v);
      } else if (Array.isArray(value)) {
        parts.push(Buffer.from([Element.ListStart, name.length]), name);
        for (const item of value as readonly string[]) {
          const v = valueBytes(item);
          parts.push(Buffer.from([Element.ListItem]), u16(v.length), v);
        }
        parts.push(Buffer.from([Element.ListEnd]));
      } else {
        parts.push(Buffer.from([Element.SectionStart, name.length]), name);
        walk(value as ViciMessage);
        parts.push(Buffer.from([Element.SectionEnd]));
      }
    }
  };
  walk(msg);
  return Buffer.concat(parts);
}

function encodePacket(type: PacketType, name: string | undefined, msg: ViciMessage = {}): Buffer {
  const head = name === undefined ? Buffer.from([type]) : Buffer.concat([Buffer.from([type, nameBytes(name).length]), nameBytes(name)]);
  const body = Buffer.concat([head, encodeMessage(msg)]);
  if (body.length > MAX_SEGMENT) throw new ViciError('vici packet too large');
  const len = Buffer.alloc(4);
  len.writeUInt32BE(body.length);
  return Buffer.concat([len, body]);
}

// ---------------------------------------------------------------- decoding (bounds-checked)

class Reader {
  private off = 0;
  constructor(private readonly buf: Buffer) {}
  get done(): boolean {
    return this.off >= this.buf.length;
  }
  u8(): number {
    if (this.off + 1 > this.buf.length) throw new ViciError('truncated vici message (u8)');
    return this.buf[this.off++] ?? 0;
  }
  bytes(n: number): Buffer {
    if (this.off + n > this.buf.length) throw new ViciError(`truncated vici message (need ${n} octets)`);
    const b = this.buf.subarray(this.off, this.off + n);
    this.off += n;
    return b;
  }
  name(): string {
    return this.bytes(this.u8()).toString('ascii');
  }
  value(): string {
    const b = this.bytes(2);
    return this.bytes(b.readUInt16BE(0)).toString('utf8');
  }
}

interface MutableMessage {
  [key: string]: string | string[] | MutableMessage;
}

export function decodeMessage(buf: Buffer): ViciMessage {
  const r = new Reader(buf);
  const root: MutableMessage = {};
  const stack: MutableMessage[] = [root];
  let list: string[] | undefined;
  while (!r.done) {
    const type = r.u8();
    const top = stack[stack.length - 1];
    if (top === undefined) throw new ViciError('vici section stack underflow');
    if (list !== undefined && type !== Element.ListItem && type !== Element.ListEnd) throw new ViciError(`vici element ${type} inside a list`);
    switch (type) {
      case Element.SectionStart: {
        if (stack.length > 32) throw new ViciError('vici sections nested too deep');
        const section: MutableMessage = {};
        top[r.name()] = section;
        stack.push(section);
        break;
      }
      case Element.SectionEnd:
        if (stack.length === 1) throw new ViciError('vici SECTION_END without a section');
        stack.pop();
        break;
      case Element.KeyValue: {
        const name = r.name();
        top[name] = r.value();
        break;
      }
      case Element.ListStart:
        list = [];
        top[r.name()] = list;
        break;
      case Element.ListItem:
        if (list === undefined) throw new ViciError('vici LIST_ITEM outside a list');
        list.push(r.value());
        break;
      case Element.ListEnd:
        if (list === undefined) throw new ViciError('vici LIST_END outside a list');
        list = undefined;
        break;
      default:
        throw new ViciError(`unknown vici element type ${type}`);
    }
  }
  if (stack.length !== 1 || list !== undefined) throw new ViciError('vici message ends inside a section or list');
  return root;
}

interface Packet {
  readonly type: number;
  readonly name?: string;
  readonly message: ViciMessage;
}

function decodePacket(buf: Buffer): Packet {
  if (buf.length < 1) throw new ViciError('empty vici packet');
  const type = buf[0] ?? -1;
  let off = 1;
  let name: string | undefined;
  if (type === PacketType.CmdRequest || type === PacketType.EventRegister || type === PacketType.EventUnregister || type === PacketType.Event) {
    const n = buf[1];
    if (n === undefined || 2 + n > buf.length) throw new ViciError('truncated vici packet name');
    name = buf.subarray(2, 2 + n).toString('ascii');
    off = 2 + n;
  }
  return { type, ...(name === undefined ? {} : { name }), message: decodeMessage(buf.subarray(off)) };
}

// ---------------------------------------------------------------- session

export interface ViciEvent {
  readonly name: string;
  readonly message: ViciMessage;
}

/**
 * One open connection to charon. Requests are answered in order (the vici
 * plugin handles one request per connection at a time), events arrive in
 * between and go to `onEvent`.
 */
export class ViciSession {
  private pending: Buffer = Buffer.alloc(0);
  private readonly waiters: Array<{ resolve: (p: Packet) => void; reject: (e: Error) => void }> = [];
  private closedError: Error | undefined;
  onEvent: ((e: ViciEvent) => void) | undefined;

  private constructor(private readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (e) => this.fail(e));
    socket.on('close', () => this.fail(new ViciError('vici socket closed')));
  }

  /** Connects to a vici unix socket; `uri` may be "unix:///path" or a plain path. */
  static open(uri: string, timeoutMs = 5000): Promise<ViciSession> {
    const path = uri.replace(/^unix:\/\//, '');
    return new Promise((resolve, reject) => {
      const socket = connect({ path });
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new ViciError(`vici connect to ${path} timed out`));
      }, timeoutMs);
      socket.once('connect', () => {
        clearTimeout(timer);
        socket.off('error', reject);
        resolve(new ViciSession(socket));
      });
      socket.once('error', (e) => {
        clearTimeout(timer);
        reject(e);
      });
    });
  }

  private onData(chunk: Buffer): void {
    this.pending = Buffer.concat([this.pending, chunk]);
    while (this.pending.length >= 4) {
      const len = this.pending.readUInt32BE(0);
      if (len > MAX_SEGMENT) {
        this.fail(new ViciError(`vici segment of ${len} octets exceeds ${MAX_SEGMENT}`));
        this.socket.destroy();
        return;
      }
      if (this.pending.length < 4 + len) return;
      const seg = this.pending.subarray(4, 4 + len);
      this.pending = this.pending.subarray(4 + len);
      let packet: Packet;
      try {
        packet = decodePacket(seg);
      } catch (e) {
        this.fail(e instanceof Error ? e : new ViciError(String(e)));
        this.socket.destroy();
        return;
      }
      if (packet.type === PacketType.Event) this.onEvent?.({ name: packet.name ?? '', message: packet.message });
      else this.waiters.shift()?.resolve(packet);
    }
  }

  private fail(e: Error): void {
    this.closedError ??= e;
    for (const w of this.waiters.splice(0)) w.reject(e);
  }

  private exchange(packet: Buffer): Promise<Packet> {
    if (this.closedError) return Promise.reject(this.closedError);
    return new Promise((resolve, reject) => {
      this.waiters.push({ resolve, reject });
      this.socket.write(packet);
    });
  }

  /** Sends a named command and resolves with its response message. */
  async request(command: string, msg: ViciMessage = {}): Promise<ViciMessage> {
    const p = await this.exchange(encodePacket(PacketType.CmdRequest, command, msg));
    if (p.type === PacketType.CmdUnknown) throw new ViciError(`vici: unknown command ${command}`);
    if (p.type !== PacketType.CmdResponse) throw new ViciError(`vici: unexpected packet type ${p.type} for ${command}`);
    return p.message;
  }

  /** Registers for a named event stream (e.g. "child-updown"). */
  async register(event: string): Promise<void> {
    const p = await this.exchange(encodePacket(PacketType.EventRegister, event));
    if (p.type !== PacketType.EventConfirm) throw new ViciError(`vici: could not register for ${event} (packet type ${p.type})`);
  }

  close(): void {
    this.socket.end();
    this.socket.destroy();
  }
}

/** A command's "success" field; throws with charon's errmsg otherwise. */
export function expectSuccess(command: string, reply: ViciMessage): ViciMessage {
  if (reply['success'] !== 'yes') {
    const err = reply['errmsg'];
    throw new ViciError(`vici ${command} failed${typeof err === 'string' ? `: ${err}` : ''}`);
  }
  return reply;
}
