/**
 * CHILD_SA rekeying with CREATE_CHILD_SA (RFC 7296 §1.3.3, §2.8), both
 * ways, make-before-break:
 *
 *   ours:     HDR, SK { N(REKEY_SA, our old inbound SPI), SA, Ni, [KEi], TSi, TSr }  -->
 *                                              <--  HDR, SK { SA, Nr, [KEr], TSi, TSr }
 *             install the new pair, then INFORMATIONAL D(ESP, old inbound SPI), then remove the old pair
 *   gateway's:  <--  HDR, SK { N(REKEY_SA, its old inbound SPI = our outbound), SA, Ni, [KEi], TSi, TSr }
 *             HDR, SK { SA, Nr, [KEr], TSi, TSr }  -->   install the new pair; the gateway deletes the old
 *
 * KEYMAT = prf+(SK_d, [g^ir (new)] | Ni | Nr) with the exchange's nonces;
 * the initiator→responder keys come first (§2.17), so when the gateway
 * initiated, its keys (our inbound) are first.
 *
 * Simultaneous rekeys of one CHILD_SA (§2.8.1): both exchanges complete;
 * of the two new SAs, the one whose exchange holds the lowest of the four
 * nonces is redundant and is deleted by its initiator; the initiator of the
 * surviving exchange deletes the old SA.
 */
import type { ChildSaSpec } from '../actions.js';
import { EsnId, ExchangeType, IntegId, KeId, NotifyType, PayloadType, ProtocolId, TransformType, notifyName } from '../constants.js';
import type { DeletePayload, KePayload, NoncePayload, NotifyPayload, Payload, SaPayload, TrafficSelector, Transform, TsPayload } from '../codec/types.js';
import { UnsupportedAlgorithmError } from '../crypto/errors.js';
import { createKeyExchange } from '../crypto/ke.js';
import type { KeyExchange } from '../crypto/ke.js';
import { deriveChildKeys } from '../crypto/keymat.js';
import { espKeyLengths } from '../crypto/suite.js';
import type { EspSuite } from '../crypto/suite.js';
import { checkChosen, toEspSuite, toSaPayload } from '../proposals.js';
import type { SaOffer } from '../proposals.js';
import { copySelector, formatTrafficSelector, isSubset } from '../traffic-selectors.js';
import { newChildSpi, rekeyTime } from './child-sa.js';
import { emit, fromU32, u32 } from './context.js';
import type { ChildSaRecord, ExchangeContext } from './context.js';
import { NONCE_LENGTH } from './ike-sa-init.js';
import { errorNotify, firstOf, notifies, notifyPayload } from './payloads.js';
import type { IncomingResponse, Task, TaskRequest, TaskResult } from './task.js';

/** Retry a failed rekey this much later (while the old SA lives on until its hard lifetime). */
export const REKEY_RETRY_MS = 10_000;

const hex32 = (spi: number): string => `0x${spi.toString(16).padStart(8, '0')}`;

/** memcmp order of two nonces (charon's chunk_compare), for §2.8.1. */
export function compareNonces(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return (a[i] as number) - (b[i] as number);
  return a.length - b.length;
}

const lowest = (x: Uint8Array, y: Uint8Array): Uint8Array => (compareNonces(x, y) <= 0 ? x : y);

interface NewChild {
  readonly inboundSpi: number;
  readonly outboundSpi: number;
  readonly suite: EspSuite;
  readonly nonceI: Uint8Array;
  readonly nonceR: Uint8Array;
  readonly sharedSecret?: Uint8Array;
  /** we initiated the exchange (our keys are the initiator's) */
  readonly weInitiated: boolean;
  readonly localTs: readonly TrafficSelector[];
  readonly remoteTs: readonly TrafficSelector[];
}

