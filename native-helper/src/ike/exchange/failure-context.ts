/** Builds the FailureContext (failures.ts) from the IKE SA: what we offered and asked for, for messages. */
import { formatIdentity } from '../../pki/identity.js';
import type { FailureContext } from '../failures.js';
import { formatProposalSpec } from '../proposals.js';
import { formatTrafficSelector } from '../traffic-selectors.js';
import type { ExchangeContext } from './context.js';

export function requestedConfigText(ctx: ExchangeContext): string {
  const r = ctx.config.requestConfig;
  const parts = [r.ipv4 ? 'an IPv4 address' : '', r.ipv6 ? 'an IPv6 address' : '', r.dns ? 'DNS servers' : ''].filter(Boolean);
  return parts.length === 0 ? 'nothing' : parts.join(', ');
}

export function failureContext(ctx: ExchangeContext, exchange: FailureContext['exchange'], offeredIke?: readonly string[]): FailureContext {
  const c = ctx.config;
  const fc: { -readonly [K in keyof FailureContext]: FailureContext[K] } = {
    exchange,
    authMethod: c.auth.method,
    localId: formatIdentity(c.localId),
    offeredIke: offeredIke ?? c.ikeProposals.map(formatProposalSpec),
    offeredEsp: c.espProposals.map((s) => formatProposalSpec({ ...s, ke: [] })),
    requestedTs: { local: c.trafficSelectors.local.map(formatTrafficSelector), remote: c.trafficSelectors.remote.map(formatTrafficSelector) },
    requestedConfig: requestedConfigText(ctx),
  };
  const remote = c.remoteId ?? c.trust.serverName;
  if (remote !== undefined) fc.remoteId = formatIdentity(remote);
  return fc;
}
