import { useEffect, useState, type FormEvent } from 'react';
import { useNavigate } from 'react-router-dom';
import { api, ApiError } from '../api';
import { usePresence } from '../realtime/usePresence';
import { canChannel, canTeam, useAuth, useChat, usePermissions } from '../store';
import type { Channel, ChannelMember, ChannelRole, Id } from '../types';
import { key } from '../types';
import { FormError, fieldError } from './FormError';
import { Modal } from './Modal';

const DEFAULT_CHANNEL = 'town-square';

/** Readable text for the contract's refusals here; the rest as the server said it. */
function channelErrorText(e: unknown): unknown {
  if (!(e instanceof ApiError)) return e;
  if (e.code === 'default_channel') return `${DEFAULT_CHANNEL} cannot be left or archived: everyone in the team is in it.`;
  if (e.code === 'channel_archived') return 'This channel is archived: unarchive it first.';
  if (e.status === 403) return `You are not allowed to do that here (${e.message || e.code}).`;
  return e;
}

type Tab = 'general' | 'members';

/** The channel's properties, archive state and members (with their roles), each control gated by the user's permissions. */
export function ChannelSettingsModal({ channel, onClose }: { channel: Channel; onClose: () => void }) {
  const [tab, setTab] = useState<Tab>('general');
  return (
    <Modal title="Channel settings" onClose={onClose}>
      <div className="tabs" role="tablist" aria-label="Channel settings">
        <button role="tab" aria-selected={tab === 'general'} className={`tab${tab === 'general' ? ' active' : ''}`} onClick={() => setTab('general')}>General</button>
        <button role="tab" aria-selected={tab === 'members'} className={`tab${tab === 'members' ? ' active' : ''}`} onClick={() => setTab('members')}>Members</button>
      </div>
      {tab === 'general' ? <GeneralTab channel={channel} /> : <MembersTab channel={channel} onLeft={onClose} />}
    </Modal>
  );
}

