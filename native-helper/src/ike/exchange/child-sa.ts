/**
 * The CHILD_SA created with IKE_AUTH (RFC 7296 §1.2, §2.17): our SA offer
 * with our inbound SPI, the check of the gateway's choice and narrowed
 * selectors, and the keys, as a ChildSaSpec the daemon installs.
 */
import type { ChildSaSpec } from '../actions.js';
import { PayloadType } from '../constants.js';
import type { Payload, TrafficSelector } from '../codec/types.js';
import { UnsupportedAlgorithmError } from '../crypto/errors.js';
import { deriveChildKeys } from '../crypto/keymat.js';
import { espKeyLengths } from '../crypto/suite.js';
import { makeFailure } from '../failures.js';
import { checkChosen, toEspSuite, toSaPayload } from '../proposals.js';
import type { SaOffer } from '../proposals.js';
import { checkNarrowed, copySelector, formatTrafficSelector } from '../traffic-selectors.js';
import { emit, fromU32, u32 } from './context.js';
import type { ExchangeContext } from './context.js';
import { firstOf } from './payloads.js';
import type { TaskFailure } from './task.js';

/**
 * When to rekey a CHILD_SA installed now: at the soft lifetime minus up to
 * 10 % random jitter (charon's rand_time), so that the two ends, and many
 * clients of one gateway, do not all rekey at the same instant (RFC 7296
 * §2.8: "the SA lifetime ... SHOULD be randomized").
 */
export function rekeyTime(ctx: ExchangeContext): number {
  const softMs = ctx.config.childLifetime.soft * 1000;
  const r = ctx.random(2);
  const jitter = (((r[0] as number) << 8) | (r[1] as number)) / 0xffff;
  return Math.round(ctx.now + softMs - jitter * softMs * 0.1);
}

/**
 * A fresh inbound SPI. RFC 4303 §2.1 reserves 1..255 and 0; charon's kernel
 * range is 0xc0000000..0xcfffffff, and we keep to it so SPIs are recognisable.
 */
export function newChildSpi(random: (n: number) => Uint8Array): number {
  const r = random(4);
  return (0xc0000000 | (u32(r) & 0x0fffffff)) >>> 0;
}

export interface ChildOffer {
  readonly spi: number;
  readonly offer: SaOffer;
}

export function childOffer(ctx: ExchangeContext): ChildOffer {
  const spi = newChildSpi(ctx.random);
  return { spi, offer: toSaPayload(ctx.config.espProposals, { spi: fromU32(spi), includeKe: false }) };
}

const fail = (code: Parameters<typeof makeFailure>[0], message: string, fields?: Parameters<typeof makeFailure>[2]): TaskFailure => ({
  kind: 'failed',
  failure: makeFailure(code, message, fields),
  ikeSaExists: true,
});

/**
 * Reads SA, TSi and TSr of the IKE_AUTH response and derives the keys.
 * Returns the spec to install, or a failure naming the mismatch.
 */
