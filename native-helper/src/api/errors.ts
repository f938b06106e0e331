/**
 * Stable failure codes. Every connection failure a user, a script or the
 * helpdesk can see carries one of these plus a plain-language message that
 * names the concrete mismatch. Codes never change meaning once released;
 * add new ones instead.
 */
export const FailureCodes = {
  // --- reaching the gateway
  GATEWAY_UNREACHABLE: 'The gateway did not answer (no reply after all retransmissions).',
  DNS_RESOLUTION_FAILED: 'The gateway host name could not be resolved.',
  // --- IKE_SA_INIT
  NO_PROPOSAL_CHOSEN: 'The gateway accepted none of the offered algorithm proposals.',
  INVALID_KE_PAYLOAD: 'The gateway asked for a key exchange group that is not in our proposals.',
  PROPOSAL_MISMATCH: 'The gateway chose algorithms we did not offer.',
  // --- IKE_AUTH: the gateway authenticating us
  AUTH_FAILED: 'The gateway rejected our credentials.',
  PSK_MISMATCH: 'The gateway rejected our pre-shared key, or our identity is not the one it expects.',
  EAP_FAILED: 'The gateway rejected the user name or password (EAP failure).',
  EAP_PASSWORD_WRONG: 'The gateway rejected the password for this user name.',
  EAP_ACCOUNT_REJECTED: 'The account may not sign in (disabled, expired password, outside permitted hours or no VPN permission).',
  EAP_METHOD_REFUSED: 'The gateway does not offer the sign-in method this profile uses.',
  EAP_CLIENT_CERT_REJECTED: 'The gateway did not accept our client certificate (EAP-TLS).',
  EAP_TLS_FAILED: 'The TLS sign-in (EAP-TLS) with the gateway failed.',
  // --- IKE_AUTH: us authenticating the gateway
  PEER_AUTH_FAILED: 'The gateway could not prove its identity (its AUTH payload did not verify).',
  CERT_UNTRUSTED: "The gateway's certificate does not chain to a trusted CA of this profile.",
  CERT_EXPIRED: "The gateway's certificate has expired.",
  CERT_NOT_YET_VALID: "The gateway's certificate is not valid yet (check the computer's clock).",
  CERT_NAME_MISMATCH: "The gateway's certificate is for another name than the one this profile expects.",
  CERT_INVALID: "The gateway's certificate is malformed or unusable.",
  IDENTITY_MISMATCH: 'The gateway identified itself with another identity than the profile expects.',
  // --- CHILD_SA / configuration
  TS_UNACCEPTABLE: 'The gateway refused the requested traffic selectors (networks).',
  INTERNAL_ADDRESS_FAILURE: 'The gateway could not assign a virtual IP address.',
  FAILED_CP_REQUIRED: 'The gateway requires a configuration request.',
  CHILD_SA_FAILED: 'The gateway refused to create the IPsec tunnel (CHILD_SA).',
  DATA_PATH_FAILED: 'The tunnel was set up, but no traffic came back through it.',
  // --- protocol
  PROTOCOL_ERROR: 'The gateway sent a malformed or unexpected message.',
  PEER_DELETED: 'The gateway closed the connection.',
  DEAD_PEER: 'The gateway stopped answering (dead peer detection).',
  // --- local
  PROFILE_INVALID: 'The profile is invalid.',
  SECRET_MISSING: 'A secret this profile needs (password, key or PSK) is missing.',
  PLATFORM_ERROR: 'The operating system refused to install the tunnel.',
  INTERNAL_ERROR: 'An internal error occurred in the helper.',
  CANCELLED: 'The connection attempt was cancelled.',
} as const;

export type FailureCode = keyof typeof FailureCodes;

export const isFailureCode = (value: unknown): value is FailureCode =>
  typeof value === 'string' && Object.prototype.hasOwnProperty.call(FailureCodes, value);
