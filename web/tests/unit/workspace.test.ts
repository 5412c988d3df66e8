import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { toggleScheme, schemeCellAllowed } from '../../src/components/TeamSettings';
import { canChannel, canTeam, useAuth, useChat, usePermissions } from '../../src/store';
import type { Channel, MyPermissions, Scheme } from '../../src/types';
import { applyPresenceEvent, refreshPermissions } from '../../src/workspace';

const me = { id: 'u1', username: 'amina', display_name: 'Amina', team_id: 't1', roles: ['team_user'] };
const other = 'u2';
const ch = (id: string, name: string, extra: Partial<Channel> = {}): Channel => ({
  id,
  team_id: 't1',
  name,
  display_name: name,
  type: 'public',
  creator_id: other,
  last_seq: 0,
  ...extra,
});
const names = (l: { name: string }[]) => l.map((c) => c.name);
const chat = () => useChat.getState();

beforeEach(() => {
  vi.spyOn(console, 'warn').mockImplementation(() => {});
  useChat.getState().reset();
  usePermissions.getState().reset();
  useAuth.setState({ token: 't', user: me, team: { id: 't1', name: 'acme', display_name: 'Acme' }, notice: null, teamNotice: null });
});
afterEach(() => {
  vi.unstubAllGlobals();
  vi.restoreAllMocks();
});

describe('channels: the user’s own and the ones to browse', () => {
  it('a channel created by someone else is one to browse; the user’s own or a private one is its own', () => {
    chat().setChannels([ch('c1', 'town-square')]);
    applyPresenceEvent({ type: 'channel_created', channel: ch('c2', 'news') });
    applyPresenceEvent({ type: 'channel_created', channel: ch('c3', 'mine', { creator_id: 'u1' }) });
    applyPresenceEvent({ type: 'channel_created', channel: ch('c4', 'secret', { type: 'private' }) });
    // the same event twice lists it once
    applyPresenceEvent({ type: 'channel_created', channel: ch('c2', 'news') });
    expect(names(chat().channels)).toEqual(['mine', 'secret', 'town-square']);
    expect(names(chat().browse)).toEqual(['news']);
  });

  it('a refetch of the user’s channels takes a joined one out of browse; browse never lists the user’s own or archived ones', () => {
    chat().setBrowse([{ ...ch('c2', 'news'), member_count: 2 }, { ...ch('c3', 'old', { archived_at: '2026-01-01T00:00:00Z' }), member_count: 1 }]);
    expect(names(chat().browse)).toEqual(['news']);
    chat().setChannels([ch('c1', 'town-square'), ch('c2', 'news')]);
    expect(names(chat().browse)).toEqual([]);
    chat().setBrowse([{ ...ch('c2', 'news'), member_count: 2 }]);
    expect(names(chat().browse)).toEqual([]);
  });

  it('joining (upsert) moves a channel from browse to the user’s own', () => {
    chat().setBrowse([{ ...ch('c2', 'news'), member_count: 2 }]);
    chat().upsertChannel(ch('c2', 'news'));
    expect(names(chat().channels)).toEqual(['news']);
    expect(chat().browse).toEqual([]);
  });

  it('channel_member_added for the user makes the channel its own', () => {
    applyPresenceEvent({ type: 'channel_member_added', channel: ch('c5', 'ops', { type: 'private' }), user_id: 'u1' });
    expect(names(chat().channels)).toEqual(['ops']);
  });
});

describe('channel properties, live', () => {
  it('channel_updated changes the channel wherever it is listed, keeping the highest last_seq', () => {
    chat().setChannels([ch('c1', 'town-square', { last_seq: 9 })]);
    chat().setBrowse([{ ...ch('c2', 'news'), member_count: 4 }]);
    applyPresenceEvent({ type: 'channel_updated', channel: ch('c1', 'town-square', { topic: 'Welcome', read_only: true, last_seq: 3 }) });
    applyPresenceEvent({ type: 'channel_updated', channel: ch('c2', 'news', { display_name: 'News!' }) });
    expect(chat().channels[0]).toMatchObject({ topic: 'Welcome', read_only: true, last_seq: 9 });
    expect(chat().browse[0]).toMatchObject({ display_name: 'News!', member_count: 4 });
  });

  it('channel_archived marks the channel archived (with or without its object) and takes it out of browse', () => {
    chat().setChannels([ch('c1', 'town-square'), ch('c3', 'ops')]);
    chat().setBrowse([{ ...ch('c2', 'news'), member_count: 4 }]);
    applyPresenceEvent({ type: 'channel_archived', channel_id: 'c3' });
    applyPresenceEvent({ type: 'channel_archived', channel_id: 'c2', channel: ch('c2', 'news') });
    expect(chat().channels.find((c) => c.id === 'c3')?.archived_at).toBeTruthy();
    expect(chat().browse).toEqual([]);
    // unarchive comes as channel_updated with archived_at null
    applyPresenceEvent({ type: 'channel_updated', channel: ch('c3', 'ops', { archived_at: null }) });
    expect(chat().channels.find((c) => c.id === 'c3')?.archived_at).toBeNull();
  });
});

