// TEST SUPPORT ONLY (lab e2e stage): relays TCP connections on the guest's
// eth0 (in its own netns `e2e`, see e2e-link.sh) to straitd's unix socket in
// netns `client`, so the desktop e2e on the host can drive the real straitd.
// straitd itself never listens on TCP: this relay lives only inside the lab
// guest, for the length of the e2e stage, on an address of a namespace the
// test made (10.200.0.0/24 on a TAP device in a host netns of its own).
//
//   node e2e-relay.mjs <unix socket> <listen address> <port>
// Prints "e2e-relay listening <address>:<port>" once it accepts connections.
import { createConnection, createServer } from 'node:net';

const [socketPath, address, portText] = process.argv.slice(2);
const port = Number(portText);
if (!socketPath || !address || !Number.isInteger(port) || port <= 0 || port > 65535) {
  console.error('usage: e2e-relay.mjs <unix socket> <listen address> <port>');
  process.exit(2);
}

const server = createServer((tcp) => {
  const unix = createConnection({ path: socketPath });
  // Either side closing or failing ends both: straitd sees the desktop go away, and vice versa.
  const end = () => {
    tcp.destroy();
    unix.destroy();
  };
  tcp.on('error', end).on('close', end);
  unix.on('error', end).on('close', end);
  tcp.pipe(unix);
  unix.pipe(tcp);
});
server.on('error', (e) => {
  console.error(`e2e-relay: ${e.message}`);
  process.exit(1);
});
server.listen(port, address, () => console.log(`e2e-relay listening ${address}:${port}`));
for (const sig of ['SIGTERM', 'SIGINT']) process.on(sig, () => server.close(() => process.exit(0)));
