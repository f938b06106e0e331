/**
 * Turns a bound UDP socket into an RFC 3948 encapsulation socket:
 * setsockopt(SOL_UDP, UDP_ENCAP, UDP_ENCAP_ESPINUDP), which Node's dgram
 * cannot do. Without it the kernel hands ESP-in-UDP from the gateway to
 * our IKE socket as plain datagrams instead of decapsulating them, and the
 * tunnel is silent behind a NAT (RFC 3948 §3).
 *
 * The option is set by a small N-API addon (native-helper/addon/udp_encap.c,
 * built by native-helper/addon/build.mjs at `npm ci` / build time). It finds
 * the socket by the address and port it is bound to, so no Node internals
 * are touched. Loading is lazy and failures are typed values, never
 * exceptions: the driver decides what a missing addon means.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** UDP_ENCAP_ESPINUDP (linux/udp.h): RFC 3948 with the non-ESP marker. */
export const UDP_ENCAP_ESPINUDP = 2;

interface UdpEncapAddon {
  enable(address: string, port: number): number;
  query(address: string, port: number): number;
}

export type UdpEncapResult = { readonly ok: true } | { readonly ok: false; readonly reason: string };

const ADDON_FILE = 'strait_udp_encap.node';

/**
 * native-helper/addon/build/<file> in the nearest ancestor that has it: the
 * same lookup works from src/ (tsx), dist/ and any other tsc outDir.
 */
function candidatePaths(): string[] {
  const out: string[] = [];
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 8; i++) {
    out.push(join(dir, 'native-helper', 'addon', 'build', ADDON_FILE));
    const parent = dirname(dir);
    if (parent === dir) break;
    dir = parent;
  }
  return out;
}

let loaded: { addon: UdpEncapAddon } | { error: string } | undefined;

function isAddon(x: unknown): x is UdpEncapAddon {
  if (typeof x !== 'object' || x === null) return false;
  const o = x as Record<string, unknown>;
  return typeof o['enable'] === 'function' && typeof o['query'] === 'function';
}

function load(): { addon: UdpEncapAddon } | { error: string } {
  if (loaded !== undefined) return loaded;
  if (process.platform !== 'linux') return (loaded = { error: `UDP_ENCAP is a Linux socket option (running on ${process.platform})` });
  const require = createRequire(import.meta.url);
  const paths = candidatePaths();
  const path = paths.find((p) => existsSync(p));
  if (path === undefined) return (loaded = { error: `the UDP_ENCAP addon is not built (run: node native-helper/addon/build.mjs); looked for native-helper/addon/build/${ADDON_FILE} above ${paths[0] ?? ''}` });
  try {
    const mod: unknown = require(path);
    loaded = isAddon(mod) ? { addon: mod } : { error: `${path} does not export enable/query` };
  } catch (e) {
    loaded = { error: `cannot load ${path}: ${e instanceof Error ? e.message : String(e)}` };
  }
  return loaded;
}

/** Sets UDP_ENCAP_ESPINUDP on this process's UDP socket bound to address:port. */
export function enableUdpEncap(address: string, port: number): UdpEncapResult {
  const l = load();
  if ('error' in l) return { ok: false, reason: l.error };
  try {
    l.addon.enable(address, port);
    return { ok: true };
  } catch (e) {
    return { ok: false, reason: e instanceof Error ? e.message : String(e) };
  }
}

/** The socket's UDP_ENCAP value (0 = none, 2 = ESP-in-UDP), or a reason it cannot be read. */
export function queryUdpEncap(address: string, port: number): { readonly ok: true; readonly type: number } | { readonly ok: false; readonly reason: string } {
  const l = load();
  if ('error' in l) return { ok: false, reason: l.error };
  try {
    return { ok: true, type: l.addon.query(address, port) };
  } catch (e) {
    return { ok: false, reason: e instanceof Error ? e.message : String(e) };
  }
}
