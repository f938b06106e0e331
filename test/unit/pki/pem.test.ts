/**
 * PEM (RFC 7468): round trips against node:crypto's own PEM output,
 * tolerance for what real files contain, and typed errors for the rest.
 */
import assert from 'node:assert/strict';
import { X509Certificate, generateKeyPairSync } from 'node:crypto';
import { before, describe, it } from 'node:test';

import { PemError } from '../../../native-helper/src/pki/errors.js';
import { MAX_PEM_TEXT, derToPem, isPem, pemBlocks, pemToDerList } from '../../../native-helper/src/pki/pem.js';
import { type Pki, makePki } from '../../support/pki-fixtures.js';

function pemError(fn: () => unknown, code: PemError['code']): PemError {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof PemError, `expected PemError, got ${String(e)}`);
    assert.equal(e.code, code, e.message);
    return e;
  }
  assert.fail('expected a PemError');
}

describe('pem', () => {
  let pki: Pki;
  before(async () => {
    pki = await makePki({ intermediate: true });
  });

  it('derToPem output is what OpenSSL (node:crypto) reads back, and pemToDerList inverts it', () => {
    const pem = derToPem(pki.gateway.der, 'CERTIFICATE');
    assert.match(pem, /^-----BEGIN CERTIFICATE-----\n([A-Za-z0-9+/=]{1,64}\n)+-----END CERTIFICATE-----\n$/);
    const viaOpenSsl = new X509Certificate(pem);
    assert.deepEqual(new Uint8Array(viaOpenSsl.raw), pki.gateway.der);
    assert.deepEqual(pemToDerList(pem, 'CERTIFICATE'), [pki.gateway.der]);
    // and the other direction: node's own PEM export parses to the same DER
    assert.deepEqual(pemToDerList(viaOpenSsl.toString()), [pki.gateway.der]);
  });

  it('reads a bundle with CRLF, indentation, blank lines and text between blocks, in order', () => {
    const text = [
      'Certificate:\r\n    Data: (explanatory text as printed by openssl x509 -text)\r\n',
      derToPem(pki.gateway.der, 'CERTIFICATE').replace(/\n/g, '\r\n').replace(/^(?=[A-Za-z0-9+/])/gm, '   '),
      '\r\n\r\nsubject=whatever\n',
      derToPem(pki.intermediate!.der, 'CERTIFICATE').replace(/\n(?=[A-Za-z0-9+/])/, '\n\n'),
      derToPem(pki.root.der, 'CERTIFICATE').replace(/\n/g, '\r'),
    ].join('');
    assert.deepEqual(pemToDerList(text, 'CERTIFICATE'), [pki.gateway.der, pki.intermediate!.der, pki.root.der]);
  });

  it('filters by label and reports labels and lines', () => {
    const keyPem = generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
    const text = `${derToPem(pki.root.der, 'CERTIFICATE')}${keyPem}`;
    const blocks = pemBlocks(text);
    assert.deepEqual(
      blocks.map((b) => [b.label, b.line]),
      [
        ['CERTIFICATE', 1],
        ['PRIVATE KEY', text.split('\n').indexOf(keyPem.split('\n')[0] ?? '') + 1],
      ],
    );
    assert.deepEqual(pemToDerList(text, 'CERTIFICATE'), [pki.root.der]);
    assert.equal(pemToDerList(text, 'PRIVATE KEY').length, 1);
    assert.equal(pemToDerList(text).length, 2);
    pemError(() => pemToDerList(text, 'X509 CRL'), 'PEM_NOT_FOUND');
  });

  it('rejects malformed blocks with a typed error and a line number', () => {
    const good = derToPem(pki.root.der, 'CERTIFICATE');
    pemError(() => pemToDerList(''), 'PEM_NOT_FOUND');
    pemError(() => pemToDerList('just some text\n'), 'PEM_NOT_FOUND');
    const noEnd = pemError(() => pemToDerList(good.replace('-----END CERTIFICATE-----\n', '')), 'PEM_INVALID');
    assert.equal(noEnd.line, 1);
    pemError(() => pemToDerList(good.replace('END CERTIFICATE', 'END X509 CRL')), 'PEM_INVALID');
    pemError(() => pemToDerList(good.replace(/\n([A-Za-z])/, '\n*$1')), 'PEM_INVALID');
    pemError(() => pemToDerList('-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n'), 'PEM_INVALID');
    pemError(() => pemToDerList('-----BEGIN CERTIFICATE-----\nQUJD\nRA\n-----END CERTIFICATE-----\n'), 'PEM_INVALID'); // length not a multiple of 4
    pemError(() => pemToDerList('-----BEGIN CERTIFICATE-----\nQUJDRB==\n-----END CERTIFICATE-----\n'), 'PEM_INVALID'); // non-zero pad bits
    // a BEGIN inside a block that never ended
    pemError(() => pemToDerList(good.replace('-----END CERTIFICATE-----\n', '') + good), 'PEM_INVALID');
    // legacy encrypted PEM (RFC 1421 headers)
    // (a key generated now and exported by OpenSSL in the legacy PKCS#1 form with Proc-Type/DEK-Info headers)
    const encrypted = generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey.export({ type: 'pkcs1', format: 'pem', cipher: 'aes-128-cbc', passphrase: 'test' }).toString();
    assert.match(encrypted, /Proc-Type: 4,ENCRYPTED/);
    const e = pemError(() => pemToDerList(encrypted), 'PEM_INVALID');
    assert.match(e.message, /legacy encrypted PEM/);
    pemError(() => pemToDerList('x'.repeat(MAX_PEM_TEXT + 1)), 'PEM_TOO_LARGE');
  });

  it('derToPem refuses bad labels and empty input', () => {
    pemError(() => derToPem(pki.root.der, 'BAD-LABEL'), 'PEM_INVALID');
    pemError(() => derToPem(pki.root.der, ''), 'PEM_INVALID');
    pemError(() => derToPem(new Uint8Array(0), 'CERTIFICATE'), 'PEM_INVALID');
  });

  it('isPem tells PEM text from DER', () => {
    const pem = derToPem(pki.root.der, 'CERTIFICATE');
    assert.equal(isPem(pem), true);
    assert.equal(isPem(new Uint8Array(Buffer.from(`Bag Attributes\n${pem}`))), true);
    assert.equal(isPem(pki.root.der), false);
    assert.equal(isPem('no pem here'), false);
    assert.equal(isPem(new Uint8Array(0)), false);
  });
});
