/**
 * Profile + connect secrets + resolved endpoints → IkeSessionConfig (what the
 * engine needs) and the platform's routing/DNS parameters. Pure: no I/O.
 *
 * Problems come back as a typed failure (PROFILE_INVALID / SECRET_MISSING)
 * naming the field, never the secret value.
 */
import { createPrivateKey, type KeyObject } from 'node:crypto';
import { isIP } from 'node:net';

import type { FailureCode } from '../api/errors.js';
import type { ConnectSecrets, Profile } from '../api/profile.js';
import type { Endpoint } from '../ike/actions.js';
import type { TrafficSelector } from '../ike/codec/types.js';
import { DEFAULT_IKE_MTU, DEFAULT_RETRANSMIT, type IkeSessionConfig, type LocalAuth } from '../ike/session.js';
import { parseEspProposals, parseIkeProposals } from '../ike/proposals.js';
import { selectorFromCidr } from '../ike/traffic-selectors.js';
import { parseCertificate } from '../pki/certificate.js';
import { parseIdentity, type Identity } from '../pki/identity.js';
import { pemToDerList } from '../pki/pem.js';
import type { DnsOverride, TunnelRouting } from '../platform/backend.js';

export interface ResolvedEndpoints {
  /** our address towards the gateway and the local IKE port */
  readonly local: Endpoint;
  /** the gateway's address and IKE port */
  readonly remote: Endpoint;
  /** local NAT-T port (4500 unless a test binds another) */
  readonly localNattPort: number;
}

export interface BuiltConfig {
  readonly session: IkeSessionConfig;
  readonly tunnel: TunnelRouting;
  readonly dnsOverride?: DnsOverride;
  readonly mtu?: number;
  /** seconds, for status */
  readonly lifetimes: { readonly ikeSeconds: number; readonly childSoftSeconds: number; readonly childHardSeconds: number };
}

export type BuildResult = { readonly ok: true; readonly config: BuiltConfig } | { readonly ok: false; readonly code: FailureCode; readonly message: string };

/** charon's default replay window (strongswan.conf charon.replay_window). */
export const DEFAULT_REPLAY_WINDOW = 32;
/** RFC 3948 §2.2 NAT-T port on the gateway. */
const GATEWAY_NATT_PORT = 4500;
/**
 * Rekey the CHILD_SA at 90 % of its lifetime (charon: rekey_time = life_time
 * minus a 10 % margin), so the new SA is in before the kernel's hard expiry.
 */
const SOFT_LIFETIME_FRACTION = 0.9;

class BuildError extends Error {
  constructor(
    readonly code: FailureCode,
    message: string,
  ) {
    super(message);
  }
}

const describe = (e: unknown): string => (e instanceof Error ? e.message : String(e));

function identity(text: string, what: string): Identity {
  try {
    return parseIdentity(text);
  } catch (e) {
    throw new BuildError('PROFILE_INVALID', `The ${what} "${text}" is not a usable IKE identity: ${describe(e)}`);
  }
}

function certificatesDer(pems: readonly string[], what: string): Uint8Array[] {
  try {
    return pems.flatMap((pem) => pemToDerList(pem, 'CERTIFICATE'));
  } catch (e) {
    throw new BuildError('PROFILE_INVALID', `The ${what} could not be read: ${describe(e)}`);
  }
}

