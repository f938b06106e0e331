/**
 * Key exchange known answers.
 */
import { hex } from '../hex.js';

export interface DhCase {
  readonly name: string;
  readonly group: number;
  readonly privateI: Uint8Array;
  readonly publicI: Uint8Array;
  readonly privateR: Uint8Array;
  readonly publicR: Uint8Array;
  readonly shared: Uint8Array;
}

/** RFC 5903 §8.1–§8.3: i, g^i = gix | giy, r, g^r = grx | gry, g^ir = girx */
export const RFC5903: readonly DhCase[] = [
  {
    name: 'RFC 5903 §8.1 (256-bit random ECP group)',
    group: 19,
    privateI: hex('c88f01f510d9ac3f70a292daa2316de544e9aab8afe84049c62a9c57862d1433'),
    publicI: hex('dad0b65394221cf9b051e1feca5787d098dfe637fc90b9ef945d0c3772581180 5271a0461cdb8252d61f1c456fa3e59ab1f45b33accf5f58389e0577b8990bb3'),
    privateR: hex('c6ef9c5d78ae012a011164acb397ce2088685d8f06bf9be0b283ab46476bee53'),
    publicR: hex('d12dfb5289c8d4f81208b70270398c342296970a0bccb74c736fc7554494bf63 56fbf3ca366cc23e8157854c13c58d6aac23f046ada30f8353e74f33039872ab'),
    shared: hex('d6840f6b42f6edafd13116e0e12565202fef8e9ece7dce03812464d04b9442de'),
  },
  {
    name: 'RFC 5903 §8.2 (384-bit random ECP group)',
    group: 20,
    privateI: hex('099f3c7034d4a2c699884d73a375a67f7624ef7c6b3c0f160647b67414dce655e35b538041e649ee3faef896783ab194'),
    publicI: hex(
      '667842d7d180ac2cde6f74f37551f55755c7645c20ef73e31634fe72b4c55ee6de3ac808acb4bdb4c88732aee95f41aa' +
        '9482ed1fc0eeb9cafc4984625ccfc23f65032149e0e144ada024181535a0f38eeb9fcff3c2c947dae69b4c634573a81c',
    ),
    privateR: hex('41cb0779b4bdb85d47846725fbec3c9430fab46cc8dc5060855cc9bda0aa2942e0308312916b8ed2960e4bd55a7448fc'),
    publicR: hex(
      'e558dbef53eecde3d3fccfc1aea08a89a987475d12fd950d83cfa41732bc509d0d1ac43a0336def96fda41d0774a3571' +
        'dcfbec7aacf3196472169e838430367f66eebe3c6e70c416dd5f0c68759dd1fff83fa40142209dff5eaad96db9e6386c',
    ),
    shared: hex('11187331c279962d93d604243fd592cb9d0a926f422e47187521287e7156c5c4d603135569b9e9d09cf5d4a270f59746'),
  },
  {
    name: 'RFC 5903 §8.3 (521-bit random ECP group)',
    group: 21,
    privateI: hex('0037ade9319a89f4dabdb3ef411aaccca5123c61acab57b5393dce47608172a095aa85a30fe1c2952c6771d937ba9777f5957b2639bab072462f68c27a57382d4a52'),
    publicI: hex(
      '0015417e84dbf28c0ad3c278713349dc7df153c897a1891bd98bab4357c9ecbee1e3bf42e00b8e380aeae57c2d107564941885942af5a7f4601723c4195d176ced3e' +
        '017cae20b6641d2eeb695786d8c946146239d099e18e1d5a514c739d7cb4a10ad8a788015ac405d7799dc75e7b7d5b6cf2261a6a7f1507438bf01beb6ca3926f9582',
    ),
    privateR: hex('0145ba99a847af43793fdd0e872e7cdfa16be30fdc780f97bccc3f078380201e9c677d600b343757a3bdbf2a3163e4c2f869cca7458aa4a4effc311f5cb151685eb9'),
    publicR: hex(
      '00d0b3975ac4b799f5bea16d5e13e9af971d5e9b984c9f39728b5e5739735a219b97c356436adc6e95bb0352f6be64a6c2912d4ef2d0433ced2b6171640012d9460f' +
        '015c68226383956e3bd066e797b623c27ce0eac2f551a10c2c724d9852077b87220b6536c5c408a1d2aebb8e86d678ae49cb57091f4732296579ab44fcd17f0fc56a',
    ),
    shared: hex('01144c7d79ae6956bc8edb8e7c787c4521cb086fa64407f97894e5e6b2d79b04d1427e73ca4baa240a34786859810c06b3c715a3a8cc3151f2bee417996d19f3ddea'),
  },
];

