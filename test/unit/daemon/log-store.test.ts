/**
 * The structured log: ring queries, size-bounded rotation on disk, and the
 * redaction guard that keeps registered secrets, secret-named fields and PEM
 * private keys out of every record and file.
 */
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as v from 'valibot';

import { LogRecordSchema } from '../../../native-helper/src/api/rpc.js';
import { LogStore, REDACTED } from '../../../native-helper/src/daemon/log-store.js';

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'strait-logstore-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('log store', () => {
  it('produces records in the contract schema with increasing seq', () => {
    const log = new LogStore();
    const a = log.append({ level: 'info', component: 'daemon', event: 'x.y', message: 'hello', fields: { n: 1, ok: true, list: ['a'], none: null, skipped: undefined } });
    const b = log.append({ level: 'debug', session: '6f1c2a34-7d43-4a8e-9a8a-1f0a6c1e2b3c', component: 'ike', event: 'x.z', stage: 'ike_sa_init', message: 'there' });
    assert.ok(v.is(LogRecordSchema, a), JSON.stringify(a));
    assert.ok(v.is(LogRecordSchema, b));
    assert.equal(b.seq, a.seq + 1);
    assert.deepEqual(a.fields, { n: 1, ok: true, list: ['a'], none: null });
  });

  it('queries by level, session, text, afterSeq and limit (most recent kept)', () => {
    const log = new LogStore({ capacity: 50 });
    const s1 = '11111111-1111-4111-8111-111111111111';
    for (let i = 0; i < 120; i++) log.append({ level: i % 3 === 0 ? 'warn' : 'info', session: i % 2 === 0 ? s1 : null, component: 'c', event: `e.${i}`, message: `message ${i}` });
    const all = log.query({ limit: 1000 });
    assert.equal(all.records.length, 50, 'ring capacity bounds memory');
    assert.equal(all.records[0]?.event, 'e.70');
    assert.equal(log.query({ limit: 1000, level: 'warn' }).records.every((r) => r.level === 'warn'), true);
    assert.equal(log.query({ limit: 1000, session: s1 }).records.every((r) => r.session === s1), true);
    assert.deepEqual(log.query({ limit: 1000, text: 'MESSAGE 11' }).records.map((r) => r.event), ['e.110', 'e.111', 'e.112', 'e.113', 'e.114', 'e.115', 'e.116', 'e.117', 'e.118', 'e.119']);
    const last3 = log.query({ limit: 3 });
    assert.deepEqual(last3.records.map((r) => r.event), ['e.117', 'e.118', 'e.119']);
    assert.equal(last3.truncated, true);
    const after = log.query({ limit: 1000, afterSeq: 115 });
    assert.deepEqual(after.records.map((r) => r.seq), [116, 117, 118, 119, 120]);
  });

  it('rotates the file by size and keeps a bounded number of files', async () => {
    const d = join(dir, 'rotate');
    const log = new LogStore({ dir: d, maxFileBytes: 4096, maxFiles: 3 });
    for (let i = 0; i < 400; i++) log.append({ level: 'info', component: 'c', event: 'fill', message: `line ${i} ${'x'.repeat(60)}` });
    await log.close();
    const files = (await readdir(d)).sort();
    assert.deepEqual(files, ['straitd.log', 'straitd.log.1', 'straitd.log.2', 'straitd.log.3']);
    for (const f of files) assert.ok((await stat(join(d, f))).size <= 4096, `${f} is within the size bound`);
    // newest in straitd.log, each line a whole JSON record, in order across files
    const lines = (await readFile(join(d, 'straitd.log'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as { seq: number });
    assert.equal(lines.at(-1)?.seq, 400);
    const older = (await readFile(join(d, 'straitd.log.1'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as { seq: number });
    assert.equal((older.at(-1)?.seq ?? 0) + 1, lines[0]?.seq);
    // a restarted daemon appends to the same file
    const again = new LogStore({ dir: d, maxFileBytes: 4096, maxFiles: 3 });
    again.append({ level: 'info', component: 'c', event: 'restart', message: 'after restart' });
    await again.close();
    assert.match(await readFile(join(d, 'straitd.log'), 'utf8'), /after restart/u);
  });

  it('redacts registered secrets (and hex/base64 forms), secret-named fields and PEM private keys, in memory and on disk', async () => {
    const d = join(dir, 'redact');
    const log = new LogStore({ dir: d });
    const psk = 'correct horse battery staple';
    const password = 'p@ssw0rd-for-eap';
    const keyPem = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
    const forget = [psk, password, keyPem].map((s) => log.redact.add(s));
    log.append({ level: 'error', component: 'test', event: 'oops', message: `psk is ${psk}, hex ${Buffer.from(psk).toString('hex')}, b64 ${Buffer.from(psk).toString('base64')}`, fields: { detail: `password=${password}`, list: [password] } });
    log.append({ level: 'info', component: 'test', event: 'fields', message: 'named', fields: { psk: 'anything', eapPassword: 'anything', privateKeyPem: 'x', encKey: new Uint8Array([1, 2, 3]), keyLength: 256 } });
    log.append({ level: 'info', component: 'test', event: 'pem', message: `key follows ${keyPem}` });
    forget.forEach((f) => f());
    // an unregistered PEM private key is still cut out
    const other = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
    log.append({ level: 'info', component: 'test', event: 'pem2', message: `stray ${other}` });
    await log.close();
    const text = JSON.stringify(log.query({ limit: 100 }).records) + (await readFile(join(d, 'straitd.log'), 'utf8'));
    for (const secret of [psk, password, Buffer.from(psk).toString('hex'), Buffer.from(psk).toString('base64'), (keyPem.split('\n')[0] ?? '').replace(/-/g, ''), ...keyPem.split('\n').filter((l) => l.length > 20 && !l.startsWith('-----')), ...other.split('\n').filter((l) => l.length > 20 && !l.startsWith('-----'))]) {
      assert.ok(!text.includes(secret), `found secret material: ${secret.slice(0, 12)}…`);
    }
    assert.ok(text.includes(REDACTED));
    const named = log.query({ limit: 100, text: 'named' }).records[0];
    assert.deepEqual(named?.fields, { psk: REDACTED, eapPassword: REDACTED, privateKeyPem: REDACTED, encKey: REDACTED, keyLength: 256 });
  });
});
