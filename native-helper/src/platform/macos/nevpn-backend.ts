/**
 * macOS backend — designed, not implemented. Every method rejects with
 * `PlatformUnsupportedError`.
 *
 * Design. macOS runs IKEv2 itself (NetworkExtension's `NEVPNManager` with
 * `NEVPNProtocolIKEv2`), so Strait's IKEv2 engine is not used there and
 * `installChildSa` never happens.
 * - A small signed Swift tool (Personal VPN entitlement) creates or updates
 *   one NEVPN configuration named "Strait <profile>", with the proposals
 *   (`IKESecurityAssociationParameters`, `childSecurityAssociationParameters`),
 *   the identities and a reference to the credential in the System keychain
 *   (NEVPN takes a keychain persistent reference, never the secret itself).
 *   The Swift tool receives secrets on stdin, never argv.
 * - Split/full tunnel: `includeAllNetworks` / the remote networks from the
 *   gateway; DNS and split DNS (`NEDNSSettings.matchDomains`) are applied by
 *   the OS from the configuration payload.
 * - Counters: `NEVPNConnection` has none; `netstat -I utunN -b` on the
 *   tunnel's utun interface.
 * - Teardown: `stopVPNTunnel`, remove the configuration and the keychain
 *   items Strait added. Sweep: every "Strait *" configuration found at start.
 */
import { UnsupportedBackend } from '../unsupported.js';

export class MacosNevpnBackend extends UnsupportedBackend {
  readonly name = 'macos-nevpn';
  protected readonly targetPlatform = 'darwin';
}
