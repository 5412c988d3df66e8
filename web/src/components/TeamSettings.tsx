import { useCallback, useEffect, useState, type FormEvent } from 'react';
import { useNavigate } from 'react-router-dom';
import { api, ApiError } from '../api';
import { canTeam, useAuth, useChat, usePermissions } from '../store';
import type { AuditEntry, Id, Invite, Permission, Scheme, SchemeRole, TeamRole, User } from '../types';
import { CHANNEL_SCOPED, key, PERMISSIONS, SCHEME_ROLES } from '../types';
import { FormError } from './FormError';

type Tab = 'members' | 'invites' | 'scheme' | 'audit';

const TAB_LABEL: Record<Tab, string> = { members: 'Members', invites: 'Invites', scheme: 'Permissions', audit: 'Audit log' };

/** Which permission opens which tab. */
const TAB_PERMS: Record<Tab, Permission[]> = {
  members: ['manage_team_roles', 'remove_team_member'],
  invites: ['invite_user'],
  scheme: ['manage_team_roles'],
  audit: ['view_audit_log'],
};

/** The contract's refusals of this screen, said plainly (a 409 `last_admin` above all). */
function teamErrorText(e: unknown): unknown {
  if (!(e instanceof ApiError)) return e;
  if (e.code === 'last_admin') return 'This is the team’s last admin: make someone else a team admin first.';
  if (e.code === 'invite_not_found') return 'That invite no longer exists.';
  if (e.status === 403) return `You are not allowed to do that (${e.message || e.code}).`;
  return e;
}

export function TeamSettings({ onToggleSidebar }: { onToggleSidebar: () => void }) {
  const perms = usePermissions();
  const team = useAuth((s) => s.team);
  const teamId = useAuth((s) => s.user?.team_id);
  const tabs = (Object.keys(TAB_PERMS) as Tab[]).filter((t) => TAB_PERMS[t].some((p) => canTeam(perms, p)));
  const [chosen, setChosen] = useState<Tab | null>(null);
  const tab = chosen && tabs.includes(chosen) ? chosen : tabs[0];

  return (
    <section className="settings-view" aria-label="Team settings">
      <header className="channel-head">
        <button className="icon-btn only-narrow" aria-label="Show channels" onClick={onToggleSidebar}>☰</button>
        <h1 className="channel-title">Team settings{team ? ` — ${team.display_name}` : ''}</h1>
      </header>
      {!perms.loaded ? (
        <div className="center-page muted">Loading…</div>
      ) : tabs.length === 0 || teamId == null ? (
        <div className="center-page muted" role="status">You do not have permission to manage this team.</div>
      ) : (
        <>
          <div className="tabs" role="tablist" aria-label="Team settings">
            {tabs.map((t) => (
              <button key={t} role="tab" aria-selected={t === tab} className={`tab${t === tab ? ' active' : ''}`} onClick={() => setChosen(t)}>
                {TAB_LABEL[t]}
              </button>
            ))}
          </div>
          <div className="settings-body" role="tabpanel" aria-label={TAB_LABEL[tab]}>
            {tab === 'members' && <MembersTab teamId={teamId} />}
            {tab === 'invites' && <InvitesTab teamId={teamId} />}
            {tab === 'scheme' && <SchemeTab teamId={teamId} />}
            {tab === 'audit' && <AuditTab teamId={teamId} />}
          </div>
        </>
      )}
    </section>
  );
}

const isTeamAdmin = (u: User) => u.roles.includes('team_admin');

