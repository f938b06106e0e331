/**
 * IKE SA rekeying with CREATE_CHILD_SA (RFC 7296 §1.3.2, §2.18), both ways:
 *
 *   ours:      HDR, SK { SA(IKE, our new SPI), Ni, KEi }  -->
 *                                  <--  HDR, SK { SA(IKE, its new SPI), Nr, KEr }
 *              then INFORMATIONAL D(IKE) on the OLD IKE SA (its initiator deletes it)
 *   gateway's:   <--  HDR, SK { SA(IKE, its new SPI), Ni, KEi }
 *              HDR, SK { SA(IKE, our new SPI), Nr, KEr }  -->   the gateway deletes the old IKE SA
 *
 * SKEYSEED = prf(SK_d (old), g^ir (new) | Ni | Nr) with the old PRF, then the
 * keys as in §2.14 with the new SPIs (crypto/keymat.ts deriveRekeyedIkeKeys).
 * The initiator of the rekey is the "original initiator" of the new IKE SA
 * (§2.18): its SPI comes first and it uses SK_ei/SK_ai. CHILD_SAs move to the
 * new IKE SA unchanged; Message IDs start at 0 on it.
 *
 * Simultaneous rekeys (§2.8.2): both exchanges complete; the new IKE SA whose
 * exchange holds the lowest of the four nonces is redundant and is deleted by
 * its initiator; the initiator of the surviving one deletes the old IKE SA.
 */
import { KeId, NotifyType, PayloadType, ProtocolId, TransformType, notifyName } from '../constants.js';
import { ExchangeType } from '../constants.js';
import type { KePayload, NoncePayload, Payload, Proposal, SaPayload, Transform } from '../codec/types.js';
import { UnsupportedAlgorithmError } from '../crypto/errors.js';
import { createKeyExchange } from '../crypto/ke.js';
import type { KeyExchange } from '../crypto/ke.js';
import { deriveRekeyedIkeKeys } from '../crypto/keymat.js';
import { createPrf } from '../crypto/prf.js';
import { createSkCipher } from '../crypto/sk-cipher.js';
import { formatIkeSuite } from '../crypto/suite.js';
import type { IkeSuite } from '../crypto/suite.js';
import { checkChosen, toIkeSuite, toSaPayload } from '../proposals.js';
import type { SaOffer } from '../proposals.js';
import { compareNonces } from './child-rekey.js';
import { emit, hex } from './context.js';
import type { ExchangeContext, IkeSaKeys } from './context.js';
import { NONCE_LENGTH } from './ike-sa-init.js';
import { errorNotify, firstOf, notifies, notifyPayload } from './payloads.js';
import type { IncomingResponse, Task, TaskRequest, TaskResult } from './task.js';

/** Retry a failed IKE SA rekey this much later (the old IKE SA stays usable meanwhile). */
export const IKE_REKEY_RETRY_MS = 30_000;

/** A new IKE SA made by a rekey, ready for the session to adopt. */
export interface RekeyedIkeSa {
  readonly spiI: Uint8Array;
  readonly spiR: Uint8Array;
  readonly keys: IkeSaKeys;
  /** we initiated the rekey, so we are the original initiator of this IKE SA (I flag, SK_ei) */
  readonly weInitiated: boolean;
  readonly nonceI: Uint8Array;
  readonly nonceR: Uint8Array;
}

/**
 * When to rekey an IKE SA established now: the configured time minus up to
 * 10 % random jitter (RFC 7296 §2.8 "SHOULD be randomized"; charon's rand_time).
 */
export function ikeRekeyTime(ctx: ExchangeContext, seconds: number): number {
  const ms = seconds * 1000;
  const r = ctx.random(2);
  const jitter = (((r[0] as number) << 8) | (r[1] as number)) / 0xffff;
  return Math.round(ctx.now + ms - jitter * ms * 0.1);
}

/** A CREATE_CHILD_SA request that rekeys the IKE SA: an SA payload for protocol IKE, no REKEY_SA notify (§1.3.2). */
export function isIkeRekeyRequest(inner: readonly Payload[]): boolean {
  const sa = firstOf(inner, PayloadType.SA);
  return sa !== undefined && sa.proposals.length > 0 && sa.proposals.every((p) => p.protocol === ProtocolId.IKE) && !notifies(inner).some((n) => n.notifyType === NotifyType.REKEY_SA);
}

