/**
 * `strait connect <stored profile>` takes its secret from the user's
 * keychain (the real Secret Service: run under
 * test/keychain/with-secret-service.sh) and asks on the terminal only for
 * what the keychain lacks. The commands run in-process (terminal captured)
 * against a real straitd process and the loopback test gateway.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';

import { ExitCode, type CliIo } from '../../../native-helper/src/cli/command.js';
import { createConnectionCommands } from '../../../native-helper/src/cli/commands/connection.js';
import { NapiKeyringStore } from '../../../native-helper/src/keychain/napi-keyring-store.js';
import { ProfileStore } from '../../../native-helper/src/profiles/profile-store.js';
import { requireSecretService } from '../profiles/helpers/child.js';
import { TEST_PSK, freePorts, testProfile, udpGateway, type UdpGateway } from '../daemon/helpers.js';
import { canRunDaemon, startDaemon, type Daemon } from '../daemon/spawn.js';

const SERVICE = `org.strait.vpn.test-${randomBytes(4).toString('hex')}`;

interface Terminal extends CliIo {
  readonly stdout: string[];
  readonly stderr: string[];
  readonly prompts: string[];
}

function terminal(answers: string[] = []): Terminal {
  const stdout: string[] = [];
  const stderr: string[] = [];
  const prompts: string[] = [];
  return {
    stdout,
    stderr,
    prompts,
    out: (l) => stdout.push(l),
    err: (l) => stderr.push(l),
    readSecret: (prompt) => {
      prompts.push(prompt);
      return Promise.resolve(answers.shift() ?? '');
    },
    readStdin: () => Promise.resolve(new Uint8Array()),
    isTty: true,
    env: {},
  };
}

let daemon: Daemon;
let gw: UdpGateway;
let dir: string;
let store: ProfileStore;
const keychain = new NapiKeyringStore(SERVICE);

describe('strait connect with a stored profile and the keychain', { skip: canRunDaemon() }, () => {
  before(async () => {
    requireSecretService();
    dir = await mkdtemp(join(tmpdir(), 'strait-stored-'));
    store = new ProfileStore({ userProfilesDir: join(dir, 'profiles'), managedDir: join(dir, 'managed') });
    const [ike, natt] = await freePorts(2);
    daemon = await startDaemon(['--ike-port', String(ike), '--natt-port', String(natt), '--connect-timeout-ms', '5000']);
    gw = await udpGateway();
  });
  after(async () => {
    await gw?.close();
    await daemon?.cleanup();
    await rm(dir, { recursive: true, force: true });
  });

  const commands = () => createConnectionCommands({ secretStore: () => keychain, profileStore: () => store, cliVersion: 'test' });
  const connect = (args: string[], io: Terminal) => commands().find((c) => c.name === 'connect')?.run([...args, '--socket', daemon.socket], io) ?? Promise.reject(new Error('no connect'));

  it('uses the PSK from the keychain (by id and by name) without prompting', async () => {
    const profile = testProfile(gw.port, { name: 'Stored office', tunnel: { mode: 'split', include: ['10.10.0.0/24'], ipv6: false } });
    await store.saveUser(profile);
    await keychain.set(profile.id, 'psk', TEST_PSK);
    try {
      for (const ref of [profile.id, 'Stored office']) {
        gw.responder.authenticated = false;
        const t = terminal();
        const code = await connect([ref], t);
        // IKE_AUTH with the keychain's PSK succeeded; the host kernel then refuses the ESP SA (no ESP).
        assert.equal(code, ExitCode.CONNECT_FAILED, t.stderr.join('\n'));
        assert.match(t.stderr.join('\n'), /connect failed \(PLATFORM_ERROR\)/u);
        assert.equal(gw.responder.authenticated, true, 'authenticated with the keychain PSK');
        assert.deepEqual(t.prompts, []);
      }
    } finally {
      await keychain.deleteAll(profile.id);
    }
  });

  it('prompts for the PSK when the keychain has none', async () => {
    const profile = testProfile(gw.port, { name: 'No secret stored', tunnel: { mode: 'split', include: ['10.10.0.0/24'], ipv6: false } });
    await store.saveUser(profile);
    gw.responder.authenticated = false;
    const t = terminal([TEST_PSK]);
    const code = await connect([profile.id], t);
    assert.equal(code, ExitCode.CONNECT_FAILED, t.stderr.join('\n'));
    assert.equal(t.prompts.length, 1);
    assert.match(t.prompts[0] ?? '', /^Pre-shared key for "No secret stored": $/u);
    assert.equal(gw.responder.authenticated, true);
    assert.ok(!t.stdout.concat(t.stderr).join('\n').includes(TEST_PSK));
  });
});
