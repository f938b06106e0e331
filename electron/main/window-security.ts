/**
 * The renderer is locked down the way Mullvad and VS Code do it: no Node in
 * the page, an isolated preload, the OS sandbox, a strict CSP, and no way to
 * leave the bundled app (navigation, new windows, permission prompts and
 * network requests are all refused). Electron objects come in by injection
 * so this module loads, and is tested, in plain Node.
 */
import type { BrowserWindowConstructorOptions, Session } from 'electron';

/**
 * The page loads only its own bundled files: scripts and styles from the app
 * (`'self'`), no inline script, no eval, no network at all (the UI talks to
 * straitd through the preload, never over HTTP). Vite emits the stylesheet
 * as a file, so `style-src 'self'` suffices; React's `style={}` attributes
 * are set through the CSSOM, which CSP does not govern.
 */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "font-src 'self'",
  "connect-src 'none'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

export function secureWebPreferences(preloadPath: string): NonNullable<BrowserWindowConstructorOptions['webPreferences']> {
  return {
    preload: preloadPath,
    contextIsolation: true,
    sandbox: true,
    nodeIntegration: false,
    nodeIntegrationInWorker: false,
    nodeIntegrationInSubFrames: false,
    webSecurity: true,
    allowRunningInsecureContent: false,
    experimentalFeatures: false,
    webviewTag: false,
    navigateOnDragDrop: false,
    spellcheck: false,
    devTools: process.env['NODE_ENV'] === 'development',
  };
}

/** Only files inside the app's renderer folder (a `file://` URL prefix) may load. */
export function isAllowedAppUrl(url: string, rendererRootUrl: string): boolean {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return false;
  }
  if (parsed.protocol === 'devtools:') return true;
  const root = rendererRootUrl.endsWith('/') ? rendererRootUrl : `${rendererRootUrl}/`;
  // Normalised by URL: "file:///app/../etc/passwd" no longer starts with the root.
  return parsed.protocol === 'file:' && parsed.href.startsWith(root);
}

/** The small slice of webContents this module needs. */
export interface GuardedWebContents {
  on(event: 'will-navigate' | 'will-redirect', listener: (event: { preventDefault(): void }, url: string) => void): unknown;
  setWindowOpenHandler(handler: (details: { url: string }) => { action: 'deny' }): void;
}

/** The slice of Electron's Session this module needs (tests pass a recording fake). */
export type GuardedSession = Pick<Session, 'setPermissionRequestHandler' | 'setPermissionCheckHandler'> & { webRequest: Pick<Session['webRequest'], 'onBeforeRequest' | 'onHeadersReceived'> };

export interface GuardLog {
  warn(message: string): void;
}

/** Refuses navigation and new windows; a link to the web opens nothing (the UI has none on purpose). */
export function guardWebContents(contents: GuardedWebContents, rendererRootUrl: string, log: GuardLog): void {
  const refuse = (event: { preventDefault(): void }, url: string): void => {
    if (isAllowedAppUrl(url, rendererRootUrl)) return;
    event.preventDefault();
    log.warn(`blocked navigation to ${url}`);
  };
  contents.on('will-navigate', refuse);
  contents.on('will-redirect', refuse);
  contents.setWindowOpenHandler(({ url }) => {
    log.warn(`blocked new window for ${url}`);
    return { action: 'deny' };
  });
}

/** The one permission the UI uses: writing text to the clipboard (Logs → Copy). */
const ALLOWED_PERMISSIONS: ReadonlySet<string> = new Set(['clipboard-sanitized-write']);

/**
 * Session-wide: no other permission is ever granted (camera, notifications from the
 * page, geolocation...), every request outside the app folder is cancelled —
 * the renderer makes no network requests, so a request elsewhere can only come
 * from a compromised dependency — and every response carries the CSP header.
 */
export function guardSession(session: GuardedSession, rendererRootUrl: string, log: GuardLog): void {
  session.setPermissionRequestHandler((_contents, permission, callback) => {
    const granted = ALLOWED_PERMISSIONS.has(permission);
    if (!granted) log.warn(`denied permission request: ${permission}`);
    callback(granted);
  });
  session.setPermissionCheckHandler((_contents, permission) => ALLOWED_PERMISSIONS.has(permission));
  session.webRequest.onBeforeRequest((details, callback) => {
    const allowed = isAllowedAppUrl(details.url, rendererRootUrl);
    if (!allowed) log.warn(`blocked request to ${details.url}`);
    callback({ cancel: !allowed });
  });
  session.webRequest.onHeadersReceived((details, callback) => {
    callback({ responseHeaders: { ...details.responseHeaders, 'Content-Security-Policy': [CONTENT_SECURITY_POLICY] } });
  });
}
