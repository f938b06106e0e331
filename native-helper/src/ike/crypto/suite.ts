/**
 * Negotiated algorithm suites, their key lengths and log names.
 *
 * `ikeKeyLengths` sizes SK_e/SK_a for deriveIkeKeys; `espKeyLengths` sizes
 * the ESP keys of a CHILD SA for deriveChildKeys (RFC 7296 §2.17):
 *   AES-GCM (RFC 4106 §8.1) and ChaCha20-Poly1305 (RFC 7634 §3): key + 4-octet salt,
 *   AES-CBC (RFC 3602 §5.3): key, plus the HMAC-SHA-2 key (RFC 4868 §2.1.1).
 * The names follow strongSwan's proposal keywords (aes256gcm16-prfsha256-ecp256)
 * so logs read like the gateway's.
 */
import { EncrId, IntegId, KeId, encrName, integName, keName, prfName } from '../constants.js';
import { UnsupportedAlgorithmError } from './errors.js';
import { createInteg } from './integ.js';
import { createSkCipher } from './sk-cipher.js';

export interface IkeSuite {
  readonly encr: number;
  /** bits (Key Length attribute), for AES */
  readonly encrKeyLength?: number;
  readonly prf: number;
  /** absent for AEAD */
  readonly integ?: number;
  readonly ke: number;
}

export interface EspSuite {
  readonly encr: number;
  readonly encrKeyLength?: number;
  readonly integ?: number;
  readonly esn: boolean;
  /** KE method for PFS in CREATE_CHILD_SA; absent without PFS */
  readonly ke?: number;
}

export interface KeyLengths {
  /** octets, including the AEAD salt */
  readonly encKeyLength: number;
  /** octets; 0 for AEAD */
  readonly integKeyLength: number;
}

/** SK_e / SK_a lengths of an IKE SA (throws UnsupportedAlgorithmError like createSkCipher). */
export function ikeKeyLengths(suite: IkeSuite): KeyLengths {
  const cipher = createSkCipher(suite.encr, suite.encrKeyLength, suite.integ);
  return { encKeyLength: cipher.encKeyLength, integKeyLength: cipher.integKeyLength };
}

const AEAD_SALT = 4;

/** ESP key lengths for a CHILD SA's KEYMAT. */
export function espKeyLengths(suite: EspSuite): KeyLengths {
  const { encr, encrKeyLength: bits, integ } = suite;
  const noInteg = integ === undefined || integ === IntegId.NONE;
  switch (encr) {
    case EncrId.AES_GCM_8:
    case EncrId.AES_GCM_12:
    case EncrId.AES_GCM_16:
      if (bits !== 128 && bits !== 256) throw new UnsupportedAlgorithmError('ENCR', encr, `key length ${bits ?? 'missing'} (128 or 256)`);
      if (!noInteg) throw new UnsupportedAlgorithmError('INTEG', integ, 'not allowed with an AEAD cipher (RFC 4106 §9)');
      return { encKeyLength: bits / 8 + AEAD_SALT, integKeyLength: 0 };
    case EncrId.CHACHA20_POLY1305:
      if (bits !== undefined && bits !== 256) throw new UnsupportedAlgorithmError('ENCR', encr, `key length ${bits} (only 256)`);
      if (!noInteg) throw new UnsupportedAlgorithmError('INTEG', integ, 'not allowed with an AEAD cipher (RFC 7634 §4)');
      return { encKeyLength: 32 + AEAD_SALT, integKeyLength: 0 };
    case EncrId.AES_CBC:
      if (bits !== 128 && bits !== 256) throw new UnsupportedAlgorithmError('ENCR', encr, `key length ${bits ?? 'missing'} (128 or 256)`);
      if (noInteg) throw new UnsupportedAlgorithmError('ENCR', encr, 'AES-CBC needs an integrity algorithm');
      return { encKeyLength: bits / 8, integKeyLength: createInteg(integ).keyLength };
    default:
      throw new UnsupportedAlgorithmError('ENCR', encr);
  }
}

