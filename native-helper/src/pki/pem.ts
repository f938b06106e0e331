/**
 * PEM text ↔ DER (RFC 7468). Parsing is bounded and tolerant of what real
 * files contain: CRLF or LF line ends, indentation, blank lines, and
 * explanatory text between blocks (e.g. `openssl x509 -text` output).
 * It is strict about what matters: matching BEGIN/END labels, valid
 * base64, and no RFC 1421 encryption headers (we cannot decrypt those).
 */
import { PemError } from './errors.js';

/** Largest PEM text accepted (a full system CA bundle is ~250 KB). */
export const MAX_PEM_TEXT = 8 * 1024 * 1024;
/** Most blocks one text may contain. */
export const MAX_PEM_BLOCKS = 1024;

// RFC 7468 §3: a label is printable ASCII without '-', words separated by single spaces.
const LABEL = '[\\x21-\\x2c\\x2e-\\x7e]+(?: [\\x21-\\x2c\\x2e-\\x7e]+)*';
const BEGIN = new RegExp(`^-----BEGIN (${LABEL})-----$`);
const END = new RegExp(`^-----END (${LABEL})-----$`);
const LABEL_ONLY = new RegExp(`^${LABEL}$`);
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

export interface PemBlock {
  readonly label: string;
  readonly der: Uint8Array;
  /** 1-based line of the BEGIN line */
  readonly line: number;
}

/** Every PEM block in `text`, in order, with its label. Throws PemError. */
export function pemBlocks(text: string): PemBlock[] {
  if (text.length > MAX_PEM_TEXT) {
    throw new PemError('PEM_TOO_LARGE', `The PEM text is ${text.length} characters; at most ${MAX_PEM_TEXT} are accepted.`);
  }
  const lines = text.replace(/^\uFEFF/, '').split(/\r\n|\r|\n/);
  const blocks: PemBlock[] = [];
  for (let i = 0; i < lines.length; i++) {
    const begin = BEGIN.exec((lines[i] as string).trim());
    if (begin === null) continue;
    const label = begin[1] as string;
    const beginLine = i + 1;
    if (blocks.length >= MAX_PEM_BLOCKS) {
      throw new PemError('PEM_TOO_LARGE', `More than ${MAX_PEM_BLOCKS} PEM blocks.`, beginLine);
    }
    const body: string[] = [];
    let closed = false;
    for (i++; i < lines.length; i++) {
      const line = (lines[i] as string).trim();
      const end = END.exec(line);
      if (end !== null) {
        if (end[1] !== label) {
          throw new PemError('PEM_INVALID', `"-----BEGIN ${label}-----" is closed by "-----END ${end[1]}-----".`, i + 1);
        }
        closed = true;
        break;
      }
      if (BEGIN.test(line)) {
        throw new PemError('PEM_INVALID', `"-----BEGIN ${label}-----" has no END line before the next BEGIN.`, beginLine);
      }
      // RFC 1421 §4.6 encapsulated headers ("Proc-Type: 4,ENCRYPTED", "DEK-Info: …")
      // mean legacy OpenSSL key encryption, which we do not support.
      if (line.includes(':')) {
        throw new PemError('PEM_INVALID', `The ${label} block has RFC 1421 headers (legacy encrypted PEM), which are not supported.`, i + 1);
      }
      body.push(line.replace(/\s+/g, ''));
    }
    if (!closed) throw new PemError('PEM_INVALID', `"-----BEGIN ${label}-----" has no END line.`, beginLine);
    blocks.push({ label, der: decodeBase64(body.join(''), label, beginLine), line: beginLine });
  }
  return blocks;
}

function decodeBase64(b64: string, label: string, line: number): Uint8Array {
  if (b64.length === 0) throw new PemError('PEM_INVALID', `The ${label} block is empty.`, line);
  if (!BASE64.test(b64) || b64.length % 4 !== 0) {
    throw new PemError('PEM_INVALID', `The ${label} block is not valid base64.`, line);
  }
  const bytes = Buffer.from(b64, 'base64');
  // Non-zero padding bits are not canonical base64 (RFC 4648 §3.5): a corrupted file.
  if (bytes.toString('base64') !== b64) throw new PemError('PEM_INVALID', `The ${label} block is not canonical base64.`, line);
  return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/**
 * The DER contents of every PEM block in `text` (only blocks labelled
 * `label`, e.g. 'CERTIFICATE', when given). Throws PemError PEM_NOT_FOUND
 * when there is none.
 */
export function pemToDerList(text: string, label?: string): Uint8Array[] {
  const blocks = pemBlocks(text).filter((b) => label === undefined || b.label === label);
  if (blocks.length === 0) {
    throw new PemError('PEM_NOT_FOUND', label === undefined ? 'No PEM block found.' : `No "-----BEGIN ${label}-----" block found.`);
  }
  return blocks.map((b) => b.der);
}

/** RFC 7468 §2 text: 64-character base64 lines, LF line ends, a final newline. */
export function derToPem(der: Uint8Array, label: string): string {
  if (!LABEL_ONLY.test(label)) throw new PemError('PEM_INVALID', `"${label}" is not a valid PEM label.`);
  if (der.length === 0) throw new PemError('PEM_INVALID', 'Cannot encode an empty value as PEM.');
  const b64 = Buffer.from(der.buffer, der.byteOffset, der.byteLength).toString('base64');
  const lines: string[] = [];
  for (let i = 0; i < b64.length; i += 64) lines.push(b64.slice(i, i + 64));
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`;
}

/** How far into the input isPem looks for a BEGIN line. */
const SNIFF_BYTES = 64 * 1024;

/**
 * True when `input` looks like PEM text rather than DER: a DER certificate
 * or CMS blob starts with a SEQUENCE (0x30), PEM text contains "-----BEGIN ".
 */
export function isPem(input: Uint8Array | string): boolean {
  const head =
    typeof input === 'string'
      ? input.slice(0, SNIFF_BYTES)
      : Buffer.from(input.buffer, input.byteOffset, Math.min(input.byteLength, SNIFF_BYTES)).toString('latin1');
  // Bytes starting with a DER SEQUENCE are DER even if a BEGIN line appears in them by chance.
  if (typeof input !== 'string' && input[0] === 0x30) return false;
  return /-----BEGIN [\x21-\x2c\x2e-\x7e]/.test(head);
}
