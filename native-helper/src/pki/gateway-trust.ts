/**
 * Validates the certificate a gateway presented in IKE_AUTH (RFC 7296
 * §3.6, §2.15) before its AUTH payload is checked with that certificate's
 * key: the chain to one of the profile's CAs (RFC 5280 §6.1, simplified
 * for a client that has no policy or revocation input), the certificate's
 * fitness for IKE (RFC 4945 §5.1.3), and its binding to the identity the
 * gateway claimed and the one the profile expects (RFC 4945 §3.1).
 *
 * Every failure is a CertificateError whose message names the concrete
 * mismatch in plain language, with the same facts in `fields`.
 */
import { type CertificateInfo, formatDate, nodeCertificateOf, parseCertificate } from './certificate.js';
import { bytesEqual } from './der.js';
import { dnEqual } from './distinguished-name.js';
import { CertificateError, type CertificateErrorCode } from './errors.js';
import { type Identity, formatIdentity, identitiesEqual } from './identity.js';
import { certificateMatchesIdentity, presentedNames } from './name-matching.js';

export { CertificateError, type CertificateErrorCode } from './errors.js';

export interface GatewayCertificateInput {
  /** the first CERT payload: the gateway's own certificate, DER */
  leaf: Uint8Array;
  /** further CERT payloads, DER, in any order */
  intermediates: readonly Uint8Array[];
  /** the profile's CA certificates, DER; a gateway certificate listed here is trusted as is (pinning) */
  trustAnchors: readonly Uint8Array[];
  now: Date;
  /** the IDr the gateway sent: RFC 4945 §3.1, it must be bound to the certificate */
  peerId: Identity;
  /** the profile's remote identity or, if none, the gateway host name/IP the user typed */
  expectedName?: Identity;
  /**
   * How expectedName is enforced. 'idr-and-certificate' (default): IDr must
   * equal it and the certificate must contain it. 'certificate': only the
   * certificate must contain it, and IDr may be any identity the certificate
   * also contains — strongSwan's "loose" remote identity, for when
   * expectedName is just the address the user typed (a gateway whose
   * identity defaults to its subject DN then still connects).
   */
  expectedNameMatch?: 'idr-and-certificate' | 'certificate';
}

export type GatewayCertificateResult =
  | { ok: true; leaf: CertificateInfo; /** leaf first, trust anchor last */ chain: CertificateInfo[] }
  | { ok: false; error: CertificateError };

/** More CERT payloads than this is not a real gateway. */
export const MAX_INTERMEDIATES = 16;
/** Longest path, leaf and anchor included. */
export const MAX_PATH_LENGTH = 8;
/** Bounds the signature checks one validation may cost. */
const MAX_SIGNATURE_CHECKS = 64;
/** Complete candidate paths examined before giving up on finding a valid one. */
const MAX_CANDIDATE_PATHS = 8;

/** RFC 4945 §5.1.3.12 and RFC 4809 purposes that make a certificate fit for an IKE peer. */
const IKE_PURPOSES: ReadonlySet<string> = new Set(['serverAuth', 'ipsecIKE', 'ikeIntermediate', 'anyExtendedKeyUsage']);

/** Signature algorithms whose collisions are practical (RFC 8247 §3: SHA-1 and MD5 MUST NOT be used). */
const WEAK_SIGNATURES: Readonly<Record<string, string>> = {
  '1.2.840.113549.1.1.2': 'MD2 with RSA',
  '1.2.840.113549.1.1.4': 'MD5 with RSA',
  '1.2.840.113549.1.1.5': 'SHA-1 with RSA',
  '1.3.14.3.2.29': 'SHA-1 with RSA',
  '1.2.840.10045.4.1': 'ECDSA with SHA-1',
  '1.2.840.10040.4.3': 'DSA with SHA-1',
};
/** RFC 8247 §3 / NIST SP 800-131A: RSA keys below 2048 bits are too weak. */
const MIN_RSA_BITS = 2048;

export function validateGatewayCertificate(p: GatewayCertificateInput): GatewayCertificateResult {
  try {
    return validate(p);
  } catch (e) {
    if (e instanceof CertificateError) return { ok: false, error: e };
    // Bugs must not escape into the IKE session; report them as an unusable certificate.
    const detail = e instanceof Error ? e.message : String(e);
    return { ok: false, error: new CertificateError('CERT_INVALID', `The gateway's certificate could not be checked (${detail}).`, { detail }) };
  }
}

interface Node {
  readonly info: CertificateInfo;
  readonly anchor: boolean;
}

