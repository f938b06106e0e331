// Where everything of one lab run lives: `.lab/<run-id>/` in the repo
// (gitignored). The guest sees the host's / through hostfs, so the same paths
// are valid inside UML; lab.json hands them to the guest (support/guest.ts).
import { join } from 'node:path';

/** Guest-private tmpfs (inside UML) for daemons' runtime files: /run/lab/<role>. */
export const GUEST_RUN_DIR = '/run/lab';

/** @param {string} stateDir absolute path of `.lab/<run-id>` */
export function stateLayout(stateDir) {
  const p = (...parts) => join(stateDir, ...parts);
  const caSet = (name) => ({
    dir: p('pki', name),
    caCert: p('pki', name, 'ca.crt'),
    caKey: p('pki', name, 'ca.key'),
    gwCert: p('pki', name, 'gw.crt'),
    gwKey: p('pki', name, 'gw.key'),
  });
  const client = (name) => ({
    cert: p('pki', name, 'client.crt'),
    key: p('pki', name, 'client.key'),
    p12: p('pki', name, 'client.p12'),
  });
  return {
    stateDir,
    labJson: p('lab.json'),
    labEnv: p('lab.env'),
    logDir: p('logs'),
    consoleLog: p('logs', 'console.log'),
    exitMarker: p('logs', 'guest-exit'),
    resultsFile: p('results.jsonl'),
    umlDir: p('uml'),
    pkiConf: p('pki', 'pki-strongswan.conf'),
    pki: {
      // ECDSA P-256 chain: gateway vpn.lab.example, client alice@lab.example.
      ecdsa: { ...caSet('ecdsa'), client: client('ecdsa') },
      // RSA-3072 chain: gateway vpn-rsa.lab.example, client bob@lab.example.
      rsa: { ...caSet('rsa'), client: client('rsa') },
      // Untrusted look-alike CA with its own vpn.lab.example gateway cert.
      evil: caSet('evil'),
    },
    secrets: {
      dir: p('secrets'),
      psk: p('secrets', 'psk'),
      eapPassword: p('secrets', 'eap-password'),
      p12Password: p('secrets', 'p12-password'),
    },
    gw: {
      dir: p('gw'),
      strongswanConf: p('gw', 'strongswan.conf'),
      swanctlDir: p('gw', 'swanctl'),
      log: p('logs', 'charon-gw.log'),
      vici: `${GUEST_RUN_DIR}/gw/charon.vici`,
      viciUri: `unix://${GUEST_RUN_DIR}/gw/charon.vici`,
    },
  };
}
