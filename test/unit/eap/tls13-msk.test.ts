/**
 * The TLS 1.3 EAP-TLS key derivations (native-helper/src/eap/tls13-msk.ts)
 * checked against values nobody in this repo computed:
 *
 * 1. our TLS client (SyncTlsClient: node:tls in its worker) against
 *    `openssl s_server -keymatexport "client EAP encryption"
 *    -keymatexportlen 128` (the system's OpenSSL, a separate process and
 *    build): the pre-RFC 9190 key material is what s_server prints;
 * 2. node's exporter for both variants against RFC 8446 §7.1/§7.5 written
 *    out with HMAC from the session's EXPORTER_SECRET (keylog), for SHA-256
 *    and SHA-384 suites — the same formula strongSwan's tls_hkdf.c export()
 *    implements.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash, createHmac } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect as netConnect } from 'node:net';
import type { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { connect as tlsConnect, createServer } from 'node:tls';
import type { TLSSocket } from 'node:tls';

import { SyncTlsClient } from '../../../native-helper/src/eap/tls-client.js';
import { TLS13_MSK } from '../../../native-helper/src/eap/tls13-msk.js';
import type { ExporterParams } from '../../../native-helper/src/eap/tls13-msk.js';
import { makePki, type Pki } from '../../support/pki-fixtures.js';

type HashName = 'sha256' | 'sha384';

/** RFC 5869 §2.3 HKDF-Expand */
function hkdfExpand(hash: HashName, prk: Buffer, info: Buffer, length: number): Buffer {
  const out: Buffer[] = [];
  let t = Buffer.alloc(0);
  for (let i = 1; Buffer.concat(out).length < length; i++) {
    t = createHmac(hash, prk).update(Buffer.concat([t, info, Buffer.of(i)])).digest();
    out.push(t);
  }
  return Buffer.concat(out).subarray(0, length);
}

/** RFC 8446 §7.1 HKDF-Expand-Label */
function expandLabel(hash: HashName, secret: Buffer, label: string, context: Buffer, length: number): Buffer {
  const full = Buffer.from(`tls13 ${label}`, 'latin1');
  const info = Buffer.concat([Buffer.of(length >> 8, length & 0xff, full.length), full, Buffer.of(context.length), context]);
  return hkdfExpand(hash, secret, info, length);
}

/** RFC 8446 §7.5 TLS-Exporter from exporter_master_secret */
function rfc8446Exporter(hash: HashName, exporterMaster: Buffer, p: ExporterParams): Buffer {
  const h = (b: Buffer): Buffer => createHash(hash).update(b).digest();
  const size = h(Buffer.alloc(0)).length;
  const secret = expandLabel(hash, exporterMaster, p.label, h(Buffer.alloc(0)), size);
  return expandLabel(hash, secret, 'exporter', h(Buffer.from(p.context ?? new Uint8Array(0))), p.length);
}

/** node's typings insist on a context; undefined means none (RFC 5705 §4) */
function nodeExport(s: TLSSocket, p: ExporterParams): Buffer {
  const exporter = s.exportKeyingMaterial as (this: TLSSocket, length: number, label: string, context?: Buffer) => Buffer;
  return exporter.call(s, p.length, p.label, p.context === undefined ? undefined : Buffer.from(p.context));
}

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

