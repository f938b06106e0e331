/**
 * Apple configuration profiles (.mobileconfig): the IKEv2 VPN payloads
 * (PayloadType com.apple.vpn.managed, VPNType IKEv2) and the certificate
 * payloads they use (com.apple.security.root / .pkcs1 → the profile's CA
 * trust; com.apple.security.pkcs12 → the client identity, to the keychain).
 * Keys from FEATURES.md b2 (Apple's device-management schema). A signed
 * .mobileconfig is unwrapped and verified by the caller (importer.ts).
 *
 * See the tables in docs/profiles.md; in short:
 * Mapped:  UserDefinedName, PayloadUUID, IKEv2.{RemoteAddress, RemoteIdentifier,
 *          LocalIdentifier, AuthenticationMethod, ExtendedAuthEnabled, AuthName,
 *          AuthPassword, SharedSecret, PayloadCertificateUUID,
 *          ServerCertificateCommonName, IKESecurityAssociationParameters,
 *          ChildSecurityAssociationParameters, EnablePFS, DeadPeerDetectionRate,
 *          DisableMOBIKE, MTU, IncludeAllNetworks, ExcludeLocalNetworks}, DNS.{ServerAddresses,
 *          SearchDomains, DomainName, SupplementalMatchDomains}, IPv4.OverridePrimary
 * Ignored: every other key, reported by path.
 */
import type { X509Certificate } from 'node:crypto';

import { parseProfile, type Profile } from '../api/profile.js';
import { certificateToPem, describeCertificate, parseCertificates, type CertificateInfo } from './certificates.js';
import { ImportError, type ImportedSecrets, type ImportResult } from './import-types.js';
import { isPlistDict, parsePlist, PlistError, type PlistDict, type PlistValue } from './plist.js';
import { proposalIssues } from './proposal-check.js';

const VPN_PAYLOAD = 'com.apple.vpn.managed';
const ROOT_PAYLOADS = new Set(['com.apple.security.root', 'com.apple.security.pkcs1', 'com.apple.security.pem']);
const PKCS12_PAYLOAD = 'com.apple.security.pkcs12';

/** Payload keys that identify or describe a payload; consumed, not "ignored". */
const PAYLOAD_META = new Set(['PayloadType', 'PayloadVersion', 'PayloadIdentifier', 'PayloadUUID', 'PayloadDisplayName', 'PayloadDescription', 'PayloadOrganization']);

const IKEV2_MAPPED = new Set([
  'RemoteAddress', 'RemoteIdentifier', 'LocalIdentifier', 'AuthenticationMethod', 'ExtendedAuthEnabled', 'AuthName', 'AuthPassword', 'SharedSecret',
  'PayloadCertificateUUID', 'ServerCertificateCommonName', 'IKESecurityAssociationParameters', 'ChildSecurityAssociationParameters', 'EnablePFS',
  'DeadPeerDetectionRate', 'DisableMOBIKE', 'MTU', 'IncludeAllNetworks', 'ExcludeLocalNetworks',
]);
const SA_MAPPED = new Set(['EncryptionAlgorithm', 'IntegrityAlgorithm', 'DiffieHellmanGroup', 'LifeTimeInMinutes']);
const DNS_MAPPED = new Set(['ServerAddresses', 'SearchDomains', 'DomainName', 'SupplementalMatchDomains', 'DNSProtocol']);
const VPN_MAPPED = new Set([...PAYLOAD_META, 'VPNType', 'UserDefinedName', 'IKEv2', 'DNS', 'IPv4']);

// Apple names → strongSwan proposal keywords (RFC 8247/8221 algorithms Strait implements).
const ENCRYPTION: Record<string, { kw: string; aead: boolean }> = {
  'AES-128': { kw: 'aes128', aead: false },
  'AES-256': { kw: 'aes256', aead: false },
  'AES-128-GCM': { kw: 'aes128gcm16', aead: true },
  'AES-256-GCM': { kw: 'aes256gcm16', aead: true },
  ChaCha20Poly1305: { kw: 'chacha20poly1305', aead: true },
};
const INTEGRITY: Record<string, string> = { 'SHA1-96': 'sha1', 'SHA1-160': 'sha1_160', 'SHA2-256': 'sha256', 'SHA2-384': 'sha384', 'SHA2-512': 'sha512' };
const DH_GROUPS: Record<number, string> = { 14: 'modp2048', 15: 'modp3072', 16: 'modp4096', 17: 'modp6144', 18: 'modp8192', 19: 'ecp256', 20: 'ecp384', 21: 'ecp521', 31: 'curve25519', 32: 'curve448' };
/** DeadPeerDetectionRate → seconds (Apple: Low 30 min, Medium 10 min, High 1 min). */
const DPD: Record<string, number> = { None: 0, Low: 1800, Medium: 600, High: 60 };

