/**
 * Algorithm proposals: strongSwan-style proposal strings
 * ("aes256gcm16-prfsha256-ecp256", "aes256-sha256-modp2048", ESP
 * "aes256gcm16", "aes256gcm16-ecp256" for PFS) parsed into typed specs, the
 * SA payload we offer (RFC 7296 §3.3), and the check of what the responder
 * chose (§2.7, §3.3.6).
 *
 * A spec lists, per transform type, every algorithm the user allows, as
 * strongSwan's proposal keywords do: "aes256gcm16-aes128gcm16-prfsha256-
 * ecp256-x25519" is one spec. On the wire AEAD and non-AEAD ciphers cannot
 * share a proposal (RFC 7296 §3.3: "combined-mode ciphers ... MUST NOT" be
 * combined with an integrity transform in one proposal, and a proposal is
 * an AND of its transform types), so a spec holding both kinds becomes two
 * proposals.
 */
import type { FailureCode } from '../api/errors.js';
import { EncrId, EsnId, IntegId, KeId, PayloadType, PrfId, ProtocolId, TransformType, transformTypeName } from './constants.js';
import type { Proposal, SaPayload, Transform } from './codec/types.js';
import { formatEspSuite, formatIkeSuite } from './crypto/suite.js';
import type { EspSuite, IkeSuite } from './crypto/suite.js';

/** One ENCR transform: id and, for AES, the Key Length attribute in bits (RFC 7296 §3.3.5). */
export interface EncrAlgorithm {
  readonly id: number;
  readonly keyLength?: number;
}

/** What a user allows for an IKE SA, per transform type, most preferred first. */
export interface IkeProposalSpec {
  readonly protocol: 'ike';
  readonly encr: readonly EncrAlgorithm[];
  readonly prf: readonly number[];
  /** empty when every cipher is AEAD */
  readonly integ: readonly number[];
  readonly ke: readonly number[];
}

/** What a user allows for an ESP CHILD_SA. */
export interface EspProposalSpec {
  readonly protocol: 'esp';
  readonly encr: readonly EncrAlgorithm[];
  readonly integ: readonly number[];
  /** PFS groups for CREATE_CHILD_SA; never sent in IKE_AUTH (RFC 7296 §1.2) */
  readonly ke: readonly number[];
  /** Extended Sequence Numbers choices in order (RFC 7296 §3.3.2 type 5); default [false] */
  readonly esn: readonly boolean[];
}

export type ProposalSpec = IkeProposalSpec | EspProposalSpec;

/** A proposal string we cannot use, naming the offending keyword. */
export class ProposalError extends Error {
  override readonly name = 'ProposalError';
  constructor(
    /** the whole proposal string */
    readonly proposal: string,
    /** the keyword at fault, or '' when the proposal as a whole is incomplete */
    readonly token: string,
    detail: string,
  ) {
    super(token === '' ? `proposal "${proposal}": ${detail}` : `proposal "${proposal}": "${token}" ${detail}`);
  }
}

// ---------------------------------------------------------------- keywords

const AEAD_ENCRS: ReadonlySet<number> = new Set([EncrId.AES_GCM_8, EncrId.AES_GCM_12, EncrId.AES_GCM_16, EncrId.CHACHA20_POLY1305]);

export const isAeadEncr = (id: number): boolean => AEAD_ENCRS.has(id);

/** strongSwan keywords → ENCR (RFC 3602 AES-CBC, RFC 4106/5282 AES-GCM, RFC 7634 ChaCha20-Poly1305). */
const ENCR_KEYWORDS: ReadonlyMap<string, EncrAlgorithm> = (() => {
  const m = new Map<string, EncrAlgorithm>();
  for (const bits of [128, 256] as const) {
    m.set(`aes${bits}`, { id: EncrId.AES_CBC, keyLength: bits });
    // strongSwan accepts the ICV length in octets (gcm16) or bits (gcm128), and "gcm" alone means 16.
    for (const [suffix, id] of [
      ['gcm16', EncrId.AES_GCM_16],
      ['gcm128', EncrId.AES_GCM_16],
      ['gcm', EncrId.AES_GCM_16],
      ['gcm12', EncrId.AES_GCM_12],
      ['gcm96', EncrId.AES_GCM_12],
      ['gcm8', EncrId.AES_GCM_8],
      ['gcm64', EncrId.AES_GCM_8],
    ] as const) {
      m.set(`aes${bits}${suffix}`, { id, keyLength: bits });
    }
  }
  m.set('aes', { id: EncrId.AES_CBC, keyLength: 128 });
  m.set('chacha20poly1305', { id: EncrId.CHACHA20_POLY1305 });
  return m;
})();

