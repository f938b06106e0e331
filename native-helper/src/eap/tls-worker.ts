/**
 * The worker half of tls-client.ts: a real TLS client (node:tls, OpenSSL)
 * over an in-memory Duplex, so EAP-TLS (RFC 5216) never hand-writes TLS.
 *
 * Why a worker: TLSSocket is asynchronous, the IKE engine is not (sans-I/O,
 * DESIGN.md). The main thread posts one request, blocks on a shared flag
 * (Atomics.wait) and takes the reply with receiveMessageOnPort; here every
 * request runs the TLS state machine until it is quiet and answers with the
 * records OpenSSL wrote. Nothing in this file logs: the private key arrives
 * in memory (structured clone over the port) and stays here.
 */
import { constants } from 'node:crypto';
import { Duplex } from 'node:stream';
import { connect } from 'node:tls';
import type { TLSSocket } from 'node:tls';
import { parentPort, workerData } from 'node:worker_threads';
import type { MessagePort } from 'node:worker_threads';

import type { TlsWorkerReply, TlsWorkerRequest } from './tls-protocol.js';

type StateReply = Extract<TlsWorkerReply, { kind: 'state' }>;

/**
 * RFC 5705 §4: an exporter call without a context differs from one with an
 * empty context, and RFC 5216 §2.3 (TLS 1.2) wants none; node's typings make
 * the context mandatory although node passes "no context" for undefined.
 */
type Exporter = (this: TLSSocket, length: number, label: string, context?: Buffer) => Buffer;

interface Setup {
  readonly flag: Int32Array;
  readonly port: MessagePort;
}

const setup = workerData as { flag: SharedArrayBuffer; port: MessagePort };
const { flag, port }: Setup = { flag: new Int32Array(setup.flag), port: setup.port };

let socket: TLSSocket | undefined;
let transport: Duplex | undefined;
let written: Buffer[] = [];
let appData: Buffer[] = [];
let failure: { code: string; message: string } | undefined;
let connected = false;
let lastActivity = 0;

/** OpenSSL's "<hex>:error:<code>:SSL routines:<function>:<reason>:<file>:<line>:" → "<reason>", printable and bounded. */
function opensslReason(message: string): string {
  const m = /:error:[0-9A-Fa-f]+:[^:]*:[^:]*:([^:]+)/.exec(message);
  return (m?.[1] ?? message).replace(/[^\x20-\x7e]/g, '?').slice(0, 200);
}

function reply(r: TlsWorkerReply): void {
  port.postMessage(r);
  Atomics.store(flag, 0, 1);
  Atomics.notify(flag, 0);
}

/**
 * OpenSSL answers a flight within a few turns of the event loop (the stream
 * plumbing between TLSWrap and the Duplex defers by ticks and immediates).
 * Wait until nothing moved for a few immediates in a row, with a floor of
 * 2 ms: signing with an RSA key can take longer than one turn.
 */
async function settle(): Promise<void> {
  let quiet = 0;
  let seen = lastActivity;
  const started = Date.now();
  while (quiet < 4 || Date.now() - started < 2) {
    await new Promise<void>((resolve) => setImmediate(resolve));
    if (lastActivity !== seen) {
      seen = lastActivity;
      quiet = 0;
    } else {
      quiet++;
    }
  }
}

function snapshot(): TlsWorkerReply {
  const out = Buffer.concat(written);
  written = [];
  const data = Buffer.concat(appData);
  appData = [];
  const r: { -readonly [K in keyof StateReply]: StateReply[K] } = { kind: 'state', out: new Uint8Array(out), appData: new Uint8Array(data), connected };
  if (failure !== undefined) r.failure = failure;
  if (connected && socket !== undefined) {
    r.version = socket.getProtocol() ?? 'unknown';
    const chain: Uint8Array[] = [];
    // getPeerX509Certificate gives the leaf; the issuer links give what the server sent.
    let cert = socket.getPeerX509Certificate();
    const seen = new Set<string>();
    while (cert !== undefined && !seen.has(cert.fingerprint256) && chain.length < 17) {
      seen.add(cert.fingerprint256);
      chain.push(new Uint8Array(cert.raw));
      cert = cert.issuerCertificate;
    }
    r.peerChain = chain;
  }
  return r;
}

async function handle(req: TlsWorkerRequest): Promise<TlsWorkerReply> {
  switch (req.kind) {
    case 'start': {
      transport = new Duplex({
        read() {
          // data is pushed by 'feed'
        },
        write(chunk: Buffer, _enc, cb) {
          written.push(Buffer.from(chunk));
          lastActivity++;
          cb();
        },
      });
      socket = connect({
        socket: transport,
        cert: req.certificatePem,
        key: req.privateKeyPem,
        // The gateway's chain and name are judged on the main thread by pki/gateway-trust.ts,
        // the same code that judges its IKE certificate; MSK release waits for that verdict.
        rejectUnauthorized: false,
        // strongSwan's TLS 1.2 server (libtls) sends no renegotiation_info (RFC 5746), which OpenSSL 3
        // refuses by default. The attack RFC 5746 stops needs application data before a renegotiation;
        // EAP-TLS carries none, and 'secureConnect' firing twice (a renegotiation) is treated as a failure.
        secureOptions: constants.SSL_OP_LEGACY_SERVER_CONNECT,
        minVersion: req.minVersion,
        maxVersion: req.maxVersion,
        ...(req.serverName === undefined ? {} : { servername: req.serverName }),
      });
      socket.on('secureConnect', () => {
        if (connected) failure ??= { code: 'ERR_EAP_TLS_RENEGOTIATION', message: 'the gateway renegotiated TLS inside EAP-TLS' };
        connected = true;
        lastActivity++;
      });
      socket.on('data', (d: Buffer) => {
        appData.push(d);
        lastActivity++;
      });
      socket.on('error', (e: Error & { code?: string }) => {
        failure ??= { code: e.code ?? 'ERR_TLS', message: opensslReason(e.message) };
        lastActivity++;
      });
      await settle();
      return snapshot();
    }
    case 'feed': {
      if (transport === undefined) return { kind: 'state', out: new Uint8Array(0), appData: new Uint8Array(0), connected: false, failure: { code: 'ERR_STATE', message: 'TLS fed before start' } };
      transport.push(Buffer.from(req.records));
      lastActivity++;
      await settle();
      return snapshot();
    }
    case 'export': {
      if (socket === undefined || !connected) return { kind: 'exported', key: new Uint8Array(0) };
      const exporter = socket.exportKeyingMaterial as Exporter;
      const key = exporter.call(socket, req.length, req.label, req.context === undefined ? undefined : Buffer.from(req.context));
      const out = new Uint8Array(key);
      key.fill(0);
      return { kind: 'exported', key: out };
    }
  }
}

/**
 * A session that ends without closing us (an IKE timeout mid-EAP) must not
 * leave this thread and its key behind: we end ourselves after this long
 * without a request, longer than any IKE retransmission schedule waits.
 */
const IDLE_EXIT_MS = 180_000;
let idle = setTimeout(() => process.exit(0), IDLE_EXIT_MS);

port.on('message', (req: TlsWorkerRequest) => {
  clearTimeout(idle);
  idle = setTimeout(() => process.exit(0), IDLE_EXIT_MS);
  handle(req).then(reply, (e: unknown) => {
    reply({ kind: 'state', out: new Uint8Array(0), appData: new Uint8Array(0), connected: false, failure: { code: 'ERR_INTERNAL', message: e instanceof Error ? e.message : String(e) } });
  });
});
parentPort?.postMessage('ready');
