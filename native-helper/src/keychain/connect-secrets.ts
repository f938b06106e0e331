/**
 * Gathers what a connect request needs from the keychain (Electron main and
 * the CLI call this; straitd never does). The result goes into the
 * request's `secrets` (api/profile.ts ConnectSecrets) and nowhere else.
 */
import * as v from 'valibot';

import { ConnectSecretsSchema, type ConnectSecrets, type Profile } from '../api/profile.js';
import { decodePem, encodePem } from '../profiles/pem.js';
import { decodePkcs12 } from '../profiles/pkcs12.js';
import { SecretStoreError, type SecretKind, type SecretStore } from './secret-store.js';

export interface ReadConnectSecretsOptions {
  /** Asked only when the identity is stored as a locked PKCS#12 with no remembered password. */
  readonly pkcs12Password?: (prompt: string) => Promise<string | undefined>;
}

export interface GatheredSecrets {
  readonly secrets: ConnectSecrets;
  /** What the profile needs but the keychain does not hold; the UI asks for these or reports SECRET_MISSING. */
  readonly missing: SecretKind[];
}

const splitPem = (pem: string): string[] =>
  decodePem(pem)
    .filter((b) => b.label === 'CERTIFICATE')
    .map((b) => encodePem('CERTIFICATE', b.der));

export async function readConnectSecrets(store: SecretStore, profile: Profile, options: ReadConnectSecretsOptions = {}): Promise<GatheredSecrets> {
  const secrets: ConnectSecrets = {};
  const missing: SecretKind[] = [];
  const auth = profile.auth;
  switch (auth.method) {
    case 'psk': {
      const psk = await store.get(profile.id, 'psk');
      if (psk === null) missing.push('psk');
      else secrets.psk = psk;
      break;
    }
    case 'eap-mschapv2': {
      const password = await store.get(profile.id, 'eap-password');
      if (password === null) missing.push('eap-password');
      else secrets.eapPassword = password;
      break;
    }
    case 'certificate':
    case 'eap-tls':
    case 'certificate-eap': {
      if (auth.method === 'certificate-eap') {
        // RFC 4739: the second round's EAP-MSCHAPv2 password, besides the identity below.
        const password = await store.get(profile.id, 'eap-password');
        if (password === null) missing.push('eap-password');
        else secrets.eapPassword = password;
      }
      const owner = auth.certificateRef;
      const keyPem = await store.get(owner, 'identity-key-pem');
      const certPem = await store.get(owner, 'identity-cert-pem');
      if (keyPem !== null && certPem !== null) {
        const [leaf, ...chain] = splitPem(certPem);
        if (leaf === undefined) missing.push('identity-cert-pem');
        else Object.assign(secrets, { privateKeyPem: keyPem, certificatePem: leaf, certificateChainPem: chain });
        break;
      }
      const p12 = await store.get(owner, 'identity-pkcs12');
      if (p12 === null) {
        missing.push(keyPem === null ? 'identity-key-pem' : 'identity-cert-pem');
        break;
      }
      const password = (await store.get(owner, 'identity-pkcs12-password')) ?? (await options.pkcs12Password?.(`Password for the client certificate of "${profile.name}"`));
      if (password === undefined) {
        missing.push('identity-pkcs12-password');
        break;
      }
      const identity = await decodePkcs12(p12, password);
      Object.assign(secrets, { privateKeyPem: identity.privateKeyPem, certificatePem: identity.certificatePem, certificateChainPem: identity.chainPem });
      break;
    }
  }
  // The same schema straitd applies to the request: fail here rather than there. The error names
  // fields only: valibot's issues carry the input, which is a secret.
  const checked = v.safeParse(ConnectSecretsSchema, secrets);
  if (!checked.success) throw new SecretStoreError(`keychain entries for profile ${profile.id} are unusable: ${[...new Set(checked.issues.map((i) => i.path?.[0]?.key).map(String))].join(', ')}`);
  return { secrets: checked.output, missing };
}
