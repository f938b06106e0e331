/**
 * Certificate Request payload, RFC 7296 §3.7.
 *
 *                      1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * | Next Payload  |C|  RESERVED   |         Payload Length        |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * | Cert Encoding |                                               |
 * +-+-+-+-+-+-+-+-+                                               |
 * ~                    Certification Authority                    ~
 * |                                                               |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 * For the X.509 encodings (4, 12, 13) the Certification Authority field is
 * "a concatenated list of SHA-1 hashes" of trust anchors' public keys, so
 * its length is a multiple of 20. An empty list is accepted: some peers send
 * an empty CERTREQ to say "any CA".
 */
import { CertEncoding } from '../../constants.js';
import type { Reader } from '../reader.js';
import type { CertReqPayload } from '../types.js';
import type { Writer } from '../writer.js';
import type { PayloadBody } from './payload-body.js';

export type CertReqBody = PayloadBody<CertReqPayload>;

const SHA1_LENGTH = 20;

function holdsSha1List(encoding: number): boolean {
  return encoding === CertEncoding.X509_SIGNATURE || encoding === CertEncoding.HASH_URL_X509 || encoding === CertEncoding.HASH_URL_BUNDLE;
}

export function decodeCertReq(r: Reader): CertReqBody {
  const encoding = r.u8('cert encoding');
  if (holdsSha1List(encoding) && r.remaining % SHA1_LENGTH !== 0) {
    r.fail('BAD_LENGTH', `Certification Authority length ${r.remaining} is not a multiple of ${SHA1_LENGTH} (SHA-1 hashes)`);
  }
  return { encoding, data: r.rest() };
}

export function encodeCertReq(p: CertReqBody, w: Writer): void {
  w.u8(p.encoding).bytes(p.data);
}
