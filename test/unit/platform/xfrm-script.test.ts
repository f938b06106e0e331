// The `ip -batch` lines for SAs and policies, for each ESP transform the
// backend maps (RFC 4106 GCM, RFC 3602/4868 CBC+HMAC, RFC 7634 ChaCha20),
// ESN (RFC 4304), UDP encapsulation (RFC 3948) and IPv4/IPv6 selector pairs.
// The same lines were run against the UML lab kernel (see platform.suite.ts).

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { EncrId, IntegId } from '../../../native-helper/src/ike/constants.js';
import { isPlatformError } from '../../../native-helper/src/platform/errors.js';
import { kernelAlgorithms } from '../../../native-helper/src/platform/linux/algorithms.js';
import { REQID_MIN } from '../../../native-helper/src/platform/linux/marks.js';
import {
  allocateReqid,
  childPolicies,
  ikeBypassPolicies,
  tunnelCouldCarryIke,
  policyDeleteLine,
  policyLine,
  saAddLine,
  saDeleteLine,
  validateChildSa,
} from '../../../native-helper/src/platform/linux/xfrm.js';
import { childSpec, keyHexes, ts } from './specs.js';

const REQID = REQID_MIN + 1;
const hex = (b: Uint8Array | undefined): string => Buffer.from(b ?? new Uint8Array()).toString('hex');

describe('SA lines', () => {
  it('AES-GCM-16 with a 256-bit key: rfc4106 with key+salt (36 octets), ICV 128, both directions', () => {
    const spec = childSpec({ alg: 'gcm256' });
    const alg = validateChildSa(spec);
    const inbound = saAddLine(spec, 'in', REQID, alg);
    const outbound = saAddLine(spec, 'out', REQID, alg);
    assert.equal(
      inbound.text,
      `xfrm state add src 192.0.2.1 dst 192.0.2.2 proto esp spi 0xc0000001 reqid ${REQID} mode tunnel replay-window 64 flag af-unspec ` +
        `aead 'rfc4106(gcm(aes))' 0x${hex(spec.inbound.encKey)} 128 limit time-soft 3000 limit time-hard 3600`,
    );
    assert.equal(
      outbound.text,
      `xfrm state add src 192.0.2.2 dst 192.0.2.1 proto esp spi 0xd0000001 reqid ${REQID} mode tunnel replay-window 64 flag af-unspec ` +
        `aead 'rfc4106(gcm(aes))' 0x${hex(spec.outbound.encKey)} 128 limit time-soft 3000 limit time-hard 3600`,
    );
    assert.equal(hex(spec.inbound.encKey).length, 72);
    // the label goes into errors and logs: no key
    for (const k of keyHexes(spec)) assert.ok(!inbound.label.includes(k) && !outbound.label.includes(k));
    assert.equal(inbound.label, 'SA in spi 0xc0000001');
  });

  it('AES-GCM-16 with a 128-bit key: 20 octets of key+salt', () => {
    const spec = childSpec({ alg: 'gcm128' });
    const line = saAddLine(spec, 'out', REQID, validateChildSa(spec)).text;
    assert.match(line, new RegExp(`aead 'rfc4106\\(gcm\\(aes\\)\\)' 0x${hex(spec.outbound.encKey)} 128`));
    assert.equal(hex(spec.outbound.encKey).length, 40);
  });

  it('AES-CBC + HMAC-SHA2-256-128: enc + auth-trunc with 128-bit truncation (RFC 4868 §2.3)', () => {
    const spec = childSpec({ alg: 'cbcSha256' });
    const line = saAddLine(spec, 'in', REQID, validateChildSa(spec)).text;
    assert.match(line, new RegExp(`enc 'cbc\\(aes\\)' 0x${hex(spec.inbound.encKey)} auth-trunc 'hmac\\(sha256\\)' 0x${hex(spec.inbound.integKey)} 128 `));
    assert.doesNotMatch(line, /aead/);
  });

  it('AES-CBC-128 + HMAC-SHA1-96: 96-bit truncation, 160-bit key', () => {
    const spec = childSpec({ alg: 'cbc128Sha1' });
    const line = saAddLine(spec, 'in', REQID, validateChildSa(spec)).text;
    assert.match(line, new RegExp(`auth-trunc 'hmac\\(sha1\\)' 0x${hex(spec.inbound.integKey)} 96 `));
  });

  it('ChaCha20-Poly1305: rfc7539esp with 256-bit key + 4-octet salt (RFC 7634 §3)', () => {
    const spec = childSpec({ alg: 'chacha' });
    const line = saAddLine(spec, 'out', REQID, validateChildSa(spec)).text;
    assert.match(line, new RegExp(`aead 'rfc7539esp\\(chacha20,poly1305\\)' 0x${hex(spec.outbound.encKey)} 128`));
  });

  it('ESN adds "esn" to the flags', () => {
    const spec = childSpec({ alg: 'gcm256esn' });
    assert.match(saAddLine(spec, 'in', REQID, validateChildSa(spec)).text, / flag af-unspec esn aead /);
  });

  it('UDP encapsulation: ports as on the wire for each direction (RFC 3948 §2.1)', () => {
    const spec = { ...childSpec({ encap: true }), encap: { localPort: 4501, remotePort: 4500 } };
    const alg = validateChildSa(spec);
    assert.match(saAddLine(spec, 'in', REQID, alg).text, / encap espinudp 4500 4501 0\.0\.0\.0 /);
    assert.match(saAddLine(spec, 'out', REQID, alg).text, / encap espinudp 4501 4500 0\.0\.0\.0 /);
    assert.doesNotMatch(saAddLine(childSpec(), 'out', REQID, validateChildSa(childSpec())).text, /encap/);
  });

  it('IPv6 endpoints', () => {
    const spec = childSpec({ local: '2001:db8:2::2', remote: '2001:db8:2::1' });
    assert.match(saAddLine(spec, 'in', REQID, validateChildSa(spec)).text, /^xfrm state add src 2001:db8:2::1 dst 2001:db8:2::2 proto esp /);
  });

  it('delete lines name the SA by dst, proto and SPI only (no key)', () => {
    assert.equal(saDeleteLine({ src: '192.0.2.1', dst: '192.0.2.2', spi: 0xc0000001 }).text, 'xfrm state delete src 192.0.2.1 dst 192.0.2.2 proto esp spi 0xc0000001');
  });
});

