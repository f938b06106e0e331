/**
 * The EAP-MSCHAPv2 peer (draft-kamath-pppext-eap-mschapv2-02 carrying
 * RFC 2759). Type-Data of EAP type 26:
 *
 *   OpCode (1) | MS-CHAPv2-ID (1) | MS-Length (2) | Data
 *
 *   <- Challenge (1): Value-Size = 16 | Authenticator Challenge | Name
 *   -> Response  (2): Value-Size = 49 | Peer-Challenge (16) | Reserved (8) | NT-Response (24) | Flags (1) | Name
 *   <- Success   (3): "S=<40 hex digits> M=<message>"  -> Success (3) alone: we checked S=
 *   <- Failure   (4): "E=eeee R=r C=<32 hex> V=v M=<message>"  -> Failure (4) alone: we do not retry
 *
 * Mutual authentication: the gateway must prove it knows the password
 * (the S= value, RFC 2759 §8.7) before we acknowledge success; only then
 * is the MSK released. The password is kept only as its NT hash.
 */
import { EapType } from '../ike/constants.js';
import { encodeEapResponse } from './packet.js';
import type { EapRequest } from './packet.js';
import { authenticatorResponse, generateNtResponse, mschapv2Msk, ntPasswordHash } from './mschapv2-crypto.js';
import { constantTimeEqual } from '../ike/crypto/bytes.js';

const OP_CHALLENGE = 1;
const OP_RESPONSE = 2;
const OP_SUCCESS = 3;
const OP_FAILURE = 4;
const CHALLENGE_LENGTH = 16;
const RESPONSE_VALUE_SIZE = 49;

/** RFC 2759 §6 error codes, as the user should hear them. */
export type MschapV2Rejection = 'wrong_password' | 'account_disabled' | 'password_expired' | 'restricted_hours' | 'no_dialin_permission' | 'other';

const REJECTIONS: Readonly<Record<number, MschapV2Rejection>> = {
  646: 'restricted_hours',
  647: 'account_disabled',
  648: 'password_expired',
  649: 'no_dialin_permission',
  691: 'wrong_password',
};

export type MschapV2Step =
  | { readonly kind: 'respond'; readonly message: Uint8Array; readonly note: string }
  /** the gateway refused us; `message` acknowledges the Failure (the gateway then sends EAP-Failure) */
  | { readonly kind: 'rejected'; readonly rejection: MschapV2Rejection; readonly errorCode: number; readonly gatewayMessage: string; readonly message: Uint8Array }
  | { readonly kind: 'invalid'; readonly detail: string };

/** RFC 2759 §4 / strongSwan: the user name in the challenge hash is without a "DOMAIN\" prefix. */
function userNameForHash(identity: Uint8Array): Uint8Array {
  const i = identity.lastIndexOf(0x5c);
  return i < 0 ? identity : identity.subarray(i + 1);
}

/** `key=value` tokens of a Success or Failure message; M= runs to the end (it may contain spaces). */
export function parseMessageTokens(text: string): Map<string, string> {
  const out = new Map<string, string>();
  const m = text.indexOf('M=');
  const head = m >= 0 ? text.slice(0, m) : text;
  for (const token of head.split(' ')) {
    const eq = token.indexOf('=');
    if (eq > 0) out.set(token.slice(0, eq), token.slice(eq + 1));
  }
  if (m >= 0) out.set('M', text.slice(m + 2));
  return out;
}

/** Printable ASCII only, bounded: the gateway's text ends up in our log. */
export function sanitize(text: string, max = 200): string {
  return text.replace(/[^\x20-\x7e]/g, '?').slice(0, max);
}

export class MschapV2Peer {
  private readonly identity: Uint8Array;
  private passwordHash: Uint8Array;
  private expected: Uint8Array | undefined;
  private ntResponse: Uint8Array | undefined;
  private mutual = false;
  private answered = false;

  constructor(
    identity: string,
    password: string,
    private readonly random: (n: number) => Uint8Array,
  ) {
    this.identity = new TextEncoder().encode(identity);
    this.passwordHash = ntPasswordHash(password);
  }

  /** The MSK, once the gateway proved it knows the password. */
  get msk(): Uint8Array | undefined {
    if (!this.mutual || this.ntResponse === undefined) return undefined;
    return mschapv2Msk(this.passwordHash, this.ntResponse);
  }

  get authenticatedGateway(): boolean {
    return this.mutual;
  }

  /** Forget the password hash (after the MSK was taken, or on failure). */
  wipe(): void {
    this.passwordHash.fill(0);
    this.passwordHash = new Uint8Array(16);
  }

