/**
 * The browser side shared by the desktop e2e files: the production renderer
 * bundle served over loopback HTTP, Debian's Chromium with the flags that work
 * on these machines (/work/shared/LAB.md), and `window.strait` installed in
 * the page as a bridge to the SAME main-process handler module Electron uses
 * (electron/main/services.ts; the preload and Electron itself are not in play:
 * no Electron binary can be fetched here).
 */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { extname, join, normalize, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

import type { Page } from '@playwright/test';

import { DESKTOP_METHODS } from '../../../native-helper/src/api/desktop.js';
import type { MainServices } from '../../../electron/main/services.js';

export const ROOT = fileURLToPath(new URL('../../..', import.meta.url));
const RENDERER = join(ROOT, 'renderer', 'dist');
export const SHOTS = join(ROOT, 'test-results', 'screenshots');

/** The few DOM bits page.evaluate callbacks use (this file is type-checked without the DOM lib). */
export interface PageGlobals {
  readonly document: { readonly documentElement: { scrollWidth: number; clientWidth: number }; querySelector(s: string): { textContent: string | null } | null };
}

export const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'];

const MIME: Readonly<Record<string, string>> = { '.html': 'text/html', '.js': 'text/javascript', '.css': 'text/css', '.map': 'application/json', '.svg': 'image/svg+xml' };

/** Serves renderer/dist (Chromium refuses module scripts from file://; Electron does not need this). */
export async function serveRenderer(): Promise<{ url: string; server: Server }> {
  const server = createServer((req, res) => {
    const path = normalize(join(RENDERER, decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname)));
    const file = path.endsWith(sep) ? join(path, 'index.html') : path;
    if (!file.startsWith(RENDERER)) {
      res.writeHead(403).end();
      return;
    }
    stat(file).then(
      (st) => {
        if (!st.isFile()) throw new Error('not a file');
        res.writeHead(200, { 'Content-Type': MIME[extname(file)] ?? 'application/octet-stream' });
        createReadStream(file).pipe(res);
      },
      () => res.writeHead(404).end(),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no address');
  return { url: `http://127.0.0.1:${address.port}/index.html`, server };
}

/** Installs `window.strait` in the page: every method goes to the Node-side handlers; events come back via __straitEmit. */
export async function bridge(page: Page, services: () => MainServices): Promise<void> {
  await page.exposeFunction('__straitInvoke', async (method: string, input: unknown) => {
    const handler = (services().handlers as unknown as Record<string, (i: unknown) => Promise<unknown>>)[method];
    if (handler === undefined) return { ok: false, error: { code: 'INVALID_INPUT', message: `no method ${method}` } };
    return handler(input ?? undefined);
  });
  await page.addInitScript((methods: readonly string[]) => {
    const w = globalThis as unknown as Record<string, unknown> & { __straitInvoke: (m: string, i: unknown) => Promise<unknown> };
    const listeners = new Set<(e: unknown) => void>();
    w['__straitEmit'] = (e: unknown) => {
      for (const l of listeners) l(e);
    };
    const api: Record<string, unknown> = Object.fromEntries(methods.map((m) => [m, (input?: unknown) => w.__straitInvoke(m, input ?? null)]));
    api['onEvent'] = (l: (e: unknown) => void) => {
      listeners.add(l);
      return () => listeners.delete(l);
    };
    w['strait'] = api;
  }, DESKTOP_METHODS);
}