const str = (d: PlistDict, key: string, where: string): string | undefined => {
  const v = d[key];
  if (v === undefined) return undefined;
  if (typeof v !== 'string') throw new ImportError('INVALID', `${where}.${key} must be a string`);
  return v;
};
const int = (d: PlistDict, key: string, where: string): number | undefined => {
  const v = d[key];
  if (v === undefined) return undefined;
  if (typeof v === 'boolean') return v ? 1 : 0;
  if (typeof v !== 'number' || !Number.isInteger(v)) throw new ImportError('INVALID', `${where}.${key} must be an integer`);
  return v;
};
const strings = (d: PlistDict, key: string, where: string): string[] => {
  const v = d[key];
  if (v === undefined) return [];
  if (!Array.isArray(v) || !v.every((x): x is string => typeof x === 'string')) throw new ImportError('INVALID', `${where}.${key} must be an array of strings`);
  return v;
};
const dict = (d: PlistDict, key: string, where: string): PlistDict | undefined => {
  const v = d[key];
  if (v === undefined) return undefined;
  if (!isPlistDict(v)) throw new ImportError('INVALID', `${where}.${key} must be a dictionary`);
  return v;
};
const unmapped = (d: PlistDict, mapped: ReadonlySet<string>, where: string): string[] => Object.keys(d).filter((k) => !mapped.has(k)).map((k) => `${where}.${k}`);

/** One proposal in strongSwan syntax from Apple's SA parameters (defaults: AES-256, SHA2-256, group 14). */
function proposalFrom(params: PlistDict | undefined, kind: 'IKE' | 'ESP', withDh: boolean, where: string): string | undefined {
  if (params === undefined) return undefined;
  const enc = str(params, 'EncryptionAlgorithm', where) ?? 'AES-256';
  const integ = str(params, 'IntegrityAlgorithm', where) ?? 'SHA2-256';
  const group = int(params, 'DiffieHellmanGroup', where) ?? 14;
  const e = ENCRYPTION[enc];
  if (e === undefined) throw new ImportError('UNSUPPORTED', `${where}.EncryptionAlgorithm ${enc} is not supported (RFC 8247 §2.1 retires DES/3DES); use AES-GCM, AES-CBC or ChaCha20Poly1305`);
  const i = INTEGRITY[integ];
  if (i === undefined) throw new ImportError('UNSUPPORTED', `${where}.IntegrityAlgorithm ${integ} is not supported`);
  // RFC 8247 §2.3: HMAC-SHA1 integrity is deprecated; with an AEAD cipher only its PRF (prfsha1) is used.
  if (i.startsWith('sha1') && !e.aead) throw new ImportError('UNSUPPORTED', `${where}.IntegrityAlgorithm ${integ} is not supported (RFC 8247 §2.3 deprecates HMAC-SHA1); use SHA2-256 or higher`);
  const dh = DH_GROUPS[group];
  if (dh === undefined) throw new ImportError('UNSUPPORTED', `${where}.DiffieHellmanGroup ${group} is not supported (RFC 8247 §2.4: groups 1, 2 and 5 are too weak)`);
  const parts = [e.kw];
  // With AEAD the IKE proposal still needs a PRF (RFC 7296 §3.3.3); ESP needs no integrity.
  if (kind === 'IKE') parts.push(e.aead ? `prf${i.replace('_160', '')}` : i);
  else if (!e.aead) parts.push(i);
  if (withDh) parts.push(dh);
  return parts.join('-');
}

function lifetime(params: PlistDict | undefined, where: string): number | undefined {
  if (params === undefined) return undefined;
  const minutes = int(params, 'LifeTimeInMinutes', where);
  return minutes === undefined ? undefined : minutes * 60;
}

export interface MobileconfigOptions {
  readonly now: Date;
  readonly verified?: { readonly signer: string; readonly anchor: string };
}

