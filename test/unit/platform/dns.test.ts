// DNS: the resolv.conf fallback on temporary paths (never the real file):
// backup in the persistent directory, atomic replace, restore of a file, a
// symlink or nothing, and the crash windows in between; input sanitising.

import assert from 'node:assert/strict';
import { lstat, mkdir, mkdtemp, readdir, readFile, readlink, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, beforeEach, describe, it } from 'node:test';

import { isPlatformError } from '../../../native-helper/src/platform/errors.js';
import type { DnsRequest } from '../../../native-helper/src/platform/linux/dns.js';
import { composeResolvConf, isDnsName, ResolvConfDns, sanitizeDns } from '../../../native-helper/src/platform/linux/dns.js';

const REQ: DnsRequest = { iface: 'eth0', servers: ['10.10.0.53'], searchDomains: ['corp.example'], matchDomains: ['lab.example'], routeAll: false };
const dirs: string[] = [];
after(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

describe('resolv.conf', () => {
  let dir: string;
  let path: string;
  let backups: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'strait-dns-'));
    dirs.push(dir);
    path = join(dir, 'etc', 'resolv.conf');
    backups = join(dir, 'var-lib');
    await mkdir(join(dir, 'etc'));
  });

  it('compose: VPN servers first; a full tunnel drops the old servers; glibc reads three', () => {
    const original = 'nameserver 192.168.1.1\nnameserver 192.168.1.2\nnameserver 192.168.1.3\nsearch home.arpa\noptions edns0 trust-ad\n';
    assert.equal(
      composeResolvConf({ ...REQ, servers: ['10.10.0.53', 'fd00:10::53'] }, original),
      '# Written by Strait (VPN) for the current connection; the previous file is restored on disconnect.\n' +
        'nameserver 10.10.0.53\nnameserver fd00:10::53\nnameserver 192.168.1.1\nsearch corp.example lab.example home.arpa\noptions edns0 trust-ad\n',
    );
    assert.match(composeResolvConf({ ...REQ, routeAll: true }, original), /^#.*\nnameserver 10\.10\.0\.53\nsearch /);
  });

  it('a regular file: replaced atomically, restored byte for byte with its mode', async () => {
    await writeFile(path, '# mine\nnameserver 192.168.1.1\n', { mode: 0o640 });
    const dns = new ResolvConfDns(path, backups);
    const { item, content } = await dns.prepare(REQ);
    assert.deepEqual(item, { kind: 'dns', method: 'file', path, backupFile: dns.backupFile });
    assert.ok(dns.backupFile.startsWith(backups));
    await dns.write(content);
    assert.equal(await readFile(path, 'utf8'), content);
    assert.deepEqual(await readdir(join(dir, 'etc')), ['resolv.conf'], 'no temporary file left beside it');
    assert.equal(await dns.restore(), 'restored');
    assert.equal(await readFile(path, 'utf8'), '# mine\nnameserver 192.168.1.1\n');
    assert.equal((await lstat(path)).mode & 0o777, 0o640);
    assert.deepEqual(await readdir(backups), [], 'backup removed');
    assert.equal(await dns.restore(), 'nothing-to-restore');
  });

  it('a symlink (resolvconf, resolved stub) comes back as the same symlink', async () => {
    const target = join(dir, 'run-resolvconf');
    await writeFile(target, 'nameserver 127.0.0.53\n');
    await symlink(target, path);
    const dns = new ResolvConfDns(path, backups);
    const { content } = await dns.prepare(REQ);
    assert.match(content, /nameserver 10\.10\.0\.53\nnameserver 127\.0\.0\.53\n/);
    await dns.write(content);
    assert.ok((await lstat(path)).isFile(), 'the link itself is replaced, its target untouched');
    assert.equal(await readFile(target, 'utf8'), 'nameserver 127.0.0.53\n');
    assert.equal(await dns.restore(), 'restored');
    assert.equal(await readlink(path), target);
  });

  it('no resolv.conf before: none after', async () => {
    const dns = new ResolvConfDns(path, backups);
    const { content } = await dns.prepare(REQ);
    await dns.write(content);
    assert.equal(await dns.restore(), 'restored');
    await assert.rejects(lstat(path), /ENOENT/);
  });

  it('crash between saving the backup and writing: restore changes nothing and drops the backup', async () => {
    await writeFile(path, 'nameserver 192.168.1.1\n');
    await new ResolvConfDns(path, backups).prepare(REQ);
    assert.equal(await new ResolvConfDns(path, backups).restore(), 'nothing-to-restore');
    assert.equal(await readFile(path, 'utf8'), 'nameserver 192.168.1.1\n');
    assert.deepEqual(await readdir(backups), []);
  });

  it('a second prepare before any restore keeps the true original', async () => {
    await writeFile(path, 'nameserver 192.168.1.1\n');
    const dns = new ResolvConfDns(path, backups);
    const first = await dns.prepare(REQ);
    await dns.write(first.content);
    const second = await dns.prepare({ ...REQ, servers: ['10.10.0.54'] });
    await dns.write(second.content);
    assert.doesNotMatch(second.content, /10\.10\.0\.53/, 'composed from the original, not from our own file');
    assert.equal(await dns.restore(), 'restored');
    assert.equal(await readFile(path, 'utf8'), 'nameserver 192.168.1.1\n');
  });

  it('an unreadable backup is reported and left for inspection', async () => {
    await writeFile(path, 'nameserver 192.168.1.1\n');
    const dns = new ResolvConfDns(path, backups);
    await dns.prepare(REQ);
    await writeFile(dns.backupFile, '{"version":1,');
    await assert.rejects(dns.restore(), (e: unknown) => isPlatformError(e) && e.reason === 'io' && /left in place/.test(e.message));
    assert.equal((await readdir(backups)).length, 1);
  });
});

describe('sanitising values from the gateway', () => {
  it('DNS names: labels, underscores, trailing dot; nothing that could break a line or an argv', () => {
    for (const ok of ['lab.example', 'a-b.example.', '_sip._tcp.example', 'x']) assert.ok(isDnsName(ok), ok);
    for (const bad of ['', '-rf', 'a..b', 'a b', 'a\nb', 'bad-.example', '~lab.example', `${'a'.repeat(64)}.example`, 'a.'.repeat(130)]) assert.ok(!isDnsName(bad), JSON.stringify(bad));
  });

  it('drops non-addresses and non-names, reports them printable', () => {
    const { req, dropped } = sanitizeDns({ ...REQ, servers: ['10.10.0.53', '10.10.0.53', 'evil\nnameserver 6.6.6.6', '--help'], matchDomains: ['lab.example', 'x y'] });
    assert.deepEqual(req.servers, ['10.10.0.53']);
    assert.deepEqual(req.matchDomains, ['lab.example']);
    assert.deepEqual(dropped, ['evil?nameserver 6.6.6.6', '--help', 'x y']);
  });
});
