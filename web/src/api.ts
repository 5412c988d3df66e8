import { useAuth } from './store';
import type {
  AuditEntry,
  BrowseChannel,
  Channel,
  ChannelMember,
  ChannelRole,
  Id,
  Invite,
  Message,
  MyPermissions,
  Scheme,
  Team,
  TeamRole,
  User,
} from './types';

/** The contract's error body, typed. `status` 0 means the network failed. */
export class ApiError extends Error {
  constructor(
    public status: number,
    public code: string,
    message: string,
    public field?: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

export function errorText(e: unknown): string {
  if (e instanceof ApiError) return e.message || e.code;
  if (e instanceof Error) return e.message;
  return String(e);
}

interface Opts {
  method?: string;
  body?: unknown;
  headers?: Record<string, string>;
  /** do not log out on 401 (login form). */
  noLogout?: boolean;
}

export async function request<T>(path: string, opts: Opts = {}): Promise<T> {
  const token = useAuth.getState().token;
  const headers: Record<string, string> = { Accept: 'application/json', ...opts.headers };
  if (opts.body !== undefined) headers['Content-Type'] = 'application/json';
  if (token) headers.Authorization = `Bearer ${token}`;
  let res: Response;
  try {
    res = await fetch(path, {
      method: opts.method ?? 'GET',
      headers,
      body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
    });
  } catch (e) {
    console.warn('[api]', 'network', path, e);
    throw new ApiError(0, 'network_error', 'Cannot reach the server. Check your connection and try again.');
  }
  if (res.status === 204) return undefined as T;
  const text = await res.text();
  let data: unknown = undefined;
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      data = undefined;
    }
  }
  if (!res.ok) {
    const err = (data as { error?: { code?: string; message?: string; field?: string } } | undefined)?.error;
    const e = new ApiError(
      res.status,
      err?.code ?? `http_${res.status}`,
      err?.message ?? `Request failed (${res.status})`,
      err?.field,
    );
    console.warn('[api]', e.code, path, e.message);
    if (res.status === 401 && token && !opts.noLogout) {
      useAuth.getState().logoutLocal('Your session has ended. Please sign in again.');
    }
    throw e;
  }
  return data as T;
}

const seg = (id: Id) => encodeURIComponent(String(id));

export interface Session {
  user: User;
  token: string;
}

