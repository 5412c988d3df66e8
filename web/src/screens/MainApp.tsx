import { useEffect, useEffectEvent, useState } from 'react';
import { Navigate, useNavigate, useParams } from 'react-router-dom';
import { api, errorText } from '../api';
import { ChannelPreview } from '../components/ChannelPreview';
import { ChannelView } from '../components/ChannelView';
import { RemovedFromChannel } from '../components/RemovedFromChannel';
import { Sidebar } from '../components/Sidebar';
import { TeamSettings } from '../components/TeamSettings';
import { useChatSocket } from '../realtime/ChatSocketProvider';
import { usePresence } from '../realtime/usePresence';
import { useAuth, useChat, usePermissions } from '../store';
import { key } from '../types';
import { applyPresenceEvent, refetchChannels, refreshPermissions } from '../workspace';
import { useLogout } from './useLogout';

const CHANNEL_POLL_MS = 30_000;

export function MainApp({ view = 'channel' }: { view?: 'channel' | 'team' }) {
  const { channelId } = useParams();
  const channels = useChat((s) => s.channels);
  const browse = useChat((s) => s.browse);
  const removed = useChat((s) => (channelId ? s.removed[channelId] : undefined));
  const permError = usePermissions((s) => s.error);
  const user = useAuth((s) => s.user);
  const logout = useLogout();
  const nav = useNavigate();
  const presence = usePresence();
  const { connectChannel } = useChatSocket();
  const [loaded, setLoaded] = useState(channels.length > 0);
  const [err, setErr] = useState('');
  const [sidebarOpen, setSidebarOpen] = useState(false);
  const teamId = user?.team_id;

  // channels (and their last_seq, for unread markers), the public ones to browse, and the team's users for names
  useEffect(() => {
    let live = true;
    const load = () =>
      refetchChannels().then(
        () => {
          if (!live) return;
          setLoaded(true);
          setErr('');
        },
        (e) => live && setErr(errorText(e)),
      );
    // load() handles its own failure (the banner), so its promise is not awaited
    void load();
    const t = setInterval(() => void load(), CHANNEL_POLL_MS);
    if (teamId != null)
      api.teamMembers(teamId).then(useChat.getState().setUsers, (e) => console.warn('[main]', 'members_failed', e));
    return () => {
      live = false;
      clearInterval(t);
    };
  }, [teamId]);

  // the permissions follow the open channel (its channel-scoped ones) and the team
  const permChannel = view === 'channel' && channelId ? channelId : null;
  useEffect(() => {
    if (teamId != null) void refreshPermissions(permChannel);
  }, [permChannel, teamId]);

  // the presence socket's workspace events; what they leave to do depends on the open channel now
  const onWorkspaceEvent = useEffectEvent((effect: ReturnType<typeof applyPresenceEvent>) => {
    if (effect === 'permissions') void refreshPermissions(permChannel);
    else if (effect === 'refetch') {
      refetchChannels().catch((e) => setErr(errorText(e)));
      void refreshPermissions(permChannel);
    } else if (effect === 'team_removed') {
      connectChannel(null);
      nav('/onboarding', { replace: true });
    }
  });
  useEffect(() => presence.onEvent((ev) => onWorkspaceEvent(applyPresenceEvent(ev))), [presence]);

  // leaving the main app (or a channel that is gone): no chat socket
  useEffect(() => () => connectChannel(null), [connectChannel]);

  const channel = view === 'channel' ? channels.find((c) => key(c.id) === channelId) : undefined;
  const preview = view === 'channel' && !channel ? browse.find((c) => key(c.id) === channelId) : undefined;
  useEffect(() => {
    if (view !== 'channel' || (loaded && channelId && !channel)) connectChannel(null);
  }, [view, loaded, channelId, channel, connectChannel]);

  if (view === 'channel' && !channelId && channels.length) {
    const ts = channels.find((c) => c.name === 'town-square') ?? channels[0];
    return <Navigate to={`/c/${encodeURIComponent(String(ts.id))}`} replace />;
  }

  const toggleSidebar = () => setSidebarOpen((v) => !v);
  let body;
  if (view === 'team') body = <TeamSettings onToggleSidebar={toggleSidebar} />;
  else if (channel) body = <ChannelView key={key(channel.id)} channel={channel} onToggleSidebar={toggleSidebar} />;
  else if (removed && channelId) body = <RemovedFromChannel channelId={channelId} channel={removed} />;
  else if (preview) body = <ChannelPreview key={key(preview.id)} channel={preview} onToggleSidebar={toggleSidebar} />;
  else
    body = (
      <div className="center-page muted">
        <button className="icon-btn only-narrow" aria-label="Show channels" onClick={() => setSidebarOpen(true)}>☰</button>
        {loaded ? (channelId ? 'Channel not found, or you are not a member.' : 'No channels yet.') : 'Loading channels…'}
      </div>
    );

  return (
    <div className={`app-shell${sidebarOpen ? ' sidebar-open' : ''}`}>
      <Sidebar onLogout={logout} onNavigate={() => setSidebarOpen(false)} />
      {sidebarOpen && <div className="scrim only-narrow" onClick={() => setSidebarOpen(false)} aria-hidden="true" />}
      <main className="main-area">
        {err && <div className="banner banner-error" role="alert">{err}</div>}
        {permError && <div className="banner banner-error" role="alert">{permError}</div>}
        {body}
      </main>
    </div>
  );
}
