/**
 * Create or edit a profile. Fields a managed profile locks (managed.lockedFields,
 * JSON pointers) are read-only and say who set them; the store refuses such
 * changes anyway (profile-store.ts), this only makes it obvious up front.
 */
import { useEffect, useId, useState, type FormEvent, type ReactNode } from 'react';

import type { CertificateView, DesktopError, ProfileView } from '../../../../native-helper/src/api/desktop.js';
import type { Profile, ProfileInput } from '../../../../native-helper/src/api/profile.js';
import { Icon } from '../../components/Icon.js';
import { useApi } from '../../lib/api.js';
import { AUTH_LABELS } from '../../lib/format.js';

type Method = Profile['auth']['method'];

interface Draft {
  name: string;
  host: string;
  port: string;
  remoteId: string;
  method: Method;
  localId: string;
  eapIdentity: string;
  certificateRef: string;
  secret: string;
  tunnelMode: 'full' | 'split';
  include: string;
  dnsServers: string;
  mtu: string;
  leakGuard: boolean;
  allowLan: boolean;
}

const lines = (s: string): string[] =>
  s
    .split(/[\n,]/u)
    .map((x) => x.trim())
    .filter((x) => x !== '');

function draftOf(p: Profile | undefined): Draft {
  const auth = p?.auth;
  return {
    name: p?.name ?? '',
    host: p?.gateway.host ?? '',
    port: String(p?.gateway.port ?? 500),
    remoteId: p?.remoteId ?? '',
    method: auth?.method ?? 'eap-mschapv2',
    localId: auth?.localId ?? '',
    eapIdentity: auth?.method === 'eap-mschapv2' || auth?.method === 'eap-tls' || auth?.method === 'certificate-eap' ? (auth.eapIdentity ?? '') : '',
    certificateRef: auth?.method === 'certificate' || auth?.method === 'eap-tls' || auth?.method === 'certificate-eap' ? auth.certificateRef : '',
    secret: '',
    tunnelMode: p?.tunnel.mode ?? 'full',
    include: (p?.tunnel.include ?? []).join('\n'),
    dnsServers: (p?.dns.servers ?? []).join('\n'),
    mtu: p?.mtu === undefined ? '' : String(p.mtu),
    leakGuard: p?.leakGuard ?? true,
    allowLan: p?.allowLan ?? false,
  };
}

function buildProfile(d: Draft, base: Profile | undefined): ProfileInput {
  const opt = (s: string) => (s.trim() === '' ? undefined : s.trim());
  const localId = opt(d.localId);
  const auth =
    d.method === 'psk'
      ? { method: 'psk' as const, localId: d.localId.trim() }
      : d.method === 'eap-mschapv2'
        ? { method: 'eap-mschapv2' as const, eapIdentity: d.eapIdentity.trim(), ...(localId === undefined ? {} : { localId }) }
        : d.method === 'certificate'
          ? { method: 'certificate' as const, certificateRef: d.certificateRef, ...(localId === undefined ? {} : { localId }) }
          : d.method === 'certificate-eap'
            ? { method: 'certificate-eap' as const, certificateRef: d.certificateRef, eapIdentity: d.eapIdentity.trim(), ...(localId === undefined ? {} : { localId }) }
            : { method: 'eap-tls' as const, certificateRef: d.certificateRef, ...(localId === undefined ? {} : { localId }), ...(opt(d.eapIdentity) === undefined ? {} : { eapIdentity: d.eapIdentity.trim() }) };
  const remoteId = opt(d.remoteId);
  const { remoteId: _old, mtu: _oldMtu, ...rest } = base ?? ({} as Partial<Profile>);
  return {
    ...rest,
    version: 1,
    id: base?.id ?? crypto.randomUUID(),
    name: d.name.trim(),
    gateway: { ...base?.gateway, host: d.host.trim(), port: Number(d.port) },
    ...(remoteId === undefined ? {} : { remoteId }),
    // Keep what this form does not show (loose keys, other auth fields) from the stored profile.
    auth: { ...(base?.auth.method === d.method ? base.auth : {}), ...auth } as ProfileInput['auth'],
    tunnel: { ...base?.tunnel, mode: d.tunnelMode, include: d.tunnelMode === 'split' ? lines(d.include) : [] },
    dns: { ...base?.dns, servers: lines(d.dnsServers) },
    ...(d.mtu.trim() === '' ? {} : { mtu: Number(d.mtu) }),
    leakGuard: d.leakGuard,
    allowLan: d.allowLan,
  } as ProfileInput;
}

