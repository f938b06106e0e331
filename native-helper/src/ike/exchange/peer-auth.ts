/**
 * Authenticating the gateway from its IKE_AUTH response (RFC 7296 §2.15):
 * its IDr against the identity the profile expects, then its AUTH payload,
 * either with our pre-shared key or with the key of a certificate that
 * chains to one of the profile's CAs and is bound to that identity
 * (RFC 4945 §3.1, checked by pki/gateway-trust.ts).
 *
 *   ResponderSignedOctets = RealMessage2 | NonceIData | prf(SK_pr, IDr')
 */
import { AuthMethod, CertEncoding, PayloadType, authMethodName, idTypeName } from '../constants.js';
import type { Payload } from '../codec/types.js';
import { signedOctets, verifyPskAuthData, verifySignatureAuth } from '../crypto/auth.js';
import { makeFailure } from '../failures.js';
import { validateGatewayCertificate } from '../../pki/gateway-trust.js';
import { formatIdentity, identitiesEqual, identityFromPayload } from '../../pki/identity.js';
import type { Identity } from '../../pki/identity.js';
import type { ExchangeContext } from './context.js';
import { firstOf, payloadsOf } from './payloads.js';
import type { TaskFailure } from './task.js';

export interface PeerAuthenticated {
  readonly kind: 'authenticated';
  readonly identity: Identity;
  /** "psk", or the signature scheme, e.g. "ecdsa-sha256" */
  readonly method: string;
  /** the gateway certificate's subject, for the log */
  readonly certificate?: string;
}

const fail = (code: Parameters<typeof makeFailure>[0], message: string, fields?: Parameters<typeof makeFailure>[2]): TaskFailure => ({
  kind: 'failed',
  failure: makeFailure(code, message, fields),
});

/** The ID payload body as AUTH signs it: ID Type | RESERVED (3) | data (RFC 7296 §2.15, "RestOfInitIDPayload"). */
export function idBody(idType: number, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(4 + data.length);
  out[0] = idType;
  out.set(data, 4);
  return out;
}

const SIGNATURE_METHODS: ReadonlySet<number> = new Set([AuthMethod.RSA_SIG, AuthMethod.ECDSA_256, AuthMethod.ECDSA_384, AuthMethod.ECDSA_521, AuthMethod.DIGITAL_SIGNATURE]);

export function authenticatePeer(ctx: ExchangeContext, payloads: readonly Payload[]): PeerAuthenticated | TaskFailure {
  const keys = ctx.keys;
  const { initResponse } = ctx;
  if (keys === undefined || initResponse === undefined) throw new RangeError('IKE_AUTH before IKE_SA_INIT completed');
  const idr = firstOf(payloads, PayloadType.IDr);
  const auth = firstOf(payloads, PayloadType.AUTH);
  if (idr === undefined || auth === undefined) {
    return fail('PROTOCOL_ERROR', `The gateway's IKE_AUTH response lacks ${idr === undefined ? 'its identity (IDr)' : 'its AUTH payload'}.`);
  }
  const identity = identityFromPayload(idr.idType, idr.data);
  if ('error' in identity) {
    return fail('PEER_AUTH_FAILED', `The gateway's identity (${idTypeName(idr.idType)}) could not be read: ${identity.error}`, { idType: idTypeName(idr.idType) });
  }
  const presented = formatIdentity(identity);
  const c = ctx.config;
  const octets = signedOctets({ message: initResponse, peerNonce: ctx.nonceI, prf: keys.prf, skP: keys.skPr, idBody: idBody(idr.idType, idr.data) });

  if (auth.method === AuthMethod.PSK) {
    if (c.auth.method !== 'psk') {
      return fail('PEER_AUTH_FAILED', `The gateway "${presented}" authenticated with a pre-shared key, but this profile authenticates gateways by certificate only.`, {
        presented,
        method: 'PSK',
      });
    }
    const expected = c.remoteId ?? c.trust.serverName;
    if (expected !== undefined && !identitiesEqual(identity, expected)) {
      return fail('IDENTITY_MISMATCH', `The gateway identified itself as "${presented}", but the profile expects "${formatIdentity(expected)}".`, {
        presented,
        expected: formatIdentity(expected),
      });
    }
    if (!verifyPskAuthData(keys.prf, c.auth.psk, octets, auth.data)) {
      return fail(
        'PEER_AUTH_FAILED',
        `The gateway "${presented}" sent an AUTH value that does not match our pre-shared key: its key differs from ours, or someone is impersonating it.`,
        { presented, method: 'PSK' },
      );
    }
    return { kind: 'authenticated', identity, method: 'psk' };
  }

  if (!SIGNATURE_METHODS.has(auth.method)) {
    return fail('PEER_AUTH_FAILED', `The gateway "${presented}" used AUTH method ${authMethodName(auth.method)}, which we do not accept.`, { presented, method: authMethodName(auth.method) });
  }
  if (c.trust.caCertificates.length === 0) {
    return fail('CERT_UNTRUSTED', `The gateway "${presented}" authenticated with a certificate, but the profile has no CA certificate to check it against.`, { presented });
  }
  const certs = payloadsOf(payloads, PayloadType.CERT).filter((p) => p.encoding === CertEncoding.X509_SIGNATURE);
  const leaf = certs[0];
  if (leaf === undefined) {
    return fail('CERT_INVALID', `The gateway "${presented}" authenticated with a signature but sent no X.509 certificate (CERT payload); we do not look certificates up.`, { presented });
  }
  const expected = c.remoteId ?? c.trust.serverName;
  const validation = validateGatewayCertificate({
    leaf: leaf.data,
    intermediates: certs.slice(1).map((x) => x.data),
    trustAnchors: c.trust.caCertificates,
    now: new Date(ctx.now),
    peerId: identity,
    ...(expected === undefined ? {} : { expectedName: expected }),
    // An explicit remote identity must be the IDr too; a mere server name (what the user typed) need only be in the certificate.
    expectedNameMatch: c.remoteId !== undefined ? 'idr-and-certificate' : 'certificate',
  });
  if (!validation.ok) {
    const e = validation.error;
    return { kind: 'failed', failure: makeFailure(e.code, e.message, { ...e.fields, presented }) };
  }
  const verdict = verifySignatureAuth({ method: auth.method, data: auth.data, publicKey: validation.leaf.publicKey, octets });
  if (!verdict.ok) {
    return fail('PEER_AUTH_FAILED', `The gateway "${presented}" sent an AUTH signature that does not verify with its certificate (${verdict.reason}).`, {
      presented,
      certificate: validation.leaf.subject,
      reason: verdict.reason,
    });
  }
  return { kind: 'authenticated', identity, method: verdict.scheme, certificate: validation.leaf.subject };
}