describe('removal from a channel', () => {
  it('someone else removing the user: the channel leaves its list, can be browsed again, and is remembered as a removal', () => {
    chat().setChannels([ch('c1', 'town-square'), ch('c2', 'news', { display_name: 'News' })]);
    applyPresenceEvent({ type: 'channel_member_removed', channel_id: 'c2', user_id: 'u1' });
    expect(names(chat().channels)).toEqual(['town-square']);
    expect(names(chat().browse)).toEqual(['news']);
    expect(chat().removed).toEqual({ c2: { name: 'news', display_name: 'News' } });
    // rejoining forgets it
    chat().upsertChannel(ch('c2', 'news'));
    expect(chat().removed).toEqual({});
  });

  it('the user leaving itself is not shown as a removal', () => {
    chat().setChannels([ch('c1', 'town-square'), ch('c2', 'news')]);
    chat().setLeaving('c2', true);
    chat().chatForbidden('c2'); // its socket's 4403 may come before the 204
    applyPresenceEvent({ type: 'channel_member_removed', channel_id: 'c2', user_id: 'u1' });
    expect(names(chat().channels)).toEqual(['town-square']);
    expect(chat().removed).toEqual({});
    expect(chat().leaving).toEqual({});
  });

  it('another member’s removal changes nothing of the user’s lists; a private channel is not offered to browse', () => {
    chat().setChannels([ch('c1', 'town-square'), ch('c4', 'secret', { type: 'private' })]);
    applyPresenceEvent({ type: 'channel_member_removed', channel_id: 'c4', user_id: other });
    expect(names(chat().channels)).toEqual(['secret', 'town-square']);
    applyPresenceEvent({ type: 'channel_member_removed', channel_id: 'c4', user_id: 'u1' });
    expect(names(chat().channels)).toEqual(['town-square']);
    expect(chat().browse).toEqual([]);
    expect(Object.keys(chat().removed)).toEqual(['c4']);
  });

  it('a 4403 on the open channel’s chat socket is a removal, once (the presence event after it changes nothing)', () => {
    chat().setChannels([ch('c1', 'town-square'), ch('c2', 'news')]);
    chat().chatForbidden('c2');
    expect(Object.keys(chat().removed)).toEqual(['c2']);
    applyPresenceEvent({ type: 'channel_member_removed', channel_id: 'c2', user_id: 'u1' });
    expect(names(chat().browse)).toEqual(['news']);
    expect(names(chat().channels)).toEqual(['town-square']);
  });
});

describe('team removal, user updates, reconnects', () => {
  it('team_removed: no team, nothing of it left in the stores, and a message for onboarding', () => {
    chat().setChannels([ch('c1', 'town-square')]);
    usePermissions.getState().set({ team: ['invite_user'], channel: [] }, null);
    expect(applyPresenceEvent({ type: 'team_removed', team_id: 't1' })).toBe('team_removed');
    const auth = useAuth.getState();
    expect(auth.user?.team_id).toBeNull();
    expect(auth.team).toBeNull();
    expect(auth.token).toBe('t');
    expect(auth.teamNotice).toMatch(/removed from the team Acme/);
    expect(chat().channels).toEqual([]);
    expect(usePermissions.getState()).toMatchObject({ team: [], loaded: false });
  });

  it('permissions_changed asks for a refetch of the permissions; a presence reconnect for a refetch of everything', () => {
    expect(applyPresenceEvent({ type: 'permissions_changed' })).toBe('permissions');
    expect(applyPresenceEvent({ type: 'hello', user_id: 'u1', reconnected: true })).toBe('refetch');
    expect(applyPresenceEvent({ type: 'hello', user_id: 'u1', reconnected: false })).toBe('none');
  });

  it('user_updated refreshes the user’s name everywhere, the signed-in user included', () => {
    applyPresenceEvent({ type: 'user_updated', user: { ...me, display_name: 'Amina K' } });
    expect(chat().users.u1.display_name).toBe('Amina K');
    expect(useAuth.getState().user?.display_name).toBe('Amina K');
  });
});

