// Strait profiles (api/profile.ts schema) and connect secrets for the lab's
// gateway connections, generated at run time from the run's PKI and PSK.
// Profiles hold no secret; the secrets object goes to straitd in memory or on
// a CLI's stdin, never in argv or a file the test leaves behind.

import { createPrivateKey, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';

import type { ConnectSecrets, ProfileInput } from '../../../native-helper/src/api/profile.js';
import { labSecret, labState } from './guest.js';
import { GATEWAYS, IDENTITIES, LAN } from './topology.js';

export type LabAuth = 'psk' | 'ecdsa' | 'rsa';

export interface LabProfileOptions {
  readonly auth: LabAuth;
  /** full: ask for 0.0.0.0/0 + ::/0 (the gateway narrows it to its LAN, RFC 7296 §2.9); split: only the LAN prefixes */
  readonly tunnel: 'full' | 'split';
  /** strongSwan proposal strings; default: the engine's defaults */
  readonly ike?: readonly string[];
  readonly esp?: readonly string[];
  readonly name?: string;
}

export interface LabProfile {
  readonly profile: ProfileInput;
  readonly secrets: ConnectSecrets;
  /** the gateway connection (swanctl name) charon should pick */
  readonly gwConnection: 'rw-psk' | 'rw-ecdsa' | 'rw-rsa';
}

/** A client key as PKCS#8 PEM, whatever form `pki --gen` wrote (SEC1 / PKCS#1). */
function pkcs8Pem(path: string): string {
  return createPrivateKey(readFileSync(path)).export({ type: 'pkcs8', format: 'pem' }).toString();
}

export function labProfile(opts: LabProfileOptions): LabProfile {
  const pki = labState().pki;
  const tunnel =
    opts.tunnel === 'full'
      ? { mode: 'full' as const, ipv6: true }
      : { mode: 'split' as const, include: [LAN.subnet4, LAN.subnet6], ipv6: true };
  const proposals = { ike: [...(opts.ike ?? [])], esp: [...(opts.esp ?? [])] };
  const common = { version: 1 as const, id: randomUUID(), name: opts.name ?? `lab ${opts.auth} ${opts.tunnel}`, proposals, tunnel };
  switch (opts.auth) {
    case 'psk':
      return {
        gwConnection: 'rw-psk',
        profile: { ...common, gateway: { host: GATEWAYS.main.address }, remoteId: GATEWAYS.main.id, auth: { method: 'psk', localId: IDENTITIES.pskClient } },
        secrets: { psk: labSecret('psk') },
      };
    case 'ecdsa':
      return {
        gwConnection: 'rw-ecdsa',
        profile: {
          ...common,
          gateway: { host: GATEWAYS.main.address },
          remoteId: GATEWAYS.main.id,
          auth: { method: 'certificate', localId: IDENTITIES.alice.email, certificateRef: 'lab:alice' },
          trust: { caCertificates: [readFileSync(pki.ecdsa.caCert, 'utf8')], serverName: GATEWAYS.main.id },
        },
        secrets: { privateKeyPem: pkcs8Pem(pki.ecdsa.client.key), certificatePem: readFileSync(pki.ecdsa.client.cert, 'utf8') },
      };
    case 'rsa':
      return {
        gwConnection: 'rw-rsa',
        profile: {
          ...common,
          gateway: { host: GATEWAYS.rsa.address },
          remoteId: GATEWAYS.rsa.id,
          auth: { method: 'certificate', localId: IDENTITIES.bob.email, certificateRef: 'lab:bob' },
          trust: { caCertificates: [readFileSync(pki.rsa.caCert, 'utf8')], serverName: GATEWAYS.rsa.id },
        },
        secrets: { privateKeyPem: pkcs8Pem(pki.rsa.client.key), certificatePem: readFileSync(pki.rsa.client.cert, 'utf8') },
      };
  }
}
