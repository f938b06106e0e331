/** Electron main's pure modules in plain Node: tray model, notifications, icons, single instance, autostart. */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inflateSync } from 'node:zlib';
import { describe, it } from 'node:test';

import { appStatus } from '../../../electron/main/app-status.js';
import { autostartDesktopEntry, enforceSingleInstance, setLinuxAutostart, startedHidden } from '../../../electron/main/app-lifecycle.js';
import { nodeAutostartFs } from '../../../electron/main/services.js';
import { crc32, trayIconPng } from '../../../electron/main/tray-icons.js';
import { notificationFor, trayModel, type AppStatus } from '../../../electron/main/tray-model.js';

const ID = '6f1c7d2e-4b8a-4c1e-9f3a-2d5e8b7a9c01';
const profiles = [{ id: ID, name: 'Corp VPN' }];
const labels = (s: AppStatus) => trayModel(s, profiles).menu.flatMap((m) => (m.type === 'item' ? [m.label] : []));

describe('tray model', () => {
  it('shows the state at a glance and offers connect or disconnect accordingly', () => {
    assert.equal(trayModel({ kind: 'disconnected' }, profiles).icon, 'disconnected');
    assert.deepEqual(labels({ kind: 'disconnected' }), ['Not connected', 'Connect to Corp VPN', 'Open Strait', 'Quit Strait']);
    const connecting = trayModel({ kind: 'connecting', profileId: ID, profileName: 'Corp VPN', stage: 'ike_auth' }, profiles);
    assert.equal(connecting.icon, 'connecting');
    assert.match(connecting.tooltip, /signing in/);
    assert.ok(connecting.menu.some((m) => m.type === 'item' && m.label === 'Cancel' && m.action?.kind === 'disconnect'));
    const reconnecting = trayModel({ kind: 'connecting', profileId: ID, profileName: 'Corp VPN', stage: 'ike_sa_init', reconnectAttempt: 3 }, profiles);
    assert.match(reconnecting.tooltip, /lost, reconnecting \(attempt 3,/);
    assert.ok(reconnecting.menu.some((m) => m.type === 'item' && m.label === 'Reconnecting to Corp VPN…'));
    const connected = trayModel({ kind: 'connected', profileId: ID, profileName: 'Corp VPN', virtualIps: ['10.99.0.1'] }, profiles);
    assert.equal(connected.icon, 'connected');
    assert.equal(connected.tooltip, 'Strait: connected to Corp VPN as 10.99.0.1');
    assert.ok(connected.menu.some((m) => m.type === 'item' && m.label === 'Disconnect'));
    assert.ok(!connected.menu.some((m) => m.type === 'item' && m.action?.kind === 'connect'), 'no second connect while connected');
    const down = trayModel({ kind: 'helper-down', reason: 'not running' }, profiles);
    assert.equal(down.icon, 'error');
    assert.ok(down.menu.every((m) => m.type === 'separator' || m.action?.kind !== 'connect' || !m.enabled), 'connect disabled without the helper');
  });

  it('notifies on connect, disconnect after connected, errors and the helper going away — not on stage changes', () => {
    const c: AppStatus = { kind: 'connecting', profileId: ID, profileName: 'Corp VPN', stage: 'ike_sa_init' };
    const on: AppStatus = { kind: 'connected', profileId: ID, profileName: 'Corp VPN', virtualIps: ['10.99.0.1'] };
    assert.equal(notificationFor({ kind: 'disconnected' }, c), undefined);
    assert.equal(notificationFor(c, { ...c, stage: 'ike_auth' }), undefined);
    assert.equal(notificationFor(c, on)?.title, 'Connected to Corp VPN');
    assert.equal(notificationFor(on, on), undefined);
    assert.equal(notificationFor(on, { kind: 'disconnected' })?.title, 'VPN disconnected');
    assert.equal(notificationFor(c, { kind: 'disconnected' }), undefined, 'a cancelled attempt is not news');
    const err: AppStatus = { kind: 'error', profileId: ID, profileName: 'Corp VPN', message: 'The gateway rejected the password.' };
    assert.deepEqual(notificationFor(c, err), { title: 'Could not connect to Corp VPN', body: 'The gateway rejected the password.' });
    assert.equal(notificationFor(err, err), undefined);
    assert.equal(notificationFor(on, { kind: 'helper-down', reason: 'gone' })?.title, 'VPN service unavailable');
  });

  it('folds helper status and connection state into one AppStatus', () => {
    assert.equal(appStatus({ status: 'down', reason: 'not-running', message: 'x' }, { state: 'disconnected' }).kind, 'helper-down');
    assert.equal(appStatus({ status: 'up', version: '1', backend: 'linux-xfrm' }, undefined).kind, 'disconnected');
  });
});

describe('tray icons', () => {
  it('are valid PNGs (RFC 2083): signature, IHDR 32×32 RGBA, chunk CRCs, inflatable image data', () => {
    assert.equal(crc32(new TextEncoder().encode('IEND')), 0xae426082);
    for (const state of ['disconnected', 'connecting', 'connected', 'error'] as const) {
      const png = trayIconPng(state);
      assert.deepEqual([...png.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
      let off = 8;
      const chunks: string[] = [];
      let idat = Buffer.alloc(0);
      while (off < png.length) {
        const len = png.readUInt32BE(off);
        const type = png.subarray(off + 4, off + 8).toString('latin1');
        assert.equal(png.readUInt32BE(off + 8 + len), crc32(png.subarray(off + 4, off + 8 + len)), `${type} CRC`);
        if (type === 'IHDR') assert.deepEqual([png.readUInt32BE(off + 8), png.readUInt32BE(off + 12), png[off + 16], png[off + 17]], [32, 32, 8, 6]);
        if (type === 'IDAT') idat = Buffer.concat([idat, png.subarray(off + 8, off + 8 + len)]);
        chunks.push(type);
        off += 12 + len;
      }
      assert.deepEqual(chunks, ['IHDR', 'IDAT', 'IEND']);
      assert.equal(inflateSync(idat).length, 32 * (32 * 4 + 1));
    }
    assert.notDeepEqual(trayIconPng('connected'), trayIconPng('error'));
  });
});

describe('app lifecycle', () => {
  it('a second instance hands over to the first and quits', () => {
    const calls: string[] = [];
    let secondInstance: (() => void) | undefined;
    const first = { requestSingleInstanceLock: () => true, quit: () => calls.push('quit-1'), on: (_e: 'second-instance', l: () => void) => (secondInstance = l) };
    const second = { requestSingleInstanceLock: () => false, quit: () => calls.push('quit-2'), on: () => calls.push('listen-2') };
    assert.equal(enforceSingleInstance(first, () => calls.push('focus-1')), true);
    assert.equal(enforceSingleInstance(second, () => calls.push('focus-2')), false);
    secondInstance?.();
    assert.deepEqual(calls, ['quit-2', 'focus-1']);
  });

  it('start at login on Linux writes and removes an XDG autostart entry that starts hidden', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'strait-autostart-'));
    try {
      assert.equal(await setLinuxAutostart(nodeAutostartFs, dir, '/opt/Strait/strait', true), true);
      const text = await readFile(join(dir, 'autostart', 'strait.desktop'), 'utf8');
      assert.match(text, /^\[Desktop Entry\]\nType=Application\n/u);
      assert.match(text, /^Exec=\/opt\/Strait\/strait --hidden$/mu);
      assert.equal(await setLinuxAutostart(nodeAutostartFs, dir, '/opt/Strait/strait', false), false);
      assert.match(autostartDesktopEntry('/opt/My Apps/strait'), /^Exec="\/opt\/My Apps\/strait" --hidden$/mu);
      assert.equal(startedHidden(['strait', '--hidden']), true);
      assert.equal(startedHidden(['strait']), false);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
