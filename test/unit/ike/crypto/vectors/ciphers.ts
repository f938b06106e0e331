/**
 * Cipher known answers for the SK payload.
 */
import { ascii, hex } from '../hex.js';

export interface CbcCase {
  readonly name: string;
  readonly key: Uint8Array;
  readonly iv: Uint8Array;
  readonly plaintext: Uint8Array;
  readonly ciphertext: Uint8Array;
}

/** RFC 3602 §4 (AES-128-CBC) cases 1–4 and NIST SP 800-38A F.2.5 (CBC-AES256.Encrypt). */
export const CBC_CASES: readonly CbcCase[] = [
  {
    name: 'RFC 3602 case #1 (1 block)',
    key: hex('06a9214036b8a15b512e03d534120006'),
    iv: hex('3dafba429d9eb430b422da802c9fac41'),
    plaintext: ascii('Single block msg'),
    ciphertext: hex('e353779c1079aeb82708942dbe77181a'),
  },
  {
    name: 'RFC 3602 case #2 (2 blocks)',
    key: hex('c286696d887c9aa0611bbb3e2025a45a'),
    iv: hex('562e17996d093d28ddb3ba695a2e6f58'),
    plaintext: hex('000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f'),
    ciphertext: hex('d296cd94c2cccf8a3a863028b5e1dc0a7586602d253cfff91b8266bea6d61ab1'),
  },
  {
    name: 'RFC 3602 case #3 (3 blocks)',
    key: hex('6c3ea0477630ce21a2ce334aa746c2cd'),
    iv: hex('c782dc4c098c66cbd9cd27d825682c81'),
    plaintext: ascii('This is a 48-byte message (exactly 3 AES blocks)'),
    ciphertext: hex('d0a02b3836451753d493665d33f0e8862dea54cdb293abc7506939276772f8d5021c19216bad525c8579695d83ba2684'),
  },
  {
    name: 'RFC 3602 case #4 (4 blocks)',
    key: hex('56e47a38c5598974bc46903dba290349'),
    iv: hex('8ce82eefbea0da3c44699ed7db51b7d9'),
    plaintext: hex('a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebfc0c1c2c3c4c5c6c7c8c9cacbcccdcecfd0d1d2d3d4d5d6d7d8d9dadbdcdddedf'),
    ciphertext: hex('c30e32ffedc0774e6aff6af0869f71aa0f3af07a9a31a9c684db207eb0ef8e4e35907aa632c3ffdf868bb7b29d3d46ad83ce9f9a102ee99d49a53e87f4c3da55'),
  },
  {
    name: 'NIST SP 800-38A F.2.5 CBC-AES256',
    key: hex('603deb1015ca71be2b73aef0857d77811f352c073b6108d72d9810a30914dff4'),
    iv: hex('000102030405060708090a0b0c0d0e0f'),
    plaintext: hex('6bc1bee22e409f96e93d7e117393172aae2d8a571e03ac9c9eb76fac45af8e5130c81c46a35ce411e5fbc1191a0a52eff69f2445df4f9b17ad2b417be66c3710'),
    ciphertext: hex('f58c4c04d6e5f1ba779eabfb5f7bfbd69cfc4e967edb808d679f777bc6702c7d39f23369a9d9bacfa530e26304231461b2eb05e2c39be9fcda6c19078c6a9d1b'),
  },
];

export interface AeadCase {
  readonly name: string;
  /** ENCR id */
  readonly encr: number;
  readonly keyBits?: number;
  /** key | 4-octet salt, as SK_e (RFC 5282 §7.1, RFC 7634 §3) */
  readonly encKey: Uint8Array;
  /** the 8-octet explicit IV; nonce = salt | iv */
  readonly iv: Uint8Array;
  readonly aad: Uint8Array;
  readonly plaintext: Uint8Array;
  /** ciphertext | ICV */
  readonly sealed: Uint8Array;
}

const MV_KEY128 = 'feffe9928665731c6d6a8f9467308308';
const MV_SALT = 'cafebabe';
const MV_IV = 'facedbaddecaf888';
const MV_P60 = 'd9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a721c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39';
const MV_P64 = `${MV_P60}1aafd255`;
const MV_AAD = 'feedfacedeadbeeffeedfacedeadbeefabaddad2';
const MV_C128 = '42831ec2217774244b7221b784d0d49ce3aa212f2c02a4e035c17e2329aca12e21d514b25466931c7d8f6a5aac84aa051ba30b396a0aac973d58e091';
const MV_C256 = '522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662';