function deriveKeys(ctx: ExchangeContext, suite: IkeSuite, shared: Uint8Array, n: { nonceI: Uint8Array; nonceR: Uint8Array; spiI: Uint8Array; spiR: Uint8Array; weInitiated: boolean }): RekeyedIkeSa {
  const old = ctx.keys;
  if (old === undefined) throw new RangeError('IKE SA rekey without IKE keys');
  const prf = createPrf(suite.prf);
  const cipher = createSkCipher(suite.encr, suite.encrKeyLength, suite.integ);
  const k = deriveRekeyedIkeKeys({
    prf,
    oldPrf: old.prf,
    oldSkD: old.skD,
    sharedSecret: shared,
    nonceI: n.nonceI,
    nonceR: n.nonceR,
    spiI: n.spiI,
    spiR: n.spiR,
    encKeyLength: cipher.encKeyLength,
    integKeyLength: cipher.integKeyLength,
  });
  shared.fill(0);
  const integ = (key: Uint8Array): Uint8Array | undefined => (cipher.integKeyLength > 0 ? key : undefined);
  const i = { cipher, encKey: k.skEi, integKey: integ(k.skAi) };
  const r = { cipher, encKey: k.skEr, integKey: integ(k.skAr) };
  return {
    spiI: n.spiI,
    spiR: n.spiR,
    nonceI: n.nonceI,
    nonceR: n.nonceR,
    weInitiated: n.weInitiated,
    // §2.18: the rekey's initiator sends with SK_ei/SK_ai on the new IKE SA.
    keys: { suite, prf, skD: k.skD, skPi: k.skPi, skPr: k.skPr, outbound: n.weInitiated ? i : r, inbound: n.weInitiated ? r : i },
  };
}

const validSpi = (spi: Uint8Array): boolean => spi.length === 8 && spi.some((b) => b !== 0);

/** Our CREATE_CHILD_SA that replaces the IKE SA (§1.3.2). */
export class RekeyIkeSaTask implements Task {
  readonly name = 'ike_rekey';
  readonly exchange = ExchangeType.CREATE_CHILD_SA;
  readonly stage = 'rekeying' as const;
  readonly protected = true;
  readonly spi: Uint8Array;
  readonly nonce: Uint8Array;
  private readonly offer: SaOffer;
  private ke: KeyExchange;
  /** set by the session when the gateway rekeyed the IKE SA meanwhile (§2.8.2) */
  collision: RekeyedIkeSa | undefined;
  /** the new IKE SA, once done */
  result: RekeyedIkeSa | undefined;

  constructor(private readonly ctx: ExchangeContext) {
    this.spi = ctx.random(8);
    if (!validSpi(this.spi)) this.spi[7] = 1;
    this.nonce = ctx.random(NONCE_LENGTH);
    this.offer = toSaPayload(ctx.config.ikeProposals);
    // The IKE SA's current group first (charon does the same): the gateway chose it once already.
    const group = ctx.keys?.suite.ke ?? ctx.config.ikeProposals[0]?.ke[0] ?? KeId.ECP_256;
    this.ke = createKeyExchange(group);
  }

  build(): TaskRequest {
    const ctx = this.ctx;
    const sa: SaPayload = { ...this.offer.payload, proposals: this.offer.payload.proposals.map((p) => ({ ...p, spi: this.spi })) };
    emit(ctx, 'info', 'ike_sa.rekey_started', `rekeying IKE SA ${hex(ctx.spiI)}_i ${hex(ctx.spiR)}_r (KE ${this.ke.group})`, { spiI: hex(ctx.spiI), spiR: hex(ctx.spiR) });
    return { payloads: [sa, { type: PayloadType.NONCE, nonce: this.nonce } satisfies NoncePayload, { type: PayloadType.KE, group: this.ke.group, data: this.ke.publicValue } satisfies KePayload] };
  }

