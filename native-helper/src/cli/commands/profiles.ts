/**
 * `strait profiles list|import|export|remove`: the profile store, imports
 * (signed bundles, .mobileconfig, .sswan, Strait JSON) and exports, from a
 * terminal. Runs as the user (profiles and keychain of the logged-in user);
 * `--managed` is for administrators and writes the system-wide managed
 * store. Passwords only ever come from io.readSecret, never from argv.
 */
import { readFile, writeFile } from 'node:fs/promises';

import { formatIssues, type Profile, type ProfileIssue } from '../../api/profile.js';
import { NapiKeyringStore } from '../../keychain/napi-keyring-store.js';
import { KeychainUnavailableError, SecretStoreError, type SecretStore } from '../../keychain/secret-store.js';
import { BundleError } from '../../profiles/bundle.js';
import { lastSerial as lastSerialOf, BundleStateError } from '../../profiles/bundle-state.js';
import {
  CertificateError,
  certificateMatchesKey,
  certificateToPem,
  describeCertificate,
  isEncryptedPrivateKeyPem,
  parseCertificates,
  parsePrivateKey,
  privateKeyToPkcs8Pem,
} from '../../profiles/certificates.js';
import { ImportError, type ImportResult } from '../../profiles/import-types.js';
import { readImportFile } from '../../profiles/importer.js';
import { bundleStatePaths, installBundle, installImported, type InstallContext } from '../../profiles/install.js';
import { defaultStraitPaths, type StraitPaths } from '../../profiles/paths.js';
import { Pkcs12Error } from '../../profiles/pkcs12.js';
import { ProfileStore, ProfileStoreError } from '../../profiles/profile-store.js';
import { certificateLines, parseArgs, single, UsageError } from '../../profiles/report.js';
import { exportSswan, ExportError } from '../../profiles/sswan.js';
import { exportStraitProfile } from '../../profiles/strait-format.js';
import { loadTrustAnchors, TrustStoreError } from '../../profiles/trust-anchors.js';
import { ExitCode, runVerb, type CliCommand, type CliIo } from '../command.js';

export interface ProfilesCommandDeps {
  /** Where the stores live; default: defaultStraitPaths(io.env). */
  readonly paths: (io: CliIo) => StraitPaths;
  /** The user's keychain, created only when a secret is read or written. */
  readonly secretStore: () => SecretStore;
  readonly now: () => Date;
  /** Owner required for the trust-anchor folder; default root. */
  readonly trustOwnerUid: number;
}

const USAGE = `usage:
  strait profiles list [--json]
  strait profiles import <file> [--managed] [--identity <client.p12> | --cert <cert.pem|der> --key <key.pem|der>] [--ca <ca.pem>]...
  strait profiles export <id> [--format strait|sswan] [--out <file>]
  strait profiles remove <id> [--managed]

import reads signed bundles (.p7m, DER or PEM), .mobileconfig (signed or not), .sswan and
Strait profile JSON. Passwords (PKCS#12, encrypted keys) are asked for, never taken from the
command line. --managed installs for every user of this machine and needs administrator rights.`;

const defaultDeps: ProfilesCommandDeps = {
  paths: (io) => defaultStraitPaths(io.env),
  secretStore: () => new NapiKeyringStore(),
  now: () => new Date(),
  trustOwnerUid: 0,
};

const issueLines = (issues: readonly ProfileIssue[]): string[] => (issues.length === 0 ? [] : formatIssues(issues).split('\n').map((l) => `  ${l}`));

