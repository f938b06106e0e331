#!/usr/bin/env node
/**
 * Builds the native addons (udp_encap.c, netlink.c) with the system C compiler,
 * without node-gyp: node-gyp would download Node's headers from nodejs.org,
 * which CI machines cannot reach. Plain N-API needs only node_api.h and
 * js_native_api.h, which every Node install carries in <prefix>/include/node
 * (Debian's nodejs-dev: /usr/include/node). On Linux an addon links against
 * nothing: the N-API symbols resolve from the node binary at load time.
 *
 *   node native-helper/addon/build.mjs          build if missing or older than the source
 *   node native-helper/addon/build.mjs --force  always rebuild
 *
 * Output: native-helper/addon/build/strait_udp_encap.node and
 * strait_netlink.node. On a platform other than Linux it does nothing (both
 * serve Linux-only kernel interfaces).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, renameSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const outDir = join(here, 'build');
// Two modules, one build: the UDP_ENCAP option (udp_encap.c) and the netlink
// request primitive of the Linux platform backend (netlink.c).
const targets = [
  { source: join(here, 'udp_encap.c'), name: 'strait_udp_encap' },
  { source: join(here, 'netlink.c'), name: 'strait_netlink' },
];

if (process.platform !== 'linux') {
  console.log(`native addons: not needed on ${process.platform}`);
  process.exit(0);
}
const force = process.argv.includes('--force');
const candidates = [join(dirname(process.execPath), '..', 'include', 'node'), '/usr/include/node', '/usr/local/include/node'];
const cc = process.env.CC || 'cc';
let failed = false;
for (const { source, name } of targets) {
  const output = join(outDir, `${name}.node`);
  if (!force && existsSync(output) && statSync(output).mtimeMs >= statSync(source).mtimeMs) {
    console.log(`${name} addon: up to date (${output})`);
    continue;
  }
  const headers = candidates.find((d) => existsSync(join(d, 'node_api.h')));
  if (headers === undefined) {
    console.error(`${name} addon: node_api.h not found in ${candidates.join(', ')} (install Node with its headers, e.g. Debian's nodejs-dev)`);
    process.exit(1);
  }
  mkdirSync(outDir, { recursive: true });
  const tmp = `${output}.tmp-${process.pid}`;
  const args = ['-std=c11', '-O2', '-Wall', '-Wextra', '-Werror', '-fPIC', '-shared', `-DNODE_GYP_MODULE_NAME=${name}`, '-DNAPI_VERSION=8', `-I${headers}`, '-o', tmp, source];
  const r = spawnSync(cc, args, { stdio: 'inherit' });
  if (r.error !== undefined || r.status !== 0) {
    console.error(`${name} addon: ${cc} ${args.join(' ')} failed${r.error ? `: ${r.error.message}` : ` (exit ${r.status})`}`);
    failed = true;
    continue;
  }
  renameSync(tmp, output);
  console.log(`${name} addon: built ${output} (headers ${headers})`);
}
process.exit(failed ? 1 : 0);
