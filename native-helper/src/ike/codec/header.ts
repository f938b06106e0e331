/**
 * The IKE header, RFC 7296 §3.1.
 *
 *                      1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                       IKE SA Initiator's SPI                  |
 * |                                                               |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                       IKE SA Responder's SPI                  |
 * |                                                               |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |  Next Payload | MjVer | MnVer | Exchange Type |     Flags     |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                          Message ID                           |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                            Length                             |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 * Flags: |X|X|R|V|I|X|X|X| — R(esponse) 0x20, V(ersion) 0x10,
 * I(nitiator) 0x08. The X bits "MUST be cleared when sending and MUST be
 * ignored on receipt", as must the minor version (§2.5), which is kept
 * in `version` for logs only.
 */
import { HeaderFlag, IKE_HEADER_LENGTH } from '../constants.js';
import type { Reader } from './reader.js';
import type { IkeHeader } from './types.js';
import { Writer } from './writer.js';

const SPI_LENGTH = 8;
const IKE_MAJOR_VERSION = 2;

export function decodeHeader(r: Reader): IkeHeader {
  if (r.remaining < IKE_HEADER_LENGTH) r.fail('TRUNCATED', `IKE header needs ${IKE_HEADER_LENGTH} octets, ${r.remaining} left`);
  const spiI = r.bytes(SPI_LENGTH, "initiator's SPI");
  const spiR = r.bytes(SPI_LENGTH, "responder's SPI");
  const nextPayload = r.u8('next payload');
  const version = r.u8('version');
  const exchange = r.u8('exchange type');
  const flags = r.u8('flags');
  const messageId = r.u32('message id');
  const length = r.u32('length');
  // RFC 7296 §2.5: a major version other than ours is answered with INVALID_MAJOR_VERSION.
  if (version >> 4 !== IKE_MAJOR_VERSION) {
    r.fail('INVALID_MAJOR_VERSION', `major version ${version >> 4}, only ${IKE_MAJOR_VERSION} is supported`);
  }
  if (length < IKE_HEADER_LENGTH) r.fail('BAD_LENGTH', `message length ${length} is below the ${IKE_HEADER_LENGTH}-octet header`);
  const h: { -readonly [K in keyof IkeHeader]: IkeHeader[K] } = {
    spiI,
    spiR,
    nextPayload,
    version,
    exchange,
    initiator: (flags & HeaderFlag.INITIATOR) !== 0,
    response: (flags & HeaderFlag.RESPONSE) !== 0,
    messageId,
    length,
  };
  if (flags & HeaderFlag.VERSION) h.higherVersion = true;
  return h;
}

/**
 * Writes the header with a placeholder Length and returns the function that
 * patches it, so `encodeMessage` can write header and payloads into one buffer.
 */
export function writeHeader(h: Omit<IkeHeader, 'length'>, w: Writer): (length: number) => void {
  if (h.spiI.length !== SPI_LENGTH || h.spiR.length !== SPI_LENGTH) throw new RangeError('IKE SPIs are 8 octets');
  if (h.version >> 4 !== IKE_MAJOR_VERSION) throw new RangeError(`version 0x${h.version.toString(16)} is not IKEv2`);
  const flags =
    (h.initiator ? HeaderFlag.INITIATOR : 0) | (h.response ? HeaderFlag.RESPONSE : 0) | (h.higherVersion ? HeaderFlag.VERSION : 0);
  w.bytes(h.spiI).bytes(h.spiR).u8(h.nextPayload).u8(h.version).u8(h.exchange).u8(flags).u32(h.messageId);
  return w.placeholder32();
}

export function encodeHeader(h: IkeHeader): Uint8Array {
  const w = new Writer();
  writeHeader(h, w)(h.length);
  return w.finish();
}
