// Mentions: the `@token` being typed, the suggestions (members by username or display name, the channel-wide ones
// with the permission), the keyboard in the composer (Up/Down, Enter/Tab insert, Esc closes, Enter sends when
// closed), and the highlighting of mentions in messages (text stays text).
import { act, fireEvent, render, screen, waitFor, within } from '@testing-library/react';
import { MemoryRouter, Route, Routes } from 'react-router-dom';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { MessageContent } from '../../src/components/MessageContent';
import { insertMention, mentionOptions, mentionQuery, mentionsMe, splitMentions } from '../../src/mentions';
import { ChatSocketProvider } from '../../src/realtime/ChatSocketProvider';
import { PresenceProvider } from '../../src/realtime/usePresence';
import { MainApp } from '../../src/screens/MainApp';
import { applyPresenceEvent } from '../../src/workspace';
import { useAuth, useChat, usePermissions } from '../../src/store';
import type { Channel, User } from '../../src/types';
import { asImpl, FakeWebSocket } from './fakeWs';

const u = (id: string, username: string, display_name: string, extra: Partial<User> = {}): User => ({
  id,
  username,
  display_name,
  team_id: 't1',
  roles: ['team_user'],
  ...extra,
});
const me = u('u1', 'amina', 'Amina');
const bo = u('u2', 'bo', 'Bo Berg');
const bob = u('u3', 'bobby', 'Robert Tables');
const carla = u('u4', 'carla', 'Carla Bosch');
const gone = u('u5', 'boris', 'Boris', { deactivated: true });
const everyone = [me, bo, bob, carla, gone];

beforeEach(() => {
  vi.spyOn(console, 'warn').mockImplementation(() => {});
  FakeWebSocket.reset();
  useChat.getState().reset();
  usePermissions.getState().reset();
  useAuth.setState({ token: 't', user: me, team: { id: 't1', name: 'acme', display_name: 'Acme' }, notice: null, teamNotice: null });
});
afterEach(() => {
  vi.unstubAllGlobals();
  vi.restoreAllMocks();
});

describe('the @token being typed', () => {
  it('needs an @ at a word’s start and a letter or digit after it', () => {
    expect(mentionQuery('hi @bo', 6)).toEqual({ start: 3, end: 6, query: 'bo' });
    expect(mentionQuery('@c', 2)).toEqual({ start: 0, end: 2, query: 'c' });
    expect(mentionQuery('hi @', 4)).toBeNull();
    expect(mentionQuery('mail a@bo', 9)).toBeNull();
    expect(mentionQuery('hi @bo there', 12)).toBeNull();
    // the caret inside the token: all of it is replaced
    expect(mentionQuery('hi @bobby!', 5)).toEqual({ start: 3, end: 9, query: 'bobby' });
  });

  it('a pick replaces the token with @username and one space', () => {
    expect(insertMention('hi @bo', { start: 3, end: 6, query: 'bo' }, 'bobby')).toEqual({ text: 'hi @bobby ', caret: 10 });
    expect(insertMention('@b and more', { start: 0, end: 2, query: 'b' }, 'bo')).toEqual({ text: '@bo and more', caret: 4 });
  });
});

describe('the suggestions', () => {
  const names = (q: string, channelWide = true) => mentionOptions(q, everyone, { me: 'u1', channelWide }).map((o) => o.name);

  it('members by username prefix first, then by a display name’s word; not oneself, not the deactivated', () => {
    expect(names('bo')).toEqual(['bo', 'bobby', 'carla']);
    expect(names('ROB')).toEqual(['bobby']);
    expect(names('am')).toEqual([]);
    expect(names('bor')).toEqual([]);
  });

  it('@channel, @all, @here with a description, only when allowed', () => {
    const o = mentionOptions('', everyone, { me: 'u1', channelWide: true }).filter((x) => x.kind === 'special');
    expect(o.map((x) => x.name)).toEqual(['channel', 'all', 'here']);
    expect(o.every((x) => x.kind === 'special' && x.description.length > 0)).toBe(true);
    expect(names('c')).toEqual(['carla', 'channel']);
    expect(names('c', false)).toEqual(['carla']);
    expect(names('h', true)).toEqual(['here']);
  });
});

