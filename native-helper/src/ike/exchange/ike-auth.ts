/**
 * IKE_AUTH, initiator side (RFC 7296 §1.2), with the configuration request
 * of a remote-access client (§2.19) and the first CHILD_SA:
 *
 *   HDR, SK { IDi, [CERT+], N(INITIAL_CONTACT), [CERTREQ], [IDr], AUTH,
 *             CP(CFG_REQUEST), SAi2, TSi, TSr }  -->
 *                    <--  HDR, SK { IDr, [CERT+], AUTH, CP(CFG_REPLY), SAr2, TSi, TSr }
 *
 * Our AUTH (§2.15): InitiatorSignedOctets = RealMessage1 | NonceRData |
 * prf(SK_pi, IDi'), signed with our key or MACed with the PSK. With
 * `config.mobike` we add N(MOBIKE_SUPPORTED) (RFC 4555 §3.3; exchange/mobike.ts).
 *
 * With EAP (§2.16) the first request has no AUTH; the gateway answers with
 * its certificate AUTH and the first EAP Request, which we only answer once
 * that AUTH verified. EAP rounds follow, each an IKE_AUTH exchange of its
 * own; after EAP-Success both sides send AUTH computed with the MSK as the
 * shared key, and the last response carries CP, SA and TS:
 *
 *   HDR, SK { IDi, [CERTREQ], [IDr], CP, SAi2, TSi, TSr }  -->
 *                       <--  HDR, SK { IDr, CERT, AUTH, EAP(Request/Identity) }
 *   HDR, SK { EAP(Response) }  -->  ...  <--  HDR, SK { EAP(Success) }
 *   HDR, SK { AUTH(MSK) }  -->
 *                       <--  HDR, SK { AUTH(MSK), CP(CFG_REPLY), SAr2, TSi, TSr }
 */
import { X509Certificate, createHash } from 'node:crypto';

import { AuthMethod, CertEncoding, ExchangeType, NotifyType, PayloadType } from '../constants.js';
import type { AuthPayload, CertPayload, CertReqPayload, EapPayload, IdPayload, Payload, TsPayload } from '../codec/types.js';
import { createSignatureAuth, pskAuthData, signedOctets, verifyPskAuthData } from '../crypto/auth.js';
import { wipe } from '../crypto/bytes.js';
import { UnsupportedAlgorithmError } from '../crypto/errors.js';
import { buildConfigRequest, describeConfig, parseConfigReply } from '../config-payload.js';
import { failureFromNotify, makeFailure } from '../failures.js';
import { formatIdentity, identityToPayload } from '../../pki/identity.js';
import { childOffer, completeChildSa } from './child-sa.js';
import type { ChildOffer } from './child-sa.js';
import { emit } from './context.js';
import type { ExchangeContext } from './context.js';
import { failureContext, requestedConfigText } from './failure-context.js';
import { authenticatePeer, idBody } from './peer-auth.js';
import { errorNotify, findNotify, firstOf, notifyPayload } from './payloads.js';
import type { IncomingResponse, Task, TaskFailure, TaskRequest, TaskResult } from './task.js';
import { EapPeer } from '../../eap/peer.js';
import type { Identity } from '../../pki/identity.js';
import { preRfc9190Note, tlsFields, verifyEapServer } from './eap-tls-trust.js';
import { secondRoundRequest } from './multiple-auth.js';
import { eapFailure } from './eap-failure.js';

/** RFC 7296 §3.7: CERTREQ data for X.509 = concatenated SHA-1 hashes of the CAs' SubjectPublicKeyInfo. */
export function certificateRequestData(caCertificates: readonly Uint8Array[]): Uint8Array {
  const hashes: Uint8Array[] = [];
  for (const der of caCertificates) {
    try {
      const spki = new X509Certificate(der).publicKey.export({ type: 'spki', format: 'der' });
      hashes.push(new Uint8Array(createHash('sha1').update(spki).digest()));
    } catch {
      // An unreadable CA certificate cannot be asked for; validation will report it.
    }
  }
  const out = new Uint8Array(hashes.length * 20);
  hashes.forEach((h, i) => out.set(h, i * 20));
  return out;
}

