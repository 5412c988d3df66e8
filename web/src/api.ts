import { useAuth } from './store';
import type { Channel, Id, Message, Team, User } from './types';

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
  createInvite: (teamId: Id) =>
    request<{ invite_token: string; expires_at: string }>(`/api/teams/${encodeURIComponent(String(teamId))}/invites`, {
      method: 'POST',
    }),
  teamMembers: (teamId: Id) => request<User[]>(`/api/teams/${encodeURIComponent(String(teamId))}/members`),
  channels: () => request<Channel[]>('/api/channels'),
  createChannel: (b: { name: string; display_name: string; type: 'public' | 'private' }) =>
    request<Channel>('/api/channels', { method: 'POST', body: b }),
  channelMembers: (id: Id) => request<User[]>(`/api/channels/${encodeURIComponent(String(id))}/members`),
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
