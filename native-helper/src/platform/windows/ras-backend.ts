/**
 * Windows backend — designed, not implemented. Every method rejects with
 * `PlatformUnsupportedError`.
 *
 * Design. On Windows the OS runs IKEv2 itself (RasMan + the IKEEXT service),
 * so Strait's own IKEv2 engine is not used and `installChildSa` never
 * happens: the daemon's Windows session drives RAS instead.
 * - Profile → a RAS phonebook entry named `Strait-<profile id>` in a
 *   Strait-owned phonebook file (RasSetEntryProperties with
 *   VpnStrategy = VS_Ikev2Only, or PowerShell `Add-VpnConnection
 *   -TunnelType Ikev2` + `Set-VpnConnectionIPsecConfiguration` for the
 *   RFC 8221 proposals).
 * - Dial with the RasDial API from a small native tool that receives the
 *   EAP password on stdin. Never `rasdial.exe <entry> <user> <password>`:
 *   that puts the secret on the command line (DESIGN.md secrets rule).
 *   Machine certificates: the certificate is imported into the machine
 *   store for the duration of the connection.
 * - Split tunnel: `-SplitTunneling` + `Add-VpnConnectionRoute` for the
 *   remote networks; full tunnel: the default route through the VPN
 *   interface. DNS: the interface DNS servers from the CP reply, split DNS
 *   through NRPT rules (`Add-VpnConnectionTriggerDnsConfiguration`).
 * - Counters: RasGetConnectionStatistics.
 * - Teardown: RasHangUp, delete the phonebook entry, remove NRPT rules and
 *   imported certificates. Sweep: every `Strait-*` entry/rule found at start.
 */
import { UnsupportedBackend } from '../unsupported.js';

export class WindowsRasBackend extends UnsupportedBackend {
  readonly name = 'windows-ras';
  protected readonly targetPlatform = 'win32';
}