describe('algorithm mapping', () => {
  it('maps the RFC 8221 ESP transforms to kernel names and key sizes', () => {
    assert.deepEqual(kernelAlgorithms({ encr: EncrId.AES_GCM_8, encrKeyLength: 128, esn: false }), { kind: 'aead', name: 'rfc4106(gcm(aes))', keyOctets: 20, icvBits: 64 });
    assert.deepEqual(kernelAlgorithms({ encr: EncrId.AES_GCM_12, encrKeyLength: 192, esn: false }), { kind: 'aead', name: 'rfc4106(gcm(aes))', keyOctets: 28, icvBits: 96 });
    assert.deepEqual(kernelAlgorithms({ encr: EncrId.CHACHA20_POLY1305, esn: false }), { kind: 'aead', name: 'rfc7539esp(chacha20,poly1305)', keyOctets: 36, icvBits: 128 });
    assert.deepEqual(kernelAlgorithms({ encr: 16, encrKeyLength: 256, esn: false }), { kind: 'aead', name: 'rfc4309(ccm(aes))', keyOctets: 35, icvBits: 128 });
    assert.deepEqual(kernelAlgorithms({ encr: EncrId.AES_CTR, encrKeyLength: 128, integ: IntegId.HMAC_SHA2_512_256, esn: false }), {
      kind: 'cipher+integ',
      enc: { name: 'rfc3686(ctr(aes))', keyOctets: 20 },
      auth: { name: 'hmac(sha512)', keyOctets: 64, truncBits: 256 },
    });
    assert.deepEqual(kernelAlgorithms({ encr: EncrId.AES_CBC, encrKeyLength: 192, integ: IntegId.HMAC_SHA2_384_192, esn: false }), {
      kind: 'cipher+integ',
      enc: { name: 'cbc(aes)', keyOctets: 24 },
      auth: { name: 'hmac(sha384)', keyOctets: 48, truncBits: 192 },
    });
  });

  const rejects = (alg: Parameters<typeof kernelAlgorithms>[0], reason: string): void =>
    assert.throws(
      () => kernelAlgorithms(alg),
      (e: unknown) => isPlatformError(e) && e.reason === reason,
    );

  it('refuses DES, 3DES, NULL, HMAC-MD5 and CBC without integrity (RFC 8221)', () => {
    rejects({ encr: EncrId['3DES'], esn: false }, 'unsupported-algorithm');
    rejects({ encr: EncrId.DES, esn: false }, 'unsupported-algorithm');
    rejects({ encr: EncrId.NULL, integ: IntegId.HMAC_SHA2_256_128, esn: false }, 'unsupported-algorithm');
    rejects({ encr: EncrId.AES_CBC, encrKeyLength: 128, integ: IntegId.HMAC_MD5_96, esn: false }, 'unsupported-algorithm');
    rejects({ encr: EncrId.AES_CBC, encrKeyLength: 128, esn: false }, 'unsupported-algorithm');
  });

  it('refuses bad key lengths and AEAD with an integrity transform', () => {
    rejects({ encr: EncrId.AES_GCM_16, encrKeyLength: 512, esn: false }, 'invalid-spec');
    rejects({ encr: EncrId.AES_CBC, integ: IntegId.HMAC_SHA2_256_128, esn: false }, 'invalid-spec');
    rejects({ encr: EncrId.AES_GCM_16, encrKeyLength: 128, integ: IntegId.HMAC_SHA2_256_128, esn: false }, 'invalid-spec');
  });
});