/** `defaultLocalId` is computed only when asked for: parsing a certificate costs ~300 ms of a cold start under UML. */
function localAuth(profile: Profile, secrets: ConnectSecrets): { auth: LocalAuth; defaultLocalId?: () => Identity } {
  const auth = profile.auth;
  switch (auth.method) {
    case 'psk': {
      if (secrets.psk === undefined) throw new BuildError('SECRET_MISSING', 'This profile authenticates with a pre-shared key, but none was given.');
      return { auth: { method: 'psk', psk: new TextEncoder().encode(secrets.psk) } };
    }
    case 'certificate': {
      const id = clientIdentity(secrets, 'This profile authenticates with a client certificate');
      return { auth: { method: 'signature', privateKey: id.privateKey, certificate: id.certificate, intermediates: certificatesDer(secrets.certificateChainPem ?? [], 'client certificate chain') }, defaultLocalId: id.subject };
    }
    case 'certificate-eap': {
      // RFC 4739: the certificate round as for 'certificate', then EAP-MSCHAPv2 as eapIdentity.
      const cert = localAuth({ ...profile, auth: { method: 'certificate', certificateRef: auth.certificateRef, ...(auth.localId === undefined ? {} : { localId: auth.localId }) } }, secrets);
      if (cert.auth.method !== 'signature') throw new BuildError('PROFILE_INVALID', 'internal: the certificate round did not build');
      if (secrets.eapPassword === undefined || secrets.eapPassword.length === 0) {
        throw new BuildError('SECRET_MISSING', 'This profile signs in with a certificate and then a password (EAP-MSCHAPv2), but no password was given.');
      }
      const secondRound = { identity: identity(auth.eapIdentity, 'EAP identity'), eap: { method: 'mschapv2' as const, identity: auth.eapIdentity, password: secrets.eapPassword } };
      return { auth: { ...cert.auth, secondRound }, ...(cert.defaultLocalId === undefined ? {} : { defaultLocalId: cert.defaultLocalId }) };
    }
    case 'eap-mschapv2': {
      if (secrets.eapPassword === undefined || secrets.eapPassword.length === 0) throw new BuildError('SECRET_MISSING', 'This profile signs in with a password (EAP-MSCHAPv2), but none was given.');
      // charon-nm and Windows use the EAP identity as IDi when no other is set.
      return { auth: { method: 'eap', eap: { method: 'mschapv2', identity: auth.eapIdentity, password: secrets.eapPassword } }, defaultLocalId: () => identity(auth.eapIdentity, 'EAP identity') };
    }
    case 'eap-tls': {
      const { certificate, subject, certificatePem, privateKeyPem } = clientIdentity(secrets, 'This profile signs in with a client certificate (EAP-TLS)');
      const chain = [certificatePem, ...(secrets.certificateChainPem ?? [])].join('\n');
      // RFC 5216 §5.2: the EAP identity is free text; without one, the certificate's subject (as strongSwan's clients send).
      const eapIdentity = auth.eapIdentity ?? auth.localId;
      const serverName = profile.trust.serverName ?? profile.gateway.host;
      return {
        auth: {
          method: 'eap',
          eap: { method: 'tls', identity: eapIdentity ?? subjectText(certificate), certificatePem: chain, privateKeyPem, ...(isSniName(serverName) ? { serverName } : {}) },
        },
        defaultLocalId: subject,
      };
    }
  }
}

/** The client's key and certificate from the secrets, checked; its subject (the default IDi) parsed only when asked for. */
function clientIdentity(secrets: ConnectSecrets, what: string): { privateKey: KeyObject; privateKeyPem: string; certificatePem: string; certificate: Uint8Array; subject: () => Identity } {
  if (secrets.privateKeyPem === undefined || secrets.certificatePem === undefined) {
    throw new BuildError('SECRET_MISSING', `${what}, but its private key or certificate was not given.`);
  }
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey({ key: secrets.privateKeyPem, format: 'pem' });
  } catch {
    // Never include the error text: OpenSSL messages can quote the input.
    throw new BuildError('SECRET_MISSING', 'The client private key could not be read (is it encrypted, or not a PEM private key?).');
  }
  const [certificate] = certificatesDer([secrets.certificatePem], 'client certificate');
  if (certificate === undefined) throw new BuildError('SECRET_MISSING', 'The client certificate is empty.');
  const subject = (): Identity => {
    try {
      const info = parseCertificate(certificate);
      return { type: 'dn', der: info.subjectDer, text: info.subject };
    } catch (e) {
      throw new BuildError('PROFILE_INVALID', `The client certificate is unusable: ${describe(e)}`);
    }
  };
  return { privateKey, privateKeyPem: secrets.privateKeyPem, certificatePem: secrets.certificatePem, certificate, subject };
}

function subjectText(certificate: Uint8Array): string {
  try {
    return parseCertificate(certificate).subject;
  } catch (e) {
    throw new BuildError('PROFILE_INVALID', `The client certificate is unusable: ${describe(e)}`);
  }
}

