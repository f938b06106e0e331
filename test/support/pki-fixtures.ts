/**
 * Test PKI generated at run time: CA → (optional intermediate) → gateway
 * and client certificates, with RSA-2048/3072, ECDSA P-256/384/521 or
 * Ed25519 keys. Nothing is written to disk and no private key is ever
 * committed; keys live only in the test process.
 *
 * Typical use in a session test:
 *
 *   const pki = await makePki({ keyAlgorithm: 'ecdsa-p256', intermediate: true });
 *   // the gateway side sends pki.gatewayChain as CERT payloads and signs AUTH with
 *   // pki.gateway.privateKey; the profile trusts pki.trustAnchors.
 *   const alice = pki.clients[0];  // subject "C=XX, O=VPN Lab, OU=Users, CN=alice@lab.example"
 *   const expired = await pki.issue({ subject: 'C=XX, O=VPN Lab, CN=old', notAfter: new Date(Date.now() - 1000) });
 *
 * Generation uses @peculiar/x509 over node:crypto's WebCrypto. Key
 * generation dominates the cost (RSA-3072 takes up to a few seconds on a
 * 2-core machine): build one PKI per test file, in a `before` hook.
 */
import 'reflect-metadata';

import { type KeyObject, KeyObject as NodeKeyObject, webcrypto } from 'node:crypto';

type CryptoKeyPair = webcrypto.CryptoKeyPair;

import * as x509 from '@peculiar/x509';

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

/**
 * @peculiar/x509, ready to use: import it from here, not directly, so that
 * reflect-metadata is loaded first (ESM evaluates imports in order).
 */
export { x509 };

export type KeyAlgorithm = 'rsa-2048' | 'rsa-3072' | 'ecdsa-p256' | 'ecdsa-p384' | 'ecdsa-p521' | 'ed25519';
export const KEY_ALGORITHMS: readonly KeyAlgorithm[] = ['rsa-2048', 'rsa-3072', 'ecdsa-p256', 'ecdsa-p384', 'ecdsa-p521', 'ed25519'];

export type KeyUsageName =
  | 'digitalSignature'
  | 'nonRepudiation'
  | 'keyEncipherment'
  | 'dataEncipherment'
  | 'keyAgreement'
  | 'keyCertSign'
  | 'cRLSign'
  | 'encipherOnly'
  | 'decipherOnly';

const KEY_USAGE_FLAGS: Record<KeyUsageName, x509.KeyUsageFlags> = {
  digitalSignature: x509.KeyUsageFlags.digitalSignature,
  nonRepudiation: x509.KeyUsageFlags.nonRepudiation,
  keyEncipherment: x509.KeyUsageFlags.keyEncipherment,
  dataEncipherment: x509.KeyUsageFlags.dataEncipherment,
  keyAgreement: x509.KeyUsageFlags.keyAgreement,
  keyCertSign: x509.KeyUsageFlags.keyCertSign,
  cRLSign: x509.KeyUsageFlags.cRLSign,
  encipherOnly: x509.KeyUsageFlags.encipherOnly,
  decipherOnly: x509.KeyUsageFlags.decipherOnly,
};

/** Extended key usage names accepted in options (dotted OIDs work too). */
export const EKU_OIDS = {
  serverAuth: '1.3.6.1.5.5.7.3.1',
  clientAuth: '1.3.6.1.5.5.7.3.2',
  ipsecIKE: '1.3.6.1.5.5.7.3.17',
  ikeIntermediate: '1.3.6.1.5.5.8.2.2',
  anyExtendedKeyUsage: '2.5.29.37.0',
} as const;

export interface TestCertificate {
  readonly der: Uint8Array;
  readonly pem: string;
  /** the subject as given (strongSwan-style DN text, first RDN first in DER) */
  readonly subject: string;
  readonly keyAlgorithm: KeyAlgorithm;
  /** WebCrypto keys, for issuing further certificates */
  readonly keys: CryptoKeyPair;
  /** node:crypto keys, e.g. to sign an IKE AUTH payload in a test */
  readonly privateKey: KeyObject;
  readonly publicKey: KeyObject;
  /** PKCS#8 PEM of privateKey, for tools that want a file (write it to a temporary folder only) */
  readonly privateKeyPem: string;
}

