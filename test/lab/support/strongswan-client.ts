// strongSwan's own client (a second charon) in netns `client`, for proving
// the lab works and as the reference our benchmarks compare against. Runs
// inside the UML guest only. Its config lives in the state dir
// (<state>/sw-<name>/), its runtime files in a private /run (/run/lab/<name>).

import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import type { BackgroundProcess, ShOptions, ShResult } from './guest.js';
import { labSecret, labState, run, spawnBackground, waitFor } from './guest.js';
import type { Netns } from './topology.js';
import { GATEWAYS, IDENTITIES, LAB_TOPOLOGY, LAN, POOL } from './topology.js';

/**
 * The client connections the default config defines (swanctl names; each has
 * one CHILD_SA of the same name):
 * - psk:         PSK as psk-client@lab.example        -> gateway rw-psk
 * - psk-full:    same, but asks for 0.0.0.0/0 + ::/0   -> narrowed to the LAN by rw-psk
 * - ecdsa:       alice's ECDSA cert, IDi = subject DN  -> rw-ecdsa
 * - ecdsa-email: alice's ECDSA cert, IDi = alice@lab.example -> rw-ecdsa
 * - eap:         EAP-MSCHAPv2 as carol                 -> rw-eap
 * - rsa:         bob's RSA cert                        -> rw-rsa (192.0.2.3)
 * - ecp384:      PSK, proposes ECP-256 first            -> rw-ecp384 (192.0.2.4) answers INVALID_KE_PAYLOAD
 */
export const SW_CLIENT_CONNECTIONS = ['psk', 'psk-full', 'ecdsa', 'ecdsa-email', 'eap', 'rsa', 'ecp384'] as const;
export type SwClientConnection = (typeof SW_CLIENT_CONNECTIONS)[number];

export interface StrongswanClientOptions {
  /** Names the config dir, private /run and log; default "sw-client". */
  readonly name?: string;
  readonly netns?: Netns;
  /** Extra connection sections, appended inside `connections { }`. */
  readonly extraConnections?: string;
  /**
   * Local IKE ports instead of 500/4500 (charon.port / charon.port_nat_t), so
   * that another IKE client (straitd) can run in the same namespace at the
   * same time; only one of them may have a tunnel up at a time.
   */
  readonly ports?: { readonly ike: number; readonly natt: number };
}

export interface VirtualIps {
  readonly ipv4?: string;
  readonly ipv6?: string;
}

export interface StrongswanClient {
  readonly name: string;
  /** charon's process id (its pidfile) */
  readonly pid: number;
  readonly netns: Netns;
  readonly viciUri: string;
  readonly configDir: string;
  readonly log: string;
  /** Where the resolve plugin writes the DNS servers it received (private /run). */
  readonly resolvConf: string;
  /** swanctl against this charon; args[0] is the command, e.g. ['--list-sas']. */
  swanctl(args: readonly string[], opts?: ShOptions): Promise<ShResult>;
  /** Brings up IKE_SA + CHILD_SA `conn`; resolves with swanctl's result (check `code`). */
  initiate(conn: SwClientConnection | string, timeoutS?: number): Promise<ShResult>;
  terminate(conn: SwClientConnection | string): Promise<ShResult>;
  /** The virtual IPs the gateway assigned (addresses from the pools on the client's interfaces). */
  virtualIps(): Promise<VirtualIps>;
  stop(): Promise<void>;
}

// Same plugin set as the gateway (host/gateway-config.mjs) plus `resolve`.
const CHARON_PLUGINS =
  'random nonce aes sha1 sha2 hmac gcm chapoly pem pkcs1 pkcs8 x509 revocation constraints pubkey openssl kdf gmp curve25519 ' +
  'kernel-netlink socket-default vici attr resolve eap-identity eap-mschapv2 md5';

function strongswanConf(name: string, log: string, ports?: StrongswanClientOptions['ports']): string {
  return `# strongSwan client "${name}" for the lab (support/strongswan-client.ts).
charon {
  load = ${CHARON_PLUGINS}${ports ? `\n  port = ${ports.ike}\n  port_nat_t = ${ports.natt}` : ''}
  filelog {
    ${name} {
      path = ${log}
      time_format = %H:%M:%S
      ike_name = yes
      append = yes
      flush_line = yes
      default = 1
      ike = 2
      cfg = 2
    }
  }
  syslog {
    daemon {
      default = -1
    }
  }
  plugins {
    vici {
      socket = unix:///run/charon.vici
    }
    resolve {
      # private /run: never the host's /etc/resolv.conf (the guest root is the host's /)
      file = /run/resolv.conf
    }
  }
}
swanctl {
  load = pem pkcs1 pkcs8 x509 revocation constraints pubkey openssl random
}
`;
}

interface ConnSpec {
  readonly gateway: keyof typeof GATEWAYS;
  readonly proposals: string;
  readonly esp: string;
  readonly local: string;
  readonly remote: string;
  readonly remoteTs: string;
}