/** RFC 7748 §6.1 (X25519) and §6.2 (X448) Diffie-Hellman examples (Alice = i, Bob = r). */
export const RFC7748_DH: readonly DhCase[] = [
  {
    name: 'RFC 7748 §6.1 (Curve25519)',
    group: 31,
    privateI: hex('77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a'),
    publicI: hex('8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a'),
    privateR: hex('5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb'),
    publicR: hex('de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f'),
    shared: hex('4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742'),
  },
  {
    name: 'RFC 7748 §6.2 (Curve448)',
    group: 32,
    privateI: hex('9a8f4925d1519f5775cf46b04b5800d4ee9ee8bae8bc5565d498c28dd9c9baf574a9419744897391006382a6f127ab1d9ac2d8c0a598726b'),
    publicI: hex('9b08f7cc31b7e3e67d22d5aea121074a273bd2b83de09c63faa73d2c22c5d9bbc836647241d953d40c5b12da88120d53177f80e532c41fa0'),
    privateR: hex('1c306a7ac2a0e2e0990b294470cba339e6453772b075811d8fad0d1d6927c120bb5ee8972b0d3e21374c9c921b09d1b0366f10b65173992d'),
    publicR: hex('3eb7a829b0cd20f5bcfc0b599b6feccf6da4627107bdb0d4f345b43027d8b972fc3e34fb4232a13ca706dcb57aec3dae07bdc1c67bf33609'),
    shared: hex('07fff4181ac6cc95ec1c16a94a0f74d12da232ce40a77552281d282bb60c0b56fd2464c335543936521c24403085d59a449a5037514a879d'),
  },
];

export interface ScalarMultCase {
  readonly name: string;
  readonly group: number;
  readonly scalar: Uint8Array;
  readonly u: Uint8Array;
  readonly out: Uint8Array;
}

/** RFC 7748 §5.2: the two single scalar-multiplication test vectors per function. */
export const RFC7748_SCALAR_MULT: readonly ScalarMultCase[] = [
  {
    name: 'RFC 7748 §5.2 X25519 #1',
    group: 31,
    scalar: hex('a546e36bf0527c9d3b16154b82465edd62144c0ac1fc5a18506a2244ba449ac4'),
    u: hex('e6db6867583030db3594c1a424b15f7c726624ec26b3353b10a903a6d0ab1c4c'),
    out: hex('c3da55379de9c6908e94ea4df28d084f32eccf03491c71f754b4075577a28552'),
  },
  {
    name: 'RFC 7748 §5.2 X25519 #2 (u with the top bit set, masked per §5)',
    group: 31,
    scalar: hex('4b66e9d4d1b4673c5ad22691957d6af5c11b6421e0ea01d42ca4169e7918ba0d'),
    u: hex('e5210f12786811d3f4b7959d0538ae2c31dbe7106fc03c3efc4cd549c715a493'),
    out: hex('95cbde9476e8907d7aade45cb4b873f88b595a68799fa152e6f8f7647aac7957'),
  },
  {
    name: 'RFC 7748 §5.2 X448 #1',
    group: 32,
    scalar: hex('3d262fddf9ec8e88495266fea19a34d28882acef045104d0d1aae121700a779c984c24f8cdd78fbff44943eba368f54b29259a4f1c600ad3'),
    u: hex('06fce640fa3487bfda5f6cf2d5263f8aad88334cbd07437f020f08f9814dc031ddbdc38c19c6da2583fa5429db94ada18aa7a7fb4ef8a086'),
    out: hex('ce3e4ff95a60dc6697da1db1d85e6afbdf79b50a2412d7546d5f239fe14fbaadeb445fc66a01b0779d98223961111e21766282f73dd96b6f'),
  },
  {
    name: 'RFC 7748 §5.2 X448 #2',
    group: 32,
    scalar: hex('203d494428b8399352665ddca42f9de8fef600908e0d461cb021f8c538345dd77c3e4806e25f46d3315c44e0a5b4371282dd2c8d5be3095f'),
    u: hex('0fbcc2f993cd56d3305b0b7d9e55d4c1a8fb5dbb52f8e9a1e9b6201b165d015894e56c4d3570bee52fe205e28a78b91cdfbde71ce8d157db'),
    out: hex('884a02576239ff7a2f2f63b2db6a9ff37047ac13568e1e30fe63c4a7ad1b3ee3a5700df34321d62077e63633c575c1c954514e99da7c179d'),
  },
];

