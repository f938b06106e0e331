/**
 * X.501 Distinguished Names: DER ↔ text, and comparison.
 *
 * Text follows strongSwan's conventions, because gateway admins copy
 * identities from strongSwan configs: RDNs in the order written, which is
 * the DER order ("C=XX, O=VPN Lab, CN=vpn.lab.example"), separated by
 * commas, or by slashes when the text starts with "/". RFC 4514 escapes
 * (`\,` `\+` `\XX`), quoted values, `+` for multi-valued RDNs, dotted OIDs
 * and `#hex` raw values are accepted too. RFC 4514 strings (as printed by
 * `openssl -nameopt RFC2253`) list RDNs in reverse: parse those with
 * `order: 'reversed'`.
 *
 * Values are encoded as strongSwan does: PrintableString when every
 * character allows it, else UTF8String; emailAddress as IA5String. So a
 * DN typed into a profile encodes to the same DER as a certificate made
 * with strongSwan's `pki --dn` from the same text.
 */
import * as asn1js from 'asn1js';

import { DerCursor, DerError, Tag, type Tlv, bytesEqual, childrenOf, decodeOid, readSingle, toHex } from './der.js';
import { IdentityError } from './errors.js';
import { isAscii } from './text.js';

interface AttributeType {
  /** the first is used when formatting */
  readonly names: readonly string[];
  readonly oid: string;
  readonly ia5?: true;
}

// X.520 / RFC 4519 attribute types, with the keywords strongSwan accepts.
const ATTRIBUTES: readonly AttributeType[] = [
  { names: ['C', 'countryName'], oid: '2.5.4.6' },
  { names: ['ST', 'S', 'stateOrProvinceName'], oid: '2.5.4.8' },
  { names: ['L', 'localityName'], oid: '2.5.4.7' },
  { names: ['O', 'organizationName'], oid: '2.5.4.10' },
  { names: ['OU', 'organizationalUnitName'], oid: '2.5.4.11' },
  { names: ['CN', 'commonName'], oid: '2.5.4.3' },
  { names: ['SN', 'surname'], oid: '2.5.4.4' },
  { names: ['serialNumber'], oid: '2.5.4.5' },
  { names: ['STREET', 'streetAddress'], oid: '2.5.4.9' },
  { names: ['T', 'title'], oid: '2.5.4.12' },
  { names: ['D', 'description'], oid: '2.5.4.13' },
  { names: ['businessCategory'], oid: '2.5.4.15' },
  { names: ['postalCode'], oid: '2.5.4.17' },
  { names: ['N', 'name'], oid: '2.5.4.41' },
  { names: ['G', 'GN', 'givenName'], oid: '2.5.4.42' },
  { names: ['I', 'initials'], oid: '2.5.4.43' },
  { names: ['generationQualifier'], oid: '2.5.4.44' },
  { names: ['dnQualifier'], oid: '2.5.4.46' },
  { names: ['pseudonym'], oid: '2.5.4.65' },
  { names: ['role'], oid: '2.5.4.72' },
  { names: ['E', 'Email', 'emailAddress'], oid: '1.2.840.113549.1.9.1', ia5: true },
  { names: ['UN', 'unstructuredName'], oid: '1.2.840.113549.1.9.2', ia5: true },
  { names: ['UID', 'userId'], oid: '0.9.2342.19200300.100.1.1' },
  { names: ['DC', 'domainComponent'], oid: '0.9.2342.19200300.100.1.25' },
];

const BY_NAME = new Map(ATTRIBUTES.flatMap((a) => a.names.map((n) => [n.toLowerCase(), a] as const)));
const BY_OID = new Map(ATTRIBUTES.map((a) => [a.oid, a] as const));

export const OID_COMMON_NAME = '2.5.4.3';

/** One AttributeTypeAndValue (X.501). */
export interface Ava {
  readonly oid: string;
  /** the value's full DER encoding (tag, length, content) */
  readonly valueDer: Uint8Array;
  /** decoded text when the value is a directory string type, else undefined */
  readonly text?: string;
}

export type Rdn = readonly Ava[];

export interface DistinguishedName {
  readonly der: Uint8Array;
  readonly rdns: readonly Rdn[];
}

