/**
 * IKE_SA_INIT, initiator side (RFC 7296 §1.2), with NAT detection (§2.23),
 * the COOKIE (§2.6) and INVALID_KE_PAYLOAD (§1.2) retries, and the feature
 * notifies we announce: IKEV2_FRAGMENTATION_SUPPORTED (RFC 7383 §2.3) and
 * SIGNATURE_HASH_ALGORITHMS (RFC 7427 §4).
 *
 *   HDR, [N(COOKIE)], SAi1, KEi, Ni, N(NATD_S), N(NATD_D), N(FRAG_SUP), N(HASH_ALG) -->
 *                            <--  HDR, SAr1, KEr, Nr, [CERTREQ], N(NATD_S), N(NATD_D), ...
 */
import { ExchangeType, NotifyType, PayloadType, keName } from '../constants.js';
import type { KePayload, NoncePayload, Payload } from '../codec/types.js';
import { createKeyExchange } from '../crypto/ke.js';
import type { KeyExchange } from '../crypto/ke.js';
import { KeyExchangeError, UnsupportedAlgorithmError } from '../crypto/errors.js';
import { deriveIkeKeys } from '../crypto/keymat.js';
import { createPrf } from '../crypto/prf.js';
import type { Prf } from '../crypto/prf.js';
import { createSkCipher } from '../crypto/sk-cipher.js';
import type { SkCipher } from '../crypto/sk-cipher.js';
import { SUPPORTED_HASH_ALGORITHMS } from '../crypto/signature-auth.js';
import { checkChosen, offeredGroups, toIkeSuite, toSaPayload } from '../proposals.js';
import type { SaOffer } from '../proposals.js';
import { failureFromNotify, makeFailure } from '../failures.js';
import { emit, hex } from './context.js';
import type { ExchangeContext } from './context.js';
import { detectNat, natDetectionNotifies } from './nat-detection.js';
import { errorNotify, findNotify, firstOf, hashAlgorithmsNotify, notifies, notifyPayload, payloadsOf, readU16List } from './payloads.js';
import { failureContext } from './failure-context.js';
import type { IncomingResponse, Task, TaskFailure, TaskRequest, TaskResult } from './task.js';

/** RFC 7296 §2.10: "Nonces used in IKEv2 MUST be randomly chosen, MUST be at least 128 bits"; half the PRF key size at least. 32 octets serve SHA-512. */
export const NONCE_LENGTH = 32;
/** How often we follow INVALID_KE_PAYLOAD before giving up (a loop is a broken or hostile gateway). */
const MAX_KE_RETRIES = 2;

/**
 * COOKIE back-off. RFC 7296 §2.6 says the initiator retries with the cookie
 * and leaves how often, and how soon, to us. The first cookie is answered at
 * once: that is the normal case (a loaded responder) and costs one round trip.
 * A gateway that asks again refused the cookie we sent, and it will go on
 * doing so for a while: strongSwan right after a restart rejects every cookie
 * as expired for up to ~10 s (its cookie clock starts near zero), and a
 * responder under attack rotates its secret. Answering at once would only
 * burn our rounds in milliseconds, so later rounds wait 250 ms, doubling to
 * a 2 s ceiling (an ended window costs us at most 2 s), until the rounds
 * have lasted COOKIE_BUDGET_MS: below the supervisor's 30 s connect timeout,
 * which still leaves time for IKE_AUTH. A hostile loop costs one small
 * datagram per 2 s at most.
 */
export const COOKIE_BACKOFF = { firstMs: 250, maxMs: 2000, budgetMs: 20_000 } as const;

/** The pause before answering COOKIE round `round` (1 = the first cookie). */
export function cookieDelayMs(round: number): number {
  if (round <= 1) return 0;
  return Math.min(COOKIE_BACKOFF.maxMs, COOKIE_BACKOFF.firstMs * 2 ** (round - 2));
}

const failed = (failure: TaskFailure['failure']): TaskFailure => ({ kind: 'failed', failure });