/** RFC 7748 §5.2: k after 1 and 1000 iterations of k, u ← X(k, u), k starting at the base point u = 9. */
export const RFC7748_ITERATED = [
  { group: 31, length: 32, after1: '422c8e7a6227d7bca1350b3e2bb7279f7897b87bb6854b783c60e80311ae3079', after1000: '684cf59ba83309552800ef566f2f4d3c1c3887c49360e3875f2eb94d99532c51' },
  {
    group: 32,
    length: 56,
    after1: '3f482c8a9f19b01e6c46ee9711d9dc14fd4bf67af30765c2ae2b846a4d23a8cd0db897086239492caf350b51f833868b9bc2b3bca9cf4113',
    after1000: 'aa3b4749d55b9daf1e5b00288826c467274ce3ebbdd5c17b975e09d4af6c67cf10d087202db88286e2b79fceea3ec353ef54faa26e219f38',
  },
] as const;

export interface EcdhWycheproofCase {
  readonly tcId: number;
  readonly comment: string;
  /** ecpoint encoding as in the file (04 | x | y, or compressed, or empty) */
  readonly public: Uint8Array;
  readonly private: Uint8Array;
  /** expected shared secret, or null when the public key must be refused */
  readonly shared: Uint8Array | null;
}

const W_PRIV_INVALID = hex('7e4aa54f714bf01df85c50269bea3a86721f84afe74f7b41ea58abcf3474e88d');
const W_P = 'ffffffff00000001000000000000000000000000ffffffffffffffffffffffff';
const W_PM1 = 'ffffffff00000001000000000000000000000000fffffffffffffffffffffffe';
const Z32 = '0000000000000000000000000000000000000000000000000000000000000000';
const ONE32 = '0000000000000000000000000000000000000000000000000000000000000001';
const offCurve = (tcId: number, x: string, y: string): EcdhWycheproofCase => ({ tcId, comment: 'point is not on curve', public: hex(`04${x}${y}`), private: W_PRIV_INVALID, shared: null });

/**
 * Wycheproof testvectors_v1/ecdh_secp256r1_ecpoint_test.json (C2SP/wycheproof):
 * tcIds 1, 3, 4, 5 (valid; 3 has an all-zero x-coordinate, which ECP must
 * accept), 2 (compressed point: not an IKEv2 encoding), 332–347 (point not
 * on the curve, including coordinates p−1 and p) and 348 (empty).
 */
export const WYCHEPROOF_ECDH_P256: readonly EcdhWycheproofCase[] = [
  {
    tcId: 1,
    comment: 'normal case',
    public: hex('0462d5bd3372af75fe85a040715d0f502428e07046868b0bfdfa61d731afe44f26ac333a93a9e70a81cd5a95b5bf8d13990eb741c8c38872b4a07d275a014e30cf'),
    private: hex('0612465c89a023ab17855b0a6bcebfd3febb53aef84138647b5352e02c10c346'),
    shared: hex('53020d908b0219328b658b525f26780e3ae12bcd952bb25a93bc0895e1714285'),
  },
  {
    tcId: 2,
    comment: 'compressed public key',
    public: hex('0362d5bd3372af75fe85a040715d0f502428e07046868b0bfdfa61d731afe44f26'),
    private: hex('0612465c89a023ab17855b0a6bcebfd3febb53aef84138647b5352e02c10c346'),
    shared: null,
  },
  {
    tcId: 3,
    comment: 'shared secret has x-coordinate that satisfies x**2 = 0',
    public: hex('0458fd4168a87795603e2b04390285bdca6e57de6027fe211dd9d25e2212d29e62080d36bd224d7405509295eed02a17150e03b314f96da37445b0d1d29377d12c'),
    private: hex('0a0d622a47e48f6bc1038ace438c6f528aa00ad2bd1da5f13ee46bf5f633d71a'),
    shared: hex(Z32),
  },
  {
    tcId: 4,
    comment: 'shared secret has x-coordinate p-3',
    public: hex('04a1ecc24bf0d0053d23f5fd80ddf1735a1925039dc1176c581a7e795163c8b9ba2cb5a4e4d5109f4527575e3137b83d79a9bcb3faeff90d2aca2bed71bb523e7e'),
    private: hex('0a0d622a47e48f6bc1038ace438c6f528aa00ad2bd1da5f13ee46bf5f633d71a'),
    shared: hex('ffffffff00000001000000000000000000000000fffffffffffffffffffffffc'),
  },
  {
    tcId: 5,
    comment: 'shared secret has x-coordinate 2**16 + 0',
    public: hex('041b0e7437c33d379929430d3ec10df59bed7fe2a1d950c5791e1e9ddeef1f4d70fbdb0e3bbce63a27f27838c685207f2ccaf689d25eb622744db1168ac92619e8'),
    private: hex('0a0d622a47e48f6bc1038ace438c6f528aa00ad2bd1da5f13ee46bf5f633d71a'),
    shared: hex('0000000000000000000000000000000000000000000000000000000000010000'),
  },
  offCurve(332, Z32, Z32),
  offCurve(333, Z32, ONE32),
  offCurve(334, Z32, W_PM1),
  offCurve(335, Z32, W_P),
  offCurve(336, ONE32, Z32),
  offCurve(337, ONE32, ONE32),
  offCurve(338, ONE32, W_PM1),
  offCurve(339, ONE32, W_P),
  offCurve(340, W_PM1, Z32),
  offCurve(341, W_PM1, ONE32),
  offCurve(342, W_PM1, W_PM1),
  offCurve(343, W_PM1, W_P),
  offCurve(344, W_P, Z32),
  offCurve(345, W_P, ONE32),
  offCurve(346, W_P, W_PM1),
  offCurve(347, W_P, W_P),
  { tcId: 348, comment: 'empty public key', public: new Uint8Array(0), private: W_PRIV_INVALID, shared: null },
];

