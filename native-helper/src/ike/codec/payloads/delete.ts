/**
 * Delete payload, RFC 7296 §3.11.
 *
 *                      1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * | Next Payload  |C|  RESERVED   |         Payload Length        |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * | Protocol ID   |   SPI Size    |          Num of SPIs          |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                                                               |
 * ~               Security Parameter Index(es) (SPI)              ~
 * |                                                               |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 * "Deletion of the IKE SA is indicated by a protocol ID of 1 (IKE) but no
 * SPIs"; for AH and ESP the SPI Size is 4. So the SPI size follows from
 * the protocol, and the typed form holds only the protocol and the SPIs.
 */
import { ProtocolId } from '../../constants.js';
import type { Reader } from '../reader.js';
import type { DeletePayload } from '../types.js';
import type { Writer } from '../writer.js';
import type { PayloadBody } from './payload-body.js';

export type DeleteBody = PayloadBody<DeletePayload>;

const CHILD_SPI_SIZE = 4;

export function decodeDelete(r: Reader): DeleteBody {
  const protocol = r.u8('protocol id');
  const spiSize = r.u8('SPI size');
  const count = r.u16('number of SPIs');
  if (protocol === ProtocolId.IKE) {
    if (spiSize !== 0 || count !== 0) r.fail('INVALID_VALUE', `an IKE SA delete has no SPIs (SPI size ${spiSize}, ${count} SPI(s))`);
  } else if (protocol === ProtocolId.AH || protocol === ProtocolId.ESP) {
    if (spiSize !== CHILD_SPI_SIZE) r.fail('INVALID_VALUE', `SPI size ${spiSize} for protocol ${protocol}, must be ${CHILD_SPI_SIZE}`);
    if (count === 0) r.fail('INVALID_VALUE', 'a Child SA delete with no SPIs');
  } else {
    r.fail('INVALID_VALUE', `unknown protocol id ${protocol}`);
  }
  if (r.remaining !== count * spiSize) {
    r.fail('BAD_LENGTH', `${count} SPI(s) of ${spiSize} octets need ${count * spiSize} octet(s), the payload holds ${r.remaining}`);
  }
  const spis: Uint8Array[] = [];
  for (let i = 0; i < count; i++) spis.push(r.bytes(spiSize, 'SPI'));
  return { protocol, spis };
}

export function encodeDelete(p: DeleteBody, w: Writer): void {
  const ike = p.protocol === ProtocolId.IKE;
  if (ike && p.spis.length !== 0) throw new RangeError('an IKE SA delete carries no SPIs');
  if (!ike && p.protocol !== ProtocolId.AH && p.protocol !== ProtocolId.ESP) throw new RangeError(`unknown protocol id ${p.protocol}`);
  if (!ike && p.spis.length === 0) throw new RangeError('a Child SA delete needs at least one SPI');
  const size = ike ? 0 : CHILD_SPI_SIZE;
  w.u8(p.protocol).u8(size).u16(p.spis.length);
  for (const spi of p.spis) {
    if (spi.length !== size) throw new RangeError(`SPI of ${spi.length} octets, must be ${size}`);
    w.bytes(spi);
  }
}