export class IkeAuthTask implements Task {
  readonly name = 'ike_auth';
  readonly exchange = ExchangeType.IKE_AUTH;
  readonly protected = true;
  private child: ChildOffer | undefined;
  /** EAP (§2.16): where we are, the peer state machine, our next EAP Response, the MSK */
  private phase: 'initial' | 'second_id' | 'eap' | 'eap_auth' = 'initial';
  /** RFC 4739: our certificate round first, then EAP in a second round (charon's ikev2-cert-eap) */
  private readonly multiAuth: boolean = false;
  private readonly eap: EapPeer | undefined;
  private eapResponse: Uint8Array | undefined;
  private msk: Uint8Array | undefined;
  /** the ID bodies AUTH signs (§2.15), kept for the MSK-based AUTH of both sides */
  private idiBody: Uint8Array | undefined;
  private idrBody: Uint8Array | undefined;
  private gatewayName = '';
  /** the identity the gateway proved with its IKE AUTH: its EAP-TLS server certificate must carry it too */
  private gatewayIdentity: Identity | undefined;

  constructor(private readonly ctx: ExchangeContext) {
    const a = ctx.config.auth;
    if (a.method === 'eap') this.eap = new EapPeer(a.eap, ctx.random, (chain) => verifyEapServer(ctx, chain, this.gatewayIdentity));
    if (a.method === 'signature' && a.secondRound !== undefined) {
      this.eap = new EapPeer(a.secondRound.eap, ctx.random, (chain) => verifyEapServer(ctx, chain, this.gatewayIdentity));
      this.multiAuth = true;
    }
  }

  get stage(): 'ike_auth' | 'eap' {
    return this.phase === 'initial' ? 'ike_auth' : 'eap';
  }

  build(): TaskRequest | TaskFailure {
    if (this.phase === 'eap') {
      const message = this.eapResponse;
      if (message === undefined) throw new RangeError('EAP round without a response to send');
      return { payloads: [{ type: PayloadType.EAP, message } satisfies EapPayload] };
    }
    if (this.phase === 'eap_auth') return { payloads: [this.mskAuth()] };
    if (this.phase === 'second_id') return secondRoundRequest(this.ctx, (body) => (this.idiBody = body));
    const ctx = this.ctx;
    const c = ctx.config;
    const keys = ctx.keys;
    if (keys === undefined || ctx.initRequest === undefined || ctx.nonceR === undefined) throw new RangeError('IKE_AUTH before IKE_SA_INIT completed');
    let id: { idType: number; data: Uint8Array };
    try {
      id = identityToPayload(c.localId);
    } catch (e) {
      return { kind: 'failed', failure: makeFailure('PROFILE_INVALID', `Our identity cannot be sent: ${e instanceof Error ? e.message : String(e)}`) };
    }
    const payloads: Payload[] = [{ type: PayloadType.IDi, idType: id.idType, data: id.data } satisfies IdPayload];
    if (c.auth.method === 'signature') {
      for (const der of [c.auth.certificate, ...(c.auth.intermediates ?? [])]) {
        payloads.push({ type: PayloadType.CERT, encoding: CertEncoding.X509_SIGNATURE, data: der } satisfies CertPayload);
      }
    }
    // RFC 7296 §2.4: we hold no other IKE SA with this gateway, so it may drop stale state of ours.
    // Not on a make-before-break reauthentication: the old IKE SA still carries the traffic.
    if (c.initialContact !== false) payloads.push(notifyPayload(NotifyType.INITIAL_CONTACT));
    // RFC 4555 §3.3: announce MOBIKE; the gateway answers with its own MOBIKE_SUPPORTED if it takes part.
    if (c.mobike === true) payloads.push(notifyPayload(NotifyType.MOBIKE_SUPPORTED));
    // RFC 4739 §3: we take part in multiple authentication, and a second round (EAP) follows this one.
    if (this.multiAuth) payloads.push(notifyPayload(NotifyType.MULTIPLE_AUTH_SUPPORTED), notifyPayload(NotifyType.ANOTHER_AUTH_FOLLOWS));
    if (c.trust.caCertificates.length > 0) {
      const data = certificateRequestData(c.trust.caCertificates);
      if (data.length > 0) payloads.push({ type: PayloadType.CERTREQ, encoding: CertEncoding.X509_SIGNATURE, data } satisfies CertReqPayload);
    }
    if (c.remoteId !== undefined) {
      try {
        const r = identityToPayload(c.remoteId);
        payloads.push({ type: PayloadType.IDr, idType: r.idType, data: r.data } satisfies IdPayload);
      } catch (e) {
        return { kind: 'failed', failure: makeFailure('PROFILE_INVALID', `The remote identity cannot be sent: ${e instanceof Error ? e.message : String(e)}`) };
      }
    }
    this.idiBody = idBody(id.idType, id.data);
    const octets = signedOctets({ message: ctx.initRequest, peerNonce: ctx.nonceR, prf: keys.prf, skP: keys.skPi, idBody: this.idiBody });
    if (c.auth.method === 'eap') {
      // §2.16: no AUTH yet: the gateway's certificate AUTH and an EAP Request come back.
    } else if (c.auth.method === 'psk') {
      payloads.push({ type: PayloadType.AUTH, method: AuthMethod.PSK, data: pskAuthData(keys.prf, c.auth.psk, octets) } satisfies AuthPayload);
    } else {
      try {
        const sig = createSignatureAuth({ privateKey: c.auth.privateKey, octets, peerHashAlgorithms: ctx.peer.hashAlgorithms });
        payloads.push({ type: PayloadType.AUTH, method: sig.method, data: sig.data } satisfies AuthPayload);
        emit(ctx, 'debug', 'ike_auth.signature', `signing our AUTH with ${sig.scheme}`, { scheme: sig.scheme });
      } catch (e) {
        if (e instanceof UnsupportedAlgorithmError) {
          return { kind: 'failed', failure: makeFailure('PROFILE_INVALID', `Our private key cannot sign for this gateway: ${e.message}.`) };
        }
        throw e;
      }
    }
    const rc = c.requestConfig;
    if (rc.ipv4 || rc.ipv6) payloads.push(buildConfigRequest(rc));
    this.child ??= childOffer(ctx);
    payloads.push(this.child.offer.payload);
    payloads.push({ type: PayloadType.TSi, selectors: c.trafficSelectors.local } satisfies TsPayload);
    payloads.push({ type: PayloadType.TSr, selectors: c.trafficSelectors.remote } satisfies TsPayload);
    const how = c.auth.method === 'psk' ? 'a pre-shared key' : c.auth.method === 'eap' ? `${this.eap?.methodName ?? 'EAP'} as "${c.auth.eap.identity}"` : 'a certificate';
    emit(ctx, 'info', 'ike_auth.request', `authenticating as "${formatIdentity(c.localId)}" with ${how}; offering ESP ${this.child.offer.proposals.map((p) => p.text).join(', ')}`, {
      localId: formatIdentity(c.localId),
      method: c.auth.method,
      offeredEsp: this.child.offer.proposals.map((p) => p.text),
    });
    return { payloads };
  }

