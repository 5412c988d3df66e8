export type Id = string | number;

export interface User {
  id: Id;
  username: string;
  email?: string;
  display_name: string;
  team_id: Id | null;
  roles: string[];
  deactivated?: boolean;
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
  /** `direct` (two people) and `group` (3–8) come from `POST /api/channels/direct`: members fixed, visible to them only */
  type: ChannelType;
  creator_id?: Id;
  created_at?: string;
  last_seq: number;
  /** Part 2 (additive): absent on an older server */
  topic?: string;
  purpose?: string;
  read_only?: boolean;
  archived_at?: string | null;
  /** the caller's read state (`GET /api/channels`, then live `unread` frames): absent on an older server */
  last_read_seq?: number;
  /** messages above the read cursor written by others (tombstones not counted) */
  unread_count?: number;
  /** those of them that mention the caller */
  mention_count?: number;
}

/** The fields of a channel that are the caller's own read state, not the channel's. */
export type ReadState = Pick<Channel, 'last_read_seq' | 'unread_count' | 'mention_count'>;

export type ChannelType = 'public' | 'private' | 'direct' | 'group';

/** A public channel of the team the caller is not in (`GET /api/channels/browse`). */
export interface BrowseChannel extends Channel {
  member_count: number;
}

/** The contract's permission names. */
export const PERMISSIONS = [
  'create_public_channel',
  'create_private_channel',
  'manage_channel_properties',
  'manage_channel_members',
  'archive_channel',
  'invite_user',
  'manage_team_roles',
  'remove_team_member',
  'edit_others_posts',
  'delete_others_posts',
  'post_in_read_only',
  'use_channel_mentions',
  'manage_integrations',
  'view_audit_log',
] as const;
export type Permission = (typeof PERMISSIONS)[number];

/** The permissions a channel role may hold; the others are team-scoped. */
export const CHANNEL_SCOPED: readonly Permission[] = ['manage_channel_properties', 'manage_channel_members', 'post_in_read_only'];

export type TeamRole = 'team_admin' | 'team_user';
export type ChannelRole = 'channel_admin' | 'channel_user';
export const SCHEME_ROLES = ['team_user', 'team_admin', 'channel_user', 'channel_admin'] as const;
export type SchemeRole = (typeof SCHEME_ROLES)[number];

/** `GET/PUT /api/teams/{id}/scheme` */
export interface Scheme {
  roles: Record<SchemeRole, string[]>;
}

/** `GET /api/users/me/permissions[?channel_id=]` */
export interface MyPermissions {
  team: string[];
  channel: string[];
}

/** A channel member; `channel_role` is there when the server says it (PATCH answers it). */
export interface ChannelMember extends User {
  channel_role?: ChannelRole;
}

export interface Invite {
  id: Id;
  invite_token: string;
  expires_at: string;
  max_uses: number | null;
  uses: number;
}

export interface AuditEntry {
  id: Id;
  at: string;
  actor_id: Id;
  action: string;
  target_type: string;
  target_id: string;
  details: unknown;
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
  /** when the content was last edited (RFC 3339); null or absent: never */
  edited_at?: string | null;
  /** a deletion keeps the message's seq as a tombstone: empty content, no reactions */
  deleted?: boolean;
  /** a reply: the id of its thread's root (a top-level message of the channel); null or absent: top-level */
  root_id?: Id | null;
  /** on a root: its live replies */
  reply_count?: number;
  /** on a root: when its last reply was posted; null until one is */
  last_reply_at?: string | null;
  /** the users it mentions (`@channel`/`@all`/`@here` expanded by the server; never the author); absent: none */
  mentions?: Id[];
}

/** A reply (it belongs in its root's thread, not in the channel's main list). */
export const isReply = (m: Pick<Message, 'root_id'>): boolean => m.root_id !== null && m.root_id !== undefined && m.root_id !== '';

export type PresenceStatus = 'online' | 'away' | 'offline';

/** Ids are opaque: compare them as strings, never parse them. */
export const key = (id: Id | null | undefined): string => (id === null || id === undefined ? '' : String(id));
