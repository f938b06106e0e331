/**
 * straitd for the host e2e: the daemon's real pieces — RPC server on a unix
 * socket, service handlers, supervisor with the IKEv2 engine over real UDP,
 * log store — composed as daemon/main.ts runDaemon() composes them, except
 * for the platform, which is the RECORDING backend of the daemon unit tests:
 * the host kernel has no ESP, so nothing can be installed here (the real XFRM
 * path runs in the UML lab). Tests that use this say so in their names.
 */
import { chmodSync } from 'node:fs';

import { LogStore } from '../../../native-helper/src/daemon/log-store.js';
import { RpcServer } from '../../../native-helper/src/daemon/rpc-server.js';
import { createHandlers, publishEvents } from '../../../native-helper/src/daemon/service.js';
import { Supervisor } from '../../../native-helper/src/daemon/supervisor.js';
import { RPC_PROTOCOL_VERSION } from '../../../native-helper/src/api/rpc.js';
import { RecordingPlatform, freePorts } from '../../unit/daemon/helpers.js';

export interface RecordingStraitd {
  readonly socketPath: string;
  readonly platform: RecordingPlatform;
  stop(): Promise<void>;
}

export async function startRecordingStraitd(socketPath: string, logDir: string): Promise<RecordingStraitd> {
  const [ike, natt] = await freePorts(2);
  if (ike === undefined || natt === undefined) throw new Error('no free UDP ports');
  const platform = new RecordingPlatform();
  const log = new LogStore({ dir: logDir, fileLevel: 'debug' });
  const supervisor = new Supervisor({ platform, log, ports: { ike, natt }, connectTimeoutMs: 30_000 });
  const version = { name: 'straitd' as const, version: 'e2e', protocol: RPC_PROTOCOL_VERSION, platform: process.platform, backend: platform.name, pid: process.pid, startedAt: Date.now() };
  log.append({ level: 'info', component: 'daemon', event: 'daemon.start', message: `straitd (e2e, recording platform) starting`, fields: {} });
  await supervisor.sweepStale();
  let stopping = false;
  const server = new RpcServer({ handlers: createHandlers({ supervisor, log, version }), log: (r) => log.append(r), stopping: () => stopping });
  const unhook = publishEvents(supervisor, log, server);
  await server.listen(socketPath);
  chmodSync(socketPath, 0o660);
  return {
    socketPath,
    platform,
    stop: async () => {
      stopping = true;
      await supervisor.shutdown();
      await server.close();
      unhook();
      log.close();
    },
  };
}
