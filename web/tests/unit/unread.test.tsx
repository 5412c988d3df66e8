// Read state from the server: `unread` frames on the presence socket set a channel's counts (every tab of the user),
// the sidebar shows them, the channel view marks what is seen read (throttled, never down) and shows a
// "New messages" line where the unread part began when it was opened.
import { act, fireEvent, render, screen, waitFor, within } from '@testing-library/react';
import { MemoryRouter, Route, Routes } from 'react-router-dom';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Sidebar } from '../../src/components/Sidebar';
import { ChatSocketProvider } from '../../src/realtime/ChatSocketProvider';
import { PresenceProvider } from '../../src/realtime/usePresence';
import { MARK_READ_INTERVAL_MS, newMessagesIndex, ReadMarker, readMarker } from '../../src/readState';
import { MainApp } from '../../src/screens/MainApp';
import { clearOldLastRead, OLD_LAST_READ_KEY, useAuth, useChat, usePermissions } from '../../src/store';
import type { Channel, Message } from '../../src/types';
import { asImpl, FakeWebSocket } from './fakeWs';

const me = { id: 'u1', username: 'amina', display_name: 'Amina', team_id: 't1', roles: ['team_user'] };
const bo = { id: 'u2', username: 'bo', display_name: 'Bo Berg', team_id: 't1', roles: ['team_user'] };
const ch = (id: string, name: string, extra: Partial<Channel> = {}): Channel => ({
  id,
  team_id: 't1',
  name,
  display_name: name,
  type: 'public',
  creator_id: 'u2',
  last_seq: 0,
  last_read_seq: 0,
  unread_count: 0,
  mention_count: 0,
  ...extra,
});
const msg = (seq: number, extra: Partial<Message> = {}): Message => ({
  id: `m${seq}`,
  channel_id: 'c2',
  seq,
  user_id: 'u2',
  content: `text ${seq}`,
  created_at: '2026-12-01T10:00:00Z',
  client_id: null,
  reactions: [],
  root_id: null,
  mentions: [],
  ...extra,
});
const frame = (channel_id: string, last_seq: number, last_read_seq: number, unread_count: number, mention_count: number) => ({
  type: 'unread',
  channel_id,
  last_seq,
  last_read_seq,
  unread_count,
  mention_count,
});
const presenceSocket = () => FakeWebSocket.instances.find((w) => w.url.endsWith('/ws/presence'))!;
const openPresence = () => {
  const ws = presenceSocket();
  act(() => {
    ws.serverOpen();
    ws.serverSend({ type: 'hello', user_id: 'u1', heartbeat_interval_ms: 25000 });
  });
  return ws;
};
const link = (name: string) => document.querySelector<HTMLAnchorElement>(`nav a[data-channel-name="${name}"]`)!;

beforeEach(() => {
  vi.spyOn(console, 'warn').mockImplementation(() => {});
  FakeWebSocket.reset();
  useChat.getState().reset();
  usePermissions.getState().reset();
  useAuth.setState({ token: 't', user: me, team: { id: 't1', name: 'acme', display_name: 'Acme' }, notice: null, teamNotice: null });
});
afterEach(() => {
  vi.useRealTimers();
  vi.unstubAllGlobals();
  vi.restoreAllMocks();
});

