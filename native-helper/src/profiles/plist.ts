/**
 * A small, bounded reader for XML property lists (Apple's PropertyList-1.0
 * DTD), enough for .mobileconfig files. It accepts exactly the plist
 * elements (dict, key, array, string, integer, real, true, false, date,
 * data), the five predefined entities and character references, comments
 * and CDATA. It refuses DTD internal subsets and any other entity, so no
 * entity expansion ("billion laughs") or external fetch can happen, and it
 * caps size, depth and node count. Binary plists are refused with a clear
 * message.
 */

export type PlistValue = string | number | boolean | Date | Uint8Array | PlistValue[] | PlistDict;
export interface PlistDict {
  [key: string]: PlistValue;
}

export class PlistError extends Error {
  override readonly name = 'PlistError';
  constructor(
    message: string,
    readonly offset: number,
  ) {
    super(`${message} (at character ${offset})`);
  }
}

export interface PlistLimits {
  readonly maxBytes: number;
  readonly maxDepth: number;
  readonly maxNodes: number;
}

export const DEFAULT_PLIST_LIMITS: PlistLimits = { maxBytes: 4 * 1024 * 1024, maxDepth: 32, maxNodes: 100_000 };

const TEXT_STOP = /[<&]/gu;
const ENTITIES: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };

export const isPlistDict = (v: PlistValue | undefined): v is PlistDict =>
  v !== undefined && typeof v === 'object' && !Array.isArray(v) && !(v instanceof Date) && !(v instanceof Uint8Array);

class Parser {
  private pos = 0;
  private nodes = 0;

  constructor(
    private readonly s: string,
    private readonly limits: PlistLimits,
  ) {}

  fail(message: string): never {
    throw new PlistError(message, this.pos);
  }

  private startsWith(token: string): boolean {
    return this.s.startsWith(token, this.pos);
  }

  private skipUntil(token: string, what: string): void {
    const end = this.s.indexOf(token, this.pos);
    if (end < 0) this.fail(`unterminated ${what}`);
    this.pos = end + token.length;
  }

  /** Whitespace, comments and (in the prolog) processing instructions and the DOCTYPE. */
  private skipMisc(prolog: boolean): void {
    for (;;) {
      while (this.pos < this.s.length && /\s/u.test(this.s[this.pos] as string)) this.pos++;
      if (this.startsWith('<!--')) this.skipUntil('-->', 'comment');
      else if (prolog && this.startsWith('<?')) this.skipUntil('?>', 'processing instruction');
      else if (prolog && this.startsWith('<!DOCTYPE')) {
        const end = this.s.indexOf('>', this.pos);
        if (end < 0) this.fail('unterminated DOCTYPE');
        // An internal subset could declare entities; plists never need one.
        if (this.s.slice(this.pos, end).includes('[')) this.fail('DOCTYPE internal subsets are not allowed');
        this.pos = end + 1;
      } else return;
    }
  }

