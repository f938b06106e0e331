/**
 * IKE identities (RFC 7296 §3.5): the typed view, text parsing with
 * strongSwan's conventions (so admins can copy `id = …` lines), the ID
 * payload encoding, and comparison.
 */
import { domainToASCII } from 'node:url';

import { IdType } from '../ike/constants.js';
import { DerError, bytesEqual, toHex } from './der.js';
import { canonicalDn, decodeDn, formatDn, parseDn } from './distinguished-name.js';
import { IdentityError } from './errors.js';
import { formatIp, parseIp } from './ip-address.js';
import { hasControlCharacter, isAscii } from './text.js';

export type Identity =
  | { type: 'fqdn'; value: string }
  | { type: 'rfc822'; value: string }
  | { type: 'ipv4'; value: string }
  | { type: 'ipv6'; value: string }
  | { type: 'dn'; der: Uint8Array; text: string }
  | { type: 'keyId'; value: Uint8Array };

export type IdentityType = Identity['type'];

/** Longest identity accepted from text or from an ID payload. */
export const MAX_IDENTITY_BYTES = 2048;

/** strongSwan's "type:value" prefixes (identification.c), lower-case. */
const PREFIXES: Readonly<Record<string, (value: string, input: string) => Identity>> = {
  ipv4: (v, input) => ipIdentity(v, input, 4),
  ipv6: (v, input) => ipIdentity(v, input, 6),
  fqdn: (v, input) => fqdnIdentity(v, input, 'explicit'),
  dns: (v, input) => fqdnIdentity(v, input, 'explicit'),
  rfc822: (v, input) => rfc822Identity(v, input, 'explicit'),
  email: (v, input) => rfc822Identity(v, input, 'explicit'),
  userfqdn: (v, input) => rfc822Identity(v, input, 'explicit'),
  asn1dn: (v, input) => dnIdentity(v, input),
  keyid: (v, input) => keyIdIdentity(v, input),
};

/**
 * Parses identity text as strongSwan does (docs.strongswan.org, "Identity
 * Parsing"), in this order:
 * - "type:value" with type ipv4, ipv6, fqdn, dns, rfc822, email, userfqdn, asn1dn, keyid;
 * - contains "=": a Distinguished Name ("C=XX, O=VPN Lab, CN=x", or "/C=XX/O=…");
 * - "@#hex": key ID; "@@x": rfc822 x; "@x": fqdn x; other text with "@": rfc822;
 * - an IPv4 or IPv6 literal: ipv4 / ipv6;
 * - otherwise an FQDN (internationalised names are converted to A-labels).
 * Unlike strongSwan, which falls back to an opaque KEY_ID, text that fits
 * none of these (a broken DN, "%any", spaces in a host name) throws IdentityError.
 */
export function parseIdentity(text: string): Identity {
  const input = text;
  const s = text.trim();
  if (s.length === 0) throw new IdentityError('The identity is empty.', input);
  if (Buffer.byteLength(s, 'utf8') > MAX_IDENTITY_BYTES) {
    throw new IdentityError(`The identity is longer than ${MAX_IDENTITY_BYTES} bytes.`, input);
  }
  if (hasControlCharacter(s)) throw new IdentityError('The identity contains control characters.', input);

  const prefix = /^([a-z0-9]+):(.*)$/is.exec(s);
  if (prefix !== null) {
    const parse = PREFIXES[(prefix[1] as string).toLowerCase()];
    if (parse !== undefined) return parse(prefix[2] as string, input);
  }
  if (s.includes('=')) return dnIdentity(s, input);
  if (s.startsWith('@#')) return keyIdIdentity(s.slice(2), input);
  if (s.startsWith('@@')) return rfc822Identity(s.slice(2), input, 'explicit');
  if (s.startsWith('@')) return fqdnIdentity(s.slice(1), input, 'explicit');
  if (s.includes('@')) return rfc822Identity(s, input, 'guessed');
  if (['%any', '%any6', '*', '0.0.0.0', '::'].includes(s)) {
    throw new IdentityError(`"${s}" means "any identity"; leave the identity empty instead.`, input);
  }
  const ip = parseIp(s);
  if (ip !== undefined) return ip.family === 4 ? { type: 'ipv4', value: formatIp(ip.bytes) as string } : { type: 'ipv6', value: formatIp(ip.bytes) as string };
  if (s.includes(':')) throw new IdentityError(`"${s}" is not a valid IPv6 address.`, input);
  return fqdnIdentity(s, input, 'guessed');
}

