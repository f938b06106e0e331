/**
 * IKEv2 KDF known answers (NIST SP 800-135 §4.1.2 "IKEv2" component test).
 *
 * The CAVP response file `ikev2.rsp` itself was not available offline; the
 * values below are NIST's own published test data taken from two places
 * that carry them verbatim:
 *
 *  - ACVP_SHA256: usnistgov/ACVP-Server,
 *    crypto/test/NIST.CVP.Crypto.IKEv2.Tests/IKEv2Tests.cs, test case
 *    "IKEv2 SHA2-256" (NIST's reference implementation test; all five
 *    outputs: SKEYSEED, DKM, DKM(Child SA), DKM(Child SA D-H),
 *    SKEYSEED(Rekey); DKM length 3072 bits, 256-octet nonces).
 *  - NSS_SHA256 / NSS_SHA384: Mozilla NSS,
 *    gtests/common/testvectors/ike-sha256-vectors.h and ike-sha384-vectors.h,
 *    entries marked "these vectors are from this NIST samples" (CAVS IKEv2,
 *    count 0): SKEYSEED (ikeGxy), DKM of 1056 bits (ikePlus) and
 *    SKEYSEED(Rekey) (ikeV2Rekey, keyed with SK_d = the first prf-length
 *    octets of DKM). NSS does not reproduce DKM(Child SA) for these.
 *  - LIBRESWAN_SHA1: libreswan's CAVS driver (programs/cavp, file
 *    libreswan-ikev2-cavs, comment with the sample run "-h 2"), for the
 *    interop-only PRF_HMAC_SHA1.
 */
import { hex } from '../hex.js';

export interface Ikev2KdfCase {
  readonly source: string;
  readonly prf: 'sha1' | 'sha256' | 'sha384';
  readonly ni: Uint8Array;
  readonly nr: Uint8Array;
  readonly gir: Uint8Array;
  readonly girNew: Uint8Array;
  readonly spii: Uint8Array;
  readonly spir: Uint8Array;
  readonly skeyseed: Uint8Array;
  readonly dkm: Uint8Array;
  readonly dkmChild?: Uint8Array;
  readonly dkmChildDh?: Uint8Array;
  readonly skeyseedRekey: Uint8Array;
}

