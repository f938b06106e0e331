/**
 * AUTH payload computation (RFC 7296 §2.15): the signed octets, shared-key
 * (PSK and EAP MSK) authentication, and — re-exported from
 * signature-auth.ts — signature authentication (RFC 7427, RFC 4754).
 */
import { concatBytes, constantTimeEqual, wipe } from './bytes.js';
import type { Prf } from './prf.js';

export { MIN_RSA_BITS, SUPPORTED_HASH_ALGORITHMS, createSignatureAuth, verifySignatureAuth } from './signature-auth.js';
export type { CreateSignatureAuthInput, SignatureAuth, SignatureVerdict, VerifySignatureAuthInput } from './signature-auth.js';

export interface SignedOctetsInput {
  /** the whole IKE_SA_INIT message this side sent (RealMessage1 / RealMessage2), header included */
  readonly message: Uint8Array;
  /** the other side's Nonce Data (NonceRData for the initiator) */
  readonly peerNonce: Uint8Array;
  readonly prf: Prf;
  /** this side's SK_pi (initiator) or SK_pr (responder) */
  readonly skP: Uint8Array;
  /** ID payload body: ID type (1) | reserved (3) | identification data */
  readonly idBody: Uint8Array;
}

/**
 * RFC 7296 §2.15:
 *   InitiatorSignedOctets = RealMessage1 | NonceRData | MACedIDForI
 *   MACedIDForI = prf(SK_pi, RestOfInitIDPayload)
 * (and the responder's mirror image). The same octets are used to verify
 * the peer, with its message, our nonce and its SK_p/ID.
 */
export function signedOctets(p: SignedOctetsInput): Uint8Array {
  if (p.idBody.length < 4) throw new RangeError(`ID payload body must be at least 4 octets, got ${p.idBody.length}`);
  return concatBytes(p.message, p.peerNonce, p.prf.compute(p.skP, p.idBody));
}

/** RFC 7296 §2.15: the 17 ASCII characters, no terminator */
const KEY_PAD = new TextEncoder().encode('Key Pad for IKEv2');

/**
 * AUTH = prf(prf(Shared Secret, "Key Pad for IKEv2"), <SignedOctets>)
 * for PSK (RFC 7296 §2.15) and for EAP, where the shared secret is the MSK
 * (§2.16).
 */
export function pskAuthData(prf: Prf, psk: Uint8Array, octets: Uint8Array): Uint8Array {
  const padded = prf.compute(psk, KEY_PAD);
  const auth = prf.compute(padded, octets);
  wipe(padded);
  return auth;
}

/** Checks a received shared-key AUTH value in constant time. */
export function verifyPskAuthData(prf: Prf, psk: Uint8Array, octets: Uint8Array, received: Uint8Array): boolean {
  return constantTimeEqual(pskAuthData(prf, psk, octets), received);
}