/** HMAC-SHA-2 truncated per RFC 4868; plain "sha2_256" spellings as strongSwan takes them. */
const INTEG_KEYWORDS: ReadonlyMap<string, number> = new Map([
  ['sha256', IntegId.HMAC_SHA2_256_128],
  ['sha2_256', IntegId.HMAC_SHA2_256_128],
  ['sha384', IntegId.HMAC_SHA2_384_192],
  ['sha2_384', IntegId.HMAC_SHA2_384_192],
  ['sha512', IntegId.HMAC_SHA2_512_256],
  ['sha2_512', IntegId.HMAC_SHA2_512_256],
]);

const PRF_KEYWORDS: ReadonlyMap<string, number> = new Map([
  ['prfsha256', PrfId.HMAC_SHA2_256],
  ['prfsha384', PrfId.HMAC_SHA2_384],
  ['prfsha512', PrfId.HMAC_SHA2_512],
  // RFC 8247 §2.2 "MUST-": accepted for old gateways, never in our defaults.
  ['prfsha1', PrfId.HMAC_SHA1],
]);

/** strongSwan derives the PRF from the integrity algorithm when a non-AEAD proposal names none. */
const PRF_FOR_INTEG: ReadonlyMap<number, number> = new Map([
  [IntegId.HMAC_SHA2_256_128, PrfId.HMAC_SHA2_256],
  [IntegId.HMAC_SHA2_384_192, PrfId.HMAC_SHA2_384],
  [IntegId.HMAC_SHA2_512_256, PrfId.HMAC_SHA2_512],
]);

/** RFC 3526 MODP ≥ 2048, RFC 5903 ECP, RFC 8031 Curve25519/448. */
const KE_KEYWORDS: ReadonlyMap<string, number> = new Map([
  ['modp2048', KeId.MODP_2048],
  ['modp3072', KeId.MODP_3072],
  ['modp4096', KeId.MODP_4096],
  ['modp6144', KeId.MODP_6144],
  ['modp8192', KeId.MODP_8192],
  ['ecp256', KeId.ECP_256],
  ['ecp384', KeId.ECP_384],
  ['ecp521', KeId.ECP_521],
  ['x25519', KeId.CURVE25519],
  ['curve25519', KeId.CURVE25519],
  ['x448', KeId.CURVE448],
  ['curve448', KeId.CURVE448],
]);

/** Keywords we know and refuse, with the reason (RFC 8221 §5, RFC 8247 §2). */
const REFUSED: ReadonlyMap<string, string> = new Map([
  ['des', 'is insecure and not supported (RFC 8221 §5)'],
  ['3des', 'is insecure and not supported (RFC 8247 §2.1)'],
  ['md5', 'is insecure and not supported (RFC 8247 §2.3)'],
  ['prfmd5', 'is insecure and not supported (RFC 8247 §2.2)'],
  ['sha1', 'is not supported: HMAC-SHA1-96 integrity is deprecated (RFC 8247 §2.3)'],
  ['sha', 'is not supported: HMAC-SHA1-96 integrity is deprecated (RFC 8247 §2.3)'],
  ['modp768', 'is insecure and not supported (RFC 8247 §2.4)'],
  ['modp1024', 'is insecure and not supported (RFC 8247 §2.4)'],
  ['modp1536', 'is too weak and not supported (RFC 8247 §2.4)'],
  ['aes192', 'is not supported (AES-128 or AES-256 only)'],
  ['null', 'is not supported (no encryption)'],
]);

// ---------------------------------------------------------------- parsing

/** Our defaults (RFC 8221 for ESP, RFC 8247 for IKE): GCM 256/128, ChaCha20-Poly1305, then AES-CBC with HMAC-SHA-2. */
export const DEFAULT_IKE_PROPOSALS: readonly string[] = [
  'aes256gcm16-aes128gcm16-chacha20poly1305-prfsha256-prfsha384-prfsha512-ecp256-x25519-ecp384-modp3072-modp2048',
  'aes256-aes128-sha256-sha384-sha512-prfsha256-prfsha384-prfsha512-ecp256-x25519-ecp384-modp3072-modp2048',
];

