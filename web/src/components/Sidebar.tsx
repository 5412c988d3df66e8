import { useEffect, useState } from 'react';
import { NavLink, useNavigate, useParams } from 'react-router-dom';
import { api } from '../api';
import { usePresence } from '../realtime/usePresence';
import { useAuth, useChat } from '../store';
import type { Channel } from '../types';
import { isAdmin, key } from '../types';
import { CreateChannelModal } from './CreateChannelModal';
import { PresenceDot } from './PresenceDot';

export const NON_ADMIN_TOOLTIP = 'Only team admins can create channels';

export function Sidebar({ onLogout, onNavigate }: { onLogout?: () => void; onNavigate?: () => void }) {
  const channels = useChat((s) => s.channels);
  const lastRead = useChat((s) => s.lastRead);
  const upsertChannel = useChat((s) => s.upsertChannel);
  const user = useAuth((s) => s.user);
  const team = useAuth((s) => s.team);
  const presence = usePresence();
  const nav = useNavigate();
  const { channelId } = useParams();
  const [creating, setCreating] = useState(false);
  const admin = isAdmin(user);

  // channel events arrive on the presence socket; after a presence reconnect, refetch (events are not replayed)
  useEffect(
    () =>
      presence.onEvent((ev) => {
        if (ev.type === 'channel_created' || ev.type === 'channel_member_added') {
          upsertChannel(ev.channel);
        } else if (ev.type === 'hello' && ev.reconnected) {
          api.channels().then(useChat.getState().setChannels, (e) => console.warn('[sidebar]', 'refetch_failed', e));
        }
      }),
    [presence, upsertChannel],
  );

  function created(c: Channel) {
    upsertChannel(c);
    setCreating(false);
    nav(`/c/${encodeURIComponent(String(c.id))}`);
  }

  return (
    <nav className="sidebar" aria-label="Channels">
      <div className="sidebar-head">
        <div className="team-name" title={team?.display_name}>{team?.display_name ?? 'majlis'}</div>
      </div>
      <div className="sidebar-section">
        <span>Channels</span>
        {admin ? (
          <button className="icon-btn" aria-label="Create channel" title="Create channel" onClick={() => setCreating(true)}>+</button>
        ) : (
          <span className="tooltip-wrap" title={NON_ADMIN_TOOLTIP} data-tooltip={NON_ADMIN_TOOLTIP}>
            <button className="icon-btn" aria-label="Create channel" title={NON_ADMIN_TOOLTIP} disabled aria-disabled="true">+</button>
          </span>
        )}
      </div>
      <ul className="channel-list">
        {channels.map((c) => {
          const active = key(c.id) === channelId;
          const unread = !active && (c.last_seq ?? 0) > (lastRead[key(c.id)] ?? 0);
          return (
            <li key={key(c.id)}>
              <NavLink
                to={`/c/${encodeURIComponent(String(c.id))}`}
                className={({ isActive }) => `channel-link${isActive ? ' active' : ''}${unread ? ' unread' : ''}`}
                data-channel-name={c.name}
                onClick={onNavigate}
              >
                <span className="hash" aria-hidden="true">{c.type === 'private' ? '🔒' : '#'}</span>
                <span className="channel-label">{c.display_name}</span>
                {unread && <span className="unread-dot" aria-label="unread messages" role="img" />}
              </NavLink>
            </li>
          );
        })}
      </ul>
      {user && (
        <div className="sidebar-foot">
          <PresenceDot userId={user.id} />
          <span className="me" title={user.username}>{user.display_name || user.username}</span>
          {onLogout && <button className="link-btn small" onClick={onLogout}>Sign out</button>}
        </div>
      )}
      {creating && <CreateChannelModal onClose={() => setCreating(false)} onCreated={created} />}
    </nav>
  );
}