/**
 * 'guessed': the type was inferred from the text's shape, so the value must
 * look right (a typo should not silently become an identity). 'explicit': the
 * type was stated ("fqdn:", "@", "@@", …), so any printable value is taken as
 * is, as a gateway may send it (identityFromPayload accepts the same).
 */
type Certainty = 'guessed' | 'explicit';

function ipIdentity(value: string, input: string, family: 4 | 6): Identity {
  const ip = parseIp(value.trim());
  if (ip === undefined || ip.family !== family) throw new IdentityError(`"${value}" is not a valid IPv${family} address.`, input);
  const text = formatIp(ip.bytes) as string;
  return family === 4 ? { type: 'ipv4', value: text } : { type: 'ipv6', value: text };
}

// RFC 1123 §2.1 host names, plus "_" which internal names use; labels ≤ 63, total ≤ 253.
const HOST_LABEL = /^(?!-)[a-z0-9_-]{1,63}(?<!-)$/i;

function fqdnIdentity(value: string, input: string, certainty: Certainty): Identity {
  const v = value.trim();
  if (v.length === 0) throw new IdentityError('The host name is empty.', input);
  // RFC 7296 §3.5: ID_FQDN is ASCII; internationalised names travel as A-labels (IDNA).
  const ascii = isAscii(v) ? v : domainToASCII(v);
  if (ascii === '' || !/^[\x21-\x7e]+$/.test(ascii)) throw new IdentityError(`"${v}" is not a valid host name.`, input);
  if (certainty === 'explicit') return { type: 'fqdn', value: ascii };
  const name = ascii.endsWith('.') ? ascii.slice(0, -1) : ascii;
  if (name.length > 253 || !name.split('.').every((label) => HOST_LABEL.test(label))) {
    throw new IdentityError(`"${v}" is not a valid host name.`, input);
  }
  return { type: 'fqdn', value: name };
}

function rfc822Identity(value: string, input: string, certainty: Certainty): Identity {
  const v = value.trim();
  if (v.length === 0) throw new IdentityError('The e-mail style identity is empty.', input);
  if (certainty === 'explicit') return { type: 'rfc822', value: v };
  const at = v.lastIndexOf('@');
  // An address needs a local part and a domain; spaces and a second "@" are typos.
  if (at <= 0 || at === v.length - 1 || /\s/.test(v) || v.indexOf('@') !== at) {
    throw new IdentityError(`"${v}" is not a valid e-mail style identity (user@domain).`, input);
  }
  return { type: 'rfc822', value: v };
}

function dnIdentity(value: string, input: string): Identity {
  const v = value.trim();
  if (v.startsWith('#')) {
    // strongSwan's "asn1dn:#hex": the DER itself.
    const hex = v.slice(1);
    if (!/^([0-9a-f]{2})+$/i.test(hex)) throw new IdentityError(`"${v}" is not hex-encoded DER.`, input);
    const result = dnFromDer(Uint8Array.from(Buffer.from(hex, 'hex')));
    if ('error' in result) throw new IdentityError(result.error, input);
    return result;
  }
  const dn = parseDn(v);
  return { type: 'dn', der: dn.der, text: formatDn(dn) };
}