export interface CertificateOptions {
  subject: string;
  /** default 'ecdsa-p256'; ignored with reuseKeyOf */
  keyAlgorithm?: KeyAlgorithm;
  /** certify the key of an existing certificate (a re-issued CA, a look-alike) */
  reuseKeyOf?: TestCertificate;
  /** basicConstraints: true → critical CA:TRUE; false → CA:FALSE; omitted → no extension */
  ca?: boolean;
  pathLength?: number;
  /** default: CA → keyCertSign + cRLSign, else digitalSignature; null → no extension */
  keyUsage?: readonly KeyUsageName[] | null;
  /** names of EKU_OIDS or dotted OIDs; omitted or null → no extension */
  extendedKeyUsage?: readonly string[] | null;
  san?: { dns?: readonly string[]; ip?: readonly string[]; email?: readonly string[]; uri?: readonly string[] };
  /** default: one hour ago */
  notBefore?: Date;
  /** default: 365 days after notBefore */
  notAfter?: Date;
  /** hex; default random */
  serialNumber?: string;
  /** the issuer's digest for ECDSA and RSA signatures (default by key size: SHA-256/384/512) */
  signatureHash?: 'SHA-1' | 'SHA-256' | 'SHA-384' | 'SHA-512';
  /** subject/authority key identifiers (default true) */
  keyIdentifiers?: boolean;
  /** anything else, e.g. an unknown critical extension */
  extraExtensions?: readonly x509.Extension[];
}

function keyParams(alg: KeyAlgorithm): webcrypto.RsaHashedKeyGenParams | webcrypto.EcKeyGenParams | webcrypto.Algorithm {
  switch (alg) {
    case 'rsa-2048':
    case 'rsa-3072':
      return { name: 'RSASSA-PKCS1-v1_5', modulusLength: alg === 'rsa-2048' ? 2048 : 3072, publicExponent: new Uint8Array([1, 0, 1]), hash: 'SHA-256' };
    case 'ecdsa-p256':
      return { name: 'ECDSA', namedCurve: 'P-256' };
    case 'ecdsa-p384':
      return { name: 'ECDSA', namedCurve: 'P-384' };
    case 'ecdsa-p521':
      return { name: 'ECDSA', namedCurve: 'P-521' };
    case 'ed25519':
      return { name: 'Ed25519' };
  }
}

function signingAlgorithm(alg: KeyAlgorithm, hash?: CertificateOptions['signatureHash']): webcrypto.Algorithm | webcrypto.EcdsaParams {
  switch (alg) {
    case 'rsa-2048':
    case 'rsa-3072':
      // WebCrypto binds the RSA digest to the key; an override needs a key imported with that hash.
      return { name: 'RSASSA-PKCS1-v1_5', ...(hash === undefined ? {} : { hash }) } as webcrypto.Algorithm;
    case 'ecdsa-p256':
      return { name: 'ECDSA', hash: hash ?? 'SHA-256' } as webcrypto.EcdsaParams;
    case 'ecdsa-p384':
      return { name: 'ECDSA', hash: hash ?? 'SHA-384' } as webcrypto.EcdsaParams;
    case 'ecdsa-p521':
      return { name: 'ECDSA', hash: hash ?? 'SHA-512' } as webcrypto.EcdsaParams;
    case 'ed25519':
      return { name: 'Ed25519' };
  }
}

export async function generateKeys(alg: KeyAlgorithm): Promise<CryptoKeyPair> {
  return (await webcrypto.subtle.generateKey(keyParams(alg), true, ['sign', 'verify'])) as CryptoKeyPair;
}

function keyUsageFlags(names: readonly KeyUsageName[]): x509.KeyUsageFlags {
  return names.reduce<number>((flags, n) => flags | KEY_USAGE_FLAGS[n], 0);
}

