/**
 * PKI for the IKEv2 engine: PEM, X.509 parsing, gateway chain validation
 * and IKE identities (RFC 7296 §3.5, RFC 4945, RFC 5280).
 */
export { CertificateError, type CertificateErrorCode, type CertificateErrorFields, IdentityError, PemError, type PemErrorCode } from './errors.js';
export { MAX_PEM_BLOCKS, MAX_PEM_TEXT, type PemBlock, derToPem, isPem, pemBlocks, pemToDerList } from './pem.js';
export {
  type Identity,
  type IdentityType,
  MAX_IDENTITY_BYTES,
  formatIdentity,
  identitiesEqual,
  identityFromPayload,
  identityToPayload,
  parseIdentity,
} from './identity.js';
export {
  type CertificateInfo,
  EKU_NAMES,
  type KeyType,
  type KeyUsage,
  MAX_CERTIFICATE_BYTES,
  type SubjectAltNames,
  expiryWarning,
  parseCertificate,
} from './certificate.js';
export {
  type GatewayCertificateInput,
  type GatewayCertificateResult,
  MAX_INTERMEDIATES,
  MAX_PATH_LENGTH,
  validateGatewayCertificate,
} from './gateway-trust.js';
export { certificateMatchesIdentity, hostMatches, presentedNames } from './name-matching.js';
export { type DistinguishedName, type ParseDnOptions, canonicalDn, dnEqual, decodeDn, formatDn, parseDn } from './distinguished-name.js';
export { formatIp, parseIp } from './ip-address.js';
