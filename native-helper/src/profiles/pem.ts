/**
 * PEM (RFC 7468) encode/decode, bounded and strict: only the labelled
 * blocks, base64 alphabet only, nothing outside blocks but whitespace or
 * RFC 7468 §5.2 explanatory text lines (which OpenSSL writes as
 * "Bag Attributes"/"subject=" headers and we skip).
 */

export interface PemBlock {
  readonly label: string;
  readonly der: Uint8Array;
}

export class PemError extends Error {
  override readonly name = 'PemError';
}

const MAX_PEM_BLOCKS = 64;
const BEGIN = /-----BEGIN ([A-Z0-9 ]{1,64})-----/gu;

export const looksLikePem = (bytes: Uint8Array): boolean => {
  const head = new TextDecoder('utf-8', { fatal: false }).decode(bytes.subarray(0, Math.min(bytes.length, 4096)));
  return head.includes('-----BEGIN ');
};

/** All PEM blocks in `text`, in order. Throws PemError on a broken block. */
export function decodePem(text: string): PemBlock[] {
  const blocks: PemBlock[] = [];
  BEGIN.lastIndex = 0;
  let match: RegExpExecArray | null;
  while ((match = BEGIN.exec(text)) !== null) {
    if (blocks.length >= MAX_PEM_BLOCKS) throw new PemError(`more than ${MAX_PEM_BLOCKS} PEM blocks`);
    const label = match[1] ?? '';
    const endMarker = `-----END ${label}-----`;
    const bodyStart = match.index + match[0].length;
    const end = text.indexOf(endMarker, bodyStart);
    if (end < 0) throw new PemError(`PEM block "${label}" has no END line`);
    const body = text.slice(bodyStart, end);
    // RFC 1421 encapsulated headers (e.g. "Proc-Type: 4,ENCRYPTED") belong to legacy encrypted keys; keep them out of the base64.
    const lines = body.split(/\r?\n/u).map((l) => l.trim()).filter((l) => l.length > 0 && !l.includes(':'));
    const b64 = lines.join('');
    if (!/^[A-Za-z0-9+/]*={0,2}$/u.test(b64) || b64.length % 4 !== 0) throw new PemError(`PEM block "${label}" is not valid base64`);
    blocks.push({ label, der: new Uint8Array(Buffer.from(b64, 'base64')) });
    BEGIN.lastIndex = end + endMarker.length;
  }
  return blocks;
}

export function encodePem(label: string, der: Uint8Array): string {
  const b64 = Buffer.from(der).toString('base64');
  const lines = b64.match(/.{1,64}/gu) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`;
}

/** Strict base64 (RFC 4648 §4), whitespace tolerated; returns undefined when it is not base64. */
export function decodeBase64(text: string): Uint8Array | undefined {
  const compact = text.replace(/\s+/gu, '');
  if (compact.length === 0 || compact.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/u.test(compact)) return undefined;
  return new Uint8Array(Buffer.from(compact, 'base64'));
}