/** Issues a certificate signed by `issuer`, or a self-signed one when issuer is omitted. */
export async function issueCertificate(opts: CertificateOptions, issuer?: TestCertificate): Promise<TestCertificate> {
  const keyAlgorithm = opts.reuseKeyOf?.keyAlgorithm ?? opts.keyAlgorithm ?? 'ecdsa-p256';
  const keys = opts.reuseKeyOf?.keys ?? (await generateKeys(keyAlgorithm));
  const signer = issuer ?? { keys, keyAlgorithm, subject: opts.subject };
  const notBefore = opts.notBefore ?? new Date(Date.now() - 3_600_000);
  const notAfter = opts.notAfter ?? new Date(notBefore.getTime() + 365 * 86_400_000);

  const extensions: x509.Extension[] = [];
  if (opts.ca !== undefined) extensions.push(new x509.BasicConstraintsExtension(opts.ca, opts.pathLength, true));
  const usage = opts.keyUsage === undefined ? (opts.ca === true ? (['keyCertSign', 'cRLSign'] as const) : (['digitalSignature'] as const)) : opts.keyUsage;
  if (usage !== null) extensions.push(new x509.KeyUsagesExtension(keyUsageFlags(usage), true));
  if (opts.extendedKeyUsage != null) {
    const oids = opts.extendedKeyUsage.map((u) => (EKU_OIDS as Record<string, string>)[u] ?? u);
    extensions.push(new x509.ExtendedKeyUsageExtension(oids));
  }
  const san = [
    ...(opts.san?.dns ?? []).map((value) => ({ type: 'dns' as const, value })),
    ...(opts.san?.ip ?? []).map((value) => ({ type: 'ip' as const, value })),
    ...(opts.san?.email ?? []).map((value) => ({ type: 'email' as const, value })),
    ...(opts.san?.uri ?? []).map((value) => ({ type: 'url' as const, value })),
  ];
  if (san.length > 0) extensions.push(new x509.SubjectAlternativeNameExtension(san));
  if (opts.keyIdentifiers ?? true) {
    extensions.push(await x509.SubjectKeyIdentifierExtension.create(keys.publicKey));
    extensions.push(await x509.AuthorityKeyIdentifierExtension.create(signer.keys.publicKey));
  }
  extensions.push(...(opts.extraExtensions ?? []));

  const cert = await x509.X509CertificateGenerator.create({
    ...(opts.serialNumber === undefined ? {} : { serialNumber: opts.serialNumber }),
    subject: opts.subject,
    issuer: signer.subject,
    notBefore,
    notAfter,
    publicKey: keys.publicKey,
    signingKey: signer.keys.privateKey,
    signingAlgorithm: signingAlgorithm(signer.keyAlgorithm, opts.signatureHash),
    extensions,
  });
  const privateKey = NodeKeyObject.from(keys.privateKey);
  return {
    der: new Uint8Array(cert.rawData),
    pem: cert.toString('pem').replace(/\r\n/g, '\n') + '\n',
    subject: opts.subject,
    keyAlgorithm,
    keys,
    privateKey,
    publicKey: NodeKeyObject.from(keys.publicKey),
    privateKeyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }) as string,
  };
}

export interface PkiOptions {
  /** CA keys, and leaf keys unless leafKeyAlgorithm is set (default 'ecdsa-p256') */
  keyAlgorithm?: KeyAlgorithm;
  leafKeyAlgorithm?: KeyAlgorithm;
  /** root → intermediate → leaves (default false: root → leaves) */
  intermediate?: boolean;
  rootSubject?: string;
  intermediateSubject?: string;
  /** default "C=XX, O=VPN Lab, CN=vpn.lab.example" */
  gatewaySubject?: string;
  /** default { dns: ['vpn.lab.example'], ip: ['192.0.2.1'] } */
  gatewaySan?: CertificateOptions['san'];
  /** default ['serverAuth', 'ikeIntermediate'] (what strongSwan's pki --flag sets); null → none */
  gatewayExtendedKeyUsage?: readonly string[] | null;
  /** default one client: alice (subject "C=XX, O=VPN Lab, OU=Users, CN=alice@lab.example", SAN alice@lab.example, EKU clientAuth) */
  clients?: readonly { subject: string; email?: readonly string[]; keyAlgorithm?: KeyAlgorithm }[];
  /** validity of every certificate (defaults as in CertificateOptions) */
  notBefore?: Date;
  notAfter?: Date;
}

