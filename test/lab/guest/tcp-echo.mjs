// TCP echo and discard servers for the LAN host (started in netns lan by
// support/guest.ts startLanEcho()). Usage: node tcp-echo.mjs <echo-port> <discard-port>
// Both listen on :: (IPv4 and IPv6). Each connection logs one line with its byte count.
import { createServer } from 'node:net';

const [echoPort, discardPort] = process.argv.slice(2).map(Number);
if (!Number.isInteger(echoPort) || !Number.isInteger(discardPort)) {
  console.error('usage: tcp-echo.mjs <echo-port> <discard-port>');
  process.exit(2);
}

function serve(port, kind, onData) {
  const server = createServer((sock) => {
    let bytes = 0;
    sock.on('data', (chunk) => {
      bytes += chunk.length;
      onData(sock, chunk);
    });
    sock.on('error', () => undefined);
    sock.on('close', () => console.log(`${kind} ${sock.remoteAddress} ${bytes} bytes`));
  });
  server.listen(port, '::', () => console.log(`${kind} listening on ${port}`));
}

serve(echoPort, 'echo', (sock, chunk) => sock.write(chunk));
serve(discardPort, 'discard', () => undefined);
process.on('SIGTERM', () => process.exit(0));