function validate(p: GatewayCertificateInput): GatewayCertificateResult {
  // An invalid Date compares false with everything and would pass every validity check.
  if (Number.isNaN(p.now.getTime())) return fail('CERT_INVALID', 'The current time is unknown, so certificate validity cannot be checked.', {});
  let leafInfo: CertificateInfo;
  try {
    leafInfo = parseCertificate(p.leaf);
  } catch (e) {
    if (e instanceof CertificateError) {
      return fail('CERT_INVALID', `The gateway's certificate is unusable. ${e.message}`, { ...e.fields, certificate: 'gateway' });
    }
    throw e;
  }
  if (p.intermediates.length > MAX_INTERMEDIATES) {
    return fail('CERT_INVALID', `The gateway sent ${p.intermediates.length} CA certificates; at most ${MAX_INTERMEDIATES} are accepted.`, {
      count: String(p.intermediates.length),
    });
  }

  const anchors = uniqueParsed(p.trustAnchors).map((info): Node => ({ info, anchor: true }));
  if (anchors.length === 0) {
    return fail('CERT_UNTRUSTED', 'This profile has no usable CA certificate, so the gateway cannot be trusted.', {});
  }
  const leafPinned = anchors.find((a) => bytesEqual(a.info.der, leafInfo.der));
  const leaf: Node = leafPinned ?? { info: leafInfo, anchor: false };
  const intermediates = uniqueParsed(p.intermediates)
    .filter((info) => !bytesEqual(info.der, leafInfo.der))
    // A CA the profile already trusts (same DER, or same name and key: a re-issued root)
    // is taken from the profile, never from the gateway.
    .filter((info) => !anchors.some((a) => bytesEqual(a.info.der, info.der) || (dnEqual(a.info.subjectDer, info.subjectDer) && bytesEqual(a.info.spkiSha1, info.spkiSha1))))
    .map((info): Node => ({ info, anchor: false }));

  const search = new PathSearch([...anchors, ...intermediates]);
  search.extend([leaf]);
  if (search.complete.length === 0) return untrusted(search, leaf.info, anchors);

  let firstError: CertificateError | undefined;
  for (const path of search.complete) {
    const error = checkPath(path, p.now);
    if (error === undefined) {
      const identityError = checkIdentities(leaf.info, p);
      if (identityError !== undefined) return { ok: false, error: identityError };
      return { ok: true, leaf: leaf.info, chain: path.map((n) => n.info) };
    }
    firstError ??= error;
  }
  return { ok: false, error: firstError as CertificateError };
}

function fail(code: CertificateErrorCode, message: string, fields: Record<string, string | string[]>): GatewayCertificateResult {
  return { ok: false, error: new CertificateError(code, message, fields) };
}

/** Parses what parses, drops duplicates; unusable extras cannot help build a path. */
function uniqueParsed(ders: readonly Uint8Array[]): CertificateInfo[] {
  const out: CertificateInfo[] = [];
  for (const der of ders) {
    if (out.some((c) => bytesEqual(c.der, der))) continue;
    try {
      out.push(parseCertificate(der));
    } catch (e) {
      if (!(e instanceof CertificateError)) throw e;
    }
  }
  return out;
}

// ---------------------------------------------------------------- path building

/**
 * Depth-first search for paths leaf → … → trust anchor where each
 * certificate's issuer name equals the next one's subject (RFC 5280 §7.1
 * comparison), key identifiers agree when both are present, and the
 * signature verifies with the next one's key (node:crypto).
 */
class PathSearch {
  readonly complete: Node[][] = [];
  /** a certificate whose named issuer exists but whose signature did not verify with that issuer's key */
  readonly badSignatures: { child: CertificateInfo; issuer: Node }[] = [];
  /** the longest path that did not reach an anchor */
  deadEnd: Node[] = [];
  private checks = 0;
  private readonly verified = new Map<string, boolean>();

  constructor(private readonly pool: readonly Node[]) {}

  extend(path: Node[]): void {
    const current = path[path.length - 1] as Node;
    if (current.anchor) {
      this.complete.push(path);
      return;
    }
    if (path.length > this.deadEnd.length) this.deadEnd = path;
    if (path.length >= MAX_PATH_LENGTH) return;
    for (const candidate of this.issuerCandidates(current.info)) {
      if (this.complete.length >= MAX_CANDIDATE_PATHS || this.checks >= MAX_SIGNATURE_CHECKS) return;
      if (path.includes(candidate)) continue;
      if (this.signedBy(current.info, candidate.info)) this.extend([...path, candidate]);
      else this.badSignatures.push({ child: current.info, issuer: candidate });
    }
  }

  private issuerCandidates(child: CertificateInfo): Node[] {
    return this.pool.filter(
      (n) =>
        n.info !== child &&
        dnEqual(n.info.subjectDer, child.issuerDer) &&
        (child.authorityKeyId === undefined || n.info.subjectKeyId === undefined || bytesEqual(child.authorityKeyId, n.info.subjectKeyId)),
    );
  }

