/**
 * IKE identities (RFC 7296 §3.5): strongSwan's parsing conventions, text
 * and payload round trips for all six types, bounded decoding of received
 * payloads, and the comparison rules.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { IdType } from '../../../native-helper/src/ike/constants.js';
import { IdentityError } from '../../../native-helper/src/pki/errors.js';
import {
  type Identity,
  formatIdentity,
  identitiesEqual,
  identityFromPayload,
  identityToPayload,
  parseIdentity,
} from '../../../native-helper/src/pki/identity.js';

const h = (hex: string): Uint8Array => Uint8Array.from(Buffer.from(hex.replace(/\s+/g, ''), 'hex'));
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

/**
 * parse → payload → decode → equal; format → parse → equal and, unless the
 * text chose a raw DER value (#hex) that our encoder would pick differently,
 * the same payload octets.
 */
function roundTrip(text: string, samePayloadAfterFormat = true): Identity {
  const id = parseIdentity(text);
  const { idType, data } = identityToPayload(id);
  const back = identityFromPayload(idType, data);
  assert.ok(!('error' in back), `${text}: ${'error' in back ? back.error : ''}`);
  assert.deepEqual(back, id, `payload round trip of ${text}`);
  const formatted = formatIdentity(id);
  const reparsed = parseIdentity(formatted);
  assert.ok(identitiesEqual(reparsed, id), `text round trip of ${text} via "${formatted}"`);
  if (samePayloadAfterFormat) assert.deepEqual(identityToPayload(reparsed), { idType, data }, `same payload after text round trip of ${text}`);
  return id;
}

