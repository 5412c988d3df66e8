import { useEffect, useRef, useState, type FormEvent } from 'react';
import { useNavigate } from 'react-router-dom';
import { api, ApiError } from '../api';
import { FormError, fieldError } from '../components/FormError';
import { newClientId } from '../realtime/backoff';
import { useAuth, useChat } from '../store';
import { useLogout } from './useLogout';

const slug = (s: string) =>
  s.toLowerCase().normalize('NFKD').replace(/[^a-z0-9_-]+/g, '-').replace(/^[-_]+/, '').replace(/-+$/, '').slice(0, 64);

export function OnboardingScreen() {
  const user = useAuth((s) => s.user);
  const teamNotice = useAuth((s) => s.teamNotice);
  const clearTeamNotice = useAuth((s) => s.clearTeamNotice);
  const setSession = useAuth((s) => s.setSession);
  const setUser = useAuth((s) => s.setUser);
  const setChannels = useChat((s) => s.setChannels);
  const nav = useNavigate();
  const logout = useLogout();
  const [displayName, setDisplayName] = useState('');
  const [name, setName] = useState('');
  const [nameTouched, setNameTouched] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const [invite, setInvite] = useState('');
  // one idempotency key per attempt of this form: a retry after a network error completes the same creation
  const idemKey = useRef(newClientId());

  useEffect(() => {
    let live = true;
    api
      .onboarding()
      .then(async (r) => {
        if (live && !r.required) {
          setUser(await api.me());
          nav('/', { replace: true });
        }
      })
      .catch((e) => console.warn('[onboarding]', 'check_failed', e));
    return () => {
      live = false;
    };
  }, [nav, setUser]);

  async function submit(e: FormEvent) {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const r = await api.createTeam({ name: name || slug(displayName), display_name: displayName.trim() }, idemKey.current);
      setSession(r.token, r.user, r.team);
      setChannels(r.channels);
      const ts = r.channels.find((c) => c.name === 'town-square') ?? r.channels[0];
      nav(ts ? `/c/${encodeURIComponent(String(ts.id))}` : '/', { replace: true });
    } catch (err) {
      if (err instanceof ApiError && err.code === 'already_in_team') {
        try {
          setUser(await api.me());
          nav('/', { replace: true });
        } catch (meErr) {
          setError(meErr);
        }
        return;
      }
      if (err instanceof ApiError && err.status > 0 && err.status < 500 && err.status !== 409) idemKey.current = newClientId();
      setError(err);
    } finally {
      setBusy(false);
    }
  }

  function joinInvite(e: FormEvent) {
    e.preventDefault();
    const t = invite.trim().replace(/^.*\/join\//, '');
    if (t) nav(`/join/${encodeURIComponent(t)}`);
  }

  return (
    <div className="center-page">
      <div className="card onboarding-card">
        <div className="brand">majlis</div>
        {teamNotice && (
          <div className="notice" role="alert">
            {teamNotice} <button className="link-btn small" onClick={clearTeamNotice}>Dismiss</button>
          </div>
        )}
        <h1>Create your team</h1>
        <p className="muted">
          Welcome{user ? `, ${user.display_name || user.username}` : ''}. A team is where your channels live. You'll start with
          <strong> town-square</strong> and <strong>off-topic</strong>.
        </p>
        <form onSubmit={(e) => void submit(e)} aria-label="Create team">
          <label>
            Team display name
            <input name="display_name" value={displayName} maxLength={64} required autoFocus
              onChange={(e) => {
                setDisplayName(e.target.value);
                if (!nameTouched) setName(slug(e.target.value));
              }} />
          </label>
          <label>
            Team URL name
            <input name="name" value={name} required pattern="[a-z0-9][a-z0-9_\-]{0,63}"
              title="lowercase letters, digits, - and _; starts with a letter or digit"
              aria-invalid={!!fieldError(error, 'name')}
              onChange={(e) => {
                setNameTouched(true);
                setName(e.target.value.toLowerCase());
              }} />
          </label>
          <FormError error={error} />
          <button className="btn primary" type="submit" disabled={busy}>
            {busy ? 'Creating team…' : 'Create team'}
          </button>
        </form>
        <div className="divider"><span>or</span></div>
        <form onSubmit={joinInvite} className="inline-form" aria-label="Join with an invite">
          <label className="grow">
            Invite link
            <input name="invite" value={invite} onChange={(e) => setInvite(e.target.value)} placeholder="https://…/join/…" />
          </label>
          <button className="btn" type="submit">Join</button>
        </form>
        <button className="link-btn small" onClick={logout}>Sign out</button>
      </div>
    </div>
  );
}