/** RFC 6066 §3: SNI carries a DNS host name only, never an IP literal (nor a DN). */
const isSniName = (s: string): boolean => /^[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?$/.test(s) && isIP(s) === 0;

function remoteSelectors(profile: Profile): TrafficSelector[] {
  const t = profile.tunnel;
  const full = [selectorFromCidr('0.0.0.0/0'), ...(t.ipv6 ? [selectorFromCidr('::/0')] : [])];
  if (t.mode === 'full' || t.include.length === 0) return full;
  return t.include.filter((c) => t.ipv6 || !c.includes(':')).map((c) => selectorFromCidr(c.includes('/') ? c : `${c}/${c.includes(':') ? 128 : 32}`));
}

export function buildSessionConfig(profile: Profile, secrets: ConnectSecrets, endpoints: ResolvedEndpoints): BuildResult {
  try {
    const { auth, defaultLocalId } = localAuth(profile, secrets);
    const localIdText = profile.auth.localId;
    const localId = localIdText !== undefined ? identity(localIdText, 'local identity') : defaultLocalId?.();
    if (localId === undefined) throw new BuildError('PROFILE_INVALID', 'The profile has no local identity (auth.localId).');
    let ikeProposals;
    let espProposals;
    try {
      ikeProposals = parseIkeProposals(profile.proposals.ike);
      espProposals = parseEspProposals(profile.proposals.esp);
    } catch (e) {
      throw new BuildError('PROFILE_INVALID', `The profile's proposals are not usable: ${describe(e)}`);
    }
    // RFC 7296 §2.15: without a configured IDr the gateway must prove the server name (default: the host we dial).
    const serverNameText = profile.trust.serverName ?? profile.gateway.host;
    const childHard = profile.rekey.childLifetimeSeconds;
    const session: IkeSessionConfig = {
      local: endpoints.local,
      remote: endpoints.remote,
      ...(endpoints.localNattPort !== GATEWAY_NATT_PORT ? { nattPorts: { local: endpoints.localNattPort, remote: GATEWAY_NATT_PORT } } : {}),
      localId,
      ...(profile.remoteId !== undefined ? { remoteId: identity(profile.remoteId, 'remote identity') } : {}),
      auth,
      trust: { caCertificates: certificatesDer(profile.trust.caCertificates, 'CA certificates'), serverName: identity(serverNameText, 'server name') },
      ikeProposals,
      espProposals,
      // With a virtual IP the gateway narrows TSi to it (RFC 7296 §2.9); we ask for "any".
      trafficSelectors: { local: [selectorFromCidr('0.0.0.0/0'), ...(profile.tunnel.ipv6 ? [selectorFromCidr('::/0')] : [])], remote: remoteSelectors(profile) },
      requestConfig: { ipv4: true, ipv6: profile.tunnel.ipv6, dns: profile.dns.useGatewayDns },
      forceEncapsulation: profile.natTraversal.forceEncapsulation,
      fragmentation: profile.fragmentation,
      ikeMtu: DEFAULT_IKE_MTU,
      retransmit: DEFAULT_RETRANSMIT,
      childLifetime: { soft: Math.floor(childHard * SOFT_LIFETIME_FRACTION), hard: childHard },
      // RFC 7296 §2.18: rekey the IKE SA in place before its lifetime ends (the engine subtracts up to 10 % jitter)
      ikeRekeySeconds: Math.floor(profile.rekey.ikeLifetimeSeconds * SOFT_LIFETIME_FRACTION),
      replayWindow: DEFAULT_REPLAY_WINDOW,
      // RFC 7296 §2.4 liveness checks; 0 turns them off
      dpdIntervalMs: profile.dpd.intervalSeconds * 1000,
      // RFC 4555: announce MOBIKE so a network change moves the SAs instead of reconnecting
      mobike: profile.mobike,
    };
    const dnsOverride: DnsOverride | undefined =
      profile.dns.servers.length > 0 ? { servers: profile.dns.servers, searchDomains: profile.dns.searchDomains, matchDomains: profile.dns.matchDomains } : undefined;
    return {
      ok: true,
      config: {
        session,
        tunnel: {
          mode: profile.tunnel.mode,
          include: profile.tunnel.include,
          exclude: profile.tunnel.exclude,
          ipv6: profile.tunnel.ipv6,
          // allowLan (with the leak guard): the local network stays reachable directly, like Apple's ExcludeLocalNetworks.
          ...(profile.leakGuard && profile.allowLan ? { excludeLocalNetworks: true } : {}),
        },
        ...(dnsOverride !== undefined ? { dnsOverride } : {}),
        ...(profile.mtu !== undefined ? { mtu: profile.mtu } : {}),
        lifetimes: { ikeSeconds: profile.rekey.ikeLifetimeSeconds, childSoftSeconds: session.childLifetime.soft, childHardSeconds: childHard },
      },
    };
  } catch (e) {
    if (e instanceof BuildError) return { ok: false, code: e.code, message: e.message };
    return { ok: false, code: 'PROFILE_INVALID', message: `The profile could not be turned into connection settings: ${describe(e)}` };
  }
}
