import { create } from 'zustand';
import { persist } from 'zustand/middleware';
import type { BrowseChannel, Channel, Id, Message, MyPermissions, Permission, PresenceStatus, ReadState, Team, User } from './types';
import { isReply, key } from './types';

// ---------------------------------------------------------------- auth
interface AuthState {
  token: string | null;
  user: User | null;
  team: Team | null;
  /** a message shown on the login screen after a forced logout */
  notice: string | null;
  /** a message shown on the onboarding screen after the user was removed from its team */
  teamNotice: string | null;
  setSession: (token: string, user: User, team?: Team | null) => void;
  setUser: (user: User) => void;
  setTeam: (team: Team | null) => void;
  /** clears the session locally (no request); sockets close because the token goes away */
  logoutLocal: (notice?: string) => void;
  clearNotice: () => void;
  /** the user is no longer in its team (`team_removed`): onboarding again, with a message saying why */
  leftTeam: (notice: string) => void;
  clearTeamNotice: () => void;
}

export const useAuth = create<AuthState>()(
  persist(
    (set) => ({
      token: null,
      user: null,
      team: null,
      notice: null,
      teamNotice: null,
      setSession: (token, user, team) =>
        set((s) => ({ token, user, team: team === undefined ? s.team : team, notice: null, teamNotice: null })),
      setUser: (user) => set({ user }),
      setTeam: (team) => set({ team }),
      logoutLocal: (notice) => {
        set({ token: null, user: null, team: null, notice: notice ?? null, teamNotice: null });
        useChat.getState().reset();
        usePermissions.getState().reset();
      },
      clearNotice: () => set({ notice: null }),
      leftTeam: (notice) => {
        set((s) => ({
          user: s.user ? { ...s.user, team_id: null, roles: s.user.roles.filter((r) => !r.startsWith('team_')) } : null,
          team: null,
          teamNotice: notice,
        }));
        useChat.getState().reset();
        usePermissions.getState().reset();
      },
      clearTeamNotice: () => set({ teamNotice: null }),
    }),
    { name: 'majlis.auth', partialize: (s) => ({ token: s.token, user: s.user, team: s.team }) },
  ),
);

// ---------------------------------------------------------------- chat
export interface PendingMessage {
  client_id: string;
  channel_id: Id;
  content: string;
  status: 'pending' | 'failed';
  created_at: string;
  error?: string;
  /** a reply in the thread of this root */
  root_id?: Id | null;
}

/** A thread as the pane holds it: its root and its replies (oldest first, unique by seq). */
export interface ThreadState {
  channel_id: Id;
  root: Message;
  replies: Message[];
  /** more replies after the last held (`GET /api/messages/{root}/thread?after_seq=`) */
  hasMore: boolean;
}

/** The open thread pane: which root, in which channel. */
export interface ThreadPane {
  channel: string;
  root: string;
}

/** A channel the user was removed from while it was open: what the "removed" screen names. */
export interface RemovedChannel {
  name: string;
  display_name: string;
}

interface ChatState {
  /** the channels the user is a member of (`GET /api/channels`) */
  channels: Channel[];
  /** public channels of the team the user is not in (`GET /api/channels/browse`, `channel_created`) */
  browse: BrowseChannel[];
  /** channels the user was removed from (by someone else), by key: the open one shows why */
  removed: Record<string, RemovedChannel>;
  /** channels the user is leaving itself: their removal is expected, not shown as one */
  leaving: Record<string, true>;
  /** top-level messages per channel key, ascending by seq, unique by seq (replies go to `threads`) */
  messages: Record<string, Message[]>;
  hasMore: Record<string, boolean>;
  /** highest seq seen per channel */
  lastSeq: Record<string, number>;
  /** optimistic sends per channel key, keyed by client_id */
  pending: Record<string, Record<string, PendingMessage>>;
  /** typing users per channel key: user key -> expiry (ms epoch) */
  typing: Record<string, Record<string, number>>;
  presence: Record<string, PresenceStatus>;
  users: Record<string, User>;
  /** the members of each direct or group channel (user keys, the user included), by channel key: they never change */
  directMembers: Record<string, string[]>;
  /** the members of channels, as last loaded (user keys), by channel key: what mention suggestions offer */
  channelMembers: Record<string, string[]>;
  /** the threads loaded (by root key): live replies join them */
  threads: Record<string, ThreadState>;
  /** the open thread pane, if any */
  threadPane: ThreadPane | null;