describe('TLS 1.3 EAP-TLS MSK derivations', () => {
  let pki: Pki;
  let dir: string;
  before(async () => {
    pki = await makePki({ keyAlgorithm: 'ecdsa-p256' });
    dir = mkdtempSync(join(tmpdir(), 'strait-tls13-msk-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));
  const client = () => pki.clients[0] ?? assert.fail('no client');

  it('pre-RFC 9190 (strongSwan 5.9.x): our TLS client exports what openssl s_server prints; 128 cut to 64 is not 64', async () => {
    writeFileSync(join(dir, 'gw.pem'), pki.gateway.pem);
    writeFileSync(join(dir, 'gw.key'), pki.gateway.privateKeyPem, { mode: 0o600 });
    const p = TLS13_MSK['pre-rfc9190'];
    // -verify 1: ask for our certificate, as an EAP-TLS server does (CertificateRequest is in the transcript)
    const server = spawn(
      'openssl',
      ['s_server', '-tls1_3', '-accept', '127.0.0.1:0', '-naccept', '1', '-cert', join(dir, 'gw.pem'), '-key', join(dir, 'gw.key'), '-verify', '1', '-keymatexport', p.label, '-keymatexportlen', String(p.length)],
      { stdio: ['pipe', 'pipe', 'pipe'] },
    );
    let stdout = '';
    server.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    const tls = new SyncTlsClient({ certificatePem: client().pem, privateKeyPem: client().privateKeyPem, minVersion: 'TLSv1.3', maxVersion: 'TLSv1.3' });
    let sock: Socket | undefined;
    try {
      const port = await waitFor(() => /ACCEPT 127\.0\.0\.1:(\d+)/.exec(stdout)?.[1], 'the s_server port');
      const s = netConnect(Number(port), '127.0.0.1');
      sock = s;
      await new Promise<void>((resolve, reject) => {
        s.once('connect', resolve);
        s.once('error', reject);
      });
      let inbound: Buffer[] = [];
      s.on('data', (d: Buffer) => inbound.push(d));
      let st = tls.start();
      for (let i = 0; i < 20 && !st.connected; i++) {
        if (st.out.length > 0) s.write(st.out);
        await waitFor(() => (inbound.length > 0 ? true : undefined), 'the server flight');
        await new Promise((r) => setTimeout(r, 50));
        const records = Buffer.concat(inbound);
        inbound = [];
        st = tls.feed(records);
        assert.equal(st.failure, undefined, JSON.stringify(st.failure));
      }
      assert.ok(st.connected, 'handshake done');
      assert.equal(st.version, 'TLSv1.3');
      if (st.out.length > 0) s.write(st.out);
      const ours = tls.exportKeyingMaterial(p.label, p.length, p.context);
      const theirs = await waitFor(() => /Keying material: ([0-9A-F]+)/.exec(stdout)?.[1], 's_server keying material');
      assert.equal(theirs.length, 256);
      assert.equal(hex(ours).toUpperCase(), theirs);
      // The pitfall: HkdfLabel carries the length (RFC 8446 §7.1), so asking for 64 gives another key.
      const only64 = tls.exportKeyingMaterial(p.label, 64, p.context);
      assert.notEqual(hex(only64), hex(ours.subarray(0, 64)));
      // and the RFC 9190 derivation is a third one
      const r = TLS13_MSK.rfc9190;
      assert.notEqual(hex(tls.exportKeyingMaterial(r.label, r.length, r.context).subarray(0, 64)), hex(ours.subarray(0, 64)));
    } finally {
      tls.close();
      sock?.destroy();
      server.stdin.end();
      server.kill();
    }
  });

  for (const suite of ['TLS_AES_128_GCM_SHA256', 'TLS_AES_256_GCM_SHA384'] as const) {
    it(`node's exporter equals RFC 8446 §7.5 from the EXPORTER_SECRET for both variants (${suite})`, async () => {
      const hash: HashName = suite.endsWith('SHA384') ? 'sha384' : 'sha256';
      const srv = createServer({ cert: pki.gateway.pem, key: pki.gateway.privateKeyPem, minVersion: 'TLSv1.3', ciphers: suite }, (c) => c.on('error', () => undefined));
      await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
      const addr = srv.address();
      const port = typeof addr === 'object' && addr !== null ? addr.port : assert.fail('no port');
      const keylog: string[] = [];
      const s = tlsConnect({ host: '127.0.0.1', port, rejectUnauthorized: false, minVersion: 'TLSv1.3', ciphers: suite });
      s.on('keylog', (line: Buffer) => keylog.push(line.toString()));
      try {
        await new Promise<void>((resolve, reject) => {
          s.once('secureConnect', resolve);
          s.once('error', reject);
        });
        assert.equal(s.getCipher().name, suite);
        const line = keylog.find((l) => l.startsWith('EXPORTER_SECRET '));
        assert.ok(line !== undefined, `keylog: ${keylog.map((l) => l.split(' ')[0]).join(', ')}`);
        const exporterMaster = Buffer.from(line.trim().split(' ')[2] ?? '', 'hex');
        assert.equal(exporterMaster.length, hash === 'sha384' ? 48 : 32);
        for (const p of [TLS13_MSK.rfc9190, TLS13_MSK['pre-rfc9190']]) {
          assert.equal(hex(nodeExport(s, p)), hex(rfc8446Exporter(hash, exporterMaster, p)), p.label);
        }
      } finally {
        s.destroy();
        await new Promise((r) => srv.close(r));
      }
    });
  }
});

async function waitFor<T>(probe: () => T | undefined, what: string, timeoutMs = 10_000): Promise<T> {
  const t0 = Date.now();
  for (;;) {
    const v = probe();
    if (v !== undefined) return v;
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
