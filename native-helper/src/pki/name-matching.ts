/**
 * Does a certificate belong to an IKE identity? RFC 4945 §3.1 binds the ID
 * payload to the certificate: an FQDN to a dNSName SAN, an IP address to
 * an iPAddress SAN, an e-mail identity to an rfc822Name SAN, a DN to the
 * subject. Host names follow RFC 6125 §6.4: case-insensitive, a `*` only
 * as the whole leftmost label and matching exactly one label, and the
 * subject CN considered only when the certificate has no SAN at all.
 */
import type { CertificateInfo } from './certificate.js';
import { bytesEqual } from './der.js';
import { commonNames, decodeDn, dnEqual } from './distinguished-name.js';
import { type Identity, normalizeEmail, normalizeFqdn } from './identity.js';
import { parseIp } from './ip-address.js';

export function certificateMatchesIdentity(cert: CertificateInfo, id: Identity): boolean {
  switch (id.type) {
    case 'fqdn': {
      const patterns = cert.hasSubjectAltName ? cert.san.dns : commonNames(decodeDn(cert.subjectDer));
      return patterns.some((p) => hostMatches(p, id.value));
    }
    case 'ipv4':
    case 'ipv6': {
      const want = parseIp(id.value);
      if (want === undefined) return false;
      return cert.san.ip.some((text) => {
        const have = parseIp(text);
        return have !== undefined && bytesEqual(have.bytes, want.bytes);
      });
    }
    case 'rfc822': {
      const want = normalizeEmail(id.value);
      return cert.san.email.some((e) => normalizeEmail(e) === want);
    }
    case 'dn':
      return dnEqual(cert.subjectDer, id.der);
    case 'keyId':
      // RFC 4945 §3.1.6: a key ID carries nothing a certificate can be checked against.
      return false;
  }
}

/**
 * RFC 6125 §6.4.3: `pattern` from the certificate against a host name.
 * "*.lab.example" matches "vpn.lab.example" but not "lab.example" or
 * "a.vpn.lab.example"; partial-label wildcards ("vpn*.example") and
 * wildcards over a single remaining label ("*.example") match nothing.
 */
export function hostMatches(pattern: string, host: string): boolean {
  const p = normalizeFqdn(pattern);
  const h = normalizeFqdn(host);
  if (p.length === 0 || h.length === 0) return false;
  if (!p.includes('*')) return p === h;
  const [first, ...rest] = p.split('.');
  if (first !== '*' || rest.length < 2 || rest.some((label) => label.includes('*') || label === '')) return false;
  const dot = h.indexOf('.');
  if (dot <= 0) return false;
  return h.slice(dot + 1) === rest.join('.');
}

/**
 * The names a certificate presents, for messages: its SAN entries (DNS,
 * IP, e-mail), else its subject CNs, and the subject DN when a DN is asked for.
 */
export function presentedNames(cert: CertificateInfo, forType?: Identity['type']): string[] {
  if (forType === 'dn') return [cert.subject];
  const san = [...cert.san.dns, ...cert.san.ip, ...cert.san.email];
  if (san.length > 0) return san;
  const cns = commonNames(decodeDn(cert.subjectDer));
  return cns.length > 0 ? cns : [cert.subject];
}