function keyIdIdentity(value: string, input: string): Identity {
  const hex = value.trim().replace(/^(#|0x)/i, '');
  if (!/^([0-9a-f]{2})+$/i.test(hex)) {
    throw new IdentityError(`"${value}" is not a hex key ID (an even number of hex digits).`, input);
  }
  return { type: 'keyId', value: Uint8Array.from(Buffer.from(hex, 'hex')) };
}

function dnFromDer(der: Uint8Array): Identity | { error: string } {
  try {
    const dn = decodeDn(der, 'ID_DER_ASN1_DN');
    if (dn.rdns.length === 0) return { error: 'The distinguished name is empty.' };
    return { type: 'dn', der: dn.der, text: formatDn(dn) };
  } catch (e) {
    if (e instanceof DerError) return { error: `The distinguished name is not valid DER: ${e.message}` };
    throw e;
  }
}

// ---------------------------------------------------------------- ID payload

/**
 * The ID payload's type and data (RFC 7296 §3.5). Throws IdentityError for
 * a hand-built Identity whose value is invalid (values from parseIdentity
 * and identityFromPayload always encode).
 */
export function identityToPayload(id: Identity): { idType: number; data: Uint8Array } {
  const text = formatIdentity(id);
  switch (id.type) {
    case 'fqdn':
      if (!/^[\x21-\x7e]+$/.test(id.value)) throw new IdentityError('An FQDN identity must be printable ASCII (use A-labels).', text);
      return { idType: IdType.ID_FQDN, data: Uint8Array.from(Buffer.from(id.value, 'ascii')) };
    case 'rfc822':
      // RFC 7296 §3.5: treat ID_RFC822_ADDR as UTF-8 text.
      return { idType: IdType.ID_RFC822_ADDR, data: Uint8Array.from(Buffer.from(id.value, 'utf8')) };
    case 'ipv4':
    case 'ipv6': {
      const ip = parseIp(id.value);
      if (ip === undefined || ip.family !== (id.type === 'ipv4' ? 4 : 6)) {
        throw new IdentityError(`"${id.value}" is not a valid ${id.type === 'ipv4' ? 'IPv4' : 'IPv6'} address.`, text);
      }
      return { idType: id.type === 'ipv4' ? IdType.ID_IPV4_ADDR : IdType.ID_IPV6_ADDR, data: ip.bytes };
    }
    case 'dn':
      return { idType: IdType.ID_DER_ASN1_DN, data: id.der };
    case 'keyId':
      if (id.value.length === 0) throw new IdentityError('A key ID identity cannot be empty.', text);
      return { idType: IdType.ID_KEY_ID, data: id.value };
  }
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * The identity in a received ID payload, or an error saying what is wrong.
 * Bounded and total: it never throws, whatever the bytes.
 */
export function identityFromPayload(idType: number, data: Uint8Array): Identity | { error: string } {
  try {
    if (data.length === 0) return { error: 'The identity is empty.' };
    if (data.length > MAX_IDENTITY_BYTES) return { error: `The identity is ${data.length} bytes; at most ${MAX_IDENTITY_BYTES} are accepted.` };
    switch (idType) {
      case IdType.ID_IPV4_ADDR:
      case IdType.ID_IPV6_ADDR: {
        const want = idType === IdType.ID_IPV4_ADDR ? 4 : 16;
        if (data.length !== want) return { error: `An ${want === 4 ? 'IPv4' : 'IPv6'} identity must be ${want} octets, not ${data.length}.` };
        const value = formatIp(data) as string;
        return want === 4 ? { type: 'ipv4', value } : { type: 'ipv6', value };
      }
      case IdType.ID_FQDN: {
        // RFC 7296 §3.5: ASCII, no terminators. We accept any printable ASCII and match it as given.
        for (const b of data) if (b < 0x21 || b > 0x7e) return { error: 'The FQDN identity contains a byte that is not printable ASCII.' };
        return { type: 'fqdn', value: Buffer.from(data).toString('ascii') };
      }
      case IdType.ID_RFC822_ADDR: {
        let value: string;
        try {
          value = utf8.decode(data);
        } catch {
          return { error: 'The e-mail identity is not valid UTF-8.' };
        }
        if (hasControlCharacter(value)) return { error: 'The e-mail identity contains control characters.' };
        return { type: 'rfc822', value };
      }
      case IdType.ID_DER_ASN1_DN:
        return dnFromDer(Uint8Array.from(data));
      case IdType.ID_KEY_ID:
        return { type: 'keyId', value: Uint8Array.from(data) };
      case IdType.ID_DER_ASN1_GN:
        return { error: 'GeneralName identities (ID_DER_ASN1_GN) are not supported.' };
      default:
        return { error: `Unknown identity type ${idType}.` };
    }
  } catch (e) {
    // Defence in depth: the branches above only throw on bugs; a hostile payload must not crash the session.
    return { error: `The identity could not be decoded: ${e instanceof Error ? e.message : String(e)}` };
  }
}

// ---------------------------------------------------------------- text and comparison

/**
 * Text for logs, the UI and profiles. parseIdentity(formatIdentity(id))
 * gives back an equal identity: values that would parse as another type
 * (an FQDN that looks like an IP, an e-mail identity containing "=") get
 * strongSwan's "type:" prefix.
 */
export function formatIdentity(id: Identity): string {
  const plain = plainText(id);
  let reparsed: Identity | undefined;
  try {
    reparsed = parseIdentity(plain);
  } catch {
    reparsed = undefined;
  }
  if (reparsed !== undefined && identitiesEqual(reparsed, id)) return plain;
  switch (id.type) {
    case 'fqdn':
      return `fqdn:${id.value}`;
    case 'rfc822':
      return `rfc822:${id.value}`;
    case 'dn':
      return `asn1dn:#${toHex(id.der)}`;
    default:
      return plain;
  }
}

function plainText(id: Identity): string {
  switch (id.type) {
    case 'fqdn':
    case 'rfc822':
    case 'ipv4':
    case 'ipv6':
      return id.value;
    case 'dn':
      return id.text;
    case 'keyId':
      return `keyid:${toHex(id.value)}`;
  }
}

/**
 * RFC 7296 §3.5 identities compared as gateways do: FQDNs case-insensitive
 * (a trailing dot ignored); e-mail identities with a case-insensitive
 * domain; IP addresses by value; DNs by DER after canonical re-encoding
 * (RFC 5280 §7.1); key IDs by octets. Different types never match.
 */
export function identitiesEqual(a: Identity, b: Identity): boolean {
  switch (a.type) {
    case 'fqdn':
      return b.type === 'fqdn' && normalizeFqdn(a.value) === normalizeFqdn(b.value);
    case 'rfc822':
      return b.type === 'rfc822' && normalizeEmail(a.value) === normalizeEmail(b.value);
    case 'ipv4':
    case 'ipv6': {
      if (b.type !== a.type) return false;
      const x = parseIp(a.value);
      const y = parseIp(b.value);
      return x !== undefined && y !== undefined && bytesEqual(x.bytes, y.bytes);
    }
    case 'dn':
      if (b.type !== 'dn') return false;
      if (bytesEqual(a.der, b.der)) return true;
      try {
        return bytesEqual(canonicalDn(a.der), canonicalDn(b.der));
      } catch (e) {
        if (e instanceof DerError) return false;
        throw e;
      }
    case 'keyId':
      return b.type === 'keyId' && bytesEqual(a.value, b.value);
  }
}

export function normalizeFqdn(name: string): string {
  const lower = name.toLowerCase();
  return lower.endsWith('.') ? lower.slice(0, -1) : lower;
}

/** RFC 5280 §4.2.1.6 / RFC 5321 §2.4: the local part is case-sensitive, the domain is not. */
export function normalizeEmail(address: string): string {
  const at = address.lastIndexOf('@');
  return at < 0 ? address : `${address.slice(0, at)}@${address.slice(at + 1).toLowerCase()}`;
}
