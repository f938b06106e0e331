import { act, screen, waitFor } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { describe, expect, it } from 'vitest';

import { App } from '../src/App.js';
import { LogsView } from '../src/features/logs/LogsView.js';
import { FakeApi, logRecord } from './fake-api.js';
import { renderWithApi } from './render.js';

describe('Logs', () => {
  it('loads the helper log and filters by level and text', async () => {
    const user = userEvent.setup();
    const api = new FakeApi();
    api.logRecords = [
      logRecord(1, { message: 'sending IKE_SA_INIT request' }),
      logRecord(2, { level: 'debug', message: 'retransmit timer armed' }),
      logRecord(3, { level: 'error', component: 'supervisor', event: 'connect.failed', message: 'the gateway rejected the password' }),
    ];
    renderWithApi(<LogsView />, api);
    await waitFor(() => expect(screen.getByTestId('log-count')).toHaveTextContent('2 of 3 records'));
    await user.selectOptions(screen.getByLabelText('Show'), 'error');
    expect(screen.getByTestId('log-count')).toHaveTextContent('1 of 3 records');
    expect(screen.getByRole('list', { name: 'Log records' })).toHaveTextContent('the gateway rejected the password');
    await user.selectOptions(screen.getByLabelText('Show'), 'debug');
    await user.type(screen.getByLabelText('Search'), 'retransmit');
    await waitFor(() => expect(screen.getByTestId('log-count')).toHaveTextContent('1 of 3 records'));
    expect(screen.getByRole('list', { name: 'Log records' })).toHaveTextContent('retransmit timer armed');
  });

  it('keeps the last failure for the helpdesk, and says so (no longer as an alarm) once a connect succeeded after it', async () => {
    const api = new FakeApi();
    renderWithApi(<LogsView />, api);
    await waitFor(() => expect(screen.getByTestId('log-count')).toHaveTextContent('0 records'));
    const at = Date.now();
    act(() => api.emit({ kind: 'state', state: { state: 'error', sessionId: 's1', profileId: 'p1', profileName: 'Corp VPN', code: 'EAP_PASSWORD_WRONG', message: 'The gateway rejected the password for "carol".', at, stage: 'ike_auth', stages: [] } }));
    const region = await screen.findByRole('region', { name: 'Last problem' });
    expect(region).toHaveClass('failure');
    expect(region).toHaveTextContent('Last problem: Corp VPN');
    act(() => api.emit({ kind: 'state', state: { state: 'disconnected' } }));
    expect(screen.getByRole('region', { name: 'Last problem' })).toHaveClass('failure');
    act(() =>
      api.emit({
        kind: 'state',
        state: {
          state: 'connected', sessionId: 's2', profileId: 'p1', profileName: 'Corp VPN', gateway: { host: 'vpn.corp.example', address: '192.0.2.1', port: 500 }, localAddress: '192.0.2.2',
          virtualIps: ['10.99.0.7'], dns: [], algorithms: { ike: 'aes256gcm16-prfsha256-ecp256', esp: 'aes256gcm16' }, saLifetimes: { ikeSeconds: 36000, childSoftSeconds: 9720, childHardSeconds: 10800 },
          encapsulation: false, since: at + 5000, connectMs: 120, stages: [], counters: { bytesIn: 0, bytesOut: 0, packetsIn: 0, packetsOut: 0 },
        },
      }),
    );
    const after = screen.getByRole('region', { name: 'Last problem' });
    expect(after).not.toHaveClass('failure');
    expect(after).toHaveTextContent(/connected again since/);
    expect(after).toHaveTextContent('rejected the password');
  });

  it('appends records pushed live', async () => {
    const api = new FakeApi();
    renderWithApi(<LogsView />, api);
    await waitFor(() => expect(screen.getByTestId('log-count')).toHaveTextContent('0 records'));
    api.emit({ kind: 'log', record: logRecord(10, { message: 'live one' }) });
    await waitFor(() => expect(screen.getByTestId('log-count')).toHaveTextContent('1 records'));
  });

  it('the app shell says when the VPN service is down and disables Connect', async () => {
    const api = new FakeApi();
    renderWithApi(<App />, api);
    await screen.findByRole('button', { name: 'Connect' });
    api.emit({ kind: 'helper', helper: { status: 'down', reason: 'not-running', message: 'The Strait VPN service is installed but not running.', retryAt: Date.now() + 4000 } });
    expect(await screen.findByRole('heading', { name: 'The Strait VPN service is not running' })).toBeInTheDocument();
    expect(screen.getByRole('button', { name: 'Connect' })).toBeDisabled();
    expect(screen.getByTestId('status-summary')).toHaveTextContent('VPN service unavailable');
  });
});