  setChannels: (c: Channel[]) => void;
  /** a channel the user is a member of (created, joined, added to) */
  upsertChannel: (c: Channel) => void;
  setBrowse: (c: BrowseChannel[]) => void;
  /** `channel_created`: the user's own (it created it, or it is private, direct or group: only members hear of it) or one to browse */
  channelCreated: (c: Channel, me: Id | null | undefined) => void;
  /** `channel_updated` / `channel_archived`: new properties, wherever the channel is listed */
  updateChannel: (c: Channel) => void;
  /** `channel_archived` without the channel object */
  markArchived: (channelId: Id, at: string) => void;
  /** the user left or lost a channel: it is no longer its own; a public one can be browsed (and joined) again */
  memberRemoved: (channelId: Id, userId: Id, me: Id | null | undefined) => void;
  /** the chat socket of the open channel closed with 4403: the user is no longer allowed in it */
  chatForbidden: (channelId: Id) => void;
  setLeaving: (channelId: Id, leaving: boolean) => void;
  clearRemoved: (channelId: Id) => void;
  /**
   * Merges messages (dedupe by seq); returns the ones that were new. Replies count for the channel's seq but
   * stay out of its list: they join their root's thread when it is loaded.
   */
  addMessages: (channelId: Id, msgs: Message[], hasMore?: boolean) => Message[];
  /** forgets the messages below `seq` (a replay that skipped past them); older ones can be loaded again */
  dropBefore: (channelId: Id, seq: number) => void;
  applyReaction: (channelId: Id, messageId: Id, userId: Id, emoji: string, add: boolean) => void;
  /** `message_edited` (or the answer to our own edit): the held message with that id takes the new state */
  messageEdited: (channelId: Id, msg: Message) => void;
  /** `message_deleted` (or our own deletion): the held message becomes a tombstone */
  messageDeleted: (channelId: Id, messageId: Id) => void;
  /**
   * The current state of messages already held, from history (after a reconnect: edits and deletions are not
   * replayed). Only held seqs are replaced; nothing is added, so no gap opens in what is shown.
   */
  refreshMessages: (channelId: Id, msgs: Message[]) => void;
  /** the thread endpoint's answer: the root's current state and a page of replies (merged by seq) */
  setThread: (channelId: Id, root: Message, replies: Message[], hasMore: boolean) => void;
  /** `thread_updated`: the root's reply count and last reply time, wherever it is held */
  threadUpdated: (channelId: Id, rootId: Id, replyCount: number, lastReplyAt: string | null) => void;
  openThread: (channelId: Id, rootId: Id) => void;
  closeThread: () => void;
  addPending: (p: PendingMessage) => void;
  setPendingStatus: (channelId: Id, clientId: string, status: 'pending' | 'failed', error?: string) => void;
  removePending: (channelId: Id, clientId: string) => void;
  setTyping: (channelId: Id, userId: Id, typing: boolean) => void;
  setPresenceList: (list: { user_id: Id; status: PresenceStatus }[]) => void;
  setPresence: (userId: Id, status: PresenceStatus) => void;
  setUsers: (u: User[]) => void;
  setDirectMembers: (channelId: Id, userIds: Id[]) => void;
  setChannelMembers: (channelId: Id, userIds: Id[]) => void;
  /** the presence socket's `unread` frame: authoritative, it replaces the channel's read state (and raises last_seq) */
  applyUnread: (f: UnreadFrame) => void;
  /** the user read `channelId` up to `seq` (sent to the server): its counts are 0 until the server says otherwise */
  markedRead: (channelId: Id, seq: number) => void;
  reset: () => void;
}

const TYPING_TTL_MS = 6000;
const typingTimers = new Map<string, ReturnType<typeof setTimeout>>();