  process(req: EapRequest): MschapV2Step {
    const d = req.typeData;
    if (d.length < 4) return { kind: 'invalid', detail: `EAP-MSCHAPv2 packet of ${d.length} octet(s)` };
    const opCode = d[0] as number;
    const msId = d[1] as number;
    const msLength = ((d[2] as number) << 8) | (d[3] as number);
    // MS-Length counts from the OpCode, i.e. the EAP Length minus 5 (draft-kamath §2).
    if (opCode !== OP_SUCCESS && opCode !== OP_FAILURE && msLength !== d.length) {
      return { kind: 'invalid', detail: `EAP-MSCHAPv2 MS-Length ${msLength} but ${d.length} octets` };
    }
    switch (opCode) {
      case OP_CHALLENGE:
        return this.challenge(req.identifier, msId, d.subarray(4));
      case OP_SUCCESS:
        return this.success(req.identifier, d.subarray(4));
      case OP_FAILURE:
        return this.failure(req.identifier, d.subarray(4));
      default:
        return { kind: 'invalid', detail: `EAP-MSCHAPv2 OpCode ${opCode} from the gateway` };
    }
  }

  private challenge(identifier: number, msId: number, data: Uint8Array): MschapV2Step {
    if (this.answered) return { kind: 'invalid', detail: 'a second EAP-MSCHAPv2 Challenge (we do not retry)' };
    if (data.length < 1 + CHALLENGE_LENGTH || data[0] !== CHALLENGE_LENGTH) {
      return { kind: 'invalid', detail: 'EAP-MSCHAPv2 Challenge with a Value-Size other than 16' };
    }
    const authChallenge = data.slice(1, 1 + CHALLENGE_LENGTH);
    const peerChallenge = this.random(CHALLENGE_LENGTH);
    const user = userNameForHash(this.identity);
    const nt = generateNtResponse(authChallenge, peerChallenge, user, this.passwordHash);
    this.ntResponse = nt;
    this.expected = authenticatorResponse(this.passwordHash, nt, peerChallenge, authChallenge, user);
    this.answered = true;
    // OpCode | MS-CHAPv2-ID | MS-Length | Value-Size | Response (49) | Name
    const body = new Uint8Array(4 + 1 + RESPONSE_VALUE_SIZE + this.identity.length);
    const msLength = body.length;
    body[0] = OP_RESPONSE;
    body[1] = msId;
    body[2] = msLength >> 8;
    body[3] = msLength & 0xff;
    body[4] = RESPONSE_VALUE_SIZE;
    body.set(peerChallenge, 5);
    // 8 reserved zero octets follow the peer challenge.
    body.set(nt, 5 + 16 + 8);
    // Flags (1) = 0
    body.set(this.identity, 5 + RESPONSE_VALUE_SIZE);
    return { kind: 'respond', message: encodeEapResponse(identifier, EapType.MSCHAPV2, body), note: 'answered the EAP-MSCHAPv2 challenge' };
  }

  private success(identifier: number, data: Uint8Array): MschapV2Step {
    if (this.expected === undefined) return { kind: 'invalid', detail: 'EAP-MSCHAPv2 Success before any Challenge' };
    const text = new TextDecoder('latin1').decode(data);
    const s = parseMessageTokens(text).get('S');
    if (s === undefined || !/^[0-9A-Fa-f]{40}$/.test(s)) return { kind: 'invalid', detail: 'EAP-MSCHAPv2 Success without a valid S= authenticator response' };
    // RFC 2759 §8.7: the gateway proves it knows our password; a wrong value means an impostor.
    if (!constantTimeEqual(new Uint8Array(Buffer.from(s, 'hex')), this.expected)) {
      return { kind: 'invalid', detail: 'the gateway\'s EAP-MSCHAPv2 authenticator response is wrong: it does not know the password (impostor?)' };
    }
    this.mutual = true;
    return { kind: 'respond', message: encodeEapResponse(identifier, EapType.MSCHAPV2, Uint8Array.of(OP_SUCCESS)), note: 'the gateway proved it knows the password (EAP-MSCHAPv2 Success)' };
  }

  private failure(identifier: number, data: Uint8Array): MschapV2Step {
    const text = sanitize(new TextDecoder('latin1').decode(data));
    const tokens = parseMessageTokens(text);
    const errorCode = Number.parseInt(tokens.get('E') ?? '', 10);
    const rejection = REJECTIONS[errorCode] ?? 'other';
    this.wipe();
    return {
      kind: 'rejected',
      rejection,
      errorCode: Number.isFinite(errorCode) ? errorCode : 0,
      gatewayMessage: tokens.get('M') ?? '',
      // draft-kamath §2: the peer answers a Failure Request with a Failure Response (OpCode alone).
      message: encodeEapResponse(identifier, EapType.MSCHAPV2, Uint8Array.of(OP_FAILURE)),
    };
  }
}
