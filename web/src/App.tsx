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
          <Route path="/team" element={<RequireAuth><RequireTeam><MainApp view="team" /></RequireTeam></RequireAuth>} />
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
  const hasTeam = !!user?.team_id;
  // Without a team the server is asked; each check has a number, so a result is only used for the
  // check that asked it: losing the team, or "Try again", starts a new one (shown as "checking").
  const [check, setCheck] = useState(0);
  const [result, setResult] = useState<{ check: number; state: 'ok' | 'required' | 'error'; err: string } | null>(null);
  const [hadTeam, setHadTeam] = useState(hasTeam);
  if (hadTeam !== hasTeam) {
    setHadTeam(hasTeam);
    if (!hasTeam) setCheck((c) => c + 1);
  }
  useEffect(() => {
    if (hasTeam) return;
    let live = true;
    api
      .onboarding()
      .then(async (r) => {
        if (!live) return;
        if (r.required) return setResult({ check, state: 'required', err: '' });
        setUser(await api.me());
        if (live) setResult({ check, state: 'ok', err: '' });
      })
      .catch((e) => {
        if (live) setResult({ check, state: 'error', err: errorText(e) });
      });
    return () => {
      live = false;
    };
  }, [hasTeam, check, setUser]);
  const state = hasTeam ? 'ok' : result?.check === check ? result.state : 'checking';
  const err = result?.err ?? '';
  if (state === 'required') return <Navigate to="/onboarding" replace />;
  if (state === 'error')
    return (
      <div className="center-page">
        <div className="card" role="alert">
          <p>Could not load your workspace: {err}</p>
          <button className="btn" onClick={() => setCheck((c) => c + 1)}>
            Try again
          </button>
        </div>
      </div>
    );
  if (state === 'checking') return <div className="center-page muted">Loading…</div>;
  return <>{children}</>;
}