/** Most RDNs a name may have; real names have fewer than 10. */
const MAX_RDNS = 64;

// ---------------------------------------------------------------- DER → structure

/** Decodes a DER Name (RFC 5280 §4.1.2.4). Throws DerError on malformed input. */
export function decodeDn(der: Uint8Array, path = 'Name'): DistinguishedName {
  return dnFromTlv(readSingle(der, path));
}

/** Decodes a Name from a TLV already read out of a larger structure. */
export function dnFromTlv(tlv: Tlv): DistinguishedName {
  if (tlv.tag !== Tag.SEQUENCE) throw new DerError(tlv.path, tlv.start, 'a Name must be a SEQUENCE');
  const sets = childrenOf(tlv);
  if (sets.length > MAX_RDNS) throw new DerError(tlv.path, tlv.start, `more than ${MAX_RDNS} RDNs`);
  const rdns = sets.map((set, i) => {
    const path = `${tlv.path}/rdn[${i}]`;
    if (set.tag !== Tag.SET) throw new DerError(path, set.start, 'an RDN must be a SET');
    const avas = childrenOf(set, path);
    if (avas.length === 0) throw new DerError(path, set.start, 'empty RDN');
    return avas.map((seq, j) => decodeAva(seq, `${path}/ava[${j}]`));
  });
  return { der: tlv.bytes, rdns };
}