  /** Our AUTH after EAP-Success: the MSK as the shared key over InitiatorSignedOctets (§2.16). */
  private mskAuth(): AuthPayload {
    const ctx = this.ctx;
    const keys = ctx.keys;
    if (keys === undefined || ctx.initRequest === undefined || ctx.nonceR === undefined || this.idiBody === undefined || this.msk === undefined) {
      throw new RangeError('MSK AUTH before EAP completed');
    }
    const octets = signedOctets({ message: ctx.initRequest, peerNonce: ctx.nonceR, prf: keys.prf, skP: keys.skPi, idBody: this.idiBody });
    return { type: PayloadType.AUTH, method: AuthMethod.PSK, data: pskAuthData(keys.prf, this.msk, octets) };
  }

  process(r: IncomingResponse): TaskResult {
    // RFC 4555 §3.3: the gateway's MOBIKE_SUPPORTED may come in any IKE_AUTH response (with EAP, usually the last).
    if (this.ctx.config.mobike === true && findNotify(r.payloads, NotifyType.MOBIKE_SUPPORTED) !== undefined) this.ctx.peer.mobike = true;
    if (this.phase === 'eap') return this.processEap(r);
    if (this.phase === 'eap_auth') return this.processEapAuth(r);
    if (this.phase === 'second_id') return this.processSecondRound(r);
    const ctx = this.ctx;
    const p = r.payloads;
    const error = errorNotify(p);
    const fctx = failureContext(ctx, 'IKE_AUTH');
    // Without IDr and AUTH the gateway refused the IKE SA itself (e.g. AUTHENTICATION_FAILED).
    if (error !== undefined && (firstOf(p, PayloadType.AUTH) === undefined || firstOf(p, PayloadType.IDr) === undefined)) {
      return { kind: 'failed', failure: failureFromNotify(error.notifyType, error.data, fctx) };
    }
    const peer = authenticatePeer(ctx, p);
    // RFC 7296 §2.21.2: tell the gateway it failed to authenticate, in a separate INFORMATIONAL.
    if (peer.kind === 'failed') return { ...peer, notifyPeer: NotifyType.AUTHENTICATION_FAILED };
    emit(ctx, 'info', 'ike_auth.peer_authenticated', `the gateway authenticated as "${formatIdentity(peer.identity)}" (${peer.method}${peer.certificate ? `, certificate "${peer.certificate}"` : ''})`, {
      remoteId: formatIdentity(peer.identity),
      method: peer.method,
      ...(peer.certificate === undefined ? {} : { certificate: peer.certificate }),
    });
    if (this.multiAuth && firstOf(p, PayloadType.SA) === undefined) {
      // RFC 4739 §3: the gateway authenticated and waits for our second round; its IDr stays what its EAP AUTH signs.
      const idr = firstOf(p, PayloadType.IDr);
      if (idr !== undefined) this.idrBody = idBody(idr.idType, idr.data);
      this.gatewayName = formatIdentity(peer.identity);
      this.gatewayIdentity = peer.identity;
      if (error !== undefined) return { kind: 'failed', failure: failureFromNotify(error.notifyType, error.data, fctx), ikeSaExists: true };
      this.phase = 'second_id';
      emit(ctx, 'info', 'ike_auth.first_round_done', `the gateway accepted our certificate; second authentication round (RFC 4739) with ${this.eap?.methodName ?? 'EAP'}`, { method: this.eap?.methodName ?? 'EAP' });
      return { kind: 'next' };
    }
    if (this.multiAuth) {
      // It finished after our certificate alone: its policy, not ours to refuse, but worth a line for the helpdesk.
      emit(ctx, 'warn', 'ike_auth.second_round_skipped', 'the gateway completed IKE_AUTH after our certificate and did not ask for the second (EAP) round');
    }
    if (this.eap !== undefined && !this.multiAuth) {
      const idr = firstOf(p, PayloadType.IDr);
      if (idr !== undefined) this.idrBody = idBody(idr.idType, idr.data);
      this.gatewayName = formatIdentity(peer.identity);
      this.gatewayIdentity = peer.identity;
      const eapPayload = firstOf(p, PayloadType.EAP);
      if (eapPayload === undefined) {
        return {
          kind: 'failed',
          failure: makeFailure('PROTOCOL_ERROR', `The gateway "${this.gatewayName}" authenticated but did not start EAP, although this profile signs in with ${this.eap.methodName}.`),
          ikeSaExists: true,
        };
      }
      this.phase = 'eap';
      emit(ctx, 'info', 'eap.started', `the gateway started EAP; signing in with ${this.eap.methodName}`, { method: this.eap.methodName }, 'eap');
      return this.eapStep(eapPayload.message);
    }
    // RFC 7296 §1.2: the IKE SA can be up while the CHILD_SA failed; for a remote-access client that is a failure.
    if (error !== undefined) return { kind: 'failed', failure: failureFromNotify(error.notifyType, error.data, fctx), ikeSaExists: true };
    return this.finish(p);
  }

