/**
 * IKE_AUTH, initiator side (RFC 7296 §1.2), with the configuration request
 * of a remote-access client (§2.19) and the first CHILD_SA:
 *
 *   HDR, SK { IDi, [CERT+], N(INITIAL_CONTACT), [CERTREQ], [IDr], AUTH,
 *             CP(CFG_REQUEST), SAi2, TSi, TSr }  -->
 *                    <--  HDR, SK { IDr, [CERT+], AUTH, CP(CFG_REPLY), SAr2, TSi, TSr }
 *
 * Our AUTH (§2.15): InitiatorSignedOctets = RealMessage1 | NonceRData |
 * prf(SK_pi, IDi'), signed with our key or MACed with the PSK. MOBIKE is
 * not announced: this engine does not move SAs between addresses.
 */
import { X509Certificate, createHash } from 'node:crypto';

import { AuthMethod, CertEncoding, ExchangeType, NotifyType, PayloadType } from '../constants.js';
import type { AuthPayload, CertPayload, CertReqPayload, IdPayload, Payload, TsPayload } from '../codec/types.js';
import { createSignatureAuth, pskAuthData, signedOctets } from '../crypto/auth.js';
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
import { errorNotify, firstOf, notifyPayload } from './payloads.js';
import type { IncomingResponse, Task, TaskFailure, TaskRequest, TaskResult } from './task.js';

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
  readonly stage = 'ike_auth' as const;
  readonly protected = true;
  private child: ChildOffer | undefined;

  constructor(private readonly ctx: ExchangeContext) {}

  build(): TaskRequest | TaskFailure {
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
    payloads.push(notifyPayload(NotifyType.INITIAL_CONTACT));
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
    const octets = signedOctets({ message: ctx.initRequest, peerNonce: ctx.nonceR, prf: keys.prf, skP: keys.skPi, idBody: idBody(id.idType, id.data) });
    if (c.auth.method === 'psk') {
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
    emit(ctx, 'info', 'ike_auth.request', `authenticating as "${formatIdentity(c.localId)}" with ${c.auth.method === 'psk' ? 'a pre-shared key' : 'a certificate'}; offering ESP ${this.child.offer.proposals.map((p) => p.text).join(', ')}`, {
      localId: formatIdentity(c.localId),
      method: c.auth.method,
      offeredEsp: this.child.offer.proposals.map((p) => p.text),
    });
    return { payloads };
  }

  process(r: IncomingResponse): TaskResult {
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
    // RFC 7296 §1.2: the IKE SA can be up while the CHILD_SA failed; for a remote-access client that is a failure.
    if (error !== undefined) return { kind: 'failed', failure: failureFromNotify(error.notifyType, error.data, fctx), ikeSaExists: true };
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
