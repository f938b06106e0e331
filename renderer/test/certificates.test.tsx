import { screen } from '@testing-library/react';
import { describe, expect, it } from 'vitest';

import type { CertificateView } from '../../native-helper/src/api/desktop.js';
import { CertificatesView, expiryBadge } from '../src/features/certificates/CertificatesView.js';
import { FakeApi, ok } from './fake-api.js';
import { renderWithApi } from './render.js';

const DAY = 86_400_000;
const now = Date.UTC(2026, 11, 1);
const cert = (over: Partial<CertificateView> = {}): CertificateView => ({
  id: '11111111-2222-4333-8444-555555555555',
  label: 'alice.p12',
  subject: 'O=Example Corp, CN=alice@example.com',
  issuer: 'O=Example Corp, CN=Example Corp Users CA',
  subjectAltNames: [],
  notBefore: now - 300 * DAY,
  notAfter: now + 400 * DAY,
  keyDescription: 'ECDSA P-256',
  fingerprintSha256: 'AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89',
  isCa: false,
  warnings: [],
  usedBy: [],
  ...over,
});

describe('Certificates', () => {
  it('warns about expiry: expired, within 30 days, not yet valid, fine', () => {
    expect(expiryBadge(cert({ notAfter: now - DAY }), now)).toEqual({ text: 'Expired', tone: 'bad' });
    expect(expiryBadge(cert({ notAfter: now + 12 * DAY + 1000 }), now)).toEqual({ text: 'Expires in 12 days', tone: 'warn' });
    expect(expiryBadge(cert({ notAfter: now + DAY + 1000 }), now)).toEqual({ text: 'Expires in 1 day', tone: 'warn' });
    expect(expiryBadge(cert({ notBefore: now + DAY }), now)).toEqual({ text: 'Not valid yet', tone: 'bad' });
    expect(expiryBadge(cert(), now).tone).toBe('ok');
  });

  it('lists certificates with who uses them and an expiry badge', async () => {
    const api = new FakeApi();
    api.listCertificates = async () => ok([cert({ notAfter: Date.now() + 5 * DAY, usedBy: [api.profiles[0]?.profile.id ?? ''] })]);
    renderWithApi(<CertificatesView />, api);
    expect(await screen.findByText('alice.p12')).toBeInTheDocument();
    expect(screen.getByText(/Expires in [45] days/)).toBeInTheDocument();
    expect(await screen.findByText('Corp VPN')).toBeInTheDocument();
    expect(screen.getByRole('button', { name: 'Delete certificate alice.p12' })).toBeInTheDocument();
  });
});
