/**
 * Certificate payload, RFC 7296 §3.6.
 *
 *                      1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * | Next Payload  |C|  RESERVED   |         Payload Length        |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * | Cert Encoding |                                               |
 * +-+-+-+-+-+-+-+-+                                               |
 * ~                       Certificate Data                        ~
 * |                                                               |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 * The data (a DER certificate for X509_SIGNATURE) is parsed by `pki/`.
 */
import type { Reader } from '../reader.js';
import type { CertPayload } from '../types.js';
import type { Writer } from '../writer.js';
import type { PayloadBody } from './payload-body.js';

export type CertBody = PayloadBody<CertPayload>;

export function decodeCert(r: Reader): CertBody {
  const encoding = r.u8('cert encoding');
  if (r.remaining === 0) r.fail('INVALID_VALUE', 'empty Certificate Data');
  return { encoding, data: r.rest() };
}

export function encodeCert(p: CertBody, w: Writer): void {
  w.u8(p.encoding).bytes(p.data);
}