export const api = {
  register: (b: { username: string; email: string; password: string; display_name?: string }) =>
    request<Session>('/api/auth/register', { method: 'POST', body: b, noLogout: true }),
  login: (login: string, password: string) =>
    request<Session>('/api/auth/login', { method: 'POST', body: { login, password }, noLogout: true }),
  logout: () => request<void>('/api/auth/logout', { method: 'POST', noLogout: true }),
  me: () => request<User>('/api/users/me'),
  onboarding: () => request<{ required: boolean; team_id: Id | null }>('/api/onboarding'),
  createTeam: (b: { name: string; display_name: string }, idempotencyKey: string) =>
    request<{ team: Team; channels: Channel[]; user: User; token: string }>('/api/teams', {
      method: 'POST',
      body: b,
      headers: { 'Idempotency-Key': idempotencyKey },
    }),
  joinTeam: (invite_token: string) =>
    request<{ team: Team; user: User; token: string }>('/api/teams/join', { method: 'POST', body: { invite_token } }),
  createInvite: (teamId: Id, b: { max_uses?: number; expires_in_secs?: number } = {}) =>
    request<Invite>(`/api/teams/${seg(teamId)}/invites`, { method: 'POST', body: b }),
  invites: (teamId: Id) => request<Invite[]>(`/api/teams/${seg(teamId)}/invites`),
  revokeInvite: (teamId: Id, inviteId: Id) =>
    request<void>(`/api/teams/${seg(teamId)}/invites/${seg(inviteId)}`, { method: 'DELETE' }),
  setTeamRole: (teamId: Id, userId: Id, role: TeamRole) =>
    request<User>(`/api/teams/${seg(teamId)}/members/${seg(userId)}`, { method: 'PATCH', body: { role } }),
  removeTeamMember: (teamId: Id, userId: Id) =>
    request<void>(`/api/teams/${seg(teamId)}/members/${seg(userId)}`, { method: 'DELETE' }),
  scheme: (teamId: Id) => request<Scheme>(`/api/teams/${seg(teamId)}/scheme`),
  putScheme: (teamId: Id, s: Scheme) => request<Scheme>(`/api/teams/${seg(teamId)}/scheme`, { method: 'PUT', body: s }),
  audit: (teamId: Id, q: { before?: Id; limit?: number } = {}) => {
    const p = new URLSearchParams();
    if (q.before !== undefined) p.set('before', String(q.before));
    p.set('limit', String(q.limit ?? 50));
    return request<{ entries: AuditEntry[]; has_more: boolean }>(`/api/teams/${seg(teamId)}/audit?${p}`);
  },
  myPermissions: (channelId?: Id | null) =>
    request<MyPermissions>(
      `/api/users/me/permissions${channelId == null ? '' : `?channel_id=${encodeURIComponent(String(channelId))}`}`,
    ),
  teamMembers: (teamId: Id) => request<User[]>(`/api/teams/${encodeURIComponent(String(teamId))}/members`),
  channels: () => request<Channel[]>('/api/channels'),
  createChannel: (b: { name: string; display_name: string; type: 'public' | 'private' }) =>
    request<Channel>('/api/channels', { method: 'POST', body: b }),
  /** the direct or group channel of the caller and `userIds` (1–7 teammates): made the first time, the same one after */
  directChannel: (userIds: Id[]) =>
    request<Channel>('/api/channels/direct', { method: 'POST', body: { user_ids: userIds } }),
  browseChannels: () => request<BrowseChannel[]>('/api/channels/browse'),
  channel: (id: Id) => request<Channel>(`/api/channels/${seg(id)}`),
  joinChannel: (id: Id) => request<Channel>(`/api/channels/${seg(id)}/join`, { method: 'POST' }),
  updateChannel: (id: Id, b: { display_name?: string; topic?: string; purpose?: string; read_only?: boolean }) =>
    request<Channel>(`/api/channels/${seg(id)}`, { method: 'PATCH', body: b }),
  archiveChannel: (id: Id, archive: boolean) =>
    request<Channel>(`/api/channels/${seg(id)}/${archive ? 'archive' : 'unarchive'}`, { method: 'POST' }),
  /** moves the caller's read cursor up to `seq` (never down; the server clamps it to the channel's last seq) */
  markRead: (id: Id, seq: number) => request<void>(`/api/channels/${seg(id)}/read`, { method: 'POST', body: { seq } }),
  channelMembers: (id: Id) => request<ChannelMember[]>(`/api/channels/${seg(id)}/members`),
  addChannelMember: (id: Id, userId: Id) =>
    request<User>(`/api/channels/${seg(id)}/members`, { method: 'POST', body: { user_id: userId } }),
  setChannelRole: (id: Id, userId: Id, role: ChannelRole) =>
    request<ChannelMember>(`/api/channels/${seg(id)}/members/${seg(userId)}`, { method: 'PATCH', body: { role } }),
  removeChannelMember: (id: Id, userId: Id) =>
    request<void>(`/api/channels/${seg(id)}/members/${seg(userId)}`, { method: 'DELETE' }),
  /** the author, or a caller with `edit_others_posts` */
  editMessage: (id: Id, content: string) =>
    request<Message>(`/api/messages/${seg(id)}`, { method: 'PATCH', body: { content } }),
  /** the author, or a caller with `delete_others_posts` */
  deleteMessage: (id: Id) => request<void>(`/api/messages/${seg(id)}`, { method: 'DELETE' }),
  /** a thread: its root and its replies after `after_seq`, oldest first (tombstones included) */
  thread: (rootId: Id, q: { after_seq?: number; limit?: number } = {}) => {
    const p = new URLSearchParams();
    if (q.after_seq !== undefined) p.set('after_seq', String(q.after_seq));
    p.set('limit', String(q.limit ?? 50));
    return request<{ root: Message; replies: Message[]; has_more: boolean }>(`/api/messages/${seg(rootId)}/thread?${p}`);
  },
  messages: (id: Id, q: { before_seq?: number; after_seq?: number; limit?: number } = {}) => {
    const p = new URLSearchParams();
    if (q.before_seq !== undefined) p.set('before_seq', String(q.before_seq));
    if (q.after_seq !== undefined) p.set('after_seq', String(q.after_seq));
    p.set('limit', String(q.limit ?? 50));
    return request<{ messages: Message[]; has_more: boolean }>(
      `/api/channels/${encodeURIComponent(String(id))}/messages?${p}`,
    );
  },
};
