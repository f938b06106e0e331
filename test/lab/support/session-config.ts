/**
 * The lab's baseline IkeSessionConfig for suites that drive IkeSession directly
 * (ike-interop, ike-lifecycle, network): the PSK client against the main
 * gateway, split tunnel to the LAN, default proposals. Suites override what
 * their case is about.
 */
import { parseEspProposals, parseIkeProposals } from '../../../native-helper/src/ike/proposals.js';
import type { IkeSessionConfig } from '../../../native-helper/src/ike/session.js';
import { selectorFromCidr } from '../../../native-helper/src/ike/traffic-selectors.js';
import { parseIdentity } from '../../../native-helper/src/pki/identity.js';
import { labSecret } from './guest.js';
import { CLIENT, GATEWAYS, IDENTITIES, LAN } from './topology.js';

export function labPskSessionConfig(over: Partial<IkeSessionConfig> = {}): IkeSessionConfig {
  return {
    local: { address: CLIENT.ipv4, port: 500 },
    remote: { address: GATEWAYS.main.address, port: 500 },
    localId: parseIdentity(IDENTITIES.pskClient),
    remoteId: parseIdentity(GATEWAYS.main.id),
    auth: { method: 'psk', psk: new TextEncoder().encode(labSecret('psk')) },
    trust: { caCertificates: [] },
    ikeProposals: parseIkeProposals([]),
    espProposals: parseEspProposals([]),
    trafficSelectors: { local: [selectorFromCidr('0.0.0.0/0')], remote: [selectorFromCidr(LAN.subnet4)] },
    requestConfig: { ipv4: true, ipv6: false, dns: false },
    forceEncapsulation: false,
    fragmentation: true,
    ikeMtu: 1280,
    // UML is slow: the first ECDH or RSA operation can take a while on the gateway.
    retransmit: { timeoutMs: 2000, base: 1.8, tries: 3 },
    childLifetime: { soft: 3000, hard: 3600 },
    replayWindow: 64,
    ...over,
  };
}
