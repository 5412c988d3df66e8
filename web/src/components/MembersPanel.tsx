import { useEffect, useState } from 'react';
import { useNavigate } from 'react-router-dom';
import { api, errorText } from '../api';
import { openDirect } from '../direct';
import { usePresence } from '../realtime/usePresence';
import { useAuth, useChat } from '../store';
import type { ChannelMember, Id, User } from '../types';
import { key } from '../types';
import { PresenceDot } from './PresenceDot';

export function MembersPanel({ channelId, onClose }: { channelId: Id; onClose: () => void }) {
  const [members, setMembers] = useState<ChannelMember[] | null>(null);
  const [err, setErr] = useState('');
  const presence = usePresence();
  const status = useChat((s) => s.presence);
  const me = useAuth((s) => key(s.user?.id));
  const nav = useNavigate();
  const [opening, setOpening] = useState<string | null>(null);
  useEffect(() => {
    let live = true;
    const load = () =>
      api.channelMembers(channelId).then(
        (m) => {
          if (!live) return;
          setMembers(m);
          // the mention suggestions offer the members the panel loaded
          useChat.getState().setUsers(m);
          useChat.getState().setChannelMembers(channelId, m.map((u) => u.id));
        },
        (e) => live && setErr(errorText(e)),
      );
    // load() handles its own failure (the error line), so its promise is not awaited
    void load();
    const off = presence.onEvent((ev) => {
      // the list follows the channel's members: added, removed, left
      if (ev.type === 'channel_member_added' && key(ev.channel.id) === key(channelId)) void load();
      else if (ev.type === 'channel_member_removed' && key(ev.channel_id) === key(channelId))
        setMembers((m) => m && m.filter((u) => key(u.id) !== key(ev.user_id)));
    });
    return () => {
      live = false;
      off();
    };
  }, [channelId, presence]);
  // "Message": the direct channel with that person, made the first time
  async function message(u: User) {
    setOpening(key(u.id));
    setErr('');
    try {
      const c = await openDirect([u.id]);
      nav(`/c/${encodeURIComponent(String(c.id))}`);
    } catch (e) {
      setErr(`Could not open a direct message with ${u.display_name || u.username}: ${errorText(e)}`);
    } finally {
      setOpening(null);
    }
  }
  const rank = (u: User) => ({ online: 0, away: 1, offline: 2 })[status[key(u.id)] ?? 'offline'];
  const sorted = (members ?? []).slice().sort((a, b) => rank(a) - rank(b) || a.username.localeCompare(b.username));
  return (
    <aside className="members-panel" aria-label="Members">
      <div className="panel-head">
        <h2>Members {members ? <span className="muted">({members.length})</span> : null}</h2>
        <button className="icon-btn" aria-label="Close members" onClick={onClose}>×</button>
      </div>
      {err && <div className="form-error" role="alert">{err}</div>}
      <ul className="member-list">
        {sorted.map((u) => (
          <li key={key(u.id)} data-username={u.username}>
            <PresenceDot userId={u.id} />
            <span>{u.display_name || u.username}</span>
            {u.channel_role === 'channel_admin' && <span className="role-badge" title="Channel admin">admin</span>}
            <span className="muted small">@{u.username}</span>
            {key(u.id) !== me && (
              <button className="icon-btn dm-action" aria-label={`Message ${u.display_name || u.username}`} title="Message"
                disabled={opening !== null} onClick={() => void message(u)}>✉</button>
            )}
          </li>
        ))}
      </ul>
    </aside>
  );
}