/**
 * McGrew & Viega, "The Galois/Counter Mode of Operation (GCM)", Appendix B,
 * test cases 3, 4, 15 and 16 (96-bit IV cafebabefacedbaddecaf888, split as
 * IKE's salt | IV). GCM-8/12 truncate the same tag (RFC 4106 §1).
 */
export const GCM_CASES: readonly AeadCase[] = [
  {
    name: 'GCM test case 3 (AES-128, no AAD), ICV 16',
    encr: 20,
    keyBits: 128,
    encKey: hex(MV_KEY128 + MV_SALT),
    iv: hex(MV_IV),
    aad: new Uint8Array(0),
    plaintext: hex(MV_P64),
    sealed: hex(`${MV_C128}473f59854d5c2af327cd64a62cf35abd2ba6fab4`),
  },
  {
    name: 'GCM test case 3, ICV 12 (ENCR_AES_GCM_12)',
    encr: 19,
    keyBits: 128,
    encKey: hex(MV_KEY128 + MV_SALT),
    iv: hex(MV_IV),
    aad: new Uint8Array(0),
    plaintext: hex(MV_P64),
    sealed: hex(`${MV_C128}473f59854d5c2af327cd64a62cf35abd`),
  },
  {
    name: 'GCM test case 3, ICV 8 (ENCR_AES_GCM_8)',
    encr: 18,
    keyBits: 128,
    encKey: hex(MV_KEY128 + MV_SALT),
    iv: hex(MV_IV),
    aad: new Uint8Array(0),
    plaintext: hex(MV_P64),
    sealed: hex(`${MV_C128}473f59854d5c2af327cd64a6`),
  },
  {
    name: 'GCM test case 4 (AES-128 with AAD)',
    encr: 20,
    keyBits: 128,
    encKey: hex(MV_KEY128 + MV_SALT),
    iv: hex(MV_IV),
    aad: hex(MV_AAD),
    plaintext: hex(MV_P60),
    sealed: hex(`${MV_C128}5bc94fbc3221a5db94fae95ae7121a47`),
  },
  {
    name: 'GCM test case 15 (AES-256, no AAD)',
    encr: 20,
    keyBits: 256,
    encKey: hex(MV_KEY128 + MV_KEY128 + MV_SALT),
    iv: hex(MV_IV),
    aad: new Uint8Array(0),
    plaintext: hex(MV_P64),
    sealed: hex(`${MV_C256}898015adb094dac5d93471bdec1a502270e3cc6c`),
  },
  {
    name: 'GCM test case 16 (AES-256 with AAD)',
    encr: 20,
    keyBits: 256,
    encKey: hex(MV_KEY128 + MV_KEY128 + MV_SALT),
    iv: hex(MV_IV),
    aad: hex(MV_AAD),
    plaintext: hex(MV_P60),
    sealed: hex(`${MV_C256}76fc6ece0f4e1768cddf8853bb2d551b`),
  },
];

/**
 * RFC 7539 §2.8.2 (AEAD_CHACHA20_POLY1305 example): the 12-octet nonce
 * 07000000 4041424344454647 is IKE's salt | IV (RFC 7634 §2).
 */
export const RFC7539_AEAD: AeadCase = {
  name: 'RFC 7539 §2.8.2',
  encr: 28,
  encKey: hex('808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f07000000'),
  iv: hex('4041424344454647'),
  aad: hex('50515253c0c1c2c3c4c5c6c7'),
  plaintext: ascii("Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the future, sunscreen would be it."),
  sealed: hex(
    'd31a8d34648e60db7b86afbc53ef7ec2a4aded51296e08fea9e2b5a736ee62d63dbea45e8ca9671282fafb69da92728b1a71de0a9e060b2905d6a5b67ecd3b3692ddbd7f2d778b8c9803aee328091b58fab324e4fad675945585808b4831d7bc3ff4def08e4b7a9de576d26586cec64b6116' +
      '1ae10b594f09e26a7e902ecbd0600691',
  ),
};

/**
 * RFC 7634 Appendix B: an IKEv2 INFORMATIONAL request protected with
 * ChaCha20-Poly1305, as a whole message. AAD = IKE header (28) | SK payload
 * header (4); the plaintext is a Notify payload (SET_WINDOW_SIZE) and a zero
 * Pad Length octet.
 */