export class IkeSaInitTask implements Task {
  readonly name = 'ike_sa_init';
  readonly exchange = ExchangeType.IKE_SA_INIT;
  readonly stage = 'ike_sa_init' as const;
  readonly protected = false;
  private readonly offer: SaOffer;
  private readonly groups: readonly number[];
  private ke: KeyExchange | undefined;
  private cookie: Uint8Array | undefined;
  private cookieRetries = 0;
  /** when the first COOKIE arrived (the back-off's budget runs from there) */
  private cookieSince: number | undefined;
  private keRetries = 0;

  constructor(private readonly ctx: ExchangeContext) {
    this.offer = toSaPayload(ctx.config.ikeProposals);
    this.groups = offeredGroups(ctx.config.ikeProposals);
  }

  get offeredProposals(): readonly string[] {
    return this.offer.proposals.map((p) => p.text);
  }

  build(): TaskRequest | TaskFailure {
    const ctx = this.ctx;
    if (this.ke === undefined) {
      const group = this.groups[0];
      if (group === undefined) return failed(makeFailure('PROFILE_INVALID', 'The profile offers no key exchange method.'));
      try {
        this.ke = createKeyExchange(group);
      } catch (e) {
        if (e instanceof UnsupportedAlgorithmError) return failed(makeFailure('PROFILE_INVALID', `The profile's first key exchange method cannot be used: ${e.message}.`));
        throw e;
      }
      emit(ctx, 'info', 'ike_sa_init.proposals_offered', `offering IKE proposals: ${this.offeredProposals.join(', ')}; KE ${keName(group)}`, {
        offered: this.offeredProposals,
        keGroup: keName(this.ke.group),
      });
    }
    const payloads: Payload[] = [];
    // RFC 7296 §2.6: the COOKIE notify comes first, "before the SA payload".
    if (this.cookie !== undefined) payloads.push(notifyPayload(NotifyType.COOKIE, this.cookie));
    payloads.push(this.offer.payload);
    payloads.push({ type: PayloadType.KE, group: this.ke.group, data: this.ke.publicValue } satisfies KePayload);
    payloads.push({ type: PayloadType.NONCE, nonce: ctx.nonceI } satisfies NoncePayload);
    const fake = ctx.config.forceEncapsulation ? ctx.random(20) : undefined;
    payloads.push(...natDetectionNotifies(ctx.spiI, ctx.local, ctx.remote, fake));
    if (ctx.config.fragmentation) payloads.push(notifyPayload(NotifyType.IKEV2_FRAGMENTATION_SUPPORTED));
    payloads.push(hashAlgorithmsNotify(SUPPORTED_HASH_ALGORITHMS));
    return { payloads };
  }

  sent(datagrams: readonly Uint8Array[]): void {
    // RealMessage1 of RFC 7296 §2.15: the request exactly as it went out (with the cookie, after a retry).
    this.ctx.initRequest = datagrams[0];
  }

