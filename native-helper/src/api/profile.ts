/**
 * The VPN profile: one schema shared by the helper, Electron main, the
 * renderer and the CLI (DESIGN.md "Data and secrets"). Runtime-checked with
 * valibot; the TypeScript types are inferred from the schemas so the two can
 * never drift.
 *
 * Rules this module keeps:
 * - Versioned (`version: 1`). A document of another version is refused with
 *   a clear issue rather than half-understood.
 * - Every object is a *loose* object: keys this version does not know (written
 *   by a newer Strait) are kept in the parsed value and written back on save,
 *   so a round trip through an older client loses nothing.
 * - Defaults follow RFC 8221 (ESP algorithms) and RFC 8247 (IKEv2
 *   algorithms); the documented numbers are in DEFAULT_PROFILE_VALUES.
 * - A profile never holds a secret. Secrets travel separately as
 *   ConnectSecrets (and live in the OS keychain on the user side).
 *
 * This file is imported by the renderer bundle: it must stay free of Node
 * built-ins (no `node:*` imports).
 */
import * as v from 'valibot';

export const PROFILE_SCHEMA_VERSION = 1 as const;

/**
 * Algorithm proposals used when a profile leaves `proposals.ike/esp` empty,
 * in strongSwan proposal syntax (each string lists every allowed algorithm
 * per transform type, as strongSwan does).
 * - IKE (RFC 8247 §2.1–2.4): AES-GCM-16 MUST, ChaCha20-Poly1305 SHOULD,
 *   AES-CBC MUST with HMAC-SHA2 integrity; PRF_HMAC_SHA2_256 MUST,
 *   SHA2-384/512 SHOULD; DH groups 19 (ecp256) and 31 (x25519) SHOULD,
 *   20 (ecp384), 15 (modp3072), 14 (modp2048) MUST.
 * - ESP (RFC 8221 §5–6): ENCR_AES_GCM_16 MUST, ENCR_CHACHA20_POLY1305
 *   SHOULD, ENCR_AES_CBC MUST with AUTH_HMAC_SHA2_256_128 MUST. No DH group:
 *   PFS on CHILD_SA rekey is opt-in via the profile.
 * These are the IKE engine's defaults (ike/proposals.ts
 * DEFAULT_IKE_PROPOSALS/DEFAULT_ESP_PROPOSALS); a test keeps the two equal.
 */
export const DEFAULT_PROPOSALS = {
  ike: [
    'aes256gcm16-aes128gcm16-chacha20poly1305-prfsha256-prfsha384-prfsha512-ecp256-x25519-ecp384-modp3072-modp2048',
    'aes256-aes128-sha256-sha384-sha512-prfsha256-prfsha384-prfsha512-ecp256-x25519-ecp384-modp3072-modp2048',
  ],
  esp: ['aes256gcm16-aes128gcm16-chacha20poly1305', 'aes256-aes128-sha256-sha384-sha512'],
} as const;

/** Defaults applied when a field is absent. Documented values, not magic numbers. */
export const DEFAULT_PROFILE_VALUES = {
  gatewayPort: 500, // RFC 7296 §2.23: IKE listens on UDP 500 (4500 after NAT detection)
  trust: { caCertificates: [] as string[] },
  proposals: { ike: [] as string[], esp: [] as string[] }, // empty = DEFAULT_PROPOSALS
  tunnel: { mode: 'full' as const, include: [] as string[], exclude: [] as string[], ipv6: true },
  dns: { useGatewayDns: true, servers: [] as string[], searchDomains: [] as string[], matchDomains: [] as string[] },
  dpd: { intervalSeconds: 30 },
  // charon-nm's desktop defaults (FEATURES.md b5): IKE SA 10 h, CHILD SA 3 h.
  rekey: { ikeLifetimeSeconds: 36_000, childLifetimeSeconds: 10_800 },
  // RFC 3948 §2.3 NAT-keepalive interval (0 = off); 20 s as charon, below common NAT UDP timeouts.
  natTraversal: { forceEncapsulation: false, keepaliveSeconds: 20 },
  mobike: true, // RFC 4555
  fragmentation: true, // RFC 7383
  leakGuard: true,
  // With the leak guard on, also let the networks of the link towards the gateway through
  // (printers, the router's page): Apple's ExcludeLocalNetworks. Off: the guard's strict default.
  allowLan: false,
} as const;

