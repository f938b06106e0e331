/**
 * IKE SA and CHILD SA key material (RFC 7296 §2.13–§2.18).
 *
 *   SKEYSEED = prf(Ni | Nr, g^ir)                                       §2.14
 *   {SK_d | SK_ai | SK_ar | SK_ei | SK_er | SK_pi | SK_pr}
 *            = prf+(SKEYSEED, Ni | Nr | SPIi | SPIr)                    §2.14
 *   SKEYSEED = prf(SK_d (old), g^ir (new) | Ni | Nr)   on IKE SA rekey  §2.18
 *   KEYMAT   = prf+(SK_d, [g^ir (new) |] Ni | Nr)       for CHILD SAs   §2.17
 *
 * Ni/Nr are nonce payload bodies, SPIi/SPIr the 8-octet SPIs in header
 * order, and "i"/"r" always mean the original initiator/responder of the
 * exchange in question (for a rekey, of the CREATE_CHILD_SA exchange).
 */
import { PrfId } from '../constants.js';
import { concatBytes, wipe } from './bytes.js';
import { prfPlus } from './prf.js';
import type { Prf } from './prf.js';

export interface IkeKeys {
  readonly skD: Uint8Array;
  readonly skAi: Uint8Array;
  readonly skAr: Uint8Array;
  readonly skEi: Uint8Array;
  readonly skEr: Uint8Array;
  readonly skPi: Uint8Array;
  readonly skPr: Uint8Array;
}

export interface IkeKeyLengths {
  /** octets of SK_ei/SK_er (including the AEAD salt) */
  readonly encKeyLength: number;
  /** octets of SK_ai/SK_ar (0 for AEAD) */
  readonly integKeyLength: number;
}

export interface DeriveIkeKeysInput extends IkeKeyLengths {
  readonly prf: Prf;
  readonly nonceI: Uint8Array;
  readonly nonceR: Uint8Array;
  readonly sharedSecret: Uint8Array;
  readonly spiI: Uint8Array;
  readonly spiR: Uint8Array;
}

export interface DeriveRekeyedIkeKeysInput extends IkeKeyLengths {
  /** the PRF negotiated for the new IKE SA */
  readonly prf: Prf;
  /** the PRF of the IKE SA being rekeyed (it computes SKEYSEED, RFC 7296 §2.18) */
  readonly oldPrf: Prf;
  readonly oldSkD: Uint8Array;
  /** g^ir of the CREATE_CHILD_SA exchange */
  readonly sharedSecret: Uint8Array;
  readonly nonceI: Uint8Array;
  readonly nonceR: Uint8Array;
  /** the new IKE SA's SPIs */
  readonly spiI: Uint8Array;
  readonly spiR: Uint8Array;
}

/** Initiator→responder keys first (RFC 7296 §2.17); encryption before integrity within a direction. */
export interface ChildKeys {
  readonly encI: Uint8Array;
  readonly integI: Uint8Array;
  readonly encR: Uint8Array;
  readonly integR: Uint8Array;
}

export interface DeriveChildKeysInput {
  readonly prf: Prf;
  readonly skD: Uint8Array;
  readonly nonceI: Uint8Array;
  readonly nonceR: Uint8Array;
  /** g^ir of a CREATE_CHILD_SA exchange with KE payloads (PFS); absent otherwise */
  readonly sharedSecret?: Uint8Array;
  readonly encKeyLength: number;
  readonly integKeyLength: number;
}

/**
 * RFC 7296 §2.14: AES-XCBC-PRF-128 and AES-CMAC-PRF-128 take a fixed
 * 16-octet key, so SKEYSEED uses only the first 64 bits of each nonce. HMAC
 * PRFs take Ni | Nr whole.
 */
function skeyseedKey(prf: Prf, nonceI: Uint8Array, nonceR: Uint8Array): Uint8Array {
  if (prf.id === PrfId.AES128_XCBC || prf.id === PrfId.AES128_CMAC) {
    return concatBytes(nonceI.subarray(0, 8), nonceR.subarray(0, 8));
  }
  return concatBytes(nonceI, nonceR);
}

function checkLengths(p: IkeKeyLengths): void {
  for (const [what, n] of [
    ['encKeyLength', p.encKeyLength],
    ['integKeyLength', p.integKeyLength],
  ] as const) {
    if (!Number.isInteger(n) || n < 0) throw new RangeError(`${what} must be a non-negative integer, got ${n}`);
  }
}

function spi(what: string, value: Uint8Array): Uint8Array {
  if (value.length !== 8) throw new RangeError(`${what} must be 8 octets, got ${value.length}`);
  return value;
}

