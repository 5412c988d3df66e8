/**
 * Mentions: `@username` (a member of the channel), and `@channel`, `@all`, `@here` (everyone; only for users with
 * `use_channel_mentions`, otherwise the server takes them as plain text). The server finds them in what is sent
 * and says whom a message mentions (`mentions`); here they are suggested while typing and highlighted when shown.
 */
import { api } from './api';
import { useChat } from './store';
import type { Id, User } from './types';
import { key } from './types';

/** The mentions that reach every member; the server expands them (for users allowed to use them). */
export const CHANNEL_WIDE = [
  { name: 'channel', description: 'Notify every member of this channel' },
  { name: 'all', description: 'Notify every member of this channel' },
  { name: 'here', description: 'Notify the members who are online' },
] as const;
const CHANNEL_WIDE_NAMES: ReadonlySet<string> = new Set(CHANNEL_WIDE.map((c) => c.name));

/** The `@token` being typed: where it starts (the `@`), where it ends, and what follows the `@`. */
export interface MentionQuery {
  start: number;
  end: number;
  query: string;
}

/**
 * The `@token` the caret is in or just after, if one is being typed: an `@` at the start or after a space, then
 * at least one letter or digit (a bare `@` suggests nothing: it is often just an at sign). The token runs on past
 * the caret, so that a pick replaces all of it.
 */
export function mentionQuery(text: string, caret: number): MentionQuery | null {
  const m = /(?:^|\s)@([a-z0-9][a-z0-9._-]*)$/i.exec(text.slice(0, caret));
  if (!m) return null;
  const rest = /^[a-z0-9._-]*/i.exec(text.slice(caret))?.[0] ?? '';
  return { start: caret - m[1].length - 1, end: caret + rest.length, query: m[1] + rest };
}

export type MentionOption =
  | { kind: 'user'; name: string; user: User }
  | { kind: 'special'; name: string; description: string };

/**
 * The suggestions for `query`: the members whose username or display name (one of its words) starts with it,
 * usernames that match first, then the channel-wide mentions that start with it when `channelWide`. Not the user
 * itself (a mention of oneself notifies nobody), nor deactivated users.
 */
export function mentionOptions(
  query: string,
  members: readonly User[],
  { me, channelWide, limit = 8 }: { me: string; channelWide: boolean; limit?: number },
): MentionOption[] {
  const q = query.toLowerCase();
  const byName = (u: User) => u.username.toLowerCase().startsWith(q);
  const byDisplay = (u: User) => (u.display_name || '').toLowerCase().split(/\s+/).some((w) => w.startsWith(q));
  const users = members
    .filter((u) => key(u.id) !== me && !u.deactivated && (byName(u) || byDisplay(u)))
    .sort((a, b) => Number(byName(b)) - Number(byName(a)) || a.username.localeCompare(b.username))
    .map((user): MentionOption => ({ kind: 'user', name: user.username, user }));
  const special: MentionOption[] = channelWide
    ? CHANNEL_WIDE.filter((c) => c.name.startsWith(q)).map((c) => ({ kind: 'special', ...c }))
    : [];
  return [...users.slice(0, Math.max(0, limit - special.length)), ...special];
}

/** `text` with the token of `q` replaced by `@name ` (one space after it, however many were there); the caret after it. */
export function insertMention(text: string, q: MentionQuery, name: string): { text: string; caret: number } {
  const head = `${text.slice(0, q.start)}@${name} `;
  return { text: head + text.slice(q.end).replace(/^ /, ''), caret: head.length };
}

/** A piece of a message's text: plain, or a mention to highlight. */
export type ContentPart = string | { mention: string; special: boolean };

/**
 * `content` cut into plain text and mentions: `@username` of a known user (`usernames`, lower case) and the
 * channel-wide ones. An `@` inside a word (an e-mail address) mentions nobody; trailing dots and dashes end a
 * sentence, not a name.
 */
export function splitMentions(content: string, usernames: ReadonlySet<string>): ContentPart[] {
  const out: ContentPart[] = [];
  const re = /(?<![\w.@-])@([a-z0-9][a-z0-9._-]*)/gi;
  let last = 0;
  for (let m = re.exec(content); m; m = re.exec(content)) {
    const name = m[1].replace(/[._-]+$/, '');
    const lower = name.toLowerCase();
    const special = CHANNEL_WIDE_NAMES.has(lower);
    if (!special && !usernames.has(lower)) continue;
    if (m.index > last) out.push(content.slice(last, m.index));
    out.push({ mention: name, special });
    last = m.index + 1 + name.length;
  }
  if (last < content.length) out.push(content.slice(last));
  return out;
}

/** Whether message `m` mentions user `me` (the server's `mentions`). */
export const mentionsMe = (m: { mentions?: Id[] }, me: string): boolean =>
  !!me && !!m.mentions?.some((u) => key(u) === me);

const loading = new Set<string>();

/**
 * Asks for the members of a channel whose members are not known yet (once at a time), for the suggestions; the
 * members panel stores them too when it loads them.
 */
export async function loadChannelMembers(channelId: Id): Promise<void> {
  const k = key(channelId);
  if (useChat.getState().channelMembers[k] || loading.has(k)) return;
  loading.add(k);
  try {
    const m = await api.channelMembers(channelId);
    const st = useChat.getState();
    st.setUsers(m);
    st.setChannelMembers(channelId, m.map((u) => u.id));
  } finally {
    loading.delete(k);
  }
}