describe('the members the suggestions know', () => {
  it('follow the channel’s members joining and leaving, once they are loaded', () => {
    const c = { id: 'c2', team_id: 't1', name: 'news', display_name: 'news', type: 'public' as const, last_seq: 0 };
    useChat.getState().setChannels([c]);
    applyPresenceEvent({ type: 'channel_member_added', channel: c, user_id: 'u3' });
    expect(useChat.getState().channelMembers.c2).toBeUndefined();
    useChat.getState().setChannelMembers('c2', ['u1', 'u2']);
    applyPresenceEvent({ type: 'channel_member_added', channel: c, user_id: 'u3' });
    applyPresenceEvent({ type: 'channel_member_added', channel: c, user_id: 'u3' });
    expect(useChat.getState().channelMembers.c2).toEqual(['u1', 'u2', 'u3']);
    applyPresenceEvent({ type: 'channel_member_removed', channel_id: 'c2', user_id: 'u2' });
    expect(useChat.getState().channelMembers.c2).toEqual(['u1', 'u3']);
  });
});

describe('highlighting', () => {
  const known = new Set(['amina', 'bo', 'bobby']);

  it('known usernames and the channel-wide mentions; not e-mail addresses, not unknown names', () => {
    expect(splitMentions('hi @bo and @nobody, mail x@bo.com. @all!', known)).toEqual([
      'hi ',
      { mention: 'bo', special: false },
      ' and @nobody, mail x@bo.com. ',
      { mention: 'all', special: true },
      '!',
    ]);
    // a sentence's full stop is not part of the name
    expect(splitMentions('thanks @bobby.', known)).toEqual(['thanks ', { mention: 'bobby', special: false }, '.']);
    expect(splitMentions('no mentions', known)).toEqual(['no mentions']);
  });

  it('renders mentions as spans and the rest as text (no markup from the message)', () => {
    useChat.getState().setUsers([bo]);
    const { container } = render(<p><MessageContent content={'<b>x</b> @bo @amina @here <img src=x onerror=alert(1)>'} /></p>);
    expect(container.querySelector('b')).toBeNull();
    expect(container.querySelector('img')).toBeNull();
    expect(container.textContent).toBe('<b>x</b> @bo @amina @here <img src=x onerror=alert(1)>');
    const spans = [...container.querySelectorAll('span.mention')].map((s) => [s.textContent, s.className]);
    expect(spans).toEqual([
      ['@bo', 'mention'],
      ['@amina', 'mention mention-me'],
      ['@here', 'mention mention-all'],
    ]);
  });

  it('a message mentions the user when its mentions name it', () => {
    expect(mentionsMe({ mentions: ['u1'] }, 'u1')).toBe(true);
    expect(mentionsMe({ mentions: [2] }, '2')).toBe(true);
    expect(mentionsMe({ mentions: ['u2'] }, 'u1')).toBe(false);
    expect(mentionsMe({}, 'u1')).toBe(false);
  });
});

