export type Id = string | number;

export interface User {
  id: Id;
  username: string;
  email?: string;
  display_name: string;
  team_id: Id | null;
  roles: string[];
}

export interface Team {
  id: Id;
  name: string;
  display_name: string;
  created_at?: string;
}

export interface Channel {
  id: Id;
  team_id: Id;
  name: string;
  display_name: string;
  type: 'public' | 'private';
  creator_id?: Id;
  created_at?: string;
  last_seq: number;
}

export interface Reaction {
  emoji: string;
  user_ids: Id[];
}

export interface Message {
  id: Id;
  channel_id: Id;
  seq: number;
  user_id: Id;
  content: string;
  created_at: string;
  client_id: string | null;
  reactions: Reaction[];
}

export type PresenceStatus = 'online' | 'away' | 'offline';

/** Ids are opaque: compare them as strings, never parse them. */
export const key = (id: Id | null | undefined): string => (id === null || id === undefined ? '' : String(id));

export const isAdmin = (u: User | null | undefined): boolean =>
  !!u && (u.roles.includes('team_admin') || u.roles.includes('system_admin'));
