/**
 * The MS-CHAPv2 computations (RFC 2759 §8) and the MPPE key derivation
 * (RFC 3079 §3.4) an EAP-MSCHAPv2 peer needs, and the 64-octet MSK that
 * EAP hands to IKEv2 (RFC 7296 §2.16). All checked against the RFC 2759
 * §9.2 and RFC 3079 §3.5.3 worked examples in test/unit/eap.
 *
 * No secret leaves this module except as a derived value; callers wipe
 * what they no longer need.
 */
import { createHash } from 'node:crypto';

import { desEncrypt7, md4 } from './legacy-primitives.js';

const sha1 = (...parts: readonly Uint8Array[]): Uint8Array => {
  const h = createHash('sha1');
  for (const p of parts) h.update(p);
  return new Uint8Array(h.digest());
};

const ascii = (s: string): Uint8Array => new TextEncoder().encode(s);

/** RFC 2759 §8.3: NtPasswordHash = MD4(the password in UTF-16 little-endian, "Unicode"). */
export function ntPasswordHash(password: string): Uint8Array {
  const unicode = Buffer.from(password, 'utf16le');
  const hash = md4(unicode);
  unicode.fill(0);
  return hash;
}

/** RFC 2759 §8.4: HashNtPasswordHash = MD4(PasswordHash). */
export function hashNtPasswordHash(passwordHash: Uint8Array): Uint8Array {
  return md4(passwordHash);
}

/**
 * RFC 2759 §8.2: ChallengeHash = first 8 octets of
 * SHA1(PeerChallenge | AuthenticatorChallenge | UserName), where UserName
 * is the user name without a "DOMAIN\" prefix (RFC 2759 §4, as strongSwan
 * and Windows do).
 */
export function challengeHash(peerChallenge: Uint8Array, authenticatorChallenge: Uint8Array, userName: Uint8Array): Uint8Array {
  return sha1(peerChallenge, authenticatorChallenge, userName).subarray(0, 8);
}

/** RFC 2759 §8.5: three DES encryptions of the 8-octet challenge with the zero-padded 21-octet hash. */
export function challengeResponse(challenge: Uint8Array, passwordHash: Uint8Array): Uint8Array {
  if (passwordHash.length !== 16) throw new RangeError('the password hash must be 16 octets');
  const z = new Uint8Array(21);
  z.set(passwordHash);
  const out = new Uint8Array(24);
  for (let i = 0; i < 3; i++) out.set(desEncrypt7(challenge, z.subarray(7 * i, 7 * i + 7)), 8 * i);
  z.fill(0);
  return out;
}

/** RFC 2759 §8.1 GenerateNTResponse. */
export function generateNtResponse(authenticatorChallenge: Uint8Array, peerChallenge: Uint8Array, userName: Uint8Array, passwordHash: Uint8Array): Uint8Array {
  return challengeResponse(challengeHash(peerChallenge, authenticatorChallenge, userName), passwordHash);
}

/** RFC 2759 §8.7 */
const MAGIC1 = ascii('Magic server to client signing constant');
const MAGIC2 = ascii('Pad to make it do more than one iteration');

/**
 * RFC 2759 §8.7 GenerateAuthenticatorResponse: the 20 octets the gateway
 * proves it knows the password with ("S=" + 40 upper-case hex digits on
 * the wire).
 */
export function authenticatorResponse(
  passwordHash: Uint8Array,
  ntResponse: Uint8Array,
  peerChallenge: Uint8Array,
  authenticatorChallenge: Uint8Array,
  userName: Uint8Array,
): Uint8Array {
  const hashHash = hashNtPasswordHash(passwordHash);
  const digest = sha1(hashHash, ntResponse, MAGIC1);
  hashHash.fill(0);
  return sha1(digest, challengeHash(peerChallenge, authenticatorChallenge, userName), MAGIC2);
}

/** RFC 3079 §3.4 */
const MPPE_MAGIC1 = ascii('This is the MPPE Master Key');
const MPPE_MAGIC2 = ascii('On the client side, this is the send key; on the server side, it is the receive key.');
const MPPE_MAGIC3 = ascii('On the client side, this is the receive key; on the server side, it is the send key.');
const SHS_PAD1 = new Uint8Array(40);
const SHS_PAD2 = new Uint8Array(40).fill(0xf2);

/** RFC 3079 §3.4 GetMasterKey: 16 octets. */
export function masterKey(passwordHashHash: Uint8Array, ntResponse: Uint8Array): Uint8Array {
  return sha1(passwordHashHash, ntResponse, MPPE_MAGIC1).subarray(0, 16);
}

/**
 * RFC 3079 §3.4 GetAsymmetricStartKey with a 16-octet key: `magic2` is the
 * client's send key (= the server's receive key), `magic3` the reverse.
 */
export function asymmetricStartKey(master: Uint8Array, which: 'magic2' | 'magic3'): Uint8Array {
  return sha1(master, SHS_PAD1, which === 'magic2' ? MPPE_MAGIC2 : MPPE_MAGIC3, SHS_PAD2).subarray(0, 16);
}

/**
 * The EAP-MSCHAPv2 MSK: MasterReceiveKey | MasterSendKey as the
 * authenticator names them (= the peer's send key, then its receive key),
 * padded with 32 zero octets to the 64 octets RFC 3748 §7.10 requires of
 * an MSK. Peer and server both derive this order (wpa_supplicant,
 * hostapd and strongSwan agree), and the lab interop test proves it.
 */
export function mschapv2Msk(passwordHash: Uint8Array, ntResponse: Uint8Array): Uint8Array {
  const hashHash = hashNtPasswordHash(passwordHash);
  const master = masterKey(hashHash, ntResponse);
  const msk = new Uint8Array(64);
  msk.set(asymmetricStartKey(master, 'magic2'), 0);
  msk.set(asymmetricStartKey(master, 'magic3'), 16);
  hashHash.fill(0);
  master.fill(0);
  return msk;
}