describe('the composer', () => {
  const ch = (id: string, name: string, extra: Partial<Channel> = {}): Channel => ({
    id, team_id: 't1', name, display_name: name, type: 'public', creator_id: 'u2', last_seq: 0, ...extra,
  });
  const calls: string[] = [];
  const ok = (b: unknown) => Promise.resolve(new Response(JSON.stringify(b), { status: 200 }));

  beforeEach(() => {
    calls.length = 0;
    vi.stubGlobal(
      'fetch',
      vi.fn((url: string) => {
        calls.push(url);
        if (url === '/api/channels') return ok([ch('c1', 'town-square'), ch('c2', 'news')]);
        if (url === '/api/teams/t1/members') return ok(everyone);
        // carla is in the team, not in the channel
        if (url === '/api/channels/c2/members') return ok([me, bo, bob, gone]);
        if (url.includes('/messages')) return ok({ messages: [], has_more: false });
        if (url.startsWith('/api/users/me/permissions')) return new Promise(() => {});
        return ok([]);
      }),
    );
  });

  async function openNews() {
    render(
      <MemoryRouter initialEntries={['/c/c2']}>
        <PresenceProvider WebSocketImpl={asImpl}>
          <ChatSocketProvider WebSocketImpl={asImpl}>
            <Routes>
              <Route path="/c/:channelId" element={<MainApp />} />
            </Routes>
          </ChatSocketProvider>
        </PresenceProvider>
      </MemoryRouter>,
    );
    let ws: FakeWebSocket | undefined;
    await waitFor(() => {
      ws = FakeWebSocket.instances.find((w) => w.url.endsWith('/ws/chat/c2'));
      expect(ws).toBeTruthy();
    });
    act(() => {
      ws!.serverOpen();
      ws!.serverSend({ type: 'hello', channel_id: 'c2', user_id: 'u1', last_seq: 0, heartbeat_interval_ms: 25000 });
    });
    const box = screen.getByRole<HTMLTextAreaElement>('textbox', { name: 'Message #news' });
    return { ws: ws!, box };
  }
  const type = (box: HTMLTextAreaElement, value: string) => fireEvent.change(box, { target: { value } });
  const options = () => within(screen.getByRole('listbox', { name: 'Mention suggestions' })).getAllByRole('option');
  const sentMessages = (ws: FakeWebSocket) => ws.sent.filter((f) => f.type === 'message').map((f) => f.content);

  it('suggests the channel’s members as @ and letters are typed; Down and Enter insert the one chosen; Enter then sends', async () => {
    const { ws, box } = await openNews();
    type(box, 'hey @');
    expect(screen.queryByRole('listbox')).toBeNull();
    type(box, 'hey @b');
    // the channel's members, loaded for the suggestions
    await waitFor(() => expect(options().map((o) => o.getAttribute('data-username'))).toEqual(['bo', 'bobby']));
    expect(calls).toContain('/api/channels/c2/members');
    expect(options()[0].getAttribute('aria-selected')).toBe('true');
    expect(box.getAttribute('aria-activedescendant')).toBe(options()[0].id);
    expect(box.getAttribute('aria-controls')).toBe(screen.getByRole('listbox').id);
    fireEvent.keyDown(box, { key: 'ArrowDown' });
    expect(options()[1].getAttribute('aria-selected')).toBe('true');
    expect(box.getAttribute('aria-activedescendant')).toBe(options()[1].id);
    fireEvent.keyDown(box, { key: 'ArrowDown' });
    fireEvent.keyDown(box, { key: 'ArrowUp' });
    fireEvent.keyDown(box, { key: 'Enter' });
    expect(box.value).toBe('hey @bobby ');
    expect(screen.queryByRole('listbox')).toBeNull();
    expect(box.selectionStart).toBe('hey @bobby '.length);
    expect(sentMessages(ws)).toEqual([]);
    // the list closed: Enter sends
    fireEvent.keyDown(box, { key: 'Enter' });
    expect(sentMessages(ws)).toEqual(['hey @bobby']);
    expect(box.value).toBe('');
  });

  it('Tab inserts too, Esc closes (Enter then sends what was typed), a click picks', async () => {
    const { ws, box } = await openNews();
    type(box, '@bo');
    await waitFor(() => expect(options()).toHaveLength(2));
    fireEvent.keyDown(box, { key: 'Tab' });
    expect(box.value).toBe('@bo ');
    type(box, '@bo @bob');
    await waitFor(() => expect(options()).toHaveLength(1));
    fireEvent.keyDown(box, { key: 'Escape' });
    expect(screen.queryByRole('listbox')).toBeNull();
    // still in the same token: it stays closed
    type(box, '@bo @bobb');
    expect(screen.queryByRole('listbox')).toBeNull();
    fireEvent.keyDown(box, { key: 'Enter' });
    expect(sentMessages(ws)).toEqual(['@bo @bobb']);
    type(box, 'cc @r');
    await waitFor(() => expect(options()).toHaveLength(1));
    fireEvent.click(options()[0]);
    expect(box.value).toBe('cc @bobby ');
  });

  it('@channel, @all, @here: offered while the permissions are unknown, then only with use_channel_mentions', async () => {
    const { box } = await openNews();
    type(box, '@h');
    await waitFor(() => expect(options().map((o) => o.getAttribute('data-username'))).toEqual(['here']));
    expect(options()[0].textContent).toMatch(/online/);
    act(() => usePermissions.getState().set({ team: [], channel: [] }, 'c2'));
    expect(screen.queryByRole('listbox')).toBeNull();
    type(box, '@c');
    expect(screen.queryByRole('listbox')).toBeNull();
    act(() => usePermissions.getState().set({ team: ['use_channel_mentions'], channel: [] }, 'c2'));
    expect(options().map((o) => o.getAttribute('data-username'))).toEqual(['channel']);
  });
});
