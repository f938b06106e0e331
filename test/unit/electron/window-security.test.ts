/** The renderer's lock-down, checked against recording fakes of webContents and Session. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { CONTENT_SECURITY_POLICY, guardSession, guardWebContents, isAllowedAppUrl, secureWebPreferences, type GuardedSession, type GuardedWebContents } from '../../../electron/main/window-security.js';

const ROOT = 'file:///opt/Strait/resources/app/renderer/dist';

describe('window security', () => {
  it('web preferences: isolation, sandbox, no Node anywhere', () => {
    const p = secureWebPreferences('/app/preload.js');
    assert.equal(p.contextIsolation, true);
    assert.equal(p.sandbox, true);
    assert.equal(p.nodeIntegration, false);
    assert.equal(p.nodeIntegrationInWorker, false);
    assert.equal(p.nodeIntegrationInSubFrames, false);
    assert.equal(p.webviewTag, false);
    assert.equal(p.webSecurity, true);
    assert.equal(p.preload, '/app/preload.js');
  });

  it('only files inside the app folder are allowed (no traversal, no web)', () => {
    assert.equal(isAllowedAppUrl(`${ROOT}/index.html`, ROOT), true);
    assert.equal(isAllowedAppUrl(`${ROOT}/assets/index.js`, ROOT), true);
    assert.equal(isAllowedAppUrl(`${ROOT}/../../../../etc/passwd`, ROOT), false);
    assert.equal(isAllowedAppUrl(`${ROOT}-evil/index.html`, ROOT), false);
    assert.equal(isAllowedAppUrl('https://example.com/', ROOT), false);
    assert.equal(isAllowedAppUrl('not a url', ROOT), false);
  });

  it('navigation and new windows are refused', () => {
    const listeners: Record<string, (e: { preventDefault(): void }, url: string) => void> = {};
    let openHandler: ((d: { url: string }) => { action: 'deny' }) | undefined;
    const contents: GuardedWebContents = {
      on: (event, l) => (listeners[event] = l),
      setWindowOpenHandler: (h) => (openHandler = h),
    };
    const warnings: string[] = [];
    guardWebContents(contents, ROOT, { warn: (m) => warnings.push(m) });
    let prevented = 0;
    listeners['will-navigate']?.({ preventDefault: () => prevented++ }, 'https://phish.example/');
    listeners['will-redirect']?.({ preventDefault: () => prevented++ }, 'file:///etc/passwd');
    listeners['will-navigate']?.({ preventDefault: () => prevented++ }, `${ROOT}/index.html`);
    assert.equal(prevented, 2);
    assert.deepEqual(openHandler?.({ url: 'https://example.com' }), { action: 'deny' });
    assert.equal(warnings.length, 3);
  });

  it('session: permissions denied except clipboard writing, foreign requests cancelled, CSP on every response', () => {
    const rec: { request?: (wc: never, p: string, cb: (g: boolean) => void) => void; check?: (wc: never, p: string) => boolean; before?: (d: { url: string }, cb: (r: { cancel?: boolean }) => void) => void; headers?: (d: { responseHeaders?: Record<string, string[]> }, cb: (r: { responseHeaders?: Record<string, string[]> }) => void) => void } = {};
    const session = {
      setPermissionRequestHandler: (h: typeof rec.request) => (rec.request = h),
      setPermissionCheckHandler: (h: typeof rec.check) => (rec.check = h),
      webRequest: { onBeforeRequest: (l: typeof rec.before) => (rec.before = l), onHeadersReceived: (l: typeof rec.headers) => (rec.headers = l) },
    } as unknown as GuardedSession;
    guardSession(session, ROOT, { warn: () => undefined });
    const granted: boolean[] = [];
    rec.request?.(undefined as never, 'media', (g) => granted.push(g));
    rec.request?.(undefined as never, 'clipboard-sanitized-write', (g) => granted.push(g));
    assert.deepEqual(granted, [false, true]);
    assert.equal(rec.check?.(undefined as never, 'geolocation'), false);
    const cancels: (boolean | undefined)[] = [];
    rec.before?.({ url: 'https://tracker.example/x.js' }, (r) => cancels.push(r.cancel));
    rec.before?.({ url: `${ROOT}/assets/index.js` }, (r) => cancels.push(r.cancel));
    assert.deepEqual(cancels, [true, false]);
    let headers: Record<string, string[]> | undefined;
    rec.headers?.({ responseHeaders: { 'Content-Type': ['text/html'] } }, (r) => (headers = r.responseHeaders));
    assert.deepEqual(headers?.['Content-Security-Policy'], [CONTENT_SECURITY_POLICY]);
    assert.match(CONTENT_SECURITY_POLICY, /default-src 'none'/);
    assert.match(CONTENT_SECURITY_POLICY, /script-src 'self'(;|$)/);
    assert.doesNotMatch(CONTENT_SECURITY_POLICY, /unsafe-(inline|eval)/);
  });
});

describe('IPC registration', () => {
  it('one channel per contract method; requests from frames outside the app are refused before any handler runs', async () => {
    const { registerIpc } = await import('../../../electron/main/ipc-register.js');
    const { DESKTOP_METHODS } = await import('../../../native-helper/src/api/desktop.js');
    const channels = new Map<string, (event: { senderFrame: { url: string } | null }, input: unknown) => Promise<unknown>>();
    const ran: string[] = [];
    const handlers = Object.fromEntries(DESKTOP_METHODS.map((m) => [m, async (input: unknown) => (ran.push(m), { ok: true, value: input })]));
    const unregister = registerIpc({ handle: (c, l) => channels.set(c, l), removeHandler: (c) => channels.delete(c) }, handlers as never, ROOT);
    assert.deepEqual([...channels.keys()].sort(), DESKTOP_METHODS.map((m) => `strait:${m}`).sort());
    const status = channels.get('strait:status');
    assert.deepEqual(await status?.({ senderFrame: { url: 'https://evil.example/' } }, {}), { ok: false, error: { code: 'INVALID_INPUT', message: 'request from an unknown page refused' } });
    assert.deepEqual(await status?.({ senderFrame: null }, {}), { ok: false, error: { code: 'INVALID_INPUT', message: 'request from an unknown page refused' } });
    assert.deepEqual(ran, []);
    assert.deepEqual(await status?.({ senderFrame: { url: `${ROOT}/index.html` } }, { x: 1 }), { ok: true, value: { x: 1 } });
    assert.deepEqual(ran, ['status']);
    unregister();
    assert.equal(channels.size, 0);
  });
});