interface CertPayloads {
  readonly roots: X509Certificate[];
  readonly pkcs12: Map<string, { pkcs12: Uint8Array; password?: string; ignored: string[] }>;
}

function collectCertificates(payloads: PlistDict[]): CertPayloads {
  const roots: X509Certificate[] = [];
  const pkcs12 = new Map<string, { pkcs12: Uint8Array; password?: string; ignored: string[] }>();
  payloads.forEach((p, index) => {
    const type = p['PayloadType'];
    const where = `PayloadContent[${index}]`;
    const content = p['PayloadContent'];
    if (typeof type === 'string' && ROOT_PAYLOADS.has(type)) {
      if (!(content instanceof Uint8Array)) throw new ImportError('INVALID', `${where}.PayloadContent must be certificate data`);
      try {
        roots.push(...parseCertificates(content));
      } catch (error) {
        throw new ImportError('INVALID', `${where}: ${error instanceof Error ? error.message : String(error)}`);
      }
    } else if (type === PKCS12_PAYLOAD) {
      if (!(content instanceof Uint8Array)) throw new ImportError('INVALID', `${where}.PayloadContent must be PKCS#12 data`);
      const uuid = str(p, 'PayloadUUID', where);
      if (uuid === undefined) throw new ImportError('INVALID', `${where}.PayloadUUID is required`);
      const password = str(p, 'Password', where);
      const ignored = unmapped(p, new Set([...PAYLOAD_META, 'PayloadContent', 'Password']), where);
      pkcs12.set(uuid.toLowerCase(), password === undefined ? { pkcs12: content, ignored } : { pkcs12: content, password, ignored });
    }
  });
  return { roots, pkcs12 };
}

