import { act, render, screen } from '@testing-library/react';
import { MemoryRouter, Route, Routes, useLocation } from 'react-router-dom';
import { useEffect } from 'react';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Sidebar, NO_CREATE_TOOLTIP } from '../../src/components/Sidebar';
import { applyPresenceEvent } from '../../src/workspace';
import { ChatSocketProvider, useChatSocket } from '../../src/realtime/ChatSocketProvider';
import { PresenceProvider, usePresence, type PresenceEvent } from '../../src/realtime/usePresence';
import { useAuth, useChat, usePermissions } from '../../src/store';
import { advance, asImpl, FakeWebSocket } from './fakeWs';

const admin = { id: 1, username: 'amina', display_name: 'Amina', team_id: 10, roles: ['team_admin', 'team_user'] };
const ch = (id: number, name: string) => ({ id, team_id: 10, name, display_name: name, type: 'public' as const, last_seq: 0 });
const presenceSockets = () => FakeWebSocket.instances.filter((w) => w.url.endsWith('/ws/presence'));

beforeEach(() => {
  vi.useFakeTimers();
  vi.spyOn(console, 'warn').mockImplementation(() => {});
  vi.spyOn(Math, 'random').mockReturnValue(0.5);
  FakeWebSocket.reset();
  useChat.getState().reset();
  usePermissions.getState().reset();
  useAuth.setState({ token: 't', user: admin, team: { id: 10, name: 'acme', display_name: 'Acme' }, notice: null });
  vi.stubGlobal('fetch', vi.fn(() => Promise.resolve(new Response('[]', { status: 200 }))));
});
afterEach(() => {
  vi.useRealTimers();
  vi.unstubAllGlobals();
  vi.restoreAllMocks();
});

let got: PresenceEvent[] = [];
function Subscriber() {
  const p = usePresence();
  // subscribe once per provider value
  useEffect(() => p.onEvent((e) => got.push(e)), [p]);
  return null;
}

describe('usePresence()', () => {
  it('dispatches every server event to subscribers and keeps the presence map', () => {
    got = [];
    render(
      <PresenceProvider WebSocketImpl={asImpl}>
        <Subscriber />
      </PresenceProvider>,
    );
    expect(presenceSockets()).toHaveLength(1);
    const ws = presenceSockets()[0];
    act(() => ws.serverOpen());
    expect(ws.sent[0]).toEqual({ type: 'auth', token: 't' });
    const events = [
      { type: 'hello', user_id: 1, heartbeat_interval_ms: 25000 },
      { type: 'presence_list', users: [{ user_id: 1, status: 'online' }, { user_id: 2, status: 'away' }] },
      { type: 'presence_update', user_id: 2, status: 'online' },
      { type: 'presence_batch', updates: [{ user_id: 3, status: 'online' }, { user_id: 1, status: 'away' }] },
      { type: 'channel_created', channel: ch(50, 'news') },
      { type: 'channel_member_added', channel: ch(51, 'secret'), user_id: 1 },
    ];
    act(() => events.forEach((e) => ws.serverSend(e)));
    expect(got.map((e) => e.type)).toEqual(events.map((e) => e.type));
    expect(useChat.getState().presence).toEqual({ '1': 'away', '2': 'online', '3': 'online' });
    // heartbeat
    advance(25_000);
    expect(ws.sent.filter((f) => f.type === 'ping')).toHaveLength(1);
  });

  it('reconnects with backoff and never touches the chat socket', () => {
    let chat!: ReturnType<typeof useChatSocket>;
    function G() {
      const v = useChatSocket();
      useEffect(() => {
        chat = v;
      });
      return null;
    }
    render(
      <PresenceProvider WebSocketImpl={asImpl}>
        <ChatSocketProvider WebSocketImpl={asImpl}>
          <G />
        </ChatSocketProvider>
      </PresenceProvider>,
    );
    act(() => chat.connectChannel(5));
    const chatWs = FakeWebSocket.instances.find((w) => w.url.includes('/ws/chat/5'))!;
    act(() => chatWs.serverOpen());
    for (let i = 0; i < 3; i++) {
      const p = presenceSockets().at(-1)!;
      act(() => p.serverOpen());
      act(() => p.serverSend({ type: 'hello', user_id: 1 }));
      act(() => p.serverClose(1006));
      advance(500);
    }
    expect(presenceSockets()).toHaveLength(4);
    expect(FakeWebSocket.instances.filter((w) => w.url.includes('/ws/chat/'))).toHaveLength(1);
    expect(chatWs.closedWith).toBeNull();
    expect(chatWs.readyState).toBe(1);
  });

  it("heartbeats at the server's heartbeat_interval_ms from hello", () => {
    render(<PresenceProvider WebSocketImpl={asImpl}><div /></PresenceProvider>);
    const ws = presenceSockets()[0];
    act(() => ws.serverOpen());
    act(() => ws.serverSend({ type: 'hello', user_id: 1, heartbeat_interval_ms: 10_000 }));
    advance(10_000);
    expect(ws.pings()).toBe(1);
    advance(20_000);
    expect(ws.pings()).toBe(3);
  });

  it('logs out on 4401 and does not reconnect', () => {
    render(<PresenceProvider WebSocketImpl={asImpl}><div /></PresenceProvider>);
    act(() => presenceSockets()[0].serverClose(4401));
    expect(useAuth.getState().token).toBeNull();
    advance(120_000);
    expect(presenceSockets()).toHaveLength(1);
  });

  it('a replaced token (onboarding) does not reopen the presence socket', () => {
    render(<PresenceProvider WebSocketImpl={asImpl}><div /></PresenceProvider>);
    act(() => useAuth.getState().setSession('t2', admin));
    expect(presenceSockets()).toHaveLength(1);
  });
});

