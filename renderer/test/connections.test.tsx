import { act, screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { describe, expect, it } from 'vitest';

import type { ConnectionState } from '../../native-helper/src/api/rpc.js';
import { ConnectionsView } from '../src/features/connections/ConnectionsView.js';
import { FakeApi, PROFILE_ID, SESSION_ID, ok } from './fake-api.js';
import { renderWithApi } from './render.js';

const connecting = (now: number): ConnectionState => ({
  state: 'connecting',
  sessionId: SESSION_ID,
  profileId: PROFILE_ID,
  profileName: 'Corp VPN',
  gateway: { host: 'vpn.corp.example', port: 500 },
  startedAt: now - 900,
  stage: 'eap',
  stageStartedAt: now - 300,
  stages: [
    { stage: 'resolve', startedAt: now - 900, ms: 12 },
    { stage: 'ike_sa_init', startedAt: now - 888, ms: 240 },
    { stage: 'ike_auth', startedAt: now - 648, ms: 348 },
  ],
});

const connected = (now: number): ConnectionState => ({
  state: 'connected',
  sessionId: SESSION_ID,
  profileId: PROFILE_ID,
  profileName: 'Corp VPN',
  gateway: { host: 'vpn.corp.example', address: '192.0.2.1', port: 500 },
  localAddress: '192.0.2.2',
  virtualIps: ['10.99.0.7'],
  dns: ['10.10.0.53'],
  algorithms: { ike: 'aes256gcm16-prfsha256-ecp256', esp: 'aes256gcm16' },
  saLifetimes: { ikeSeconds: 36000, childSoftSeconds: 9720, childHardSeconds: 10800 },
  encapsulation: false,
  since: now - 65_000,
  connectMs: 1234,
  stages: [],
  counters: { bytesIn: 1_500_000, bytesOut: 42_000, packetsIn: 1000, packetsOut: 500 },
});

describe('Connections', () => {
  it('shows the live stage timeline while connecting', async () => {
    const api = new FakeApi();
    api.state = connecting(Date.now());
    renderWithApi(<ConnectionsView onGoToProfiles={() => undefined} />, api);
    const timeline = await screen.findByRole('list', { name: 'Connection progress' });
    expect(timeline).toHaveTextContent('Finding the gateway12 ms');
    expect(timeline).toHaveTextContent('Agreeing on encryption240 ms');
    const current = timeline.querySelector('[aria-current="step"]');
    expect(current).toHaveTextContent('Checking your password');
    expect(screen.getByRole('button', { name: 'Cancel' })).toBeInTheDocument();
  });

  it('says it is reconnecting (attempt and time offline) when straitd re-establishes a lost tunnel', async () => {
    const api = new FakeApi();
    const now = Date.now();
    const base = connecting(now);
    if (base.state !== 'connecting') throw new Error('fixture');
    api.state = { ...base, stage: 'ike_sa_init', reconnect: { since: now - 12_000, attempt: 2, reason: 'The gateway stopped answering.' } };
    renderWithApi(<ConnectionsView onGoToProfiles={() => undefined} />, api);
    expect(await screen.findByText(/Reconnecting… attempt 2, offline 1[2-3](\.\d)? s/)).toBeInTheDocument();
  });

  it('shows virtual IP, gateway, duration, traffic and algorithms once connected', async () => {
    const api = new FakeApi();
    api.state = connected(Date.now());
    renderWithApi(<ConnectionsView onGoToProfiles={() => undefined} />, api);
    expect(await screen.findByTestId('virtual-ip')).toHaveTextContent('10.99.0.7');
    expect(screen.getByText('vpn.corp.example')).toBeInTheDocument();
    expect(screen.getByText(/1 min 0[5-6] s/)).toBeInTheDocument();
    expect(screen.getByText('1.5 MB / 42 KB')).toBeInTheDocument();
    expect(screen.getByText(/IKE aes256gcm16-prfsha256-ecp256/)).toBeInTheDocument();
    expect(screen.getByRole('button', { name: 'Disconnect' })).toBeInTheDocument();
  });

  it('asks for the password, offers "remember in keychain", and shows a wrong password in plain words', async () => {
    const user = userEvent.setup();
    const api = new FakeApi();
    api.connectAnswers = [
      { ok: false, error: { code: 'SECRET_MISSING', message: 'Strait needs your password.', needs: 'eap-password' } },
      { ok: false, error: { code: 'EAP_PASSWORD_WRONG', message: 'The gateway rejected the password for "carol".', needs: 'eap-password' } },
    ];
    renderWithApi(<ConnectionsView onGoToProfiles={() => undefined} />, api);
    await user.click(await screen.findByRole('button', { name: 'Connect' }));
    const dialog = await screen.findByRole('dialog');
    expect(dialog).toHaveTextContent('Signing in as carol');
    const remember = screen.getByLabelText(/Remember in keychain/);
    expect(remember).toBeChecked();
    await user.type(within(dialog).getByLabelText('Password'), 'hunter2');
    await user.click(within(dialog).getByRole('button', { name: 'Connect' }));
    await waitFor(() => expect(api.calls.filter((c) => c.method === 'connect')).toHaveLength(2));
    expect(api.calls[1]?.input).toEqual({ profileId: PROFILE_ID, eapPassword: 'hunter2', remember: true });
    expect(await screen.findByRole('dialog')).toHaveTextContent('rejected the password');
    // The card explains it too, with advice.
    expect(screen.getByText(/Passwords are case-sensitive/)).toBeInTheDocument();
  });

  it('follows state events pushed by main', async () => {
    const api = new FakeApi();
    renderWithApi(<ConnectionsView onGoToProfiles={() => undefined} />, api);
    await screen.findByRole('button', { name: 'Connect' });
    act(() => api.emit({ kind: 'state', state: connected(Date.now()) }));
    expect(await screen.findByTestId('virtual-ip')).toHaveTextContent('10.99.0.7');
    act(() => api.emit({ kind: 'state', state: { state: 'disconnected' } }));
    expect(await screen.findByRole('button', { name: 'Connect' })).toBeEnabled();
  });

  it('without profiles, says how to get one', async () => {
    const api = new FakeApi();
    api.profiles = [];
    renderWithApi(<ConnectionsView onGoToProfiles={() => undefined} />, api);
    expect(await screen.findByRole('heading', { name: 'No VPN profiles yet' })).toBeInTheDocument();
  });

  it('a failed attempt keeps its explanation and the stage it failed in', async () => {
    const api = new FakeApi();
    api.state = { state: 'error', sessionId: SESSION_ID, profileId: PROFILE_ID, profileName: 'Corp VPN', code: 'GATEWAY_UNREACHABLE', message: 'No answer from 192.0.2.1 after 5 tries.', at: Date.now(), stage: 'ike_sa_init', stages: [{ stage: 'resolve', startedAt: 0, ms: 3 }] };
    renderWithApi(<ConnectionsView onGoToProfiles={() => undefined} />, api);
    expect(await screen.findByText('The gateway did not answer (no reply after all retransmissions).')).toBeInTheDocument();
    expect(screen.getByText(/Check that you are online/)).toBeInTheDocument();
    expect(screen.getByRole('button', { name: 'Try again' })).toBeEnabled();
    void ok;
  });
});