/** Derives the keys, records the new CHILD_SA and returns the spec to install. */
function createChild(ctx: ExchangeContext, n: NewChild): ChildSaSpec {
  const keys = ctx.keys;
  if (keys === undefined) throw new RangeError('CHILD_SA rekey without IKE keys');
  const lengths = espKeyLengths(n.suite);
  const km = deriveChildKeys({ prf: keys.prf, skD: keys.skD, nonceI: n.nonceI, nonceR: n.nonceR, ...(n.sharedSecret === undefined ? {} : { sharedSecret: n.sharedSecret }), ...lengths });
  const integ = (k: Uint8Array): { integKey?: Uint8Array } => (k.length > 0 ? { integKey: k } : {});
  // §2.17: initiator→responder first. Our inbound is the responder→initiator half when we initiated.
  const inbound = n.weInitiated ? { encKey: km.encR, ...integ(km.integR) } : { encKey: km.encI, ...integ(km.integI) };
  const outbound = n.weInitiated ? { encKey: km.encI, ...integ(km.integI) } : { encKey: km.encR, ...integ(km.integR) };
  const id = ctx.nextChildId++;
  const spec: ChildSaSpec = {
    id,
    local: { ...ctx.local },
    remote: { ...ctx.remote },
    algorithms: {
      encr: n.suite.encr,
      ...(n.suite.encrKeyLength === undefined ? {} : { encrKeyLength: n.suite.encrKeyLength }),
      ...(n.suite.integ === undefined ? {} : { integ: n.suite.integ }),
      esn: n.suite.esn,
    },
    inbound: { spi: n.inboundSpi, ...inbound },
    outbound: { spi: n.outboundSpi, ...outbound },
    localTs: n.localTs.map(copySelector),
    remoteTs: n.remoteTs.map(copySelector),
    encap: ctx.encapsulation ? { localPort: ctx.local.port, remotePort: ctx.remote.port } : null,
    lifetime: { ...ctx.config.childLifetime },
    replayWindow: ctx.config.replayWindow,
  };
  ctx.children.set(id, {
    id,
    inboundSpi: n.inboundSpi,
    outboundSpi: n.outboundSpi,
    suite: n.suite,
    localTs: spec.localTs,
    remoteTs: spec.remoteTs,
    rekeyAt: rekeyTime(ctx),
    phase: 'installed',
  });
  return spec;
}

function tsOf(ctx: ExchangeContext, old: ChildSaRecord): { local: readonly TrafficSelector[]; remote: readonly TrafficSelector[] } {
  return { local: old.localTs ?? ctx.config.trafficSelectors.local, remote: old.remoteTs ?? ctx.config.trafficSelectors.remote };
}

/** Our CREATE_CHILD_SA that replaces CHILD_SA `oldId` (§1.3.3). */
export class RekeyChildSaTask implements Task {
  readonly name = 'child_rekey';
  readonly exchange = ExchangeType.CREATE_CHILD_SA;
  readonly stage = 'rekeying' as const;
  readonly protected = true;
  readonly spi: number;
  readonly nonce: Uint8Array;
  private readonly offer: SaOffer;
  private ke: KeyExchange | undefined;
  /** set by the session when the gateway rekeyed the same CHILD_SA meanwhile (§2.8.1) */
  collision: { readonly nonceI: Uint8Array; readonly nonceR: Uint8Array; readonly childId: number } | undefined;
  /** the new CHILD_SA, once done; and whether it lost a collision */
  result: { readonly childId: number; readonly redundant: boolean } | undefined;

  constructor(
    private readonly ctx: ExchangeContext,
    readonly oldId: number,
  ) {
    this.spi = newChildSpi(ctx.random);
    this.nonce = ctx.random(NONCE_LENGTH);
    this.offer = toSaPayload(ctx.config.espProposals, { spi: fromU32(this.spi), includeKe: true });
    // PFS (§1.3.1): a KE payload when our first proposal asks for a group.
    const group = ctx.config.espProposals[0]?.ke[0];
    if (group !== undefined) this.ke = createKeyExchange(group);
  }

