import { act, fireEvent, render, screen, waitFor, within } from '@testing-library/react';
import { MemoryRouter, Route, Routes } from 'react-router-dom';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ChatSocketProvider } from '../../src/realtime/ChatSocketProvider';
import { PresenceProvider } from '../../src/realtime/usePresence';
import { MainApp } from '../../src/screens/MainApp';
import { useAuth, useChat, usePermissions } from '../../src/store';
import type { Channel, User } from '../../src/types';
import { asImpl, FakeWebSocket } from './fakeWs';

const user = (id: string, username: string, display_name: string): User => ({ id, username, display_name, team_id: 't1', roles: ['team_user'] });
const me = user('u1', 'amina', 'Amina');
const team = [me, user('u2', 'bo', 'Bo'), user('u3', 'chen', 'Chen'), { ...user('u4', 'gone', 'Gone'), deactivated: true }];
const ch = (id: string, name: string, extra: Partial<Channel> = {}): Channel => ({
  id,
  team_id: 't1',
  name,
  display_name: name,
  type: 'public',
  creator_id: 'u1',
  last_seq: 0,
  ...extra,
});
const dmBo = ch('d1', 'dm-0123456789abcdef0123456789abcdef', { type: 'direct', display_name: 'amina', creator_id: 'u2' });
const group = ch('d2', 'dm-fedcba9876543210fedcba9876543210', { type: 'group', display_name: 'bo, chen', creator_id: 'u1' });

let channels: Channel[] = [];
const calls: string[] = [];
const ok = (b: unknown, status = 200) => Promise.resolve(new Response(JSON.stringify(b), { status }));
let directAnswer: () => Promise<Response>;