describe('spec validation', () => {
  const invalid = (spec: ReturnType<typeof childSpec>, pattern: RegExp): void =>
    assert.throws(
      () => validateChildSa(spec),
      (e: unknown) => isPlatformError(e) && e.reason === 'invalid-spec' && pattern.test(e.message) && keyHexes(spec).every((k) => !e.message.includes(k)),
    );

  it('key lengths must match the transform', () => {
    const spec = childSpec({ alg: 'gcm256' });
    invalid({ ...spec, inbound: { ...spec.inbound, encKey: spec.inbound.encKey.subarray(0, 32) } }, /inbound encryption key is 32 octets, the transform needs 36/);
    const cbc = childSpec({ alg: 'cbcSha256' });
    invalid({ ...cbc, outbound: { spi: cbc.outbound.spi, encKey: cbc.outbound.encKey } }, /outbound integrity key is 0 octets/);
  });

  it('SPIs 0..255 are reserved (RFC 4303 §2.1)', () => {
    invalid(childSpec({ spiIn: 255 }), /inbound SPI 255/);
    invalid(childSpec({ spiOut: 2 ** 32 }), /outbound SPI/);
  });

  it('ESN without a replay window, mixed endpoint families, empty selectors', () => {
    invalid(childSpec({ alg: 'gcm256esn', replayWindow: 0 }), /extended sequence numbers need a replay window/);
    invalid(childSpec({ remote: '2001:db8:2::1' }), /different address families/);
    invalid({ ...childSpec(), remoteTs: [] }, /traffic selectors/);
  });
});