function MembersTab({ teamId }: { teamId: Id }) {
  const perms = usePermissions();
  const me = useAuth((s) => s.user?.id);
  const nav = useNavigate();
  const canRoles = canTeam(perms, 'manage_team_roles');
  const canRemove = canTeam(perms, 'remove_team_member');
  const [members, setMembers] = useState<User[] | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState<string | null>(null);

  const load = useCallback(
    () =>
      api.teamMembers(teamId).then(
        (m) => {
          setMembers(m);
          useChat.getState().setUsers(m);
        },
        (e) => setError(teamErrorText(e)),
      ),
    [teamId],
  );
  useEffect(() => {
    void load();
  }, [load]);

  async function act(u: User, f: () => Promise<void>) {
    setBusy(key(u.id));
    setError(null);
    try {
      await f();
    } catch (e) {
      setError(teamErrorText(e));
    } finally {
      setBusy(null);
    }
  }
  const setRole = (u: User, role: TeamRole) =>
    act(u, async () => {
      const updated = await api.setTeamRole(teamId, u.id, role);
      setMembers((ms) => (ms ?? []).map((m) => (key(m.id) === key(u.id) ? { ...m, ...updated } : m)));
    });
  const remove = (u: User) =>
    act(u, async () => {
      if (!window.confirm(`Remove ${u.display_name || u.username} from the team? They lose every channel of it.`)) return;
      await api.removeTeamMember(teamId, u.id);
      setMembers((ms) => (ms ?? []).filter((m) => key(m.id) !== key(u.id)));
      // removing oneself is leaving: the `team_removed` event takes the user to onboarding as well
      if (key(u.id) === key(me)) nav('/onboarding', { replace: true });
    });

  return (
    <div>
      <FormError error={error} />
      {members === null && !error && <p className="muted">Loading…</p>}
      <table className="settings-table" aria-label="Team members">
        <thead>
          <tr><th>Member</th><th>Role</th><th aria-label="Actions" /></tr>
        </thead>
        <tbody>
          {(members ?? []).map((u) => {
            const admin = isTeamAdmin(u);
            return (
              <tr key={key(u.id)} data-username={u.username}>
                <td>
                  {u.display_name || u.username} <span className="muted small">@{u.username}</span>
                  {key(u.id) === key(me) && <span className="muted small"> (you)</span>}
                  {u.deactivated && <span className="muted small"> (deactivated)</span>}
                </td>
                <td data-role={admin ? 'team_admin' : 'team_user'}>{admin ? 'Team admin' : 'Member'}</td>
                <td>
                  <div className="row-actions">
                    {canRoles &&
                      (admin ? (
                        <button className="btn small" disabled={busy !== null} onClick={() => void setRole(u, 'team_user')}
                          aria-label={`Demote ${u.username}`}>Make member</button>
                      ) : (
                        <button className="btn small" disabled={busy !== null} onClick={() => void setRole(u, 'team_admin')}
                          aria-label={`Promote ${u.username}`}>Make admin</button>
                      ))}
                    {canRemove && (
                      <button className="btn small" disabled={busy !== null} onClick={() => void remove(u)}
                        aria-label={key(u.id) === key(me) ? 'Leave the team' : `Remove ${u.username}`}>
                        {key(u.id) === key(me) ? 'Leave team' : 'Remove'}
                      </button>
                    )}
                  </div>
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}

const EXPIRY: { label: string; secs: number }[] = [
  { label: '1 hour', secs: 3600 },
  { label: '1 day', secs: 86400 },
  { label: '7 days', secs: 7 * 86400 },
  { label: '30 days', secs: 30 * 86400 },
];

const inviteLink = (i: Invite) => `${window.location.origin}/join/${encodeURIComponent(i.invite_token)}`;

function InvitesTab({ teamId }: { teamId: Id }) {
  const [invites, setInvites] = useState<Invite[] | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [maxUses, setMaxUses] = useState('');
  const [expiry, setExpiry] = useState(String(7 * 86400));
  const [busy, setBusy] = useState(false);
  const [copied, setCopied] = useState<string | null>(null);

  useEffect(() => {
    let live = true;
    api.invites(teamId).then(
      (l) => live && setInvites(l),
      (e) => live && setError(teamErrorText(e)),
    );
    return () => {
      live = false;
    };
  }, [teamId]);

  async function create(e: FormEvent) {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const body: { max_uses?: number; expires_in_secs: number } = { expires_in_secs: Number(expiry) };
      if (maxUses.trim()) body.max_uses = Number(maxUses);
      const inv = await api.createInvite(teamId, body);
      setInvites((l) => [inv, ...(l ?? [])]);
      setMaxUses('');
    } catch (err) {
      setError(teamErrorText(err));
    } finally {
      setBusy(false);
    }
  }

  async function revoke(i: Invite) {
    setError(null);
    try {
      await api.revokeInvite(teamId, i.id);
      setInvites((l) => (l ?? []).filter((x) => key(x.id) !== key(i.id)));
    } catch (err) {
      setError(teamErrorText(err));
    }
  }

  async function copy(i: Invite) {
    try {
      await navigator.clipboard.writeText(inviteLink(i));
      setCopied(key(i.id));
    } catch (err) {
      console.warn('[invite]', 'clipboard_unavailable', err);
      setError(`Copy failed; the link is ${inviteLink(i)}`);
    }
  }

  return (
    <div>
      <form className="inline-form wrap" onSubmit={(e) => void create(e)} aria-label="Create invite">
        <label>
          Max uses
          <input type="number" min={1} max={10000} value={maxUses} placeholder="unlimited" onChange={(e) => setMaxUses(e.target.value)} />
        </label>
        <label>
          Expires after
          <select value={expiry} onChange={(e) => setExpiry(e.target.value)}>
            {EXPIRY.map((x) => <option key={x.secs} value={x.secs}>{x.label}</option>)}
          </select>
        </label>
        <button className="btn primary" type="submit" disabled={busy}>{busy ? 'Creating…' : 'Create invite'}</button>
      </form>
      <FormError error={error} />
      {invites === null && !error && <p className="muted">Loading…</p>}
      {invites !== null && invites.length === 0 && <p className="muted">No usable invites.</p>}
      <table className="settings-table" aria-label="Invites">
        <thead>
          <tr><th>Link</th><th>Uses</th><th>Expires</th><th aria-label="Actions" /></tr>
        </thead>
        <tbody>
          {(invites ?? []).map((i) => (
            <tr key={key(i.id)} data-invite-id={String(i.id)}>
              <td><input readOnly className="link-input" value={inviteLink(i)} aria-label="Invite link" onFocus={(e) => e.target.select()} /></td>
              <td data-uses={i.uses}>{i.uses}{i.max_uses != null ? ` / ${i.max_uses}` : ''}</td>
              <td>{new Date(i.expires_at).toLocaleString()}</td>
              <td>
                <div className="row-actions">
                  <button className="btn small" onClick={() => void copy(i)}>{copied === key(i.id) ? 'Copied' : 'Copy link'}</button>
                  <button className="btn small" onClick={() => void revoke(i)}>Revoke</button>
                </div>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

const ROLE_LABEL: Record<SchemeRole, string> = {
  team_user: 'Team member',
  team_admin: 'Team admin',
  channel_user: 'Channel member',
  channel_admin: 'Channel admin',
};
const isChannelRole = (r: SchemeRole) => r.startsWith('channel_');

/** Whether the scheme's cell can be granted: channel roles hold only the channel-scoped permissions. */
export const schemeCellAllowed = (role: SchemeRole, perm: Permission): boolean =>
  !isChannelRole(role) || CHANNEL_SCOPED.includes(perm);

/** The scheme with `perm` granted to or taken from `role` (in the contract's order). */
export function toggleScheme(s: Scheme, role: SchemeRole, perm: Permission, on: boolean): Scheme {
  const cur = new Set(s.roles[role] ?? []);
  if (on && schemeCellAllowed(role, perm)) cur.add(perm);
  else cur.delete(perm);
  return { roles: { ...s.roles, [role]: PERMISSIONS.filter((p) => cur.has(p)) } };
}

function SchemeTab({ teamId }: { teamId: Id }) {
  // auth-svc lets a team_admin or system_admin change the scheme (a role, not a permission): the user's
  // current roles are read from the server, not from the session
  const [editor, setEditor] = useState(false);
  const canEdit = editor;
  const [saved, setSaved] = useState<Scheme | null>(null);
  const [draft, setDraft] = useState<Scheme | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const [done, setDone] = useState(false);

  useEffect(() => {
    let live = true;
    api.me().then(
      (u) => live && setEditor(u.roles.includes('team_admin') || u.roles.includes('system_admin')),
      (e) => live && setError(teamErrorText(e)),
    );
    return () => {
      live = false;
    };
  }, []);

  useEffect(() => {
    let live = true;
    api.scheme(teamId).then(
      (s) => {
        if (!live) return;
        setSaved(s);
        setDraft(s);
      },
      (e) => live && setError(teamErrorText(e)),
    );
    return () => {
      live = false;
    };
  }, [teamId]);

  async function save() {
    if (!draft) return;
    setBusy(true);
    setError(null);
    setDone(false);
    try {
      const s = await api.putScheme(teamId, draft);
      setSaved(s);
      setDraft(s);
      setDone(true);
    } catch (e) {
      setError(teamErrorText(e));
    } finally {
      setBusy(false);
    }
  }

  const dirty = JSON.stringify(saved) !== JSON.stringify(draft);
  return (
    <div>
      <p className="muted small">
        {!canEdit && 'Only team admins may change the scheme. '}
        What each role may do in this team. Channel roles hold only the channel-scoped permissions; a team admin's
        permissions apply in every channel.
      </p>
      <FormError error={error} />
      {draft === null && !error && <p className="muted">Loading…</p>}
      {draft && (
        <>
          <table className="settings-table scheme-table" aria-label="Permission scheme">
            <thead>
              <tr>
                <th>Permission</th>
                {SCHEME_ROLES.map((r) => <th key={r}>{ROLE_LABEL[r]}</th>)}
              </tr>
            </thead>
            <tbody>
              {PERMISSIONS.map((p) => (
                <tr key={p}>
                  <td><code>{p}</code></td>
                  {SCHEME_ROLES.map((r) => (
                    <td key={r} className="center">
                      {schemeCellAllowed(r, p) ? (
                        <input type="checkbox" aria-label={`${ROLE_LABEL[r]}: ${p}`} disabled={!canEdit || busy}
                          checked={(draft.roles[r] ?? []).includes(p)}
                          onChange={(e) => {
                            setDone(false);
                            setDraft(toggleScheme(draft, r, p, e.target.checked));
                          }} />
                      ) : (
                        <span className="muted" aria-label="not for channel roles">—</span>
                      )}
                    </td>
                  ))}
                </tr>
              ))}
            </tbody>
          </table>
          {done && <div className="notice" role="status">Saved. Members' permissions follow within seconds.</div>}
          {canEdit && (
            <div className="modal-actions">
              <button className="btn" disabled={!dirty || busy} onClick={() => setDraft(saved)}>Discard</button>
              <button className="btn primary" disabled={!dirty || busy} onClick={() => void save()}>{busy ? 'Saving…' : 'Save scheme'}</button>
            </div>
          )}
        </>
      )}
    </div>
  );
}

const ACTION_LABEL: Record<string, string> = {
  team_role_changed: 'changed a team role',
  team_member_removed: 'removed a team member',
  channel_role_changed: 'changed a channel role',
  channel_member_removed: 'removed a channel member',
  channel_created: 'created a channel',
  channel_updated: 'updated a channel',
  channel_archived: 'archived a channel',
  channel_unarchived: 'unarchived a channel',
  invite_created: 'created an invite',
  invite_revoked: 'revoked an invite',
  user_deactivated: 'deactivated a user',
  user_activated: 'activated a user',
  scheme_updated: 'updated the permission scheme',
};

function AuditTab({ teamId }: { teamId: Id }) {
  const users = useChat((s) => s.users);
  const channels = useChat((s) => s.channels);
  const [entries, setEntries] = useState<AuditEntry[]>([]);
  const [hasMore, setHasMore] = useState(false);
  const [loading, setLoading] = useState(true);
  const [error, setError] = useState<unknown>(null);

  // one page older than `before` (the newest without it), appended; entries never repeat
  const fetchPage = useCallback(
    (before?: Id) =>
      api.audit(teamId, { before, limit: 50 }).then(
        (page) => {
          setEntries((cur) => {
            const kept = before === undefined ? [] : cur;
            const seen = new Set(kept.map((x) => key(x.id)));
            return [...kept, ...page.entries.filter((x) => !seen.has(key(x.id)))];
          });
          setHasMore(page.has_more);
          setError(null);
          setLoading(false);
        },
        (e) => {
          setError(teamErrorText(e));
          setLoading(false);
        },
      ),
    [teamId],
  );
  useEffect(() => {
    void fetchPage();
  }, [fetchPage]);
  const loadMore = () => {
    setLoading(true);
    void fetchPage(entries[entries.length - 1]?.id);
  };

  const who = (id: Id) => {
    const u = users[key(id)];
    return u ? u.display_name || u.username : String(id);
  };
  const target = (e: AuditEntry) => {
    if (e.target_type === 'user') return who(e.target_id);
    if (e.target_type === 'channel') {
      const c = channels.find((x) => key(x.id) === e.target_id);
      return c ? `#${c.name}` : `channel ${e.target_id}`;
    }
    return `${e.target_type} ${e.target_id}`;
  };

  return (
    <div>
      <FormError error={error} />
      <table className="settings-table" aria-label="Audit log">
        <thead>
          <tr><th>When</th><th>Who</th><th>What</th><th>Target</th><th>Details</th></tr>
        </thead>
        <tbody>
          {entries.map((e) => (
            <tr key={key(e.id)} data-action={e.action}>
              <td className="nowrap">{new Date(e.at).toLocaleString()}</td>
              <td>{who(e.actor_id)}</td>
              <td>{ACTION_LABEL[e.action] ?? e.action}</td>
              <td>{target(e)}</td>
              <td><code className="small">{details(e.details)}</code></td>
            </tr>
          ))}
        </tbody>
      </table>
      {!loading && entries.length === 0 && !error && <p className="muted">Nothing recorded yet.</p>}
      {loading && <p className="muted">Loading…</p>}
      {hasMore && !loading && (
        <button className="btn small" onClick={loadMore}>Load more</button>
      )}
    </div>
  );
}

function details(d: unknown): string {
  if (d == null) return '';
  if (typeof d === 'object' && Object.keys(d).length === 0) return '';
  return JSON.stringify(d);
}