export const DEFAULT_ESP_PROPOSALS: readonly string[] = ['aes256gcm16-aes128gcm16-chacha20poly1305', 'aes256-aes128-sha256-sha384-sha512'];

function pushUnique<T>(list: T[], value: T, same: (a: T, b: T) => boolean = (a, b) => a === b): void {
  if (!list.some((x) => same(x, value))) list.push(value);
}

const sameEncr = (a: EncrAlgorithm, b: EncrAlgorithm): boolean => a.id === b.id && a.keyLength === b.keyLength;

function tokens(text: string): string[] {
  const trimmed = text.trim().toLowerCase();
  if (trimmed === '') throw new ProposalError(text, '', 'is empty');
  return trimmed.split('-');
}

function refuse(text: string, token: string): never {
  const reason = REFUSED.get(token);
  if (reason !== undefined) throw new ProposalError(text, token, reason);
  if (token.startsWith('ke') && token.includes('_')) throw new ProposalError(text, token, 'is not supported (additional key exchanges, RFC 9370)');
  if (token.startsWith('mlkem')) throw new ProposalError(text, token, 'is not supported (ML-KEM is not implemented)');
  throw new ProposalError(text, token, 'is not a known algorithm keyword');
}

/**
 * Parses one IKE proposal string. "default" alone yields our default specs
 * (so a profile can write "aes256gcm16-prfsha256-ecp256, default").
 * @throws ProposalError naming the keyword at fault
 */
export function parseIkeProposal(text: string): IkeProposalSpec[] {
  const words = tokens(text);
  if (words.length === 1 && words[0] === 'default') return DEFAULT_IKE_PROPOSALS.flatMap(parseIkeProposal);
  const encr: EncrAlgorithm[] = [];
  const prf: number[] = [];
  const integ: number[] = [];
  const ke: number[] = [];
  for (const w of words) {
    const e = ENCR_KEYWORDS.get(w);
    if (e !== undefined) pushUnique(encr, e, sameEncr);
    else if (PRF_KEYWORDS.has(w)) pushUnique(prf, PRF_KEYWORDS.get(w) as number);
    else if (INTEG_KEYWORDS.has(w)) pushUnique(integ, INTEG_KEYWORDS.get(w) as number);
    else if (KE_KEYWORDS.has(w)) pushUnique(ke, KE_KEYWORDS.get(w) as number);
    else if (w === 'esn' || w === 'noesn') throw new ProposalError(text, w, 'applies to ESP proposals only');
    else refuse(text, w);
  }
  if (encr.length === 0) throw new ProposalError(text, '', 'names no encryption algorithm (e.g. aes256gcm16)');
  if (ke.length === 0) throw new ProposalError(text, '', 'names no key exchange method (e.g. ecp256), required for IKE (RFC 7296 §3.3.3)');
  const hasClassic = encr.some((e) => !isAeadEncr(e.id));
  if (hasClassic && integ.length === 0) throw new ProposalError(text, '', 'pairs a non-AEAD cipher with no integrity algorithm (e.g. sha256)');
  if (prf.length === 0) {
    if (!hasClassic) throw new ProposalError(text, '', 'names no PRF (e.g. prfsha256); AEAD proposals need one (RFC 5282 §8)');
    for (const i of integ) {
      const p = PRF_FOR_INTEG.get(i);
      if (p !== undefined) pushUnique(prf, p);
    }
  }
  return [{ protocol: 'ike', encr, prf, integ: hasClassic ? integ : [], ke }];
}

/**
 * Parses one ESP proposal string ("aes256gcm16", "aes256-sha256",
 * "aes256gcm16-ecp256" with a PFS group, "-esn"/"-noesn").
 * @throws ProposalError naming the keyword at fault
 */
