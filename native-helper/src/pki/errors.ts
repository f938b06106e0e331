/**
 * The typed errors of the PKI module. Messages are plain language and name
 * the concrete problem; `fields` carry the same facts for logs and the UI.
 * None of them ever contains key material: certificates and identities are
 * public, private keys never reach this module's error paths.
 */

/** Codes shared with the RPC contract's FailureCode list (api/errors.ts). */
export type CertificateErrorCode =
  | 'CERT_UNTRUSTED'
  | 'CERT_EXPIRED'
  | 'CERT_NOT_YET_VALID'
  | 'CERT_NAME_MISMATCH'
  | 'CERT_INVALID'
  | 'IDENTITY_MISMATCH';

export type CertificateErrorFields = Record<string, string | string[]>;

export class CertificateError extends Error {
  override readonly name = 'CertificateError';
  constructor(
    readonly code: CertificateErrorCode,
    message: string,
    /** secret-free details, e.g. { expected: 'vpn.corp.example', presented: ['vpn.lab.example', '192.0.2.1'] } */
    readonly fields: CertificateErrorFields = {},
  ) {
    super(message);
  }
}

/** Thrown by parseIdentity / identityToPayload for text or values that are not an identity. */
export class IdentityError extends Error {
  override readonly name = 'IdentityError';
  readonly code = 'IDENTITY_INVALID';
  constructor(
    message: string,
    /** the offending input, for logs (identities are not secret) */
    readonly input: string,
  ) {
    super(message);
  }
}

export type PemErrorCode =
  /** no PEM block (with the requested label) in the text */
  | 'PEM_NOT_FOUND'
  /** a block is malformed: missing END line, bad base64, encrypted-PEM headers */
  | 'PEM_INVALID'
  /** the input or a block is larger than we accept */
  | 'PEM_TOO_LARGE';

export class PemError extends Error {
  override readonly name = 'PemError';
  constructor(
    readonly code: PemErrorCode,
    message: string,
    /** 1-based line where the problem is, when known */
    readonly line?: number,
  ) {
    super(line === undefined ? message : `${message} (line ${line})`);
  }
}
