/** Proposal strings, the SA payload we offer, and the check of the responder's choice. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { EncrId, IntegId, KeId, PayloadType, PrfId, ProtocolId, TransformType } from '../../../../native-helper/src/ike/constants.js';
import { decodeSa, encodeSa } from '../../../../native-helper/src/ike/codec/payloads/sa.js';
import { Reader } from '../../../../native-helper/src/ike/codec/reader.js';
import type { SaPayload, Transform } from '../../../../native-helper/src/ike/codec/types.js';
import { Writer } from '../../../../native-helper/src/ike/codec/writer.js';
import {
  DEFAULT_ESP_PROPOSALS,
  DEFAULT_IKE_PROPOSALS,
  ProposalError,
  checkChosen,
  formatProposalSpec,
  offeredGroups,
  parseEspProposal,
  parseEspProposals,
  parseIkeProposal,
  parseIkeProposals,
  toEspSuite,
  toIkeSuite,
  toSaPayload,
} from '../../../../native-helper/src/ike/proposals.js';

function throwsToken(fn: () => unknown, token: string, detail: RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof ProposalError, String(e));
    assert.equal(e.token, token);
    assert.match(e.message, detail);
    return true;
  });
}

describe('proposal strings', () => {
  it('parses strongSwan IKE proposals into typed specs', () => {
    assert.deepEqual(parseIkeProposal('aes256gcm16-prfsha256-ecp256'), [
      { protocol: 'ike', encr: [{ id: EncrId.AES_GCM_16, keyLength: 256 }], prf: [PrfId.HMAC_SHA2_256], integ: [], ke: [KeId.ECP_256] },
    ]);
    assert.deepEqual(parseIkeProposal('aes256-sha256-modp2048'), [
      { protocol: 'ike', encr: [{ id: EncrId.AES_CBC, keyLength: 256 }], prf: [PrfId.HMAC_SHA2_256], integ: [IntegId.HMAC_SHA2_256_128], ke: [KeId.MODP_2048] },
    ]);
    assert.deepEqual(parseIkeProposal('chacha20poly1305-prfsha256-x25519')[0]?.encr, [{ id: EncrId.CHACHA20_POLY1305 }]);
    assert.deepEqual(parseIkeProposal('AES128GCM16-PRFSHA384-ECP384-X25519')[0]?.ke, [KeId.ECP_384, KeId.CURVE25519]);
  });

  it('parses ESP proposals, with PFS groups and ESN choices', () => {
    assert.deepEqual(parseEspProposal('aes256gcm16'), [{ protocol: 'esp', encr: [{ id: EncrId.AES_GCM_16, keyLength: 256 }], integ: [], ke: [], esn: [false] }]);
    assert.deepEqual(parseEspProposal('aes256-sha256')[0]?.integ, [IntegId.HMAC_SHA2_256_128]);
    assert.deepEqual(parseEspProposal('aes256gcm16-ecp256')[0]?.ke, [KeId.ECP_256]);
    assert.deepEqual(parseEspProposal('aes128gcm16-esn-noesn')[0]?.esn, [true, false]);
  });

  it('names the bad keyword in its error', () => {
    throwsToken(() => parseIkeProposal('aes256-sha1-modp2048'), 'sha1', /deprecated/);
    throwsToken(() => parseIkeProposal('3des-sha256-modp2048'), '3des', /insecure/);
    throwsToken(() => parseIkeProposal('aes256-md5-modp2048'), 'md5', /insecure/);
    throwsToken(() => parseIkeProposal('aes256gcm16-prfsha256-modp1024'), 'modp1024', /RFC 8247/);
    throwsToken(() => parseIkeProposal('aes256gcm16-prfsha256-ecp256-ke1_mlkem768'), 'ke1_mlkem768', /RFC 9370/);
    throwsToken(() => parseIkeProposal('aes256gcm16-prfsha256-frobnicate'), 'frobnicate', /not a known algorithm keyword/);
    throwsToken(() => parseIkeProposal('aes256gcm16-prfsha256-ecp256-esn'), 'esn', /ESP proposals only/);
    throwsToken(() => parseEspProposal('aes256gcm16-prfsha256'), 'prfsha256', /ESP proposals have none/);
  });

  it('refuses incomplete proposals, saying what is missing', () => {
    throwsToken(() => parseIkeProposal('prfsha256-ecp256'), '', /no encryption algorithm/);
    throwsToken(() => parseIkeProposal('aes256gcm16-prfsha256'), '', /no key exchange method/);
    throwsToken(() => parseIkeProposal('aes256-prfsha256-ecp256'), '', /no integrity algorithm/);
    throwsToken(() => parseIkeProposal('aes256gcm16-ecp256'), '', /names no PRF/);
    throwsToken(() => parseEspProposal('aes256'), '', /no integrity algorithm/);
    throwsToken(() => parseIkeProposal('  '), '', /empty/);
  });

  it('derives the PRF from the integrity algorithm for classic proposals, as strongSwan does', () => {
    assert.deepEqual(parseIkeProposal('aes128-sha384-ecp384')[0]?.prf, [PrfId.HMAC_SHA2_384]);
  });

  it('defaults follow RFC 8221/8247: GCM first, no SHA-1, no MODP below 2048, ECP-256 first', () => {
    const ike = parseIkeProposals([]);
    const esp = parseEspProposals([]);
    assert.equal(ike.length, DEFAULT_IKE_PROPOSALS.length);
    assert.equal(esp.length, DEFAULT_ESP_PROPOSALS.length);
    assert.deepEqual(ike[0]?.encr.map((e) => e.id), [EncrId.AES_GCM_16, EncrId.AES_GCM_16, EncrId.CHACHA20_POLY1305]);
    assert.deepEqual(ike[0]?.encr.map((e) => e.keyLength), [256, 128, undefined]);
    assert.equal(offeredGroups(ike)[0], KeId.ECP_256);
    for (const spec of [...ike, ...esp]) {
      assert.ok(!spec.encr.some((e) => e.id === EncrId['3DES'] || e.id === EncrId.DES));
      assert.ok(!spec.integ.some((i) => i === IntegId.HMAC_SHA1_96 || i === IntegId.HMAC_MD5_96));
      assert.ok(!spec.ke.some((k) => k < KeId.MODP_2048 && k !== 0));
      if (spec.protocol === 'ike') assert.ok(!spec.prf.includes(PrfId.HMAC_SHA1));
    }
    assert.deepEqual(parseIkeProposal('default'), ike);
  });

  it('formats specs back to the strings they came from', () => {
    for (const s of ['aes256gcm16-prfsha256-ecp256', 'aes256-sha256-prfsha256-modp2048', 'chacha20poly1305-prfsha256-x25519']) {
      assert.equal(formatProposalSpec(parseIkeProposal(s)[0] as never), s);
    }
    assert.equal(formatProposalSpec(parseEspProposal('aes256gcm16-ecp256')[0] as never), 'aes256gcm16-ecp256');
    assert.equal(formatProposalSpec(parseEspProposal('aes128-sha256-esn')[0] as never), 'aes128-sha256-esn');
  });
});

describe('SA payload', () => {
  it('splits AEAD and non-AEAD ciphers into separate proposals (RFC 7296 §3.3)', () => {
    const offer = toSaPayload(parseIkeProposal('aes256gcm16-aes256-sha256-prfsha256-ecp256'));
    assert.equal(offer.payload.proposals.length, 2);
    const [aead, cbc] = offer.payload.proposals;
    assert.deepEqual(aead?.transforms.map((t) => t.type), [TransformType.ENCR, TransformType.PRF, TransformType.KE]);
    assert.deepEqual(cbc?.transforms.map((t) => t.type), [TransformType.ENCR, TransformType.PRF, TransformType.INTEG, TransformType.KE]);
    assert.deepEqual(offer.proposals.map((p) => p.text), ['aes256gcm16-prfsha256-ecp256', 'aes256-sha256-prfsha256-ecp256']);
    assert.deepEqual(offer.payload.proposals.map((p) => p.number), [1, 2]);
    // it encodes and decodes as a valid SA payload
    const w = new Writer();
    encodeSa(offer.payload, w);
    assert.deepEqual(decodeSa(new Reader(w.finish(), 'SA')).proposals.length, 2);
  });

  it('puts our SPI and an ESN transform in ESP proposals, and drops KE in IKE_AUTH', () => {
    const spi = Uint8Array.of(0xc0, 1, 2, 3);
    const specs = parseEspProposal('aes256gcm16-ecp256');
    const auth = toSaPayload(specs, { spi });
    assert.deepEqual(auth.payload.proposals[0]?.spi, spi);
    assert.equal(auth.payload.proposals[0]?.protocol, ProtocolId.ESP);
    assert.deepEqual(auth.payload.proposals[0]?.transforms.map((t) => t.type), [TransformType.ENCR, TransformType.ESN]);
    assert.equal(auth.proposals[0]?.text, 'aes256gcm16');
    const pfs = toSaPayload(specs, { spi, includeKe: true });
    assert.deepEqual(pfs.payload.proposals[0]?.transforms.map((t) => t.type), [TransformType.ENCR, TransformType.KE, TransformType.ESN]);
  });
});

describe('checkChosen', () => {
  const offer = toSaPayload(parseIkeProposal('aes256gcm16-aes128gcm16-prfsha256-prfsha384-ecp256-ecp384'));
  const answer = (number: number, transforms: Transform[], spi = new Uint8Array(0), protocol: number = ProtocolId.IKE): SaPayload => ({
    type: PayloadType.SA,
    proposals: [{ number, protocol, spi, transforms }],
  });
  const t = (type: number, id: number, keyLength?: number): Transform => (keyLength === undefined ? { type, id } : { type, id, keyLength });

  it('accepts exactly one of our transforms per type and returns the suite', () => {
    const r = checkChosen(offer, answer(1, [t(1, 20, 128), t(2, 6), t(4, 20)]));
    assert.ok(r.ok);
    assert.deepEqual(toIkeSuite(r.chosen), { encr: 20, encrKeyLength: 128, prf: 6, integ: undefined, ke: 20 });
    assert.equal(r.chosen.text, 'aes128gcm16-prfsha384-ecp384');
  });

  const bad: [string, SaPayload, RegExp][] = [
    ['a transform we did not offer', answer(1, [t(1, 20, 192), t(2, 5), t(4, 19)]), /ENCR 20\/192 was not offered/],
    ['a missing transform type', answer(1, [t(1, 20, 256), t(4, 19)]), /no PRF transform/],
    ['two transforms of a type', answer(1, [t(1, 20, 256), t(2, 5), t(2, 6), t(4, 19)]), /two PRF transforms/],
    ['a proposal number we never used', answer(9, [t(1, 20, 256), t(2, 5), t(4, 19)]), /proposal number 9 is not one of ours/],
    ['another protocol', answer(1, [t(1, 20, 256), t(2, 5), t(4, 19)], new Uint8Array(4), ProtocolId.ESP), /protocol 3/],
    ['an unexpected transform type', answer(1, [t(1, 20, 256), t(2, 5), t(3, 12), t(4, 19)]), /INTEG 12 was not offered/],
    ['two proposals', { type: PayloadType.SA, proposals: [answer(1, []).proposals[0] as never, answer(2, []).proposals[0] as never] }, /exactly one proposal/],
  ];
  for (const [name, sa, why] of bad) {
    it(`refuses ${name} with PROPOSAL_MISMATCH`, () => {
      const r = checkChosen(offer, sa);
      assert.ok(!r.ok);
      assert.equal(r.failure.code, 'PROPOSAL_MISMATCH');
      assert.match(r.failure.message, why);
      assert.match(r.failure.message, /We offered: aes256gcm16-aes128gcm16-prfsha256-prfsha384-ecp256-ecp384/);
    });
  }

  it('checks ESP SPIs: 4 octets, not reserved', () => {
    const esp = toSaPayload(parseEspProposal('aes256gcm16'), { spi: Uint8Array.of(0xc0, 0, 0, 1) });
    const ok = checkChosen(esp, answer(1, [t(1, 20, 256), t(5, 0)], Uint8Array.of(0xc1, 2, 3, 4), ProtocolId.ESP));
    assert.ok(ok.ok);
    assert.deepEqual(toEspSuite(ok.chosen), { encr: 20, encrKeyLength: 256, esn: false });
    const reserved = checkChosen(esp, answer(1, [t(1, 20, 256), t(5, 0)], Uint8Array.of(0, 0, 0, 200), ProtocolId.ESP));
    assert.ok(!reserved.ok && /reserved ESP SPI 200/.test(reserved.failure.message));
  });
});