function mapVpnPayload(p: PlistDict, where: string, certs: CertPayloads, options: MobileconfigOptions): ImportResult {
  const ikev2 = dict(p, 'IKEv2', where);
  if (ikev2 === undefined) throw new ImportError('INVALID', `${where}.IKEv2 is required for VPNType IKEv2`);
  const w = `${where}.IKEv2`;
  const ignoredKeys = [...unmapped(p, VPN_MAPPED, where), ...unmapped(ikev2, IKEV2_MAPPED, w)];
  const warnings: string[] = [];
  const secrets: ImportedSecrets = {};
  const id = str(p, 'PayloadUUID', where)?.toLowerCase();

  const method = str(ikev2, 'AuthenticationMethod', w) ?? 'None';
  const extended = (int(ikev2, 'ExtendedAuthEnabled', w) ?? 0) === 1;
  const localId = str(ikev2, 'LocalIdentifier', w);
  const authName = str(ikev2, 'AuthName', w);
  const certUuid = str(ikev2, 'PayloadCertificateUUID', w)?.toLowerCase();
  let auth: Record<string, unknown>;
  let usesCertificate = false;
  if (method === 'SharedSecret' && !extended) {
    auth = { method: 'psk', localId };
    const psk = str(ikev2, 'SharedSecret', w);
    if (psk !== undefined) secrets.psk = psk;
  } else if (method === 'Certificate' && !extended) {
    auth = { method: 'certificate', certificateRef: id, ...(localId === undefined ? {} : { localId }) };
    usesCertificate = true;
  } else if (method === 'None' && extended && certUuid !== undefined) {
    auth = { method: 'eap-tls', certificateRef: id, ...(authName === undefined ? {} : { eapIdentity: authName }), ...(localId === undefined ? {} : { localId }) };
    usesCertificate = true;
  } else if (method === 'None' && extended) {
    if (authName === undefined) throw new ImportError('INVALID', `${w}.AuthName (the EAP user name) is required for EAP authentication`);
    auth = { method: 'eap-mschapv2', eapIdentity: authName, ...(localId === undefined ? {} : { localId }) };
  } else if (extended) {
    throw new ImportError('UNSUPPORTED', `${w}: ${method} followed by EAP (RFC 4739 multiple authentication) is not supported by Strait profiles`);
  } else {
    throw new ImportError('INVALID', `${w}.AuthenticationMethod ${method} without ExtendedAuthEnabled authenticates nobody`);
  }
  const authPassword = str(ikev2, 'AuthPassword', w);
  if (authPassword !== undefined) secrets.eapPassword = authPassword;
  if (usesCertificate && certUuid !== undefined) {
    const identity = certs.pkcs12.get(certUuid);
    if (identity === undefined) throw new ImportError('INVALID', `${w}.PayloadCertificateUUID ${certUuid} names no pkcs12 payload in this profile (SCEP/ACME enrolment is not supported)`);
    secrets.identity = identity.password === undefined ? { pkcs12: identity.pkcs12 } : { pkcs12: identity.pkcs12, password: identity.password };
    ignoredKeys.push(...identity.ignored);
  }

  const ikeParams = dict(ikev2, 'IKESecurityAssociationParameters', w);
  const childParams = dict(ikev2, 'ChildSecurityAssociationParameters', w);
  const pfs = (int(ikev2, 'EnablePFS', w) ?? 0) === 1;
  if (ikeParams !== undefined) ignoredKeys.push(...unmapped(ikeParams, SA_MAPPED, `${w}.IKESecurityAssociationParameters`));
  if (childParams !== undefined) ignoredKeys.push(...unmapped(childParams, SA_MAPPED, `${w}.ChildSecurityAssociationParameters`));
  const ike = proposalFrom(ikeParams, 'IKE', true, `${w}.IKESecurityAssociationParameters`);
  // RFC 7296 §1.3.1: a CHILD_SA proposal carries a DH group only for PFS on rekey.
  const esp = proposalFrom(childParams ?? (pfs ? {} : undefined), 'ESP', pfs, `${w}.ChildSecurityAssociationParameters`);

  const dpdRate = str(ikev2, 'DeadPeerDetectionRate', w);
  if (dpdRate !== undefined && DPD[dpdRate] === undefined) throw new ImportError('INVALID', `${w}.DeadPeerDetectionRate must be None, Low, Medium or High`);
  const serverName = str(ikev2, 'ServerCertificateCommonName', w);

  const dns = dict(p, 'DNS', where);
  const dnsServers = dns === undefined ? [] : strings(dns, 'ServerAddresses', `${where}.DNS`);
  const searchDomains = dns === undefined ? [] : [...(str(dns, 'DomainName', `${where}.DNS`) === undefined ? [] : [str(dns, 'DomainName', `${where}.DNS`) as string]), ...strings(dns, 'SearchDomains', `${where}.DNS`)];
  const matchDomains = dns === undefined ? [] : strings(dns, 'SupplementalMatchDomains', `${where}.DNS`);
  if (dns !== undefined) {
    ignoredKeys.push(...unmapped(dns, DNS_MAPPED, `${where}.DNS`));
    const protocol = str(dns, 'DNSProtocol', `${where}.DNS`);
    if (protocol !== undefined && protocol !== 'Cleartext') warnings.push(`${where}.DNS.DNSProtocol ${protocol} is not supported; the servers are used as plain DNS`);
  }
  const ipv4 = dict(p, 'IPv4', where);
  const overridePrimary = ipv4 === undefined ? undefined : int(ipv4, 'OverridePrimary', `${where}.IPv4`);
  if (ipv4 !== undefined) ignoredKeys.push(...unmapped(ipv4, new Set(['OverridePrimary']), `${where}.IPv4`));
  const includeAll = int(ikev2, 'IncludeAllNetworks', w);
  // Apple: ExcludeLocalNetworks (with IncludeAllNetworks) keeps the local network outside the tunnel.
  const excludeLocal = int(ikev2, 'ExcludeLocalNetworks', w);

  const caCertificates = certs.roots.map(certificateToPem);
  const caInfo: CertificateInfo[] = certs.roots.map((c) => describeCertificate(c, options.now));
  for (const info of caInfo) warnings.push(...info.warnings);

  const candidate: Record<string, unknown> = {
    version: 1,
    id,
    name: str(p, 'UserDefinedName', where) ?? str(p, 'PayloadDisplayName', where),
    gateway: { host: str(ikev2, 'RemoteAddress', w) },
    ...(str(ikev2, 'RemoteIdentifier', w) === undefined ? {} : { remoteId: str(ikev2, 'RemoteIdentifier', w) }),
    auth,
    trust: { caCertificates, ...(serverName === undefined ? {} : { serverName }) },
    proposals: { ike: ike === undefined ? [] : [ike], esp: esp === undefined ? [] : [esp] },
    // IPv4.OverridePrimary 1 sends all traffic through the tunnel; 0 only the gateway's networks.
    ...(overridePrimary === undefined ? {} : { tunnel: { mode: overridePrimary === 1 ? 'full' : 'split', include: [], exclude: [] } }),
    dns: { useGatewayDns: dnsServers.length === 0, servers: dnsServers, searchDomains, matchDomains },
    ...(int(ikev2, 'MTU', w) === undefined ? {} : { mtu: int(ikev2, 'MTU', w) }),
    ...(dpdRate === undefined ? {} : { dpd: { intervalSeconds: DPD[dpdRate] } }),
    rekey: {
      ...(lifetime(ikeParams, `${w}.IKESecurityAssociationParameters`) === undefined ? {} : { ikeLifetimeSeconds: lifetime(ikeParams, `${w}.IKESecurityAssociationParameters`) }),
      ...(lifetime(childParams, `${w}.ChildSecurityAssociationParameters`) === undefined ? {} : { childLifetimeSeconds: lifetime(childParams, `${w}.ChildSecurityAssociationParameters`) }),
    },
    ...(int(ikev2, 'DisableMOBIKE', w) === undefined ? {} : { mobike: int(ikev2, 'DisableMOBIKE', w) !== 1 }),
    ...(includeAll === 1 ? { leakGuard: true } : {}),
    ...(excludeLocal === undefined ? {} : { allowLan: excludeLocal === 1 }),
  };
  const parsed = parseProfile(candidate);
  if (!parsed.ok) throw new ImportError('INVALID', `${where} does not make a valid profile`, parsed.issues);
  const unsupported = proposalIssues(parsed.profile);
  if (unsupported.length > 0) throw new ImportError('UNSUPPORTED', `${w}: ${unsupported.map((i) => i.message).join('; ')}`, unsupported);
  const profile: Profile = parsed.profile;
  return {
    format: 'mobileconfig',
    profile,
    secrets,
    ignoredKeys,
    ...(options.verified === undefined ? {} : { verified: options.verified }),
    caCertificates: caInfo,
    warnings,
  };
}