  /** One EAP message from the gateway through the peer: answer it, or move on to the MSK AUTH, or fail. */
  private eapStep(message: Uint8Array): TaskResult {
    const ctx = this.ctx;
    const eap = this.eap as EapPeer;
    const step = eap.process(message);
    switch (step.kind) {
      case 'respond':
        this.eapResponse = step.message;
        emit(ctx, 'info', 'eap.round', step.note, { round: eap.rounds }, 'eap');
        return { kind: 'next' };
      case 'success': {
        this.msk = step.msk;
        this.eapResponse = undefined;
        this.phase = 'eap_auth';
        emit(ctx, 'info', 'eap.succeeded', `${eap.methodName} succeeded after ${eap.rounds} round(s); authenticating with the EAP key`, { method: eap.methodName, rounds: eap.rounds, ...tlsFields(eap) }, 'eap');
        const compat = preRfc9190Note(eap);
        if (compat !== undefined) emit(ctx, 'warn', 'eap.tls_pre_rfc9190', compat, { method: eap.methodName, tlsMsk: 'pre-rfc9190' }, 'eap');
        return { kind: 'next' };
      }
      case 'rejected':
        if (step.message !== undefined) {
          this.eapResponse = step.message;
          return { kind: 'next' };
        }
        return { kind: 'failed', failure: eapFailure(step.reason, eap.identity || formatIdentity(ctx.config.localId), this.gatewayName), ikeSaExists: true };
      case 'untrusted':
        eap.wipe();
        return {
          kind: 'failed',
          failure: makeFailure(step.code, `The gateway "${this.gatewayName}" presented an EAP-TLS server certificate we do not trust: ${step.detail}`, { method: eap.methodName, stage: 'eap-tls' }),
          ikeSaExists: true,
          notifyPeer: NotifyType.AUTHENTICATION_FAILED,
        };
      case 'invalid':
        eap.wipe();
        return {
          kind: 'failed',
          failure: makeFailure('PROTOCOL_ERROR', `The gateway "${this.gatewayName}" sent an unusable EAP message: ${step.detail}.`, { method: eap.methodName }),
          ikeSaExists: true,
          notifyPeer: NotifyType.AUTHENTICATION_FAILED,
        };
    }
  }

