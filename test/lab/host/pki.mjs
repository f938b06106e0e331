// Generates the lab PKI and secrets at run time (never committed), with
// strongSwan's `pki` tool and openssl (PKCS#12 only). Private keys and secrets
// are written with mode 0600 and never pass through argv or the environment.
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';

/** Runs a tool, returns stdout; throws with stderr on failure. */
function tool(cmd, args, env) {
  const r = spawnSync(cmd, args, { env: { ...process.env, ...env }, maxBuffer: 16 << 20 });
  if (r.error) throw new Error(`${cmd}: ${r.error.message}`);
  if (r.status !== 0) throw new Error(`${cmd} ${args[0]} failed (exit ${r.status}): ${r.stderr.toString().trim()}`);
  return r.stdout;
}

/** A random ASCII secret (base64url, 192 bits): safe inside a quoted swanctl string. */
function randomSecret() {
  return randomBytes(24).toString('base64url');
}

/**
 * @param {ReturnType<typeof import('./layout.mjs').stateLayout>} layout
 * @param {typeof import('../support/topology.json')} topo
 */
export function generatePki(layout, topo) {
  const { pki, secrets } = layout;
  for (const d of [pki.ecdsa.dir, pki.rsa.dir, pki.evil.dir]) mkdirSync(d, { recursive: true, mode: 0o700 });
  mkdirSync(secrets.dir, { recursive: true, mode: 0o700 });

  // Only the plugins pki needs: the default list pulls in tpm and friends (noisy).
  writeFileSync(layout.pkiConf, 'pki {\n  load = random drbg nonce openssl pem pkcs1 pkcs8 x509 pubkey sha1 sha2 gmp\n}\n');
  const env = { STRONGSWAN_CONF: layout.pkiConf };
  const pkiTool = (...args) => tool('pki', args, env);
  const writeKey = (path, type) => writeFileSync(path, pkiTool('--gen', '--type', type, ...(type === 'rsa' ? ['--size', '3072'] : ['--size', '256']), '--outform', 'pem'), { mode: 0o600 });

  const ca = (set, type, dn) => {
    writeKey(set.caKey, type);
    writeFileSync(set.caCert, pkiTool('--self', '--ca', '--lifetime', '3650', '--in', set.caKey, '--type', type, '--dn', dn, '--outform', 'pem'));
  };
  const issue = (set, type, keyPath, certPath, dn, sans, flags) => {
    writeKey(keyPath, type);
    writeFileSync(
      certPath,
      pkiTool(
        '--issue', '--lifetime', '1825', '--cacert', set.caCert, '--cakey', set.caKey,
        '--in', keyPath, '--type', 'priv', '--dn', dn,
        ...sans.flatMap((s) => ['--san', s]),
        ...flags.flatMap((f) => ['--flag', f]),
        '--outform', 'pem',
      ),
    );
  };
  const gwFlags = ['serverAuth', 'ikeIntermediate'];
  const { gateways: gw, identities: id } = topo;

  ca(pki.ecdsa, 'ecdsa', topo.ca.ecdsa);
  issue(pki.ecdsa, 'ecdsa', pki.ecdsa.gwKey, pki.ecdsa.gwCert, `C=XX, O=VPN Lab, CN=${gw.main.id}`, [gw.main.id, gw.main.address], gwFlags);
  issue(pki.ecdsa, 'ecdsa', pki.ecdsa.client.key, pki.ecdsa.client.cert, id.alice.dn, [id.alice.email], ['clientAuth']);

  ca(pki.rsa, 'rsa', topo.ca.rsa);
  issue(pki.rsa, 'rsa', pki.rsa.gwKey, pki.rsa.gwCert, `C=XX, O=VPN Lab, CN=${gw.rsa.id}`, [gw.rsa.id, gw.rsa.address], gwFlags);
  issue(pki.rsa, 'rsa', pki.rsa.client.key, pki.rsa.client.cert, id.bob.dn, [id.bob.email], ['clientAuth']);

  // Same-looking DN, different key: must be rejected by a client trusting only the real CA.
  ca(pki.evil, 'ecdsa', topo.ca.evil);
  issue(pki.evil, 'ecdsa', pki.evil.gwKey, pki.evil.gwCert, `C=XX, O=VPN Lab, CN=${gw.main.id}`, [gw.main.id, gw.main.address], gwFlags);

  writeFileSync(secrets.psk, `${randomSecret()}\n`, { mode: 0o600 });
  writeFileSync(secrets.eapPassword, `${randomSecret()}\n`, { mode: 0o600 });
  writeFileSync(secrets.p12Password, `${randomSecret()}\n`, { mode: 0o600 });

  // PKCS#12 bundles of the client identities (for import tests); password from a file.
  for (const [set, name] of [[pki.ecdsa, 'alice'], [pki.rsa, 'bob']]) {
    tool('openssl', [
      'pkcs12', '-export', '-inkey', set.client.key, '-in', set.client.cert, '-certfile', set.caCert,
      '-name', name, '-passout', `file:${secrets.p12Password}`, '-out', set.client.p12,
    ]);
  }
}
