import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { matchesPerson } from '../../src/components/DirectMessageModal';
import { directPeople, directTitle, isDirect, loadDirectMembers, openDirect } from '../../src/direct';
import { useAuth, useChat } from '../../src/store';
import type { Channel, User } from '../../src/types';
import { applyPresenceEvent } from '../../src/workspace';

const user = (id: string, username: string, display_name = ''): User => ({ id, username, display_name, team_id: 't1', roles: ['team_user'] });
const me = user('u1', 'amina', 'Amina');
const bo = user('u2', 'bo', 'Bo');
const chen = user('u3', 'chen', 'Chen');
const dana = user('u4', 'dana', '');
const users = Object.fromEntries([me, bo, chen, dana].map((u) => [String(u.id), u]));
const ch = (id: string, extra: Partial<Channel> = {}): Channel => ({
  id,
  team_id: 't1',
  name: id,
  display_name: id,
  type: 'public',
  creator_id: 'u2',
  last_seq: 0,
  ...extra,
});
const dm = (id: string, display_name: string, creator_id: string, type: 'direct' | 'group' = 'direct') =>
  ch(id, { name: `dm-${id.padEnd(32, '0')}`, display_name, creator_id, type });
const names = (l: { name: string }[]) => l.map((c) => c.name);
const chat = () => useChat.getState();

beforeEach(() => {
  vi.spyOn(console, 'warn').mockImplementation(() => {});
  useChat.getState().reset();
  useAuth.setState({ token: 't', user: me, team: { id: 't1', name: 'acme', display_name: 'Acme' }, notice: null, teamNotice: null });
});
afterEach(() => {
  vi.unstubAllGlobals();
  vi.restoreAllMocks();
});

describe('naming a direct or group channel', () => {
  it('names the others by display name (else username), by name, never the viewer', () => {
    const c = dm('d1', 'bo, chen, dana', 'u1', 'group');
    const p = directPeople(c, ['u1', 'u2', 'u3', 'u4'], users, me);
    expect(p).toEqual([
      { id: 'u2', name: 'Bo' },
      { id: 'u3', name: 'Chen' },
      { id: 'u4', name: 'dana' },
    ]);
    expect(directTitle(p)).toBe('Bo, Chen, dana');
    expect(directTitle(directPeople(dm('d2', 'bo', 'u1'), ['u2', 'u1'], users, me))).toBe('Bo');
  });

  it('a member the store does not know yet is "Unknown user", not an id', () => {
    expect(directTitle(directPeople(dm('d1', 'zed', 'u1'), ['u1', 'u9'], users, me))).toBe('Unknown user');
  });

  it('before the members are known: the creator’s companions from display_name, plus the creator, less the viewer', () => {
    // made by me: display_name names the others
    expect(directPeople(dm('d1', 'bo', 'u1'), undefined, users, me)).toEqual([{ id: 'u2', name: 'Bo' }]);
    // made by Bo: display_name names me (Bo's companion), so the name is Bo's, taken from creator_id
    expect(directPeople(dm('d2', 'amina', 'u2'), undefined, users, me)).toEqual([{ id: 'u2', name: 'Bo' }]);
    // a group made by Chen with me and Bo
    expect(directTitle(directPeople(dm('d3', 'amina, bo', 'u3', 'group'), undefined, users, me))).toBe('Bo, Chen');
    // users not known yet: their usernames as they are (the viewer's own left out)
    expect(directTitle(directPeople(dm('d4', 'Amina, zoe', 'u1', 'group'), undefined, {}, me))).toBe('zoe');
  });

  it('a display name cut at 64 characters does not show the ellipsis as part of a name', () => {
    expect(directTitle(directPeople(dm('d1', 'bo, chen, someone-lo…', 'u1', 'group'), undefined, users, me))).toBe(
      'Bo, Chen, someone-lo',
    );
  });

  it('no one to name: "Direct message"', () => {
    expect(directTitle([])).toBe('Direct message');
  });

  it('only direct and group channels are direct', () => {
    expect(['public', 'private', 'direct', 'group'].map((type) => isDirect({ type: type as Channel['type'] }))).toEqual([
      false, false, true, true,
    ]);
  });

  it('the picker finds teammates by display name or username, in any case, with or without @', () => {
    expect(matchesPerson(bo, 'B')).toBe(true);
    expect(matchesPerson(user('u5', 'cmoreau', 'Claire Moreau'), 'moreau')).toBe(true);
    expect(matchesPerson(user('u5', 'cmoreau', 'Claire Moreau'), '@cmo')).toBe(true);
    expect(matchesPerson(bo, 'chen')).toBe(false);
    expect(matchesPerson(bo, '  ')).toBe(true);
  });
});