function decodeAva(seq: Tlv, path: string): Ava {
  if (seq.tag !== Tag.SEQUENCE) throw new DerError(path, seq.start, 'an AttributeTypeAndValue must be a SEQUENCE');
  const c = new DerCursor(seq, path);
  const oid = decodeOid(c.expect(Tag.OID, 'attribute type').content, path);
  const value = c.any('attribute value');
  c.end('attribute value');
  const text = decodeDirectoryString(value);
  return text === undefined ? { oid, valueDer: value.bytes } : { oid, valueDer: value.bytes, text };
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Text of the X.520 string types; undefined for other types (shown as #hex). */
function decodeDirectoryString(tlv: Tlv): string | undefined {
  const c = tlv.content;
  switch (tlv.tag) {
    case Tag.UTF8_STRING:
      try {
        return utf8.decode(c);
      } catch {
        throw new DerError(tlv.path, tlv.start, 'UTF8String is not valid UTF-8');
      }
    case Tag.PRINTABLE_STRING:
    case Tag.IA5_STRING:
    case Tag.NUMERIC_STRING:
    case Tag.VISIBLE_STRING:
      for (const b of c) if (b > 0x7f) throw new DerError(tlv.path, tlv.start, 'non-ASCII octet in an ASCII string type');
      return Buffer.from(c.buffer, c.byteOffset, c.byteLength).toString('latin1');
    case Tag.TELETEX_STRING:
      // T.61 in practice carries Latin-1 (what OpenSSL and strongSwan assume).
      return Buffer.from(c.buffer, c.byteOffset, c.byteLength).toString('latin1');
    case Tag.BMP_STRING: {
      if (c.length % 2 !== 0) throw new DerError(tlv.path, tlv.start, 'BMPString of odd length');
      let s = '';
      for (let i = 0; i < c.length; i += 2) s += String.fromCharCode(((c[i] as number) << 8) | (c[i + 1] as number));
      return s;
    }
    case Tag.UNIVERSAL_STRING: {
      if (c.length % 4 !== 0) throw new DerError(tlv.path, tlv.start, 'UniversalString length not a multiple of 4');
      let s = '';
      for (let i = 0; i < c.length; i += 4) {
        const cp = (((c[i] as number) << 24) >>> 0) + ((c[i + 1] as number) << 16) + ((c[i + 2] as number) << 8) + (c[i + 3] as number);
        if (cp > 0x10ffff) throw new DerError(tlv.path, tlv.start, 'UniversalString code point out of range');
        s += String.fromCodePoint(cp);
      }
      return s;
    }
    default:
      return undefined;
  }
}

// ---------------------------------------------------------------- structure → text

/** strongSwan-style text: "C=XX, O=VPN Lab, CN=vpn.lab.example" (DER order). */
export function formatDn(dn: DistinguishedName | Uint8Array): string {
  const { rdns } = dn instanceof Uint8Array ? decodeDn(dn) : dn;
  return rdns.map((rdn) => rdn.map(formatAva).join(' + ')).join(', ');
}

function formatAva(ava: Ava): string {
  const name = BY_OID.get(ava.oid)?.names[0] ?? ava.oid;
  return `${name}=${ava.text === undefined ? `#${toHex(ava.valueDer)}` : escapeValue(ava.text)}`;
}

/** RFC 4514 §2.4 escaping, plus control characters as \XX so text stays on one line. */
function escapeValue(value: string): string {
  let out = '';
  for (let i = 0; i < value.length; i++) {
    const ch = value[i] as string;
    const code = ch.charCodeAt(0);
    if (code < 0x20 || code === 0x7f) out += `\\${code.toString(16).padStart(2, '0').toUpperCase()}`;
    else if ('"+,;<>\\'.includes(ch)) out += `\\${ch}`;
    else if ((i === 0 && (ch === '#' || ch === ' ')) || (i === value.length - 1 && ch === ' ')) out += `\\${ch}`;
    else out += ch;
  }
  return out;
}

/** The text of every CN attribute, in DER order (for the RFC 6125 CN fallback). */
export function commonNames(dn: DistinguishedName): string[] {
  return dn.rdns.flatMap((rdn) => rdn.filter((a) => a.oid === OID_COMMON_NAME && a.text !== undefined).map((a) => a.text as string));
}

// ---------------------------------------------------------------- text → DER

export interface ParseDnOptions {
  /** 'as-written' (strongSwan, default): first RDN written is first in DER. 'reversed': RFC 4514 order. */
  readonly order?: 'as-written' | 'reversed';
}

type ParsedValue = { readonly kind: 'text'; readonly text: string } | { readonly kind: 'raw'; readonly der: Uint8Array };
interface ParsedAva {
  readonly oid: string;
  readonly ia5: boolean;
  readonly value: ParsedValue;
}

/** Encodes DN text to DER. Throws IdentityError for text that is not a DN. */
export function parseDn(text: string, options: ParseDnOptions = {}): DistinguishedName {
  const rdns = new DnTextParser(text).parse();
  if (options.order === 'reversed') rdns.reverse();
  const der = encodeName(rdns.map((rdn) => rdn.map(encodeParsedAva)));
  return decodeDn(der);
}

class DnTextParser {
  private pos = 0;
  private readonly separator: ',' | '/';
  private readonly s: string;

  constructor(private readonly input: string) {
    const trimmed = input.trim();
    this.separator = trimmed.startsWith('/') ? '/' : ',';
    this.s = this.separator === '/' ? trimmed.slice(1) : trimmed;
  }

  private fail(detail: string): never {
    throw new IdentityError(`"${this.input}" is not a valid distinguished name: ${detail}.`, this.input);
  }

  parse(): ParsedAva[][] {
    const rdns: ParsedAva[][] = [];
    let rdn: ParsedAva[] = [];
    if (this.s.length === 0) this.fail('it is empty');
    for (;;) {
      rdn.push(this.ava());
      this.skipSpaces();
      if (this.pos >= this.s.length) break;
      const ch = this.s[this.pos];
      this.pos++;
      if (ch === '+') continue;
      if (ch === this.separator || (this.separator === ',' && ch === ';')) {
        rdns.push(rdn);
        rdn = [];
        if (rdns.length >= MAX_RDNS) this.fail(`more than ${MAX_RDNS} RDNs`);
        continue;
      }
      this.fail(`unexpected "${ch}" at position ${this.pos}`);
    }
    rdns.push(rdn);
    return rdns;
  }

  private skipSpaces(): void {
    while (this.s[this.pos] === ' ' || this.s[this.pos] === '\t') this.pos++;
  }

  private ava(): ParsedAva {
    this.skipSpaces();
    if (this.pos >= this.s.length) this.fail('an RDN is missing after the last separator');
    const eq = this.s.indexOf('=', this.pos);
    if (eq < 0) this.fail(`"${this.s.slice(this.pos)}" has no "="`);
    const typeText = this.s.slice(this.pos, eq).trim();
    this.pos = eq + 1;
    const type = this.attributeType(typeText);
    this.skipSpaces();
    const value = this.value(typeText);
    return { oid: type.oid, ia5: type.ia5, value };
  }

  private attributeType(typeText: string): { oid: string; ia5: boolean } {
    if (typeText === '') this.fail('an attribute type is missing before "="');
    const known = BY_NAME.get(typeText.toLowerCase());
    if (known !== undefined) return { oid: known.oid, ia5: known.ia5 === true };
    const dotted = typeText.replace(/^oid\./i, '');
    // RFC 4512 numericoid: a first arc 0-2, then arcs without leading zeros.
    if (/^[0-2](\.(0|[1-9]\d{0,14}))+$/.test(dotted)) return { oid: dotted, ia5: BY_OID.get(dotted)?.ia5 === true };
    return this.fail(`unknown attribute type "${typeText}"`);
  }

  private value(typeText: string): ParsedValue {
    const s = this.s;
    if (s[this.pos] === '#') return this.hexValue(typeText);
    const bytes: number[] = [];
    const pushText = (t: string): void => {
      for (const b of Buffer.from(t, 'utf8')) bytes.push(b);
    };
    if (s[this.pos] === '"') {
      this.pos++;
      for (;;) {
        if (this.pos >= s.length) this.fail(`the quoted value of ${typeText} is not closed`);
        const ch = s[this.pos] as string;
        if (ch === '"') {
          this.pos++;
          break;
        }
        if (ch === '\\') this.escape(bytes, pushText);
        else {
          const cp = s.codePointAt(this.pos) as number;
          const t = String.fromCodePoint(cp);
          pushText(t);
          this.pos += t.length;
        }
      }
    } else {
      let lastSignificant = 0; // bytes.length after the last character that is not an unescaped trailing space
      while (this.pos < s.length) {
        const ch = s[this.pos] as string;
        if (ch === this.separator || ch === '+' || (this.separator === ',' && ch === ';')) break;
        if (ch === '\\') {
          this.escape(bytes, pushText);
          lastSignificant = bytes.length;
          continue;
        }
        const cp = s.codePointAt(this.pos) as number;
        if (cp < 0x20 || cp === 0x7f) this.fail(`a control character in the value of ${typeText}`);
        const t = String.fromCodePoint(cp);
        pushText(t);
        this.pos += t.length;
        if (ch !== ' ' && ch !== '\t') lastSignificant = bytes.length;
      }
      bytes.length = lastSignificant;
    }
    if (bytes.length === 0) this.fail(`the value of ${typeText} is empty`);
    let text: string;
    try {
      text = utf8.decode(Uint8Array.from(bytes));
    } catch {
      return this.fail(`the value of ${typeText} is not valid UTF-8 after unescaping`);
    }
    return { kind: 'text', text };
  }

  /** RFC 4514 §3: "\" then a special character, or two hex digits (one UTF-8 octet). */
  private escape(bytes: number[], pushText: (t: string) => void): void {
    const next = this.s.slice(this.pos + 1, this.pos + 3);
    if (/^[0-9a-fA-F]{2}$/.test(next)) {
      bytes.push(parseInt(next, 16));
      this.pos += 3;
      return;
    }
    const ch = this.s[this.pos + 1];
    if (ch === undefined) this.fail('a trailing "\\"');
    if (!' "#+,;<=>\\/'.includes(ch)) this.fail(`"\\${ch}" is not a valid escape`);
    pushText(ch);
    this.pos += 2;
  }

  /** RFC 4514 §2.4: "#" and the hex of the value's BER encoding (we require DER). */
  private hexValue(typeText: string): ParsedValue {
    this.pos++;
    const start = this.pos;
    while (this.pos < this.s.length && /[0-9a-fA-F]/.test(this.s[this.pos] as string)) this.pos++;
    const hex = this.s.slice(start, this.pos);
    if (hex.length === 0 || hex.length % 2 !== 0) this.fail(`the #hex value of ${typeText} is not an even number of hex digits`);
    const der = Uint8Array.from(Buffer.from(hex, 'hex'));
    try {
      readSingle(der, typeText);
    } catch (e) {
      if (e instanceof DerError) this.fail(`the #hex value of ${typeText} is not one DER element (${e.message})`);
      throw e;
    }
    return { kind: 'raw', der };
  }
}

// strongSwan picks PrintableString when every character allows it (X.680 §41.4).
const PRINTABLE = /^[A-Za-z0-9 '()+,\-./:=?]*$/;

function encodeParsedAva(ava: ParsedAva): asn1js.Sequence {
  const v = ava.value;
  let value: asn1js.AsnType;
  if (v.kind === 'raw') value = rawBlock(v.der);
  else if (ava.ia5 && isAscii(v.text)) value = new asn1js.IA5String({ value: v.text });
  else if (!ava.ia5 && PRINTABLE.test(v.text)) value = new asn1js.PrintableString({ value: v.text });
  else value = new asn1js.Utf8String({ value: v.text });
  return new asn1js.Sequence({ value: [new asn1js.ObjectIdentifier({ value: ava.oid }), value] });
}

/** An asn1js block for DER we already hold; asn1js must re-encode it byte for byte. */
function rawBlock(der: Uint8Array): asn1js.AsnType {
  let parsed: ReturnType<typeof asn1js.fromBER>;
  try {
    parsed = asn1js.fromBER(der);
  } catch {
    throw new IdentityError(`The value #${toHex(der)} is not a DER element.`, toHex(der));
  }
  if (parsed.offset !== der.length || !bytesEqual(new Uint8Array(parsed.result.toBER(false)), der)) {
    throw new IdentityError(`The value #${toHex(der)} is not a DER element.`, toHex(der));
  }
  return parsed.result;
}

/** SEQUENCE OF SET OF AttributeTypeAndValue, each SET in DER order (X.690 §11.6). */
function encodeName(rdns: readonly (readonly asn1js.Sequence[])[]): Uint8Array {
  const sets = rdns.map((avas) => {
    const sorted = avas
      .map((a) => ({ block: a, der: new Uint8Array(a.toBER(false)) }))
      .sort((x, y) => compareDerForSet(x.der, y.der))
      .map((x) => x.block);
    return new asn1js.Set({ value: sorted });
  });
  return new Uint8Array(new asn1js.Sequence({ value: sets }).toBER(false));
}

/** X.690 §11.6: compare encodings as octet strings, the shorter padded with zero octets. */
function compareDerForSet(a: Uint8Array, b: Uint8Array): number {
  const n = Math.max(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const d = (a[i] ?? 0) - (b[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

// ---------------------------------------------------------------- comparison

/**
 * A canonical re-encoding for comparison (RFC 5280 §7.1, simplified RFC 4518
 * preparation): every directory string becomes a UTF8String of its NFKC,
 * lower-cased text with surrounding whitespace removed and inner runs
 * collapsed; other values stay as they are; AVAs of an RDN are re-sorted.
 */
export function canonicalDn(dn: DistinguishedName | Uint8Array): Uint8Array {
  const { rdns } = dn instanceof Uint8Array ? decodeDn(dn) : dn;
  return encodeName(
    rdns.map((rdn) =>
      rdn.map(
        (ava) =>
          new asn1js.Sequence({
            value: [
              new asn1js.ObjectIdentifier({ value: ava.oid }),
              // Non-string values are compared octet for octet: wrapped whole in an OCTET STRING.
              ava.text === undefined
                ? new asn1js.OctetString({ valueHex: ava.valueDer })
                : new asn1js.Utf8String({ value: prepare(ava.text) }),
            ],
          }),
      ),
    ),
  );
}

function prepare(text: string): string {
  return text.normalize('NFKC').toLowerCase().trim().replace(/\s+/g, ' ');
}

/** True when two names are the same under RFC 5280 §7.1 comparison rules. */
export function dnEqual(a: DistinguishedName | Uint8Array, b: DistinguishedName | Uint8Array): boolean {
  const da = a instanceof Uint8Array ? a : a.der;
  const db = b instanceof Uint8Array ? b : b.der;
  if (bytesEqual(da, db)) return true;
  return bytesEqual(canonicalDn(a), canonicalDn(b));
}