/** All IKEv2 VPN profiles of a (decoded, unsigned) .mobileconfig plist. */
export function importMobileconfig(plistBytes: Uint8Array, options: MobileconfigOptions): ImportResult[] {
  let root: PlistValue;
  try {
    root = parsePlist(plistBytes);
  } catch (error) {
    throw new ImportError('INVALID', `not a readable .mobileconfig: ${error instanceof PlistError ? error.message : String(error)}`);
  }
  if (!isPlistDict(root) || root['PayloadType'] !== 'Configuration') throw new ImportError('INVALID', 'a .mobileconfig is a dictionary with PayloadType Configuration');
  if (root['IsEncrypted'] === true || root['EncryptedPayloadContent'] !== undefined) {
    throw new ImportError('UNSUPPORTED', 'encrypted configuration profiles (EncryptedPayloadContent) are not supported');
  }
  const content = root['PayloadContent'];
  if (!Array.isArray(content) || !content.every(isPlistDict)) throw new ImportError('INVALID', 'PayloadContent must be an array of payload dictionaries');
  const payloads = content as PlistDict[];
  const topIgnored = unmapped(root, new Set([...PAYLOAD_META, 'PayloadContent']), 'Configuration');
  const certs = collectCertificates(payloads);
  const results: ImportResult[] = [];
  const otherIgnored: string[] = [];
  payloads.forEach((p, index) => {
    const where = `PayloadContent[${index}]`;
    const type = p['PayloadType'];
    if (type === VPN_PAYLOAD && p['VPNType'] === 'IKEv2') results.push(mapVpnPayload(p, where, certs, options));
    else if (type === VPN_PAYLOAD) otherIgnored.push(`${where} (VPNType ${String(p['VPNType'])})`);
    else if (typeof type === 'string' && (ROOT_PAYLOADS.has(type) || type === PKCS12_PAYLOAD)) {
      if (ROOT_PAYLOADS.has(type)) otherIgnored.push(...unmapped(p, new Set([...PAYLOAD_META, 'PayloadContent', 'PayloadCertificateFileName']), where));
    } else otherIgnored.push(`${where} (${String(type)})`);
  });
  if (results.length === 0) throw new ImportError('UNSUPPORTED', 'the profile has no IKEv2 VPN payload (com.apple.vpn.managed with VPNType IKEv2)');
  return results.map((r) => ({ ...r, ignoredKeys: [...topIgnored, ...r.ignoredKeys, ...otherIgnored] }));
}