describe('the store', () => {
  it('an unread frame replaces the channel’s counts and raises its last_seq, never lowers it', () => {
    const st = useChat.getState();
    st.setChannels([ch('c1', 'town-square', { last_seq: 5, last_read_seq: 5 }), ch('c2', 'news', { last_seq: 9 })]);
    st.applyUnread({ channel_id: 'c1', last_seq: 7, last_read_seq: 5, unread_count: 2, mention_count: 1 });
    expect(useChat.getState().channels.find((c) => c.id === 'c1')).toMatchObject({ last_seq: 7, last_read_seq: 5, unread_count: 2, mention_count: 1 });
    // authoritative: fewer than held is what the server says now
    st.applyUnread({ channel_id: 'c1', last_seq: 6, last_read_seq: 7, unread_count: 0, mention_count: 0 });
    expect(useChat.getState().channels.find((c) => c.id === 'c1')).toMatchObject({ last_seq: 7, last_read_seq: 7, unread_count: 0, mention_count: 0 });
    // a channel that is not the user's is not added by a frame
    const before = useChat.getState().channels;
    st.applyUnread({ channel_id: 'c9', last_seq: 1, last_read_seq: 0, unread_count: 1, mention_count: 0 });
    expect(useChat.getState().channels).toBe(before);
  });

  it('a channel event’s copy (channel_updated) keeps the held read state', () => {
    const st = useChat.getState();
    st.setChannels([ch('c1', 'town-square', { last_seq: 5, last_read_seq: 3, unread_count: 2, mention_count: 1 })]);
    st.updateChannel({ id: 'c1', team_id: 't1', name: 'town-square', display_name: 'Town', type: 'public', last_seq: 4, topic: 'hi' });
    expect(useChat.getState().channels[0]).toMatchObject({ display_name: 'Town', topic: 'hi', last_seq: 5, last_read_seq: 3, unread_count: 2, mention_count: 1 });
  });

  it('markedRead zeroes the counts and moves the cursor up only', () => {
    const st = useChat.getState();
    st.setChannels([ch('c1', 'town-square', { last_seq: 9, last_read_seq: 6, unread_count: 3, mention_count: 2 })]);
    st.markedRead('c1', 4);
    expect(useChat.getState().channels[0]).toMatchObject({ last_read_seq: 6, unread_count: 0, mention_count: 0 });
    st.markedRead('c1', 9);
    expect(useChat.getState().channels[0].last_read_seq).toBe(9);
  });

  it('a channel list answered before a read does not put the cursor (nor the counts) back', () => {
    const st = useChat.getState();
    st.setChannels([ch('c1', 'town-square', { last_seq: 9, last_read_seq: 3, unread_count: 4 })]);
    st.markedRead('c1', 9);
    st.setChannels([ch('c1', 'town-square', { last_seq: 9, last_read_seq: 3, unread_count: 4, mention_count: 1 })]);
    expect(useChat.getState().channels[0]).toMatchObject({ last_read_seq: 9, unread_count: 0, mention_count: 0 });
    // a newer list (its cursor as far, or further) is taken as it is
    st.setChannels([ch('c1', 'town-square', { last_seq: 11, last_read_seq: 9, unread_count: 2, mention_count: 0 })]);
    expect(useChat.getState().channels[0]).toMatchObject({ last_read_seq: 9, unread_count: 2 });
  });

  it('the old browser-side markers are gone', () => {
    localStorage.setItem(OLD_LAST_READ_KEY, '{"c1":4}');
    clearOldLastRead();
    expect(localStorage.getItem(OLD_LAST_READ_KEY)).toBeNull();
    expect('lastRead' in useChat.getState()).toBe(false);
  });
});

describe('the sidebar, live from the presence socket', () => {
  function renderSidebar(at = '/c/c1') {
    vi.stubGlobal('fetch', vi.fn(() => Promise.resolve(new Response('[]', { status: 200 }))));
    return render(
      <MemoryRouter initialEntries={[at]}>
        <PresenceProvider WebSocketImpl={asImpl}>
          <Routes>
            <Route path="/c/:channelId" element={<Sidebar />} />
          </Routes>
        </PresenceProvider>
      </MemoryRouter>,
    );
  }

  it('an unread frame makes a channel bold with its count, and its mentions an accent badge; a read frame clears it', () => {
    useChat.getState().setChannels([ch('c1', 'town-square'), ch('c2', 'news')]);
    renderSidebar();
    const ws = openPresence();
    expect(link('news').className).not.toContain('unread');
    act(() => ws.serverSend(frame('c2', 3, 0, 3, 0)));
    expect(link('news').className).toContain('unread');
    expect(within(link('news')).getByRole('img', { name: '3 unread messages' }).textContent).toBe('3');
    expect(within(link('news')).queryByRole('img', { name: /mention/ })).toBeNull();
    act(() => ws.serverSend(frame('c2', 4, 0, 4, 1)));
    const badge = within(link('news')).getByRole('img', { name: '1 mention' });
    expect(badge.className).toBe('mention-badge');
    expect(badge.textContent).toBe('1');
    // read in another tab: the cursor moved, the counts are 0
    act(() => ws.serverSend(frame('c2', 4, 4, 0, 0)));
    expect(link('news').className).not.toContain('unread');
    expect(within(link('news')).queryByRole('img')).toBeNull();
  });

  it('the open channel is not shown unread; direct messages show their counts too', () => {
    useChat.getState().setChannels([
      ch('c1', 'town-square', { unread_count: 2 }),
      ch('d1', 'dm-1', { type: 'direct', display_name: 'bo', unread_count: 5, mention_count: 2 }),
    ]);
    useChat.getState().setUsers([bo]);
    useChat.getState().setDirectMembers('d1', ['u1', 'u2']);
    renderSidebar('/c/c1');
    expect(link('town-square').className).not.toContain('unread');
    const dm = link('dm-1');
    expect(dm.className).toContain('unread');
    expect(within(dm).getByRole('img', { name: '5 unread messages' })).toBeTruthy();
    expect(within(dm).getByRole('img', { name: '2 mentions' }).textContent).toBe('2');
  });
});

