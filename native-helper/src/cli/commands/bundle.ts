/**
 * `strait bundle verify|sign`: for IT (sign) and for anyone checking a
 * bundle before importing it (verify). Signing is the same CMS that
 * `openssl cms -sign -nodetach -binary` makes, and openssl verifies ours
 * (test/unit/profiles). A signing key's password comes from io.readSecret.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

import { BundleError, signBundle, verifyBundle } from '../../profiles/bundle.js';
import { BUNDLE_STATE_FILE, lastSerial as lastSerialOf } from '../../profiles/bundle-state.js';
import { describeCertificate, isEncryptedPrivateKeyPem, parseCertificates, parsePrivateKey } from '../../profiles/certificates.js';
import { cmsToPem } from '../../profiles/cms.js';
import { defaultStraitPaths, type StraitPaths } from '../../profiles/paths.js';
import { certificateLines, parseArgs, single, UsageError } from '../../profiles/report.js';
import { loadTrustAnchors } from '../../profiles/trust-anchors.js';
import { ExitCode, runVerb, type CliCommand, type CliIo } from '../command.js';
import { reportError } from './profiles.js';

export interface BundleCommandDeps {
  readonly paths: (io: CliIo) => StraitPaths;
  readonly now: () => Date;
  /** Owner required for the default (system) trust folder; default root. */
  readonly trustOwnerUid: number;
}

const USAGE = `usage:
  strait bundle verify <bundle.p7m> [--trust-dir <dir>]
  strait bundle sign --content <bundle.json> --signer-cert <cert.pem> --signer-key <key.pem> [--chain <intermediates.pem>] --out <bundle.p7m> [--pem]

verify checks the signature, the signer's chain to a trust anchor (default: the system trust
folder), expiry and rollback, and prints what the bundle contains. sign validates the bundle JSON
and signs it (CMS SignedData, content attached); a password-protected key is asked for.`;

const defaultDeps: BundleCommandDeps = {
  paths: (io) => defaultStraitPaths(io.env),
  now: () => new Date(),
  trustOwnerUid: 0,
};

export function createBundleCommand(overrides: Partial<BundleCommandDeps> = {}): CliCommand {
  const deps: BundleCommandDeps = { ...defaultDeps, ...overrides };

  async function verify(args: readonly string[], io: CliIo): Promise<ExitCode> {
    const parsed = parseArgs(args, { flags: [], options: ['trust-dir'] });
    const [file, ...extra] = parsed.positionals;
    if (file === undefined || extra.length > 0) throw new UsageError('verify takes one bundle file');
    const paths = deps.paths(io);
    const explicitDir = single(parsed, 'trust-dir');
    // An explicit folder (IT checking a bundle on its own machine) may belong to the caller; the system folder must be root's.
    const anchors = await loadTrustAnchors(explicitDir ?? paths.trustDir, { ownerUid: explicitDir === undefined ? deps.trustOwnerUid : (process.getuid?.() ?? 0) });
    const now = deps.now();
    const verified = await verifyBundle(new Uint8Array(await readFile(file)), {
      anchors,
      now,
      lastSerial: (issuer) => lastSerialOf([join(paths.managedDir, BUNDLE_STATE_FILE), join(paths.userConfigDir, BUNDLE_STATE_FILE)], issuer),
    });
    const { bundle, signature } = verified;
    io.out(`verified: bundle "${bundle.issuer}" serial ${bundle.serial}`);
    io.out(`  issued ${bundle.issuedAt.toISOString()}, expires ${bundle.expiresAt.toISOString()}`);
    io.out(`  ${bundle.profiles.length} profile(s): ${bundle.profiles.map((p) => p.name).join(', ')}`);
    io.out(`  ${bundle.caCertificates.length} CA certificate(s), ${bundle.identities.length} client identit${bundle.identities.length === 1 ? 'y' : 'ies'}`);
    io.out(`  trust anchor: ${signature.anchor.source}`);
    io.out('signer:');
    for (const line of certificateLines(describeCertificate(signature.signer, now))) io.out(line);
    return ExitCode.OK;
  }

  async function sign(args: readonly string[], io: CliIo): Promise<ExitCode> {
    const parsed = parseArgs(args, { flags: ['pem'], options: ['content', 'signer-cert', 'signer-key', 'chain', 'out'] });
    if (parsed.positionals.length > 0) throw new UsageError(`unexpected argument ${parsed.positionals[0] ?? ''}`);
    const need = (name: string): string => {
      const value = single(parsed, name);
      if (value === undefined) throw new UsageError(`--${name} is required`);
      return value;
    };
    const contentPath = need('content');
    const certPath = need('signer-cert');
    const keyPath = need('signer-key');
    const outPath = need('out');
    const [signerCertificate] = parseCertificates(new Uint8Array(await readFile(certPath)));
    if (signerCertificate === undefined) throw new UsageError(`${certPath} holds no certificate`);
    const keyBytes = new Uint8Array(await readFile(keyPath));
    const signerKey = parsePrivateKey(keyBytes, isEncryptedPrivateKeyPem(keyBytes) ? await io.readSecret('Password for the signing key: ') : undefined);
    const chainPath = single(parsed, 'chain');
    const chain = chainPath === undefined ? [] : parseCertificates(new Uint8Array(await readFile(chainPath)));
    const now = deps.now();
    const der = signBundle(new Uint8Array(await readFile(contentPath)), { signerCertificate, signerKey, chain, now });
    await writeFile(outPath, parsed.flags.has('pem') ? cmsToPem(der) : der, { mode: 0o644 });
    const info = describeCertificate(signerCertificate, now);
    io.out(`signed ${contentPath} → ${outPath} (${parsed.flags.has('pem') ? 'PEM' : 'DER'}, ${info.keyDescription})`);
    for (const w of info.warnings) io.err(`warning: ${w}`);
    return ExitCode.OK;
  }

  return {
    name: 'bundle',
    summary: 'verify or sign a signed profile bundle',
    usage: USAGE,
    async run(args: readonly string[], io: CliIo): Promise<ExitCode> {
      const verb = args[0];
      try {
        return await runVerb({ verify, sign }, USAGE, args, io);
      } catch (error) {
        if (error instanceof BundleError) {
          io.err(`not verified (${error.code}): ${error.message}`);
          for (const issue of error.issues) io.err(`  ${issue.path}: ${issue.message}`);
          return error.code === 'INVALID_CONTENT' && verb === 'sign' ? ExitCode.INVALID_INPUT : ExitCode.VERIFICATION_FAILED;
        }
        return reportError(error, io, 'bundle');
      }
    },
  };
}

export const bundleCommand: CliCommand = createBundleCommand();
