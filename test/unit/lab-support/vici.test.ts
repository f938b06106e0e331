/**
 * The lab's small VICI client (test/lab/support/vici.ts): message encoding
 * round trips, the bounds checks on what charon sends back, and one real
 * request/response/event exchange over a unix socket with a fake charon that
 * speaks the framing (the real charon is exercised in the lab's bench).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';

import { iperfReceivedMbps, median } from '../../lab/support/stats.js';
import { decodeMessage, encodeMessage, expectSuccess, ViciError, ViciSession } from '../../lab/support/vici.js';

describe('vici message codec', () => {
  it('round-trips key/values, lists and nested sections', () => {
    const msg = { child: 'psk', timeout: '30000', list: ['a', 'b', ''], sec: { inner: 'x', deeper: { k: 'v' } } };
    assert.deepEqual(decodeMessage(encodeMessage(msg)), msg);
  });

  it('encodes a key/value exactly as the vici README lays it out', () => {
    // KEY_VALUE(3), name length 1, "a", value length 0x0002, "hi"
    assert.deepEqual([...encodeMessage({ a: 'hi' })], [3, 1, 0x61, 0, 2, 0x68, 0x69]);
  });

  it('refuses truncated or malformed input with a ViciError', () => {
    const good = encodeMessage({ key: 'value', l: ['x'], s: { k: 'v' } });
    for (let cut = 1; cut < good.length; cut++) {
      try {
        decodeMessage(good.subarray(0, cut));
      } catch (e) {
        assert.ok(e instanceof ViciError, `cut at ${cut}: ${String(e)}`);
        continue;
      }
      // a cut exactly between two whole top-level elements is a valid shorter message
    }
    assert.throws(() => decodeMessage(Buffer.from([2])), ViciError); // SECTION_END without a section
    assert.throws(() => decodeMessage(Buffer.from([5, 0, 0])), ViciError); // LIST_ITEM outside a list
    assert.throws(() => decodeMessage(Buffer.from([9])), ViciError); // unknown element
    assert.throws(() => decodeMessage(Buffer.from([1, 1, 0x61])), ViciError); // unterminated section
  });

  it('expectSuccess passes charon errmsg on', () => {
    assert.throws(() => expectSuccess('initiate', { success: 'no', errmsg: 'peer not responding' }), /initiate failed: peer not responding/);
    assert.deepEqual(expectSuccess('initiate', { success: 'yes' }), { success: 'yes' });
  });
});

describe('ViciSession over a unix socket', () => {
  it('sends a named request, receives the response and delivers an event that arrives in between', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vici-'));
    const path = join(dir, 'charon.vici');
    const frame = (body: Buffer): Buffer => {
      const len = Buffer.alloc(4);
      len.writeUInt32BE(body.length);
      return Buffer.concat([len, body]);
    };
    const seen: Buffer[] = [];
    const server = createServer((sock) => {
      sock.on('data', (d: Buffer) => {
        seen.push(d);
        // an EVENT "log" first, then the CMD_RESPONSE
        sock.write(frame(Buffer.concat([Buffer.from([7, 3]), Buffer.from('log'), encodeMessage({ msg: 'initiating' })])));
        sock.write(frame(Buffer.concat([Buffer.from([1]), encodeMessage({ success: 'yes' })])));
      });
    });
    await new Promise<void>((r) => server.listen(path, r));
    try {
      const s = await ViciSession.open(`unix://${path}`);
      const events: string[] = [];
      s.onEvent = (e) => events.push(`${e.name}:${String(e.message['msg'])}`);
      const reply = await s.request('initiate', { child: 'psk' });
      assert.deepEqual(reply, { success: 'yes' });
      assert.deepEqual(events, ['log:initiating']);
      const sent = Buffer.concat(seen);
      assert.equal(sent.readUInt32BE(0), sent.length - 4);
      assert.deepEqual([...sent.subarray(4, 6)], [0, 'initiate'.length]); // CMD_REQUEST, name length
      s.close();
    } finally {
      server.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('lab statistics', () => {
  it('median of odd and even counts; iperf3 JSON', () => {
    assert.equal(median([3, 1, 2]), 2);
    assert.equal(median([4, 1, 3, 2]), 2.5);
    assert.ok(Number.isNaN(median([])));
    assert.equal(iperfReceivedMbps(JSON.stringify({ end: { sum_received: { bits_per_second: 123_000_000 } } })), 123);
    assert.throws(() => iperfReceivedMbps(JSON.stringify({ error: 'unable to connect' })), /unable to connect/);
  });
});
