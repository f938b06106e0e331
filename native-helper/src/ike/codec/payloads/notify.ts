/**
 * Notify payload, RFC 7296 §3.10.
 *
 *                      1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * | Next Payload  |C|  RESERVED   |         Payload Length        |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |  Protocol ID  |   SPI Size    |      Notify Message Type      |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                                                               |
 * ~                Security Parameter Index (SPI)                 ~
 * |                                                               |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                                                               |
 * ~                       Notification Data                       ~
 * |                                                               |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 * The Protocol ID "MUST be ignored on receipt" when there is no SPI, so it
 * is kept as sent (for round trips) and only checked against a non-empty
 * SPI. Notification data with a length fixed by its RFC is checked here,
 * as every consumer would otherwise have to.
 */
import { NotifyType, ProtocolId } from '../../constants.js';
import type { Reader } from '../reader.js';
import type { NotifyPayload } from '../types.js';
import type { Writer } from '../writer.js';
import type { PayloadBody } from './payload-body.js';

export type NotifyBody = PayloadBody<NotifyPayload>;

/** Allowed Notification Data lengths as [min, max], by notify type. */
const DATA_LENGTH: ReadonlyMap<number, readonly [number, number]> = new Map([
  /** RFC 7296 §3.10.1: the accepted group number, 2 octets */
  [NotifyType.INVALID_KE_PAYLOAD, [2, 2]],
  /** RFC 7296 §2.23: SHA-1(SPIs | IP | port) */
  [NotifyType.NAT_DETECTION_SOURCE_IP, [20, 20]],
  [NotifyType.NAT_DETECTION_DESTINATION_IP, [20, 20]],
  /** RFC 7296 §2.6: "between 1 and 64 octets" */
  [NotifyType.COOKIE, [1, 64]],
  /** RFC 4555 §3.4 */
  [NotifyType.ADDITIONAL_IP4_ADDRESS, [4, 4]],
  [NotifyType.ADDITIONAL_IP6_ADDRESS, [16, 16]],
] as const);

/** RFC 7296 §3.3.1 SPI sizes for a non-empty SPI. */
function spiSizeFor(protocol: number): number | undefined {
  switch (protocol) {
    case ProtocolId.IKE:
      return 8;
    case ProtocolId.AH:
    case ProtocolId.ESP:
      return 4;
    default:
      return undefined;
  }
}

export function decodeNotify(r: Reader): NotifyBody {
  const protocol = r.u8('protocol id');
  const spiSize = r.u8('SPI size');
  const notifyType = r.u16('notify type');
  if (spiSize !== 0 && spiSizeFor(protocol) !== spiSize) {
    r.fail('INVALID_VALUE', `SPI size ${spiSize} is not valid for protocol ${protocol}`);
  }
  const spi = r.bytes(spiSize, 'SPI');
  const data = r.rest();
  const bounds = DATA_LENGTH.get(notifyType);
  if (bounds !== undefined && (data.length < bounds[0] || data.length > bounds[1])) {
    const want = bounds[0] === bounds[1] ? `${bounds[0]}` : `${bounds[0]}..${bounds[1]}`;
    r.fail('INVALID_VALUE', `notify ${notifyType} carries ${data.length} octet(s) of data, must be ${want}`);
  }
  // RFC 7427 §4: a list of 2-octet hash algorithm numbers
  if (notifyType === NotifyType.SIGNATURE_HASH_ALGORITHMS && data.length % 2 !== 0) {
    r.fail('BAD_LENGTH', `SIGNATURE_HASH_ALGORITHMS data of ${data.length} octet(s) is not a list of 2-octet values`);
  }
  return { protocol, spi, notifyType, data };
}

export function encodeNotify(p: NotifyBody, w: Writer): void {
  w.u8(p.protocol).u8(p.spi.length).u16(p.notifyType).bytes(p.spi).bytes(p.data);
}
