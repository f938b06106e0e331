/** The Profiles screen: the list (edit, export, delete), a new-profile button and the import panel. */
import { useState } from 'react';

import type { DesktopError, ProfileView } from '../../../../native-helper/src/api/desktop.js';
import { Dialog } from '../../components/Dialog.js';
import { Icon } from '../../components/Icon.js';
import { useApi } from '../../lib/api.js';
import { AUTH_LABELS, downloadText } from '../../lib/format.js';
import { useAppState, useStore } from '../../lib/store.js';
import { ImportPanel } from './ImportPanel.js';
import { ProfileEditor } from './ProfileEditor.js';

export function ProfilesView() {
  const api = useApi();
  const store = useStore();
  const profiles = useAppState((s) => s.profiles);
  const [editing, setEditing] = useState<ProfileView | 'new'>();
  const [deleting, setDeleting] = useState<ProfileView>();
  const [error, setError] = useState<DesktopError>();

  const exportProfile = async (view: ProfileView) => {
    const r = await api.exportProfile({ id: view.profile.id });
    if (r.ok) downloadText(r.value.fileName, r.value.text);
    else setError(r.error);
  };

  const forget = async (view: ProfileView) => {
    const r = await api.forgetSecret({ id: view.profile.id });
    if (!r.ok) setError(r.error);
    void store.refreshProfiles();
  };

  const remove = async (view: ProfileView) => {
    setDeleting(undefined);
    const r = await api.deleteProfile({ id: view.profile.id });
    if (!r.ok) setError(r.error);
    void store.refreshProfiles();
  };

  if (editing !== undefined) {
    return (
      <ProfileEditor
        {...(editing === 'new' ? {} : { view: editing })}
        onDone={() => {
          setEditing(undefined);
          void store.refreshProfiles();
        }}
      />
    );
  }

  return (
    <div className="stack">
      <section className="card" aria-labelledby="profiles-title">
        <div className="section-head">
          <h2 id="profiles-title">Your profiles</h2>
          <button type="button" className="button primary" onClick={() => setEditing('new')}>
            New profile
          </button>
        </div>
        {error !== undefined && (
          <p className="form-error" role="alert">
            {error.message}
          </p>
        )}
        {profiles === undefined ? (
          <p className="muted">Loading…</p>
        ) : profiles.profiles.length === 0 ? (
          <p className="muted">No profiles yet. Import the file from IT below, or create one.</p>
        ) : (
          <ul className="profile-list">
            {profiles.profiles.map((view) => (
              <li key={view.profile.id} className="profile-row">
                <div>
                  <strong>{view.profile.name}</strong>
                  <span className="muted"> — {view.profile.gateway.host}, {AUTH_LABELS[view.profile.auth.method]}</span>
                  {view.managedBy !== undefined && (
                    <span className="badge managed">
                      <Icon name="lock" size={12} /> Managed by {view.managedBy}
                    </span>
                  )}
                  {view.secretStored && <span className="badge">Password saved</span>}
                </div>
                <div className="row-actions">
                  <button type="button" className="button small secondary" onClick={() => setEditing(view)} aria-label={`${view.source === 'managed' ? 'View' : 'Edit'} ${view.profile.name}`}>
                    {view.source === 'managed' ? 'View' : 'Edit'}
                  </button>
                  {view.secretStored && (view.profile.auth.method === 'eap-mschapv2' || view.profile.auth.method === 'certificate-eap' || view.profile.auth.method === 'psk') && (
                    <button type="button" className="button small secondary" onClick={() => void forget(view)} aria-label={`Forget the saved password of ${view.profile.name}`}>
                      Forget password
                    </button>
                  )}
                  <button type="button" className="button small secondary" onClick={() => void exportProfile(view)} aria-label={`Export ${view.profile.name}`}>
                    Export
                  </button>
                  {view.source === 'user' && (
                    <button type="button" className="button small danger-outline" onClick={() => setDeleting(view)} aria-label={`Delete ${view.profile.name}`}>
                      Delete
                    </button>
                  )}
                </div>
              </li>
            ))}
          </ul>
        )}
        {profiles !== undefined && profiles.unreadable.length > 0 && (
          <details className="muted small">
            <summary>{profiles.unreadable.length} file(s) in the profile folder could not be read</summary>
            <ul>
              {profiles.unreadable.map((u) => (
                <li key={u.file}>
                  {u.file}: {u.problems.join('; ')}
                </li>
              ))}
            </ul>
          </details>
        )}
      </section>
      <ImportPanel />
      {deleting !== undefined && (
        <Dialog title={`Delete ${deleting.profile.name}?`} onClose={() => setDeleting(undefined)}>
          <p>The profile and its saved password are removed from this computer. Your IT department can send it again.</p>
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
    </div>
  );
}