function Where() {
  return <div data-testid="where">{useLocation().pathname}</div>;
}
/** what MainApp does with presence events, without the rest of it */
function WorkspaceEvents() {
  const p = usePresence();
  useEffect(() => p.onEvent((e) => void applyPresenceEvent(e)), [p]);
  return null;
}
function renderSidebar() {
  return render(
    <MemoryRouter initialEntries={['/c/1']}>
      <PresenceProvider WebSocketImpl={asImpl}>
        <Routes>
          <Route path="/c/:channelId" element={<><WorkspaceEvents /><Sidebar /><Where /></>} />
        </Routes>
      </PresenceProvider>
    </MemoryRouter>,
  );
}

describe('Sidebar', () => {
  it('inserts a channel when channel_created arrives on the presence socket', () => {
    useChat.getState().setChannels([ch(1, 'town-square'), ch(2, 'off-topic')]);
    renderSidebar();
    expect(screen.queryByText('design')).toBeNull();
    const ws = presenceSockets()[0];
    act(() => ws.serverOpen());
    act(() => ws.serverSend({ type: 'channel_created', channel: ch(3, 'design') }));
    const link = screen.getByText('design').closest('a')!;
    expect(link.getAttribute('href')).toBe('/c/3');
    // someone else's public channel: listed, to be joined
    expect(link.getAttribute('data-member')).toBe('false');
    // the same event twice does not duplicate it
    act(() => ws.serverSend({ type: 'channel_created', channel: ch(3, 'design') }));
    expect(screen.getAllByText('design')).toHaveLength(1);
  });

  it("shows an enabled '+' with create_public_channel or create_private_channel", () => {
    usePermissions.getState().set({ team: ['create_private_channel'], channel: [] }, null);
    renderSidebar();
    expect(screen.getByRole<HTMLButtonElement>('button', { name: 'Create channel' }).disabled).toBe(false);
  });

  it("'+' is disabled with the tooltip without either permission, whatever the roles say", () => {
    // the session still says team_admin: the permissions, not the token's roles, decide
    usePermissions.getState().set({ team: ['invite_user', 'use_channel_mentions'], channel: [] }, null);
    renderSidebar();
    const b = screen.getByRole<HTMLButtonElement>('button', { name: 'Create channel' });
    expect(b.disabled).toBe(true);
    expect(b.title).toBe(NO_CREATE_TOOLTIP);
  });

  it("'+' follows the permissions as they change, without a remount", () => {
    usePermissions.getState().set({ team: ['create_public_channel'], channel: [] }, null);
    renderSidebar();
    const b = () => screen.getByRole<HTMLButtonElement>('button', { name: 'Create channel' });
    expect(b().disabled).toBe(false);
    act(() => usePermissions.getState().set({ team: [], channel: [] }, null));
    expect(b().disabled).toBe(true);
  });

  it('lists the channels to browse after its own, and offers team settings only with a settings permission', () => {
    useChat.getState().setChannels([ch(1, 'town-square')]);
    useChat.getState().setBrowse([{ ...ch(5, 'lounge'), member_count: 3 }]);
    renderSidebar();
    expect(screen.getByText('lounge').closest('a')!.getAttribute('data-member')).toBe('false');
    expect(screen.getByText('town-square').closest('a')!.getAttribute('data-member')).toBe('true');
    expect(screen.queryByRole('link', { name: 'Team settings' })).toBeNull();
    act(() => usePermissions.getState().set({ team: ['view_audit_log'], channel: [] }, null));
    expect(screen.getByRole('link', { name: 'Team settings' }).getAttribute('href')).toBe('/team');
  });

  it('marks channels with unread messages (the server’s count) as unread, not the open one', () => {
    useChat.getState().setChannels([
      { ...ch(1, 'town-square'), last_seq: 9, unread_count: 3 },
      { ...ch(2, 'off-topic'), last_seq: 4, last_read_seq: 2, unread_count: 2 },
      { ...ch(3, 'news'), last_seq: 7, last_read_seq: 5, unread_count: 0 },
    ]);
    renderSidebar();
    expect(screen.getByText('off-topic').closest('a')!.className).toContain('unread');
    // a seq above the cursor is not unread by itself: the server counts only others' messages
    expect(screen.getByText('news').closest('a')!.className).not.toContain('unread');
    expect(screen.getByText('town-square').closest('a')!.className).not.toContain('unread');
  });
});
