/**
 * strongSwan's `.sswan` profile format (the Android app's import format;
 * keys in /work/shared/research/FEATURES.md b1 and strongSwan's
 * androidVpnClientProfiles.adoc): a UTF-8 JSON object.
 *
 * Import maps every key Strait can honour and reports the rest by path in
 * `ignoredKeys`. Export writes a Strait profile as .sswan, never with
 * secrets (no local.shared_secret, no local.p12).
 *
 * Mapped:   uuid, name, type (ikev2-eap, ikev2-cert, ikev2-eap-tls, ikev2-cert-eap), remote.addr,
 *           remote.port, remote.id, remote.cert, local.id, local.eap_id,
 *           local.shared_secret (→ keychain), local.p12 (→ keychain),
 *           ike-proposal, esp-proposal, mtu, dns-servers,
 *           split-tunneling.subnets, split-tunneling.excluded,
 *           split-tunneling.block-ipv4, split-tunneling.block-ipv6
 * Ignored:  remote.certreq, remote.revocation.*, local.rsa-pss, apps,
 *           excluded-apps, nat-keepalive, ipv6-transport, proxy.*, any unknown key
 * Refused:  type ikev2-byod-eap (EAP-TNC)
 */
import type { X509Certificate } from 'node:crypto';

import { DEFAULT_PROFILE_VALUES, parseProfile, type Profile } from '../api/profile.js';
import { certificateToPem, describeCertificate, parseCertificates, type CertificateInfo } from './certificates.js';
import { ImportError, type ImportedSecrets, type ImportResult } from './import-types.js';
import { selectorToCidrs } from './ip-ranges.js';
import { decodeBase64 } from './pem.js';
import { proposalIssues } from './proposal-check.js';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

const isObject = (v: Json | undefined): v is JsonObject => v !== null && typeof v === 'object' && !Array.isArray(v);

/** Every key of b1 the importer reads; anything else is reported as ignored. */
const MAPPED = new Set([
  'uuid', 'name', 'type', 'remote', 'remote.addr', 'remote.port', 'remote.id', 'remote.cert', 'local', 'local.id', 'local.eap_id',
  'local.shared_secret', 'local.p12', 'ike-proposal', 'esp-proposal', 'mtu', 'dns-servers', 'split-tunneling', 'split-tunneling.subnets',
  'split-tunneling.excluded', 'split-tunneling.block-ipv4', 'split-tunneling.block-ipv6',
]);

/** Leaf paths of a JSON object, "a.b" style, as the .sswan docs write them. */
function leafPaths(obj: JsonObject, prefix = ''): string[] {
  return Object.entries(obj).flatMap(([k, v]) => {
    const path = prefix === '' ? k : `${prefix}.${k}`;
    return isObject(v) && Object.keys(v).length > 0 && MAPPED.has(path) ? leafPaths(v, path) : [path];
  });
}

/** strongSwan's getStringList: a JSON array of strings or one space-separated string. */
function stringList(value: Json | undefined, key: string): string[] {
  if (value === undefined || value === null) return [];
  if (typeof value === 'string') return value.split(/\s+/u).filter((s) => s.length > 0);
  if (Array.isArray(value) && value.every((x) => typeof x === 'string')) return value as string[];
  throw new ImportError('INVALID', `${key} must be a list of strings or a space-separated string`);
}

const str = (value: Json | undefined, key: string): string | undefined => {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw new ImportError('INVALID', `${key} must be a string`);
  return value;
};

const proposals = (value: Json | undefined, key: string): string[] =>
  (str(value, key) ?? '')
    .split(/[,\s]+/u)
    .map((p) => p.trim().toLowerCase())
    .filter((p) => p.length > 0);

export interface SswanImportOptions {
  readonly now: Date;
}

