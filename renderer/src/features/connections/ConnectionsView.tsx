/** The Connections screen: every profile with its Connect button, and the prompts a connect may need. */
import { useEffect, useState } from 'react';

import type { DesktopError, NeededSecret, ProfileView } from '../../../../native-helper/src/api/desktop.js';
import { useApi } from '../../lib/api.js';
import { useAppState, useStore } from '../../lib/store.js';
import { CertificatePicker } from './CertificatePicker.js';
import { ConnectionCard } from './ConnectionCard.js';
import { SecretPrompt, type SecretAnswer } from './SecretPrompt.js';

type Prompt = { readonly view: ProfileView; readonly needs: NeededSecret; readonly error?: string };

export function ConnectionsView({ onGoToProfiles }: { onGoToProfiles: () => void }) {
  const api = useApi();
  const store = useStore();
  const profiles = useAppState((s) => s.profiles);
  const state = useAppState((s) => s.state);
  const helperUp = useAppState((s) => s.helper.status === 'up');
  const [pending, setPending] = useState<string>();
  const [prompt, setPrompt] = useState<Prompt>();
  const [errors, setErrors] = useState<Readonly<Record<string, DesktopError>>>({});

  // Counters come from the kernel when straitd builds the state: refresh while connected.
  useEffect(() => {
    if (state.state !== 'connected') return;
    const t = setInterval(() => void store.refreshState(), 2000);
    return () => clearInterval(t);
  }, [state.state, store]);

  const connect = async (view: ProfileView, extra: { eapPassword?: string; psk?: string; certificatePassword?: string; remember?: boolean } = {}) => {
    const id = view.profile.id;
    setPending(id);
    setErrors((e) => ({ ...e, [id]: undefined as never }));
    const r = await api.connect({ profileId: id, ...extra });
    setPending(undefined);
    if (r.ok) {
      store.setState(r.value);
      return;
    }
    if (r.error.needs !== undefined) {
      const askAgain = r.error.code !== 'SECRET_MISSING';
      setPrompt({ view, needs: r.error.needs, ...(askAgain ? { error: r.error.message } : {}) });
      if (!askAgain) return;
    }
    setErrors((e) => ({ ...e, [id]: r.error }));
    void store.refreshState();
  };

  const answer = (p: Prompt, a: SecretAnswer) => {
    setPrompt(undefined);
    if (p.needs === 'eap-password') void connect(p.view, { eapPassword: a.value, remember: a.remember });
    else if (p.needs === 'psk') void connect(p.view, { psk: a.value, remember: a.remember });
    else void connect(p.view, { certificatePassword: a.value });
  };

  const pickCertificate = async (p: Prompt, certificateId: string) => {
    setPrompt(undefined);
    const profile = p.view.profile;
    if (profile.auth.method !== 'certificate' && profile.auth.method !== 'eap-tls') return;
    const saved = await api.saveProfile({ profile: { ...profile, auth: { ...profile.auth, certificateRef: certificateId } } });
    if (!saved.ok) {
      setErrors((e) => ({ ...e, [profile.id]: saved.error }));
      return;
    }
    void connect(saved.value);
  };

  const disconnect = async (view: ProfileView) => {
    const r = await api.disconnect({ profileId: view.profile.id });
    if (r.ok) store.setState(r.value);
    else setErrors((e) => ({ ...e, [view.profile.id]: r.error }));
  };

  if (profiles === undefined) return <p className="muted">Loading your VPN profiles…</p>;
  if (profiles.profiles.length === 0) {
    return (
      <div className="empty">
        <h2>No VPN profiles yet</h2>
        <p>Import the profile file your IT department sent you, or create one yourself.</p>
        <button type="button" className="button primary" onClick={onGoToProfiles}>
          Add a profile
        </button>
      </div>
    );
  }
  const active = state.state === 'disconnected' || state.state === 'error' ? undefined : state;
  return (
    <section aria-label="Connections" className="stack">
      {profiles.profiles.map((view) => {
        const blockedBy = active !== undefined && active.profileId !== view.profile.id ? active.profileName : undefined;
        const localError = errors[view.profile.id];
        return (
          <ConnectionCard
            key={view.profile.id}
            view={view}
            state={state}
            pending={pending === view.profile.id}
            helperUp={helperUp}
            {...(blockedBy === undefined ? {} : { blockedBy })}
            {...(localError === undefined ? {} : { localError })}
            onConnect={() => void connect(view)}
            onDisconnect={() => void disconnect(view)}
          />
        );
      })}
      {prompt !== undefined && prompt.needs === 'certificate' && (
        <CertificatePicker profileName={prompt.view.profile.name} onPick={(id) => void pickCertificate(prompt, id)} onCancel={() => setPrompt(undefined)} />
      )}
      {prompt !== undefined && prompt.needs !== 'certificate' && (
        <SecretPrompt
          needs={prompt.needs}
          profileName={prompt.view.profile.name}
          {...(prompt.view.profile.auth.method === 'eap-mschapv2' || prompt.view.profile.auth.method === 'certificate-eap' ? { userName: prompt.view.profile.auth.eapIdentity } : {})}
          {...(prompt.error === undefined ? {} : { error: prompt.error })}
          onSubmit={(a) => answer(prompt, a)}
          onCancel={() => setPrompt(undefined)}
        />
      )}
    </section>
  );
}
