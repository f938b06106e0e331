import type { Payload } from '../types.js';

/**
 * What a payload module decodes and encodes: the payload *body*, i.e.
 * everything after the 4-octet generic payload header (RFC 7296 §3.2).
 *
 * The generic header carries the payload type, the critical bit and the
 * Next Payload field; `payload-chain.ts` owns those. For SK/SKF the Next
 * Payload field is the first inner payload type (RFC 7296 §3.14), stored as
 * `innerNext`, so it is a generic field too.
 */
export type PayloadBody<P extends Payload> = Omit<P, 'type' | 'critical' | 'innerNext'>;
