/**
 * The workspace's live state from the presence socket: channels created, joined, changed, archived and left,
 * the user's permissions, and the loss of its team. `applyPresenceEvent` applies one event to the stores and
 * says what the caller still has to do (refetch, navigate); `refreshPermissions` keeps the permissions slice
 * current (the latest request wins, so an older answer never overwrites a newer one).
 */
import { api, ApiError, errorText } from './api';
import type { PresenceEvent } from './realtime/usePresence';
import { useAuth, useChat, usePermissions } from './store';
import type { Id } from './types';
import { key } from './types';

/** What is left to the caller after an event. */
export type WorkspaceEffect =
  | 'none'
  /** the user's permissions changed: ask the server again */
  | 'permissions'
  /** events may have been missed (a presence reconnect): refetch the channels, browse and permissions */
  | 'refetch'
  /** the user is no longer in its team: onboarding */
  | 'team_removed';

export function applyPresenceEvent(ev: PresenceEvent): WorkspaceEffect {
  const chat = useChat.getState();
  const me = useAuth.getState().user?.id;
  switch (ev.type) {
    case 'hello':
      return ev.reconnected ? 'refetch' : 'none';
    case 'channel_created':
      chat.channelCreated(ev.channel, me);
      return 'none';
    case 'channel_member_added': {
      if (ev.user_id === undefined || key(ev.user_id) === key(me)) chat.upsertChannel(ev.channel);
      else chat.updateChannel(ev.channel);
      // the members known for mention suggestions follow (a list not loaded yet is loaded whole when wanted)
      const held = chat.channelMembers[key(ev.channel.id)];
      if (held && ev.user_id !== undefined) chat.setChannelMembers(ev.channel.id, [...held, ev.user_id]);
      return 'none';
    }
    case 'channel_updated':
      chat.updateChannel(ev.channel);
      return 'none';
    case 'channel_archived': {
      const at = new Date().toISOString();
      if (ev.channel) chat.updateChannel({ ...ev.channel, archived_at: ev.channel.archived_at ?? at });
      else chat.markArchived(ev.channel_id, at);
      return 'none';
    }
    case 'channel_member_removed': {
      chat.memberRemoved(ev.channel_id, ev.user_id, me);
      const held = chat.channelMembers[key(ev.channel_id)];
      if (held) chat.setChannelMembers(ev.channel_id, held.filter((u) => u !== key(ev.user_id)));
      return 'none';
    }
    case 'permissions_changed':
      return 'permissions';
    case 'team_removed': {
      const team = useAuth.getState().team;
      useAuth
        .getState()
        .leftTeam(`You were removed from the team${team ? ` ${team.display_name}` : ''}. Create a team or join one with an invite.`);
      return 'team_removed';
    }
    case 'user_updated': {
      chat.setUsers([ev.user]);
      const auth = useAuth.getState();
      if (auth.user && key(auth.user.id) === key(ev.user.id)) auth.setUser({ ...auth.user, ...ev.user });
      return 'none';
    }
    default:
      return 'none';
  }
}

let generation = 0;

/**
 * Asks the server for the user's permissions (in `channelId`, when one is open) and stores the answer, unless a
 * newer request was made meanwhile. A channel the user may no longer see (404) falls back to the team's.
 */
export async function refreshPermissions(channelId: Id | null | undefined): Promise<void> {
  const mine = ++generation;
  const st = usePermissions.getState();
  try {
    let ch = channelId ?? null;
    let p;
    try {
      p = await api.myPermissions(ch);
    } catch (e) {
      if (!(ch !== null && e instanceof ApiError && e.status === 404)) throw e;
      ch = null;
      p = await api.myPermissions(null);
    }
    if (mine === generation) st.set(p, ch);
  } catch (e) {
    if (mine !== generation) return;
    console.warn('[permissions]', 'fetch_failed', e);
    st.setError(`Could not load your permissions: ${errorText(e)}`);
  }
}

/** Refetches what presence events keep current: the user's channels and the ones it can browse. */
export async function refetchChannels(): Promise<void> {
  const [mine, browse] = await Promise.allSettled([api.channels(), api.browseChannels()]);
  // each answer is used on its own: a failing browse does not hide the user's channels
  if (mine.status === 'fulfilled') useChat.getState().setChannels(mine.value);
  if (browse.status === 'fulfilled') useChat.getState().setBrowse(browse.value);
  if (mine.status === 'rejected') throw mine.reason;
  if (browse.status === 'rejected') throw browse.reason;
}
