// Writes the strongSwan gateway's configuration (strongswan.conf for charon,
// a swanctl directory with certificates, keys and connections) into the run's
// state dir, from topology.json. Started inside the guest by guest/gateway.sh.
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * charon's plugin list, independent of /etc/strongswan.d. `kdf` is required
 * (else IKE_AUTH fails with "KDF_PRF not supported"); md4/des for
 * EAP-MSCHAPv2 come from the openssl plugin's legacy provider. eap-tls
 * (libcharon-extra-plugins) runs strongSwan's own TLS stack (libtls), TLS 1.2
 * by default (version_max); with version_max = 1.3 (ike-interop's TLS 1.3 case)
 * 5.9.8 speaks pre-RFC 9190 EAP-TLS 1.3 (native-helper/src/eap/tls13-msk.ts).
 */
const CHARON_PLUGINS =
  'random nonce aes sha1 sha2 hmac gcm chapoly pem pkcs1 pkcs8 x509 revocation constraints pubkey openssl kdf gmp curve25519 ' +
  'kernel-netlink socket-default vici attr eap-identity eap-mschapv2 eap-tls md5';
const SWANCTL_PLUGINS = 'pem pkcs1 pkcs8 x509 revocation constraints pubkey openssl random';

/** charon's strongswan.conf for the gateway role. */
export function charonConf({ role, logFile }) {
  return `# Generated for one lab run. charon runs with a private /run (bind mount of
# /run/lab/${role}), so its pidfile and vici socket stay apart from other daemons.
charon {
  load = ${CHARON_PLUGINS}
  port = 500
  port_nat_t = 4500
  filelog {
    ${role} {
      path = ${logFile}
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
  }
}
swanctl {
  load = ${SWANCTL_PLUGINS}
}
`;
}

function list(values) {
  return values.join(', ');
}

/**
 * @param {ReturnType<typeof import('./layout.mjs').stateLayout>} layout
 * @param {typeof import('../support/topology.json')} topo
 */
export function gatewaySwanctlConf(layout, topo) {
  const certOf = { main: 'ecdsa-gw.crt', rsa: 'rsa-gw.crt', ecp384: undefined };
  const caOf = { ecdsa: 'ecdsa-ca.crt', rsa: 'rsa-ca.crt' };
  const conns = Object.entries(topo.connections).map(([name, c]) => {
    const gw = topo.gateways[c.gateway];
    const addrs = [gw.address, ...('address6' in gw ? [gw.address6] : [])];
    const local =
      c.localAuth === 'psk'
        ? `auth = psk\n      id = ${gw.id}`
        : `auth = pubkey\n      certs = ${certOf[c.gateway]}\n      id = ${gw.id}`;
    // A DN identity has commas and spaces: quoted, as swanctl.conf examples do.
    let remote = `auth = ${c.remoteAuth}\n      id = ${c.remoteId.includes(',') ? JSON.stringify(c.remoteId) : c.remoteId}`;
    if (c.ca) remote += `\n      cacerts = ${caOf[c.ca]}`;
    if (c.remoteAuth.startsWith('eap')) remote += '\n      eap_id = %any';
    return `  ${name} {
    version = 2
    local_addrs = ${list(addrs)}
    pools = ${topo.pool.name4}, ${topo.pool.name6}
    proposals = ${list(topo.proposals[c.ike])}${c.localAuth === 'pubkey' ? '\n    send_cert = always' : ''}${c.reauthS ? `\n    reauth_time = ${c.reauthS}s` : ''}${c.ikeRekeyS ? `\n    rekey_time = ${c.ikeRekeyS}s` : ''}${c.mobike === false ? '\n    mobike = no' : ''}
    local {
      ${local}
    }
    remote {
      ${remote}
    }
    children {
      ${topo.childName} {
        local_ts = ${list(topo.localTs)}
        mode = tunnel
        esp_proposals = ${list(topo.proposals[c.esp])}${c.childRekeyS ? `\n        rekey_time = ${c.childRekeyS}s\n        life_time = ${c.childLifeS}s\n        rand_time = 1s` : ''}
      }
    }
  }`;
  });
  const p = topo.pool;
  // An account the gateway refuses although its password is right: dave's EAP-MSCHAPv2 succeeds,
  // then the \`groups\` constraint (nothing here can prove membership) fails and charon answers
  // AUTHENTICATION_FAILED. On the RSA gateway address, where no other config accepts EAP, so
  // charon finds no alternative config to switch to.
  const refused = `  rw-eap-refused {
    version = 2
    local_addrs = ${topo.gateways.rsa.address}
    pools = ${p.name4}, ${p.name6}
    proposals = ${list(topo.proposals.mainIke)}
    send_cert = always
    local {
      auth = pubkey
      certs = rsa-gw.crt
      id = ${topo.gateways.rsa.id}
    }
    remote {
      auth = eap-mschapv2
      id = ${topo.identities.dave.ikeId}
      eap_id = %any
      groups = vpn-users-nobody-is-in
    }
    children {
      ${topo.childName} {
        local_ts = ${list(topo.localTs)}
        mode = tunnel
        esp_proposals = ${list(topo.proposals.mainEsp)}
      }
    }
  }`;
  // RFC 4739 certificate then EAP (strongSwan's ikev2-cert-eap): bob's certificate (RSA CA) in the first
  // round, then EAP-MSCHAPv2 as carol in the second. Bob's e-mail as IDi selects it on the main address
  // (rw-ecdsa's %any ranks below an exact identity; bob's plain certificate case runs against the RSA address).
  const certEap = `  rw-cert-eap {
    version = 2
    local_addrs = ${topo.gateways.main.address}
    pools = ${p.name4}, ${p.name6}
    proposals = ${list(topo.proposals.mainIke)}
    send_cert = always
    local {
      auth = pubkey
      certs = ecdsa-gw.crt
      id = ${topo.gateways.main.id}
    }
    remote-1 {
      auth = pubkey
      id = ${topo.identities.bob.email}
      cacerts = rsa-ca.crt
    }
    remote-2 {
      auth = eap-mschapv2
      eap_id = %any
    }
    children {
      ${topo.childName} {
        local_ts = ${list(topo.localTs)}
        mode = tunnel
        esp_proposals = ${list(topo.proposals.mainEsp)}
      }
    }
  }`;
  return `# Generated for one lab run from test/lab/support/topology.json.
# charon picks the IKE config by the local address a client talks to
# (${topo.gateways.main.address} / ${topo.gateways.rsa.address} / ${topo.gateways.ecp384.address}), then the peer config by identities.
# A responder narrows a client's traffic selectors to local_ts (RFC 7296 §2.9),
# so a full-tunnel request (0.0.0.0/0) gets ${topo.localTs[0]} back.
connections {
${conns.join('\n')}
${refused}
${certEap}
}
pools {
  ${p.name4} {
    addrs = ${p.ipv4}
    dns = ${p.dns4}
    # INTERNAL_DNS_DOMAIN (RFC 8598 §4): a numbered attribute takes a raw string value.
    ${p.dnsDomainAttribute} = ${p.dnsDomain}
  }
  ${p.name6} {
    addrs = ${p.ipv6}
    dns = ${p.dns6}
  }
}
include conf.d/*.conf
`;
}

/** Secrets for the gateway (mode 0600 file, never on a command line). */
export function gatewaySecretsConf(layout, topo) {
  const psk = readFileSync(layout.secrets.psk, 'utf8').trim();
  const eap = readFileSync(layout.secrets.eapPassword, 'utf8').trim();
  const { gateways: g, identities: id } = topo;
  return `secrets {
  ike-lab {
    id-main = ${g.main.id}
    id-ecp384 = ${g.ecp384.id}
    id-client = ${id.pskClient}
    id-rekey = ${id.rekeyClient}
    id-ikerekey = ${id.ikeRekeyClient}
    id-roam = ${id.roamClient}
    id-reauth = ${id.reauthClient}
    secret = "${psk}"
  }
  eap-carol {
    id = ${id.carol.eapId}
    secret = "${eap}"
  }
  eap-dave {
    id = ${id.dave.eapId}
    secret = "${eap}"
  }
}
`;
}

/**
 * @param {ReturnType<typeof import('./layout.mjs').stateLayout>} layout
 * @param {typeof import('../support/topology.json')} topo
 */
export function writeGatewayConfig(layout, topo) {
  const { gw, pki } = layout;
  const dir = (...p) => join(gw.swanctlDir, ...p);
  // All of swanctl's credential folders (it warns about each missing one); negative
  // tests may drop CRLs or extra certificates into them and `gateway.sh reload`.
  const folders = ['x509', 'x509ca', 'x509ocsp', 'x509aa', 'x509ac', 'x509crl', 'pubkey', 'private', 'rsa', 'ecdsa', 'bliss', 'pkcs8', 'pkcs12', 'conf.d'];
  for (const d of folders) mkdirSync(dir(d), { recursive: true, mode: 0o700 });
  copyFileSync(pki.ecdsa.caCert, dir('x509ca', 'ecdsa-ca.crt'));
  copyFileSync(pki.rsa.caCert, dir('x509ca', 'rsa-ca.crt'));
  copyFileSync(pki.ecdsa.gwCert, dir('x509', 'ecdsa-gw.crt'));
  copyFileSync(pki.rsa.gwCert, dir('x509', 'rsa-gw.crt'));
  copyFileSync(pki.ecdsa.gwKey, dir('private', 'ecdsa-gw.key'));
  copyFileSync(pki.rsa.gwKey, dir('private', 'rsa-gw.key'));
  writeFileSync(gw.strongswanConf, charonConf({ role: 'gw', logFile: gw.log }));
  writeFileSync(dir('swanctl.conf'), gatewaySwanctlConf(layout, topo));
  writeFileSync(dir('conf.d', 'secrets.conf'), gatewaySecretsConf(layout, topo), { mode: 0o600 });
}