  process(r: IncomingResponse): TaskResult {
    const ctx = this.ctx;
    const p = r.payloads;
    const error = errorNotify(p);
    if (error !== undefined) {
      if (error.notifyType === NotifyType.INVALID_KE_PAYLOAD) return this.invalidKe(error.data);
      return failed(failureFromNotify(error.notifyType, error.data, failureContext(ctx, 'IKE_SA_INIT', this.offeredProposals)));
    }
    const cookie = findNotify(p, NotifyType.COOKIE);
    if (cookie !== undefined && firstOf(p, PayloadType.SA) === undefined) {
      this.cookieSince ??= ctx.now;
      const delayMs = cookieDelayMs(this.cookieRetries + 1);
      const spentMs = ctx.now - this.cookieSince;
      if (spentMs + delayMs > COOKIE_BACKOFF.budgetMs) {
        return failed(
          makeFailure('PROTOCOL_ERROR', `The gateway kept asking for a COOKIE (${this.cookieRetries + 1} times over ${(spentMs / 1000).toFixed(1)} s) and refused every one we sent back; giving up.`, {
            cookieRounds: this.cookieRetries + 1,
            cookieMs: spentMs,
          }),
        );
      }
      this.cookieRetries++;
      this.cookie = Uint8Array.from(cookie.data);
      emit(ctx, this.cookieRetries > 1 ? 'warn' : 'info', 'ike_sa_init.cookie', `the gateway asked for a COOKIE (RFC 7296 §2.6): retrying with it${delayMs > 0 ? ` in ${delayMs} ms (it refused the last one)` : ''}`, { retry: this.cookieRetries, delayMs });
      return { kind: 'retry', reason: 'COOKIE', ...(delayMs > 0 ? { delayMs } : {}) };
    }
    const sa = firstOf(p, PayloadType.SA);
    const ke = firstOf(p, PayloadType.KE);
    const nonce = firstOf(p, PayloadType.NONCE);
    if (sa === undefined || ke === undefined || nonce === undefined) {
      const missing = [sa === undefined ? 'SA' : '', ke === undefined ? 'KE' : '', nonce === undefined ? 'Nonce' : ''].filter(Boolean).join(', ');
      return failed(makeFailure('PROTOCOL_ERROR', `The gateway's IKE_SA_INIT response lacks ${missing}.`, { missing }));
    }
    if (r.header.spiR.every((b) => b === 0)) return failed(makeFailure('PROTOCOL_ERROR', "The gateway's IKE_SA_INIT response has a zero responder SPI."));
    const chosen = checkChosen(this.offer, sa);
    if (!chosen.ok) return failed(chosen.failure);
    const suite = toIkeSuite(chosen.chosen);
    const ours = this.ke as KeyExchange;
    if (suite.ke !== ours.group || ke.group !== ours.group) {
      return failed(
        makeFailure(
          'PROPOSAL_MISMATCH',
          `The gateway chose key exchange ${keName(suite.ke)} and sent a KE payload for ${keName(ke.group)}, but our KE payload was for ${keName(ours.group)}; it should have answered INVALID_KE_PAYLOAD (RFC 7296 §1.2).`,
          { chosen: chosen.chosen.text, ourGroup: keName(ours.group) },
        ),
      );
    }
    let sharedSecret: Uint8Array;
    try {
      sharedSecret = ours.computeSharedSecret(ke.data);
    } catch (e) {
      if (e instanceof KeyExchangeError) return failed(makeFailure('PROTOCOL_ERROR', `The gateway's key exchange value is invalid: ${e.message}.`, { group: e.groupName }));
      throw e;
    }
    let prf: Prf;
    let cipher: SkCipher;
    try {
      prf = createPrf(suite.prf);
      cipher = createSkCipher(suite.encr, suite.encrKeyLength, suite.integ);
    } catch (e) {
      // Only reachable with hand-built proposal specs: parseIkeProposal yields what crypto/ implements.
      if (e instanceof UnsupportedAlgorithmError) return failed(makeFailure('PROFILE_INVALID', `We offered an algorithm we cannot run: ${e.message}.`));
      throw e;
    }
    ctx.spiR = Uint8Array.from(r.header.spiR);
    ctx.nonceR = Uint8Array.from((nonce as NoncePayload).nonce);
    ctx.initResponse = Uint8Array.from(r.datagram);
    const k = deriveIkeKeys({
      prf,
      nonceI: ctx.nonceI,
      nonceR: ctx.nonceR,
      sharedSecret,
      spiI: ctx.spiI,
      spiR: ctx.spiR,
      encKeyLength: cipher.encKeyLength,
      integKeyLength: cipher.integKeyLength,
    });
    sharedSecret.fill(0);
    const integ = (key: Uint8Array): Uint8Array | undefined => (cipher.integKeyLength > 0 ? key : undefined);
    ctx.keys = {
      suite,
      prf,
      skD: k.skD,
      skPi: k.skPi,
      skPr: k.skPr,
      outbound: { cipher, encKey: k.skEi, integKey: integ(k.skAi) },
      inbound: { cipher, encKey: k.skEr, integKey: integ(k.skAr) },
    };
    emit(ctx, 'info', 'ike_sa_init.proposal_chosen', `the gateway chose IKE ${chosen.chosen.text}`, {
      chosen: chosen.chosen.text,
      spiI: hex(ctx.spiI),
      spiR: hex(ctx.spiR),
    });
    this.readFeatures(p);
    this.readNat(p);
    return { kind: 'done' };
  }