export function parseEspProposal(text: string): EspProposalSpec[] {
  const words = tokens(text);
  if (words.length === 1 && words[0] === 'default') return DEFAULT_ESP_PROPOSALS.flatMap(parseEspProposal);
  const encr: EncrAlgorithm[] = [];
  const integ: number[] = [];
  const ke: number[] = [];
  const esn: boolean[] = [];
  for (const w of words) {
    const e = ENCR_KEYWORDS.get(w);
    if (e !== undefined) pushUnique(encr, e, sameEncr);
    else if (INTEG_KEYWORDS.has(w)) pushUnique(integ, INTEG_KEYWORDS.get(w) as number);
    else if (KE_KEYWORDS.has(w)) pushUnique(ke, KE_KEYWORDS.get(w) as number);
    else if (w === 'esn') pushUnique(esn, true);
    else if (w === 'noesn') pushUnique(esn, false);
    else if (PRF_KEYWORDS.has(w)) throw new ProposalError(text, w, 'is a PRF; ESP proposals have none');
    else refuse(text, w);
  }
  if (encr.length === 0) throw new ProposalError(text, '', 'names no encryption algorithm (e.g. aes256gcm16)');
  const hasClassic = encr.some((e) => !isAeadEncr(e.id));
  if (hasClassic && integ.length === 0) throw new ProposalError(text, '', 'pairs a non-AEAD cipher with no integrity algorithm (e.g. sha256)');
  return [{ protocol: 'esp', encr, integ: hasClassic ? integ : [], ke, esn: esn.length === 0 ? [false] : esn }];
}

/** Parses a list of IKE proposal strings (a profile's `proposals.ike`); empty means our defaults. */
export function parseIkeProposals(texts: readonly string[]): IkeProposalSpec[] {
  return (texts.length === 0 ? DEFAULT_IKE_PROPOSALS : texts).flatMap(parseIkeProposal);
}

/** Parses a list of ESP proposal strings; empty means our defaults. */
export function parseEspProposals(texts: readonly string[]): EspProposalSpec[] {
  return (texts.length === 0 ? DEFAULT_ESP_PROPOSALS : texts).flatMap(parseEspProposal);
}

// ---------------------------------------------------------------- formatting

function encrWord(e: EncrAlgorithm): string {
  return formatEspSuite({ encr: e.id, encrKeyLength: e.keyLength, esn: false }).replace(/-noesn$/, '');
}

const lookupWord = (table: ReadonlyMap<string, number>, id: number): string => {
  for (const [word, value] of table) if (value === id) return word;
  return String(id);
};

/** Back to strongSwan syntax, e.g. "aes256gcm16-prfsha256-ecp256-x25519". */
export function formatProposalSpec(spec: ProposalSpec): string {
  const parts = spec.encr.map(encrWord);
  parts.push(...spec.integ.map((i) => lookupWord(INTEG_KEYWORDS, i)));
  if (spec.protocol === 'ike') parts.push(...spec.prf.map((p) => lookupWord(PRF_KEYWORDS, p)));
  parts.push(...spec.ke.map((k) => lookupWord(KE_KEYWORDS, k)));
  if (spec.protocol === 'esp' && (spec.esn.length !== 1 || spec.esn[0] !== false)) parts.push(...spec.esn.map((e) => (e ? 'esn' : 'noesn')));
  return parts.join('-');
}

/** Every KE group in the specs, in order of first appearance (our preference). */
export function offeredGroups(specs: readonly ProposalSpec[]): number[] {
  const out: number[] = [];
  for (const s of specs) for (const k of s.ke) pushUnique(out, k);
  return out;
}

// ---------------------------------------------------------------- SA payload

/** One proposal as we put it on the wire, with its strongSwan-style text for messages. */
export interface OfferedProposal {
  readonly number: number;
  readonly protocol: 'ike' | 'esp';
  readonly transforms: readonly Transform[];
  readonly text: string;
}

export interface SaOffer {
  readonly payload: SaPayload;
  readonly proposals: readonly OfferedProposal[];
}

const encrTransform = (e: EncrAlgorithm): Transform =>
  e.keyLength === undefined ? { type: TransformType.ENCR, id: e.id } : { type: TransformType.ENCR, id: e.id, keyLength: e.keyLength };

/** The AEAD part and the non-AEAD part of a spec, each a separate wire proposal (RFC 7296 §3.3). */
function splitByFamily<T extends ProposalSpec>(spec: T): T[] {
  const aead = spec.encr.filter((e) => isAeadEncr(e.id));
  const classic = spec.encr.filter((e) => !isAeadEncr(e.id));
  const out: T[] = [];
  if (aead.length > 0) out.push({ ...spec, encr: aead, integ: [] });
  if (classic.length > 0) out.push({ ...spec, encr: classic });
  return out;
}