export interface IkeKeySeedInput extends IkeKeyLengths {
  readonly nonceI: Uint8Array;
  readonly nonceR: Uint8Array;
  readonly spiI: Uint8Array;
  readonly spiR: Uint8Array;
}

/**
 * {SK_d | SK_ai | SK_ar | SK_ei | SK_er | SK_pi | SK_pr} = prf+(SKEYSEED, Ni | Nr | SPIi | SPIr)
 * (RFC 7296 §2.14). Exported for RFC 9370, whose IKE_INTERMEDIATE key
 * updates compute SKEYSEED(n) themselves and then derive the same way.
 */
export function deriveIkeKeysFromSkeyseed(prf: Prf, skeyseed: Uint8Array, p: IkeKeySeedInput): IkeKeys {
  checkLengths(p);
  const d = prf.preferredKeyLength;
  const a = p.integKeyLength;
  const e = p.encKeyLength;
  const seed = concatBytes(p.nonceI, p.nonceR, spi('SPIi', p.spiI), spi('SPIr', p.spiR));
  const stream = prfPlus(prf, skeyseed, seed, 3 * d + 2 * a + 2 * e);
  let offset = 0;
  const take = (n: number): Uint8Array => {
    const out = stream.slice(offset, offset + n);
    offset += n;
    return out;
  };
  const keys: IkeKeys = {
    skD: take(d),
    skAi: take(a),
    skAr: take(a),
    skEi: take(e),
    skEr: take(e),
    skPi: take(d),
    skPr: take(d),
  };
  wipe(stream);
  return keys;
}

/** RFC 7296 §2.14: SKEYSEED = prf(Ni | Nr, g^ir). */
export function computeSkeyseed(prf: Prf, nonceI: Uint8Array, nonceR: Uint8Array, sharedSecret: Uint8Array): Uint8Array {
  const key = skeyseedKey(prf, nonceI, nonceR);
  const skeyseed = prf.compute(key, sharedSecret);
  wipe(key);
  return skeyseed;
}

/**
 * RFC 7296 §2.18: SKEYSEED = prf(SK_d (old), g^ir (new) | Ni | Nr), with the
 * old IKE SA's PRF. RFC 9370 §2.2.2 computes SKEYSEED(n) the same way from
 * SK_d(n-1) and SK(n).
 */
export function computeRekeySkeyseed(oldPrf: Prf, oldSkD: Uint8Array, sharedSecret: Uint8Array, nonceI: Uint8Array, nonceR: Uint8Array): Uint8Array {
  const data = concatBytes(sharedSecret, nonceI, nonceR);
  const skeyseed = oldPrf.compute(oldSkD, data);
  wipe(data);
  return skeyseed;
}

/** RFC 7296 §2.14: the keys of a new IKE SA from IKE_SA_INIT. */
export function deriveIkeKeys(p: DeriveIkeKeysInput): IkeKeys {
  checkLengths(p);
  const skeyseed = computeSkeyseed(p.prf, p.nonceI, p.nonceR, p.sharedSecret);
  const keys = deriveIkeKeysFromSkeyseed(p.prf, skeyseed, p);
  wipe(skeyseed);
  return keys;
}

/**
 * RFC 7296 §2.18: the keys of the IKE SA that replaces an old one: SKEYSEED
 * from the old SK_d and PRF, then prf+ of the new PRF with the new SPIs,
 * exactly as in §2.14.
 */
export function deriveRekeyedIkeKeys(p: DeriveRekeyedIkeKeysInput): IkeKeys {
  checkLengths(p);
  const skeyseed = computeRekeySkeyseed(p.oldPrf, p.oldSkD, p.sharedSecret, p.nonceI, p.nonceR);
  const keys = deriveIkeKeysFromSkeyseed(p.prf, skeyseed, p);
  wipe(skeyseed);
  return keys;
}

/** RFC 7296 §2.17: KEYMAT for a CHILD SA pair. */
export function deriveChildKeys(p: DeriveChildKeysInput): ChildKeys {
  checkLengths(p);
  const e = p.encKeyLength;
  const a = p.integKeyLength;
  const seed = p.sharedSecret === undefined ? concatBytes(p.nonceI, p.nonceR) : concatBytes(p.sharedSecret, p.nonceI, p.nonceR);
  const stream = prfPlus(p.prf, p.skD, seed, 2 * (e + a));
  wipe(seed);
  const keys: ChildKeys = {
    encI: stream.slice(0, e),
    integI: stream.slice(e, e + a),
    encR: stream.slice(e + a, 2 * e + a),
    integR: stream.slice(2 * e + a, 2 * (e + a)),
  };
  wipe(stream);
  return keys;
}
