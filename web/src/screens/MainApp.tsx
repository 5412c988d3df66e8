import { useEffect, useState } from 'react';
import { Navigate, useParams } from 'react-router-dom';
import { api, errorText } from '../api';
import { ChannelView } from '../components/ChannelView';
import { Sidebar } from '../components/Sidebar';
import { useChatSocket } from '../realtime/ChatSocketProvider';
import { useAuth, useChat } from '../store';
import { key } from '../types';
import { useLogout } from './useLogout';

const CHANNEL_POLL_MS = 30_000;

export function MainApp() {
  const { channelId } = useParams();
  const channels = useChat((s) => s.channels);
  const user = useAuth((s) => s.user);
  const logout = useLogout();
  const { connectChannel } = useChatSocket();
  const [loaded, setLoaded] = useState(channels.length > 0);
  const [err, setErr] = useState('');
  const [sidebarOpen, setSidebarOpen] = useState(false);

  // channels (and their last_seq, for unread markers), and the team's users for names
  useEffect(() => {
    let live = true;
    const load = () =>
      api.channels().then(
        (c) => {
          if (!live) return;
          useChat.getState().setChannels(c);
          setLoaded(true);
          setErr('');
        },
        (e) => live && setErr(errorText(e)),
      );
    // load() handles its own failure (the banner), so its promise is not awaited
    void load();
    const t = setInterval(() => void load(), CHANNEL_POLL_MS);
    if (user?.team_id != null)
      api.teamMembers(user.team_id).then(useChat.getState().setUsers, (e) => console.warn('[main]', 'members_failed', e));
    return () => {
      live = false;
      clearInterval(t);
    };
  }, [user?.team_id]);

  // leaving the main app (or a channel that is gone): no chat socket
  useEffect(() => () => connectChannel(null), [connectChannel]);

  const channel = channels.find((c) => key(c.id) === channelId);
  useEffect(() => {
    if (loaded && channelId && !channel) connectChannel(null);
  }, [loaded, channelId, channel, connectChannel]);

  if (!channelId && channels.length) {
    const ts = channels.find((c) => c.name === 'town-square') ?? channels[0];
    return <Navigate to={`/c/${encodeURIComponent(String(ts.id))}`} replace />;
  }

  return (
    <div className={`app-shell${sidebarOpen ? ' sidebar-open' : ''}`}>
      <Sidebar onLogout={logout} onNavigate={() => setSidebarOpen(false)} />
      {sidebarOpen && <div className="scrim only-narrow" onClick={() => setSidebarOpen(false)} aria-hidden="true" />}
      <main className="main-area">
        {err && <div className="banner banner-error" role="alert">{err}</div>}
        {channel ? (
          <ChannelView key={key(channel.id)} channel={channel} onToggleSidebar={() => setSidebarOpen((v) => !v)} />
        ) : (
          <div className="center-page muted">
            <button className="icon-btn only-narrow" aria-label="Show channels" onClick={() => setSidebarOpen(true)}>☰</button>
            {loaded ? (channelId ? 'Channel not found, or you are not a member.' : 'No channels yet.') : 'Loading channels…'}
          </div>
        )}
      </main>
    </div>
  );
}