describe('policies', () => {
  it('out/in/fwd for each same-family TS pair, VIP as the local selector, IPv6 over IPv4 SAs', () => {
    const lines = childPolicies(childSpec(), REQID).map((p) => policyLine(p, 'add').text);
    const t4 = `tmpl src 192.0.2.2 dst 192.0.2.1 proto esp reqid ${REQID} mode tunnel`;
    const t4in = `tmpl src 192.0.2.1 dst 192.0.2.2 proto esp reqid ${REQID} mode tunnel`;
    assert.deepEqual(lines, [
      `xfrm policy add src 10.99.0.77/32 dst 10.10.0.0/24 dir out priority 1398018065 ${t4}`,
      `xfrm policy add src 10.10.0.0/24 dst 10.99.0.77/32 dir in priority 1398018065 ${t4in}`,
      `xfrm policy add src 10.10.0.0/24 dst 10.99.0.77/32 dir fwd priority 1398018065 ${t4in}`,
      `xfrm policy add src fd00:99::77/128 dst fd00:10::/64 dir out priority 1398018177 ${t4}`,
      `xfrm policy add src fd00:10::/64 dst fd00:99::77/128 dir in priority 1398018177 ${t4in}`,
      `xfrm policy add src fd00:10::/64 dst fd00:99::77/128 dir fwd priority 1398018177 ${t4in}`,
    ]);
  });

  it('a full-tunnel TSr (0.0.0.0/0, ::/0) gives the lowest-specificity priority', () => {
    const pols = childPolicies(childSpec({ remoteTs: [ts('0.0.0.0', '255.255.255.255'), ts('::', 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff')] }), REQID);
    assert.deepEqual(
      pols.filter((p) => p.dir === 'out').map((p) => [p.sel.dst, p.priority]),
      [
        ['0.0.0.0/0', 0x5354_1000 + 2 * 32 + 1],
        ['::/0', 0x5354_1000 + 2 * 128 + 1],
      ],
    );
  });

  it('an address range becomes the exact set of prefixes', () => {
    const pols = childPolicies(childSpec({ localTs: [ts('10.99.0.77')], remoteTs: [ts('10.10.0.1', '10.10.0.6')] }), REQID);
    assert.deepEqual(
      pols.filter((p) => p.dir === 'out').map((p) => p.sel.dst),
      ['10.10.0.1/32', '10.10.0.2/31', '10.10.0.4/31', '10.10.0.6/32'],
    );
  });

  it('protocol and single ports narrow the selector; more specific policies get a lower priority', () => {
    const spec = childSpec({ localTs: [ts('10.99.0.77', '10.99.0.77', { proto: 6 })], remoteTs: [ts('10.10.0.10', '10.10.0.10', { proto: 6, port: 443 })] });
    const [out, inbound] = childPolicies(spec, REQID);
    assert.deepEqual(out?.sel, { src: '10.99.0.77/32', dst: '10.10.0.10/32', proto: 6, dport: 443 });
    assert.deepEqual(inbound?.sel, { src: '10.10.0.10/32', dst: '10.99.0.77/32', proto: 6, sport: 443 });
    assert.equal(out?.priority, 0x5354_1000);
    assert.equal(policyLine(out!, 'add').text.split(' dir ')[0], 'xfrm policy add src 10.99.0.77/32 dst 10.10.0.10/32 proto 6 dport 443');
  });

  it('port ranges and ICMP type/code widen to protocol-only (traffic stays inside the tunnel)', () => {
    const ranged = childPolicies(childSpec({ localTs: [ts('10.99.0.77')], remoteTs: [ts('10.10.0.0', '10.10.0.255', { proto: 17, ports: [1000, 2000] })] }), REQID);
    assert.deepEqual(ranged[0]?.sel, { src: '10.99.0.77/32', dst: '10.10.0.0/24', proto: 17 });
    const icmp = childPolicies(childSpec({ localTs: [ts('10.99.0.77')], remoteTs: [ts('10.10.0.0', '10.10.0.255', { proto: 1, port: 0x0800 })] }), REQID);
    assert.deepEqual(icmp[0]?.sel, { src: '10.99.0.77/32', dst: '10.10.0.0/24', proto: 1 });
  });

  it('pairs of different families or incompatible protocols are skipped; none left is an error', () => {
    const v4only = childPolicies(childSpec({ localTs: [ts('10.99.0.77')] }), REQID);
    assert.ok(v4only.every((p) => !p.sel.src.includes(':')));
    assert.throws(
      () => childPolicies(childSpec({ localTs: [ts('10.99.0.77', '10.99.0.77', { proto: 6 })], remoteTs: [ts('10.10.0.0', '10.10.0.255', { proto: 17 })] }), REQID),
      (e: unknown) => isPlatformError(e) && /no pair of local and remote traffic selectors/.test(e.message),
    );
  });

  it('IKE bypass: UDP 500/4500 to and from the gateway stays outside a tunnel whose selectors could carry it, ahead of every tunnel policy', () => {
    // host-to-host full tunnel without a virtual IP: the local selector covers our own IKE address
    const spec = childSpec({ localTs: [ts('0.0.0.0', '255.255.255.255')], remoteTs: [ts('0.0.0.0', '255.255.255.255')] });
    assert.equal(tunnelCouldCarryIke(spec), true);
    const lines = ikeBypassPolicies(spec).map((p) => policyLine(p, 'add').text);
    assert.deepEqual(lines, [
      'xfrm policy add src 0.0.0.0/0 dst 192.0.2.1/32 proto 17 dport 500 dir out priority 1398014208',
      'xfrm policy add src 192.0.2.1/32 dst 0.0.0.0/0 proto 17 sport 500 dir in priority 1398014208',
      'xfrm policy add src 0.0.0.0/0 dst 192.0.2.1/32 proto 17 dport 4500 dir out priority 1398014208',
      'xfrm policy add src 192.0.2.1/32 dst 0.0.0.0/0 proto 17 sport 4500 dir in priority 1398014208',
    ]);
    assert.ok(1398014208 < 0x5354_1000);
  });

  it('no IKE bypass where no tunnel policy can match IKE: a virtual IP selector, or a remote selector without the gateway', () => {
    // remote access: local selector = the virtual IP, so our IKE packets (from 192.0.2.2) match no tunnel policy
    const vip = childSpec({ remoteTs: [ts('0.0.0.0', '255.255.255.255')] });
    assert.equal(tunnelCouldCarryIke(vip), false);
    assert.deepEqual(ikeBypassPolicies(vip), []);
    // the local side covers us, but the remote selectors (the LAN) do not hold the gateway's address
    const split = childSpec({ localTs: [ts('0.0.0.0', '255.255.255.255')], remoteTs: [ts('10.10.0.0', '10.10.0.255')] });
    assert.equal(tunnelCouldCarryIke(split), false);
    // a remote range that holds the gateway (192.0.2.1) with a local side that holds us (192.0.2.2)
    const wide = childSpec({ localTs: [ts('192.0.2.0', '192.0.2.255')], remoteTs: [ts('192.0.2.0', '192.0.2.127')] });
    assert.equal(ikeBypassPolicies(wide).length, 4);
  });

  it('delete lines identify a policy by selector and direction', () => {
    const [p] = childPolicies(childSpec(), REQID);
    assert.equal(policyDeleteLine(p!).text, 'xfrm policy delete src 10.99.0.77/32 dst 10.10.0.0/24 dir out');
  });
});

describe('reqid allocation', () => {
  it('uses the Strait range, REQID_MIN + id, and skips used values', () => {
    assert.equal(allocateReqid(7, new Set()), REQID_MIN + 7);
    assert.equal(allocateReqid(7, new Set([REQID_MIN + 7, REQID_MIN + 8])), REQID_MIN + 9);
    assert.equal(allocateReqid(0x1_0003, new Set()), REQID_MIN + 3);
  });
});
