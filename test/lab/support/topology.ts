// The lab's fixed addresses, names and gateway configurations, as typed
// constants for suite authors. The same data lives in topology.json for the
// shell and .mjs side (guest init, gateway config generator); the host
// orchestrator refuses to boot if the two differ (test/lab/lab.mjs), and the
// lab-self suite checks the live namespaces against these values.
//
//   netns client            netns gw                         netns lan
//   cl0 192.0.2.2/24  ----  gw0 192.0.2.1/24 (vpn.lab.example)
//       2001:db8:2::2/64        192.0.2.3/24 (vpn-rsa.lab.example)
//                               192.0.2.4/24 (vpn-ecp384.lab.example)
//                               2001:db8:2::1/64
//                           gw1 10.10.0.1/24, fd00:10::1/64  ----  lan0 10.10.0.10/24
//                                                                       fd00:10::10/64
// The gateway forwards client -> LAN only for traffic that an IPsec SA
// decapsulated: a lowest-priority XFRM block policy (fwd) guards the LAN
// (test/lab/guest/net.sh; nftables cannot filter IP in Debian's UML kernel).

export const LAB_TOPOLOGY = {
  netns: { client: 'client', gw: 'gw', lan: 'lan' },
  client: {
    netns: 'client',
    iface: 'cl0',
    ipv4: '192.0.2.2',
    ipv6: '2001:db8:2::2',
    prefix4: 24,
    prefix6: 64,
    defaultVia4: '192.0.2.1',
    defaultVia6: '2001:db8:2::1',
  },
  gw: {
    netns: 'gw',
    outsideIface: 'gw0',
    insideIface: 'gw1',
    outside4: ['192.0.2.1', '192.0.2.3', '192.0.2.4'],
    outside6: '2001:db8:2::1',
    inside4: '10.10.0.1',
    inside6: 'fd00:10::1',
    prefix4: 24,
    prefix6: 64,
  },
  lan: {
    netns: 'lan',
    iface: 'lan0',
    ipv4: '10.10.0.10',
    ipv6: 'fd00:10::10',
    prefix4: 24,
    prefix6: 64,
    subnet4: '10.10.0.0/24',
    subnet6: 'fd00:10::/64',
    defaultVia4: '10.10.0.1',
    defaultVia6: 'fd00:10::1',
    ports: { iperf3: 5201, echo: 7, discard: 9 },
  },
  pool: {
    name4: 'rw-pool-v4',
    name6: 'rw-pool-v6',
    ipv4: '10.99.0.0/24',
    ipv6: 'fd00:99::/112',
    dns4: '10.10.0.53',
    dns6: 'fd00:10::53',
    dnsDomain: 'lab.example',
    // INTERNAL_DNS_DOMAIN, RFC 8598 §4 (configuration attribute type 25).
    dnsDomainAttribute: 25,
  },
  gateways: {
    main: { address: '192.0.2.1', address6: '2001:db8:2::1', id: 'vpn.lab.example' },
    rsa: { address: '192.0.2.3', id: 'vpn-rsa.lab.example' },
    ecp384: { address: '192.0.2.4', id: 'vpn-ecp384.lab.example' },
  },
  identities: {
    pskClient: 'psk-client@lab.example',
    alice: { email: 'alice@lab.example', dn: 'C=XX, O=VPN Lab, OU=Users, CN=alice@lab.example' },
    bob: { email: 'bob@lab.example', dn: 'C=XX, O=VPN Lab, OU=Users, CN=bob@lab.example' },
    carol: { eapId: 'carol', ikeId: 'carol@lab.example' },
    // an EAP user with a valid password whose account the gateway refuses (rw-eap-refused: a
    // `groups` constraint nobody meets), for the "account refused" case of ike-interop
    dave: { eapId: 'dave', ikeId: 'dave@lab.example' },
    // a PSK client of its own, so that rw-rekey (short CHILD_SA lifetime) is chosen by identity
    rekeyClient: 'rekey-client@lab.example',
    // a PSK client of its own, so that rw-ikerekey (short IKE SA rekey time) is chosen by identity
    ikeRekeyClient: 'ikerekey-client@lab.example',
    // a PSK client of its own, so that rw-nomobike (the gateway without MOBIKE) is chosen by identity (roaming suite)
    roamClient: 'roam-client@lab.example',
    // a PSK client of its own, so that rw-reauth (reauth_time 25 s, RFC 4478) is chosen by identity (reauth suite)
    reauthClient: 'reauth-client@lab.example',
  },
  // Subject DNs of the generated CAs. The "evil" CA deliberately looks like the
  // real ECDSA CA; the gateway does not trust it (negative tests).
  ca: {
    ecdsa: 'C=XX, O=VPN Lab, CN=VPN Lab ECDSA Root CA',
    rsa: 'C=XX, O=VPN Lab, CN=VPN Lab RSA Root CA',
    evil: 'C=XX, O=VPN Lab, CN=VPN Lab ECDSA Root CA',
  },
  // strongSwan proposal keywords, in the gateway's order of preference.
  proposals: {
    mainIke: [
      'aes256gcm16-prfsha256-ecp256',
      'aes128gcm16-prfsha256-ecp256',
      'aes256-sha256-modp2048',
      'chacha20poly1305-prfsha256-x25519',
      'default',
    ],
    mainEsp: ['aes256gcm16', 'aes128gcm16', 'aes256-sha256', 'chacha20poly1305'],
    // Only group 20: a client whose first KE is group 19 gets INVALID_KE_PAYLOAD
    // and must retry with group 20 (RFC 7296 §1.2).
    ecp384Ike: ['aes256gcm16-prfsha384-ecp384'],
    ecp384Esp: ['aes256gcm16'],
  },
  // Gateway connections (swanctl names). charon selects the IKE config by the
  // local address the client talks to, then the peer config by identities.
  connections: {
    'rw-psk': { gateway: 'main', localAuth: 'psk', remoteAuth: 'psk', remoteId: 'psk-client@lab.example', ike: 'mainIke', esp: 'mainEsp' },
    'rw-ecdsa': { gateway: 'main', localAuth: 'pubkey', remoteAuth: 'pubkey', remoteId: '%any', ca: 'ecdsa', ike: 'mainIke', esp: 'mainEsp' },
    'rw-eap': { gateway: 'main', localAuth: 'pubkey', remoteAuth: 'eap-mschapv2', remoteId: '%any', eapId: 'carol', ike: 'mainIke', esp: 'mainEsp' },
    'rw-rsa': { gateway: 'rsa', localAuth: 'pubkey', remoteAuth: 'pubkey', remoteId: '%any', ca: 'rsa', ike: 'mainIke', esp: 'mainEsp' },
    'rw-ecp384': { gateway: 'ecp384', localAuth: 'psk', remoteAuth: 'psk', remoteId: 'psk-client@lab.example', ike: 'ecp384Ike', esp: 'ecp384Esp' },
    // The gateway rekeys this connection's CHILD_SA every childRekeyS seconds (ike-lifecycle suite).
    'rw-rekey': { gateway: 'main', localAuth: 'psk', remoteAuth: 'psk', remoteId: 'rekey-client@lab.example', ike: 'mainIke', esp: 'mainEsp', childRekeyS: 8, childLifeS: 30, reauthS: 120 },
    // The gateway rekeys this connection's IKE SA every ikeRekeyS seconds (ike-lifecycle suite, RFC 7296 §2.18).
    'rw-ikerekey': { gateway: 'main', localAuth: 'psk', remoteAuth: 'psk', remoteId: 'ikerekey-client@lab.example', ike: 'mainIke', esp: 'mainEsp', ikeRekeyS: 10 },
    // The gateway asks for a new sign-in every reauthS seconds (AUTH_LIFETIME, RFC 4478; charon sends reauth_time minus up
    // to its 10 % rand_time and deletes the IKE SA over_time after it): Strait reauthenticates make-before-break (reauth suite).
    'rw-reauth': { gateway: 'main', localAuth: 'psk', remoteAuth: 'psk', remoteId: 'reauth-client@lab.example', ike: 'mainIke', esp: 'mainEsp', reauthS: 25 },
    // The gateway does not take part in MOBIKE (charon `mobike = no`): a roaming client must reconnect (roaming suite).
    'rw-nomobike': { gateway: 'main', localAuth: 'psk', remoteAuth: 'psk', remoteId: 'roam-client@lab.example', ike: 'mainIke', esp: 'mainEsp', mobike: false },
    // EAP-TLS (RFC 5216) after the gateway's certificate: matched by the client's DN as IDi (the ECDSA case uses its e-mail),
    // the EAP identity is its e-mail, which charon's eap-tls requires in the client certificate (ike-interop suite).
    'rw-eap-tls': { gateway: 'main', localAuth: 'pubkey', remoteAuth: 'eap-tls', remoteId: 'C=XX, O=VPN Lab, OU=Users, CN=alice@lab.example', ike: 'mainIke', esp: 'mainEsp' },
  },
  // Every gateway connection has one CHILD_SA config of this name, protecting localTs.
  childName: 'lan',
  localTs: ['10.10.0.0/24', 'fd00:10::/64'],
  viciSockets: { gw: '/run/lab/gw/charon.vici' },
  // A home router between a second client interface and the gateway, built on
  // demand by `net.sh nat up` (network suite): client cl1 192.168.50.2 ->
  // nat1 192.168.50.1 | nat0 203.0.113.2 (MASQUERADE, iptables-legacy) -> gw2
  // 203.0.113.1. The client reaches the gateway through it only from
  // 192.168.50.2 (rule `from client4 lookup clientTable`), so every other
  // suite keeps the direct path.
  nat: {
    netns: 'nat',
    insideIface: 'nat1',
    outsideIface: 'nat0',
    inside4: '192.168.50.1',
    outside4: '203.0.113.2',
    prefix4: 24,
    clientIface: 'cl1',
    client4: '192.168.50.2',
    gwIface: 'gw2',
    gw4: '203.0.113.1',
    clientTable: 150,
    clientRulePref: 150,
  },
} as const;

export type LabTopology = typeof LAB_TOPOLOGY;
export type Netns = keyof LabTopology['netns'];
export type GatewayRole = keyof LabTopology['gateways'];
export type GatewayConnection = keyof LabTopology['connections'];

export const NETNS = LAB_TOPOLOGY.netns;
export const CLIENT = LAB_TOPOLOGY.client;
export const GW = LAB_TOPOLOGY.gw;
export const LAN = LAB_TOPOLOGY.lan;
export const POOL = LAB_TOPOLOGY.pool;
export const GATEWAYS = LAB_TOPOLOGY.gateways;
export const IDENTITIES = LAB_TOPOLOGY.identities;
export const CONNECTIONS = LAB_TOPOLOGY.connections;
export const PROPOSALS = LAB_TOPOLOGY.proposals;
export const NAT = LAB_TOPOLOGY.nat;