function GeneralTab({ channel }: { channel: Channel }) {
  const perms = usePermissions();
  const canEdit = canChannel(perms, 'manage_channel_properties', channel.id);
  const canArchive = canTeam(perms, 'archive_channel');
  const [displayName, setDisplayName] = useState(channel.display_name);
  const [topic, setTopic] = useState(channel.topic ?? '');
  const [purpose, setPurpose] = useState(channel.purpose ?? '');
  const [readOnly, setReadOnly] = useState(!!channel.read_only);
  const [error, setError] = useState<unknown>(null);
  const [saved, setSaved] = useState(false);
  const [busy, setBusy] = useState(false);
  const archived = !!channel.archived_at;

  async function save(e: FormEvent) {
    e.preventDefault();
    const body: { display_name?: string; topic?: string; purpose?: string; read_only?: boolean } = {};
    if (displayName.trim() !== channel.display_name) body.display_name = displayName.trim();
    if (topic !== (channel.topic ?? '')) body.topic = topic;
    if (purpose !== (channel.purpose ?? '')) body.purpose = purpose;
    if (readOnly !== !!channel.read_only) body.read_only = readOnly;
    setError(null);
    setSaved(false);
    if (Object.keys(body).length === 0) return setSaved(true);
    setBusy(true);
    try {
      useChat.getState().updateChannel(await api.updateChannel(channel.id, body));
      setSaved(true);
    } catch (err) {
      setError(channelErrorText(err));
    } finally {
      setBusy(false);
    }
  }

  async function toggleArchive() {
    setError(null);
    setSaved(false);
    setBusy(true);
    try {
      const c = await api.archiveChannel(channel.id, !archived);
      useChat.getState().updateChannel({ ...c, archived_at: c.archived_at ?? null });
    } catch (err) {
      setError(channelErrorText(err));
    } finally {
      setBusy(false);
    }
  }

  return (
    <>
      <form onSubmit={(e) => void save(e)} aria-label="Channel properties">
        {!canEdit && <p className="muted small">Only members allowed to manage this channel's properties can change them.</p>}
        <label>
          Display name
          <input name="display_name" value={displayName} required maxLength={64} disabled={!canEdit}
            aria-invalid={!!fieldError(error, 'display_name')} onChange={(e) => setDisplayName(e.target.value)} />
        </label>
        <label>
          Topic
          <input name="topic" value={topic} maxLength={250} disabled={!canEdit}
            aria-invalid={!!fieldError(error, 'topic')} onChange={(e) => setTopic(e.target.value)} />
        </label>
        <label>
          Purpose
          <textarea name="purpose" value={purpose} maxLength={250} rows={2} disabled={!canEdit}
            aria-invalid={!!fieldError(error, 'purpose')} onChange={(e) => setPurpose(e.target.value)} />
        </label>
        <label className="check-row">
          <input type="checkbox" name="read_only" checked={readOnly} disabled={!canEdit} onChange={(e) => setReadOnly(e.target.checked)} />
          Read-only: only members allowed to post in read-only channels may post
        </label>
        <FormError error={error} />
        {saved && <div className="notice" role="status">Saved.</div>}
        {canEdit && (
          <div className="modal-actions">
            <button type="submit" className="btn primary" disabled={busy || archived}>Save</button>
          </div>
        )}
      </form>
      {canArchive && channel.name !== DEFAULT_CHANNEL && (
        <div className="danger-zone">
          <div className="grow">
            <strong>{archived ? 'Archived' : 'Archive'}</strong>
            <div className="muted small">
              {archived ? 'Its messages stay readable; nobody can post. Unarchive to open it again.' : 'Its messages stay readable; nobody can post any more.'}
            </div>
          </div>
          <button className="btn small" onClick={() => void toggleArchive()} disabled={busy}>
            {archived ? 'Unarchive channel' : 'Archive channel'}
          </button>
        </div>
      )}
    </>
  );
}

function MembersTab({ channel, onLeft }: { channel: Channel; onLeft: () => void }) {
  const perms = usePermissions();
  const canManage = canChannel(perms, 'manage_channel_members', channel.id);
  const me = useAuth((s) => s.user?.id);
  const users = useChat((s) => s.users);
  const presence = usePresence();
  const nav = useNavigate();
  const [members, setMembers] = useState<ChannelMember[] | null>(null);
  // roles the server answered to a change (the member list may not carry them)
  const [roles, setRoles] = useState<Record<string, ChannelRole>>({});
  const [error, setError] = useState<unknown>(null);
  const [adding, setAdding] = useState('');
  const [busy, setBusy] = useState(false);
  const [reload, setReload] = useState(0);

  useEffect(() => {
    let live = true;
    api.channelMembers(channel.id).then(
      (m) => {
        if (!live) return;
        setMembers(m);
        useChat.getState().setUsers(m);
      },
      (e) => live && setError(e),
    );
    return () => {
      live = false;
    };
  }, [channel.id, reload]);

  useEffect(
    () =>
      presence.onEvent((ev) => {
        if (
          (ev.type === 'channel_member_removed' && key(ev.channel_id) === key(channel.id)) ||
          (ev.type === 'channel_member_added' && key(ev.channel.id) === key(channel.id))
        )
          setReload((n) => n + 1);
      }),
    [presence, channel.id],
  );

  async function run(f: () => Promise<void>) {
    setBusy(true);
    setError(null);
    try {
      await f();
    } catch (e) {
      setError(channelErrorText(e));
    } finally {
      setBusy(false);
    }
  }

  const setRole = (userId: Id, role: ChannelRole) =>
    run(async () => {
      const m = await api.setChannelRole(channel.id, userId, role);
      setRoles((r) => ({ ...r, [key(userId)]: m.channel_role ?? role }));
    });
  const remove = (userId: Id) =>
    run(async () => {
      await api.removeChannelMember(channel.id, userId);
      setMembers((ms) => (ms ?? []).filter((m) => key(m.id) !== key(userId)));
    });
  const add = () =>
    run(async () => {
      if (!adding) return;
      await api.addChannelMember(channel.id, adding);
      setAdding('');
      setReload((n) => n + 1);
    });
  const leave = () =>
    run(async () => {
      const st = useChat.getState();
      // the removal that follows (4403, channel_member_removed) is the user's own doing: not shown as "removed"
      st.setLeaving(channel.id, true);
      try {
        await api.removeChannelMember(channel.id, me ?? '');
      } catch (e) {
        st.setLeaving(channel.id, false);
        throw e;
      }
      const home = st.channels.find((c) => c.name === DEFAULT_CHANNEL && key(c.id) !== key(channel.id));
      onLeft();
      nav(home ? `/c/${encodeURIComponent(String(home.id))}` : '/', { replace: true });
      if (me != null) useChat.getState().memberRemoved(channel.id, me, me);
    });

  const inChannel = new Set((members ?? []).map((m) => key(m.id)));
  const candidates = Object.values(users)
    .filter((u) => !inChannel.has(key(u.id)) && !u.deactivated)
    .sort((a, b) => a.username.localeCompare(b.username));

  return (
    <div className="members-tab">
      <FormError error={error} />
      {members === null && !error && <p className="muted">Loading…</p>}
      <ul className="role-list" aria-label="Channel members">
        {(members ?? []).map((m) => {
          const role = roles[key(m.id)] ?? m.channel_role;
          const self = key(m.id) === key(me);
          return (
            <li key={key(m.id)} data-username={m.username}>
              <span className="grow">
                {m.display_name || m.username} <span className="muted small">@{m.username}</span>
              </span>
              {canManage ? (
                <select aria-label={`Channel role of ${m.username}`} value={role ?? ''} disabled={busy}
                  onChange={(e) => void setRole(m.id, e.target.value as ChannelRole)}>
                  {!role && <option value="" disabled>Role…</option>}
                  <option value="channel_user">Member</option>
                  <option value="channel_admin">Channel admin</option>
                </select>
              ) : (
                <span className="muted small" data-role={role ?? ''}>{role === 'channel_admin' ? 'Channel admin' : role ? 'Member' : ''}</span>
              )}
              {canManage && !self && channel.name !== DEFAULT_CHANNEL && (
                <button className="btn small" disabled={busy} onClick={() => void remove(m.id)} aria-label={`Remove ${m.username}`}>Remove</button>
              )}
            </li>
          );
        })}
      </ul>
      {canManage && !channel.archived_at && (
        <div className="inline-form">
          <label className="grow">
            Add a member
            <select value={adding} onChange={(e) => setAdding(e.target.value)}>
              <option value="">Choose a teammate…</option>
              {candidates.map((u) => (
                <option key={key(u.id)} value={String(u.id)}>{u.display_name || u.username} (@{u.username})</option>
              ))}
            </select>
          </label>
          <button className="btn" disabled={busy || !adding} onClick={() => void add()}>Add</button>
        </div>
      )}
      {channel.name !== DEFAULT_CHANNEL && (
        <div className="danger-zone">
          <span className="grow muted small">Leave this channel: you stop receiving its messages.</span>
          <button className="btn small" disabled={busy} onClick={() => void leave()}>Leave channel</button>
        </div>
      )}
    </div>
  );
}
