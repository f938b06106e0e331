/**
 * HMAC-SHA-2 known answers.
 *
 * RFC 4231 §4.2–§4.8, test cases 1–7 (HMAC-SHA-256/384/512; case 5 gives
 * only the first 128 bits). RFC 4868 §2.7.1 uses the same cases as its PRF
 * test vectors (PRF-1 … PRF-6 = RFC 4231 cases 1, 2, 3, 4, 6, 7).
 */
import { ascii, fill, hex } from '../hex.js';

export interface HmacCase {
  readonly name: string;
  readonly key: Uint8Array;
  readonly data: Uint8Array;
  /** truncate the output to this many octets before comparing (case 5) */
  readonly truncate?: number;
  readonly sha256: string;
  readonly sha384: string;
  readonly sha512: string;
}

const key4 = hex('0102030405060708090a0b0c0d0e0f10111213141516171819');

export const RFC4231: readonly HmacCase[] = [
  {
    name: 'RFC 4231 test case 1 / RFC 4868 PRF-1',
    key: fill(0x0b, 20),
    data: ascii('Hi There'),
    sha256: 'b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7',
    sha384: 'afd03944d84895626b0825f4ab46907f15f9dadbe4101ec682aa034c7cebc59cfaea9ea9076ede7f4af152e8b2fa9cb6',
    sha512: '87aa7cdea5ef619d4ff0b4241a1d6cb02379f4e2ce4ec2787ad0b30545e17cdedaa833b7d6b8a702038b274eaea3f4e4be9d914eeb61f1702e696c203a126854',
  },
  {
    name: 'RFC 4231 test case 2 / RFC 4868 PRF-2 (key shorter than the output)',
    key: ascii('Jefe'),
    data: ascii('what do ya want for nothing?'),
    sha256: '5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843',
    sha384: 'af45d2e376484031617f78d2b58a6b1b9c7ef464f5a01b47e42ec3736322445e8e2240ca5e69e2c78b3239ecfab21649',
    sha512: '164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270cd7ea2505549758bf75c05a994a6d034f65f8f0e6fdcaeab1a34d4a6b4b636e070a38bce737',
  },
  {
    name: 'RFC 4231 test case 3 / RFC 4868 PRF-3',
    key: fill(0xaa, 20),
    data: fill(0xdd, 50),
    sha256: '773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe',
    sha384: '88062608d3e6ad8a0aa2ace014c8a86f0aa635d947ac9febe83ef4e55966144b2a5ab39dc13814b94e3ab6e101a34f27',
    sha512: 'fa73b0089d56a284efb0f0756c890be9b1b5dbdd8ee81a3655f83e33b2279d39bf3e848279a722c806b485a47e67c807b946a337bee8942674278859e13292fb',
  },
  {
    name: 'RFC 4231 test case 4 / RFC 4868 PRF-4',
    key: key4,
    data: fill(0xcd, 50),
    sha256: '82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b',
    sha384: '3e8a69b7783c25851933ab6290af6ca77a9981480850009cc5577c6e1f573b4e6801dd23c4a7d679ccf8a386c674cffb',
    sha512: 'b0ba465637458c6990e5a8c5f61d4af7e576d97ff94b872de76f8050361ee3dba91ca5c11aa25eb4d679275cc5788063a5f19741120c4f2de2adebeb10a298dd',
  },
  {
    name: 'RFC 4231 test case 5 (truncation to 128 bits)',
    key: fill(0x0c, 20),
    data: ascii('Test With Truncation'),
    truncate: 16,
    sha256: 'a3b6167473100ee06e0c796c2955552b',
    sha384: '3abf34c3503b2a23a46efc619baef897',
    sha512: '415fad6271580a531d4179bc891d87a6',
  },
  {
    name: 'RFC 4231 test case 6 / RFC 4868 PRF-5 (key larger than the block)',
    key: fill(0xaa, 131),
    data: ascii('Test Using Larger Than Block-Size Key - Hash Key First'),
    sha256: '60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54',
    sha384: '4ece084485813e9088d2c63a041bc5b44f9ef1012a2b588f3cd11f05033ac4c60c2ef6ab4030fe8296248df163f44952',
    sha512: '80b24263c7c1a3ebb71493c1dd7be8b49b46d1f41b4aeec1121b013783f8f3526b56d037e05f2598bd0fd2215d6a1e5295e64f73f63f0aec8b915a985d786598',
  },
  {
    name: 'RFC 4231 test case 7 / RFC 4868 PRF-6 (key and data larger than the block)',
    key: fill(0xaa, 131),
    data: ascii('This is a test using a larger than block-size key and a larger than block-size data. The key needs to be hashed before being used by the HMAC algorithm.'),
    sha256: '9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2',
    sha384: '6617178e941f020d351e2f254e8fd32c602420feb0b8fb9adccebb82461e99c5a678cc31e799176d3860e6110c46523e',
    sha512: 'e37b6a775dc87dbaa4dfa9f96e5e3ffddebd71f8867289865df5a32d20cdc944b6022cac3c4982b10d5eeb55c3e4de15134676fb6de0446065c97440fa8c6a58',
  },
];

