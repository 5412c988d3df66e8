import { useEffect, useState, type ReactNode } from 'react';
import { Navigate, Route, Routes, useLocation } from 'react-router-dom';
import { api, errorText } from './api';
import { ChatSocketProvider } from './realtime/ChatSocketProvider';
import { PresenceProvider } from './realtime/usePresence';
import { useAuth } from './store';
import { LoginScreen, RegisterScreen } from './screens/Auth';
import { OnboardingScreen } from './screens/Onboarding';
import { JoinScreen } from './screens/Join';
import { MainApp } from './screens/MainApp';

export function App() {
  return (
    <PresenceProvider>
      <ChatSocketProvider>
        <Routes>
          <Route path="/login" element={<PublicOnly><LoginScreen /></PublicOnly>} />
          <Route path="/register" element={<PublicOnly><RegisterScreen /></PublicOnly>} />
          <Route path="/join/:token" element={<JoinScreen />} />
          <Route path="/onboarding" element={<RequireAuth><OnboardingScreen /></RequireAuth>} />
          <Route path="/c/:channelId" element={<RequireAuth><RequireTeam><MainApp /></RequireTeam></RequireAuth>} />
          <Route path="/" element={<RequireAuth><RequireTeam><MainApp /></RequireTeam></RequireAuth>} />
          <Route path="*" element={<Navigate to="/" replace />} />
        </Routes>
      </ChatSocketProvider>
    </PresenceProvider>
  );
}

function PublicOnly({ children }: { children: ReactNode }) {
  const token = useAuth((s) => s.token);
  const loc = useLocation();
  if (token) {
    const next = new URLSearchParams(loc.search).get('next');
    return <Navigate to={next && next.startsWith('/') ? next : '/'} replace />;
  }
  return <>{children}</>;
}

function RequireAuth({ children }: { children: ReactNode }) {
  const token = useAuth((s) => s.token);
  const loc = useLocation();
  if (!token) return <Navigate to={`/login?next=${encodeURIComponent(loc.pathname)}`} replace />;
  return <>{children}</>;
}

/** Route guard: while the server says onboarding is required, the main app is not shown. */
function RequireTeam({ children }: { children: ReactNode }) {
  const user = useAuth((s) => s.user);
  const setUser = useAuth((s) => s.setUser);
  const [state, setState] = useState<'checking' | 'ok' | 'required' | 'error'>(user?.team_id ? 'ok' : 'checking');
  const [err, setErr] = useState('');
  useEffect(() => {
    if (user?.team_id) {
      setState('ok');
      return;
    }
    let live = true;
    setState('checking');
    api
      .onboarding()
      .then(async (r) => {
        if (!live) return;
        if (r.required) return setState('required');
        setUser(await api.me());
        if (live) setState('ok');
      })
      .catch((e) => {
        if (!live) return;
        setErr(errorText(e));
        setState('error');
      });
    return () => {
      live = false;
    };
  }, [user?.team_id, setUser]);
  if (state === 'required') return <Navigate to="/onboarding" replace />;
  if (state === 'error')
    return (
      <div className="center-page">
        <div className="card" role="alert">
          <p>Could not load your workspace: {err}</p>
          <button className="btn" onClick={() => setUser({ ...user!, team_id: null })}>
            Try again
          </button>
        </div>
      </div>
    );
  if (state === 'checking') return <div className="center-page muted">Loading…</div>;
  return <>{children}</>;
}