  build(): TaskRequest | { kind: 'failed'; failure: never } {
    const ctx = this.ctx;
    const old = ctx.children.get(this.oldId);
    if (old === undefined) throw new RangeError(`rekey of unknown CHILD_SA ${this.oldId}`);
    const ts = tsOf(ctx, old);
    const payloads: Payload[] = [
      { type: PayloadType.NOTIFY, protocol: ProtocolId.ESP, spi: fromU32(old.inboundSpi), notifyType: NotifyType.REKEY_SA, data: new Uint8Array(0) } satisfies NotifyPayload,
      this.offer.payload,
      { type: PayloadType.NONCE, nonce: this.nonce } satisfies NoncePayload,
    ];
    if (this.ke !== undefined) payloads.push({ type: PayloadType.KE, group: this.ke.group, data: this.ke.publicValue } satisfies KePayload);
    payloads.push({ type: PayloadType.TSi, selectors: ts.local } satisfies TsPayload, { type: PayloadType.TSr, selectors: ts.remote } satisfies TsPayload);
    emit(ctx, 'info', 'child_sa.rekey_started', `rekeying CHILD_SA ${this.oldId} (SPIs in ${hex32(old.inboundSpi)} out ${hex32(old.outboundSpi)})${this.ke === undefined ? '' : ` with PFS (KE ${this.ke.group})`}`, {
      child: this.oldId,
      pfs: this.ke !== undefined,
    });
    return { payloads };
  }

  process(r: IncomingResponse): TaskResult {
    const ctx = this.ctx;
    const p = r.payloads;
    const old = ctx.children.get(this.oldId);
    const error = errorNotify(p);
    if (error !== undefined) {
      if (error.notifyType === NotifyType.INVALID_KE_PAYLOAD && error.data.length >= 2) {
        const group = ((error.data[0] as number) << 8) | (error.data[1] as number);
        if (ctx.config.espProposals.some((s) => s.ke.includes(group)) && this.ke?.group !== group) {
          this.ke = createKeyExchange(group);
          emit(ctx, 'info', 'child_sa.rekey_invalid_ke', `the gateway wants KE ${group} for the rekey; retrying`, { group });
          return { kind: 'retry', reason: 'INVALID_KE_PAYLOAD' };
        }
      }
      this.gaveUp(`the gateway refused with ${notifyName(error.notifyType)}`, old);
      return { kind: 'done' };
    }
    const sa = firstOf(p, PayloadType.SA);
    const nonce = firstOf(p, PayloadType.NONCE);
    const tsi = firstOf(p, PayloadType.TSi);
    const tsr = firstOf(p, PayloadType.TSr);
    if (sa === undefined || nonce === undefined || tsi === undefined || tsr === undefined) {
      this.gaveUp('its response lacks SA, Nonce or TS', old);
      return { kind: 'done' };
    }
    const chosen = checkChosen(this.offer, sa);
    if (!chosen.ok) {
      this.gaveUp(chosen.failure.message, old);
      return { kind: 'done' };
    }
    const suite = toEspSuite(chosen.chosen);
    let shared: Uint8Array | undefined;
    if (suite.ke !== undefined) {
      const ker = firstOf(p, PayloadType.KE);
      if (this.ke === undefined || ker === undefined || ker.group !== suite.ke || this.ke.group !== suite.ke) {
        this.gaveUp('the KE payload does not match the chosen group', old);
        return { kind: 'done' };
      }
      try {
        shared = this.ke.computeSharedSecret(ker.data);
      } catch (e) {
        this.gaveUp(e instanceof Error ? e.message : String(e), old);
        return { kind: 'done' };
      }
    }
    let spec: ChildSaSpec;
    try {
      spec = createChild(ctx, {
        inboundSpi: this.spi,
        outboundSpi: u32(chosen.chosen.spi),
        suite,
        nonceI: this.nonce,
        nonceR: nonce.nonce,
        ...(shared === undefined ? {} : { sharedSecret: shared }),
        weInitiated: true,
        localTs: tsi.selectors,
        remoteTs: tsr.selectors,
      });
    } catch (e) {
      if (e instanceof UnsupportedAlgorithmError) {
        this.gaveUp(e.message, old);
        return { kind: 'done' };
      }
      throw e;
    }
    ctx.pending.push({ kind: 'installChildSa', sa: spec });
    let redundant = false;
    if (this.collision !== undefined) {
      // §2.8.1: the exchange holding the lowest nonce made the redundant SA.
      const ours = lowest(this.nonce, nonce.nonce);
      const theirs = lowest(this.collision.nonceI, this.collision.nonceR);
      redundant = compareNonces(ours, theirs) < 0;
      emit(ctx, 'info', 'child_sa.rekey_collision', `the gateway rekeyed CHILD_SA ${this.oldId} at the same time; ${redundant ? `our new CHILD_SA ${spec.id} is redundant and will be deleted` : `the gateway's CHILD_SA ${this.collision.childId} is redundant; we delete the old one`}`, {
        child: this.oldId,
        redundant: redundant ? spec.id : this.collision.childId,
      });
    }
    this.result = { childId: spec.id, redundant };
    emit(ctx, 'info', 'child_sa.rekeyed', `CHILD_SA ${this.oldId} rekeyed as CHILD_SA ${spec.id}: SPIs in ${hex32(spec.inbound.spi)} out ${hex32(spec.outbound.spi)}, ESP ${chosen.chosen.text}${shared === undefined ? '' : ' with PFS'}`, {
      child: spec.id,
      replaces: this.oldId,
      spiIn: hex32(spec.inbound.spi),
      spiOut: hex32(spec.outbound.spi),
      esp: chosen.chosen.text,
      pfs: shared !== undefined,
      localTs: spec.localTs.map(formatTrafficSelector),
      remoteTs: spec.remoteTs.map(formatTrafficSelector),
    });
    // Either we delete the old SA now (the session queues it), or the gateway's winning exchange does.
    if (old !== undefined) {
      old.phase = 'replaced';
      old.rekeyAt = undefined;
    }
    if (redundant) {
      const mine = ctx.children.get(spec.id);
      if (mine !== undefined) {
        mine.phase = 'replaced';
        mine.rekeyAt = undefined;
      }
    }
    return { kind: 'done' };
  }

  private gaveUp(why: string, old: ChildSaRecord | undefined): void {
    const ctx = this.ctx;
    emit(ctx, 'warn', 'child_sa.rekey_failed', `rekeying CHILD_SA ${this.oldId} failed: ${why}; trying again in ${REKEY_RETRY_MS / 1000} s`, { child: this.oldId, reason: why });
    if (old !== undefined && old.phase === 'rekeying') {
      old.phase = 'installed';
      old.rekeyAt = ctx.now + REKEY_RETRY_MS;
    }
  }
}