export interface AuthenticatorCase {
  readonly name: string;
  readonly integ: 'sha256' | 'sha384' | 'sha512';
  readonly key: Uint8Array;
  readonly data: Uint8Array;
  readonly icv: string;
}

const jefe = (n: number): Uint8Array => ascii('Jefe'.repeat(n / 4));

/**
 * RFC 4868 §2.7.2.1–§2.7.2.3: authenticator test vectors (full-length keys,
 * ICV truncated to half the hash: 128/192/256 bits).
 */
export const RFC4868_AUTH: readonly AuthenticatorCase[] = [
  { name: 'AUTH256-1', integ: 'sha256', key: fill(0x0b, 32), data: ascii('Hi There'), icv: '198a607eb44bfbc69903a0f1cf2bbdc5' },
  { name: 'AUTH256-2', integ: 'sha256', key: jefe(32), data: ascii('what do ya want for nothing?'), icv: '167f928588c5cc2eef8e3093caa0e87c' },
  { name: 'AUTH256-3', integ: 'sha256', key: fill(0xaa, 32), data: fill(0xdd, 50), icv: 'cdcb1220d1ecccea91e53aba3092f962' },
  { name: 'AUTH384-1', integ: 'sha384', key: fill(0x0b, 48), data: ascii('Hi There'), icv: 'b6a8d5636f5c6a7224f9977dcf7ee6c7fb6d0c48cbdee973' },
  { name: 'AUTH384-2', integ: 'sha384', key: jefe(48), data: ascii('what do ya want for nothing?'), icv: '2c7353974f1842fd66d53c452ca42122b28c0b594cfb184d' },
  { name: 'AUTH384-3', integ: 'sha384', key: fill(0xaa, 48), data: fill(0xdd, 50), icv: '809f439be00274321d4a538652164b53554a508184a0c316' },
  { name: 'AUTH512-1', integ: 'sha512', key: fill(0x0b, 64), data: ascii('Hi There'), icv: '637edc6e01dce7e6742a99451aae82df23da3e92439e590e43e761b33e910fb8' },
  { name: 'AUTH512-2', integ: 'sha512', key: jefe(64), data: ascii('what do ya want for nothing?'), icv: 'cb370917ae8a7ce28cfd1d8f4705d6141c173b2a9362c15df235dfb251b15454' },
  { name: 'AUTH512-3', integ: 'sha512', key: fill(0xaa, 64), data: fill(0xdd, 50), icv: '2ee7acd783624ca9398710f3ee05ae41b9f9b0510c87e49e586cc9bf961733d8' },
];

/** RFC 2202 §3 test case 1 (HMAC-SHA-1), for the interop-only PRF_HMAC_SHA1 */
export const RFC2202_SHA1_CASE1 = { key: fill(0x0b, 20), data: ascii('Hi There'), out: 'b617318655057264e28bc0b6fb378c8ef146be00' };
