import { useState } from 'react';
import { Link, useNavigate, useParams } from 'react-router-dom';
import { api } from '../api';
import { FormError } from '../components/FormError';
import { useAuth, useChat } from '../store';

export function JoinScreen() {
  const { token: invite = '' } = useParams();
  const token = useAuth((s) => s.token);
  const user = useAuth((s) => s.user);
  const setSession = useAuth((s) => s.setSession);
  const nav = useNavigate();
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const next = encodeURIComponent(`/join/${invite}`);

  async function join() {
    setBusy(true);
    setError(null);
    try {
      const r = await api.joinTeam(invite);
      setSession(r.token, r.user, r.team);
      useChat.getState().setChannels(await api.channels());
      nav('/', { replace: true });
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  }

  return (
    <div className="center-page">
      <div className="card auth-card">
        <div className="brand">majlis</div>
        <h1>You're invited</h1>
        {!token ? (
          <>
            <p className="muted">Sign in or create an account to join this team.</p>
            <Link className="btn primary" to={`/register?next=${next}`}>Create account</Link>
            <Link className="btn" to={`/login?next=${next}`}>Sign in</Link>
          </>
        ) : user?.team_id ? (
          <>
            <p className="muted">You are already a member of a team.</p>
            <Link className="btn primary" to="/">Open majlis</Link>
          </>
        ) : (
          <>
            <p className="muted">Join the team as {user?.display_name || user?.username}.</p>
            <FormError error={error} />
            <button className="btn primary" onClick={() => void join()} disabled={busy}>
              {busy ? 'Joining…' : 'Join team'}
            </button>
          </>
        )}
      </div>
    </div>
  );
}
