/** Profile documents for tests (no secrets: profiles never hold any). */
import { randomUUID } from 'node:crypto';

import { parseProfile, type Profile } from '../../../../native-helper/src/api/profile.js';

export function profileDoc(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    version: 1,
    id: randomUUID(),
    name: 'Lab gateway',
    gateway: { host: 'vpn.lab.example' },
    remoteId: 'vpn.lab.example',
    auth: { method: 'eap-mschapv2', eapIdentity: 'alice' },
    ...overrides,
  };
}

export function profile(overrides: Record<string, unknown> = {}): Profile {
  const parsed = parseProfile(profileDoc(overrides));
  if (!parsed.ok) throw new Error(`fixture is invalid: ${JSON.stringify(parsed.issues)}`);
  return parsed.profile;
}
