// Test inputs for the platform tests: CHILD_SA specs with keys generated at
// run time (never committed), traffic selectors from text.

import { randomBytes } from 'node:crypto';

import type { ApplyConfigParams } from '../../../native-helper/src/platform/backend.js';
import type { ChildSaSpec, EspAlgorithms } from '../../../native-helper/src/ike/actions.js';
import type { TrafficSelector } from '../../../native-helper/src/ike/codec/types.js';
import { EncrId, IntegId, TsType } from '../../../native-helper/src/ike/constants.js';
import { parseIp } from '../../../native-helper/src/platform/linux/cidr.js';

function bytesOf(address: string): Uint8Array {
  const { family, value } = parseIp(address);
  const n = family === 4 ? 4 : 16;
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = Number((value >> BigInt(8 * (n - 1 - i))) & 0xffn);
  return out;
}

/** A TS for an address range; `proto`/`port` narrow it (RFC 7296 §3.13.1). */
export function ts(start: string, end: string = start, opts: { proto?: number; port?: number; ports?: [number, number] } = {}): TrafficSelector {
  const [startPort, endPort] = opts.ports ?? (opts.port !== undefined ? [opts.port, opts.port] : [0, 65535]);
  return {
    tsType: start.includes(':') ? TsType.TS_IPV6_ADDR_RANGE : TsType.TS_IPV4_ADDR_RANGE,
    ipProtocol: opts.proto ?? 0,
    startPort,
    endPort,
    startAddress: bytesOf(start),
    endAddress: bytesOf(end),
  };
}

export const ALGS = {
  gcm128: { algorithms: { encr: EncrId.AES_GCM_16, encrKeyLength: 128, esn: false }, enc: 20, integ: 0 },
  gcm256: { algorithms: { encr: EncrId.AES_GCM_16, encrKeyLength: 256, esn: false }, enc: 36, integ: 0 },
  gcm256esn: { algorithms: { encr: EncrId.AES_GCM_16, encrKeyLength: 256, esn: true }, enc: 36, integ: 0 },
  cbcSha256: { algorithms: { encr: EncrId.AES_CBC, encrKeyLength: 256, integ: IntegId.HMAC_SHA2_256_128, esn: false }, enc: 32, integ: 32 },
  cbc128Sha1: { algorithms: { encr: EncrId.AES_CBC, encrKeyLength: 128, integ: IntegId.HMAC_SHA1_96, esn: false }, enc: 16, integ: 20 },
  chacha: { algorithms: { encr: EncrId.CHACHA20_POLY1305, esn: false }, enc: 36, integ: 0 },
} as const satisfies Record<string, { algorithms: EspAlgorithms; enc: number; integ: number }>;

export type AlgName = keyof typeof ALGS;

export interface SpecOptions {
  readonly id?: number;
  readonly alg?: AlgName;
  readonly spiIn?: number;
  readonly spiOut?: number;
  readonly local?: string;
  readonly remote?: string;
  readonly localTs?: readonly TrafficSelector[];
  readonly remoteTs?: readonly TrafficSelector[];
  readonly encap?: boolean;
  readonly replayWindow?: number;
}

/** A CHILD_SA like the lab's: VIP 10.99.0.77 + fd00:99::77 ⇄ 10.10.0.0/24 + fd00:10::/64 via 192.0.2.1. */
export function childSpec(o: SpecOptions = {}): ChildSaSpec {
  const a = ALGS[o.alg ?? 'gcm256'];
  const keys = (spi: number): ChildSaSpec['inbound'] => ({ spi, encKey: randomBytes(a.enc), ...(a.integ > 0 ? { integKey: randomBytes(a.integ) } : {}) });
  const id = o.id ?? 1;
  return {
    id,
    local: { address: o.local ?? '192.0.2.2', port: o.encap ? 4500 : 500 },
    remote: { address: o.remote ?? '192.0.2.1', port: o.encap ? 4500 : 500 },
    algorithms: a.algorithms,
    inbound: keys(o.spiIn ?? 0xc000_0000 + id),
    outbound: keys(o.spiOut ?? 0xd000_0000 + id),
    localTs: o.localTs ?? [ts('10.99.0.77'), ts('fd00:99::77')],
    remoteTs: o.remoteTs ?? [ts('10.10.0.0', '10.10.0.255'), ts('fd00:10::', 'fd00:10::ffff:ffff:ffff:ffff')],
    encap: o.encap ? { localPort: 4500, remotePort: 4500 } : null,
    lifetime: { soft: 3000, hard: 3600 },
    replayWindow: o.replayWindow ?? 64,
  };
}

/** Every key of a spec as lowercase hex, to search argv/logs/errors for. */
export function keyHexes(spec: ChildSaSpec): string[] {
  return [spec.inbound, spec.outbound].flatMap((k) => [k.encKey, k.integKey].filter((x): x is Uint8Array => x !== undefined)).map((b) => Buffer.from(b).toString('hex'));
}

export function configParams(spec: ChildSaSpec, over: Partial<ApplyConfigParams> = {}): ApplyConfigParams {
  return {
    config: {
      ipv4: { address: '10.99.0.77', prefixLength: 32 },
      ipv6: { address: 'fd00:99::77', prefixLength: 128 },
      dns: ['10.10.0.53', 'fd00:10::53'],
      dnsDomains: ['lab.example'],
      subnets: [],
    },
    childSa: spec,
    tunnel: { mode: 'split', include: [], exclude: [], ipv6: true },
    ...over,
  };
}
