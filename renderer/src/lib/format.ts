/** Small, pure formatting helpers: durations, bytes, stage names, failure explanations. */
import { FailureCodes, isFailureCode } from '../../../native-helper/src/api/errors.js';
import type { Stage } from '../../../native-helper/src/api/rpc.js';

export function formatDuration(ms: number): string {
  const total = Math.max(0, Math.floor(ms / 1000));
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  if (h > 0) return `${h} h ${String(m).padStart(2, '0')} min`;
  if (m > 0) return `${m} min ${String(s).padStart(2, '0')} s`;
  return `${s} s`;
}

/** Milliseconds for a stage: "120 ms", "1.4 s". */
export const formatMs = (ms: number): string => (ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(1)} s`);

export function formatBytes(bytes: number): string {
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit++;
  }
  return `${unit === 0 ? value : value.toFixed(value < 10 ? 1 : 0)} ${units[unit]}`;
}

export const STAGE_LABELS: Readonly<Record<Stage, string>> = {
  resolve: 'Finding the gateway',
  ike_sa_init: 'Agreeing on encryption',
  ike_auth: 'Proving who we are',
  eap: 'Checking your password',
  install: 'Opening the secure tunnel',
  configure: 'Setting up addresses and DNS',
  probe: 'Checking that traffic gets through',
  connected: 'Connected',
};

/** The stages a profile goes through, in order (EAP only for password and EAP-TLS profiles). */
export const stagesFor = (method: string): Stage[] =>
  (['resolve', 'ike_sa_init', 'ike_auth', 'eap', 'install', 'configure', 'connected'] as const).filter((s) => s !== 'eap' || method.startsWith('eap'));

/** What to do about a failure, in words a remote employee can act on. */
const ADVICE: Readonly<Record<string, string>> = {
  GATEWAY_UNREACHABLE: 'Check that you are online. If other websites work, the VPN gateway may be down or blocked by this network: tell IT.',
  DNS_RESOLUTION_FAILED: 'Check your internet connection. If it works, the gateway address in the profile may be wrong.',
  EAP_FAILED: 'Check your user name and password and try again. Passwords are case-sensitive.',
  EAP_PASSWORD_WRONG: 'Check your user name and password and try again. Passwords are case-sensitive; check Caps Lock.',
  EAP_ACCOUNT_REJECTED: 'Your password was right, but your account may not use the VPN right now. Ask IT to check your account.',
  EAP_METHOD_REFUSED: 'The gateway expects a different way of signing in. IT needs to update the profile.',
  EAP_CLIENT_CERT_REJECTED: 'The gateway did not accept your certificate. It may have expired or been revoked: ask IT for a new one.',
  EAP_TLS_FAILED: 'The secure sign-in with the gateway failed. Try again; if it keeps failing, send the logs to IT.',
  AUTH_FAILED: 'Your credentials were not accepted. Check your password or certificate, or ask IT.',
  PSK_MISMATCH: 'The shared key or your identity does not match what the gateway expects. Ask IT for the current settings.',
  CERT_UNTRUSTED: "The gateway's certificate is not from a CA this profile trusts. Do not continue on an untrusted network; ask IT.",
  CERT_EXPIRED: "The gateway's certificate has expired. Tell IT.",
  CERT_NOT_YET_VALID: "Check your computer's date and time.",
  CERT_NAME_MISMATCH: 'The gateway presented a certificate for a different name. Tell IT before trying again.',
  NO_PROPOSAL_CHOSEN: 'The gateway and this profile have no encryption settings in common. IT needs to update the profile.',
  SECRET_MISSING: 'Enter the missing password or choose a certificate.',
  PLATFORM_ERROR: 'Your computer refused to set up the tunnel. Restarting the Strait service usually helps; the logs have details for IT.',
  DEAD_PEER: 'The gateway stopped answering. Your network may have changed; connect again.',
  TS_UNACCEPTABLE: 'The gateway refused the networks this profile asks for. IT needs to update the profile.',
  DATA_PATH_FAILED: 'The VPN signed in, but no traffic gets through it. This network may block VPN traffic (ESP); try another network, or send the logs to IT.',
};

export function explainFailure(code: string, message: string): { title: string; detail: string; advice?: string } {
  const title = isFailureCode(code) ? FailureCodes[code] : message;
  const advice = ADVICE[code];
  const detail = message === title ? '' : message;
  return advice === undefined ? { title, detail } : { title, detail, advice };
}

export const AUTH_LABELS: Readonly<Record<string, string>> = {
  'eap-mschapv2': 'User name and password',
  certificate: 'Certificate',
  'eap-tls': 'Certificate (EAP-TLS)',
  'certificate-eap': 'Certificate, then user name and password',
  psk: 'Pre-shared key',
};

export function toBase64(bytes: Uint8Array): string {
  let binary = '';
  const step = 0x8000;
  for (let i = 0; i < bytes.length; i += step) binary += String.fromCharCode(...bytes.subarray(i, i + step));
  return btoa(binary);
}

export async function readFileBase64(file: Blob): Promise<string> {
  return toBase64(new Uint8Array(await file.arrayBuffer()));
}

/** Offers text as a file download (the browser or Electron asks where to save it). */
export function downloadText(fileName: string, text: string, type = 'application/json'): void {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const a = document.createElement('a');
  a.href = url;
  a.download = fileName;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}