export function ProfileEditor({ view, onDone }: { view?: ProfileView; onDone: (saved?: ProfileView) => void }) {
  const api = useApi();
  const id = useId();
  const [draft, setDraft] = useState<Draft>(() => draftOf(view?.profile));
  const [error, setError] = useState<DesktopError>();
  const [saving, setSaving] = useState(false);
  const [certs, setCerts] = useState<readonly CertificateView[]>([]);
  const readOnly = view?.source === 'managed';
  const locked = view?.lockedFields ?? [];
  const issuer = view?.managedBy ?? view?.profile.managed?.bundleIssuer;

  useEffect(() => {
    void api.listCertificates().then((r) => r.ok && setCerts(r.value.filter((c) => !c.isCa)));
  }, [api]);

  const isLocked = (pointer: string): boolean => readOnly || locked.some((l) => pointer === l || pointer.startsWith(`${l}/`));
  const issueFor = (pointer: string): string | undefined => error?.issues?.find((i) => i.path === pointer || i.path.startsWith(`${pointer}/`))?.message;
  const set = <K extends keyof Draft>(key: K) => (value: Draft[K]) => setDraft((d) => ({ ...d, [key]: value }));

  const field = (label: string, pointer: string, control: (props: { id: string; readOnly: boolean; 'aria-invalid': boolean; 'aria-describedby'?: string }) => ReactNode, hint?: string) => {
    const fid = `${id}${pointer.replace(/\//gu, '-')}`;
    const lockedHere = isLocked(pointer);
    const issue = issueFor(pointer);
    const describedBy = [lockedHere && !readOnly ? `${fid}-lock` : '', issue !== undefined ? `${fid}-issue` : '', hint !== undefined && !lockedHere ? `${fid}-hint` : ''].filter((x) => x !== '').join(' ');
    return (
      <div className={`field${lockedHere ? ' locked' : ''}`}>
        <label htmlFor={fid}>
          {label}
          {lockedHere && <Icon name="lock" size={12} label="locked" />}
        </label>
        {control({ id: fid, readOnly: lockedHere, 'aria-invalid': issue !== undefined, ...(describedBy === '' ? {} : { 'aria-describedby': describedBy }) })}
        {hint !== undefined && !lockedHere && (
          <p id={`${fid}-hint`} className="muted small">
            {hint}
          </p>
        )}
        {lockedHere && !readOnly && (
          <p id={`${fid}-lock`} className="lock-note">
            Set by {issuer ?? 'your organisation'}
          </p>
        )}
        {issue !== undefined && (
          <p id={`${fid}-issue`} className="form-error">
            {issue}
          </p>
        )}
      </div>
    );
  };

  // A native checkbox: Tab reaches it, Space toggles it, the label names it. Locked means disabled
  // (readOnly does not stop a checkbox from toggling).
  const checkbox = (key: 'leakGuard' | 'allowLan', disabled = false) => (p: { id: string; readOnly: boolean; 'aria-describedby'?: string }) => (
    <input id={p.id} type="checkbox" {...(p['aria-describedby'] === undefined ? {} : { 'aria-describedby': p['aria-describedby'] })} disabled={p.readOnly || disabled} checked={draft[key]} onChange={(e) => set(key)(e.target.checked)} />
  );

  const text = (key: Exclude<keyof Draft, 'leakGuard' | 'allowLan'>, type = 'text') => (p: { id: string; readOnly: boolean }) => <input {...p} type={type} value={draft[key]} onChange={(e) => set(key)(e.target.value as never)} />;

  const save = async (e: FormEvent) => {
    e.preventDefault();
    setSaving(true);
    const secret = draft.secret === '' ? {} : { secret: draft.secret };
    const r = await api.saveProfile({ profile: buildProfile(draft, view?.profile), ...secret });
    setSaving(false);
    if (r.ok) onDone(r.value);
    else setError(r.error);
  };

  const method = draft.method;
  return (
    <form className="card form editor" onSubmit={(e) => void save(e)} aria-labelledby={`${id}-title`}>
      <h2 id={`${id}-title`}>{view === undefined ? 'New profile' : `Edit ${view.profile.name}`}</h2>
      {readOnly && (
        <p className="lock-note" role="note">
          <Icon name="lock" size={14} /> This profile is installed for everyone on this computer by {issuer ?? 'your organisation'}. Only an administrator can change it.
        </p>
      )}
      {!readOnly && locked.length > 0 && (
        <p className="lock-note" role="note">
          <Icon name="lock" size={14} /> Managed by {issuer}: fields with a lock are set by IT and cannot be changed here.
        </p>
      )}
      {error !== undefined && error.issues === undefined && (
        <p className="form-error" role="alert">
          {error.message}
        </p>
      )}
      <div className="grid-2">
        {field('Name', '/name', text('name'))}
        {field('Gateway address', '/gateway', text('host'), 'Host name or IP address of the VPN gateway, e.g. vpn.example.com')}
        {field('Gateway port', '/gateway', text('port', 'number'))}
        {field('Gateway identity (optional)', '/remoteId', text('remoteId'), 'Only if IT told you one; by default the address above is checked against the certificate.')}
        {field('Sign in with', '/auth/method', (p) => (
          <select id={p.id} disabled={p.readOnly} value={method} onChange={(e) => set('method')(e.target.value as Method)}>
            {(['eap-mschapv2', 'certificate', 'eap-tls', 'certificate-eap', 'psk'] as const).map((m) => (
              <option key={m} value={m}>
                {AUTH_LABELS[m]}
              </option>
            ))}
          </select>
        ))}
        {(method === 'eap-mschapv2' || method === 'eap-tls' || method === 'certificate-eap') && field('User name', '/auth/eapIdentity', text('eapIdentity'))}
        {(method === 'certificate' || method === 'eap-tls' || method === 'certificate-eap') &&
          field('Certificate', '/auth/certificateRef', (p) => (
            <select id={p.id} disabled={p.readOnly} value={draft.certificateRef} onChange={(e) => set('certificateRef')(e.target.value)}>
              <option value="">Choose…</option>
              {draft.certificateRef !== '' && !certs.some((c) => c.id === draft.certificateRef) && <option value={draft.certificateRef}>Installed with this profile</option>}
              {certs.map((c) => (
                <option key={c.id} value={c.id}>
                  {c.label} — {c.subject}
                </option>
              ))}
            </select>
          ))}
        {field(method === 'psk' ? 'Your identity' : 'Your identity (optional)', '/auth/localId', text('localId'))}
        {(method === 'eap-mschapv2' || method === 'certificate-eap' || method === 'psk') &&
          field(method === 'psk' ? 'Pre-shared key' : 'Password', '/secret', (p) => <input {...p} readOnly={false} type="password" autoComplete="new-password" value={draft.secret} onChange={(e) => set('secret')(e.target.value)} />, view?.secretStored === true ? 'Saved in your keychain. Type a new one to replace it.' : 'Optional: saved in your keychain. Leave empty to be asked when connecting.')}
        {field('Traffic through the VPN', '/tunnel', (p) => (
          <select id={p.id} disabled={p.readOnly} value={draft.tunnelMode} onChange={(e) => set('tunnelMode')(e.target.value as 'full' | 'split')}>
            <option value="full">All traffic</option>
            <option value="split">Only company networks</option>
          </select>
        ))}
        {draft.tunnelMode === 'split' && field('Company networks', '/tunnel/include', (p) => <textarea {...p} rows={3} value={draft.include} onChange={(e) => set('include')(e.target.value)} />, 'One per line, e.g. 10.0.0.0/8')}
        {field('DNS servers (optional)', '/dns', (p) => <textarea {...p} rows={2} value={draft.dnsServers} onChange={(e) => set('dnsServers')(e.target.value)} />, 'Empty: use the ones the gateway assigns')}
        {field('MTU (optional)', '/mtu', text('mtu', 'number'))}
        {field('Block traffic outside the VPN', '/leakGuard', checkbox('leakGuard'), 'While connected (and while reconnecting) nothing leaves this computer outside the tunnel.')}
        {field('Allow my local network while blocking', '/allowLan', checkbox('allowLan', !draft.leakGuard), 'Printers, the router and other devices on the network you are connected to stay reachable; nothing beyond it.')}
      </div>
      <div className="dialog-actions">
        <button type="button" className="button secondary" onClick={() => onDone()}>
          {readOnly ? 'Close' : 'Cancel'}
        </button>
        {!readOnly && (
          <button type="submit" className="button primary" disabled={saving}>
            {saving ? 'Saving…' : 'Save profile'}
          </button>
        )}
      </div>
    </form>
  );
}