/** INFORMATIONAL D(ESP, our inbound SPI) for a CHILD_SA we replaced (§1.4.1); the pair is removed on the answer. */
export class DeleteChildSaTask implements Task {
  readonly name = 'child_delete';
  readonly exchange = ExchangeType.INFORMATIONAL;
  readonly protected = true;

  constructor(
    private readonly ctx: ExchangeContext,
    readonly childId: number,
  ) {}

  build(): TaskRequest {
    const child = this.ctx.children.get(this.childId);
    const spis = child === undefined ? [] : [fromU32(child.inboundSpi)];
    return { payloads: spis.length === 0 ? [] : [{ type: PayloadType.DELETE, protocol: ProtocolId.ESP, spis } satisfies DeletePayload] };
  }

  process(): TaskResult {
    const ctx = this.ctx;
    if (ctx.children.delete(this.childId)) {
      ctx.pending.push({ kind: 'removeChildSa', id: this.childId });
      emit(ctx, 'info', 'child_sa.deleted', `CHILD_SA ${this.childId} deleted after its rekey`, { child: this.childId });
    }
    return { kind: 'done' };
  }
}

export interface PeerRekeyOutcome {
  readonly response: readonly Payload[];
  /** the CHILD_SA the gateway rekeyed, and the new one, when it worked */
  readonly rekeyed?: { readonly oldId: number; readonly newId: number; readonly nonceI: Uint8Array; readonly nonceR: Uint8Array };
}

/**
 * Our choice from the gateway's ESP proposals (§2.7: we pick one proposal
 * and one transform of each type it holds): ENCR, INTEG and ESN must be
 * ones our profile offers; a KE transform (PFS) must be a group our
 * profile uses, for ESP or for IKE.
 */