/** `{"type":"unread", …}` on the presence socket: the user's read state in one channel. */
export interface UnreadFrame {
  channel_id: Id;
  last_seq: number;
  last_read_seq: number;
  unread_count: number;
  mention_count: number;
}

/** The browser-side read markers of old: the server keeps the read state now, so the stale key goes. */
export const OLD_LAST_READ_KEY = 'majlis.lastRead';
export function clearOldLastRead(): void {
  try {
    if (localStorage.getItem(OLD_LAST_READ_KEY) !== null) localStorage.removeItem(OLD_LAST_READ_KEY);
  } catch (e) {
    console.warn('[store]', 'last_read_clear_failed', e);
  }
}
clearOldLastRead();

const READ_FIELDS = ['last_read_seq', 'unread_count', 'mention_count'] as const satisfies readonly (keyof ReadState)[];

/**
 * `c` merged onto the held `x`: last_seq never goes down, and the read state stays the held one when there is
 * one (it is the caller's own, kept by `unread` frames; a channel event's copy is the channel's, not the caller's).
 */
function mergeChannel<C extends Channel>(x: C, c: Channel): C {
  const out: C = { ...x, ...c, last_seq: Math.max(x.last_seq ?? 0, c.last_seq ?? 0) };
  for (const f of READ_FIELDS) if (x[f] !== undefined) out[f] = x[f];
  return out;
}

const initial = () => ({
  channels: [] as Channel[],
  browse: [] as BrowseChannel[],
  removed: {} as Record<string, RemovedChannel>,
  leaving: {} as Record<string, true>,
  messages: {},
  hasMore: {},
  lastSeq: {},
  pending: {},
  typing: {},
  presence: {},
  users: {},
  directMembers: {} as Record<string, string[]>,
  channelMembers: {} as Record<string, string[]>,
  threads: {} as Record<string, ThreadState>,
  threadPane: null as ThreadPane | null,
});

