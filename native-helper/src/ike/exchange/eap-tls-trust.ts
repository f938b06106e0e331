/**
 * EAP-TLS inside IKE_AUTH: the gateway's EAP server certificate is judged
 * exactly like its IKE certificate (RFC 5216 §5.2/§5.3: the peer checks the
 * server's chain and name): pki/gateway-trust.ts against the profile's CAs,
 * bound to the identity the gateway already proved in IKE_AUTH (its IDr)
 * and carrying the profile's remote identity or server name.
 */
import { validateGatewayCertificate } from '../../pki/gateway-trust.js';
import type { Identity } from '../../pki/identity.js';
import type { ServerVerdict } from '../../eap/eap-tls.js';
import type { EapPeer } from '../../eap/peer.js';
import type { ExchangeContext } from './context.js';

export function verifyEapServer(ctx: ExchangeContext, chain: readonly Uint8Array[], gatewayIdentity: Identity | undefined): ServerVerdict {
  const c = ctx.config;
  const [leaf, ...intermediates] = chain;
  if (leaf === undefined) return { ok: false, code: 'CERT_INVALID', message: 'the EAP-TLS server sent no certificate.' };
  if (gatewayIdentity === undefined) return { ok: false, code: 'PEER_AUTH_FAILED', message: 'EAP-TLS before the gateway authenticated in IKE.' };
  const expected = c.remoteId ?? c.trust.serverName;
  const v = validateGatewayCertificate({
    leaf,
    intermediates,
    trustAnchors: c.trust.caCertificates,
    now: new Date(ctx.now),
    peerId: gatewayIdentity,
    ...(expected === undefined ? {} : { expectedName: expected }),
    expectedNameMatch: c.remoteId !== undefined ? 'idr-and-certificate' : 'certificate',
  });
  if (v.ok) return { ok: true, subject: v.leaf.subject };
  return { ok: false, code: v.error.code, message: v.error.message };
}

/** Secret-free EAP-TLS details for the eap.succeeded event. */
export function tlsFields(eap: EapPeer): Record<string, string | number | boolean> {
  const t = eap.tlsInfo;
  if (t === undefined) return {};
  return { tlsVersion: t.version ?? 'unknown', tlsCommitment: t.committed, tlsMsk: t.msk, tlsFragmentsIn: t.fragmentsIn, tlsFragmentsOut: t.fragmentsOut };
}

/**
 * EAP-TLS over TLS 1.3 with a gateway that sent no RFC 9190 commitment
 * message: we took its pre-RFC 9190 key derivation (eap/tls13-msk.ts). Said
 * in the log when it happens, and in the failure when the gateway then
 * refuses our AUTH, so the fallback is never silent.
 */
export function preRfc9190Note(eap: EapPeer | undefined): string | undefined {
  if (eap?.tlsInfo?.msk !== 'pre-rfc9190') return undefined;
  return "the gateway ran EAP-TLS over TLS 1.3 without the RFC 9190 commitment message, as strongSwan's libtls did before its RFC 9190 support (e.g. 5.9.8), so the EAP key was derived that way (TLS exporter \"client EAP encryption\", 128 octets)";
}