  private signedBy(child: CertificateInfo, issuer: CertificateInfo): boolean {
    const key = `${child.fingerprintSha256}/${issuer.fingerprintSha256}`;
    let ok = this.verified.get(key);
    if (ok === undefined) {
      this.checks++;
      try {
        ok = nodeCertificateOf(child).verify(issuer.publicKey);
      } catch {
        ok = false;
      }
      this.verified.set(key, ok);
    }
    return ok;
  }
}

function untrusted(search: PathSearch, leaf: CertificateInfo, anchors: readonly Node[]): GatewayCertificateResult {
  const trusted = anchors.map((a) => a.info.subject);
  const last = (search.deadEnd[search.deadEnd.length - 1] ?? { info: leaf }).info;
  const who = (c: CertificateInfo): string =>
    c === leaf ? `The gateway's certificate "${leaf.subject}"` : `The CA certificate "${c.subject}" sent by the gateway`;
  // The confusing case first: a CA of the right name whose key did not sign (a look-alike CA, or tampering).
  const bad = search.badSignatures[0];
  const lookAlike = bad?.child ?? (anchors.some((a) => dnEqual(a.info.subjectDer, last.issuerDer)) ? last : undefined);
  if (lookAlike !== undefined) {
    return fail(
      'CERT_UNTRUSTED',
      `${who(lookAlike)} names "${lookAlike.issuer}" as its issuer, but its signature does not match the key of the "${lookAlike.issuer}" certificate ${bad?.issuer.anchor === false ? 'the gateway sent' : 'this profile trusts'}: it was issued by a different CA with the same name, or it was altered.`,
      { certificate: lookAlike.subject, issuer: lookAlike.issuer, trusted },
    );
  }
  const chain = search.deadEnd.map((n) => n.info.subject);
  const where = last === leaf ? 'is issued by' : `chains up to "${last.subject}", which is issued by`;
  return fail(
    'CERT_UNTRUSTED',
    `The gateway's certificate "${leaf.subject}" ${where} "${last.issuer}", which is not a CA this profile trusts (it trusts ${trusted.map((t) => `"${t}"`).join(', ')}).`,
    { issuer: last.issuer, chain, trusted },
  );
}

// ---------------------------------------------------------------- path checks

type Role = 'gateway' | 'intermediate' | 'anchor';

function roleOf(path: readonly Node[], i: number): Role {
  const node = path[i] as Node;
  if (i === 0) return 'gateway';
  return node.anchor ? 'anchor' : 'intermediate';
}

function describe(role: Role, cert: CertificateInfo): string {
  switch (role) {
    case 'gateway':
      return `The gateway's certificate "${cert.subject}"`;
    case 'intermediate':
      return `The intermediate CA certificate "${cert.subject}" sent by the gateway`;
    case 'anchor':
      return `This profile's CA certificate "${cert.subject}"`;
  }
}

