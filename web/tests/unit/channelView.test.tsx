import { act, render, screen, waitFor } from '@testing-library/react';
import { MemoryRouter, Route, Routes } from 'react-router-dom';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ChatSocketProvider } from '../../src/realtime/ChatSocketProvider';
import { PresenceProvider } from '../../src/realtime/usePresence';
import { MainApp } from '../../src/screens/MainApp';
import { useAuth, useChat, usePermissions } from '../../src/store';
import type { Channel, MyPermissions } from '../../src/types';
import { asImpl, FakeWebSocket } from './fakeWs';

const me = { id: 'u1', username: 'amina', display_name: 'Amina', team_id: 't1', roles: ['team_user'] };
const ch = (id: string, name: string, extra: Partial<Channel> = {}): Channel => ({
  id,
  team_id: 't1',
  name,
  display_name: name,
  type: 'public',
  creator_id: 'u2',
  last_seq: 0,
  ...extra,
});

let channels: Channel[] = [];
let browse: (Channel & { member_count: number })[] = [];
let perms: MyPermissions = { team: [], channel: [] };
const calls: string[] = [];
const ok = (b: unknown) => Promise.resolve(new Response(JSON.stringify(b), { status: 200 }));

beforeEach(() => {
  vi.spyOn(console, 'warn').mockImplementation(() => {});
  FakeWebSocket.reset();
  useChat.getState().reset();
  usePermissions.getState().reset();
  useAuth.setState({ token: 't', user: me, team: { id: 't1', name: 'acme', display_name: 'Acme' }, notice: null, teamNotice: null });
  channels = [ch('c1', 'town-square'), ch('c2', 'news', { display_name: 'News' })];
  browse = [];
  perms = { team: [], channel: [] };
  calls.length = 0;
  vi.stubGlobal(
    'fetch',
    vi.fn((url: string, init?: RequestInit) => {
      calls.push(`${init?.method ?? 'GET'} ${url}`);
      if (url === '/api/channels') return ok(channels);
      if (url === '/api/channels/browse') return ok(browse);
      if (url.startsWith('/api/users/me/permissions')) return ok(perms);
      if (url.includes('/messages')) return ok({ messages: [], has_more: false });
      if (url.endsWith('/join')) return ok(browse[0]);
      return ok([]);
    }),
  );
});
afterEach(() => {
  vi.unstubAllGlobals();
  vi.restoreAllMocks();
});

function Onboarded() {
  return <div role="status">onboarding: {useAuth((s) => s.teamNotice)}</div>;
}

function renderAt(path: string) {
  return render(
    <MemoryRouter initialEntries={[path]}>
      <PresenceProvider WebSocketImpl={asImpl}>
        <ChatSocketProvider WebSocketImpl={asImpl}>
          <Routes>
            <Route path="/c/:channelId" element={<MainApp />} />
            <Route path="/onboarding" element={<Onboarded />} />
          </Routes>
        </ChatSocketProvider>
      </PresenceProvider>
    </MemoryRouter>,
  );
}
const chatSocket = async (id: string) => {
  let ws: FakeWebSocket | undefined;
  await waitFor(() => {
    ws = FakeWebSocket.instances.find((w) => w.url.endsWith(`/ws/chat/${id}`));
    expect(ws).toBeTruthy();
  });
  act(() => {
    ws!.serverOpen();
    ws!.serverSend({ type: 'hello', channel_id: id, user_id: 'u1', last_seq: 0, heartbeat_interval_ms: 25000 });
  });
  return ws!;
};
const composer = () => screen.getByRole<HTMLTextAreaElement>('textbox', { name: 'Message #news' });

