/**
 * Direct (two people) and group (3–8) channels: who is in them, what they are called, and how one is opened.
 *
 * Such a channel is named after the other people in it, as the viewer sees them: "Amira" or "Amira, Bo, Chen".
 * The server's `name` (`dm-<hex>`) is never shown, and its `display_name` is the others' usernames as the creator
 * saw them (so, to another member, it names the creator's companions and not the creator). The members are fixed
 * for life, so they are asked for once per channel (`GET /api/channels/{id}/members`); until they are known, the
 * names come from `display_name` and `creator_id`.
 */
import { useShallow } from 'zustand/react/shallow';
import { api } from './api';
import { useAuth, useChat } from './store';
import type { Channel, Id, User } from './types';
import { key } from './types';

/** At most this many other people in one direct or group channel. */
export const MAX_DIRECT_OTHERS = 7;

/** A direct or group channel: members fixed, named after the people in it, no channel settings. */
export const isDirect = (c: Pick<Channel, 'type'>): boolean => c.type === 'direct' || c.type === 'group';

/** One of the other people in a direct channel: `id` when it is known (a key), the name to show. */
export interface DirectPerson {
  id: string | null;
  name: string;
}

const shownName = (u: Pick<User, 'display_name' | 'username'>): string => u.display_name || u.username;
const byName = (a: DirectPerson, b: DirectPerson) => a.name.localeCompare(b.name) || (a.id ?? '').localeCompare(b.id ?? '');

/**
 * The other people in direct channel `c`, by name, as `me` sees them. `members` (user keys, `me` included) when
 * known; otherwise the usernames of `display_name` (the creator's companions) and the creator, less `me`.
 */
export function directPeople(
  c: Pick<Channel, 'display_name' | 'creator_id'>,
  members: readonly string[] | undefined,
  users: Readonly<Record<string, User>>,
  me: Pick<User, 'id' | 'username'> | null | undefined,
): DirectPerson[] {
  const mine = key(me?.id);
  const myName = me?.username.toLowerCase();
  if (members && members.length) {
    return members
      .filter((m) => m !== mine)
      .map((m) => ({ id: m, name: users[m] ? shownName(users[m]) : 'Unknown user' }))
      .sort(byName);
  }
  const byUsername = new Map<string, User>();
  for (const u of Object.values(users)) byUsername.set(u.username.toLowerCase(), u);
  const out = new Map<string, DirectPerson>();
  const add = (p: DirectPerson, k: string) => {
    if (!out.has(k)) out.set(k, p);
  };
  // a display name longer than 64 characters was cut with '…': its last name may be partial
  const listed = c.display_name
    .split(',')
    .map((s) => s.trim().replace(/…$/, ''))
    .filter(Boolean);
  for (const name of listed) {
    const u = byUsername.get(name.toLowerCase());
    if (u) {
      if (key(u.id) !== mine) add({ id: key(u.id), name: shownName(u) }, key(u.id));
    } else if (name.toLowerCase() !== myName) {
      add({ id: null, name }, `@${name.toLowerCase()}`);
    }
  }
  const creator = key(c.creator_id);
  if (creator && creator !== mine && users[creator]) add({ id: creator, name: shownName(users[creator]) }, creator);
  return [...out.values()].sort(byName);
}

/** What a direct channel is called: the others' names, joined. */
export function directTitle(people: readonly DirectPerson[]): string {
  return people.length ? people.map((p) => p.name).join(', ') : 'Direct message';
}

const NO_MEMBERS: string[] = [];

/** The other people in `c` (a direct or group channel), kept current from the store. */
export function useDirectPeople(c: Channel): DirectPerson[] {
  const k = key(c.id);
  const me = useAuth((s) => s.user);
  const members = useChat((s) => s.directMembers[k] ?? NO_MEMBERS);
  // only the users this channel names, so that an unrelated user's change does not re-render
  const direct = isDirect(c);
  const users = useChat(
    useShallow((s) => {
      const out: Record<string, User> = {};
      if (!direct) return out;
      const want = members.length ? members : Object.keys(s.users);
      for (const m of want) if (s.users[m]) out[m] = s.users[m];
      return out;
    }),
  );
  return direct ? directPeople(c, members.length ? members : undefined, users, me) : [];
}

/** How a channel is named to the user: the others' names for a direct or group one, else its display name. */
export function useChannelLabel(c: Channel): string {
  const people = useDirectPeople(c);
  return isDirect(c) ? directTitle(people) : c.display_name;
}

const loading = new Set<string>();

/**
 * Asks for the members of the direct channels among `channels` whose members are not known yet (each once at a
 * time). Rejects with the first failure, once all are done; the others are stored all the same.
 */
export async function loadDirectMembers(channels: readonly Channel[]): Promise<void> {
  const known = useChat.getState().directMembers;
  const todo = channels.filter((c) => isDirect(c) && !known[key(c.id)] && !loading.has(key(c.id)));
  const results = await Promise.allSettled(
    todo.map(async (c) => {
      loading.add(key(c.id));
      try {
        const m = await api.channelMembers(c.id);
        const st = useChat.getState();
        st.setUsers(m);
        st.setDirectMembers(c.id, m.map((u) => u.id));
      } finally {
        loading.delete(key(c.id));
      }
    }),
  );
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
}

/**
 * Opens the direct or group channel of the user and `userIds` (1–7 teammates): the server makes it the first time
 * and answers the same one after. It becomes one of the user's channels, with its members known.
 */
export async function openDirect(userIds: readonly Id[]): Promise<Channel> {
  const c = await api.directChannel([...userIds]);
  const st = useChat.getState();
  st.upsertChannel(c);
  const me = useAuth.getState().user?.id;
  st.setDirectMembers(c.id, me == null ? [...userIds] : [...userIds, me]);
  return c;
}