export const useChat = create<ChatState>()((set, get) => ({
  ...initial(),

  setChannels: (c) =>
    set((s) => {
      const mine = new Set(c.map((x) => key(x.id)));
      // a channel listed as the user's own is not one it was removed from (it joined again)
      const removed = Object.fromEntries(Object.entries(s.removed).filter(([k]) => !mine.has(k)));
      // the server never moves a cursor down: a list behind the held cursor was answered before a read, and its
      // read state is older than the held one
      const held = new Map(s.channels.map((x) => [key(x.id), x]));
      const channels = c.map((x) => {
        const h = held.get(key(x.id));
        if (!h || (h.last_read_seq ?? 0) <= (x.last_read_seq ?? 0)) return x;
        return { ...x, last_read_seq: h.last_read_seq, unread_count: h.unread_count, mention_count: h.mention_count };
      });
      return { channels: sortChannels(channels), browse: s.browse.filter((b) => !mine.has(key(b.id))), removed };
    }),
  upsertChannel: (c) =>
    set((s) => {
      const k = key(c.id);
      const browse = s.browse.filter((b) => key(b.id) !== k);
      const removed = { ...s.removed };
      delete removed[k];
      const i = s.channels.findIndex((x) => key(x.id) === k);
      if (i === -1) return { channels: sortChannels([...s.channels, c]), browse, removed };
      const next = s.channels.slice();
      next[i] = mergeChannel(next[i], c);
      return { channels: sortChannels(next), browse, removed };
    }),
  setBrowse: (c) =>
    set((s) => {
      const mine = new Set(s.channels.map((x) => key(x.id)));
      return { browse: sortChannels(c.filter((b) => !mine.has(key(b.id)) && !b.archived_at)) };
    }),
  channelCreated: (c, me) => {
    if (c.type !== 'public' || (me != null && key(c.creator_id) === key(me))) return get().upsertChannel(c);
    set((s) => {
      if (s.channels.some((x) => key(x.id) === key(c.id)) || s.browse.some((x) => key(x.id) === key(c.id))) return {};
      return { browse: sortChannels([...s.browse, { ...c, member_count: 1 }]) };
    });
  },
  updateChannel: (c) =>
    set((s) => {
      const k = key(c.id);
      const out: Partial<ChatState> = {};
      if (s.channels.some((x) => key(x.id) === k))
        out.channels = sortChannels(
          s.channels.map((x) => (key(x.id) === k ? mergeChannel(x, c) : x)),
        );
      if (s.browse.some((x) => key(x.id) === k))
        // browse lists no archived channel
        out.browse = sortChannels(s.browse.flatMap((x) => (key(x.id) !== k ? [x] : c.archived_at ? [] : [{ ...x, ...c }])));
      return out;
    }),
  markArchived: (channelId, at) =>
    set((s) => {
      const k = key(channelId);
      return {
        channels: s.channels.map((x) => (key(x.id) === k ? { ...x, archived_at: x.archived_at ?? at } : x)),
        browse: s.browse.filter((x) => key(x.id) !== k),
      };
    }),
  memberRemoved: (channelId, userId, me) =>
    set((s) => {
      if (me == null || key(userId) !== key(me)) return {};
      const k = key(channelId);
      const c = s.channels.find((x) => key(x.id) === k);
      const leaving = { ...s.leaving };
      const expected = !!leaving[k];
      delete leaving[k];
      if (!c) return { leaving };
      const out: Partial<ChatState> = { channels: s.channels.filter((x) => key(x.id) !== k), leaving };
      if (c.type === 'public' && !c.archived_at && !s.browse.some((x) => key(x.id) === k))
        out.browse = sortChannels([...s.browse, { ...c, member_count: 0 }]);
      if (!expected) out.removed = { ...s.removed, [k]: { name: c.name, display_name: c.display_name } };
      return out;
    }),
  chatForbidden: (channelId) => {
    const k = key(channelId);
    const s = get();
    if (s.leaving[k] || !s.channels.some((x) => key(x.id) === k)) return;
    const me = useAuth.getState().user?.id;
    if (me != null) get().memberRemoved(channelId, me, me);
  },
  setLeaving: (channelId, leaving) =>
    set((s) => {
      const l = { ...s.leaving };
      if (leaving) l[key(channelId)] = true;
      else delete l[key(channelId)];
      return { leaving: l };
    }),
  clearRemoved: (channelId) =>
    set((s) => {
      const removed = { ...s.removed };
      delete removed[key(channelId)];
      return { removed };
    }),

  addMessages: (channelId, msgs, hasMore) => {
    const k = key(channelId);
    const st = get();
    const cur = st.messages[k] ?? [];
    const seen = new Set(cur.map((m) => m.seq));
    for (const m of msgs) {
      if (!isReply(m)) continue;
      for (const r of st.threads[key(m.root_id)]?.replies ?? []) seen.add(r.seq);
    }
    const fresh = msgs.filter((m) => !seen.has(m.seq) && (seen.add(m.seq), true));
    set((s) => {
      const out: Partial<ChatState> = {};
      if (fresh.length) {
        const top = fresh.filter((m) => !isReply(m));
        const merged = top.length ? [...cur, ...top].sort((a, b) => a.seq - b.seq) : cur;
        if (top.length) out.messages = { ...s.messages, [k]: merged };
        const replies = fresh.filter(isReply);
        if (replies.length) {
          const threads = { ...s.threads };
          for (const r of replies) {
            const t = threads[key(r.root_id)];
            if (t) threads[key(r.root_id)] = { ...t, replies: mergeBySeq(t.replies, [r]) };
          }
          out.threads = threads;
        }
        const max = Math.max(...fresh.map((m) => m.seq));
        out.lastSeq = { ...s.lastSeq, [k]: Math.max(s.lastSeq[k] ?? 0, max) };
        out.channels = s.channels.map((c) =>
          key(c.id) === k && (c.last_seq ?? 0) < max ? { ...c, last_seq: max } : c,
        );
        // a stored message that carries one of our client_ids settles that optimistic send
        const pend = s.pending[k];
        if (pend) {
          const p = { ...pend };
          let changed = false;
          for (const m of fresh) {
            if (m.client_id && p[m.client_id]) {
              delete p[m.client_id];
              changed = true;
            }
          }
          if (changed) out.pending = { ...s.pending, [k]: p };
        }
      }
      else if (s.lastSeq[k] === undefined) {
        // the history is known to be loaded (maybe empty): resume from here
        out.lastSeq = { ...s.lastSeq, [k]: 0 };
      }
      if (hasMore !== undefined) out.hasMore = { ...s.hasMore, [k]: hasMore };
      return out;
    });
    return fresh;
  },

  dropBefore: (channelId, seq) =>
    set((s) => {
      const k = key(channelId);
      const list = s.messages[k] ?? [];
      return {
        messages: { ...s.messages, [k]: list.filter((m) => m.seq >= seq) },
        hasMore: { ...s.hasMore, [k]: seq > 1 },
      };
    }),

  applyReaction: (channelId, messageId, userId, emoji, add) =>
    set((s) => {
      const k = key(channelId);
      const list = s.messages[k];
      const react = (m: Message): Message => {
        if (key(m.id) !== key(messageId) || m.deleted) return m;
        const reactions = m.reactions.map((r) => ({ ...r, user_ids: r.user_ids.slice() }));
        let r = reactions.find((x) => x.emoji === emoji);
        if (add) {
          if (!r) reactions.push((r = { emoji, user_ids: [] }));
          if (!r.user_ids.some((u) => key(u) === key(userId))) r.user_ids.push(userId);
        } else if (r) {
          r.user_ids = r.user_ids.filter((u) => key(u) !== key(userId));
        }
        return { ...m, reactions: reactions.filter((x) => x.user_ids.length > 0) };
      };
      const out: Partial<ChatState> = { threads: mapThreads(s.threads, k, react) };
      if (list) out.messages = { ...s.messages, [k]: list.map(react) };
      return out;
    }),

  messageEdited: (channelId, msg) =>
    set((s) => {
      const k = key(channelId);
      const list = s.messages[k];
      const threads = mapThreads(s.threads, k, (m) => (key(m.id) === key(msg.id) ? mergeMessage(m, msg) : m));
      const out: Partial<ChatState> = threads === s.threads ? {} : { threads };
      const i = list?.findIndex((m) => key(m.id) === key(msg.id)) ?? -1;
      if (!list || i === -1) return out; // not held: history (or the replay) brings its current state
      const merged = mergeMessage(list[i], msg);
      if (merged === list[i]) return out;
      const next = list.slice();
      next[i] = merged;
      return { ...out, messages: { ...s.messages, [k]: next } };
    }),
  messageDeleted: (channelId, messageId) =>
    set((s) => {
      const k = key(channelId);
      const list = s.messages[k];
      const threads = mapThreads(s.threads, k, (m) => (key(m.id) === key(messageId) && !m.deleted ? tombstone(m) : m));
      const out: Partial<ChatState> = threads === s.threads ? {} : { threads };
      const i = list?.findIndex((m) => key(m.id) === key(messageId)) ?? -1;
      if (!list || i === -1 || list[i].deleted) return out;
      const next = list.slice();
      next[i] = tombstone(list[i]);
      return { ...out, messages: { ...s.messages, [k]: next } };
    }),
  refreshMessages: (channelId, msgs) =>
    set((s) => {
      const k = key(channelId);
      const list = s.messages[k];
      if (!list?.length || !msgs.length) return {};
      const bySeq = new Map(msgs.map((m) => [m.seq, m]));
      let changed = false;
      const next = list.map((m) => {
        const fresh = bySeq.get(m.seq);
        if (!fresh) return m;
        const merged = mergeMessage(m, fresh);
        if (merged !== m) changed = true;
        return merged;
      });
      return changed ? { messages: { ...s.messages, [k]: next } } : {};
    }),

  setThread: (channelId, root, replies, hasMore) =>
    set((s) => {
      const rk = key(root.id);
      const t = s.threads[rk];
      const held = t ? mergeMessage(t.root, root) : root;
      return {
        threads: {
          ...s.threads,
          [rk]: { channel_id: channelId, root: held, replies: mergeBySeq(t?.replies ?? [], replies, true), hasMore },
        },
      };
    }),
  threadUpdated: (channelId, rootId, replyCount, lastReplyAt) =>
    set((s) => {
      const k = key(channelId);
      const rk = key(rootId);
      const upd = (m: Message): Message =>
        key(m.id) === rk ? { ...m, reply_count: replyCount, last_reply_at: lastReplyAt } : m;
      const out: Partial<ChatState> = {};
      const list = s.messages[k];
      if (list?.some((m) => key(m.id) === rk)) out.messages = { ...s.messages, [k]: list.map(upd) };
      const t = s.threads[rk];
      if (t) out.threads = { ...s.threads, [rk]: { ...t, root: upd(t.root) } };
      return out;
    }),
  openThread: (channelId, rootId) => set({ threadPane: { channel: key(channelId), root: key(rootId) } }),
  closeThread: () => set({ threadPane: null }),

  addPending: (p) =>
    set((s) => {
      const k = key(p.channel_id);
      return { pending: { ...s.pending, [k]: { ...(s.pending[k] ?? {}), [p.client_id]: p } } };
    }),
  setPendingStatus: (channelId, clientId, status, error) =>
    set((s) => {
      const k = key(channelId);
      const p = s.pending[k]?.[clientId];
      if (!p) return {};
      return { pending: { ...s.pending, [k]: { ...s.pending[k], [clientId]: { ...p, status, error } } } };
    }),
  removePending: (channelId, clientId) =>
    set((s) => {
      const k = key(channelId);
      if (!s.pending[k]?.[clientId]) return {};
      const p = { ...s.pending[k] };
      delete p[clientId];
      return { pending: { ...s.pending, [k]: p } };
    }),

  setTyping: (channelId, userId, typing) => {
    const k = key(channelId);
    const u = key(userId);
    const tk = `${k}|${u}`;
    const old = typingTimers.get(tk);
    if (old) clearTimeout(old);
    typingTimers.delete(tk);
    if (typing) {
      typingTimers.set(
        tk,
        setTimeout(() => get().setTyping(channelId, userId, false), TYPING_TTL_MS),
      );
    }
    set((s) => {
      const cur = { ...(s.typing[k] ?? {}) };
      if (typing) cur[u] = Date.now() + TYPING_TTL_MS;
      else delete cur[u];
      return { typing: { ...s.typing, [k]: cur } };
    });
  },

  setPresenceList: (list) => {
    const p: Record<string, PresenceStatus> = {};
    for (const x of list) p[key(x.user_id)] = x.status;
    set({ presence: p });
  },
  setPresence: (userId, status) => set((s) => ({ presence: { ...s.presence, [key(userId)]: status } })),
  setUsers: (u) =>
    set((s) => {
      const users = { ...s.users };
      for (const x of u) users[key(x.id)] = x;
      return { users };
    }),
  setDirectMembers: (channelId, userIds) =>
    set((s) => ({ directMembers: { ...s.directMembers, [key(channelId)]: [...new Set(userIds.map(key))].sort() } })),
  setChannelMembers: (channelId, userIds) =>
    set((s) => ({ channelMembers: { ...s.channelMembers, [key(channelId)]: [...new Set(userIds.map(key))] } })),
  applyUnread: (f) =>
    set((s) => {
      const k = key(f.channel_id);
      if (!s.channels.some((c) => key(c.id) === k)) return {};
      return {
        channels: s.channels.map((c) =>
          key(c.id) === k
            ? {
                ...c,
                last_seq: Math.max(c.last_seq ?? 0, f.last_seq ?? 0),
                last_read_seq: f.last_read_seq,
                unread_count: f.unread_count,
                mention_count: f.mention_count,
              }
            : c,
        ),
      };
    }),
  markedRead: (channelId, seq) =>
    set((s) => {
      const k = key(channelId);
      if (!s.channels.some((c) => key(c.id) === k)) return {};
      return {
        channels: s.channels.map((c) =>
          key(c.id) === k
            ? { ...c, last_read_seq: Math.max(c.last_read_seq ?? 0, seq), unread_count: 0, mention_count: 0 }
            : c,
        ),
      };
    }),
  reset: () => {
    for (const t of typingTimers.values()) clearTimeout(t);
    typingTimers.clear();
    set(initial());
  },
}));