beforeEach(() => {
  vi.spyOn(console, 'warn').mockImplementation(() => {});
  FakeWebSocket.reset();
  useChat.getState().reset();
  usePermissions.getState().reset();
  useAuth.setState({ token: 't', user: me, team: { id: 't1', name: 'acme', display_name: 'Acme' }, notice: null, teamNotice: null });
  channels = [ch('c1', 'town-square'), dmBo, group];
  calls.length = 0;
  directAnswer = () => ok(group, 200);
  vi.stubGlobal(
    'fetch',
    vi.fn((url: string, init?: RequestInit) => {
      calls.push(`${init?.method ?? 'GET'} ${url}${typeof init?.body === 'string' ? ` ${init.body}` : ''}`);
      if (url === '/api/channels') return ok(channels);
      if (url === '/api/channels/direct') return directAnswer();
      if (url === '/api/channels/d1/members' || url === '/api/channels/c1/members') return ok([me, team[1]]);
      if (url === '/api/channels/d2/members') return ok([me, team[1], team[2]]);
      if (url.startsWith('/api/users/me/permissions'))
        return ok({ team: ['invite_user', 'create_public_channel', 'manage_channel_properties'], channel: [] });
      if (url === '/api/teams/t1/members') return ok(team);
      if (url.includes('/messages')) return ok({ messages: [], has_more: false });
      return ok([]);
    }),
  );
});
afterEach(() => {
  vi.unstubAllGlobals();
  vi.restoreAllMocks();
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
const dmList = () => screen.getByRole('list', { name: 'Direct messages' });

describe('direct messages in the SPA', () => {
  it('the sidebar lists DMs in their own section, named after the others; the channel list has none', async () => {
    renderAt('/c/c1');
    await waitFor(() => expect(within(dmList()).getByText('Bo, Chen')).toBeTruthy());
    const items = within(dmList()).getAllByRole('link');
    expect(items.map((a) => a.querySelector('.channel-label')?.textContent)).toEqual(['Bo', 'Bo, Chen']);
    expect(items[1].querySelector('.dm-count')?.textContent).toBe('3');
    // the direct one carries the other person's presence
    expect(items[0].querySelector('.dot')).toBeTruthy();
    const rooms = document.querySelector('.channel-list:not(.dm-list)')!;
    expect(Array.from(rooms.querySelectorAll('a')).map((a) => a.getAttribute('data-channel-name'))).toEqual(['town-square']);
    expect(screen.queryByText(/dm-0123/)).toBeNull();
  });

  it('a DM’s header names the others without #, and has no channel settings or invite; the composer is named after them', async () => {
    renderAt('/c/d2');
    const title = await screen.findByRole('heading', { level: 1 });
    await waitFor(() => expect(title.textContent).toBe('Bo, Chen'));
    expect(screen.queryByRole('button', { name: 'Channel settings' })).toBeNull();
    expect(screen.queryByRole('button', { name: 'Invite' })).toBeNull();
    expect(screen.getByRole('button', { name: 'Members' })).toBeTruthy();
    expect(screen.getByRole('textbox', { name: 'Message Bo, Chen' })).toBeTruthy();
  });

  it('a public channel keeps its # header and its settings', async () => {
    renderAt('/c/c1');
    const title = await screen.findByRole('heading', { level: 1 });
    expect(title.textContent).toBe('# town-square');
    expect(screen.getByRole('button', { name: 'Channel settings' })).toBeTruthy();
  });

  it('"Start a direct message": keyboard only, find a teammate, pick, open; the conversation opens', async () => {
    renderAt('/c/c1');
    await screen.findByRole('heading', { level: 1 });
    act(() => screen.getByRole('button', { name: 'Start a direct message' }).click());
    const dialog = await screen.findByRole('dialog', { name: 'Direct message' });
    const search = within(dialog).getByRole('combobox');
    await waitFor(() => expect(within(dialog).getAllByRole('option')).toHaveLength(2));
    // neither the user nor a deactivated teammate is offered
    expect(within(dialog).getAllByRole('option').map((o) => o.getAttribute('data-username'))).toEqual(['bo', 'chen']);
    expect(document.activeElement).toBe(search);
    fireEvent.change(search, { target: { value: 'che' } });
    expect(within(dialog).getAllByRole('option').map((o) => o.getAttribute('data-username'))).toEqual(['chen']);
    fireEvent.keyDown(search, { key: 'Enter' });
    expect(within(within(dialog).getByRole('list', { name: 'Picked' })).getByText('Chen')).toBeTruthy();
    // ↓ then Enter with a search picks the highlighted one
    fireEvent.change(search, { target: { value: 'o' } });
    expect(within(dialog).getAllByRole('option').map((o) => o.getAttribute('data-username'))).toEqual(['bo']);
    fireEvent.keyDown(search, { key: 'Enter' });
    const start = within(dialog).getByRole('button', { name: 'Start group message' });
    expect((start as HTMLButtonElement).disabled).toBe(false);
    // Enter in the empty field starts it
    fireEvent.keyDown(search, { key: 'Enter' });
    await waitFor(() => expect(screen.queryByRole('dialog')).toBeNull());
    expect(calls).toContain('POST /api/channels/direct {"user_ids":["u3","u2"]}');
    await waitFor(() => expect(screen.getByRole('heading', { level: 1 }).textContent).toBe('Bo, Chen'));
  });

  it('a refused start is shown in the dialog, which stays open', async () => {
    directAnswer = () => ok({ error: { code: 'invalid_field', message: 'every user must be an active member of your team', field: 'user_ids' } }, 422);
    renderAt('/c/c1');
    await screen.findByRole('heading', { level: 1 });
    act(() => screen.getByRole('button', { name: 'Start a direct message' }).click());
    const dialog = await screen.findByRole('dialog', { name: 'Direct message' });
    await waitFor(() => expect(within(dialog).getAllByRole('option')).toHaveLength(2));
    act(() => within(dialog).getAllByRole('option')[0].click());
    act(() => within(dialog).getByRole('button', { name: 'Start direct message' }).click());
    expect((await within(dialog).findByRole('alert')).textContent).toMatch(/active member of your team/);
  });

  it('"Message" in the members panel opens the DM with that person; there is none for the user itself', async () => {
    directAnswer = () => ok(dmBo, 200);
    renderAt('/c/c1');
    await screen.findByRole('heading', { level: 1 });
    if (!screen.queryByRole('complementary', { name: 'Members' })) act(() => screen.getByRole('button', { name: 'Members' }).click());
    const members = await screen.findByRole('complementary', { name: 'Members' });
    await waitFor(() => expect(within(members).getAllByRole('listitem')).toHaveLength(2));
    expect(within(members).queryByRole('button', { name: 'Message Amina' })).toBeNull();
    act(() => within(members).getByRole('button', { name: 'Message Bo' }).click());
    await waitFor(() => expect(screen.getByRole('heading', { level: 1 }).textContent).toBe('Bo'));
    expect(calls).toContain('POST /api/channels/direct {"user_ids":["u2"]}');
    expect(screen.getByRole('textbox', { name: 'Message Bo' })).toBeTruthy();
  });
});