export const ACVP_SHA256: Ikev2KdfCase = {
  source: 'NIST ACVP-Server IKEv2Tests.cs "IKEv2 SHA2-256"',
  prf: 'sha256',
  ni: hex(
    '0a58fea9c1d4fee2e74e1aad6fb02dd5f318eb127465a112be8dc3c04d5dba62eae708f9dc1b2362afd6ba4bda3cf5000f4979fbcbadbcfda9291593829c4e905c21db0c2ee15175ce77a8a0dadf25c7f175bc53fd91b636a9b3c50b203de9b9d6dc463dcb4048f101e26498ceaed3afbcd931394a7e099392dfff82e5d6fa85c2e8a8ab90ad363a66795dc32798847e405acd87988140f973058917273a6b0bafb962c75e2b1a21e79c08beeb82168bf8b4b57f3dce867bf7862a7b8acbc21be838021913daf64340c055ed17aaf7b6e1d0ca33ae890ddbdb83f4e615aad5e3bff58c3db70bac81a0dfbabe5391fc62bca4659e22a0741e01d8d06e67d9bb41',
  ),
  nr: hex(
    'e4fdfa68df6171d9eaff8b7b5ad31e7c6098d259f3397c9854cbefe7449b0864c1df16ddece8b26567560f8d59182a44c19149c2d0d72606a160021ade3d23c7c6936c91a4b6bec37adf38cfc84b851c68dcee06f81306f63abbefc07e231e3058c49437a557df617eac01663593d2a3e594699284c0a35eae6931492ccb2a43db72a600a3899205d681d2b76b1280e456339bb10e0c584aecfdae31c77a4c40dbcb345f782ac32835d4c220c1e97254ded6a40075dd717b00b69c86a49e801773026536ae02d58a649827f1ba67610ee936dffd11c9d5a9156631916a0a0046ec0ba42f56f2a18de83d5d71a985b0cc9eec2c06b3d907ca58454419f374069d',
  ),
  gir: hex('9d469de41b4739c7dd01f19aa94f17e48150ae9dbede94832142db19'),
  girNew: hex('c2987b0767006c3b9aea491bfed1646a3d7194639492b8d45b23b383'),
  spii: hex('c8de93111750e409'),
  spir: hex('32d51b33508997fa'),
  skeyseed: hex('eec13ac67c2e072abb684ab4e7b6ce3e7f400af8b96bed48e113497ed337f8d4'),
  dkm: hex(
    'bc83518f63b762874ac57947cdfae33a8d9724df0b83ee4b6df38c23fc2ad829f4d70b5a68dd1f5a52416f09758638aedf919c09a17c5298cdb703bb75b1005cba0109739aaa4efd2fe7534c95ad05e546e4419931270eddcab68ac1589d7fde47f5b9e8d5b614cb24ec3caf515497a9e99ee6f1b318ff153b539ef071dcaff9b41945dcb780700d69e5dc888a91de195c52825badfd0ab4c33cec71ab5c2b4badefe5455455ce5d8ae91721a2091bcccc1514e69482c9c8da1d9f0f187eedda916393570a8c0a8dfabc26d8ed31e8ea47662515972a22d11d692bc1fac6395aecd82a01ab78daafcd6f3070b1201f158a19331b5d21ceee66fccd2ea37bc07648b9539a52dbf797af53e31a0e8706dd86cf5081ebabd095f281d23c222dd3bc5abf06869017ca8f751cafcc85abea6ba88c139d1f32a12f7f486cf57eae5d85551b97f3963616d8f597c70efa98c1e1fa369fb77a80b1ec5fe533890672c4551172eab1b7fd68ad08c4d4c69f2a867302065ca730aa6915bc2cfb6d93820977',
  ),
  dkmChild: hex(
    'c725012285d56e53244a9baaaf95abfca543708d333a3f3a86ba660e00edd4d489bcd631819fda0413382edd9f53d1ed718e056c2ad91d38de90f06cd434de70141d051c021e7ddd6e4137946b4770dca59a4decabdd866852eb557fdd995646613ff2923f5f23aa58c8fbd5ad52cf2eac9bda97faad5596695f4a747a0f1cc6a1f78b2181138fb19ac24574d2e6b3a40d6e688abb919a27d793b76568ec66bd099f6f476b705c1472d774a1516a11311b887688f36649e24227640ea8d8666b9f452217e7103b6f0a92b6adb8fbda650ba58d6ac13ac6f6b6361a5d1c44f1e9f22196c96295115c5d01a120e7265962d20353a049286908da776c2165f706a16f43d85fcd319f89c4386340bcb8ed10df38345cb68af719abaf997e9789a5f19a392dcecd78168ba282f0b30555c7a47031a3156d12d7158aa41b863b8394d30fec63120e89cbc5750eed7786f7d5961b1f2e6faca641ed776d2211bee757b68b77f94056172553715da9fbd1c9a8728f28a2f3c9714a4917490132562484cd',
  ),
  dkmChildDh: hex(
    '140a1f2a3c94318ece6edfa8c63f37d8d45982de8b6cbfe34011150db0253e34de3796d4aa579954a0bbf234794eb6e7ece2a8f91100f5507df4ee8e66c7813d4c0ff64d484a3494c54b0d9c605ea24234a49a010ce5c352feb9e1060c8c787229466296cdc9d11bb9d221ed2bb39544572464254ec02a0fbe777b07402c775eb6d3e53cd16214c707f851942cc7da92a811b6c5c82f29d9fc3751b0ebff9898fb14372402a6989ffb9cc32dfe7e2cea32fd882e09804d7fea34ce3b5eb6f303e095c48a452b0a3eccada81af22195ebbaad289aeabdab074c94e751496bde39d868ebf1d693f36d1c3c672bbb59c9f77aeb68de57d77da231b7f13d6d277f600c3d3086c4de7b3a59127f4cb9c118935574f30e1b7c88b52c8c3531fdbd38ee3d14c69e81803ced6e7501fa0180f6d110b648272002dc1ad5bf09dc83188011da1d48632e0d2453c8abdd8e9fd32a576aeb9ddfb0a024f674441c20a950d9bd8cd7b30933cc0d8e87b55e8aa9d913579b410417b3acc13c14bf73c457327873',
  ),
  skeyseedRekey: hex('05f796c8df322a7e33283ae5fa2f376d8d5efa0ac3745fc548e430031424c121'),
};

export const NSS_SHA256: Ikev2KdfCase = {
  source: 'NIST CAVS IKEv2 SHA-256 sample, via NSS ike-sha256-vectors.h (tests 6, 7, 8)',
  prf: 'sha256',
  ni: hex('3f302be1abcb28e1'),
  nr: hex('8c332ee006064c9b'),
  gir: hex('0f4d257d7a58fc4545c7d7a88119eee5d5c9690c5b4c989171d3abbfd99d1d29'),
  girNew: hex('25f3b12d6f282739256e39bf54eda53b60ffcf379bb7bcc90c27b4c4c578616c'),
  spii: hex('40dac39e1e1a8640'),
  spir: hex('8619a1cf9a6e4c07'),
  skeyseed: hex('5f00d1bd2c58ec224b1e6b71fa0f19a1faa7a193952c444411b47c1a9d8ba6fe'),
  dkm: hex(
    '0b137d669b0947d7d026d593f0305ad401ff0c471357d695778a9c7f4b4869ece98aca531188d16041b3bb936d2dbb3b4993a6e768a809160de45d0283f273a6cdf6854379e31be72b8d3d1fa990cf9c5b015ca9f918a7df6253c958114a09d4e1c19bdcd4db14b29d98db1a74ad405c588662c14a04d0d36aa4ab55e90f8986d12d4aad',
  ),
  skeyseedRekey: hex('2d63f6debc92048b4fef3889c4c99ca67d6496e0fac14a2bca9a2d6566ff2398'),
};

