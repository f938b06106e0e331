/**
 * NAT detection (RFC 7296 §2.23): each side sends
 *   NAT_DETECTION_SOURCE_IP      = SHA-1(SPIi | SPIr | source IP | source port)
 *   NAT_DETECTION_DESTINATION_IP = SHA-1(SPIi | SPIr | destination IP | destination port)
 * with SPIr all zero in the first IKE_SA_INIT request. SHA-1 is what the
 * RFC fixes for these hashes; it is a fingerprint, not a security function.
 */
import { createHash } from 'node:crypto';

import type { Endpoint } from '../actions.js';
import { NotifyType, PayloadType } from '../constants.js';
import type { NotifyPayload, Payload } from '../codec/types.js';
import { parseAddress } from '../traffic-selectors.js';
import { constantTimeEqual } from '../crypto/bytes.js';
import type { NatState } from './context.js';

export function natHash(spiI: Uint8Array, spiR: Uint8Array, endpoint: Endpoint): Uint8Array {
  const address = parseAddress(endpoint.address);
  if (address === undefined) throw new RangeError(`not an IP address: ${endpoint.address}`);
  const port = Uint8Array.of(endpoint.port >> 8, endpoint.port & 0xff);
  return new Uint8Array(createHash('sha1').update(spiI).update(spiR).update(address).update(port).digest());
}

const notify = (notifyType: number, data: Uint8Array): NotifyPayload => ({ type: PayloadType.NOTIFY, protocol: 0, spi: new Uint8Array(0), notifyType, data });

/**
 * The two NAT detection notifies of our IKE_SA_INIT request. `fakeSource`
 * (random octets) makes the gateway believe we are behind a NAT, so that it
 * encapsulates ESP in UDP: how charon forces encapsulation (encap = yes).
 */
export function natDetectionNotifies(spiI: Uint8Array, local: Endpoint, remote: Endpoint, fakeSource?: Uint8Array): NotifyPayload[] {
  const zero = new Uint8Array(8);
  return [
    notify(NotifyType.NAT_DETECTION_SOURCE_IP, fakeSource ?? natHash(spiI, zero, local)),
    notify(NotifyType.NAT_DETECTION_DESTINATION_IP, natHash(spiI, zero, remote)),
  ];
}

/**
 * Reads the gateway's NAT detection notifies from its IKE_SA_INIT response.
 * Undefined when it sent none (no NAT-T support: then we never float).
 * Its DESTINATION hash is over our address as it saw it; its SOURCE hashes
 * (there may be several, §2.23) over its own.
 */
export function detectNat(payloads: readonly Payload[], spiI: Uint8Array, spiR: Uint8Array, local: Endpoint, remote: Endpoint): NatState | undefined {
  const sources: Uint8Array[] = [];
  let destination: Uint8Array | undefined;
  for (const p of payloads) {
    if (p.type !== PayloadType.NOTIFY || !('notifyType' in p)) continue;
    if (p.notifyType === NotifyType.NAT_DETECTION_SOURCE_IP) sources.push(p.data);
    if (p.notifyType === NotifyType.NAT_DETECTION_DESTINATION_IP) destination ??= p.data;
  }
  if (destination === undefined || sources.length === 0) return undefined;
  const ours = natHash(spiI, spiR, local);
  const theirs = natHash(spiI, spiR, remote);
  return {
    local: !constantTimeEqual(destination, ours),
    remote: !sources.some((s) => constantTimeEqual(s, theirs)),
  };
}