describe('parseIdentity (strongSwan conventions)', () => {
  it('FQDN, with "@" prefix and IDN conversion', () => {
    assert.deepEqual(roundTrip('vpn.lab.example'), { type: 'fqdn', value: 'vpn.lab.example' });
    assert.deepEqual(roundTrip('  vpn.lab.example  '), { type: 'fqdn', value: 'vpn.lab.example' });
    assert.deepEqual(roundTrip('@vpn'), { type: 'fqdn', value: 'vpn' });
    assert.deepEqual(roundTrip('fqdn:vpn.lab.example'), { type: 'fqdn', value: 'vpn.lab.example' });
    // RFC 7296 §3.5: internationalised names as A-labels
    assert.deepEqual(roundTrip('bücher.example'), { type: 'fqdn', value: 'xn--bcher-kva.example' });
    const id = identityToPayload(parseIdentity('vpn.lab.example'));
    assert.equal(id.idType, IdType.ID_FQDN);
    assert.equal(Buffer.from(id.data).toString('ascii'), 'vpn.lab.example');
  });

  it('IPv4 and IPv6 literals, canonicalised, as 4 and 16 octets', () => {
    const v4 = roundTrip('192.0.2.1');
    assert.deepEqual(v4, { type: 'ipv4', value: '192.0.2.1' });
    assert.deepEqual(identityToPayload(v4), { idType: IdType.ID_IPV4_ADDR, data: h('c0000201') });
    const v6 = roundTrip('2001:DB8:0:0::0:1');
    assert.deepEqual(v6, { type: 'ipv6', value: '2001:db8::1' });
    assert.deepEqual(identityToPayload(v6), { idType: IdType.ID_IPV6_ADDR, data: h('20010db8000000000000000000000001') });
    assert.deepEqual(roundTrip('::ffff:192.0.2.1'), { type: 'ipv6', value: '::ffff:c000:201' });
    assert.deepEqual(roundTrip('ipv4:10.0.0.1'), { type: 'ipv4', value: '10.0.0.1' });
    assert.deepEqual(roundTrip('fe80:0:0:1::'), { type: 'ipv6', value: 'fe80:0:0:1::' });
  });

  it('rfc822 with "@", "@@" and prefixes; key IDs with "keyid:" and "@#"', () => {
    assert.deepEqual(roundTrip('alice@lab.example'), { type: 'rfc822', value: 'alice@lab.example' });
    assert.deepEqual(roundTrip('@@alice'), { type: 'rfc822', value: 'alice' });
    assert.deepEqual(roundTrip('email:carol@lab.example'), { type: 'rfc822', value: 'carol@lab.example' });
    const rfc = identityToPayload(parseIdentity('jörg@lab.example'));
    assert.equal(rfc.idType, IdType.ID_RFC822_ADDR);
    assert.equal(Buffer.from(rfc.data).toString('utf8'), 'jörg@lab.example'); // UTF-8, RFC 7296 §3.5
    assert.deepEqual(roundTrip('keyid:0a0B0c'), { type: 'keyId', value: h('0a0b0c') });
    assert.deepEqual(roundTrip('@#cafe'), { type: 'keyId', value: h('cafe') });
    assert.deepEqual(identityToPayload(parseIdentity('keyid:#00ff')), { idType: IdType.ID_KEY_ID, data: h('00ff') });
  });

  it('DNs in strongSwan syntax encode like strongSwan (PrintableString, UTF8String when needed)', () => {
    const id = roundTrip('C=XX, O=VPN Lab, OU=Users, CN=alice@lab.example');
    assert.equal(id.type, 'dn');
    if (id.type !== 'dn') return;
    assert.equal(id.text, 'C=XX, O=VPN Lab, OU=Users, CN=alice@lab.example');
    // Written out by hand from X.501/X.520: C and O and OU as PrintableString, CN has "@" so UTF8String.
    assert.equal(
      hex(id.der),
      '304b' +
        '310b' + '3009' + '0603550406' + '1302' + Buffer.from('XX').toString('hex') +
        '3110' + '300e' + '060355040a' + '1307' + Buffer.from('VPN Lab').toString('hex') +
        '310e' + '300c' + '060355040b' + '1305' + Buffer.from('Users').toString('hex') +
        '311a' + '3018' + '0603550403' + '0c11' + Buffer.from('alice@lab.example').toString('hex'),
    );
    assert.equal(identityToPayload(id).idType, IdType.ID_DER_ASN1_DN);
  });

  it('DN syntax variants: slashes, escapes, quotes, multi-valued RDNs, OIDs, #hex', () => {
    const slash = parseIdentity('/C=XX/O=VPN Lab, Inc./CN=x');
    const comma = parseIdentity('C=XX, O="VPN Lab, Inc.", CN=x');
    const escaped = parseIdentity('C=XX,O=VPN Lab\\, Inc.,CN=x');
    const hexEscaped = parseIdentity('C=XX, O=VPN Lab\\2C Inc., CN=x');
    assert.ok(slash.type === 'dn' && comma.type === 'dn' && escaped.type === 'dn' && hexEscaped.type === 'dn');
    assert.deepEqual(comma.der, slash.der);
    assert.deepEqual(escaped.der, slash.der);
    assert.deepEqual(hexEscaped.der, slash.der);
    assert.equal(formatIdentity(slash), 'C=XX, O=VPN Lab\\, Inc., CN=x');
    roundTrip('/C=XX/O=VPN Lab, Inc./CN=x');

    const multi = roundTrip('C=XX, CN=alice + UID=a1');
    const oid = roundTrip('C=XX, 2.5.4.3=alice + 0.9.2342.19200300.100.1.1=a1');
    assert.ok(identitiesEqual(multi, oid));
    // #hex takes the DER value verbatim (here a UTF8String "x")
    const raw = roundTrip('CN=#0c0178', false);
    assert.deepEqual(raw.type === 'dn' && hex(raw.der), '300c310a300806035504030c0178');
    assert.ok(identitiesEqual(raw, parseIdentity('CN=x')));
    roundTrip('CN=\\ leading and trailing\\ , O=a\\+b\\;c\\<d\\>e\\"f\\\\g, OU=\\#1');
    roundTrip('CN=Zürich ☃, E=alice@lab.example, DC=lab');
  });

  it('rejects garbage with IdentityError', () => {
    const bad = [
      '',
      '   ',
      '%any',
      '*',
      '0.0.0.0',
      'two words',
      'vpn..example',
      '-vpn.example',
      'a'.repeat(64) + '.example',
      'CN=',
      'foo=bar',
      'CN=a,,O=b',
      'CN=a,',
      'CN=a\\',
      'CN=a\\q',
      'CN="open',
      'CN=#0c02',
      'CN=#0c0178ff',
      'CN=#zz',
      'x@',
      'alice@@lab.example',
      ':::1',
      '1:2',
      'keyid:',
      'keyid:abc',
      'keyid:zz',
      'ipv4:2001:db8::1',
      'ipv6:192.0.2.1',
      'vpn\u0000.example',
      'a'.repeat(3000),
    ];
    for (const text of bad) {
      assert.throws(
        () => parseIdentity(text),
        (e: unknown) => e instanceof IdentityError && e.code === 'IDENTITY_INVALID' && e.message.length > 0,
        JSON.stringify(text),
      );
    }
  });
});