/**
 * `list` with `incoming` merged in by seq (ascending, unique). With `refresh`, a held seq takes the incoming
 * copy's current state (the thread endpoint is history: it says what is current).
 */
function mergeBySeq(list: Message[], incoming: Message[], refresh = false): Message[] {
  const bySeq = new Map(list.map((m) => [m.seq, m]));
  for (const m of incoming) {
    const held = bySeq.get(m.seq);
    if (!held) bySeq.set(m.seq, m);
    else if (refresh) bySeq.set(m.seq, mergeMessage(held, m));
  }
  return [...bySeq.values()].sort((a, b) => a.seq - b.seq);
}

/** Applies `f` to every message (roots and replies) of the channel's loaded threads; the same object if nothing changed. */
function mapThreads(threads: Record<string, ThreadState>, channelKey: string, f: (m: Message) => Message): Record<string, ThreadState> {
  let out: Record<string, ThreadState> | null = null;
  for (const [rk, t] of Object.entries(threads)) {
    if (key(t.channel_id) !== channelKey) continue;
    const root = f(t.root);
    let changed = root !== t.root;
    const replies = t.replies.map((r) => {
      const n = f(r);
      if (n !== r) changed = true;
      return n;
    });
    if (changed) (out ??= { ...threads })[rk] = { ...t, root, replies };
  }
  return out ?? threads;
}

