/**
 * Distinguished Names against real tools: a DN typed in strongSwan syntax
 * must encode to exactly the subject DER that strongSwan's `pki --dn`
 * writes into a certificate, and OpenSSL's RFC 2253 rendering of that
 * subject must parse (in reversed order) to the same DER. The subject is
 * cut out of the certificate with asn1js, independently of our reader.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';

import * as asn1js from 'asn1js';

import { canonicalDn, decodeDn, dnEqual, formatDn, parseDn } from '../../../native-helper/src/pki/distinguished-name.js';
import { IdentityError } from '../../../native-helper/src/pki/errors.js';
import { parseCertificate } from '../../../native-helper/src/pki/certificate.js';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

/** The subject Name's original octets, found with asn1js (not our DER reader). */
function subjectDerViaAsn1js(certDer: Uint8Array): Uint8Array {
  const parsed = asn1js.fromBER(certDer);
  assert.notEqual(parsed.offset, -1, 'asn1js could not parse the certificate');
  const cert = parsed.result as asn1js.Sequence;
  const tbs = cert.valueBlock.value[0] as asn1js.Sequence;
  const fields = tbs.valueBlock.value;
  const hasVersion = fields[0]?.idBlock.tagClass === 3; // [0] EXPLICIT version
  const subject = fields[hasVersion ? 5 : 4];
  assert.ok(subject !== undefined);
  return new Uint8Array(subject.valueBeforeDecodeView);
}

const STRONGSWAN_DNS = [
  'C=XX, O=VPN Lab, OU=Users, CN=alice@lab.example',
  'C=CH, O=strongSwan Project, CN=moon.strongswan.org',
  'C=XX, ST=Some State, L=Town, O=VPN Lab, OU=Ops, CN=Zürich gateway, E=ops@lab.example, DC=lab, DC=example',
  'C=XX, O=VPN Lab (Test), OU=a-b.c/d:e?f=g, CN=vpn.lab.example',
];

describe('DN encoding matches strongSwan pki and OpenSSL', () => {
  let dir: string;
  const certs = new Map<string, Uint8Array>();

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'strait-dn-'));
    const key = join(dir, 'key.der');
    // strongSwan's pki tool (Debian package strongswan-pki); its plugin chatter on stderr is ignored.
    writeFileSync(key, execFileSync('pki', ['--gen', '--type', 'ecdsa', '--size', '256'], { stdio: ['ignore', 'pipe', 'ignore'] }));
    for (const dn of STRONGSWAN_DNS) {
      const der = execFileSync('pki', ['--self', '--in', key, '--type', 'ecdsa', '--dn', dn], { stdio: ['ignore', 'pipe', 'ignore'] });
      certs.set(dn, new Uint8Array(der));
    }
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  for (const dn of STRONGSWAN_DNS) {
    it(`"${dn}" encodes to the subject DER of pki --self --dn`, () => {
      const certDer = certs.get(dn);
      assert.ok(certDer !== undefined && certDer.length > 0, 'pki produced no certificate');
      const expected = subjectDerViaAsn1js(certDer);
      assert.equal(hex(parseDn(dn).der), hex(expected));
      // and the certificate parser reports the same subject text and octets
      const info = parseCertificate(certDer);
      assert.equal(info.subject, dn);
      assert.equal(hex(info.subjectDer), hex(expected));
    });

    it(`openssl -nameopt RFC2253 of "${dn}" parses back (reversed) to the same DER`, () => {
      const certDer = certs.get(dn);
      assert.ok(certDer !== undefined);
      const file = join(dir, 'cert.der');
      writeFileSync(file, certDer);
      const out = execFileSync('openssl', ['x509', '-inform', 'der', '-in', file, '-noout', '-subject', '-nameopt', 'RFC2253'], { encoding: 'utf8' });
      const rfc2253 = out.trim().replace(/^subject=/, '');
      assert.equal(hex(parseDn(rfc2253, { order: 'reversed' }).der), hex(subjectDerViaAsn1js(certDer)), rfc2253);
    });
  }

  it('an OpenSSL-made subject (UTF8String values) is equal to the typed DN, though its DER differs', () => {
    const file = join(dir, 'ossl.pem');
    execFileSync(
      'openssl',
      ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', join(dir, 'ossl.key'), '-out', file, '-days', '1', '-subj', '/C=XX/O=VPN Lab/CN=vpn.lab.example'],
      { stdio: 'ignore' },
    );
    const der = new Uint8Array(execFileSync('openssl', ['x509', '-in', file, '-outform', 'der']));
    const subject = subjectDerViaAsn1js(der);
    const typed = parseDn('C=XX, O=VPN Lab, CN=vpn.lab.example');
    assert.notEqual(hex(subject), hex(typed.der)); // OpenSSL: UTF8String for O and CN
    assert.ok(dnEqual(subject, typed.der));
    assert.equal(formatDn(subject), 'C=XX, O=VPN Lab, CN=vpn.lab.example');
  });
});

describe('DN text ↔ DER', () => {
  it('formats what it decodes, escaping RFC 4514 specials and control characters', () => {
    const dn = parseDn('CN=a\\,b\\+c\\"d\\\\e\\;f\\<g\\>h, O=\\#x, OU=\\ y\\ , L=line\\0Abreak');
    const text = formatDn(dn);
    assert.equal(text, 'CN=a\\,b\\+c\\"d\\\\e\\;f\\<g\\>h, O=\\#x, OU=\\ y\\ , L=line\\0Abreak');
    assert.equal(hex(parseDn(text).der), hex(dn.der));
    const values = decodeDn(dn.der).rdns.map((r) => r[0]?.text);
    assert.deepEqual(values, ['a,b+c"d\\e;f<g>h', '#x', ' y ', 'line\nbreak']);
  });

  it('shows non-string values as #hex and unknown attribute types as OIDs', () => {
    const dn = parseDn('1.2.3.4=#020105, CN=x');
    assert.equal(formatDn(dn), '1.2.3.4=#020105, CN=x');
  });

  it('sorts multi-valued RDNs into DER SET order (X.690 §11.6)', () => {
    const a = parseDn('CN=alice + UID=a1');
    const b = parseDn('UID=a1 + CN=alice');
    assert.equal(hex(a.der), hex(b.der));
    assert.equal(decodeDn(a.der).rdns.length, 1);
  });

  it('canonical form ignores case, spacing and string type, not content', () => {
    const c = (t: string): string => hex(canonicalDn(parseDn(t)));
    assert.equal(c('C=XX, O=VPN  Lab, CN=Alice'), c('c=xx,o=vpn lab,cn=alice'));
    assert.notEqual(c('C=XX, O=VPN Lab, CN=alice'), c('C=XX, O=VPN Lab, CN=alice2'));
    assert.notEqual(c('CN=#020101'), c('CN=#020102'));
  });

  it('rejects malformed text with IdentityError', () => {
    for (const text of ['', 'CN', '=x', 'CN=', 'XX=y', 'CN=a+', 'CN=a,', 'CN="x', 'CN=#', 'CN=#0c', 'CN=\\zz', 'CN=a\\', 'CN=\\C3']) {
      assert.throws(() => parseDn(text), IdentityError, JSON.stringify(text));
    }
  });
});
