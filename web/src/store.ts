import { create } from 'zustand';
import { persist } from 'zustand/middleware';
import type { Channel, Id, Message, PresenceStatus, Team, User } from './types';
import { key } from './types';

// ---------------------------------------------------------------- auth
interface AuthState {
  token: string | null;
  user: User | null;
  team: Team | null;
  /** a message shown on the login screen after a forced logout */
  notice: string | null;
  setSession: (token: string, user: User, team?: Team | null) => void;
  setUser: (user: User) => void;
  setTeam: (team: Team | null) => void;
  /** clears the session locally (no request); sockets close because the token goes away */
  logoutLocal: (notice?: string) => void;
  clearNotice: () => void;
}

export const useAuth = create<AuthState>()(
  persist(
    (set) => ({
      token: null,
      user: null,
      team: null,
      notice: null,
      setSession: (token, user, team) =>
        set((s) => ({ token, user, team: team === undefined ? s.team : team, notice: null })),
      setUser: (user) => set({ user }),
      setTeam: (team) => set({ team }),
      logoutLocal: (notice) => {
        set({ token: null, user: null, team: null, notice: notice ?? null });
        useChat.getState().reset();
      },
      clearNotice: () => set({ notice: null }),
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
}

interface ChatState {
  channels: Channel[];
  /** messages per channel key, ascending by seq, unique by seq */
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
  /** last seq the user has seen per channel (persisted), for unread markers */
  lastRead: Record<string, number>;

  setChannels: (c: Channel[]) => void;
  upsertChannel: (c: Channel) => void;
  /** merges messages (dedupe by seq); returns the ones that were new */
  addMessages: (channelId: Id, msgs: Message[], hasMore?: boolean) => Message[];
  /** forgets the messages below `seq` (a replay that skipped past them); older ones can be loaded again */
  dropBefore: (channelId: Id, seq: number) => void;
  applyReaction: (channelId: Id, messageId: Id, userId: Id, emoji: string, add: boolean) => void;
  addPending: (p: PendingMessage) => void;
  setPendingStatus: (channelId: Id, clientId: string, status: 'pending' | 'failed', error?: string) => void;
  removePending: (channelId: Id, clientId: string) => void;
  setTyping: (channelId: Id, userId: Id, typing: boolean) => void;
  setPresenceList: (list: { user_id: Id; status: PresenceStatus }[]) => void;
  setPresence: (userId: Id, status: PresenceStatus) => void;
  setUsers: (u: User[]) => void;
  markRead: (channelId: Id, seq: number) => void;
  reset: () => void;
}

const TYPING_TTL_MS = 6000;
const typingTimers = new Map<string, ReturnType<typeof setTimeout>>();

/** The persisted read markers; anything unreadable there is dropped (and said), not trusted. */
function loadLastRead(): Record<string, number> {
  let raw: unknown;
  try {
    raw = JSON.parse(localStorage.getItem('majlis.lastRead') || '{}');
  } catch (e) {
    console.warn('[store]', 'last_read_unreadable', e);
    return {};
  }
  const out: Record<string, number> = {};
  if (raw && typeof raw === 'object') {
    for (const [k, v] of Object.entries(raw)) if (typeof v === 'number') out[k] = v;
  }
  return out;
}

const initial = () => ({
  channels: [] as Channel[],
  messages: {},
  hasMore: {},
  lastSeq: {},
  pending: {},
  typing: {},
  presence: {},
  users: {},
});

export const useChat = create<ChatState>()((set, get) => ({
  ...initial(),
  lastRead: loadLastRead(),

  setChannels: (c) => set({ channels: sortChannels(c) }),
  upsertChannel: (c) =>
    set((s) => {
      const i = s.channels.findIndex((x) => key(x.id) === key(c.id));
      if (i === -1) return { channels: sortChannels([...s.channels, c]) };
      const next = s.channels.slice();
      next[i] = { ...next[i], ...c, last_seq: Math.max(next[i].last_seq ?? 0, c.last_seq ?? 0) };
      return { channels: next };
    }),

  addMessages: (channelId, msgs, hasMore) => {
    const k = key(channelId);
    const cur = get().messages[k] ?? [];
    const seen = new Set(cur.map((m) => m.seq));
    const fresh = msgs.filter((m) => !seen.has(m.seq) && (seen.add(m.seq), true));
    set((s) => {
      const out: Partial<ChatState> = {};
      if (fresh.length) {
        const merged = [...cur, ...fresh].sort((a, b) => a.seq - b.seq);
        out.messages = { ...s.messages, [k]: merged };
        const max = merged[merged.length - 1].seq;
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
      if (!list) return {};
      const next = list.map((m) => {
        if (key(m.id) !== key(messageId)) return m;
        const reactions = m.reactions.map((r) => ({ ...r, user_ids: r.user_ids.slice() }));
        let r = reactions.find((x) => x.emoji === emoji);
        if (add) {
          if (!r) reactions.push((r = { emoji, user_ids: [] }));
          if (!r.user_ids.some((u) => key(u) === key(userId))) r.user_ids.push(userId);
        } else if (r) {
          r.user_ids = r.user_ids.filter((u) => key(u) !== key(userId));
        }
        return { ...m, reactions: reactions.filter((x) => x.user_ids.length > 0) };
      });
      return { messages: { ...s.messages, [k]: next } };
    }),

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
  markRead: (channelId, seq) => {
    const k = key(channelId);
    if ((get().lastRead[k] ?? 0) >= seq) return;
    const lastRead = { ...get().lastRead, [k]: seq };
    try {
      localStorage.setItem('majlis.lastRead', JSON.stringify(lastRead));
    } catch {
      /* storage full or disabled: unread markers just do not persist */
    }
    set({ lastRead });
  },
  reset: () => {
    for (const t of typingTimers.values()) clearTimeout(t);
    typingTimers.clear();
    set(initial());
  },
}));

function sortChannels(c: Channel[]): Channel[] {
  return c.slice().sort((a, b) => a.display_name.localeCompare(b.display_name));
}