function transformsOf(spec: ProposalSpec, includeKe: boolean): Transform[] {
  const t: Transform[] = spec.encr.map(encrTransform);
  if (spec.protocol === 'ike') t.push(...spec.prf.map((id) => ({ type: TransformType.PRF, id })));
  t.push(...spec.integ.map((id) => ({ type: TransformType.INTEG, id })));
  if (includeKe) t.push(...spec.ke.map((id) => ({ type: TransformType.KE, id })));
  if (spec.protocol === 'esp') t.push(...spec.esn.map((e) => ({ type: TransformType.ESN, id: e ? EsnId.ESN : EsnId.NO_ESN })));
  return t;
}

/**
 * Builds the SA payload for IKE_SA_INIT (IKE specs, no SPI) or for a CHILD_SA
 * (ESP specs with our 4-octet inbound SPI). `includeKe: false` drops the KE
 * transforms, as IKE_AUTH requires (RFC 7296 §1.2: "SA payloads in the
 * IKE_AUTH exchange cannot contain Transform Type 4 ... other than NONE";
 * we omit the transform as it recommends).
 */
export function toSaPayload(specs: readonly ProposalSpec[], opts: { spi?: Uint8Array; includeKe?: boolean } = {}): SaOffer {
  const proposals: OfferedProposal[] = [];
  const wire: Proposal[] = [];
  for (const spec of specs) {
    for (const part of splitByFamily(spec)) {
      const number = wire.length + 1;
      if (number > 255) throw new RangeError('more than 255 proposals');
      const includeKe = spec.protocol === 'ike' || opts.includeKe === true;
      const transforms = transformsOf(part, includeKe);
      const text = formatProposalSpec(includeKe ? part : { ...part, ke: [] });
      const protocol = spec.protocol === 'ike' ? ProtocolId.IKE : ProtocolId.ESP;
      const spi = spec.protocol === 'ike' ? new Uint8Array(0) : (opts.spi ?? new Uint8Array(0));
      if (spec.protocol === 'esp' && spi.length !== 4) throw new RangeError('an ESP proposal needs our 4-octet SPI');
      wire.push({ number, protocol, spi, transforms });
      proposals.push({ number, protocol: spec.protocol, transforms, text });
    }
  }
  if (wire.length === 0) throw new RangeError('no proposals to offer');
  return { payload: { type: PayloadType.SA, proposals: wire }, proposals };
}

// ---------------------------------------------------------------- the responder's choice

/** Exactly one transform per type, as chosen by the responder (RFC 7296 §3.3.6). */
export interface ChosenProposal {
  readonly number: number;
  readonly spi: Uint8Array;
  readonly encr: EncrAlgorithm;
  readonly prf?: number;
  readonly integ?: number;
  readonly ke?: number;
  readonly esn?: boolean;
  /** strongSwan-style text of the choice */
  readonly text: string;
}

export interface ProposalFailure {
  readonly code: Extract<FailureCode, 'PROPOSAL_MISMATCH'>;
  readonly message: string;
  readonly fields: { readonly offered: readonly string[]; readonly chosen: string };
}

export type ChosenResult = { readonly ok: true; readonly chosen: ChosenProposal } | { readonly ok: false; readonly failure: ProposalFailure };

function describeTransforms(ts: readonly Transform[]): string {
  return ts.map((t) => `${transformTypeName(t.type)}=${t.id}${t.keyLength === undefined ? '' : `/${t.keyLength}`}`).join(' ');
}

const sameTransform = (a: Transform, b: Transform): boolean => a.type === b.type && a.id === b.id && a.keyLength === b.keyLength;

/**
 * Verifies that the responder's SA payload holds exactly one proposal, with
 * the number of one of ours, the same protocol, and exactly one of our
 * transforms for each transform type that proposal offered and nothing else
 * (RFC 7296 §2.7: "the responder MUST accept a single proposal or reject
 * them all"; §3.3.6). Anything else is PROPOSAL_MISMATCH.
 */
