/**
 * The strict DER reader: X.690 §10 rules (definite, minimal lengths), OID
 * and time decoding against known encodings, and bounds on every read.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import {
  DerCursor,
  DerError,
  Tag,
  childrenOf,
  decodeBitString,
  decodeBoolean,
  decodeOid,
  decodeSmallUnsigned,
  decodeTime,
  readSingle,
} from '../../../native-helper/src/pki/der.js';

const h = (hex: string): Uint8Array => Uint8Array.from(Buffer.from(hex.replace(/\s+/g, ''), 'hex'));

function derError(fn: () => unknown, pattern?: RegExp): void {
  assert.throws(fn, (e: unknown) => e instanceof DerError && (pattern === undefined || pattern.test(e.message)));
}

describe('der reader', () => {
  it('reads short and long definite lengths', () => {
    const short = readSingle(h('0403 010203'), 't');
    assert.equal(short.tag, Tag.OCTET_STRING);
    assert.deepEqual(short.content, h('010203'));
    const content = new Uint8Array(200).fill(7);
    const long = readSingle(Uint8Array.from([0x04, 0x81, 200, ...content]), 't');
    assert.equal(long.content.length, 200);
    const longer = readSingle(Uint8Array.from([0x04, 0x82, 0x01, 0x00, ...new Uint8Array(256)]), 't');
    assert.equal(longer.content.length, 256);
  });

  it('rejects what DER forbids and what runs past the end', () => {
    derError(() => readSingle(h('3080 0000'), 't'), /indefinite/);
    derError(() => readSingle(h('04 8103 010203'), 't'), /non-minimal/); // long form for a short length
    derError(() => readSingle(Uint8Array.from([0x04, 0x82, 0x00, 0x80, ...new Uint8Array(128)]), 't'), /non-minimal/);
    derError(() => readSingle(h('0405 0102'), 't'), /truncated/);
    derError(() => readSingle(h('04'), 't'), /truncated/);
    derError(() => readSingle(h('0401 01 00'), 't'), /trailing/);
    derError(() => readSingle(h('1f22 00'), 't'), /high tag/);
    derError(() => readSingle(h('04 84 01000000'), 't'), /too large/);
    derError(() => childrenOf(readSingle(h('0401 01'), 't')), /constructed/);
    derError(() => childrenOf(readSingle(h('3003 0401'), 't')), /truncated/);
  });

  it('walks a SEQUENCE with optional elements and detects leftovers', () => {
    const seq = readSingle(h('300b 0101ff 020105 a003 020102'), 'seq');
    const c = new DerCursor(seq);
    assert.equal(decodeBoolean(c.expect(Tag.BOOLEAN, 'b')), true);
    assert.equal(c.optional(Tag.OCTET_STRING), undefined);
    assert.equal(decodeSmallUnsigned(c.expect(Tag.INTEGER, 'i')), 5);
    assert.equal(c.peekTag(), 0xa0);
    c.any('x');
    c.end('x');
    const c2 = new DerCursor(seq);
    derError(() => c2.expect(Tag.INTEGER, 'i'), /expected tag 0x02/);
    const c3 = new DerCursor(seq);
    c3.any('b');
    derError(() => c3.end('b'), /unexpected element/);
  });

  it('decodes OIDs (X.690 §8.19 examples and X.509 OIDs)', () => {
    assert.equal(decodeOid(h('550403'), 'o'), '2.5.4.3');
    assert.equal(decodeOid(h('2a864886f70d010901'), 'o'), '1.2.840.113549.1.9.1');
    assert.equal(decodeOid(h('0992268993f22c640119'), 'o'), '0.9.2342.19200300.100.1.25');
    assert.equal(decodeOid(h('2b06010505070311'), 'o'), '1.3.6.1.5.5.7.3.17');
    assert.equal(decodeOid(h('8837'), 'o'), '2.999'); // X.690 §8.19.5 example: {2 999}
    derError(() => decodeOid(h(''), 'o'), /empty/);
    derError(() => decodeOid(h('2a86'), 'o'), /truncated/);
    derError(() => decodeOid(h('2a8001'), 'o'), /non-minimal/);
    derError(() => decodeOid(h('2affffffffffffffff7f'), 'o'), /too large/);
  });

  it('decodes RFC 5280 §4.1.2.5 times and rejects other forms', () => {
    const t = (hex: string): Date => decodeTime(readSingle(h(hex), 'time'));
    const utc = (s: string): string => Buffer.from(s, 'ascii').toString('hex');
    assert.equal(t(`170d${utc('491231235959Z')}`).toISOString(), '2049-12-31T23:59:59.000Z');
    assert.equal(t(`170d${utc('500101000000Z')}`).toISOString(), '1950-01-01T00:00:00.000Z');
    assert.equal(t(`180f${utc('20500101000000Z')}`).toISOString(), '2050-01-01T00:00:00.000Z');
    derError(() => t(`170b${utc('4912312359Z')}`), /malformed UTCTime/); // no seconds
    derError(() => t(`1711${utc('491231235959+0100')}`), /malformed UTCTime/);
    derError(() => t(`1813${utc('20500101000000.123Z')}`), /malformed GeneralizedTime/);
    derError(() => t(`170d${utc('490230000000Z')}`), /impossible date/);
    derError(() => t('0400'), /expected UTCTime/);
  });

  it('BOOLEAN, INTEGER and BIT STRING follow DER', () => {
    derError(() => decodeBoolean(readSingle(h('010101'), 'b')), /0x00 or 0xFF/);
    assert.equal(decodeBoolean(readSingle(h('010100'), 'b')), false);
    derError(() => decodeSmallUnsigned(readSingle(h('020200 05'), 'i')), /non-minimal/);
    derError(() => decodeSmallUnsigned(readSingle(h('0201 80'), 'i')), /negative/);
    assert.equal(decodeSmallUnsigned(readSingle(h('0202 0080'), 'i')), 128);
    assert.deepEqual(decodeBitString(readSingle(h('0302 0780'), 'b')).unusedBits, 7);
    derError(() => decodeBitString(readSingle(h('0302 0880'), 'b')), /unused-bits/);
    derError(() => decodeBitString(readSingle(h('0301 01'), 'b')), /unused-bits/);
  });
});
