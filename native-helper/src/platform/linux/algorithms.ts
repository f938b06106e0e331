/**
 * IKEv2 ESP transform ids (RFC 7296 §3.3.2, IANA) → Linux XFRM algorithm
 * names as `ip xfrm state` takes them, with the key material lengths the
 * kernel expects (the same names strongSwan's kernel-netlink plugin uses).
 *
 * Deliberately absent (RFC 8221 §5/§6 MUST NOT or not worth supporting):
 * DES, 3DES, NULL encryption, HMAC-MD5-96.
 */
import { EncrId, IntegId } from '../../ike/constants.js';
import type { EspAlgorithms } from '../../ike/actions.js';
import { PlatformError } from '../errors.js';

/** RFC 4309: AES-CCM with 8/12/16-octet ICV (not in constants.ts yet). */
const ENCR_AES_CCM_8 = 14;
const ENCR_AES_CCM_12 = 15;
const ENCR_AES_CCM_16 = 16;

interface AeadAlg {
  readonly kind: 'aead';
  readonly kernelName: string;
  /** allowed cipher key sizes in bits (without salt) */
  readonly keyBits: readonly number[];
  /** octets appended to the key: salt (RFC 4106 §8.1, RFC 4309 §7.1, RFC 7634 §3) */
  readonly saltOctets: number;
  readonly icvBits: number;
}

interface CipherAlg {
  readonly kind: 'cipher';
  readonly kernelName: string;
  readonly keyBits: readonly number[];
  /** octets appended to the key: the nonce of RFC 3686 §5.1 for AES-CTR */
  readonly saltOctets: number;
}

interface IntegAlg {
  readonly kernelName: string;
  readonly keyBits: number;
  readonly truncBits: number;
}

const AES_SIZES = [128, 192, 256] as const;

export const ENCR_ALGORITHMS: ReadonlyMap<number, AeadAlg | CipherAlg> = new Map<number, AeadAlg | CipherAlg>([
  [EncrId.AES_CBC, { kind: 'cipher', kernelName: 'cbc(aes)', keyBits: AES_SIZES, saltOctets: 0 }],
  [EncrId.AES_CTR, { kind: 'cipher', kernelName: 'rfc3686(ctr(aes))', keyBits: AES_SIZES, saltOctets: 4 }],
  [EncrId.AES_GCM_8, { kind: 'aead', kernelName: 'rfc4106(gcm(aes))', keyBits: AES_SIZES, saltOctets: 4, icvBits: 64 }],
  [EncrId.AES_GCM_12, { kind: 'aead', kernelName: 'rfc4106(gcm(aes))', keyBits: AES_SIZES, saltOctets: 4, icvBits: 96 }],
  [EncrId.AES_GCM_16, { kind: 'aead', kernelName: 'rfc4106(gcm(aes))', keyBits: AES_SIZES, saltOctets: 4, icvBits: 128 }],
  [ENCR_AES_CCM_8, { kind: 'aead', kernelName: 'rfc4309(ccm(aes))', keyBits: AES_SIZES, saltOctets: 3, icvBits: 64 }],
  [ENCR_AES_CCM_12, { kind: 'aead', kernelName: 'rfc4309(ccm(aes))', keyBits: AES_SIZES, saltOctets: 3, icvBits: 96 }],
  [ENCR_AES_CCM_16, { kind: 'aead', kernelName: 'rfc4309(ccm(aes))', keyBits: AES_SIZES, saltOctets: 3, icvBits: 128 }],
  // RFC 7634: fixed 256-bit key, no Key Length attribute
  [EncrId.CHACHA20_POLY1305, { kind: 'aead', kernelName: 'rfc7539esp(chacha20,poly1305)', keyBits: [256], saltOctets: 4, icvBits: 128 }],
]);

export const INTEG_ALGORITHMS: ReadonlyMap<number, IntegAlg> = new Map<number, IntegAlg>([
  [IntegId.HMAC_SHA1_96, { kernelName: 'hmac(sha1)', keyBits: 160, truncBits: 96 }],
  [IntegId.AES_XCBC_96, { kernelName: 'xcbc(aes)', keyBits: 128, truncBits: 96 }],
  // RFC 4868 §2.1: key length = block output length, truncation to half
  [IntegId.HMAC_SHA2_256_128, { kernelName: 'hmac(sha256)', keyBits: 256, truncBits: 128 }],
  [IntegId.HMAC_SHA2_384_192, { kernelName: 'hmac(sha384)', keyBits: 384, truncBits: 192 }],
  [IntegId.HMAC_SHA2_512_256, { kernelName: 'hmac(sha512)', keyBits: 512, truncBits: 256 }],
]);

/** What `ip xfrm state add` needs for one ESP SA's algorithms. */
export type KernelAlgorithms =
  | { readonly kind: 'aead'; readonly name: string; readonly keyOctets: number; readonly icvBits: number }
  | {
      readonly kind: 'cipher+integ';
      readonly enc: { readonly name: string; readonly keyOctets: number };
      readonly auth: { readonly name: string; readonly keyOctets: number; readonly truncBits: number };
    };

/** Maps a negotiated ESP transform to kernel names and key sizes; throws PlatformError when it cannot. */
export function kernelAlgorithms(alg: EspAlgorithms): KernelAlgorithms {
  const encr = ENCR_ALGORITHMS.get(alg.encr);
  if (!encr) {
    throw new PlatformError('unsupported-algorithm', 'installChildSa', `ESP encryption transform ${alg.encr} has no kernel mapping`);
  }
  const keyBits = alg.encrKeyLength ?? (encr.keyBits.length === 1 ? encr.keyBits[0] : undefined);
  if (keyBits === undefined || !encr.keyBits.includes(keyBits)) {
    throw new PlatformError(
      'invalid-spec',
      'installChildSa',
      `ESP encryption transform ${alg.encr} needs a key length of ${encr.keyBits.join('/')} bits, got ${alg.encrKeyLength ?? 'none'}`,
    );
  }
  const keyOctets = keyBits / 8 + encr.saltOctets;
  if (encr.kind === 'aead') {
    // RFC 7296 §3.3: an AEAD proposal carries no integrity transform (or NONE)
    if (alg.integ !== undefined && alg.integ !== IntegId.NONE) {
      throw new PlatformError('invalid-spec', 'installChildSa', `AEAD transform ${alg.encr} combined with integrity transform ${alg.integ}`);
    }
    return { kind: 'aead', name: encr.kernelName, keyOctets, icvBits: encr.icvBits };
  }
  const integ = alg.integ === undefined ? undefined : INTEG_ALGORITHMS.get(alg.integ);
  if (!integ) {
    throw new PlatformError('unsupported-algorithm', 'installChildSa', `ESP cipher ${alg.encr} needs a supported integrity transform, got ${alg.integ ?? 'none'}`);
  }
  return {
    kind: 'cipher+integ',
    enc: { name: encr.kernelName, keyOctets },
    auth: { name: integ.kernelName, keyOctets: integ.keyBits / 8, truncBits: integ.truncBits },
  };
}