describe('the store: direct and group channels', () => {
  it('channel_created for a direct or group channel made by someone else makes it the user’s own, never one to browse', () => {
    chat().setChannels([ch('c1', { name: 'town-square' })]);
    applyPresenceEvent({ type: 'channel_created', channel: dm('d1', 'amina', 'u2') });
    applyPresenceEvent({ type: 'channel_created', channel: dm('d2', 'amina, chen', 'u2', 'group') });
    applyPresenceEvent({ type: 'channel_created', channel: dm('d1', 'amina', 'u2') });
    expect(names(chat().channels).filter((n) => n.startsWith('dm-'))).toHaveLength(2);
    expect(chat().channels).toHaveLength(3);
    expect(chat().browse).toEqual([]);
  });

  it('the members of a direct channel are kept as keys, once each, and forgotten on reset', () => {
    chat().setDirectMembers('d1', ['u2', 1, 'u2', 'u1']);
    expect(chat().directMembers).toEqual({ d1: ['1', 'u1', 'u2'] });
    chat().reset();
    expect(chat().directMembers).toEqual({});
  });

  it('openDirect POSTs the people, lists the channel and knows its members (the user included)', async () => {
    const made = dm('d1', 'bo, chen', 'u1', 'group');
    const fetch = vi.fn<(url: string, init?: RequestInit) => Promise<Response>>(() =>
      Promise.resolve(new Response(JSON.stringify(made), { status: 201 })),
    );
    vi.stubGlobal('fetch', fetch);
    const c = await openDirect(['u2', 'u3']);
    expect(c.id).toBe('d1');
    expect(fetch).toHaveBeenCalledTimes(1);
    const [url, init] = fetch.mock.calls[0];
    expect(url).toBe('/api/channels/direct');
    expect(init?.method).toBe('POST');
    expect(JSON.parse(init?.body as string)).toEqual({ user_ids: ['u2', 'u3'] });
    expect(names(chat().channels)).toEqual([made.name]);
    expect(chat().directMembers.d1).toEqual(['u1', 'u2', 'u3']);
  });

  it('openDirect refused (422 naming user_ids): the error carries the field and nothing is listed', async () => {
    const body = { error: { code: 'invalid_field', message: 'must name 1 to 7 other members of your team', field: 'user_ids' } };
    vi.stubGlobal('fetch', vi.fn(() => Promise.resolve(new Response(JSON.stringify(body), { status: 422 }))));
    await expect(openDirect(['u9'])).rejects.toMatchObject({ status: 422, field: 'user_ids' });
    expect(chat().channels).toEqual([]);
  });

  it('loadDirectMembers asks once per direct channel whose members are not known, and stores them and their users', async () => {
    const fetch = vi.fn((url: string) =>
      Promise.resolve(new Response(JSON.stringify(url.includes('/d1/') ? [me, bo] : [me, bo, chen]), { status: 200 })),
    );
    vi.stubGlobal('fetch', fetch);
    const list = [ch('c1'), dm('d1', 'bo', 'u1'), dm('d2', 'bo, chen', 'u1', 'group')];
    await loadDirectMembers(list);
    expect(fetch.mock.calls.map((c) => c[0]).sort()).toEqual(['/api/channels/d1/members', '/api/channels/d2/members']);
    expect(chat().directMembers).toEqual({ d1: ['u1', 'u2'], d2: ['u1', 'u2', 'u3'] });
    expect(chat().users.u3?.display_name).toBe('Chen');
    await loadDirectMembers(list);
    expect(fetch).toHaveBeenCalledTimes(2);
  });

  it('loadDirectMembers rejects when one fails, keeps the others, and asks again for the failed one next time', async () => {
    let fail = true;
    vi.stubGlobal(
      'fetch',
      vi.fn((url: string) =>
        url.includes('/d2/') && fail
          ? Promise.resolve(new Response(JSON.stringify({ error: { code: 'internal', message: 'boom' } }), { status: 500 }))
          : Promise.resolve(new Response(JSON.stringify([me, bo]), { status: 200 })),
      ),
    );
    const list = [dm('d1', 'bo', 'u1'), dm('d2', 'bo', 'u2')];
    await expect(loadDirectMembers(list)).rejects.toMatchObject({ status: 500 });
    expect(Object.keys(chat().directMembers)).toEqual(['d1']);
    fail = false;
    await loadDirectMembers(list);
    expect(Object.keys(chat().directMembers).sort()).toEqual(['d1', 'd2']);
  });
});