describe('ReadMarker: throttled, never down', () => {
  it('posts at most once a second per channel, the highest seq asked for last, and never at or below the cursor', async () => {
    vi.useFakeTimers();
    useChat.getState().setChannels([ch('c1', 'town-square', { last_read_seq: 2, unread_count: 4, mention_count: 1 }), ch('c2', 'news')]);
    const post = vi.fn(() => Promise.resolve());
    const marker = new ReadMarker(post, () => Date.now());
    marker.mark('c1', 2); // at the cursor: nothing
    expect(post).not.toHaveBeenCalled();
    marker.mark('c1', 5);
    expect(post.mock.calls).toEqual([['c1', 5]]);
    // optimistic: the counts are 0 at once
    expect(useChat.getState().channels.find((c) => c.id === 'c1')).toMatchObject({ last_read_seq: 5, unread_count: 0, mention_count: 0 });
    marker.mark('c1', 6);
    marker.mark('c1', 8);
    marker.mark('c1', 7);
    marker.mark('c2', 1); // another channel has its own second
    expect(post.mock.calls).toEqual([['c1', 5], ['c2', 1]]);
    vi.advanceTimersByTime(MARK_READ_INTERVAL_MS - 1);
    expect(post).toHaveBeenCalledTimes(2);
    vi.advanceTimersByTime(1);
    expect(post.mock.calls).toEqual([['c1', 5], ['c2', 1], ['c1', 8]]);
    // below what was sent: nothing, even after the second
    vi.advanceTimersByTime(5000);
    marker.mark('c1', 4);
    marker.mark('c1', 8);
    expect(post).toHaveBeenCalledTimes(3);
    // a frame older than the last request (the old cursor): what was sent is not sent again
    useChat.getState().applyUnread({ channel_id: 'c1', last_seq: 8, last_read_seq: 5, unread_count: 3, mention_count: 0 });
    marker.mark('c1', 8);
    expect(post).toHaveBeenCalledTimes(3);
    // the server's frame says the cursor is further on (another tab): below it, nothing
    useChat.getState().applyUnread({ channel_id: 'c1', last_seq: 12, last_read_seq: 12, unread_count: 0, mention_count: 0 });
    marker.mark('c1', 10);
    expect(post).toHaveBeenCalledTimes(3);
    marker.mark('c1', 13);
    expect(post).toHaveBeenLastCalledWith('c1', 13);
    await Promise.resolve();
  });

  it('a failed request is logged, not thrown', async () => {
    useChat.getState().setChannels([ch('c1', 'town-square')]);
    const post = vi.fn(() => Promise.reject(new Error('offline')));
    new ReadMarker(post).mark('c1', 3);
    await waitFor(() => expect(console.warn).toHaveBeenCalledWith('[read]', 'mark_read_failed', 'c1', 3, expect.any(Error)));
  });

  it('a channel no longer the user’s is not marked', () => {
    const post = vi.fn(() => Promise.resolve());
    new ReadMarker(post).mark('c1', 3);
    expect(post).not.toHaveBeenCalled();
  });
});

describe('the "New messages" line', () => {
  it('goes above the first live message after the cursor that someone else wrote', () => {
    const list = [msg(3), msg(4), msg(5, { user_id: 'u1' }), msg(6, { deleted: true }), msg(7), msg(8)];
    expect(newMessagesIndex(list, 4, 'u1')).toBe(4);
    expect(newMessagesIndex(list, 2, 'u1')).toBe(0);
    expect(newMessagesIndex(list, 8, 'u1')).toBe(-1);
    expect(newMessagesIndex(list.slice(2, 4), 4, 'u1')).toBe(-1);
  });
});

