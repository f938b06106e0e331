/**
 * One-line summaries of messages for logs, in charon's style:
 *
 *   IKE_AUTH request 1 [ IDi N(INITIAL_CONTACT) IDr AUTH SA TSi TSr N(MOBIKE_SUP) ]
 *
 * Only types and a few public numbers appear (never payload data), so a
 * line is safe to log even for payloads that carry secrets' derivatives.
 */
import { CfgAttr, CfgType, EapCode, EapType, NotifyType, PayloadType, exchangeName, notifyName } from '../constants.js';
import { isEncryptedPayload, isUnknownPayload } from './payload-chain.js';
import type { CpPayload, EapPayload, IkeMessage, Payload } from './types.js';

/** Short payload tokens as strongSwan prints them. */
const PAYLOAD_TOKEN: ReadonlyMap<number, string> = new Map<number, string>([
  [PayloadType.SA, 'SA'],
  [PayloadType.KE, 'KE'],
  [PayloadType.IDi, 'IDi'],
  [PayloadType.IDr, 'IDr'],
  [PayloadType.CERT, 'CERT'],
  [PayloadType.CERTREQ, 'CERTREQ'],
  [PayloadType.AUTH, 'AUTH'],
  [PayloadType.NONCE, 'No'],
  [PayloadType.DELETE, 'D'],
  [PayloadType.VENDOR, 'V'],
  [PayloadType.TSi, 'TSi'],
  [PayloadType.TSr, 'TSr'],
  [PayloadType.SK, 'SK'],
]);

/** Shorter names for the long notify names (as charon abbreviates them); others print in full. */
const NOTIFY_SHORT: ReadonlyMap<number, string> = new Map<number, string>([
  [NotifyType.UNSUPPORTED_CRITICAL_PAYLOAD, 'UNSUPPORTED_CRIT'],
  [NotifyType.NO_PROPOSAL_CHOSEN, 'NO_PROP'],
  [NotifyType.INVALID_KE_PAYLOAD, 'INVAL_KE'],
  [NotifyType.NAT_DETECTION_SOURCE_IP, 'NATD_S_IP'],
  [NotifyType.NAT_DETECTION_DESTINATION_IP, 'NATD_D_IP'],
  [NotifyType.USE_TRANSPORT_MODE, 'USE_TRANSP'],
  [NotifyType.HTTP_CERT_LOOKUP_SUPPORTED, 'HTTP_CERT_LOOK_SUP'],
  [NotifyType.ESP_TFC_PADDING_NOT_SUPPORTED, 'ESP_TFC_PAD_N'],
  [NotifyType.NON_FIRST_FRAGMENTS_ALSO, 'NON_FIRST_FRAG'],
  [NotifyType.MOBIKE_SUPPORTED, 'MOBIKE_SUP'],
  [NotifyType.ADDITIONAL_IP4_ADDRESS, 'ADD_4_ADDR'],
  [NotifyType.ADDITIONAL_IP6_ADDRESS, 'ADD_6_ADDR'],
  [NotifyType.NO_ADDITIONAL_ADDRESSES, 'NO_ADD_ADDR'],
  [NotifyType.UPDATE_SA_ADDRESSES, 'UPD_SA_ADDR'],
  [NotifyType.MULTIPLE_AUTH_SUPPORTED, 'MULT_AUTH'],
  [NotifyType.ANOTHER_AUTH_FOLLOWS, 'AUTH_FOLLOWS'],
  [NotifyType.REDIRECT_SUPPORTED, 'REDIR_SUP'],
  [NotifyType.EAP_ONLY_AUTHENTICATION, 'EAP_ONLY'],
  [NotifyType.IKEV2_FRAGMENTATION_SUPPORTED, 'FRAG_SUP'],
  [NotifyType.SIGNATURE_HASH_ALGORITHMS, 'HASH_ALG'],
  [NotifyType.INTERMEDIATE_EXCHANGE_SUPPORTED, 'IKE_INT_SUP'],
  [NotifyType.ADDITIONAL_KEY_EXCHANGE, 'ADD_KE'],
  // Not (yet) in constants.ts, but strongSwan sends them in every IKE_SA_INIT/IKE_AUTH:
  /** RFC 6023 CHILDLESS_IKEV2_SUPPORTED */
  [16418, 'CHDLESS_SUP'],
  /** RFC 6311 IKEV2_MESSAGE_ID_SYNC_SUPPORTED */
  [16420, 'MSG_ID_SYN_SUP'],
]);

