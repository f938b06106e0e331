/**
 * Real artefacts for the profile tests, made by the openssl CLI at run time
 * in a private temp folder: CAs, intermediates, signer and client
 * certificates (RSA and ECDSA, any validity window via `openssl ca`),
 * PKCS#12 files, CMS signatures. Passwords reach openssl through files in
 * that folder (`-passin file:`/`-passout file:`), never through argv.
 * Nothing is committed: every key is generated here and deleted afterwards.
 */
import { execFile } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export type KeySpec = 'rsa2048' | 'rsa3072' | 'rsa1024' | 'p256' | 'p384' | 'ed25519';

export interface Issued {
  readonly name: string;
  readonly certPath: string;
  readonly keyPath: string;
  readonly certPem: string;
  readonly cert: X509Certificate;
  /** folder holding this CA's openssl ca database (CAs only) */
  readonly caDir?: string;
}

export interface IssueOptions {
  readonly ca?: boolean;
  readonly notBefore?: Date;
  readonly notAfter?: Date;
  readonly san?: readonly string[];
  /** keyUsage for leaves; default digitalSignature */
  readonly keyUsage?: string;
  readonly subject?: string;
}

const KEY_ARGS: Record<KeySpec, string[]> = {
  rsa2048: ['-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048'],
  rsa3072: ['-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:3072'],
  rsa1024: ['-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:1024'],
  p256: ['-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256'],
  p384: ['-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-384'],
  ed25519: ['-algorithm', 'ED25519'],
};

/** openssl ca wants YYYYMMDDHHMMSSZ */
const caDate = (d: Date): string => d.toISOString().replace(/[-:T]/gu, '').replace(/\.\d{3}Z$/u, 'Z');

const DAY = 86_400_000;

export class TestPki {
  private counter = 0;

  private constructor(readonly dir: string) {}

  static async create(): Promise<TestPki> {
    return new TestPki(await mkdtemp(join(tmpdir(), 'strait-pki-')));
  }

  async cleanup(): Promise<void> {
    await rm(this.dir, { recursive: true, force: true });
  }

  path(name: string): string {
    return join(this.dir, name);
  }