export const NSS_SHA384: Ikev2KdfCase = {
  source: 'NIST CAVS IKEv2 SHA-384 sample, via NSS ike-sha384-vectors.h (tests 6, 7, 8)',
  prf: 'sha384',
  ni: hex('fd1b572a8e735591'),
  nr: hex('6013b0ef88dacd3d'),
  gir: hex('d3288cd87565101e88fe3bad918f31939d8dd26ff1071f8b2d7f447524e58d7c'),
  girNew: hex('3358f620539473aee8d07e779764c4c6a9aabddc79a28e136b3bac021dbde44a'),
  spii: hex('2116ad07ce61f749'),
  spir: hex('24880e55f11a65b7'),
  skeyseed: hex('69fe7a1ac94adaeb711295f5fe004b1a8d6a0b65d05692758ce8ad2f7a45f59d7d0b596f51f7dfcf3330061888f6a94f'),
  dkm: hex(
    '4f904c2025c90c817ea5ff9b662a6fdb445a73b57cdf09eacd379b95e1f03cacb04cd6deeda4f952191dd9bc1f7a9502471a648d74dc06d38112de48a42501f6b1a3ad55c2099cd9a648e5f17e5bf3e34bf9b5953decb768a34f875fe2b78dca0c2fcca81ec1a412006dfaed38fa06882e61f4c148105fb8e231fdb33c4d484c001721d4',
  ),
  skeyseedRekey: hex('e0548c1682e13bce454026b3b1bdf42985b24e4e7408095a7c529de38c3d1fcb04c9fe6868042a34c9614c6c99e3fcea'),
};

export const LIBRESWAN_SHA1: Ikev2KdfCase = {
  source: 'libreswan CAVS driver sample run (PRF HMAC-SHA1, DKM 132 octets)',
  prf: 'sha1',
  ni: hex('32b50d5f4a3763f3'),
  nr: hex('9206a04b26564cb1'),
  gir: hex('4b2c1f971981a8ad8d0abeafabf38cf75fc8349c148142465ed9c8b516b8be52'),
  girNew: hex('863f3c9d06efd39d2b907b97f8699e5dd5251ef64a2a176f36ee40c87d4f9330'),
  spii: hex('34c9e7c188868785'),
  spir: hex('3ff77d760d2b2199'),
  skeyseed: hex('a9a7b222b59f8f48645f28a1db5b5f5d7479cba7'),
  dkm: hex(
    'a14293677cc80ff8f9cc0eee30d895da9d8f405666e30ef0dfcb63c634a46002a2a63080e514a062768b76606f9fa5e992204fc5a670bde3f10d6b027113936a5c55b648a194ae587b0088d52204b702c979fa280870d2ed41efa9c549fd11198af1670b143d384bd275c5f594cf266b05ebadca855e4249520a441a81157435a7a56cc4',
  ),
  dkmChild: hex(
    '8059e3ee8810e6c3a91bc8bcd2a7a41151b8d0e6ae239c7b38093ad85ef4c5811a8e7b5d1cdabd9560b2d5e092d1f24e2d4b85eccdf0ad0dc9abd94b51ee71814ca6dbc8bb51b6309f5b9545c7eb35cf5580b1e521a8fe20754a2d883ba0c2cf285f524aea6545b33106bc03e614296d319d41d4b50b3f510b1c0a22f3e664994d234cb4',
  ),
  dkmChildDh: hex(
    'bb43244c1860ad65ee1e211ffe8bb3661750c8f89cb9f547df7f4fa61d37301628190e38c66232eab4b3ab14c400a5197dd3730ed4820a8a10394d51e1c0400052f63ebd36b0e7ef53aaed31eba4a5080d7d4b5666023a8bbb5ffb7857240f9a05884d1b7d2f933708450b7b3288f1fc863ab49fa901227cffc06e27899c7054d56fd74c',
  ),
  skeyseedRekey: hex('63e81194946ebd05df7df5ebf5d8750056bf1f1d'),
};
