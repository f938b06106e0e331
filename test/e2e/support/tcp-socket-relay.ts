/**
 * TEST SUPPORT ONLY: a unix socket on the host whose connections are piped to
 * a TCP endpoint — the lab guest's relay to straitd (test/lab/guest/e2e-relay.mjs).
 * The desktop handler module then talks to the real straitd inside UML through
 * its usual unix-socket client (api/client.ts), unchanged.
 */
import { chmodSync } from 'node:fs';
import { createConnection, createServer, type Socket } from 'node:net';

export interface TcpSocketRelay {
  readonly socketPath: string;
  close(): Promise<void>;
}

export async function startTcpSocketRelay(socketPath: string, target: { readonly address: string; readonly port: number }): Promise<TcpSocketRelay> {
  const open = new Set<Socket>();
  const server = createServer((local) => {
    const remote = createConnection({ host: target.address, port: target.port });
    open.add(local).add(remote);
    // Either side ending ends both, so the client sees straitd "go away" exactly when the TCP path does.
    const end = () => {
      local.destroy();
      remote.destroy();
      open.delete(local);
      open.delete(remote);
    };
    local.on('error', end).on('close', end);
    remote.on('error', end).on('close', end);
    local.pipe(remote);
    remote.pipe(local);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(socketPath, () => resolve());
  });
  chmodSync(socketPath, 0o600);
  return {
    socketPath,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of open) s.destroy();
        server.close(() => resolve());
      }),
  };
}
