import { useEffect, useId, useMemo, useState } from 'react';
import { NavLink, useNavigate, useParams } from 'react-router-dom';
import { errorText } from '../api';
import { directPeople, directTitle, isDirect, loadDirectMembers } from '../direct';
import { useAuth, useChat, usePermissions } from '../store';
import type { Channel } from '../types';
import { key } from '../types';
import { BrowseChannelsModal } from './BrowseChannelsModal';
import { CreateChannelModal } from './CreateChannelModal';
import { DirectMessageModal } from './DirectMessageModal';
import { PresenceDot } from './PresenceDot';

export const NO_CREATE_TOOLTIP = 'You do not have permission to create channels';

/** The permissions that open the team settings (each opens its tab). */
export const TEAM_SETTINGS_PERMS = ['manage_team_roles', 'remove_team_member', 'invite_user', 'view_audit_log'] as const;

const count = (n: number) => (n > 99 ? '99+' : String(n));

/** An unread channel's counts: its mentions stand out (the accent badge), the other unread messages are quieter. */
export function UnreadBadges({ c }: { c: Channel }) {
  const unread = c.unread_count ?? 0;
  const mentions = c.mention_count ?? 0;
  return (
    <span className="unread-badges">
      <span className="unread-count" role="img" aria-label={unread === 1 ? '1 unread message' : `${unread} unread messages`} data-count={unread}>
        {count(unread)}
      </span>
      {mentions > 0 && (
        <span className="mention-badge" role="img" aria-label={mentions === 1 ? '1 mention' : `${mentions} mentions`} data-count={mentions}>
          {count(mentions)}
        </span>
      )}
    </span>
  );
}

