/** Lets the person choose which of their certificates a profile signs in with. */
import { useEffect, useState } from 'react';

import type { CertificateView } from '../../../../native-helper/src/api/desktop.js';
import { Dialog } from '../../components/Dialog.js';
import { useApi } from '../../lib/api.js';

export function CertificatePicker({ profileName, onPick, onCancel }: { profileName: string; onPick: (id: string) => void; onCancel: () => void }) {
  const api = useApi();
  const [certs, setCerts] = useState<readonly CertificateView[] | undefined>();
  const [error, setError] = useState<string>();
  const [chosen, setChosen] = useState<string>();
  useEffect(() => {
    void api.listCertificates().then((r) => (r.ok ? setCerts(r.value.filter((c) => !c.isCa)) : setError(r.error.message)));
  }, [api]);
  return (
    <Dialog title={`Choose a certificate — ${profileName}`} onClose={onCancel}>
      {error !== undefined && <p className="form-error">{error}</p>}
      {certs === undefined && error === undefined && <p className="muted">Loading certificates…</p>}
      {certs !== undefined && certs.length === 0 && <p>You have no client certificates yet. Import one on the Certificates page (a .p12 or .pem file from IT).</p>}
      {certs !== undefined && certs.length > 0 && (
        <fieldset className="picker">
          <legend className="visually-hidden">Certificates</legend>
          {certs.map((c) => (
            <label key={c.id} className="picker-option">
              <input type="radio" name="cert" value={c.id} checked={chosen === c.id} onChange={() => setChosen(c.id)} />
              <span>
                <strong>{c.subject}</strong>
                <span className="muted"> — valid until {new Date(c.notAfter).toLocaleDateString()}</span>
                {c.warnings.length > 0 && <span className="badge warn">{c.warnings[0]}</span>}
              </span>
            </label>
          ))}
        </fieldset>
      )}
      <div className="dialog-actions">
        <button type="button" className="button secondary" onClick={onCancel}>
          Cancel
        </button>
        <button type="button" className="button primary" disabled={chosen === undefined} onClick={() => chosen !== undefined && onPick(chosen)}>
          Use this certificate
        </button>
      </div>
    </Dialog>
  );
}