export const RFC7634_IKEV2 = {
  encKey: hex('808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f a0a1a2a3'),
  message: hex(
    'c0c1c2c3c4c5c6c7 d0d1d2d3d4d5d6d7 2e 20 25 00 00000009 00000045' + // IKE header: SPIi, SPIr, next SK, v2.0, INFORMATIONAL, flags 0, MID 9, length 69
      '29 00 0029' + // SK payload header: next Notify, length 41
      '1011121314151617' + // IV
      '610394701f8d017f7c12924889' + // ciphertext (13 octets)
      '6b71bfe25236efd7cdc67066906315b2', // ICV (16 octets)
  ),
  /** AAD = header | SK payload header */
  aadLength: 32,
  ivLength: 8,
  plaintext: hex('0000000c000040010000000a 00'),
  innerPayload: hex('0000000c000040010000000a'),
} as const;

export interface WycheproofGcmCase {
  readonly tcId: number;
  readonly key: Uint8Array;
  readonly iv: Uint8Array;
  readonly aad: Uint8Array;
  readonly msg: Uint8Array;
  readonly ct: Uint8Array;
  readonly tag: Uint8Array;
  readonly valid: boolean;
}

const W_KEY = hex('000102030405060708090a0b0c0d0e0f');
const W_IV = hex('505152535455565758595a5b');
const W_MSG = hex('202122232425262728292a2b2c2d2e2f');
const W_CT = hex('eb156d081ed6b6b55f4612f021d87b39');
const modifiedTag = (tcId: number, tag: string): WycheproofGcmCase => ({ tcId, key: W_KEY, iv: W_IV, aad: new Uint8Array(0), msg: W_MSG, ct: W_CT, tag: hex(tag), valid: false });

/**
 * Wycheproof testvectors_v1/aes_gcm_test.json (C2SP/wycheproof), group
 * ivSize 96 / keySize 128 / tagSize 128: valid tcIds 2, 3, 13 and
 * "ModifiedTag" tcIds 41–45, 49, 53, 56 (flipped tag bits 0, 1, 7, 8, 31,
 * 64, 96, 120).
 */
export const WYCHEPROOF_GCM: readonly WycheproofGcmCase[] = [
  {
    tcId: 2,
    key: hex('5b9604fe14eadba931b0ccf34843dab9'),
    iv: hex('921d2507fa8007b7bd067d34'),
    aad: hex('00112233445566778899aabbccddeeff'),
    msg: hex('001d0c231287c1182784554ca3a21908'),
    ct: hex('49d8b9783e911913d87094d1f63cc765'),
    tag: hex('1e348ba07cca2cf04c618cb4d43a5b92'),
    valid: true,
  },
  {
    tcId: 3,
    key: hex('aa023d0478dcb2b2312498293d9a9129'),
    iv: hex('0432bc49ac34412081288127'),
    aad: hex('aac39231129872a2'),
    msg: hex('2035af313d1346ab00154fea78322105'),
    ct: hex('eea945f3d0f98cc0fbab472a0cf24e87'),
    tag: hex('4bb9b4812519dadf9e1232016d068133'),
    valid: true,
  },
  {
    tcId: 13,
    key: hex('38449890234eb8afab0bbf82e2385454'),
    iv: hex('33e90658416e7c1a7c005f11'),
    aad: hex('4020855c66ac4595058395f367201c4c'),
    msg: hex('f762776bf83163b323ca63a6b3adeac1e1357262'),
    ct: hex('a6f2ef3c7ef74a126dd2d5f6673964e27d5b34b6'),
    tag: hex('b8bbdc4f5014bc752c8b4e9b87f650a3'),
    valid: true,
  },
  modifiedTag(41, 'd9847dbc326a06e988c77ad3863e6083'),
  modifiedTag(42, 'da847dbc326a06e988c77ad3863e6083'),
  modifiedTag(43, '58847dbc326a06e988c77ad3863e6083'),
  modifiedTag(44, 'd8857dbc326a06e988c77ad3863e6083'),
  modifiedTag(45, 'd8847d3c326a06e988c77ad3863e6083'),
  modifiedTag(49, 'd8847dbc326a06e989c77ad3863e6083'),
  modifiedTag(53, 'd8847dbc326a06e988c77ad3873e6083'),
  modifiedTag(56, 'd8847dbc326a06e988c77ad3863e6082'),
];

/** The tag all ModifiedTag cases above were derived from (each flips one bit of it). */
export const WYCHEPROOF_GCM_UNMODIFIED_TAG = hex('d8847dbc326a06e988c77ad3863e6083');