/** Maps one .sswan document. Throws ImportError. */
export function importSswan(bytes: Uint8Array, options: SswanImportOptions): ImportResult {
  let doc: Json;
  try {
    doc = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes)) as Json;
  } catch (error) {
    throw new ImportError('INVALID', `not a .sswan file: ${error instanceof Error ? error.message : String(error)}`);
  }
  if (!isObject(doc)) throw new ImportError('INVALID', 'a .sswan file is a JSON object');
  const remote = isObject(doc['remote']) ? doc['remote'] : undefined;
  const local = isObject(doc['local']) ? doc['local'] : {};
  const split = isObject(doc['split-tunneling']) ? doc['split-tunneling'] : {};
  if (remote === undefined) throw new ImportError('INVALID', 'remote is required (remote.addr names the gateway)');

  const id = str(doc['uuid'], 'uuid')?.toLowerCase();
  const type = str(doc['type'], 'type');
  const localId = str(local['id'], 'local.id');
  const eapId = str(local['eap_id'], 'local.eap_id');
  const warnings: string[] = [];
  const secrets: ImportedSecrets = {};

  let auth: Profile['auth'] | Record<string, unknown>;
  switch (type) {
    case 'ikev2-eap':
      if (eapId === undefined) throw new ImportError('INVALID', 'local.eap_id (the EAP user name) is missing; Strait cannot ask for it later');
      auth = { method: 'eap-mschapv2', eapIdentity: eapId, ...(localId === undefined ? {} : { localId }) };
      break;
    case 'ikev2-cert':
      auth = { method: 'certificate', certificateRef: id ?? '', ...(localId === undefined ? {} : { localId }) };
      break;
    case 'ikev2-eap-tls':
      auth = { method: 'eap-tls', certificateRef: id ?? '', ...(eapId === undefined ? {} : { eapIdentity: eapId }), ...(localId === undefined ? {} : { localId }) };
      break;
    case 'ikev2-cert-eap':
      // RFC 4739: certificate, then EAP-MSCHAPv2 as local.eap_id
      if (eapId === undefined) throw new ImportError('INVALID', 'local.eap_id (the EAP user name of the second round) is missing; Strait cannot ask for it later');
      auth = { method: 'certificate-eap', certificateRef: id ?? '', eapIdentity: eapId, ...(localId === undefined ? {} : { localId }) };
      break;
    case 'ikev2-byod-eap':
      throw new ImportError('UNSUPPORTED', 'type ikev2-byod-eap (EAP-TNC) is not supported by Strait');
    default:
      throw new ImportError('INVALID', `type must be ikev2-eap, ikev2-cert, ikev2-eap-tls or ikev2-cert-eap (found ${JSON.stringify(type ?? null)})`);
  }

  const caCertificates: string[] = [];
  const caInfo: CertificateInfo[] = [];
  const certB64 = str(remote['cert'], 'remote.cert');
  if (certB64 !== undefined) {
    const der = decodeBase64(certB64);
    if (der === undefined) throw new ImportError('INVALID', 'remote.cert must be a base64 DER certificate');
    let cert: X509Certificate;
    try {
      [cert] = parseCertificates(der) as [X509Certificate];
    } catch (error) {
      throw new ImportError('INVALID', `remote.cert: ${error instanceof Error ? error.message : String(error)}`);
    }
    const info = describeCertificate(cert, options.now);
    if (!info.isCa) warnings.push(`remote.cert "${info.subject}" is not a CA certificate; it is trusted as the gateway's own certificate`);
    caCertificates.push(certificateToPem(cert));
    caInfo.push(info);
    warnings.push(...info.warnings);
  }

  const p12 = str(local['p12'], 'local.p12');
  if (p12 !== undefined) {
    const der = decodeBase64(p12);
    if (der === undefined) throw new ImportError('INVALID', 'local.p12 must be a base64 PKCS#12 file');
    if (type === 'ikev2-eap') warnings.push('local.p12 is ignored: an ikev2-eap profile uses no client certificate');
    else secrets.identity = { pkcs12: der };
  }
  const eapPassword = str(local['shared_secret'], 'local.shared_secret');
  if (eapPassword !== undefined) secrets.eapPassword = eapPassword;

  const include: string[] = [];
  const exclude: string[] = [];
  for (const [key, target] of [['subnets', include], ['excluded', exclude]] as const) {
    for (const sel of stringList(split[key], `split-tunneling.${key}`)) {
      const cidrs = selectorToCidrs(sel);
      if (cidrs === undefined) throw new ImportError('INVALID', `split-tunneling.${key}: "${sel}" is not a CIDR, address or address range`);
      target.push(...cidrs);
    }
  }
  const blocks = [split['block-ipv4'], split['block-ipv6']].filter((b) => b !== undefined);
  if (blocks.some((b) => typeof b !== 'boolean')) throw new ImportError('INVALID', 'split-tunneling.block-ipv4/-ipv6 must be true or false');

  let mtu: number | undefined;
  if (doc['mtu'] !== undefined) {
    // The Android app ignores an MTU outside 1280–1500; so do we, but say so.
    if (typeof doc['mtu'] === 'number' && Number.isInteger(doc['mtu']) && doc['mtu'] >= 1280 && doc['mtu'] <= 1500) mtu = doc['mtu'];
    else warnings.push(`mtu ${JSON.stringify(doc['mtu'])} is outside 1280–1500 and was ignored`);
  }

  const candidate: Record<string, unknown> = {
    version: 1,
    id,
    name: doc['name'],
    gateway: { host: remote['addr'], ...(remote['port'] === undefined ? {} : { port: remote['port'] }) },
    ...(remote['id'] === undefined ? {} : { remoteId: remote['id'] }),
    auth,
    trust: { caCertificates },
    proposals: { ike: proposals(doc['ike-proposal'], 'ike-proposal'), esp: proposals(doc['esp-proposal'], 'esp-proposal') },
    tunnel: { mode: include.length > 0 ? 'split' : 'full', include, exclude, ipv6: DEFAULT_PROFILE_VALUES.tunnel.ipv6 },
    dns: { useGatewayDns: true, servers: stringList(doc['dns-servers'], 'dns-servers'), searchDomains: [], matchDomains: [] },
    ...(mtu === undefined ? {} : { mtu }),
    ...(blocks.length === 0 ? {} : { leakGuard: blocks.some((b) => b === true) }),
  };
  const parsed = parseProfile(candidate);
  if (!parsed.ok) throw new ImportError('INVALID', 'the .sswan file does not make a valid profile', parsed.issues);
  const unsupported = proposalIssues(parsed.profile);
  if (unsupported.length > 0) throw new ImportError('UNSUPPORTED', `ike-proposal/esp-proposal: ${unsupported.map((i) => i.message).join('; ')}`, unsupported);
  const ignoredKeys = leafPaths(doc).filter((k) => !MAPPED.has(k));
  return { format: 'sswan', profile: parsed.profile, secrets, ignoredKeys, caCertificates: caInfo, warnings };
}