/** Exit code and message for every failure an import or edit can end with. */
export function reportError(error: unknown, io: CliIo, command = 'profiles'): ExitCode {
  if (error instanceof UsageError) {
    io.err(`strait ${command}: ${error.message}`);
    return ExitCode.USAGE;
  }
  if (error instanceof ImportError || error instanceof BundleError) {
    const signatureProblem = ['UNSIGNED', 'MALFORMED', 'TAMPERED', 'UNKNOWN_SIGNER', 'SIGNER_EXPIRED', 'BUNDLE_EXPIRED', 'ROLLBACK'].includes(error.code);
    io.err(`refused (${error.code}): ${error.message}`);
    for (const line of issueLines(error.issues)) io.err(line);
    return signatureProblem ? ExitCode.VERIFICATION_FAILED : ExitCode.INVALID_INPUT;
  }
  if (error instanceof Pkcs12Error) {
    io.err(`client certificate (${error.code}): ${error.message}`);
    return ExitCode.INVALID_INPUT;
  }
  if (error instanceof CertificateError) {
    io.err(`certificate: ${error.message}`);
    return ExitCode.INVALID_INPUT;
  }
  if (error instanceof ProfileStoreError) {
    io.err(`profile store (${error.code}): ${error.message}`);
    return error.code === 'NOT_FOUND' ? ExitCode.NOT_FOUND : error.code === 'INVALID' ? ExitCode.INVALID_INPUT : ExitCode.FAILURE;
  }
  if (error instanceof KeychainUnavailableError || error instanceof SecretStoreError || error instanceof TrustStoreError || error instanceof BundleStateError || error instanceof ExportError) {
    io.err(error.message);
    return ExitCode.FAILURE;
  }
  const code = error !== null && typeof error === 'object' && 'code' in error ? String(error.code) : '';
  if (code === 'ENOENT') {
    io.err(`file not found: ${error instanceof Error ? error.message : ''}`);
    return ExitCode.NOT_FOUND;
  }
  io.err(`strait ${command}: ${error instanceof Error ? error.message : String(error)}`);
  return ExitCode.FAILURE;
}

async function readBytes(path: string): Promise<Uint8Array> {
  return new Uint8Array(await readFile(path));
}

/** --ca, --identity, --cert/--key: certificates given next to the profile file. */
async function attachCredentials(result: ImportResult, parsed: ReturnType<typeof parseArgs>, io: CliIo, now: Date): Promise<ImportResult> {
  let out = result;
  for (const caPath of parsed.options.get('ca') ?? []) {
    const certs = parseCertificates(await readBytes(caPath));
    const pems = certs.map(certificateToPem);
    out = {
      ...out,
      profile: { ...out.profile, trust: { ...out.profile.trust, caCertificates: [...new Set([...out.profile.trust.caCertificates, ...pems])] } },
      caCertificates: [...out.caCertificates, ...certs.map((c) => describeCertificate(c, now))],
    };
  }
  const identityPath = single(parsed, 'identity');
  const certPath = single(parsed, 'cert');
  const keyPath = single(parsed, 'key');
  if (identityPath !== undefined && (certPath !== undefined || keyPath !== undefined)) throw new UsageError('use either --identity or --cert/--key');
  if ((certPath === undefined) !== (keyPath === undefined)) throw new UsageError('--cert and --key go together');
  if (identityPath !== undefined) out = { ...out, secrets: { ...out.secrets, identity: { pkcs12: await readBytes(identityPath) } } };
  if (certPath !== undefined && keyPath !== undefined) {
    const [leaf, ...chain] = parseCertificates(await readBytes(certPath));
    const keyBytes = await readBytes(keyPath);
    const key = parsePrivateKey(keyBytes, isEncryptedPrivateKeyPem(keyBytes) ? await io.readSecret('Password for the private key: ') : undefined);
    if (leaf === undefined || !certificateMatchesKey(leaf, key)) throw new CertificateError('the private key does not belong to the certificate');
    out = { ...out, secrets: { ...out.secrets, identityPem: { privateKeyPem: privateKeyToPkcs8Pem(key), certificatePem: certificateToPem(leaf), chainPem: chain.map(certificateToPem) } } };
  }
  if ((identityPath !== undefined || certPath !== undefined) && out.profile.auth.method !== 'certificate' && out.profile.auth.method !== 'eap-tls' && out.profile.auth.method !== 'certificate-eap') {
    throw new UsageError(`profile "${out.profile.name}" uses ${out.profile.auth.method}; a client certificate is only for certificate, eap-tls or certificate-eap profiles`);
  }
  return out;
}

function describeProfile(p: Profile): string {
  return `${p.gateway.host}${p.gateway.port === 500 ? '' : `:${p.gateway.port}`}, ${p.auth.method}`;
}