describe('identityFromPayload (untrusted bytes)', () => {
  it('enforces RFC 7296 §3.5 lengths and encodings, never throwing', () => {
    const cases: [number, Uint8Array, RegExp][] = [
      [IdType.ID_IPV4_ADDR, h('c00002'), /4 octets/],
      [IdType.ID_IPV4_ADDR, h('c000020101'), /4 octets/],
      [IdType.ID_IPV6_ADDR, new Uint8Array(15), /16 octets/],
      [IdType.ID_FQDN, new Uint8Array(0), /empty/],
      [IdType.ID_FQDN, Uint8Array.from(Buffer.from('vpn\0.example')), /printable ASCII/],
      [IdType.ID_FQDN, Uint8Array.from(Buffer.from('vpn.exämple')), /printable ASCII/],
      [IdType.ID_RFC822_ADDR, h('ff fe'), /UTF-8/],
      [IdType.ID_RFC822_ADDR, Uint8Array.from(Buffer.from('a@b\r\n')), /control/],
      [IdType.ID_DER_ASN1_DN, h('3000'), /empty/],
      [IdType.ID_DER_ASN1_DN, h('3005 3103 0601'), /not valid DER/],
      [IdType.ID_DER_ASN1_DN, h('3080 0000'), /not valid DER/],
      [IdType.ID_DER_ASN1_DN, h('0c03 616263'), /not valid DER/],
      [IdType.ID_DER_ASN1_DN, h('3009 3107 3005 0603550403'), /not valid DER/], // AVA without value
      [IdType.ID_DER_ASN1_DN, h('300c 310a 3008 0603550403 0c01 ff'), /not valid DER/], // bad UTF-8
      [IdType.ID_DER_ASN1_GN, h('8203 616263'), /not supported/],
      [4, h('00'), /Unknown identity type 4/],
      [IdType.ID_KEY_ID, new Uint8Array(5000), /at most/],
    ];
    for (const [type, data, pattern] of cases) {
      const r = identityFromPayload(type, data);
      assert.ok('error' in r, `type ${type} ${hex(data)} should fail`);
      assert.match(r.error, pattern);
    }
  });

  it('decodes each type and formats it', () => {
    const ok = (type: number, data: Uint8Array): Identity => {
      const r = identityFromPayload(type, data);
      assert.ok(!('error' in r), 'error' in r ? r.error : '');
      return r;
    };
    assert.deepEqual(ok(IdType.ID_IPV4_ADDR, h('c0000201')), { type: 'ipv4', value: '192.0.2.1' });
    assert.deepEqual(ok(IdType.ID_IPV6_ADDR, h('20010db8000000000001000000000000')), { type: 'ipv6', value: '2001:db8:0:0:1::' }); // RFC 5952 §4.2.3: the longer zero run
    // A gateway may send an FQDN that is not a host name; it is kept, matched and formatted unambiguously.
    const odd = ok(IdType.ID_FQDN, Uint8Array.from(Buffer.from('192.0.2.1')));
    assert.equal(formatIdentity(odd), 'fqdn:192.0.2.1');
    assert.ok(identitiesEqual(parseIdentity(formatIdentity(odd)), odd));
    const mail = ok(IdType.ID_RFC822_ADDR, Uint8Array.from(Buffer.from('a=b@lab.example')));
    assert.equal(formatIdentity(mail), 'rfc822:a=b@lab.example');
    const dn = ok(IdType.ID_DER_ASN1_DN, h('3015 3113 3011 0603550403 1e0a 0061006c006900630065'));
    assert.deepEqual(dn.type === 'dn' && dn.text, 'CN=alice'); // BMPString decoded
  });

  it('survives random and mutated payloads (bounded fuzz, seeded)', () => {
    let seed = 0x5eed;
    const rand = (n: number): number => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return seed % n;
    };
    const dn = identityToPayload(parseIdentity('C=XX, O=VPN Lab, OU=Users, CN=alice@lab.example')).data;
    for (let i = 0; i < 3000; i++) {
      const type = [1, 2, 3, 5, 9, 10, 11, rand(256)][rand(8)] as number;
      let data: Uint8Array;
      if (type === IdType.ID_DER_ASN1_DN && rand(2) === 0) {
        data = Uint8Array.from(dn);
        for (let k = 0; k <= rand(4); k++) data[rand(data.length)] = rand(256);
        if (rand(4) === 0) data = data.subarray(0, rand(data.length + 1));
      } else {
        data = Uint8Array.from({ length: rand(40) }, () => rand(256));
      }
      const r = identityFromPayload(type, data);
      if (!('error' in r)) {
        // anything accepted re-encodes to the same payload
        assert.deepEqual(identityToPayload(r), { idType: type, data }, `type ${type} ${hex(data)}`);
        formatIdentity(r);
      }
    }
  });
});