export class ExportError extends Error {
  override readonly name = 'ExportError';
}

/** Writes a profile as .sswan (no secrets). Returns the JSON text and what could not be expressed. */
export function exportSswan(profile: Profile): { text: string; dropped: string[] } {
  const dropped: string[] = [];
  let type: string;
  switch (profile.auth.method) {
    case 'eap-mschapv2':
      type = 'ikev2-eap';
      break;
    case 'certificate':
      type = 'ikev2-cert';
      break;
    case 'eap-tls':
      type = 'ikev2-eap-tls';
      break;
    case 'certificate-eap':
      type = 'ikev2-cert-eap';
      break;
    case 'psk':
      throw new ExportError('.sswan has no pre-shared-key profile type; export this profile in the Strait format instead');
  }
  const remote: JsonObject = { addr: profile.gateway.host };
  if (profile.gateway.port !== 500) remote['port'] = profile.gateway.port;
  if (profile.remoteId !== undefined) remote['id'] = profile.remoteId;
  const [firstCa, ...otherCas] = profile.trust.caCertificates;
  if (firstCa !== undefined) {
    const [cert] = parseCertificates(new TextEncoder().encode(firstCa));
    if (cert !== undefined) remote['cert'] = Buffer.from(cert.raw).toString('base64');
  }
  if (otherCas.length > 0) dropped.push(`trust.caCertificates: .sswan holds one certificate; ${otherCas.length} more not exported`);
  const local: JsonObject = {};
  if (profile.auth.localId !== undefined) local['id'] = profile.auth.localId;
  const eapIdentity = profile.auth.method === 'eap-mschapv2' || profile.auth.method === 'eap-tls' || profile.auth.method === 'certificate-eap' ? profile.auth.eapIdentity : undefined;
  if (eapIdentity !== undefined) local['eap_id'] = eapIdentity;

  const doc: JsonObject = { uuid: profile.id, name: profile.name, type, remote };
  if (Object.keys(local).length > 0) doc['local'] = local;
  // .sswan carries one proposal string per kind (strongSwan syntax, comma-separated proposals).
  if (profile.proposals.ike.length > 0) doc['ike-proposal'] = profile.proposals.ike.join(',');
  if (profile.proposals.esp.length > 0) doc['esp-proposal'] = profile.proposals.esp.join(',');
  if (profile.mtu !== undefined) {
    if (profile.mtu >= 1280 && profile.mtu <= 1500) doc['mtu'] = profile.mtu;
    else dropped.push(`mtu ${profile.mtu} (.sswan allows 1280–1500)`);
  }
  if (profile.dns.servers.length > 0) doc['dns-servers'] = profile.dns.servers;
  const split: JsonObject = {};
  if (profile.tunnel.mode === 'split' && profile.tunnel.include.length > 0) split['subnets'] = profile.tunnel.include;
  if (profile.tunnel.exclude.length > 0) split['excluded'] = profile.tunnel.exclude;
  if (profile.leakGuard) {
    split['block-ipv4'] = true;
    split['block-ipv6'] = true;
  }
  if (Object.keys(split).length > 0) doc['split-tunneling'] = split;
  if (profile.dns.searchDomains.length > 0 || profile.dns.matchDomains.length > 0) dropped.push('dns.searchDomains/matchDomains (no .sswan key)');
  if (profile.dpd.intervalSeconds !== DEFAULT_PROFILE_VALUES.dpd.intervalSeconds) dropped.push('dpd (no .sswan key)');
  if (!profile.mobike || !profile.fragmentation || profile.natTraversal.forceEncapsulation) dropped.push('mobike/fragmentation/natTraversal (no .sswan keys)');
  return { text: `${JSON.stringify(doc, null, 2)}\n`, dropped };
}
