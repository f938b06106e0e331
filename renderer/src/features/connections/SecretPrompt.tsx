/** Asks for what a connect needs: a password (with "remember in keychain"), a PSK, or a certificate's password. */
import { useId, useState, type FormEvent } from 'react';

import type { NeededSecret } from '../../../../native-helper/src/api/desktop.js';
import { Dialog } from '../../components/Dialog.js';

export interface SecretAnswer {
  readonly value: string;
  readonly remember: boolean;
}

const WORDS: Readonly<Record<Exclude<NeededSecret, 'certificate'>, { title: string; label: string }>> = {
  'eap-password': { title: 'Sign in', label: 'Password' },
  psk: { title: 'Pre-shared key', label: 'Pre-shared key' },
  'certificate-password': { title: 'Unlock your certificate', label: 'Certificate password' },
};

export function SecretPrompt({
  needs,
  profileName,
  userName,
  error,
  onSubmit,
  onCancel,
}: {
  needs: Exclude<NeededSecret, 'certificate'>;
  profileName: string;
  userName?: string;
  error?: string;
  onSubmit: (answer: SecretAnswer) => void;
  onCancel: () => void;
}) {
  const [value, setValue] = useState('');
  const [remember, setRemember] = useState(true);
  const id = useId();
  const words = WORDS[needs];
  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (value !== '') onSubmit({ value, remember: needs !== 'certificate-password' && remember });
  };
  return (
    <Dialog title={`${words.title} — ${profileName}`} onClose={onCancel}>
      <form onSubmit={submit} className="form">
        {userName !== undefined && (
          <p className="muted">
            Signing in as <strong>{userName}</strong>
          </p>
        )}
        {error !== undefined && (
          <p className="form-error" role="alert">
            {error}
          </p>
        )}
        <label htmlFor={`${id}-secret`}>{words.label}</label>
        <input id={`${id}-secret`} type="password" autoComplete="current-password" autoFocus value={value} onChange={(e) => setValue(e.target.value)} />
        {needs !== 'certificate-password' && (
          <label className="checkbox">
            <input type="checkbox" checked={remember} onChange={(e) => setRemember(e.target.checked)} />
            Remember in keychain (saved only after it works)
          </label>
        )}
        <div className="dialog-actions">
          <button type="button" className="button secondary" onClick={onCancel}>
            Cancel
          </button>
          <button type="submit" className="button primary" disabled={value === ''}>
            Connect
          </button>
        </div>
      </form>
    </Dialog>
  );
}
