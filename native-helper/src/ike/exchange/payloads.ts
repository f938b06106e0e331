/** Small typed lookups over a decoded payload list, shared by the exchange tasks. */
import { NotifyType, PayloadType, isErrorNotify } from '../constants.js';
import { isUnknownPayload } from '../codec/payload-chain.js';
import type { KnownPayload, NotifyPayload, Payload } from '../codec/types.js';

/** The payload interface(s) whose `type` admits T (IdPayload serves both IDi and IDr). */
type ByType<T extends number> = KnownPayload extends infer P ? (P extends { readonly type: infer U } ? (T extends U ? P : never) : never) : never;

/** The payloads of one type, typed. */
export function payloadsOf<T extends KnownPayload['type']>(payloads: readonly Payload[], type: T): ByType<T>[] {
  return payloads.filter((p): p is ByType<T> => !isUnknownPayload(p) && p.type === type);
}

export function firstOf<T extends KnownPayload['type']>(payloads: readonly Payload[], type: T): ByType<T> | undefined {
  return payloadsOf(payloads, type)[0];
}

export function notifies(payloads: readonly Payload[]): NotifyPayload[] {
  return payloadsOf(payloads, PayloadType.NOTIFY);
}

export function findNotify(payloads: readonly Payload[], notifyType: number): NotifyPayload | undefined {
  return notifies(payloads).find((n) => n.notifyType === notifyType);
}

/** The first error notify (RFC 7296 §3.10.1: types below 16384). */
export function errorNotify(payloads: readonly Payload[]): NotifyPayload | undefined {
  return notifies(payloads).find((n) => isErrorNotify(n.notifyType));
}

export function notifyPayload(notifyType: number, data: Uint8Array = new Uint8Array(0)): NotifyPayload {
  return { type: PayloadType.NOTIFY, protocol: 0, spi: new Uint8Array(0), notifyType, data };
}

/** RFC 7427 §4: a list of 2-octet hash algorithm numbers. */
export function hashAlgorithmsNotify(ids: readonly number[]): NotifyPayload {
  const data = new Uint8Array(ids.length * 2);
  ids.forEach((id, i) => {
    data[2 * i] = id >> 8;
    data[2 * i + 1] = id & 0xff;
  });
  return notifyPayload(NotifyType.SIGNATURE_HASH_ALGORITHMS, data);
}

export function readU16List(data: Uint8Array): number[] {
  const out: number[] = [];
  for (let i = 0; i + 1 < data.length; i += 2) out.push(((data[i] as number) << 8) | (data[i + 1] as number));
  return out;
}