  /** RFC 4739 §3: the answer to our second IDi must start EAP. */
  private processSecondRound(r: IncomingResponse): TaskResult {
    const p = r.payloads;
    const error = errorNotify(p);
    if (error !== undefined) return { kind: 'failed', failure: failureFromNotify(error.notifyType, error.data, failureContext(this.ctx, 'IKE_AUTH')), ikeSaExists: true };
    const eapPayload = firstOf(p, PayloadType.EAP);
    const eap = this.eap as EapPeer;
    if (eapPayload === undefined) {
      return { kind: 'failed', failure: makeFailure('PROTOCOL_ERROR', `The gateway "${this.gatewayName}" did not start EAP in the second authentication round, although this profile signs in with ${eap.methodName} after the certificate.`), ikeSaExists: true };
    }
    this.phase = 'eap';
    emit(this.ctx, 'info', 'eap.started', `the gateway started EAP in the second round; signing in with ${eap.methodName}`, { method: eap.methodName, round: 2 }, 'eap');
    return this.eapStep(eapPayload.message);
  }

  private processEap(r: IncomingResponse): TaskResult {
    const p = r.payloads;
    const error = errorNotify(p);
    if (error !== undefined) return { kind: 'failed', failure: failureFromNotify(error.notifyType, error.data, failureContext(this.ctx, 'IKE_AUTH')), ikeSaExists: true };
    const eapPayload = firstOf(p, PayloadType.EAP);
    if (eapPayload === undefined) {
      return { kind: 'failed', failure: makeFailure('PROTOCOL_ERROR', `The gateway "${this.gatewayName}" answered an EAP round without an EAP payload.`), ikeSaExists: true };
    }
    return this.eapStep(eapPayload.message);
  }

