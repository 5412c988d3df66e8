import { useState, type FormEvent } from 'react';
import { Link, useLocation, useNavigate } from 'react-router-dom';
import { api } from '../api';
import { FormError, fieldError } from '../components/FormError';
import { useAuth } from '../store';

function useNext(): string {
  const next = new URLSearchParams(useLocation().search).get('next');
  return next && next.startsWith('/') ? next : '/';
}

export function LoginScreen() {
  const [login, setLogin] = useState('');
  const [password, setPassword] = useState('');
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const notice = useAuth((s) => s.notice);
  const setSession = useAuth((s) => s.setSession);
  const nav = useNavigate();
  const next = useNext();

  async function submit(e: FormEvent) {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const r = await api.login(login.trim(), password);
      setSession(r.token, r.user, null);
      nav(next, { replace: true });
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  }

  return (
    <div className="center-page">
      <form className="card auth-card" onSubmit={(e) => void submit(e)} aria-label="Sign in">
        <div className="brand">majlis</div>
        <h1>Sign in</h1>
        {notice && <div className="notice" role="status">{notice}</div>}
        <label>
          Username or email
          <input name="login" autoComplete="username" value={login} onChange={(e) => setLogin(e.target.value)} required autoFocus />
        </label>
        <label>
          Password
          <input name="password" type="password" autoComplete="current-password" value={password} onChange={(e) => setPassword(e.target.value)} required />
        </label>
        <FormError error={error} />
        <button className="btn primary" type="submit" disabled={busy}>
          {busy ? 'Signing in…' : 'Sign in'}
        </button>
        <p className="muted small">
          No account? <Link to={`/register${next !== '/' ? `?next=${encodeURIComponent(next)}` : ''}`}>Create one</Link>
        </p>
      </form>
    </div>
  );
}

export function RegisterScreen() {
  const [f, setF] = useState({ username: '', email: '', password: '', display_name: '' });
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const setSession = useAuth((s) => s.setSession);
  const nav = useNavigate();
  const next = useNext();
  const upd = (k: keyof typeof f) => (e: React.ChangeEvent<HTMLInputElement>) => setF({ ...f, [k]: e.target.value });

  async function submit(e: FormEvent) {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const body = {
        username: f.username.trim().toLowerCase(),
        email: f.email.trim(),
        password: f.password,
        ...(f.display_name.trim() ? { display_name: f.display_name.trim() } : {}),
      };
      const r = await api.register(body);
      setSession(r.token, r.user, null);
      nav(next !== '/' ? next : r.user.team_id ? '/' : '/onboarding', { replace: true });
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  }

  return (
    <div className="center-page">
      <form className="card auth-card" onSubmit={(e) => void submit(e)} aria-label="Create account">
        <div className="brand">majlis</div>
        <h1>Create your account</h1>
        <label>
          Username
          <input name="username" autoComplete="username" value={f.username} onChange={upd('username')} required
            pattern="[a-z0-9][a-z0-9._\-]{2,31}" title="3–32 characters: lowercase letters, digits, . _ -"
            aria-invalid={!!fieldError(error, 'username')} autoFocus />
        </label>
        <label>
          Email
          <input name="email" type="email" autoComplete="email" value={f.email} onChange={upd('email')} required />
        </label>
        <label>
          Display name <span className="muted">(optional)</span>
          <input name="display_name" value={f.display_name} onChange={upd('display_name')} maxLength={64} />
        </label>
        <label>
          Password
          <input name="password" type="password" autoComplete="new-password" value={f.password} onChange={upd('password')} required minLength={8} maxLength={128} />
        </label>
        <FormError error={error} />
        <button className="btn primary" type="submit" disabled={busy}>
          {busy ? 'Creating…' : 'Create account'}
        </button>
        <p className="muted small">
          Already have an account? <Link to={`/login${next !== '/' ? `?next=${encodeURIComponent(next)}` : ''}`}>Sign in</Link>
        </p>
      </form>
    </div>
  );
}