describe('identitiesEqual', () => {
  const eq = (a: string, b: string): boolean => identitiesEqual(parseIdentity(a), parseIdentity(b));

  it('FQDNs compare case-insensitively, ignoring a trailing dot', () => {
    assert.equal(eq('VPN.Lab.Example', 'vpn.lab.example'), true);
    assert.equal(eq('fqdn:vpn.lab.example.', 'vpn.lab.example'), true);
    assert.equal(eq('vpn.lab.example', 'vpn2.lab.example'), false);
  });

  it('e-mail identities: local part exact, domain case-insensitive', () => {
    assert.equal(eq('alice@LAB.example', 'alice@lab.example'), true);
    assert.equal(eq('Alice@lab.example', 'alice@lab.example'), false);
  });

  it('IP addresses by value; types never cross', () => {
    assert.equal(eq('2001:db8::1', '2001:0db8:0:0:0:0:0:1'), true);
    assert.equal(eq('192.0.2.1', '::ffff:192.0.2.1'), false);
    assert.equal(eq('192.0.2.1', 'fqdn:192.0.2.1'), false);
    assert.equal(eq('keyid:00', 'keyid:00'), true);
    assert.equal(eq('keyid:00', 'keyid:0000'), false);
  });

  it('DNs by canonical DER: string type, case and spacing do not matter, order does', () => {
    assert.equal(eq('C=XX, O=VPN Lab, CN=alice', 'c=xx,o=vpn  lab,cn=ALICE'), true);
    // UTF8String vs PrintableString for the same text (what OpenSSL vs strongSwan emit)
    assert.equal(eq('CN=#0c05616c696365', 'CN=alice'), true);
    assert.equal(eq('C=XX, CN=alice + UID=a1', 'C=XX, UID=a1 + CN=alice'), true);
    assert.equal(eq('C=XX, O=VPN Lab, CN=alice', 'CN=alice, O=VPN Lab, C=XX'), false);
    assert.equal(eq('C=XX, O=VPN Lab, CN=alice', 'C=XX, O=VPN Lab, CN=bob'), false);
    assert.equal(eq('C=XX, O=VPN Lab, CN=alice', 'C=XX, O=VPN Lab, OU=x, CN=alice'), false);
  });
});