export function Sidebar({ onLogout, onNavigate }: { onLogout?: () => void; onNavigate?: () => void }) {
  const channels = useChat((s) => s.channels);
  const browse = useChat((s) => s.browse);
  const upsertChannel = useChat((s) => s.upsertChannel);
  const teamPerms = usePermissions((s) => s.team);
  const user = useAuth((s) => s.user);
  const team = useAuth((s) => s.team);
  const nav = useNavigate();
  const { channelId } = useParams();
  const [creating, setCreating] = useState(false);
  const [browsing, setBrowsing] = useState(false);
  const [startingDm, setStartingDm] = useState(false);
  const [dmError, setDmError] = useState('');
  const dmTitleId = useId();
  const users = useChat((s) => s.users);
  const directMembers = useChat((s) => s.directMembers);
  // public and private channels above; direct and group ones in their own section, named after the others
  const rooms = useMemo(() => channels.filter((c) => !isDirect(c)), [channels]);
  const dms = useMemo(
    () =>
      channels
        .filter(isDirect)
        .map((c) => ({ c, people: directPeople(c, directMembers[key(c.id)], users, user) }))
        .sort((a, b) => directTitle(a.people).localeCompare(directTitle(b.people))),
    [channels, directMembers, users, user],
  );
  // their members are asked for once (they never change); a failure is shown, and asked again when the list changes;
  // the error goes once every direct channel's members are known
  useEffect(() => {
    loadDirectMembers(channels).then(
      () => {
        const known = useChat.getState().directMembers;
        if (useChat.getState().channels.every((c) => !isDirect(c) || known[key(c.id)])) setDmError('');
      },
      (e) => {
        console.warn('[sidebar]', 'direct_members_failed', e);
        setDmError(`Could not load who is in some direct messages: ${errorText(e)}`);
      },
    );
  }, [channels]);
  const canCreate = teamPerms.includes('create_public_channel') || teamPerms.includes('create_private_channel');
  const canSettings = TEAM_SETTINGS_PERMS.some((p) => teamPerms.includes(p));

  function created(c: Channel) {
    upsertChannel(c);
    setCreating(false);
    nav(`/c/${encodeURIComponent(String(c.id))}`);
  }

  function startedDm(c: Channel) {
    setStartingDm(false);
    onNavigate?.();
    nav(`/c/${encodeURIComponent(String(c.id))}`);
  }

  function joined(c: Channel) {
    setBrowsing(false);
    onNavigate?.();
    nav(`/c/${encodeURIComponent(String(c.id))}`);
  }

  const link = (c: Channel, member: boolean) => {
    const active = key(c.id) === channelId;
    const unread = member && !active && (c.unread_count ?? 0) > 0;
    return (
      <li key={key(c.id)}>
        <NavLink
          to={`/c/${encodeURIComponent(String(c.id))}`}
          className={({ isActive }) =>
            `channel-link${isActive ? ' active' : ''}${unread ? ' unread' : ''}${member ? '' : ' not-member'}${c.archived_at ? ' archived' : ''}`
          }
          data-channel-name={c.name}
          data-member={member ? 'true' : 'false'}
          title={member ? undefined : 'You are not a member: open it to join'}
          onClick={onNavigate}
        >
          <span className="hash" aria-hidden="true">{c.type === 'private' ? '🔒' : '#'}</span>
          <span className="channel-label">{c.display_name}</span>
          {c.archived_at && <span className="muted small"> (archived)</span>}
          {unread && <UnreadBadges c={c} />}
        </NavLink>
      </li>
    );
  };

  const dmLink = ({ c, people }: (typeof dms)[number]) => {
    const active = key(c.id) === channelId;
    const unread = !active && (c.unread_count ?? 0) > 0;
    const title = directTitle(people);
    const other = c.type === 'direct' ? people[0]?.id : null;
    return (
      <li key={key(c.id)}>
        <NavLink
          to={`/c/${encodeURIComponent(String(c.id))}`}
          className={({ isActive }) => `channel-link${isActive ? ' active' : ''}${unread ? ' unread' : ''}`}
          data-channel-name={c.name}
          data-direct={c.type}
          title={title}
          onClick={onNavigate}
        >
          {other ? (
            <PresenceDot userId={other} />
          ) : (
            <span className="dm-count" aria-hidden="true">{c.type === 'group' ? people.length + 1 : '@'}</span>
          )}
          <span className="channel-label">{title}</span>
          {unread && <UnreadBadges c={c} />}
        </NavLink>
      </li>
    );
  };

  return (
    <nav className="sidebar" aria-label="Channels">
      <div className="sidebar-head">
        <div className="team-name" title={team?.display_name}>{team?.display_name ?? 'majlis'}</div>
        {canSettings && (
          <NavLink to="/team" className="icon-btn" aria-label="Team settings" title="Team settings" onClick={onNavigate}>⚙</NavLink>
        )}
      </div>
      <div className="sidebar-section">
        <span>Channels</span>
        <span className="section-actions">
          <button className="icon-btn" aria-label="Browse channels" title="Browse channels" onClick={() => setBrowsing(true)}>☰</button>
          {canCreate ? (
            <button className="icon-btn" aria-label="Create channel" title="Create channel" onClick={() => setCreating(true)}>+</button>
          ) : (
            <span className="tooltip-wrap" title={NO_CREATE_TOOLTIP} data-tooltip={NO_CREATE_TOOLTIP}>
              <button className="icon-btn" aria-label="Create channel" title={NO_CREATE_TOOLTIP} disabled aria-disabled="true">+</button>
            </span>
          )}
        </span>
      </div>
      <ul className="channel-list">
        {rooms.map((c) => link(c, true))}
        {browse.map((c) => link(c, false))}
      </ul>
      <div className="sidebar-section">
        <span id={dmTitleId}>Direct messages</span>
        <span className="section-actions">
          <button className="icon-btn" aria-label="Start a direct message" title="Start a direct message" onClick={() => setStartingDm(true)}>+</button>
        </span>
      </div>
      {dmError && <div className="form-error sidebar-error" role="alert">{dmError}</div>}
      <ul className="channel-list dm-list" aria-labelledby={dmTitleId}>
        {dms.map(dmLink)}
      </ul>
      {user && (
        <div className="sidebar-foot">
          <PresenceDot userId={user.id} />
          <span className="me" title={user.username}>{user.display_name || user.username}</span>
          {onLogout && <button className="link-btn small" onClick={onLogout}>Sign out</button>}
        </div>
      )}
      {creating && <CreateChannelModal onClose={() => setCreating(false)} onCreated={created} />}
      {startingDm && <DirectMessageModal onClose={() => setStartingDm(false)} onStarted={startedDm} />}
      {browsing && <BrowseChannelsModal onClose={() => setBrowsing(false)} onJoined={joined} />}
    </nav>
  );
}