  process(r: IncomingResponse): TaskResult {
    const ctx = this.ctx;
    const p = r.payloads;
    const error = errorNotify(p);
    if (error !== undefined) {
      if (error.notifyType === NotifyType.INVALID_KE_PAYLOAD && error.data.length === 2) {
        const group = ((error.data[0] as number) << 8) | (error.data[1] as number);
        if (group !== this.ke.group && ctx.config.ikeProposals.some((s) => s.ke.includes(group))) {
          try {
            this.ke = createKeyExchange(group);
            emit(ctx, 'info', 'ike_sa.rekey_invalid_ke', `the gateway wants KE ${group} for the IKE SA rekey; retrying`, { group });
            return { kind: 'retry', reason: 'INVALID_KE_PAYLOAD' };
          } catch (e) {
            if (!(e instanceof UnsupportedAlgorithmError)) throw e;
          }
        }
      }
      return this.gaveUp(`the gateway refused with ${notifyName(error.notifyType)}`);
    }
    const sa = firstOf(p, PayloadType.SA);
    const nonce = firstOf(p, PayloadType.NONCE);
    const ke = firstOf(p, PayloadType.KE);
    if (sa === undefined || nonce === undefined || ke === undefined) return this.gaveUp('its response lacks SA, Nonce or KE');
    const theirs = sa.proposals[0];
    if (sa.proposals.length !== 1 || theirs === undefined || theirs.protocol !== ProtocolId.IKE || !validSpi(theirs.spi)) return this.gaveUp('its SA payload is not one IKE proposal with an 8-octet SPI');
    if (nonce.nonce.length < 16 || nonce.nonce.length > 256) return this.gaveUp(`its nonce has ${nonce.nonce.length} octets (§2.10: 16..256)`);
    // checkChosen knows IKE proposals from IKE_SA_INIT (no SPI); the new SPI is checked above.
    const chosen = checkChosen(this.offer, { ...sa, proposals: [{ ...theirs, spi: new Uint8Array(0) }] });
    if (!chosen.ok) return this.gaveUp(chosen.failure.message);
    const suite = toIkeSuite(chosen.chosen);
    if (suite.ke !== this.ke.group || ke.group !== this.ke.group) return this.gaveUp(`the KE payload (group ${ke.group}) does not match ours (${this.ke.group})`);
    let shared: Uint8Array;
    try {
      shared = this.ke.computeSharedSecret(ke.data);
    } catch (e) {
      return this.gaveUp(e instanceof Error ? e.message : String(e));
    }
    try {
      this.result = deriveKeys(ctx, suite, shared, { nonceI: this.nonce, nonceR: nonce.nonce, spiI: this.spi, spiR: Uint8Array.from(theirs.spi), weInitiated: true });
    } catch (e) {
      if (e instanceof UnsupportedAlgorithmError) return this.gaveUp(e.message);
      throw e;
    }
    emit(ctx, 'info', 'ike_sa.rekey_negotiated', `new IKE SA ${hex(this.spi)}_i ${hex(theirs.spi)}_r negotiated (${formatIkeSuite(suite)})`, { spiI: hex(this.spi), spiR: hex(theirs.spi), ike: formatIkeSuite(suite) });
    return { kind: 'done' };
  }

  private gaveUp(why: string): TaskResult {
    emit(this.ctx, 'warn', 'ike_sa.rekey_failed', `rekeying the IKE SA failed: ${why}; the current one stays, trying again in ${IKE_REKEY_RETRY_MS / 1000} s`, { reason: why });
    return { kind: 'done' };
  }
}

/**
 * §2.8.2: of two new IKE SAs from simultaneous rekeys, the one whose
 * exchange holds the lowest nonce is redundant. Returns true when OURS is.
 */
export function oursIsRedundant(ours: RekeyedIkeSa, theirs: RekeyedIkeSa): boolean {
  const low = (a: Uint8Array, b: Uint8Array): Uint8Array => (compareNonces(a, b) <= 0 ? a : b);
  return compareNonces(low(ours.nonceI, ours.nonceR), low(theirs.nonceI, theirs.nonceR)) < 0;
}

export interface PeerIkeRekeyOutcome {
  readonly response: readonly Payload[];
  readonly created?: RekeyedIkeSa;
}

