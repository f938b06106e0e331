/** The Certificates screen: import PKCS#12/PEM, the list with expiry warnings, delete. */
import { useCallback, useEffect, useRef, useState } from 'react';

import type { CertificateView, DesktopError } from '../../../../native-helper/src/api/desktop.js';
import { Dialog } from '../../components/Dialog.js';
import { Icon } from '../../components/Icon.js';
import { useApi } from '../../lib/api.js';
import { readFileBase64 } from '../../lib/format.js';
import { useAppState } from '../../lib/store.js';

const DAY = 86_400_000;

export function expiryBadge(c: CertificateView, now: number): { text: string; tone: 'ok' | 'warn' | 'bad' } {
  const days = Math.floor((c.notAfter - now) / DAY);
  if (c.notAfter < now) return { text: 'Expired', tone: 'bad' };
  if (c.notBefore > now) return { text: 'Not valid yet', tone: 'bad' };
  if (days < 30) return { text: `Expires in ${days} day${days === 1 ? '' : 's'}`, tone: 'warn' };
  return { text: `Valid until ${new Date(c.notAfter).toLocaleDateString()}`, tone: 'ok' };
}

export function CertificatesView() {
  const api = useApi();
  const profiles = useAppState((s) => s.profiles);
  const input = useRef<HTMLInputElement>(null);
  const [certs, setCerts] = useState<readonly CertificateView[]>();
  const [error, setError] = useState<DesktopError>();
  const [needPassword, setNeedPassword] = useState<{ file: File; wrong: boolean }>();
  const [password, setPassword] = useState('');
  const [deleting, setDeleting] = useState<CertificateView>();

  const load = useCallback(async () => {
    const r = await api.listCertificates();
    if (r.ok) setCerts(r.value);
    else setError(r.error);
  }, [api]);
  useEffect(() => void load(), [load]);

  const importFile = async (file: File, pw?: string) => {
    setError(undefined);
    const r = await api.importCertificate({ fileName: file.name, contentBase64: await readFileBase64(file), ...(pw === undefined ? {} : { password: pw }) });
    if (r.ok) {
      setNeedPassword(undefined);
      void load();
    } else if (r.error.code === 'SECRET_MISSING' || r.error.code === 'WRONG_PASSWORD') {
      setNeedPassword({ file, wrong: r.error.code === 'WRONG_PASSWORD' });
    } else setError(r.error);
  };

  const remove = async (c: CertificateView) => {
    setDeleting(undefined);
    const r = await api.deleteCertificate({ id: c.id });
    if (!r.ok) setError(r.error);
    void load();
  };

  const nameOf = (id: string) => profiles?.profiles.find((p) => p.profile.id === id)?.profile.name ?? id;
  const now = Date.now();
  return (
    <section className="card" aria-labelledby="certs-title">
      <div className="section-head">
        <h2 id="certs-title">Your certificates</h2>
        <button type="button" className="button primary" onClick={() => input.current?.click()}>
          Import certificate…
        </button>
        <input
          ref={input}
          type="file"
          className="visually-hidden"
          aria-label="Certificate file to import"
          accept=".p12,.pfx,.pem,.crt,.cer,.der,.key"
          onChange={(e) => {
            const file = e.target.files?.[0];
            if (file !== undefined) void importFile(file);
            e.target.value = '';
          }}
        />
      </div>
      <p className="muted small">Client certificates prove who you are to the VPN gateway. The private key is kept in your system keychain.</p>
      {error !== undefined && (
        <p className="form-error" role="alert">
          {error.message}
        </p>
      )}
      {certs === undefined ? (
        <p className="muted">Loading…</p>
      ) : certs.length === 0 ? (
        <p className="muted">No certificates yet. Import the .p12 or .pem file from IT.</p>
      ) : (
        <table className="table">
          <thead>
            <tr>
              <th scope="col">Certificate</th>
              <th scope="col">Issued by</th>
              <th scope="col">Validity</th>
              <th scope="col">Used by</th>
              <th scope="col">
                <span className="visually-hidden">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {certs.map((c) => {
              const badge = expiryBadge(c, now);
              return (
                <tr key={c.id}>
                  <td>
                    <strong>{c.label}</strong>
                    <div className="muted small">{c.subject}</div>
                    <div className="muted small mono" title="SHA-256 fingerprint">
                      {c.keyDescription} · {c.fingerprintSha256.slice(0, 23)}…
                    </div>
                  </td>
                  <td className="small">{c.issuer}</td>
                  <td>
                    <span className={`badge ${badge.tone}`}>
                      {badge.tone !== 'ok' && <Icon name="warn" size={12} />} {badge.text}
                    </span>
                  </td>
                  <td className="small">{c.usedBy.length === 0 ? <span className="muted">—</span> : c.usedBy.map(nameOf).join(', ')}</td>
                  <td>
                    <button type="button" className="button small danger-outline" onClick={() => setDeleting(c)} aria-label={`Delete certificate ${c.label}`}>
                      Delete
                    </button>
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
      {needPassword !== undefined && (
        <Dialog title={`Password for ${needPassword.file.name}`} onClose={() => setNeedPassword(undefined)}>
          <form
            className="form"
            onSubmit={(e) => {
              e.preventDefault();
              void importFile(needPassword.file, password);
              setPassword('');
            }}
          >
            {needPassword.wrong && (
              <p className="form-error" role="alert">
                That password is not right. Try again.
              </p>
            )}
            <label htmlFor="cert-password">Certificate file password</label>
            <input id="cert-password" type="password" autoFocus value={password} onChange={(e) => setPassword(e.target.value)} />
            <div className="dialog-actions">
              <button type="button" className="button secondary" onClick={() => setNeedPassword(undefined)}>
                Cancel
              </button>
              <button type="submit" className="button primary" disabled={password === ''}>
                Import
              </button>
            </div>
          </form>
        </Dialog>
      )}
      {deleting !== undefined && (
        <Dialog title={`Delete ${deleting.label}?`} onClose={() => setDeleting(undefined)}>
          <p>{deleting.usedBy.length > 0 ? `${deleting.usedBy.map(nameOf).join(', ')} will not be able to connect until you choose another certificate.` : 'The certificate and its private key are removed from this computer.'}</p>
          <div className="dialog-actions">
            <button type="button" className="button secondary" onClick={() => setDeleting(undefined)}>
              Keep it
            </button>
            <button type="button" className="button danger" onClick={() => void remove(deleting)}>
              Delete
            </button>
          </div>
        </Dialog>
      )}
    </section>
  );
}