/** A deleted message as history shows it: its seq stays, its content and reactions go. */
export function tombstone(m: Message): Message {
  return { ...m, content: '', reactions: [], deleted: true };
}

const editedTime = (m: Message): number => {
  const t = m.edited_at ? Date.parse(m.edited_at) : NaN;
  return isNaN(t) ? 0 : t;
};

/**
 * The state to keep when a newer copy of a held message arrives (an edit frame, a refresh from history): a
 * deletion is final, and a copy edited earlier than the held one is older news (a history page answered before
 * a live edit arrived), so the held one stays. Returns `held` itself when nothing changes.
 */
export function mergeMessage(held: Message, incoming: Message): Message {
  if (held.deleted) return held;
  if (incoming.deleted) return tombstone({ ...held, ...incoming });
  if (editedTime(incoming) < editedTime(held)) return held;
  const next = { ...held, ...incoming };
  // unchanged: the same object, so nothing re-renders (a refresh finds most messages as they were)
  return JSON.stringify(next) === JSON.stringify(held) ? held : next;
}

function sortChannels<C extends Channel>(c: C[]): C[] {
  return c.slice().sort((a, b) => a.display_name.localeCompare(b.display_name));
}

// ---------------------------------------------------------------- permissions
interface PermissionsState {
  /** the team-scoped permissions, as the server last said */
  team: string[];
  /** the channel-scoped permissions in `channelId` */
  channel: string[];
  /** which channel `channel` is for (a key; '' = none asked) */
  channelId: string;
  /** a first answer has arrived (before it, every gated control is off) */
  loaded: boolean;
  /** the last fetch failed: the controls keep the previous answer, and this says why */
  error: string | null;
  set: (p: MyPermissions, channelId: Id | null | undefined) => void;
  setError: (e: string | null) => void;
  reset: () => void;
}

export const usePermissions = create<PermissionsState>()((set) => ({
  team: [],
  channel: [],
  channelId: '',
  loaded: false,
  error: null,
  set: (p, channelId) =>
    set({ team: p.team ?? [], channel: p.channel ?? [], channelId: key(channelId), loaded: true, error: null }),
  setError: (error) => set({ error }),
  reset: () => set({ team: [], channel: [], channelId: '', loaded: false, error: null }),
}));

/** Whether the user holds `perm` in the team. */
export function canTeam(p: Pick<PermissionsState, 'team'>, perm: Permission): boolean {
  return p.team.includes(perm);
}

/** Whether the user holds `perm` in channel `channelId` (channel-scoped grants, or the team's). */
export function canChannel(p: Pick<PermissionsState, 'team' | 'channel' | 'channelId'>, perm: Permission, channelId: Id): boolean {
  return p.team.includes(perm) || (p.channelId === key(channelId) && p.channel.includes(perm));
}