export interface XdhWycheproofCase {
  readonly tcId: number;
  readonly public: Uint8Array;
  readonly private: Uint8Array;
  /** null: all-zero shared secret, must be refused (RFC 8031 §2.3) */
  readonly shared: Uint8Array | null;
}

/**
 * Wycheproof testvectors_v1/x25519_test.json: tcIds 1 (normal), 2 (point on
 * the twist, computed per RFC 7748), 34 (edge-case public key), 32 and 33
 * (public key 0 and 1, "ZeroSharedSecret": refused).
 */
export const WYCHEPROOF_X25519: readonly XdhWycheproofCase[] = [
  {
    tcId: 1,
    public: hex('504a36999f489cd2fdbc08baff3d88fa00569ba986cba22548ffde80f9806829'),
    private: hex('c8a9d5a91091ad851c668b0736c1c9a02936c0d3ad62670858088047ba057475'),
    shared: hex('436a2c040cf45fea9b29a0cb81b1f41458f863d0d61b453d0a982720d6d61320'),
  },
  {
    tcId: 2,
    public: hex('63aa40c6e38346c5caf23a6df0a5e6c80889a08647e551b3563449befcfc9733'),
    private: hex('d85d8c061a50804ac488ad774ac716c3f5ba714b2712e048491379a500211958'),
    shared: hex('279df67a7c4611db4708a0e8282b195e5ac0ed6f4b2f292c6fbd0acac30d1332'),
  },
  {
    tcId: 34,
    public: hex('0400000000000000000000000000000000000000000000000000000000000000'),
    private: hex('a8386f7f16c50731d64f82e6a170b142a4e34f31fd7768fcb8902925e7d1e25a'),
    shared: hex('34b7e4fa53264420d9f943d15513902342b386b172a0b0b7c8b8f2dd3d669f59'),
  },
  { tcId: 32, public: hex(Z32), private: hex('88227494038f2bb811d47805bcdf04a2ac585ada7f2f23389bfd4658f9ddd45e'), shared: null },
  { tcId: 33, public: hex('0100000000000000000000000000000000000000000000000000000000000000'), private: hex('48232e8972b61c7e61930eb9450b5070eae1c670475685541f0476217e48184f'), shared: null },
];

/**
 * The small-order u-coordinates of Curve25519 (0, 1, the two points of
 * order 8, p−1, p, p+1): X25519 of any scalar with them is all zero, so
 * RFC 8031 §2.3 refuses them. The list is the one libsodium blocks and that
 * RFC 7748 §7 alludes to.
 */
export const X25519_SMALL_ORDER: readonly Uint8Array[] = [
  hex(Z32),
  hex('0100000000000000000000000000000000000000000000000000000000000000'),
  hex('e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800'),
  hex('5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157'),
  hex('ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f'),
  hex('edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f'),
  hex('eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f'),
];