export interface Pki {
  readonly root: TestCertificate;
  readonly intermediate?: TestCertificate;
  readonly gateway: TestCertificate;
  readonly clients: readonly TestCertificate[];
  /** the CA that issued the gateway and clients (the intermediate if there is one) */
  readonly issuer: TestCertificate;
  /** CERT payloads as a gateway sends them: its own certificate first, then the intermediate */
  readonly gatewayChain: readonly Uint8Array[];
  /** what a profile trusts: the root */
  readonly trustAnchors: readonly Uint8Array[];
  /** issues another certificate from `issuer` (default: this PKI's issuing CA) */
  issue(opts: CertificateOptions, issuer?: TestCertificate): Promise<TestCertificate>;
}

export async function makePki(opts: PkiOptions = {}): Promise<Pki> {
  const caAlg = opts.keyAlgorithm ?? 'ecdsa-p256';
  const leafAlg = opts.leafKeyAlgorithm ?? caAlg;
  const validity = {
    ...(opts.notBefore === undefined ? {} : { notBefore: opts.notBefore }),
    ...(opts.notAfter === undefined ? {} : { notAfter: opts.notAfter }),
  };
  const root = await issueCertificate({ subject: opts.rootSubject ?? `C=XX, O=VPN Lab, CN=VPN Lab Root CA (${caAlg})`, keyAlgorithm: caAlg, ca: true, ...validity });
  const intermediate =
    opts.intermediate === true
      ? await issueCertificate(
          { subject: opts.intermediateSubject ?? `C=XX, O=VPN Lab, CN=VPN Lab Intermediate CA (${caAlg})`, keyAlgorithm: caAlg, ca: true, pathLength: 0, ...validity },
          root,
        )
      : undefined;
  const issuer = intermediate ?? root;
  const gateway = await issueCertificate(
    {
      subject: opts.gatewaySubject ?? 'C=XX, O=VPN Lab, CN=vpn.lab.example',
      keyAlgorithm: leafAlg,
      san: opts.gatewaySan ?? { dns: ['vpn.lab.example'], ip: ['192.0.2.1'] },
      extendedKeyUsage: opts.gatewayExtendedKeyUsage === undefined ? ['serverAuth', 'ikeIntermediate'] : opts.gatewayExtendedKeyUsage,
      ...validity,
    },
    issuer,
  );
  const clientSpecs = opts.clients ?? [{ subject: 'C=XX, O=VPN Lab, OU=Users, CN=alice@lab.example', email: ['alice@lab.example'] }];
  const clients: TestCertificate[] = [];
  for (const c of clientSpecs) {
    clients.push(
      await issueCertificate(
        { subject: c.subject, keyAlgorithm: c.keyAlgorithm ?? leafAlg, san: { email: c.email ?? [] }, extendedKeyUsage: ['clientAuth'], ...validity },
        issuer,
      ),
    );
  }
  return {
    root,
    ...(intermediate === undefined ? {} : { intermediate }),
    gateway,
    clients,
    issuer,
    gatewayChain: intermediate === undefined ? [gateway.der] : [gateway.der, intermediate.der],
    trustAnchors: [root.der],
    issue: (o, by = issuer) => issueCertificate(o, by),
  };
}

/** Flips one bit of a copy of `der`; index counts from the end when negative (−1: last octet, inside the signature). */
export function tamper(der: Uint8Array, index = -1): Uint8Array {
  const copy = Uint8Array.from(der);
  const i = index < 0 ? copy.length + index : index;
  copy[i] = (copy[i] as number) ^ 0x01;
  return copy;
}
