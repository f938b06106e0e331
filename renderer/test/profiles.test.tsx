import { fireEvent, screen, waitFor } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { describe, expect, it } from 'vitest';

import { ImportPanel } from '../src/features/profiles/ImportPanel.js';
import { ProfileEditor } from '../src/features/profiles/ProfileEditor.js';
import { FakeApi, profile, view } from './fake-api.js';
import { renderWithApi } from './render.js';

describe('Profiles', () => {
  it('shows locked fields of a managed profile read-only, and says who set them', async () => {
    const managed = view({
      profile: profile({ managed: { bundleIssuer: 'Example Corp IT', bundleSerial: 3, signedBy: 'CN=VPN Profiles', lockedFields: ['/gateway', '/auth/method'] } }),
      managedBy: 'Example Corp IT',
      lockedFields: ['/gateway', '/auth/method'],
    });
    renderWithApi(<ProfileEditor view={managed} onDone={() => undefined} />);
    expect(screen.getByLabelText(/Gateway address/)).toHaveAttribute('readonly');
    expect(screen.getByLabelText(/Sign in with/)).toBeDisabled();
    expect(screen.getByLabelText('Name')).not.toHaveAttribute('readonly');
    expect(screen.getAllByText('Set by Example Corp IT').length).toBeGreaterThanOrEqual(2);
    expect(screen.getByRole('note')).toHaveTextContent('Managed by Example Corp IT');
  });

  it('a system-managed profile cannot be saved at all', () => {
    renderWithApi(<ProfileEditor view={view({ source: 'managed', managedBy: 'Example Corp IT' })} onDone={() => undefined} />);
    expect(screen.queryByRole('button', { name: 'Save profile' })).toBeNull();
    expect(screen.getByRole('note')).toHaveTextContent('Only an administrator can change it');
  });

  it('creates a profile; the password goes to saveProfile as the keychain secret, not into the profile', async () => {
    const user = userEvent.setup();
    const api = new FakeApi();
    let saved: unknown;
    renderWithApi(<ProfileEditor onDone={(v) => (saved = v)} />, api);
    await user.type(screen.getByLabelText('Name'), 'Home lab');
    await user.type(screen.getByLabelText(/Gateway address/), 'vpn.home.example');
    await user.type(screen.getByLabelText('User name'), 'carol');
    await user.type(screen.getByLabelText('Password'), 's3cret');
    await user.click(screen.getByRole('button', { name: 'Save profile' }));
    await waitFor(() => expect(saved).toBeDefined());
    const input = api.calls.find((c) => c.method === 'saveProfile')?.input as { profile: Record<string, unknown>; secret?: string };
    expect(input.secret).toBe('s3cret');
    expect(JSON.stringify(input.profile)).not.toContain('s3cret');
    expect(input.profile).toMatchObject({ version: 1, name: 'Home lab', gateway: { host: 'vpn.home.example', port: 500 }, auth: { method: 'eap-mschapv2', eapIdentity: 'carol' } });
  });

  it('"allow my local network" is a keyboard toggle, usable only while blocking is on, and saved as allowLan', async () => {
    const user = userEvent.setup();
    const api = new FakeApi();
    let saved: unknown;
    renderWithApi(<ProfileEditor view={view({ profile: profile({ leakGuard: true, allowLan: false }) })} onDone={(v) => (saved = v)} />, api);
    const block = screen.getByLabelText('Block traffic outside the VPN');
    const lan = screen.getByLabelText('Allow my local network while blocking');
    expect(block).toBeChecked();
    expect(lan).not.toBeChecked();
    expect(lan).toHaveAccessibleDescription(/Printers, the router/);
    lan.focus();
    await user.keyboard(' ');
    expect(lan).toBeChecked();
    // Blocking off: the LAN exception means nothing, so it cannot be changed.
    block.focus();
    await user.keyboard(' ');
    expect(lan).toBeDisabled();
    block.focus();
    await user.keyboard(' ');
    expect(lan).toBeEnabled();
    await user.click(screen.getByRole('button', { name: 'Save profile' }));
    await waitFor(() => expect(saved).toBeDefined());
    const input = api.calls.find((c) => c.method === 'saveProfile')?.input as { profile: Record<string, unknown> };
    expect(input.profile).toMatchObject({ leakGuard: true, allowLan: true });
  });

  it('import accepts a dropped file', async () => {
    const api = new FakeApi();
    renderWithApi(<ImportPanel />, api);
    const file = new File(['{"uuid":"x"}'], 'home.sswan', { type: 'application/json' });
    fireEvent.drop(screen.getByTestId('dropzone'), { dataTransfer: { files: [file] } });
    await screen.findByTestId('import-result');
    expect(api.calls.find((c) => c.method === 'importFile')?.input).toMatchObject({ fileName: 'home.sswan' });
  });

  it('import shows who signed the bundle', async () => {
    const user = userEvent.setup();
    const api = new FakeApi();
    renderWithApi(<ImportPanel />, api);
    const file = new File(['0\x82'], 'corp.p7m', { type: 'application/pkcs7-mime' });
    await user.upload(screen.getByLabelText('Profile file to import'), file);
    const result = await screen.findByTestId('import-result');
    expect(result).toHaveTextContent('Signature verified. Signed by O=Example Corp, CN=VPN Profiles for Example Corp IT (version 3).');
    expect(result).toHaveTextContent('installed Corp VPN');
    const call = api.calls.find((c) => c.method === 'importFile')?.input as { fileName: string; contentBase64: string };
    expect(call.fileName).toBe('corp.p7m');
    expect(atob(call.contentBase64).length).toBe(3);
  });
});