  /** The last IKE_AUTH response: the gateway's MSK-based AUTH, then CP, SA and TS as without EAP. */
  private processEapAuth(r: IncomingResponse): TaskResult {
    const ctx = this.ctx;
    const p = r.payloads;
    const keys = ctx.keys;
    const msk = this.msk;
    if (keys === undefined || ctx.initResponse === undefined || msk === undefined || this.idrBody === undefined) throw new RangeError('EAP AUTH state lost');
    const error = errorNotify(p);
    const auth = firstOf(p, PayloadType.AUTH);
    const compat = preRfc9190Note(this.eap);
    if (auth === undefined) {
      this.forgetMsk();
      if (error?.notifyType === NotifyType.AUTHENTICATION_FAILED && compat !== undefined) {
        // Our AUTH used the pre-RFC 9190 EAP-TLS key: name that as the likely cause, not the account alone.
        return {
          kind: 'failed',
          failure: makeFailure('EAP_TLS_FAILED', `The gateway "${this.gatewayName}" refused our AUTH (AUTHENTICATION_FAILED) after EAP-TLS succeeded: ${compat}. A gateway that derives the key differently refuses that AUTH; otherwise this account may not use this VPN connection.`, { method: 'EAP-TLS', tlsMsk: 'pre-rfc9190', afterEapSuccess: true }),
          ikeSaExists: true,
        };
      }
      if (error?.notifyType === NotifyType.AUTHENTICATION_FAILED) {
        // EAP succeeded (the gateway proved it knows our password, RFC 2759 §8.7), yet it refuses the
        // sign-in: not the password but the account's authorization (charon: a failed constraint such
        // as `groups`, after which it sends no AUTH of its own, RFC 7296 §2.21.2).
        const id = formatIdentity(ctx.config.localId);
        return {
          kind: 'failed',
          failure: makeFailure('EAP_ACCOUNT_REJECTED', `The gateway "${this.gatewayName}" accepted the password of "${id}" but refused the sign-in (AUTHENTICATION_FAILED after ${this.eap?.methodName ?? 'EAP'} succeeded): this account may not use this VPN connection. Contact your IT department.`, { localId: id, afterEapSuccess: true }),
          ikeSaExists: true,
        };
      }
      if (error !== undefined) return { kind: 'failed', failure: failureFromNotify(error.notifyType, error.data, failureContext(ctx, 'IKE_AUTH')), ikeSaExists: true };
      return { kind: 'failed', failure: makeFailure('PROTOCOL_ERROR', `The gateway "${this.gatewayName}" sent no AUTH after EAP succeeded.`), ikeSaExists: true };
    }
    // §2.16: the gateway's second AUTH, with the MSK, over ResponderSignedOctets with the IDr of its first response.
    const octets = signedOctets({ message: ctx.initResponse, peerNonce: ctx.nonceI, prf: keys.prf, skP: keys.skPr, idBody: this.idrBody });
    const ok = auth.method === AuthMethod.PSK && verifyPskAuthData(keys.prf, msk, octets, auth.data);
    this.forgetMsk();
    if (!ok) {
      return {
        kind: 'failed',
        failure: makeFailure('PEER_AUTH_FAILED', `The gateway "${this.gatewayName}" sent an AUTH after EAP that does not match the EAP key: it did not take part in our EAP exchange${compat === undefined ? '' : `, or ${compat} and it derives the key differently`}.`),
        ikeSaExists: true,
        notifyPeer: NotifyType.AUTHENTICATION_FAILED,
      };
    }
    emit(ctx, 'info', 'eap.auth_verified', `the gateway's AUTH with the EAP key verified; signed in with ${this.eap?.methodName ?? 'EAP'}`);
    if (error !== undefined) return { kind: 'failed', failure: failureFromNotify(error.notifyType, error.data, failureContext(ctx, 'IKE_AUTH')), ikeSaExists: true };
    return this.finish(p);
  }

  private forgetMsk(): void {
    if (this.msk !== undefined) wipe(this.msk);
    this.msk = undefined;
  }

  /** The CHILD_SA and configuration of the last IKE_AUTH response. */
  private finish(p: readonly Payload[]): TaskResult {
    const ctx = this.ctx;
    const child = completeChildSa(ctx, this.child as ChildOffer, p);
    if ('kind' in child) return child;
    const rc = ctx.config.requestConfig;
    if (rc.ipv4 || rc.ipv6) {
      const cp = firstOf(p, PayloadType.CP);
      const reply = cp === undefined ? undefined : parseConfigReply(cp);
      const config = reply?.config;
      if (config === undefined || (config.ipv4 === undefined && config.ipv6 === undefined)) {
        return {
          kind: 'failed',
          failure: makeFailure('INTERNAL_ADDRESS_FAILURE', `The gateway assigned no virtual IP address (we requested ${requestedConfigText(ctx)}; ${cp === undefined ? 'its response has no configuration payload' : 'its configuration reply holds no usable address'}).`),
          ikeSaExists: true,
        };
      }
      if (reply !== undefined && reply.ignored.length > 0) {
        emit(ctx, 'warn', 'config.ignored', `ignored configuration attributes: ${reply.ignored.join('; ')}`, { ignored: reply.ignored });
      }
      const missing = [rc.ipv4 && config.ipv4 === undefined ? 'IPv4' : '', rc.ipv6 && config.ipv6 === undefined ? 'IPv6' : ''].filter(Boolean);
      if (missing.length > 0) emit(ctx, 'warn', 'config.partial', `the gateway assigned no ${missing.join(' or ')} address; continuing without it`, { missing });
      emit(ctx, 'info', 'config.assigned', `assigned ${describeConfig(config)}`, { summary: describeConfig(config) });
      ctx.pending.push({ kind: 'installChildSa', sa: child });
      ctx.pending.push({ kind: 'assignConfig', config });
    } else {
      ctx.pending.push({ kind: 'installChildSa', sa: child });
    }
    return { kind: 'done' };
  }
}
