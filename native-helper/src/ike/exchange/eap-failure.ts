/**
 * The typed failure for a refused EAP sign-in: a wrong password, an
 * account that may not sign in (RFC 2759 §6 error codes), a method the
 * gateway does not offer, or a bare EAP-Failure. Never names the password.
 * The user is named by the EAP identity they typed (not the IKE identity),
 * and the plain sentence comes first, the method's error code after it.
 */
import type { IkeFailure } from '../actions.js';
import type { EapRejection } from '../../eap/peer.js';
import { makeFailure } from '../failures.js';

export function eapFailure(r: EapRejection, localId: string, gateway: string): IkeFailure {
  const fields = {
    method: r.method,
    rejection: r.rejection,
    ...(r.errorCode === undefined ? {} : { errorCode: r.errorCode }),
    ...(r.gatewayMessage === undefined || r.gatewayMessage === '' ? {} : { gatewayMessage: r.gatewayMessage }),
  };
  const said = r.gatewayMessage === undefined || r.gatewayMessage === '' ? '' : ` The gateway said: "${r.gatewayMessage}".`;
  switch (r.rejection) {
    case 'wrong_password':
      return makeFailure('EAP_PASSWORD_WRONG', `The gateway "${gateway}" rejected the password for "${localId}". Check the user name and password. (${r.method} error ${r.errorCode ?? 691})${said}`, fields);
    case 'account_disabled':
      return makeFailure('EAP_ACCOUNT_REJECTED', `The gateway "${gateway}" says the account "${localId}" is disabled or locked. Contact your IT department. (${r.method} error ${r.errorCode ?? 647})${said}`, fields);
    case 'password_expired':
      return makeFailure('EAP_ACCOUNT_REJECTED', `The gateway "${gateway}" says the password of "${localId}" has expired. Change it, then connect again. (${r.method} error ${r.errorCode ?? 648})${said}`, fields);
    case 'restricted_hours':
      return makeFailure('EAP_ACCOUNT_REJECTED', `The gateway "${gateway}" says "${localId}" may not sign in at this time (${r.method} error ${r.errorCode ?? 646}).${said}`, fields);
    case 'no_dialin_permission':
      return makeFailure('EAP_ACCOUNT_REJECTED', `The gateway "${gateway}" says "${localId}" has no permission to use the VPN (${r.method} error ${r.errorCode ?? 649}).${said}`, fields);
    case 'client_cert_rejected':
      // RFC 5216 §2.1.3: the gateway's TLS alert (or a bare EAP-Failure) after our certificate went out.
      return makeFailure('EAP_CLIENT_CERT_REJECTED', `The gateway "${gateway}" did not accept the client certificate of "${localId}" in ${r.method} (expired, revoked, or from a CA it does not trust)${r.gatewayMessage === undefined ? '' : `: TLS said "${r.gatewayMessage}"`}.`, fields);
    case 'tls_failed':
      return makeFailure('EAP_TLS_FAILED', `The TLS handshake of ${r.method} with the gateway "${gateway}" failed${r.gatewayMessage === undefined ? '' : ` (${r.gatewayMessage})`}.`, fields);
    case 'method_refused':
      return makeFailure('EAP_METHOD_REFUSED', `The gateway "${gateway}" does not offer ${r.method}, the sign-in method of this profile, and ended EAP.`, fields);
    case 'other':
      return makeFailure('EAP_FAILED', `The gateway "${gateway}" refused the sign-in of "${localId}" (${r.method} error ${r.errorCode ?? 'unknown'}).${said}`, fields);
    case 'eap_failure':
      return makeFailure('EAP_FAILED', `The gateway "${gateway}" ended the sign-in of "${localId}" with EAP-Failure: the user name or password was not accepted.`, fields);
  }
}