describe('permissions', () => {
  it('team permissions hold in every channel; channel-scoped ones only in the channel they were asked for', () => {
    usePermissions.getState().set({ team: ['create_public_channel'], channel: ['manage_channel_properties'] }, 'c2');
    const p = usePermissions.getState();
    expect(canTeam(p, 'create_public_channel')).toBe(true);
    expect(canTeam(p, 'create_private_channel')).toBe(false);
    expect(canChannel(p, 'manage_channel_properties', 'c2')).toBe(true);
    expect(canChannel(p, 'manage_channel_properties', 'c3')).toBe(false);
    expect(canChannel(p, 'create_public_channel', 'c3')).toBe(true);
  });

  function stubFetch(answers: Record<string, () => Promise<Response>>) {
    const fetch = vi.fn((url: string) => {
      const a = answers[url];
      if (!a) throw new Error(`unexpected ${url}`);
      return a();
    });
    vi.stubGlobal('fetch', fetch);
    return fetch;
  }
  const json = (b: MyPermissions, status = 200) => new Response(JSON.stringify(b), { status });

  it('the latest request wins: an older answer arriving late does not overwrite a newer one', async () => {
    let releaseOld!: () => void;
    stubFetch({
      '/api/users/me/permissions?channel_id=c1': () =>
        new Promise((r) => (releaseOld = () => r(json({ team: ['create_public_channel'], channel: [] })))),
      '/api/users/me/permissions?channel_id=c2': () => Promise.resolve(json({ team: [], channel: ['post_in_read_only'] })),
    });
    const first = refreshPermissions('c1');
    await refreshPermissions('c2');
    releaseOld();
    await first;
    expect(usePermissions.getState()).toMatchObject({ team: [], channel: ['post_in_read_only'], channelId: 'c2', loaded: true });
  });

  it('a channel the user may no longer see (404) falls back to the team’s permissions', async () => {
    stubFetch({
      '/api/users/me/permissions?channel_id=c9': () =>
        Promise.resolve(new Response(JSON.stringify({ error: { code: 'channel_not_found', message: 'no' } }), { status: 404 })),
      '/api/users/me/permissions': () => Promise.resolve(json({ team: ['invite_user'], channel: [] })),
    });
    await refreshPermissions('c9');
    expect(usePermissions.getState()).toMatchObject({ team: ['invite_user'], channelId: '', error: null });
  });

  it('a failed fetch keeps the last answer and says why', async () => {
    usePermissions.getState().set({ team: ['invite_user'], channel: [] }, null);
    stubFetch({ '/api/users/me/permissions': () => Promise.reject(new TypeError('offline')) });
    await refreshPermissions(null);
    expect(usePermissions.getState().team).toEqual(['invite_user']);
    expect(usePermissions.getState().error).toMatch(/Could not load your permissions/);
  });
});

describe('the scheme editor', () => {
  const base: Scheme = { roles: { team_user: ['use_channel_mentions'], team_admin: [], channel_user: [], channel_admin: [] } };
  it('channel roles are offered the three channel-scoped permissions only', () => {
    expect(schemeCellAllowed('channel_admin', 'manage_channel_members')).toBe(true);
    expect(schemeCellAllowed('channel_user', 'invite_user')).toBe(false);
    expect(schemeCellAllowed('team_user', 'invite_user')).toBe(true);
    expect(toggleScheme(base, 'channel_user', 'invite_user', true).roles.channel_user).toEqual([]);
  });
  it('grants and takes permissions in the contract’s order, leaving the other roles alone', () => {
    let s = toggleScheme(base, 'team_user', 'create_public_channel', true);
    expect(s.roles.team_user).toEqual(['create_public_channel', 'use_channel_mentions']);
    s = toggleScheme(s, 'team_user', 'use_channel_mentions', false);
    expect(s.roles).toEqual({ ...base.roles, team_user: ['create_public_channel'] });
  });
});