function encrKeyword(encr: number, bits: number | undefined): string {
  switch (encr) {
    case EncrId.AES_CBC:
      return `aes${bits ?? ''}`;
    case EncrId.AES_CTR:
      return `aes${bits ?? ''}ctr`;
    case EncrId.AES_GCM_8:
      return `aes${bits ?? ''}gcm8`;
    case EncrId.AES_GCM_12:
      return `aes${bits ?? ''}gcm12`;
    case EncrId.AES_GCM_16:
      return `aes${bits ?? ''}gcm16`;
    case EncrId.CHACHA20_POLY1305:
      return 'chacha20poly1305';
    case EncrId['3DES']:
      return '3des';
    case EncrId.NULL:
      return 'null';
    default:
      return encrName(encr).toLowerCase();
  }
}

const INTEG_KEYWORDS: ReadonlyMap<number, string> = new Map([
  [IntegId.HMAC_MD5_96, 'md5'],
  [IntegId.HMAC_SHA1_96, 'sha1'],
  [IntegId.AES_XCBC_96, 'aesxcbc'],
  [IntegId.HMAC_SHA2_256_128, 'sha256'],
  [IntegId.HMAC_SHA2_384_192, 'sha384'],
  [IntegId.HMAC_SHA2_512_256, 'sha512'],
]);

const PRF_KEYWORDS: ReadonlyMap<number, string> = new Map([
  [1, 'prfmd5'],
  [2, 'prfsha1'],
  [4, 'prfaesxcbc'],
  [5, 'prfsha256'],
  [6, 'prfsha384'],
  [7, 'prfsha512'],
  [8, 'prfaescmac'],
]);

const KE_KEYWORDS: ReadonlyMap<number, string> = new Map([
  [KeId.MODP_768, 'modp768'],
  [KeId.MODP_1024, 'modp1024'],
  [KeId.MODP_1536, 'modp1536'],
  [KeId.MODP_2048, 'modp2048'],
  [KeId.MODP_3072, 'modp3072'],
  [KeId.MODP_4096, 'modp4096'],
  [KeId.MODP_6144, 'modp6144'],
  [KeId.MODP_8192, 'modp8192'],
  [KeId.ECP_256, 'ecp256'],
  [KeId.ECP_384, 'ecp384'],
  [KeId.ECP_521, 'ecp521'],
  [KeId.CURVE25519, 'curve25519'],
  [KeId.CURVE448, 'curve448'],
  [KeId.ML_KEM_512, 'mlkem512'],
  [KeId.ML_KEM_768, 'mlkem768'],
  [KeId.ML_KEM_1024, 'mlkem1024'],
]);

const integKeyword = (id: number): string => INTEG_KEYWORDS.get(id) ?? integName(id).toLowerCase();
const prfKeyword = (id: number): string => PRF_KEYWORDS.get(id) ?? prfName(id).toLowerCase();
const keKeyword = (id: number): string => KE_KEYWORDS.get(id) ?? keName(id).toLowerCase();

/** e.g. "aes256gcm16-prfsha256-ecp256", "aes128-sha256-prfsha256-modp2048" */
export function formatIkeSuite(s: IkeSuite): string {
  const parts = [encrKeyword(s.encr, s.encrKeyLength)];
  if (s.integ !== undefined && s.integ !== IntegId.NONE) parts.push(integKeyword(s.integ));
  parts.push(prfKeyword(s.prf), keKeyword(s.ke));
  return parts.join('-');
}

/** e.g. "aes256gcm16-ecp256-esn", "aes128-sha256-noesn" */
export function formatEspSuite(s: EspSuite): string {
  const parts = [encrKeyword(s.encr, s.encrKeyLength)];
  if (s.integ !== undefined && s.integ !== IntegId.NONE) parts.push(integKeyword(s.integ));
  if (s.ke !== undefined && s.ke !== KeId.NONE) parts.push(keKeyword(s.ke));
  parts.push(s.esn ? 'esn' : 'noesn');
  return parts.join('-');
}