const CFG_TOKEN: ReadonlyMap<number, string> = new Map<number, string>([
  [CfgType.CFG_REQUEST, 'CPRQ'],
  [CfgType.CFG_REPLY, 'CPRP'],
  [CfgType.CFG_SET, 'CPS'],
  [CfgType.CFG_ACK, 'CPA'],
]);

const CFG_ATTR_TOKEN: ReadonlyMap<number, string> = new Map<number, string>([
  [CfgAttr.INTERNAL_IP4_ADDRESS, 'ADDR'],
  [CfgAttr.INTERNAL_IP4_NETMASK, 'MASK'],
  [CfgAttr.INTERNAL_IP4_DNS, 'DNS'],
  [CfgAttr.INTERNAL_IP4_NBNS, 'NBNS'],
  [CfgAttr.INTERNAL_IP4_DHCP, 'DHCP'],
  [CfgAttr.APPLICATION_VERSION, 'VER'],
  [CfgAttr.INTERNAL_IP6_ADDRESS, 'ADDR6'],
  [CfgAttr.INTERNAL_IP6_DNS, 'DNS6'],
  [CfgAttr.INTERNAL_IP6_DHCP, 'DHCP6'],
  [CfgAttr.INTERNAL_IP4_SUBNET, 'SUBNET'],
  [CfgAttr.SUPPORTED_ATTRIBUTES, 'SUP'],
  [CfgAttr.INTERNAL_IP6_SUBNET, 'SUBNET6'],
  [CfgAttr.INTERNAL_DNS_DOMAIN, 'DOMAIN'],
  [CfgAttr.INTERNAL_DNSSEC_TA, 'DNSSEC_TA'],
]);

const EAP_CODE_TOKEN: ReadonlyMap<number, string> = new Map<number, string>([
  [EapCode.REQUEST, 'REQ'],
  [EapCode.RESPONSE, 'RES'],
  [EapCode.SUCCESS, 'SUCC'],
  [EapCode.FAILURE, 'FAIL'],
]);

const EAP_TYPE_TOKEN: ReadonlyMap<number, string> = new Map<number, string>([
  [EapType.IDENTITY, 'ID'],
  [EapType.NOTIFICATION, 'NTF'],
  [EapType.NAK, 'NAK'],
  [EapType.MD5_CHALLENGE, 'MD5'],
  [EapType.TLS, 'TLS'],
  [EapType.MSCHAPV2, 'MSCHAPV2'],
]);

function notifyToken(type: number): string {
  const short = NOTIFY_SHORT.get(type);
  if (short !== undefined) return short;
  const name = notifyName(type);
  return name.startsWith('UNKNOWN(') ? String(type) : name;
}

function cpToken(p: CpPayload): string {
  const attrs = p.attributes.map((a) => CFG_ATTR_TOKEN.get(a.type) ?? `(${a.type})`);
  return `${CFG_TOKEN.get(p.cfgType) ?? `CP(${p.cfgType})`}(${attrs.join(' ')})`;
}

/** EAP/REQ/ID, EAP/RES/MSCHAPV2, EAP/SUCC (RFC 3748 §4: Success/Failure carry no type). */
function eapToken(p: EapPayload): string {
  const code = p.message[0] ?? 0;
  const parts = ['EAP', EAP_CODE_TOKEN.get(code) ?? String(code)];
  const type = p.message[4];
  if ((code === EapCode.REQUEST || code === EapCode.RESPONSE) && type !== undefined) parts.push(EAP_TYPE_TOKEN.get(type) ?? String(type));
  return parts.join('/');
}

export function describePayload(p: Payload): string {
  if (isUnknownPayload(p)) return `UNKNOWN(${p.type})`;
  switch (p.type) {
    case PayloadType.NOTIFY:
      return `N(${notifyToken(p.notifyType)})`;
    case PayloadType.CP:
      return cpToken(p);
    case PayloadType.EAP:
      return eapToken(p);
    case PayloadType.SKF:
      return `EF(${p.fragmentNumber}/${p.totalFragments})`;
    default:
      return PAYLOAD_TOKEN.get(p.type) ?? String(p.type);
  }
}

/**
 * `inner` is the decrypted content of the SK payload: when given, it is
 * listed in place of the SK token, as charon logs decrypted messages.
 */
export function describeMessage(m: IkeMessage, inner?: readonly Payload[]): string {
  const h = m.header;
  const shown = inner === undefined ? m.payloads : [...m.payloads.filter((p) => !isEncryptedPayload(p)), ...inner];
  const tokens = shown.map(describePayload);
  return `${exchangeName(h.exchange)} ${h.response ? 'response' : 'request'} ${h.messageId} [ ${tokens.join(' ')}${tokens.length > 0 ? ' ' : ''}]`;
}
