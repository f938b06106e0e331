/**
 * The two EAP-TLS key derivations found on TLS 1.3 gateways, as parameters
 * of the RFC 8446 §7.5 exporter (node:tls exportKeyingMaterial, i.e.
 * OpenSSL's SSL_export_keying_material):
 *
 *   TLS-Exporter(label, context, length) =
 *     HKDF-Expand-Label(Derive-Secret(exporter_master_secret, label, ""),
 *                       "exporter", Hash(context), length)
 *
 * The MSK is the first 64 octets in both. The length is part of
 * HKDF-Expand-Label's HkdfLabel (RFC 8446 §7.1), so 128 octets cut to 64 is
 * not the same as asking for 64.
 *
 * - 'rfc9190' (RFC 9190 §2.3): label "EXPORTER_EAP_TLS_Key_Material",
 *   context the EAP Type-Code 0x0D, 128 octets (MSK, then EMSK).
 * - 'pre-rfc9190': label "client EAP encryption" (RFC 5216's), empty context,
 *   128 octets. strongSwan's libtls before its RFC 9190 fixes: tls_crypto.c
 *   derive_app_keys() exports its RFC 5216 msk_label with an empty context
 *   and 128 octets ("the same number of bytes as FreeRADIUS"), right after
 *   the server's Finished, i.e. over the standard transcript (ClientHello ..
 *   server Finished), so OpenSSL's exporter reproduces it. Upstream later
 *   replaced it (commit 06abdf1 "tls-crypto: Fix MSK calculation for TLS
 *   1.3 ... now fixed according to RFC 9190") and, in the next commit
 *   (5401a74), made the eap-tls plugin send the RFC 9190 "protected success
 *   indication" 0x00 (2023) — both after 5.9.8 (October 2022), the version
 *   Debian 12 ships and the lab runs. Hence the tell eap-tls.ts uses: a
 *   TLS 1.3 EAP-Success without that indication comes from the old code.
 */
import { EapType } from '../ike/constants.js';

export type Tls13MskVariant = 'rfc9190' | 'pre-rfc9190';

export interface ExporterParams {
  readonly label: string;
  /** undefined: no context (for TLS 1.3 the same as empty, RFC 8446 §7.5) */
  readonly context?: Uint8Array;
  readonly length: number;
}

export const TLS13_MSK: Readonly<Record<Tls13MskVariant, ExporterParams>> = {
  rfc9190: { label: 'EXPORTER_EAP_TLS_Key_Material', context: Uint8Array.of(EapType.TLS), length: 128 },
  'pre-rfc9190': { label: 'client EAP encryption', length: 128 },
};