/** RFC 5280 §6.1.3-§6.1.4 checks that do not need policy input, plus IKE fitness. */
function checkPath(path: readonly Node[], now: Date): CertificateError | undefined {
  // Validity first, from the gateway's certificate up: the most common failure, and clock problems show here.
  for (let i = 0; i < path.length; i++) {
    const cert = (path[i] as Node).info;
    const who = describe(roleOf(path, i), cert);
    const fields = { certificate: cert.subject, notBefore: cert.notBefore.toISOString(), notAfter: cert.notAfter.toISOString(), now: now.toISOString() };
    if (now.getTime() > cert.notAfter.getTime()) {
      return new CertificateError('CERT_EXPIRED', `${who} expired on ${formatDate(cert.notAfter)}.`, fields);
    }
    if (now.getTime() < cert.notBefore.getTime()) {
      return new CertificateError(
        'CERT_NOT_YET_VALID',
        `${who} is not valid until ${formatDate(cert.notBefore)}; this computer's clock says ${formatDate(now)}. If that is wrong, correct the clock.`,
        fields,
      );
    }
  }
  for (let i = 0; i < path.length; i++) {
    const role = roleOf(path, i);
    const cert = (path[i] as Node).info;
    const who = describe(role, cert);
    const invalid = (message: string, extra: Record<string, string> = {}): CertificateError =>
      new CertificateError('CERT_INVALID', message, { certificate: cert.subject, ...extra });

    // RFC 5280 §4.2: an unrecognised critical extension makes the certificate unusable.
    if (cert.unsupportedCriticalExtensions.length > 0) {
      return invalid(`${who} has a critical extension Strait does not support (${cert.unsupportedCriticalExtensions.join(', ')}), so it must be rejected.`, {
        extensions: cert.unsupportedCriticalExtensions.join(', '),
      });
    }
    if (cert.keyType === 'rsa' || cert.keyType === 'rsa-pss') {
      const bits = cert.publicKey.asymmetricKeyDetails?.modulusLength ?? 0;
      if (bits < MIN_RSA_BITS) return invalid(`${who} has a ${bits}-bit RSA key; at least ${MIN_RSA_BITS} bits are required.`, { keyDescription: cert.keyDescription });
    }
    // The anchor's own signature is not relied upon (RFC 5280 §6.1.1 (d)); every other one is.
    if (role !== 'anchor') {
      const weak = WEAK_SIGNATURES[cert.signatureAlgorithm];
      if (weak !== undefined) return invalid(`${who} is signed with ${weak}, which is no longer secure.`, { signatureAlgorithm: cert.signatureAlgorithm });
    }
    if (i > 0) {
      // RFC 5280 §6.1.4 (k): only CA certificates may issue; (n): keyCertSign if keyUsage is present.
      if (!cert.isCa) {
        return invalid(`${who} is not a CA certificate (basicConstraints has no CA:TRUE), so it cannot vouch for "${(path[i - 1] as Node).info.subject}".`);
      }
      if (cert.keyUsage.length > 0 && !cert.keyUsage.includes('keyCertSign')) {
        return invalid(`${who} is a CA certificate whose key usage does not allow signing certificates (no keyCertSign).`, { keyUsage: cert.keyUsage.join(', ') });
      }
      // RFC 5280 §6.1.4 (l)-(m): pathLenConstraint counts the non-self-issued intermediates below.
      if (cert.pathLength !== undefined) {
        const below = path.slice(1, i).filter((n) => !n.info.selfIssued).length;
        if (below > cert.pathLength) {
          return invalid(`${who} allows at most ${cert.pathLength} intermediate CA certificate(s) below it (pathLenConstraint), but the chain has ${below}.`, {
            pathLength: String(cert.pathLength),
          });
        }
      }
    }
  }
  return checkGatewayUsage((path[0] as Node).info);
}

/** RFC 4945 §5.1.3.2 and §5.1.3.12: what the gateway's own certificate must allow. */
function checkGatewayUsage(cert: CertificateInfo): CertificateError | undefined {
  const who = `The gateway's certificate "${cert.subject}"`;
  if (cert.keyUsage.length > 0 && !cert.keyUsage.includes('digitalSignature') && !cert.keyUsage.includes('nonRepudiation')) {
    return new CertificateError('CERT_INVALID', `${who} does not allow digital signatures (key usage: ${cert.keyUsage.join(', ')}), which IKE authentication needs.`, {
      certificate: cert.subject,
      keyUsage: cert.keyUsage,
    });
  }
  if (cert.extendedKeyUsage.length > 0 && !cert.extendedKeyUsage.some((u) => IKE_PURPOSES.has(u))) {
    return new CertificateError(
      'CERT_INVALID',
      `${who} is not meant for a VPN gateway: its extended key usage (${cert.extendedKeyUsage.join(', ')}) has none of serverAuth, ipsecIKE, ikeIntermediate or anyExtendedKeyUsage.`,
      { certificate: cert.subject, extendedKeyUsage: cert.extendedKeyUsage },
    );
  }
  return undefined;
}

// ---------------------------------------------------------------- identities

function checkIdentities(cert: CertificateInfo, p: GatewayCertificateInput): CertificateError | undefined {
  const peer = formatIdentity(p.peerId);
  if (p.expectedName !== undefined) {
    const expected = formatIdentity(p.expectedName);
    if (!certificateMatchesIdentity(cert, p.expectedName)) {
      const presented = presentedNames(cert, p.expectedName.type);
      return new CertificateError('CERT_NAME_MISMATCH', `The gateway's certificate is for ${presented.join(', ')}; this profile expects ${expected}.`, {
        expected,
        presented,
      });
    }
    if ((p.expectedNameMatch ?? 'idr-and-certificate') === 'idr-and-certificate' && !identitiesEqual(p.peerId, p.expectedName)) {
      return new CertificateError('IDENTITY_MISMATCH', `The gateway identified itself as ${peer}; this profile expects ${expected}.`, {
        expected,
        presented: peer,
      });
    }
  }
  // RFC 4945 §3.1: the identity in IDr must be one the certificate vouches for.
  if (!certificateMatchesIdentity(cert, p.peerId)) {
    const presented = presentedNames(cert, p.peerId.type);
    const why = p.peerId.type === 'keyId' ? 'a key ID cannot be checked against a certificate' : `its certificate is for ${presented.join(', ')}`;
    return new CertificateError('IDENTITY_MISMATCH', `The gateway identified itself as ${peer}, but ${why}.`, {
      identity: peer,
      presented,
    });
  }
  return undefined;
}
