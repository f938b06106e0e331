/**
 * IKEv2 cryptography: transforms (ENCR/PRF/INTEG/KE), prf+, key material,
 * AUTH. Everything is built on node:crypto (OpenSSL 3).
 */
export { SUPPORTED_PRFS, PRF_PLUS_MAX_ITERATIONS, createPrf, prfPlus } from './prf.js';
export type { Prf } from './prf.js';
export { SUPPORTED_INTEGS, createInteg } from './integ.js';
export type { Integ } from './integ.js';
export { SUPPORTED_SK_ENCRS, createSkCipher } from './sk-cipher.js';
export type { SkCipher, SkOpenInput, SkSealInput } from './sk-cipher.js';
export { padSkPlaintext, unpadSkPlaintext } from './sk-padding.js';
export { SUPPORTED_KE_GROUPS, createKeyExchange } from './ke.js';
export type { KeyExchange, KeyExchangeOptions } from './ke.js';
export { computeRekeySkeyseed, computeSkeyseed, deriveChildKeys, deriveIkeKeys, deriveIkeKeysFromSkeyseed, deriveRekeyedIkeKeys } from './keymat.js';
export type { ChildKeys, DeriveChildKeysInput, DeriveIkeKeysInput, DeriveRekeyedIkeKeysInput, IkeKeyLengths, IkeKeySeedInput, IkeKeys } from './keymat.js';
export { MIN_RSA_BITS, SUPPORTED_HASH_ALGORITHMS, createSignatureAuth, pskAuthData, signedOctets, verifyPskAuthData, verifySignatureAuth } from './auth.js';
export type { CreateSignatureAuthInput, SignatureAuth, SignatureVerdict, SignedOctetsInput, VerifySignatureAuthInput } from './auth.js';
export { encodeAlgorithmIdentifier, parseAlgorithmIdentifier } from './signature-algorithm.js';
export type { SignatureHash, SignatureScheme } from './signature-algorithm.js';
export { espKeyLengths, formatEspSuite, formatIkeSuite, ikeKeyLengths } from './suite.js';
export type { EspSuite, IkeSuite, KeyLengths } from './suite.js';
export { KeyExchangeError, UnsupportedAlgorithmError } from './errors.js';
export type { AlgorithmKind, KeyExchangeErrorCode } from './errors.js';
