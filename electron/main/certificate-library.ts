/**
 * The user's client certificates, for the Certificates screen and the
 * certificate picker. Public parts (the certificate PEM and a label) live in
 * an index file in the user's Strait folder; private keys live only in the
 * keychain, under the certificate's id (the same place bundle imports put an
 * identity, keyed by the profile's `auth.certificateRef`), so
 * keychain/connect-secrets.ts finds them at connect time unchanged.
 */
import { randomUUID, type X509Certificate } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as v from 'valibot';

import type { CertificateView } from '../../native-helper/src/api/desktop.js';
import type { Profile } from '../../native-helper/src/api/profile.js';
import type { SecretStore } from '../../native-helper/src/keychain/secret-store.js';
import { writeFileAtomic } from '../../native-helper/src/profiles/atomic-file.js';
import { certificateMatchesKey, certificateToPem, CertificateError, describeCertificate, isEncryptedPrivateKeyPem, parseCertificates, parsePrivateKey, privateKeyToPkcs8Pem } from '../../native-helper/src/profiles/certificates.js';
import { decodePem, looksLikePem } from '../../native-helper/src/profiles/pem.js';
import { decodePkcs12, Pkcs12Error } from '../../native-helper/src/profiles/pkcs12.js';

export const CERTIFICATE_INDEX_FILE = 'certificates.json';

const EntrySchema = v.strictObject({
  id: v.pipe(v.string(), v.uuid()),
  label: v.pipe(v.string(), v.maxLength(255)),
  certificatePem: v.pipe(v.string(), v.maxLength(65_536)),
  hasKey: v.boolean(),
  importedAt: v.pipe(v.string(), v.isoTimestamp()),
});
const IndexSchema = v.strictObject({ version: v.literal(1), certificates: v.pipe(v.array(EntrySchema), v.maxLength(1024)) });
type Entry = v.InferOutput<typeof EntrySchema>;

export type CertificateLibraryErrorCode = 'INVALID' | 'WRONG_PASSWORD' | 'NEEDS_PASSWORD' | 'NOT_FOUND';

export class CertificateLibraryError extends Error {
  override readonly name = 'CertificateLibraryError';
  constructor(
    readonly code: CertificateLibraryErrorCode,
    message: string,
  ) {
    super(message);
  }
}

export interface CertificateLibraryDeps {
  readonly userConfigDir: string;
  readonly secrets: SecretStore;
  readonly now: () => Date;
}

const usesCertificate = (p: Profile): string | undefined =>
  p.auth.method === 'certificate' || p.auth.method === 'eap-tls' || p.auth.method === 'certificate-eap' ? p.auth.certificateRef : undefined;

export class CertificateLibrary {
  constructor(private readonly deps: CertificateLibraryDeps) {}

  private get indexPath(): string {
    return join(this.deps.userConfigDir, CERTIFICATE_INDEX_FILE);
  }

  private async read(): Promise<Entry[]> {
    let text: string;
    try {
      text = await readFile(this.indexPath, 'utf8');
    } catch (error) {
      if (error !== null && typeof error === 'object' && 'code' in error && error.code === 'ENOENT') return [];
      throw error;
    }
    const parsed = v.safeParse(IndexSchema, JSON.parse(text) as unknown);
    if (!parsed.success) throw new CertificateLibraryError('INVALID', `${this.indexPath} is damaged; move it away to start a new certificate list`);
    return parsed.output.certificates;
  }

  private async write(entries: readonly Entry[]): Promise<void> {
    await writeFileAtomic(this.indexPath, `${JSON.stringify({ version: 1, certificates: entries }, null, 2)}\n`, { mode: 0o600 });
  }

  private view(id: string, label: string, pem: string, profiles: readonly Profile[]): CertificateView {
    const [cert] = parseCertificates(new TextEncoder().encode(pem));
    if (cert === undefined) throw new CertificateLibraryError('INVALID', 'no certificate');
    const info = describeCertificate(cert, this.deps.now());
    return {
      id,
      label,
      subject: info.subject,
      issuer: info.issuer,
      subjectAltNames: info.subjectAltNames,
      notBefore: info.notBefore.getTime(),
      notAfter: info.notAfter.getTime(),
      keyDescription: info.keyDescription,
      fingerprintSha256: info.fingerprintSha256,
      isCa: info.isCa,
      warnings: info.warnings,
      usedBy: profiles.filter((p) => usesCertificate(p) === id).map((p) => p.id),
    };
  }