export function pickPeerProposal(ctx: ExchangeContext, sa: SaPayload): { proposal: SaPayload['proposals'][number]; suite: EspSuite } | undefined {
  const ours = toSaPayload(ctx.config.espProposals, { spi: new Uint8Array(4), includeKe: true }).payload.proposals;
  const groups = new Set([...ctx.config.espProposals.flatMap((s) => s.ke), ...ctx.config.ikeProposals.flatMap((s) => s.ke)]);
  for (const theirs of sa.proposals) {
    if (theirs.protocol !== ProtocolId.ESP || theirs.spi.length !== 4) continue;
    for (const mine of ours) {
      const types = [...new Set(theirs.transforms.map((t) => t.type))];
      const choice: Transform[] = [];
      for (const type of types) {
        const t = theirs.transforms.find((x) =>
          x.type === type &&
          (type === TransformType.KE ? x.id === KeId.NONE || groups.has(x.id) : mine.transforms.some((m) => m.type === x.type && m.id === x.id && m.keyLength === x.keyLength)),
        );
        if (t !== undefined) choice.push({ type: t.type, id: t.id, ...(t.keyLength === undefined ? {} : { keyLength: t.keyLength }) });
      }
      if (choice.length !== types.length) continue;
      // Every non-KE type we require must be in their proposal too (e.g. INTEG for CBC).
      if (mine.transforms.some((m) => m.type !== TransformType.KE && !types.includes(m.type))) continue;
      const get = (type: number): Transform | undefined => choice.find((c) => c.type === type);
      const encr = get(TransformType.ENCR) as Transform;
      const integ = get(TransformType.INTEG);
      const ke = get(TransformType.KE);
      const suite: { -readonly [K in keyof EspSuite]: EspSuite[K] } = { encr: encr.id, esn: get(TransformType.ESN)?.id === EsnId.ESN };
      if (encr.keyLength !== undefined) suite.encrKeyLength = encr.keyLength;
      if (integ !== undefined && integ.id !== IntegId.NONE) suite.integ = integ.id;
      if (ke !== undefined && ke.id !== KeId.NONE) suite.ke = ke.id;
      return { proposal: { number: theirs.number, protocol: ProtocolId.ESP, spi: theirs.spi, transforms: choice }, suite };
    }
  }
  return undefined;
}

/**
 * Answers the gateway's CREATE_CHILD_SA (§1.3). A rekey of one of our
 * CHILD_SAs is served; a new CHILD_SA or an IKE SA rekey is refused with
 * NO_ADDITIONAL_SAS (§1.3), which leaves everything intact.
 */