describe('the channel view', () => {
  let channels: Channel[] = [];
  let history: Message[] = [];
  const calls: { method: string; url: string; body?: string }[] = [];
  const reads = () => calls.filter((c) => c.method === 'POST' && c.url.endsWith('/read'));
  const ok = (b: unknown) => Promise.resolve(new Response(JSON.stringify(b), { status: 200 }));
  let focused = true;

  beforeEach(() => {
    // the app's marker outlives a test: its seconds start afresh
    readMarker.reset();
    focused = true;
    vi.spyOn(document, 'hasFocus').mockImplementation(() => focused);
    vi.spyOn(document, 'visibilityState', 'get').mockReturnValue('visible');
    channels = [ch('c1', 'town-square'), ch('c2', 'news', { last_seq: 6, last_read_seq: 3, unread_count: 2, mention_count: 1 })];
    history = [msg(1), msg(2, { user_id: 'u1' }), msg(3), msg(4, { user_id: 'u1' }), msg(5, { mentions: ['u1'], content: 'hey @amina' }), msg(6)];
    calls.length = 0;
    vi.stubGlobal(
      'fetch',
      vi.fn((url: string, init?: RequestInit) => {
        calls.push({ method: init?.method ?? 'GET', url, body: init?.body as string | undefined });
        if (url === '/api/channels') return ok(channels);
        if (url.includes('/messages')) return ok({ messages: history, has_more: false });
        if (url.endsWith('/read')) return Promise.resolve(new Response(null, { status: 204 }));
        return ok([]);
      }),
    );
  });

  function renderAt(path: string) {
    return render(
      <MemoryRouter initialEntries={[path]}>
        <PresenceProvider WebSocketImpl={asImpl}>
          <ChatSocketProvider WebSocketImpl={asImpl}>
            <Routes>
              <Route path="/c/:channelId" element={<MainApp />} />
            </Routes>
          </ChatSocketProvider>
        </PresenceProvider>
      </MemoryRouter>,
    );
  }

  it('opens with the line above the first unread message from someone else, marks it read, and keeps the line', async () => {
    // the page's first load: the channel list (with the read state) comes first, then the view opens
    renderAt('/c/c2');
    await screen.findByText('text 6');
    const log = screen.getByRole('log', { name: 'Messages' });
    const line = within(log).getByRole('separator', { name: 'New messages' });
    // seq 4 is the user's own: the line is above seq 5
    expect(line.nextElementSibling?.getAttribute('data-seq')).toBe('5');
    expect(log.querySelectorAll('.new-messages-line')).toHaveLength(1);
    await waitFor(() => expect(reads()).toHaveLength(1));
    expect(reads()[0]).toMatchObject({ url: '/api/channels/c2/read', body: JSON.stringify({ seq: 6 }) });
    expect(useChat.getState().channels.find((c) => c.id === 'c2')).toMatchObject({ last_read_seq: 6, unread_count: 0, mention_count: 0 });
    // read now, yet the line stays while the channel is open
    expect(within(log).getByRole('separator', { name: 'New messages' })).toBeTruthy();
  });

  it('no line when nothing was unread at open; the mention is highlighted and its message marked', async () => {
    channels[1] = ch('c2', 'news', { last_seq: 6, last_read_seq: 6 });
    useChat.getState().setChannels(channels);
    useChat.getState().setUsers([me, bo]);
    renderAt('/c/c2');
    await screen.findByText('text 6');
    expect(screen.queryByRole('separator', { name: 'New messages' })).toBeNull();
    const row = document.querySelector('article[data-seq="5"]')!;
    expect(row.className).toContain('mentioned');
    expect(row.querySelector('.mention')?.textContent).toBe('@amina');
    expect(document.querySelector('article[data-seq="6"]')!.className).not.toContain('mentioned');
    // nothing above the cursor: nothing to post
    expect(reads()).toHaveLength(0);
  });

  it('marks read only while the window is focused, when it gets the focus back', async () => {
    focused = false;
    useChat.getState().setChannels(channels);
    renderAt('/c/c2');
    await screen.findByText('text 6');
    await act(() => new Promise((r) => setTimeout(r, 20)));
    expect(reads()).toHaveLength(0);
    focused = true;
    fireEvent.focus(window);
    await waitFor(() => expect(reads()).toHaveLength(1));
    expect(reads()[0].body).toBe(JSON.stringify({ seq: 6 }));
  });
});