export function checkChosen(offer: SaOffer, received: SaPayload): ChosenResult {
  const offeredTexts = offer.proposals.map((p) => p.text);
  const mismatch = (chosen: string, why: string): ChosenResult => ({
    ok: false,
    failure: {
      code: 'PROPOSAL_MISMATCH',
      message: `The gateway answered with algorithms we did not offer (${why}). We offered: ${offeredTexts.join(', ')}; it chose: ${chosen}.`,
      fields: { offered: offeredTexts, chosen },
    },
  });
  if (received.proposals.length !== 1) return mismatch(`${received.proposals.length} proposals`, 'a response must hold exactly one proposal');
  const p = received.proposals[0] as Proposal;
  const rawText = describeTransforms(p.transforms);
  const ours = offer.proposals.find((o) => o.number === p.number);
  if (ours === undefined) return mismatch(rawText, `proposal number ${p.number} is not one of ours`);
  const protocol = ours.protocol === 'ike' ? ProtocolId.IKE : ProtocolId.ESP;
  if (p.protocol !== protocol) return mismatch(rawText, `protocol ${p.protocol} instead of ${protocol}`);
  if (ours.protocol === 'ike' && p.spi.length !== 0) return mismatch(rawText, 'an SPI in an IKE_SA_INIT proposal');
  if (ours.protocol === 'esp') {
    if (p.spi.length !== 4) return mismatch(rawText, `an ESP SPI of ${p.spi.length} octets`);
    const spi = new DataView(p.spi.buffer, p.spi.byteOffset, 4).getUint32(0);
    // RFC 4303 §2.1: SPI values 1..255 are reserved by IANA and 0 is never an SA's SPI.
    if (spi < 256) return mismatch(rawText, `the reserved ESP SPI ${spi}`);
  }
  const picked = new Map<number, Transform>();
  for (const t of p.transforms) {
    if (picked.has(t.type)) return mismatch(rawText, `two ${transformTypeName(t.type)} transforms`);
    if ((t.otherAttributes?.length ?? 0) > 0) return mismatch(rawText, `${transformTypeName(t.type)} ${t.id} with attributes we did not send`);
    if (!ours.transforms.some((o) => sameTransform(o, t))) return mismatch(rawText, `${transformTypeName(t.type)} ${t.id}${t.keyLength === undefined ? '' : `/${t.keyLength}`} was not offered in proposal ${p.number}`);
    picked.set(t.type, t);
  }
  for (const type of new Set(ours.transforms.map((t) => t.type))) {
    if (!picked.has(type)) return mismatch(rawText, `no ${transformTypeName(type)} transform`);
  }
  const encr = picked.get(TransformType.ENCR) as Transform;
  const encrAlg: EncrAlgorithm = encr.keyLength === undefined ? { id: encr.id } : { id: encr.id, keyLength: encr.keyLength };
  const chosen: { -readonly [K in keyof ChosenProposal]: ChosenProposal[K] } = { number: p.number, spi: Uint8Array.from(p.spi), encr: encrAlg, text: '' };
  const prf = picked.get(TransformType.PRF);
  const integ = picked.get(TransformType.INTEG);
  const ke = picked.get(TransformType.KE);
  const esn = picked.get(TransformType.ESN);
  if (prf !== undefined) chosen.prf = prf.id;
  if (integ !== undefined && integ.id !== IntegId.NONE) chosen.integ = integ.id;
  if (ke !== undefined && ke.id !== KeId.NONE) chosen.ke = ke.id;
  if (esn !== undefined) chosen.esn = esn.id === EsnId.ESN;
  chosen.text =
    ours.protocol === 'ike' ? formatIkeSuite(toIkeSuiteUnchecked(chosen)) : formatEspSuite(toEspSuite(chosen));
  return { ok: true, chosen };
}

function toIkeSuiteUnchecked(c: ChosenProposal): IkeSuite {
  return { encr: c.encr.id, encrKeyLength: c.encr.keyLength, prf: c.prf ?? 0, integ: c.integ, ke: c.ke ?? 0 };
}

/** The IKE suite of a checked choice (checkChosen guarantees PRF and KE for IKE offers). */
export function toIkeSuite(c: ChosenProposal): IkeSuite {
  if (c.prf === undefined || c.ke === undefined) throw new RangeError('an IKE choice needs a PRF and a KE method');
  return toIkeSuiteUnchecked(c);
}

export function toEspSuite(c: ChosenProposal): EspSuite {
  const s: { -readonly [K in keyof EspSuite]: EspSuite[K] } = { encr: c.encr.id, esn: c.esn === true };
  if (c.encr.keyLength !== undefined) s.encrKeyLength = c.encr.keyLength;
  if (c.integ !== undefined) s.integ = c.integ;
  if (c.ke !== undefined) s.ke = c.ke;
  return s;
}