// ---------------------------------------------------------------- primitives

const isIpLiteral = (value: string): boolean => v.is(v.pipe(v.string(), v.ip()), value);

/** RFC 1123 §2.1 host name: dot-separated labels of letters, digits and hyphens (IDNs in A-label form). */
const HOST_NAME = /^(?=.{1,253}\.?$)(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.?$/u;
const isHostName = (value: string): boolean => HOST_NAME.test(value);

/** An IPv4 or IPv6 prefix, "a.b.c.d/n" or "x::/n"; a bare address means a host route. */
export const isCidr = (value: string): boolean => {
  const slash = value.indexOf('/');
  const address = slash < 0 ? value : value.slice(0, slash);
  if (!isIpLiteral(address)) return false;
  if (slash < 0) return true;
  const prefix = value.slice(slash + 1);
  if (!/^\d{1,3}$/u.test(prefix)) return false;
  return Number(prefix) <= (address.includes(':') ? 128 : 32);
};

const PEM_CERTIFICATE = /^\s*-----BEGIN CERTIFICATE-----\r?\n[A-Za-z0-9+/=\r\n]+-----END CERTIFICATE-----\s*$/u;
const PEM_PRIVATE_KEY = /^\s*-----BEGIN (?:RSA |EC |ENCRYPTED )?PRIVATE KEY-----\r?\n[A-Za-z0-9+/=\r\n:,-]+-----END (?:RSA |EC |ENCRYPTED )?PRIVATE KEY-----\s*$/u;

/**
 * strongSwan proposal syntax: algorithm keywords joined by '-', e.g.
 * "aes256gcm16-prfsha256-ecp256" or "aes256-sha256-ecp256-ke1_mlkem768".
 * Only the grammar is checked here; the IKE engine decides which keywords it
 * implements and reports unknown ones when it builds the SA payload.
 */
const PROPOSAL = /^[a-z0-9_]+(?:-[a-z0-9_]+)*$/u;

/** JSON Pointer (RFC 6901 §3): "" or a sequence of "/token". */
const JSON_POINTER = /^(?:\/(?:[^~/]|~[01])*)*$/u;

const nonEmptyString = (what: string) =>
  v.pipe(v.string(`${what} must be a string`), v.check((s) => s.trim().length > 0, `${what} must not be empty`), v.maxLength(1024, `${what} is longer than 1024 characters`));

const boundedInteger = (what: string, min: number, max: number) =>
  v.pipe(
    v.number(`${what} must be a number`),
    v.integer(`${what} must be a whole number`),
    v.minValue(min, `${what} must be between ${min} and ${max}`),
    v.maxValue(max, `${what} must be between ${min} and ${max}`),
  );

const stringList = <TItem extends v.GenericSchema<string, string>>(item: TItem, what: string) =>
  v.pipe(v.array(item, `${what} must be a list`), v.maxLength(256, `${what} has more than 256 entries`));

const ipAddress = v.pipe(v.string('must be a string'), v.check(isIpLiteral, 'must be an IPv4 or IPv6 address'));
const cidr = v.pipe(v.string('must be a string'), v.check(isCidr, 'must be an IPv4 or IPv6 prefix such as 10.0.0.0/8 or 2001:db8::/32'));
const domainName = v.pipe(v.string('must be a string'), v.check(isHostName, 'must be a DNS domain name'));
const pemCertificate = v.pipe(v.string('must be a string'), v.maxLength(65_536, 'certificate is too large'), v.check((s) => PEM_CERTIFICATE.test(s), 'must be one PEM certificate (-----BEGIN CERTIFICATE-----)'));
const proposal = v.pipe(v.string('must be a string'), v.check((s) => PROPOSAL.test(s), 'must be a strongSwan proposal such as aes256gcm16-prfsha256-ecp256'));

// ---------------------------------------------------------------- sections

const GatewaySchema = v.looseObject(
  {
    host: v.pipe(
      v.string('gateway host must be a string'),
      v.check((s) => isIpLiteral(s) || isHostName(s), 'gateway host must be a DNS name or an IP address (without brackets or port)'),
    ),
    port: v.optional(boundedInteger('gateway port', 1, 65_535), DEFAULT_PROFILE_VALUES.gatewayPort),
  },
  'gateway must be an object with a host',
);

const localIdOptional = v.optional(nonEmptyString('local identity'));

/** RFC 7296 §2.15/§2.16 and RFC 4739: the five ways this client authenticates itself. */
const AuthSchema = v.variant(
  'method',
  [
    v.looseObject({ method: v.literal('psk'), localId: nonEmptyString('local identity (required for PSK)') }),
    v.looseObject({ method: v.literal('certificate'), localId: localIdOptional, certificateRef: nonEmptyString('certificate reference') }),
    v.looseObject({ method: v.literal('eap-mschapv2'), localId: localIdOptional, eapIdentity: nonEmptyString('EAP identity') }),
    v.looseObject({
      method: v.literal('eap-tls'),
      localId: localIdOptional,
      eapIdentity: v.optional(nonEmptyString('EAP identity')),
      certificateRef: nonEmptyString('certificate reference'),
    }),
    // RFC 4739: the certificate in a first IKE_AUTH round, then EAP-MSCHAPv2 as eapIdentity (strongSwan's ikev2-cert-eap).
    v.looseObject({
      method: v.literal('certificate-eap'),
      localId: localIdOptional,
      certificateRef: nonEmptyString('certificate reference'),
      eapIdentity: nonEmptyString('EAP identity'),
    }),
  ],
  'auth.method must be one of psk, certificate, eap-mschapv2, eap-tls, certificate-eap',
);

const TrustSchema = v.looseObject({
  caCertificates: v.optional(stringList(pemCertificate, 'CA certificates'), () => [...DEFAULT_PROFILE_VALUES.trust.caCertificates]),
  serverName: v.optional(domainName),
});

const ProposalsSchema = v.looseObject({
  ike: v.optional(stringList(proposal, 'IKE proposals'), () => [...DEFAULT_PROFILE_VALUES.proposals.ike]),
  esp: v.optional(stringList(proposal, 'ESP proposals'), () => [...DEFAULT_PROFILE_VALUES.proposals.esp]),
});

const TunnelSchema = v.pipe(
  v.looseObject({
    mode: v.optional(v.picklist(['full', 'split'], 'tunnel mode must be "full" or "split"'), DEFAULT_PROFILE_VALUES.tunnel.mode),
    include: v.optional(stringList(cidr, 'included networks'), () => [...DEFAULT_PROFILE_VALUES.tunnel.include]),
    exclude: v.optional(stringList(cidr, 'excluded networks'), () => [...DEFAULT_PROFILE_VALUES.tunnel.exclude]),
    ipv6: v.optional(v.boolean('tunnel.ipv6 must be true or false'), DEFAULT_PROFILE_VALUES.tunnel.ipv6),
  }),
  v.forward(
    v.partialCheck(
      [['mode'], ['include']],
      (t) => t.mode === 'split' || t.include.length === 0,
      'included networks apply only to split tunnels (set tunnel.mode to "split")',
    ),
    ['include'],
  ),
);

const DnsSchema = v.looseObject({
  useGatewayDns: v.optional(v.boolean('dns.useGatewayDns must be true or false'), DEFAULT_PROFILE_VALUES.dns.useGatewayDns),
  servers: v.optional(stringList(ipAddress, 'DNS servers'), () => [...DEFAULT_PROFILE_VALUES.dns.servers]),
  searchDomains: v.optional(stringList(domainName, 'search domains'), () => [...DEFAULT_PROFILE_VALUES.dns.searchDomains]),
  // RFC 8598: domains resolved through the tunnel's DNS only (split DNS).
  matchDomains: v.optional(stringList(domainName, 'match domains'), () => [...DEFAULT_PROFILE_VALUES.dns.matchDomains]),
});

const ManagedSchema = v.looseObject({
  bundleIssuer: nonEmptyString('bundle issuer'),
  bundleSerial: boundedInteger('bundle serial', 0, Number.MAX_SAFE_INTEGER),
  signedBy: nonEmptyString('signer'),
  lockedFields: v.optional(
    stringList(v.pipe(v.string('must be a string'), v.check((s) => JSON_POINTER.test(s), 'must be a JSON pointer such as /gateway')), 'locked fields'),
    () => [],
  ),
});

// ---------------------------------------------------------------- the profile

export const ProfileSchema = v.pipe(
  v.looseObject(
    {
      version: v.literal(PROFILE_SCHEMA_VERSION, `version must be ${PROFILE_SCHEMA_VERSION} (this Strait understands profile format ${PROFILE_SCHEMA_VERSION} only)`),
      id: v.pipe(v.string('id must be a string'), v.uuid('id must be a UUID')),
      name: v.pipe(nonEmptyString('name'), v.maxLength(200, 'name is longer than 200 characters')),
      gateway: GatewaySchema,
      remoteId: v.optional(nonEmptyString('remote identity')),
      auth: AuthSchema,
      trust: v.optional(TrustSchema, () => ({ caCertificates: [] })),
      proposals: v.optional(ProposalsSchema, () => ({ ike: [], esp: [] })),
      tunnel: v.optional(TunnelSchema, () => ({ ...DEFAULT_PROFILE_VALUES.tunnel, include: [], exclude: [] })),
      dns: v.optional(DnsSchema, () => ({ ...DEFAULT_PROFILE_VALUES.dns, servers: [], searchDomains: [], matchDomains: [] })),
      // RFC 8200 §5: IPv6 needs a link MTU of at least 1280; RFC 791: 576 for IPv4.
      mtu: v.optional(boundedInteger('MTU', 576, 9000)),
      dpd: v.optional(v.looseObject({ intervalSeconds: v.optional(boundedInteger('DPD interval', 0, 3600), DEFAULT_PROFILE_VALUES.dpd.intervalSeconds) }), () => ({
        ...DEFAULT_PROFILE_VALUES.dpd,
      })),
      rekey: v.optional(
        v.looseObject({
          ikeLifetimeSeconds: v.optional(boundedInteger('IKE SA lifetime', 300, 7 * 86_400), DEFAULT_PROFILE_VALUES.rekey.ikeLifetimeSeconds),
          childLifetimeSeconds: v.optional(boundedInteger('CHILD SA lifetime', 120, 7 * 86_400), DEFAULT_PROFILE_VALUES.rekey.childLifetimeSeconds),
        }),
        () => ({ ...DEFAULT_PROFILE_VALUES.rekey }),
      ),
      natTraversal: v.optional(
        v.looseObject({
          forceEncapsulation: v.optional(v.boolean('natTraversal.forceEncapsulation must be true or false'), DEFAULT_PROFILE_VALUES.natTraversal.forceEncapsulation),
          keepaliveSeconds: v.optional(boundedInteger('NAT keepalive interval', 0, 3600), DEFAULT_PROFILE_VALUES.natTraversal.keepaliveSeconds),
        }),
        () => ({ ...DEFAULT_PROFILE_VALUES.natTraversal }),
      ),
      mobike: v.optional(v.boolean('mobike must be true or false'), DEFAULT_PROFILE_VALUES.mobike),
      fragmentation: v.optional(v.boolean('fragmentation must be true or false'), DEFAULT_PROFILE_VALUES.fragmentation),
      leakGuard: v.optional(v.boolean('leakGuard must be true or false'), DEFAULT_PROFILE_VALUES.leakGuard),
      allowLan: v.optional(v.boolean('allowLan must be true or false'), DEFAULT_PROFILE_VALUES.allowLan),
      managed: v.optional(ManagedSchema),
    },
    'a profile must be a JSON object',
  ),
  v.forward(
    v.partialCheck(
      [['mtu'], ['tunnel', 'ipv6']],
      (p) => p.mtu === undefined || !p.tunnel.ipv6 || p.mtu >= 1280,
      'MTU must be at least 1280 when IPv6 is tunnelled (RFC 8200 §5)',
    ),
    ['mtu'],
  ),
);

export type Profile = v.InferOutput<typeof ProfileSchema>;
/** What a profile document may look like before defaults are applied. */
export type ProfileInput = v.InferInput<typeof ProfileSchema>;
export type ProfileAuth = Profile['auth'];
export type AuthMethod = ProfileAuth['method'];

export interface ProfileIssue {
  /** JSON Pointer (RFC 6901) to the offending field, e.g. "/gateway/port"; "" for the whole document. */
  readonly path: string;
  readonly message: string;
}

export type ParseProfileResult = { ok: true; profile: Profile } | { ok: false; issues: ProfileIssue[] };

const escapePointerToken = (token: string): string => token.replace(/~/gu, '~0').replace(/\//gu, '~1');

/** Turns valibot issues into `{ path, message }` with RFC 6901 paths (shared by other schemas in this contract). */
export const toIssues = (issues: readonly v.BaseIssue<unknown>[]): ProfileIssue[] =>
  issues.map((issue) => {
    const keys = (issue.path ?? []).map((item) => String(item.key));
    const last = keys[keys.length - 1];
    // valibot reports a missing key as an object-level issue at the key's path; say what it is.
    // (or, from JavaScript callers, as a type issue on a key explicitly set to undefined).
    const missing = (OBJECT_ISSUE_TYPES.has(issue.type) || issue.kind === 'schema') && last !== undefined && issue.received === 'undefined';
    return { path: keys.map((k) => `/${escapePointerToken(k)}`).join(''), message: missing ? `${last} is required` : issue.message };
  });

const OBJECT_ISSUE_TYPES: ReadonlySet<string> = new Set(['object', 'loose_object', 'strict_object', 'variant']);

/**
 * Validates an untrusted document (a file, an RPC request, an import) and
 * applies defaults. Never throws; every problem names its field.
 */
export const parseProfile = (json: unknown): ParseProfileResult => {
  const result = v.safeParse(ProfileSchema, json);
  return result.success ? { ok: true, profile: result.output } : { ok: false, issues: toIssues(result.issues) };
};

/** Formats issues as one line each, "gateway/port: must be …", for CLI and logs. */
export const formatIssues = (issues: readonly ProfileIssue[]): string =>
  issues.map((i) => `${i.path === '' ? '(profile)' : i.path}: ${i.message}`).join('\n');

// ---------------------------------------------------------------- secrets

/**
 * Secrets handed to straitd with a connect request, read from the keychain
 * by a user-side process. Never stored in a profile, never logged. Strict:
 * an unknown key is refused rather than forwarded.
 */
export const ConnectSecretsSchema = v.strictObject(
  {
    psk: v.optional(v.pipe(v.string('psk must be a string'), v.minLength(1, 'psk must not be empty'), v.maxLength(4096, 'psk is too long'))),
    eapPassword: v.optional(v.pipe(v.string('eapPassword must be a string'), v.maxLength(4096, 'eapPassword is too long'))),
    privateKeyPem: v.optional(
      v.pipe(v.string('privateKeyPem must be a string'), v.maxLength(65_536, 'privateKeyPem is too large'), v.check((s) => PEM_PRIVATE_KEY.test(s), 'privateKeyPem must be a PEM private key')),
    ),
    certificatePem: v.optional(pemCertificate),
    certificateChainPem: v.optional(v.pipe(v.array(pemCertificate, 'certificateChainPem must be a list'), v.maxLength(16, 'certificateChainPem has more than 16 certificates'))),
  },
  'secrets must be an object with only psk, eapPassword, privateKeyPem, certificatePem, certificateChainPem',
);

export type ConnectSecrets = v.InferOutput<typeof ConnectSecretsSchema>;