  /** Runs a tool; rejects with its stderr on a non-zero exit. */
  run(cmd: string, args: readonly string[], input?: string | Uint8Array): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      const child = execFile(cmd, [...args], { cwd: this.dir, encoding: 'buffer', maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
        if (error) reject(new Error(`${cmd} ${args.join(' ')} failed: ${stderr.toString()}`));
        else resolve(stdout);
      });
      // Most openssl commands never read stdin and may exit before we close it: an EPIPE then is expected.
      child.stdin?.on('error', () => undefined);
      child.stdin?.end(input ?? '');
    });
  }

  openssl(args: readonly string[], input?: string | Uint8Array): Promise<Buffer> {
    return this.run('openssl', args, input);
  }

  /** A file holding a password, for -passin/-passout file: (mode 0600). */
  async passwordFile(password: string): Promise<string> {
    const p = this.path(`pass-${++this.counter}.txt`);
    await writeFile(p, `${password}\n`, { mode: 0o600 });
    return p;
  }

  async key(spec: KeySpec, name: string, password?: string): Promise<string> {
    const keyPath = this.path(`${name}.key`);
    const enc = password === undefined ? [] : ['-aes256', '-pass', `file:${await this.passwordFile(password)}`];
    await this.openssl(['genpkey', ...KEY_ARGS[spec], ...enc, '-out', keyPath]);
    return keyPath;
  }

  private async load(name: string, certPath: string, keyPath: string, caDir?: string): Promise<Issued> {
    const certPem = await readFile(certPath, 'utf8');
    const base = { name, certPath, keyPath, certPem, cert: new X509Certificate(certPem) };
    return caDir === undefined ? base : { ...base, caDir };
  }

  private async initCaDir(name: string): Promise<string> {
    const caDir = this.path(`${name}-ca`);
    await this.run('mkdir', ['-p', `${caDir}/newcerts`]);
    await writeFile(join(caDir, 'index.txt'), '');
    await writeFile(join(caDir, 'serial'), `${(0x1000 + ++this.counter).toString(16)}\n`);
    await writeFile(
      join(caDir, 'ca.cnf'),
      [
        '[ca]',
        'default_ca = CA_default',
        '[CA_default]',
        `dir = ${caDir}`,
        'database = $dir/index.txt',
        'new_certs_dir = $dir/newcerts',
        'serial = $dir/serial',
        'default_md = sha256',
        'policy = policy_any',
        'unique_subject = no',
        'copy_extensions = none',
        '[policy_any]',
        'countryName = optional',
        'organizationName = optional',
        'commonName = supplied',
        '',
      ].join('\n'),
    );
    return caDir;
  }

  /**
   * A self-signed root CA valid from an hour ago for `days`. `req -x509` would
   * start it at this very second, and a test that read the clock a moment
   * earlier then sees a CA "not yet valid" when the second ticks over between
   * the two; `ca -selfsign` takes an explicit start date.
   */
  async root(name: string, spec: KeySpec, days = 3650): Promise<Issued> {
    const keyPath = await this.key(spec, name);
    const csrPath = this.path(`${name}.csr`);
    await this.openssl(['req', '-new', '-key', keyPath, '-subj', `/O=Strait Test/CN=${name}`, '-out', csrPath]);
    const extPath = this.path(`${name}.ext`);
    await writeFile(extPath, '[v3]\nbasicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\nsubjectKeyIdentifier=hash\n');
    const caDir = await this.initCaDir(name);
    const certPath = this.path(`${name}.crt`);
    const now = Date.now();
    await this.openssl([
      'ca', '-batch', '-notext', '-selfsign', '-config', join(caDir, 'ca.cnf'), '-keyfile', keyPath, '-in', csrPath, '-out', certPath,
      '-startdate', caDate(new Date(now - 3600_000)), '-enddate', caDate(new Date(now + days * DAY)), '-extfile', extPath, '-extensions', 'v3',
    ]);
    return this.load(name, certPath, keyPath, caDir);
  }

  /** A certificate issued by `issuer` with any validity window (openssl ca -startdate/-enddate). */
  async issue(issuer: Issued, name: string, spec: KeySpec, options: IssueOptions = {}): Promise<Issued> {
    if (issuer.caDir === undefined) throw new Error(`${issuer.name} is not a CA`);
    const keyPath = await this.key(spec, name);
    const csrPath = this.path(`${name}.csr`);
    await this.openssl(['req', '-new', '-key', keyPath, '-subj', options.subject ?? `/O=Strait Test/CN=${name}`, '-out', csrPath]);
    const extPath = this.path(`${name}.ext`);
    const lines = options.ca
      ? ['basicConstraints=critical,CA:TRUE', 'keyUsage=critical,keyCertSign,cRLSign']
      : ['basicConstraints=CA:FALSE', `keyUsage=critical,${options.keyUsage ?? 'digitalSignature'}`];
    lines.push('subjectKeyIdentifier=hash', 'authorityKeyIdentifier=keyid');
    if (options.san !== undefined && options.san.length > 0) lines.push(`subjectAltName=${options.san.join(',')}`);
    await writeFile(extPath, `[v3]\n${lines.join('\n')}\n`);
    const certPath = this.path(`${name}.crt`);
    const now = Date.now();
    await this.openssl([
      'ca', '-batch', '-notext', '-config', join(issuer.caDir, 'ca.cnf'), '-cert', issuer.certPath, '-keyfile', issuer.keyPath, '-in', csrPath, '-out', certPath,
      '-startdate', caDate(options.notBefore ?? new Date(now - 3600_000)), '-enddate', caDate(options.notAfter ?? new Date(now + 365 * DAY)),
      '-extfile', extPath, '-extensions', 'v3',
    ]);
    return this.load(name, certPath, keyPath, options.ca ? await this.initCaDir(name) : undefined);
  }

  /** A PKCS#12 of `id` (+ chain). mode: OpenSSL 3 default (PBES2/AES-256, HMAC-SHA256), Apple's 3DES, or -legacy (RC2-40). */
  async pkcs12(id: Issued, password: string, options: { chain?: readonly Issued[]; mode?: 'default' | '3des' | 'legacy' } = {}): Promise<Uint8Array> {
    const out = this.path(`${id.name}-${++this.counter}.p12`);
    const args = ['pkcs12', '-export', '-inkey', id.keyPath, '-in', id.certPath, '-passout', `file:${await this.passwordFile(password)}`, '-out', out];
    if (options.chain !== undefined && options.chain.length > 0) {
      const chainPath = this.path(`chain-${this.counter}.pem`);
      await writeFile(chainPath, options.chain.map((c) => c.certPem).join(''));
      args.push('-certfile', chainPath);
    }
    if (options.mode === '3des') args.push('-certpbe', 'PBE-SHA1-3DES', '-keypbe', 'PBE-SHA1-3DES', '-macalg', 'sha1');
    if (options.mode === 'legacy') args.push('-legacy');
    await this.openssl(args);
    return new Uint8Array(await readFile(out));
  }

  /**
   * Signs like IT does: `openssl cms -sign -nodetach -binary` (or `openssl
   * smime`, Apple's documented recipe) with the signer's chain embedded.
   */
  async sign(content: string | Uint8Array, signer: Issued, options: { chain?: readonly Issued[]; pem?: boolean; tool?: 'cms' | 'smime'; detached?: boolean; md?: string } = {}): Promise<Uint8Array> {
    const n = ++this.counter;
    const inPath = this.path(`content-${n}`);
    await writeFile(inPath, content);
    const out = this.path(`signed-${n}.${options.pem ? 'pem' : 'p7m'}`);
    const args = [options.tool ?? 'cms', '-sign', options.detached ? '' : '-nodetach', '-binary', '-in', inPath, '-signer', signer.certPath, '-inkey', signer.keyPath, '-outform', options.pem ? 'PEM' : 'DER', '-out', out].filter((a) => a !== '');
    if (options.md !== undefined) args.push('-md', options.md);
    if (options.chain !== undefined && options.chain.length > 0) {
      const chainPath = this.path(`signchain-${n}.pem`);
      await writeFile(chainPath, options.chain.map((c) => c.certPem).join(''));
      args.push('-certfile', chainPath);
    }
    await this.openssl(args);
    return new Uint8Array(await readFile(out));
  }

  /** openssl cms -verify; resolves to the verified content or rejects. */
  async opensslVerify(signed: Uint8Array, caFile: string, inform: 'DER' | 'PEM' = 'DER'): Promise<Buffer> {
    const p = this.path(`verify-${++this.counter}`);
    await writeFile(p, signed);
    return this.openssl(['cms', '-verify', '-inform', inform, '-in', p, '-CAfile', caFile, '-purpose', 'any']);
  }
}

export const days = (n: number): number => n * DAY;