  private invalidKe(data: Uint8Array): TaskResult {
    const ctx = this.ctx;
    const group = data.length === 2 ? ((data[0] as number) << 8) | (data[1] as number) : undefined;
    const current = this.ke?.group;
    const fail = (): TaskResult => failed(failureFromNotify(NotifyType.INVALID_KE_PAYLOAD, data, failureContext(ctx, 'IKE_SA_INIT', this.offeredProposals)));
    // RFC 7296 §1.2: retry with the group the responder wants, if we offered it.
    if (group === undefined || group === current || !this.groups.includes(group) || this.keRetries >= MAX_KE_RETRIES) return fail();
    try {
      this.ke = createKeyExchange(group);
    } catch (e) {
      if (e instanceof UnsupportedAlgorithmError) return fail();
      throw e;
    }
    this.keRetries++;
    // A fresh SPI makes the retry a new IKE SA for the responder, which may
    // still be tearing down the first one (charon logs "already processing").
    ctx.spiI = ctx.random(8);
    emit(ctx, 'info', 'ike_sa_init.invalid_ke', `the gateway wants key exchange ${keName(group)} instead of ${keName(current ?? 0)}: retrying`, {
      requested: keName(group),
      previous: keName(current ?? 0),
    });
    return { kind: 'retry', reason: 'INVALID_KE_PAYLOAD' };
  }

  private readFeatures(p: readonly Payload[]): void {
    const ctx = this.ctx;
    ctx.peer.fragmentation = findNotify(p, NotifyType.IKEV2_FRAGMENTATION_SUPPORTED) !== undefined;
    const hashes = findNotify(p, NotifyType.SIGNATURE_HASH_ALGORITHMS);
    ctx.peer.hashAlgorithms = hashes === undefined ? [] : readU16List(hashes.data);
    ctx.peer.certificateRequests = payloadsOf(p, PayloadType.CERTREQ).length;
    const status = notifies(p)
      .filter((n) => n.notifyType !== NotifyType.NAT_DETECTION_SOURCE_IP && n.notifyType !== NotifyType.NAT_DETECTION_DESTINATION_IP)
      .map((n) => n.notifyType);
    emit(ctx, 'debug', 'ike_sa_init.peer_features', `gateway features: fragmentation=${ctx.peer.fragmentation} signature hashes=[${ctx.peer.hashAlgorithms.join(',')}]`, {
      fragmentation: ctx.peer.fragmentation,
      hashAlgorithms: ctx.peer.hashAlgorithms.map(String),
      certificateRequests: ctx.peer.certificateRequests,
      notifies: status.map(String),
    });
  }

  private readNat(p: readonly Payload[]): void {
    const ctx = this.ctx;
    const nat = detectNat(p, ctx.spiI, ctx.spiR, ctx.local, ctx.remote);
    ctx.nat = nat ?? { local: false, remote: false };
    ctx.encapsulation = ctx.config.forceEncapsulation || ctx.nat.local || ctx.nat.remote;
    const what =
      nat === undefined
        ? 'the gateway sent no NAT detection notifies'
        : nat.local || nat.remote
          ? `NAT detected (${[nat.local ? 'we are behind a NAT' : '', nat.remote ? 'the gateway is behind a NAT' : ''].filter(Boolean).join(', ')})`
          : 'no NAT detected';
    emit(ctx, 'info', 'nat.detection', `${what}; UDP encapsulation ${ctx.encapsulation ? (ctx.config.forceEncapsulation ? 'forced' : 'on') : 'off'}`, {
      localNat: ctx.nat.local,
      remoteNat: ctx.nat.remote,
      supported: nat !== undefined,
      encapsulation: ctx.encapsulation,
    });
  }
}