export function completeChildSa(ctx: ExchangeContext, offer: ChildOffer, payloads: readonly Payload[]): ChildSaSpec | TaskFailure {
  const keys = ctx.keys;
  if (keys === undefined || ctx.nonceR === undefined) throw new RangeError('CHILD_SA before the IKE SA has keys');
  const sa = firstOf(payloads, PayloadType.SA);
  const tsi = firstOf(payloads, PayloadType.TSi);
  const tsr = firstOf(payloads, PayloadType.TSr);
  if (sa === undefined || tsi === undefined || tsr === undefined) {
    const missing = [sa === undefined ? 'SA' : '', tsi === undefined ? 'TSi' : '', tsr === undefined ? 'TSr' : ''].filter(Boolean).join(', ');
    return fail('CHILD_SA_FAILED', `The gateway authenticated but created no tunnel: its IKE_AUTH response lacks ${missing}.`, { missing });
  }
  const chosen = checkChosen(offer.offer, sa);
  if (!chosen.ok) return { kind: 'failed', failure: chosen.failure, ikeSaExists: true };
  const suite = toEspSuite(chosen.chosen);
  const requested = ctx.config.trafficSelectors;
  for (const [side, asked, got] of [
    ['local (TSi)', requested.local, tsi.selectors],
    ['remote (TSr)', requested.remote, tsr.selectors],
  ] as const) {
    const narrowed = checkNarrowed(asked, got);
    if (!narrowed.ok) {
      const offending = formatTrafficSelector(narrowed.offending);
      return fail(
        'TS_UNACCEPTABLE',
        `The gateway returned ${side} traffic selector ${offending}, which is not within what we asked for (${asked.map(formatTrafficSelector).join(', ')}); RFC 7296 §2.9 lets it only narrow.`,
        { side, returned: got.map(formatTrafficSelector), requested: asked.map(formatTrafficSelector) },
      );
    }
  }
  let lengths: { encKeyLength: number; integKeyLength: number };
  try {
    lengths = espKeyLengths(suite);
  } catch (e) {
    if (e instanceof UnsupportedAlgorithmError) return fail('PROFILE_INVALID', `We offered an ESP algorithm we cannot key: ${e.message}.`);
    throw e;
  }
  // RFC 7296 §2.17: KEYMAT = prf+(SK_d, Ni | Nr); initiator→responder keys first.
  const km = deriveChildKeys({ prf: keys.prf, skD: keys.skD, nonceI: ctx.nonceI, nonceR: ctx.nonceR, ...lengths });
  const outboundSpi = u32(chosen.chosen.spi);
  const id = ctx.nextChildId++;
  const integ = (k: Uint8Array): { integKey?: Uint8Array } => (k.length > 0 ? { integKey: k } : {});
  const localTs: TrafficSelector[] = tsi.selectors.map(copySelector);
  const remoteTs: TrafficSelector[] = tsr.selectors.map(copySelector);
  const spec: ChildSaSpec = {
    id,
    local: { ...ctx.local },
    remote: { ...ctx.remote },
    algorithms: {
      encr: suite.encr,
      ...(suite.encrKeyLength === undefined ? {} : { encrKeyLength: suite.encrKeyLength }),
      ...(suite.integ === undefined ? {} : { integ: suite.integ }),
      esn: suite.esn,
    },
    inbound: { spi: offer.spi, encKey: km.encR, ...integ(km.integR) },
    outbound: { spi: outboundSpi, encKey: km.encI, ...integ(km.integI) },
    localTs,
    remoteTs,
    encap: ctx.encapsulation ? { localPort: ctx.local.port, remotePort: ctx.remote.port } : null,
    lifetime: { ...ctx.config.childLifetime },
    replayWindow: ctx.config.replayWindow,
  };
  ctx.children.set(id, { id, inboundSpi: offer.spi, outboundSpi, suite, localTs, remoteTs, rekeyAt: rekeyTime(ctx), phase: 'installed' });
  emit(ctx, 'info', 'child_sa.proposal_chosen', `the gateway chose ESP ${chosen.chosen.text}`, {
    chosen: chosen.chosen.text,
    offered: offer.offer.proposals.map((p) => p.text),
  });
  emit(
    ctx,
    'info',
    'child_sa.established',
    `CHILD_SA ${id} established: SPIs in 0x${offer.spi.toString(16)} out 0x${outboundSpi.toString(16)}, ${localTs.map(formatTrafficSelector).join(' ')} === ${remoteTs.map(formatTrafficSelector).join(' ')}${spec.encap ? ', UDP-encapsulated' : ''}`,
    {
      child: id,
      spiIn: `0x${offer.spi.toString(16).padStart(8, '0')}`,
      spiOut: `0x${outboundSpi.toString(16).padStart(8, '0')}`,
      localTs: localTs.map(formatTrafficSelector),
      remoteTs: remoteTs.map(formatTrafficSelector),
      encapsulation: spec.encap !== null,
    },
  );
  return spec;
}