  /** Reads "<name attrs>" or "<name/>"; returns the name and whether it was self-closing. */
  private openTag(): { name: string; empty: boolean } {
    if (this.s[this.pos] !== '<') this.fail('expected an element');
    const m = /^<([A-Za-z][A-Za-z0-9]*)((?:\s+[A-Za-z_:][-A-Za-z0-9_:.]*\s*=\s*(?:"[^"<]*"|'[^'<]*'))*)\s*(\/?)>/u.exec(this.s.slice(this.pos, this.pos + 512));
    if (m === null) this.fail('malformed start tag');
    this.pos += m[0].length;
    return { name: m[1] as string, empty: m[3] === '/' };
  }

  private closeTag(name: string): void {
    const m = /^<\/([A-Za-z][A-Za-z0-9]*)\s*>/u.exec(this.s.slice(this.pos, this.pos + 128));
    if (m === null || m[1] !== name) this.fail(`expected </${name}>`);
    this.pos += m[0].length;
  }

  /** Character data up to the next tag, with entities and CDATA resolved. */
  private text(name: string): string {
    let out = '';
    for (;;) {
      if (this.pos >= this.s.length) this.fail(`unterminated <${name}>`);
      if (this.startsWith('<![CDATA[')) {
        const end = this.s.indexOf(']]>', this.pos);
        if (end < 0) this.fail('unterminated CDATA');
        out += this.s.slice(this.pos + 9, end);
        this.pos = end + 3;
      } else if (this.startsWith('<!--')) {
        this.skipUntil('-->', 'comment');
      } else if (this.s[this.pos] === '<') {
        this.closeTag(name);
        return out;
      } else if (this.s[this.pos] === '&') {
        const end = this.s.indexOf(';', this.pos);
        if (end < 0 || end - this.pos > 12) this.fail('malformed entity');
        const ref = this.s.slice(this.pos + 1, end);
        let ch: string | undefined;
        if (/^#[0-9]{1,7}$/u.test(ref)) ch = String.fromCodePoint(Math.min(Number(ref.slice(1)), 0x10ffff));
        else if (/^#x[0-9A-Fa-f]{1,6}$/u.test(ref)) ch = String.fromCodePoint(Math.min(parseInt(ref.slice(2), 16), 0x10ffff));
        else ch = ENTITIES[ref];
        if (ch === undefined) this.fail(`unknown entity &${ref};`);
        out += ch;
        this.pos = end + 1;
      } else {
        TEXT_STOP.lastIndex = this.pos;
        const next = TEXT_STOP.exec(this.s);
        const stop = next === null ? this.s.length : next.index;
        out += this.s.slice(this.pos, stop);
        this.pos = stop;
      }
    }
  }

  value(depth: number): PlistValue {
    if (depth > this.limits.maxDepth) this.fail(`nested deeper than ${this.limits.maxDepth}`);
    if (++this.nodes > this.limits.maxNodes) this.fail(`more than ${this.limits.maxNodes} values`);
    this.skipMisc(false);
    const at = this.pos;
    const { name, empty } = this.openTag();
    switch (name) {
      case 'dict': {
        const dict: PlistDict = Object.create(null) as PlistDict;
        if (empty) return dict;
        for (;;) {
          this.skipMisc(false);
          if (this.startsWith('</')) {
            this.closeTag('dict');
            return dict;
          }
          const keyTag = this.openTag();
          if (keyTag.name !== 'key') this.fail(`expected <key> in <dict>, found <${keyTag.name}>`);
          const key = keyTag.empty ? '' : this.text('key');
          if (Object.prototype.hasOwnProperty.call(dict, key)) this.fail(`duplicate key "${key}"`);
          dict[key] = this.value(depth + 1);
        }
      }
      case 'array': {
        const list: PlistValue[] = [];
        if (empty) return list;
        for (;;) {
          this.skipMisc(false);
          if (this.startsWith('</')) {
            this.closeTag('array');
            return list;
          }
          list.push(this.value(depth + 1));
        }
      }
      case 'true':
      case 'false':
        if (!empty) this.closeTag(name);
        return name === 'true';
      case 'string':
        return empty ? '' : this.text('string');
      case 'integer': {
        const t = (empty ? '' : this.text('integer')).trim();
        if (!/^[+-]?(?:\d{1,16}|0x[0-9A-Fa-f]{1,13})$/u.test(t)) {
          this.pos = at;
          this.fail(`bad <integer> "${t.slice(0, 20)}"`);
        }
        const n = t.includes('0x') ? Number.parseInt(t.replace('0x', ''), 16) * (t.startsWith('-') ? -1 : 1) : Number(t);
        if (!Number.isSafeInteger(n)) this.fail('integer out of range');
        return n;
      }
      case 'real': {
        const t = (empty ? '' : this.text('real')).trim();
        const n = Number(t);
        if (t === '' || !Number.isFinite(n)) this.fail(`bad <real> "${t.slice(0, 20)}"`);
        return n;
      }
      case 'date': {
        const t = (empty ? '' : this.text('date')).trim();
        if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/u.test(t)) this.fail(`bad <date> "${t.slice(0, 30)}"`);
        return new Date(t);
      }
      case 'data': {
        const t = (empty ? '' : this.text('data')).replace(/\s+/gu, '');
        if (!/^[A-Za-z0-9+/]*={0,2}$/u.test(t) || t.length % 4 !== 0) this.fail('bad base64 in <data>');
        return new Uint8Array(Buffer.from(t, 'base64'));
      }
      default:
        this.pos = at;
        return this.fail(`unexpected element <${name}>`);
    }
  }

  document(): PlistValue {
    this.skipMisc(true);
    const root = this.openTag();
    if (root.name !== 'plist' || root.empty) this.fail('the root element must be <plist>');
    const value = this.value(1);
    this.skipMisc(false);
    this.closeTag('plist');
    this.skipMisc(false);
    if (this.pos !== this.s.length) this.fail('content after </plist>');
    return value;
  }
}

export const looksLikeXmlPlist = (bytes: Uint8Array): boolean => {
  const head = new TextDecoder('utf-8', { fatal: false }).decode(bytes.subarray(0, 1024));
  return /^\uFEFF?\s*(?:<\?xml[^>]*>\s*)?(?:<!--[\s\S]*?-->\s*)*(?:<!DOCTYPE\s+plist[^>]*>\s*)?<plist[\s>]/u.test(head);
};

/** Parses an XML plist. Throws PlistError with the character offset. */
export function parsePlist(bytes: Uint8Array, limits: PlistLimits = DEFAULT_PLIST_LIMITS): PlistValue {
  if (bytes.length > limits.maxBytes) throw new PlistError(`larger than ${limits.maxBytes} bytes`, 0);
  if (bytes.length >= 8 && new TextDecoder().decode(bytes.subarray(0, 6)) === 'bplist') {
    throw new PlistError('binary property lists are not supported; convert with `plutil -convert xml1`', 0);
  }
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new PlistError('not UTF-8 text', 0);
  }
  if (text.startsWith('\uFEFF')) text = text.slice(1);
  return new Parser(text, limits).document();
}