export function createProfilesCommand(overrides: Partial<ProfilesCommandDeps> = {}): CliCommand {
  const deps: ProfilesCommandDeps = { ...defaultDeps, ...overrides };
  let keychain: SecretStore | undefined;
  const secrets = (): SecretStore => (keychain ??= deps.secretStore());

  const storeFor = (paths: StraitPaths): ProfileStore => new ProfileStore({ userProfilesDir: paths.userProfilesDir, managedDir: paths.managedDir });

  async function list(args: readonly string[], io: CliIo): Promise<ExitCode> {
    const parsed = parseArgs(args, { flags: ['json'], options: [] });
    if (parsed.positionals.length > 0) throw new UsageError('list takes no arguments');
    const listing = await storeFor(deps.paths(io)).list();
    if (parsed.flags.has('json')) {
      io.out(
        JSON.stringify(
          {
            profiles: listing.profiles.map((s) => ({ id: s.profile.id, name: s.profile.name, gateway: s.profile.gateway, auth: s.profile.auth.method, source: s.source, managedBy: s.managedBy ?? null, path: s.path })),
            unreadable: listing.unreadable,
          },
          null,
          2,
        ),
      );
      return ExitCode.OK;
    }
    if (listing.profiles.length === 0) io.out('no profiles');
    for (const s of listing.profiles) {
      io.out(`${s.profile.id}  ${s.profile.name}  (${describeProfile(s.profile)})${s.managedBy === undefined ? '' : `  managed by ${s.managedBy}`}`);
    }
    for (const u of listing.unreadable) io.err(`skipped ${u.path}: ${u.issues.map((i) => `${i.path === '' ? '' : `${i.path}: `}${i.message}`).join('; ')}`);
    return ExitCode.OK;
  }

  async function importCommand(args: readonly string[], io: CliIo): Promise<ExitCode> {
    const parsed = parseArgs(args, { flags: ['managed'], options: ['identity', 'cert', 'key', 'ca'] });
    const [file, ...extra] = parsed.positionals;
    if (file === undefined || extra.length > 0) throw new UsageError('import takes one file');
    const managed = parsed.flags.has('managed');
    const paths = deps.paths(io);
    const store = storeFor(paths);
    const now = deps.now();
    const statePaths = bundleStatePaths({ store, userConfigDir: paths.userConfigDir });
    const read = await readImportFile(await readBytes(file), {
      anchors: () => loadTrustAnchors(paths.trustDir, { ownerUid: deps.trustOwnerUid }),
      now,
      lastSerial: (issuer) => lastSerialOf([statePaths.managed, statePaths.user], issuer),
    });
    const ctx: InstallContext = {
      store,
      target: managed ? 'managed' : 'user',
      ...(managed ? {} : { secrets: secrets() }),
      pkcs12Password: async (prompt) => {
        const answer = await io.readSecret(`${prompt} (empty: ask when connecting): `);
        return answer === '' ? undefined : answer;
      },
      userConfigDir: paths.userConfigDir,
      now,
    };
    if (read.kind === 'bundle') {
      if (parsed.options.size > 0) throw new UsageError('--identity, --cert, --key and --ca do not apply to bundles (the bundle carries them)');
      const { bundle, signature } = read.verified;
      io.out(`verified bundle "${bundle.issuer}" serial ${bundle.serial}, expires ${bundle.expiresAt.toISOString()}`);
      io.out(`signed by ${signature.signerSubject} (trust anchor ${signature.anchor.source})`);
      const report = await installBundle(read.verified, ctx);
      for (const s of report.installed) io.out(`installed ${s.source === 'managed' ? 'managed' : 'locked'} profile ${s.profile.id}  ${s.profile.name}  (${describeProfile(s.profile)})`);
      for (const id of report.skipped) io.out(`already installed by your administrator: ${id}`);
      for (const id of report.removed) io.out(`removed (no longer in the bundle): ${id}`);
      for (const info of report.caCertificates) {
        io.out('CA certificate:');
        for (const line of certificateLines(info)) io.out(line);
      }
      for (const identity of report.identities) {
        if (identity.secrets.identity !== undefined) {
          io.out(`client certificate for ${identity.profileId} stored in the keychain:`);
          for (const line of certificateLines(identity.secrets.identity)) io.out(line);
        }
        for (const note of identity.secrets.notes) io.out(`note (${identity.profileId}): ${note}`);
      }
      for (const w of report.warnings) io.err(`warning: ${w}`);
      return ExitCode.OK;
    }
    for (const raw of read.results) {
      const result = await attachCredentials(raw, parsed, io, now);
      io.out(`${result.format} profile "${result.profile.name}" (${result.profile.id}): ${describeProfile(result.profile)}`);
      if (result.verified !== undefined) io.out(`verified: signed by ${result.verified.signer} (trust anchor ${result.verified.anchor})`);
      else if (managed) throw new ImportError('UNSIGNED', 'only signed files can be installed as managed profiles');
      for (const info of result.caCertificates) {
        io.out('CA certificate:');
        for (const line of certificateLines(info)) io.out(line);
      }
      const installed = await installImported(result, ctx);
      if (installed.secrets.identity !== undefined) {
        io.out('client certificate:');
        for (const line of certificateLines(installed.secrets.identity)) io.out(line);
      }
      if (installed.secrets.stored.length > 0) io.out(`stored in the keychain: ${installed.secrets.stored.join(', ')}`);
      for (const note of installed.secrets.notes) io.out(`note: ${note}`);
      for (const w of result.warnings) io.err(`warning: ${w}`);
      if (result.ignoredKeys.length > 0) io.out(`ignored keys (not supported by Strait): ${result.ignoredKeys.join(', ')}`);
      io.out(`installed ${installed.stored.source} profile ${installed.stored.profile.id} → ${installed.stored.path}`);
    }
    return ExitCode.OK;
  }

  async function exportCommand(args: readonly string[], io: CliIo): Promise<ExitCode> {
    const parsed = parseArgs(args, { flags: [], options: ['format', 'out'] });
    const [id, ...extra] = parsed.positionals;
    if (id === undefined || extra.length > 0) throw new UsageError('export takes one profile id');
    const format = single(parsed, 'format') ?? 'strait';
    if (format !== 'strait' && format !== 'sswan') throw new UsageError('--format is strait or sswan');
    const stored = await storeFor(deps.paths(io)).get(id);
    if (stored === undefined) throw new ProfileStoreError('NOT_FOUND', `no profile with id ${id}`);
    let text: string;
    if (format === 'sswan') {
      const exported = exportSswan(stored.profile);
      text = exported.text;
      for (const d of exported.dropped) io.err(`not expressible in .sswan: ${d}`);
    } else text = exportStraitProfile(stored.profile);
    const out = single(parsed, 'out');
    if (out === undefined) io.out(text.trimEnd());
    else {
      await writeFile(out, text, { mode: 0o644 });
      io.err(`wrote ${out} (no secrets are exported)`);
    }
    return ExitCode.OK;
  }

  async function remove(args: readonly string[], io: CliIo): Promise<ExitCode> {
    const parsed = parseArgs(args, { flags: ['managed'], options: [] });
    const [id, ...extra] = parsed.positionals;
    if (id === undefined || extra.length > 0) throw new UsageError('remove takes one profile id');
    const store = storeFor(deps.paths(io));
    if (parsed.flags.has('managed')) {
      await store.removeManaged(id);
      io.out(`removed managed profile ${id}`);
      return ExitCode.OK;
    }
    const stored = await store.get(id);
    await store.removeUser(id);
    io.out(`removed profile ${id}`);
    const owners = new Set([id.toLowerCase()]);
    const auth = stored?.profile.auth;
    if (auth !== undefined && (auth.method === 'certificate' || auth.method === 'eap-tls' || auth.method === 'certificate-eap')) owners.add(auth.certificateRef);
    try {
      const deleted = (await Promise.all([...owners].map((o) => secrets().deleteAll(o)))).flat();
      if (deleted.length > 0) io.out(`removed from the keychain: ${deleted.join(', ')}`);
    } catch (error) {
      if (!(error instanceof KeychainUnavailableError)) throw error;
      io.err(`warning: the profile is gone, but its keychain entries could not be removed: ${error.message}`);
    }
    return ExitCode.OK;
  }

  return {
    name: 'profiles',
    summary: 'list, import, export and remove VPN profiles',
    usage: USAGE,
    async run(args: readonly string[], io: CliIo): Promise<ExitCode> {
      try {
        return await runVerb({ list, import: importCommand, export: exportCommand, remove }, USAGE, args, io);
      } catch (error) {
        return reportError(error, io);
      }
    },
  };
}

export const profilesCommand: CliCommand = createProfilesCommand();
