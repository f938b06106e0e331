/**
 * Whole IKE messages (RFC 7296 §3.1): header + payload chain.
 *
 * The input is the IKE message itself; on UDP port 4500 the daemon strips
 * the 4-octet non-ESP marker first (RFC 3948 §2.2).
 */
import { IKE_HEADER_LENGTH, exchangeName } from '../constants.js';
import type { DecodeResult } from './errors.js';
import { tryDecode } from './errors.js';
import { decodeHeader, writeHeader } from './header.js';
import { decodePayloadChain, writePayloadChain } from './payload-chain.js';
import { Reader } from './reader.js';
import type { IkeHeader, IkeMessage, Payload } from './types.js';
import { Writer } from './writer.js';

/**
 * Decodes one datagram. Never throws for malformed input: every problem is
 * returned as a DecodeError (the fuzzer checks that nothing else escapes).
 * Byte fields of the result are views into `datagram`, which the caller
 * must therefore not reuse while the message is in use.
 */
export function decodeMessage(datagram: Uint8Array): DecodeResult<IkeMessage> {
  return tryDecode(() => {
    // A plain Uint8Array view (no copy), so a Buffer input yields Uint8Array fields like any other.
    const bytes = new Uint8Array(datagram.buffer, datagram.byteOffset, datagram.byteLength);
    const r = new Reader(bytes, 'message');
    const header = decodeHeader(r);
    if (header.length > bytes.length) {
      r.fail('TRUNCATED', `header Length ${header.length} exceeds the ${bytes.length}-octet datagram`);
    }
    if (header.length < bytes.length) {
      r.fail('TRAILING_BYTES', `header Length ${header.length} is shorter than the ${bytes.length}-octet datagram`);
    }
    const payloads = decodePayloadChain(header.nextPayload, r.rest(), exchangeName(header.exchange), IKE_HEADER_LENGTH);
    return { header, payloads };
  });
}

/**
 * Encodes a message; Next Payload and Length are computed.
 *
 * When the last payload is SK/SKF its body is the last `body.length`
 * octets of the result, and everything before it (IKE header + SK generic
 * header) is the associated data (RFC 5282 §5.1) or the start of the
 * integrity-checked data (RFC 7296 §3.14). So the encryption layer can
 * encode with a zero-filled body of the final size, then write the
 * ciphertext into `msg.subarray(msg.length - body.length)`.
 */
export function encodeMessage(header: Omit<IkeHeader, 'length' | 'nextPayload'>, payloads: readonly Payload[]): Uint8Array {
  const w = new Writer();
  const patchLength = writeHeader({ ...header, nextPayload: payloads[0]?.type ?? 0 }, w);
  writePayloadChain(payloads, w);
  patchLength(w.length);
  return w.finish();
}
