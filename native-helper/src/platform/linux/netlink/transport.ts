/**
 * How netlink messages reach the kernel: the strait_netlink addon
 * (native-helper/addon/netlink.c), one socket per protocol, opened on first
 * use and kept for the helper's lifetime. Requests are synchronous: the
 * kernel answers an XFRM or rtnetlink request in microseconds, and the
 * addon bounds the wait (timeout) and the reply size, so the event loop is
 * never held for long — far shorter than spawning `ip` would take.
 *
 * Unit tests inject a recording transport instead (the lab proves the real one).
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export type NetlinkProtocol = 0 | 6;

export interface NetlinkTransport {
  /** sends one request; returns the reply messages up to and including the ack/error or NLMSG_DONE */
  request(protocol: NetlinkProtocol, message: Buffer): Buffer[];
  close(): void;
}

interface NetlinkAddon {
  open(protocol: number): number;
  request(fd: number, message: Buffer, timeoutMs: number): Buffer[];
  close(fd: number): void;
}

const ADDON_FILE = 'strait_netlink.node';
const DEFAULT_TIMEOUT_MS = 5_000;

function isAddon(x: unknown): x is NetlinkAddon {
  if (typeof x !== 'object' || x === null) return false;
  const r = x as Record<string, unknown>;
  return typeof r['open'] === 'function' && typeof r['request'] === 'function' && typeof r['close'] === 'function';
}

/** native-helper/addon/build/<file> in the nearest ancestor that has it (src/ under tsx, dist/, any outDir). */
function findAddon(): string | undefined {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 10; i++) {
    const p = join(dir, 'native-helper', 'addon', 'build', ADDON_FILE);
    if (existsSync(p)) return p;
    const parent = dirname(dir);
    if (parent === dir) break;
    dir = parent;
  }
  return undefined;
}

class AddonTransport implements NetlinkTransport {
  private readonly fds = new Map<NetlinkProtocol, number>();
  constructor(
    private readonly addon: NetlinkAddon,
    private readonly timeoutMs: number,
  ) {}

  request(protocol: NetlinkProtocol, message: Buffer): Buffer[] {
    let fd = this.fds.get(protocol);
    if (fd === undefined) {
      fd = this.addon.open(protocol);
      this.fds.set(protocol, fd);
    }
    return this.addon.request(fd, message, this.timeoutMs);
  }

  close(): void {
    for (const fd of this.fds.values()) this.addon.close(fd);
    this.fds.clear();
  }
}

/**
 * The addon-backed transport, or why there is none (not built, not Linux,
 * no AF_NETLINK). Opening a socket here proves it works before the backend
 * relies on it.
 */
export function loadNetlinkTransport(timeoutMs = DEFAULT_TIMEOUT_MS): { transport: NetlinkTransport } | { error: string } {
  if (process.platform !== 'linux') return { error: `netlink exists only on Linux, not ${process.platform}` };
  const path = findAddon();
  if (path === undefined) return { error: `the netlink addon is not built (run: node native-helper/addon/build.mjs)` };
  try {
    const mod: unknown = createRequire(import.meta.url)(path);
    if (!isAddon(mod)) return { error: `${path} does not export open/request/close` };
    const t = new AddonTransport(mod, timeoutMs);
    // a socket that cannot be opened now would fail every call later
    const fd = mod.open(6);
    mod.close(fd);
    return { transport: t };
  } catch (e) {
    return { error: `loading ${path} failed: ${e instanceof Error ? e.message : String(e)}` };
  }
}