/** Picks one of the gateway's IKE proposals that our profile offers (§2.7): one transform of each type, all ours. */
function pickIkeProposal(ctx: ExchangeContext, sa: SaPayload): { proposal: Proposal; offer: SaOffer } | undefined {
  const ours = toSaPayload(ctx.config.ikeProposals).payload.proposals;
  for (const theirs of sa.proposals) {
    if (theirs.protocol !== ProtocolId.IKE || !validSpi(theirs.spi)) continue;
    for (const mine of ours) {
      const types = [...new Set(mine.transforms.map((t) => t.type))];
      const choice: Transform[] = [];
      for (const type of types) {
        const t = theirs.transforms.find((x) => x.type === type && (x.otherAttributes?.length ?? 0) === 0 && mine.transforms.some((m) => m.type === x.type && m.id === x.id && m.keyLength === x.keyLength));
        if (t !== undefined) choice.push({ type: t.type, id: t.id, ...(t.keyLength === undefined ? {} : { keyLength: t.keyLength }) });
      }
      if (choice.length !== types.length || !choice.some((c) => c.type === TransformType.KE)) continue;
      // A one-proposal offer of exactly our choice lets checkChosen/toIkeSuite read it as in IKE_SA_INIT.
      const proposal: Proposal = { number: theirs.number, protocol: ProtocolId.IKE, spi: theirs.spi, transforms: choice };
      const offer: SaOffer = { payload: { type: PayloadType.SA, proposals: [{ ...proposal, spi: new Uint8Array(0) }] }, proposals: [{ number: theirs.number, protocol: 'ike', transforms: choice, text: '' }] };
      return { proposal, offer };
    }
  }
  return undefined;
}

/** Answers the gateway's CREATE_CHILD_SA that rekeys the IKE SA (§1.3.2); the session adopts `created`. */
export function answerIkeRekey(ctx: ExchangeContext, inner: readonly Payload[]): PeerIkeRekeyOutcome {
  const refuse = (notifyType: number, why: string, data?: Uint8Array): PeerIkeRekeyOutcome => {
    emit(ctx, 'warn', 'ike_sa.peer_rekey_refused', `refused the gateway's IKE SA rekey with ${notifyName(notifyType)}: ${why}`, { notify: notifyName(notifyType) });
    return { response: [notifyPayload(notifyType, data)] };
  };
  const sa = firstOf(inner, PayloadType.SA);
  const nonce = firstOf(inner, PayloadType.NONCE);
  const kei = firstOf(inner, PayloadType.KE);
  if (sa === undefined || nonce === undefined || kei === undefined) return refuse(NotifyType.INVALID_SYNTAX, 'SA, Nonce or KE is missing');
  if (nonce.nonce.length < 16 || nonce.nonce.length > 256) return refuse(NotifyType.INVALID_SYNTAX, `a nonce of ${nonce.nonce.length} octets (§2.10: 16..256)`);
  const picked = pickIkeProposal(ctx, sa);
  if (picked === undefined) return refuse(NotifyType.NO_PROPOSAL_CHOSEN, 'none of its IKE proposals is one we offer');
  const chosen = checkChosen(picked.offer, { ...sa, proposals: [{ ...picked.proposal, spi: new Uint8Array(0) }] });
  if (!chosen.ok) return refuse(NotifyType.NO_PROPOSAL_CHOSEN, chosen.failure.message);
  const suite = toIkeSuite(chosen.chosen);
  if (kei.group !== suite.ke) return refuse(NotifyType.INVALID_KE_PAYLOAD, `its KE payload is for group ${kei.group}, we want ${suite.ke}`, Uint8Array.of(suite.ke >> 8, suite.ke & 0xff));
  let shared: Uint8Array;
  let ke: KeyExchange;
  try {
    ke = createKeyExchange(suite.ke);
    shared = ke.computeSharedSecret(kei.data);
  } catch (e) {
    return refuse(NotifyType.INVALID_SYNTAX, e instanceof Error ? e.message : String(e));
  }
  let spiR = ctx.random(8);
  if (!validSpi(spiR)) spiR = Uint8Array.of(0, 0, 0, 0, 0, 0, 0, 1);
  const nonceR = ctx.random(NONCE_LENGTH);
  const created = deriveKeys(ctx, suite, shared, { nonceI: Uint8Array.from(nonce.nonce), nonceR, spiI: Uint8Array.from(picked.proposal.spi), spiR, weInitiated: false });
  emit(ctx, 'info', 'ike_sa.rekeyed_by_peer_negotiated', `the gateway rekeys the IKE SA: new IKE SA ${hex(created.spiI)}_i ${hex(spiR)}_r (${formatIkeSuite(suite)})`, { spiI: hex(created.spiI), spiR: hex(spiR), ike: formatIkeSuite(suite) });
  return {
    response: [
      { type: PayloadType.SA, proposals: [{ ...picked.proposal, spi: spiR }] } satisfies SaPayload,
      { type: PayloadType.NONCE, nonce: nonceR } satisfies NoncePayload,
      { type: PayloadType.KE, group: ke.group, data: ke.publicValue } satisfies KePayload,
    ],
    created,
  };
}