export function answerCreateChildSa(ctx: ExchangeContext, inner: readonly Payload[]): PeerRekeyOutcome {
  const refuse = (notifyType: number, why: string): PeerRekeyOutcome => {
    emit(ctx, 'warn', 'request.refused', `refused the gateway's CREATE_CHILD_SA with ${notifyName(notifyType)}: ${why}`, { exchange: 'CREATE_CHILD_SA', notify: notifyName(notifyType) });
    return { response: [notifyPayload(notifyType)] };
  };
  const rekey = notifies(inner).find((n) => n.notifyType === NotifyType.REKEY_SA);
  const sa = firstOf(inner, PayloadType.SA);
  const nonce = firstOf(inner, PayloadType.NONCE);
  const tsi = firstOf(inner, PayloadType.TSi);
  const tsr = firstOf(inner, PayloadType.TSr);
  if (rekey === undefined || rekey.protocol !== ProtocolId.ESP) return refuse(NotifyType.NO_ADDITIONAL_SAS, 'it is not a CHILD_SA rekey (additional SAs and IKE SA rekeys are not served here)');
  if (sa === undefined || nonce === undefined || tsi === undefined || tsr === undefined || rekey.spi.length !== 4) return refuse(NotifyType.INVALID_SYNTAX, 'SA, Nonce, TS or the REKEY_SA SPI is missing');
  // §1.3.3: the SPI the gateway expects inbound, i.e. our outbound SPI.
  const spi = u32(rekey.spi);
  const old = [...ctx.children.values()].find((c) => c.outboundSpi === spi);
  if (old === undefined) return { response: [{ type: PayloadType.NOTIFY, protocol: ProtocolId.ESP, spi: rekey.spi, notifyType: NotifyType.CHILD_SA_NOT_FOUND, data: new Uint8Array(0) } satisfies NotifyPayload] };
  // §2.25: a CHILD_SA we are already deleting is not rekeyed again.
  if (old.phase === 'replaced') return refuse(NotifyType.TEMPORARY_FAILURE, `CHILD_SA ${old.id} is being replaced already`);
  const picked = pickPeerProposal(ctx, sa);
  if (picked === undefined) return refuse(NotifyType.NO_PROPOSAL_CHOSEN, 'none of its ESP proposals is one we offer');
  // Selectors: the gateway's must lie within ours for this CHILD_SA (we are the responder: TSi is the gateway's side).
  // §2.9: as the responder we narrow: the CHILD_SA's own selectors that lie within what the gateway proposed
  // (charon proposes its configured ones, e.g. an IPv6 network this CHILD_SA never carried).
  const ts = tsOf(ctx, old);
  const narrow = (allowed: readonly TrafficSelector[], proposed: readonly TrafficSelector[]): TrafficSelector[] => allowed.filter((a) => proposed.some((g) => isSubset(a, g)));
  const gatewaySide = narrow(ts.remote, tsi.selectors);
  const ourSide = narrow(ts.local, tsr.selectors);
  if (gatewaySide.length === 0 || ourSide.length === 0) return refuse(NotifyType.TS_UNACCEPTABLE, 'its traffic selectors do not cover those of the CHILD_SA');
  let shared: Uint8Array | undefined;
  let kePayload: KePayload | undefined;
  if (picked.suite.ke !== undefined) {
    const kei = firstOf(inner, PayloadType.KE);
    if (kei === undefined || kei.group !== picked.suite.ke) {
      const data = Uint8Array.of(picked.suite.ke >> 8, picked.suite.ke & 0xff);
      emit(ctx, 'info', 'child_sa.peer_rekey_invalid_ke', `asked the gateway for KE ${picked.suite.ke} in its rekey`);
      return { response: [notifyPayload(NotifyType.INVALID_KE_PAYLOAD, data)] };
    }
    try {
      const ke = createKeyExchange(picked.suite.ke);
      shared = ke.computeSharedSecret(kei.data);
      kePayload = { type: PayloadType.KE, group: ke.group, data: ke.publicValue };
    } catch (e) {
      return refuse(NotifyType.INVALID_SYNTAX, e instanceof Error ? e.message : String(e));
    }
  }
  const ourSpi = newChildSpi(ctx.random);
  const nonceR = ctx.random(NONCE_LENGTH);
  const spec = createChild(ctx, {
    inboundSpi: ourSpi,
    outboundSpi: u32(picked.proposal.spi),
    suite: picked.suite,
    nonceI: nonce.nonce,
    nonceR,
    ...(shared === undefined ? {} : { sharedSecret: shared }),
    weInitiated: false,
    // as the responder our local selectors are the gateway's TSr
    localTs: ourSide,
    remoteTs: gatewaySide,
  });
  // §2.8: the gateway installs the new inbound SA only when it has our response; until its
  // DELETE of the old pair we keep sending on the old one (charon's responder does the same).
  ctx.pending.push({ kind: 'installChildSa', sa: spec, deferOutbound: true });
  emit(ctx, 'info', 'child_sa.rekeyed_by_peer', `the gateway rekeyed CHILD_SA ${old.id} as CHILD_SA ${spec.id}: SPIs in ${hex32(spec.inbound.spi)} out ${hex32(spec.outbound.spi)}`, {
    child: spec.id,
    replaces: old.id,
    spiIn: hex32(spec.inbound.spi),
    spiOut: hex32(spec.outbound.spi),
    pfs: shared !== undefined,
  });
  // The gateway, as the rekey's initiator, deletes the old SA (§2.8); we stop rekeying it ourselves.
  if (old.phase !== 'rekeying') {
    old.phase = 'replaced';
    old.rekeyAt = undefined;
  }
  const response: Payload[] = [
    { type: PayloadType.SA, proposals: [{ ...picked.proposal, spi: fromU32(ourSpi) }] } satisfies SaPayload,
    { type: PayloadType.NONCE, nonce: nonceR } satisfies NoncePayload,
  ];
  if (kePayload !== undefined) response.push(kePayload);
  response.push({ type: PayloadType.TSi, selectors: gatewaySide.map(copySelector) } satisfies TsPayload, { type: PayloadType.TSr, selectors: ourSide.map(copySelector) } satisfies TsPayload);
  return { response, rekeyed: { oldId: old.id, newId: spec.id, nonceI: nonce.nonce, nonceR } };
}