describe('a channel, as its properties and the user’s permissions say', () => {
  it('a read-only channel disables the composer without post_in_read_only, and enables it with it', async () => {
    channels[1] = ch('c2', 'news', { display_name: 'News', read_only: true, topic: 'Announcements only' });
    renderAt('/c/c2');
    await screen.findByText('Announcements only');
    await waitFor(() => expect(usePermissions.getState().loaded).toBe(true));
    expect(composer().disabled).toBe(true);
    expect(calls).toContain('GET /api/users/me/permissions?channel_id=c2');
    act(() => usePermissions.getState().set({ team: [], channel: ['post_in_read_only'] }, 'c2'));
    expect(composer().disabled).toBe(false);
  });

  it('channel_archived on the chat socket shows the archived banner and disables the composer; the socket stays open', async () => {
    renderAt('/c/c2');
    const ws = await chatSocket('c2');
    expect(composer().disabled).toBe(false);
    act(() => ws.serverSend({ type: 'channel_archived', channel_id: 'c2', channel: ch('c2', 'news', { display_name: 'News', archived_at: '2026-12-01T10:00:00Z' }) }));
    expect(screen.getByText(/This channel was archived/)).toBeTruthy();
    expect(composer().disabled).toBe(true);
    expect(ws.closedWith).toBeNull();
    // channel_updated (a new topic) shows in the header
    act(() => ws.serverSend({ type: 'channel_updated', channel: ch('c2', 'news', { display_name: 'News', topic: 'Old news' }) }));
    expect(screen.getByText('Old news')).toBeTruthy();
  });

  it('an error frame refusing a post is shown', async () => {
    renderAt('/c/c2');
    const ws = await chatSocket('c2');
    act(() => ws.serverSend({ type: 'error', code: 'read_only', message: 'read only', client_id: 'x' }));
    expect(screen.getByRole('alert').textContent).toMatch(/read-only: your message was not posted/);
  });

  it('a 4403 on the open channel shows who removed what, with a way back, and no reconnect', async () => {
    renderAt('/c/c2');
    const ws = await chatSocket('c2');
    act(() => ws.serverClose(4403, 'not a member'));
    await screen.findByText('You were removed from #News');
    expect(FakeWebSocket.instances.filter((w) => w.url.endsWith('/ws/chat/c2'))).toHaveLength(1);
    act(() => screen.getByRole('button', { name: 'Go to #town-square' }).click());
    await chatSocket('c1');
  });

  it('added back after a removal: the channel opens again (the old 4403 is not taken for a new one)', async () => {
    renderAt('/c/c2');
    const ws = await chatSocket('c2');
    act(() => ws.serverClose(4403, 'not a member'));
    await screen.findByText('You were removed from #News');
    const presence = FakeWebSocket.instances.find((w) => w.url.endsWith('/ws/presence'))!;
    act(() => {
      presence.serverOpen();
      presence.serverSend({ type: 'hello', user_id: 'u1', heartbeat_interval_ms: 25000 });
      presence.serverSend({ type: 'channel_member_added', channel: ch('c2', 'news', { display_name: 'News' }), user_id: 'u1' });
    });
    await waitFor(() => expect(FakeWebSocket.instances.filter((w) => w.url.endsWith('/ws/chat/c2'))).toHaveLength(2));
    const again = FakeWebSocket.instances.filter((w) => w.url.endsWith('/ws/chat/c2'))[1];
    act(() => {
      again.serverOpen();
      again.serverSend({ type: 'hello', channel_id: 'c2', user_id: 'u1', last_seq: 0, heartbeat_interval_ms: 25000 });
    });
    expect(composer().disabled).toBe(false);
    expect(useChat.getState().removed).toEqual({});
  });

  it('a public channel the user is not in offers Join; joining opens it', async () => {
    browse = [{ ...ch('c3', 'lounge', { purpose: 'Chat about anything' }), member_count: 3 }];
    renderAt('/c/c3');
    await screen.findByText('Chat about anything');
    expect(FakeWebSocket.instances.some((w) => w.url.includes('/ws/chat/'))).toBe(false);
    act(() => screen.getByRole('button', { name: 'Join channel' }).click());
    await chatSocket('c3');
    expect(calls).toContain('POST /api/channels/c3/join');
    expect(screen.getByRole<HTMLTextAreaElement>('textbox', { name: 'Message #lounge' }).disabled).toBe(false);
  });

  it('team_removed on the presence socket lands the user on onboarding, saying why, with no chat socket left', async () => {
    renderAt('/c/c2');
    const chatWs = await chatSocket('c2');
    const presence = FakeWebSocket.instances.find((w) => w.url.endsWith('/ws/presence'))!;
    act(() => {
      presence.serverOpen();
      presence.serverSend({ type: 'hello', user_id: 'u1', heartbeat_interval_ms: 25000 });
    });
    act(() => presence.serverSend({ type: 'team_removed', team_id: 't1' }));
    expect((await screen.findByRole('status')).textContent).toMatch(/removed from the team Acme/);
    expect(chatWs.closedWith).not.toBeNull();
    expect(presence.closedWith).toBeNull();
  });
});