const LAN_TS = `${LAN.subnet4}, ${LAN.subnet6}`;
const PSK_LOCAL = `auth = psk\n      id = ${IDENTITIES.pskClient}`;

const CONNECTIONS: Readonly<Record<SwClientConnection, ConnSpec>> = {
  psk: { gateway: 'main', proposals: 'aes256gcm16-prfsha256-ecp256', esp: 'aes256gcm16', local: PSK_LOCAL, remote: `auth = psk\n      id = ${GATEWAYS.main.id}`, remoteTs: LAN_TS },
  'psk-full': { gateway: 'main', proposals: 'aes256gcm16-prfsha256-ecp256', esp: 'aes256gcm16', local: PSK_LOCAL, remote: `auth = psk\n      id = ${GATEWAYS.main.id}`, remoteTs: '0.0.0.0/0, ::/0' },
  ecdsa: {
    gateway: 'main', proposals: 'aes256gcm16-prfsha256-ecp256', esp: 'aes256gcm16',
    local: 'auth = pubkey\n      certs = alice.crt', // IDi defaults to the subject DN
    remote: `auth = pubkey\n      id = ${GATEWAYS.main.id}\n      cacerts = ecdsa-ca.crt`, remoteTs: LAN_TS,
  },
  'ecdsa-email': {
    gateway: 'main', proposals: 'aes256gcm16-prfsha256-ecp256', esp: 'aes256gcm16',
    local: `auth = pubkey\n      certs = alice.crt\n      id = ${IDENTITIES.alice.email}`,
    remote: `auth = pubkey\n      id = ${GATEWAYS.main.id}\n      cacerts = ecdsa-ca.crt`, remoteTs: LAN_TS,
  },
  eap: {
    gateway: 'main', proposals: 'aes256gcm16-prfsha256-ecp256', esp: 'aes256gcm16',
    local: `auth = eap-mschapv2\n      id = ${IDENTITIES.carol.ikeId}\n      eap_id = ${IDENTITIES.carol.eapId}`,
    remote: `auth = pubkey\n      id = ${GATEWAYS.main.id}\n      cacerts = ecdsa-ca.crt`, remoteTs: LAN_TS,
  },
  rsa: {
    gateway: 'rsa', proposals: 'aes256gcm16-prfsha256-ecp256', esp: 'aes256gcm16',
    local: 'auth = pubkey\n      certs = bob.crt',
    remote: `auth = pubkey\n      id = ${GATEWAYS.rsa.id}\n      cacerts = rsa-ca.crt`, remoteTs: LAN_TS,
  },
  ecp384: {
    // ECP-256 first: the gateway wants group 20 and answers INVALID_KE_PAYLOAD (RFC 7296 §1.2).
    gateway: 'ecp384', proposals: 'aes256gcm16-prfsha256-ecp256, aes256gcm16-prfsha384-ecp384', esp: 'aes256gcm16',
    local: PSK_LOCAL, remote: `auth = psk\n      id = ${GATEWAYS.ecp384.id}`, remoteTs: LAN_TS,
  },
};

function swanctlConf(extra: string): string {
  const conns = Object.entries(CONNECTIONS).map(
    ([name, c]) => `  ${name} {
    version = 2
    remote_addrs = ${GATEWAYS[c.gateway].address}
    vips = 0.0.0.0, ::
    proposals = ${c.proposals}
    local {
      ${c.local}
    }
    remote {
      ${c.remote}
    }
    children {
      ${name} {
        remote_ts = ${c.remoteTs}
        mode = tunnel
        esp_proposals = ${c.esp}
      }
    }
  }`,
  );
  return `connections {\n${conns.join('\n')}\n${extra}\n}\ninclude conf.d/*.conf\n`;
}

function secretsConf(): string {
  return `secrets {
  ike-lab {
    id-main = ${GATEWAYS.main.id}
    id-ecp384 = ${GATEWAYS.ecp384.id}
    id-client = ${IDENTITIES.pskClient}
    secret = "${labSecret('psk')}"
  }
  eap-carol {
    id = ${IDENTITIES.carol.eapId}
    secret = "${labSecret('eapPassword')}"
  }
}
`;
}

function isAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Writes the config, starts charon in `netns` with a private /run, loads everything. */
export async function startStrongswanClient(opts: StrongswanClientOptions = {}): Promise<StrongswanClient> {
  const state = labState();
  const name = opts.name ?? 'sw-client';
  const netns = opts.netns ?? 'client';
  if (!/^[a-z0-9-]+$/.test(name)) throw new Error(`startStrongswanClient: bad name ${name}`);
  const configDir = join(state.stateDir, name);
  const swanctlDir = join(configDir, 'swanctl');
  const conf = join(configDir, 'strongswan.conf');
  const log = join(state.logDir, `charon-${name}.log`);
  const runDir = join(state.runDir, name);
  const viciUri = `unix://${runDir}/charon.vici`;

  for (const d of ['x509', 'x509ca', 'private', 'conf.d']) mkdirSync(join(swanctlDir, d), { recursive: true, mode: 0o700 });
  copyFileSync(state.pki.ecdsa.caCert, join(swanctlDir, 'x509ca', 'ecdsa-ca.crt'));
  copyFileSync(state.pki.rsa.caCert, join(swanctlDir, 'x509ca', 'rsa-ca.crt'));
  copyFileSync(state.pki.ecdsa.client.cert, join(swanctlDir, 'x509', 'alice.crt'));
  copyFileSync(state.pki.rsa.client.cert, join(swanctlDir, 'x509', 'bob.crt'));
  copyFileSync(state.pki.ecdsa.client.key, join(swanctlDir, 'private', 'alice.key'));
  copyFileSync(state.pki.rsa.client.key, join(swanctlDir, 'private', 'bob.key'));
  writeFileSync(conf, strongswanConf(name, log, opts.ports));
  writeFileSync(join(swanctlDir, 'swanctl.conf'), swanctlConf(opts.extraConnections ?? ''));
  writeFileSync(join(swanctlDir, 'conf.d', 'secrets.conf'), secretsConf(), { mode: 0o600 });

  mkdirSync(runDir, { recursive: true });
  const pidFile = join(runDir, 'charon.pid');
  if (existsSync(pidFile)) {
    if (isAlive(Number(readFileSync(pidFile, 'utf8').trim()))) throw new Error(`a charon named ${name} is already running (${runDir})`);
    // Left behind by a charon that was killed: its socket and pidfile would confuse the wait below.
    for (const f of ['charon.pid', 'charon.vici']) rmSync(join(runDir, f), { force: true });
  }
  const charon: BackgroundProcess = spawnBackground(
    ['/bin/sh', '-c', 'mount --bind "$1" /run && exec env STRONGSWAN_CONF="$2" /usr/lib/ipsec/charon', 'sh', runDir, conf],
    { netns, logFile: join(state.logDir, `charon-${name}.stdout`) },
  );
  let exitCode: number | undefined;
  void charon.exited.then((c) => (exitCode = c));
  await waitFor(
    () => {
      if (exitCode !== undefined) throw new Error(`charon exited with ${exitCode}; see ${charon.logFile}`);
      return existsSync(join(runDir, 'charon.vici'));
    },
    20_000,
    { what: `vici socket of ${name}` },
  );

  const swanctl = (args: readonly string[], o: ShOptions = {}): Promise<ShResult> => {
    const [command, ...rest] = args;
    if (command === undefined) return Promise.reject(new Error('swanctl: missing command'));
    return run(['swanctl', command, '--uri', viciUri, ...rest], { ...o, env: { SWANCTL_DIR: swanctlDir, STRONGSWAN_CONF: conf, ...o.env } });
  };
  const load = await swanctl(['--load-all', '--noprompt']);
  if (load.code !== 0) {
    await charon.stop();
    throw new Error(`swanctl --load-all for ${name} failed: ${load.stderr.trim() || load.stdout.trim()}`);
  }

  const pid = Number(readFileSync(pidFile, 'utf8').trim());
  if (!Number.isInteger(pid) || pid <= 0) throw new Error(`${name}: charon's pidfile ${pidFile} holds no process id`);
  return {
    name,
    pid,
    netns,
    viciUri,
    configDir,
    log,
    resolvConf: join(runDir, 'resolv.conf'),
    swanctl,
    initiate: (conn, timeoutS = 30) => swanctl(['--initiate', '--ike', conn, '--child', conn, '--timeout', String(timeoutS)], { timeoutMs: (timeoutS + 10) * 1000 }),
    terminate: (conn) => swanctl(['--terminate', '--ike', conn, '--timeout', '10'], { timeoutMs: 20_000 }),
    async virtualIps() {
      const r = await run(['ip', '-n', LAB_TOPOLOGY.netns[netns], '-o', 'addr', 'show'], { check: true });
      const v4prefix = POOL.ipv4.split('.').slice(0, 3).join('.') + '.';
      const v6prefix = POOL.ipv6.split('::')[0] + ':';
      const addrs = [...r.stdout.matchAll(/\binet6? ([0-9a-f.:]+)\//g)].map((m) => m[1] ?? '');
      const ipv4 = addrs.find((a) => a.startsWith(v4prefix));
      const ipv6 = addrs.find((a) => a.startsWith(v6prefix));
      return { ...(ipv4 ? { ipv4 } : {}), ...(ipv6 ? { ipv6 } : {}) };
    },
    async stop() {
      await charon.stop(5000);
    },
  };
}

/** The strongSwan client's log since `fromByte` (for assertions on what charon did). */
export function readLog(client: Pick<StrongswanClient, 'log'>, fromByte = 0): string {
  return existsSync(client.log) ? readFileSync(client.log).subarray(fromByte).toString('utf8') : '';
}