  /**
   * Every certificate: imported ones, plus identities a bundle put in the
   * keychain for a profile (those have no index entry; their certificate is
   * read from the keychain, which holds only public data for that kind).
   */
  async list(profiles: readonly Profile[]): Promise<CertificateView[]> {
    const entries = await this.read();
    const views = entries.map((e) => this.view(e.id, e.label, e.certificatePem, profiles));
    const known = new Set(entries.map((e) => e.id));
    for (const p of profiles) {
      const ref = usesCertificate(p);
      if (ref === undefined || known.has(ref)) continue;
      known.add(ref);
      const pem = await this.deps.secrets.get(ref, 'identity-cert-pem').catch(() => null);
      if (pem !== null) views.push(this.view(ref, `Installed with "${p.name}"`, pem, profiles));
    }
    return views.sort((a, b) => a.label.localeCompare(b.label));
  }

  /**
   * Imports PKCS#12 (password required), PEM with certificate and key
   * (optionally encrypted), or a certificate alone (listed, no identity).
   * The key goes to the keychain; the index only gets the certificate.
   */
  async import(label: string, bytes: Uint8Array, password: string | undefined, profiles: readonly Profile[]): Promise<CertificateView> {
    const id = randomUUID();
    let certificatePem: string;
    let key: { keyPem: string; chainPem: string } | undefined;
    if (looksLikePem(bytes)) {
      const text = new TextDecoder().decode(bytes);
      let certs: X509Certificate[];
      try {
        certs = parseCertificates(bytes);
      } catch (error) {
        throw new CertificateLibraryError('INVALID', error instanceof Error ? error.message : String(error));
      }
      const keyBlock = decodePem(text).find((b) => /PRIVATE KEY$/u.test(b.label));
      if (keyBlock !== undefined) {
        if (isEncryptedPrivateKeyPem(bytes) && password === undefined) throw new CertificateLibraryError('NEEDS_PASSWORD', 'the private key in this file is protected by a password');
        let privateKey;
        try {
          privateKey = parsePrivateKey(bytes, password);
        } catch (error) {
          const wrong = error instanceof CertificateError && /password/u.test(error.message);
          throw new CertificateLibraryError(wrong ? 'WRONG_PASSWORD' : 'INVALID', error instanceof Error ? error.message : String(error));
        }
        const leaf = certs.find((c) => certificateMatchesKey(c, privateKey));
        if (leaf === undefined) throw new CertificateLibraryError('INVALID', 'none of the certificates in the file belongs to its private key');
        certificatePem = certificateToPem(leaf);
        key = { keyPem: privateKeyToPkcs8Pem(privateKey), chainPem: certs.filter((c) => c !== leaf).map(certificateToPem).join('') };
      } else {
        certificatePem = certificateToPem(certs[0] as X509Certificate);
      }
    } else if (bytes[0] === 0x30 && password !== undefined) {
      try {
        const identity = await decodePkcs12(bytes, password);
        certificatePem = identity.certificatePem;
        key = { keyPem: identity.privateKeyPem, chainPem: identity.chainPem.join('') };
      } catch (error) {
        if (error instanceof Pkcs12Error && error.code === 'BAD_PASSWORD') throw new CertificateLibraryError('WRONG_PASSWORD', 'the password of the certificate file is wrong');
        if (error instanceof Pkcs12Error) throw new CertificateLibraryError('INVALID', error.message);
        // Not PKCS#12: maybe a DER certificate.
        try {
          certificatePem = certificateToPem(parseCertificates(bytes)[0] as X509Certificate);
        } catch {
          throw new CertificateLibraryError('INVALID', 'not a PKCS#12 (.p12/.pfx), PEM or DER certificate file');
        }
      }
    } else {
      try {
        certificatePem = certificateToPem(parseCertificates(bytes)[0] as X509Certificate);
      } catch {
        // DER that is not a certificate: most likely PKCS#12 without its password.
        if (bytes[0] === 0x30) throw new CertificateLibraryError('NEEDS_PASSWORD', 'this certificate file (PKCS#12) is protected by a password');
        throw new CertificateLibraryError('INVALID', 'not a PKCS#12 (.p12/.pfx), PEM or DER certificate file');
      }
    }
    if (key !== undefined) {
      await this.deps.secrets.set(id, 'identity-key-pem', key.keyPem);
      await this.deps.secrets.set(id, 'identity-cert-pem', certificatePem + key.chainPem);
    }
    const entries = await this.read();
    const entry: Entry = { id, label: label.trim() === '' ? 'Certificate' : label.trim(), certificatePem, hasKey: key !== undefined, importedAt: this.deps.now().toISOString() };
    try {
      await this.write([...entries, entry]);
    } catch (error) {
      await this.deps.secrets.deleteAll(id).catch(() => []);
      throw error;
    }
    return this.view(id, entry.label, certificatePem, profiles);
  }

  async remove(id: string): Promise<void> {
    const entries = await this.read();
    const rest = entries.filter((e) => e.id !== id);
    const deleted = await this.deps.secrets.deleteAll(id);
    if (rest.length === entries.length && deleted.length === 0) throw new CertificateLibraryError('NOT_FOUND', 'no such certificate');
    if (rest.length !== entries.length) await this.write(rest);
  }
}
