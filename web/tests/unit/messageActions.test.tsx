// Edit and delete in the channel view: who gets which action, editing in place (Up arrow, Enter, Shift+Enter,
// Esc), the delete dialog, live frames from others, and what a reconnect refreshes.
import { act, fireEvent, render, screen, waitFor, within } from '@testing-library/react';
import { MemoryRouter, Route, Routes } from 'react-router-dom';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ChatSocketProvider } from '../../src/realtime/ChatSocketProvider';
import { PresenceProvider } from '../../src/realtime/usePresence';
import { MainApp } from '../../src/screens/MainApp';
import { useAuth, useChat, usePermissions } from '../../src/store';
import type { Channel, Message, MyPermissions } from '../../src/types';
import { asImpl, FakeWebSocket } from './fakeWs';

const me = { id: 'u1', username: 'amina', display_name: 'Amina', team_id: 't1', roles: ['team_user'] };
const bob = { id: 'u2', username: 'bob', display_name: 'Bob', team_id: 't1', roles: ['team_user'] };
const channel = (extra: Partial<Channel> = {}): Channel => ({
  id: 'c1', team_id: 't1', name: 'town-square', display_name: 'Town Square', type: 'public', creator_id: 'u1', last_seq: 3, ...extra,
});
const msg = (seq: number, user_id: string, content: string, extra: Partial<Message> = {}): Message => ({
  id: `m${seq}`, channel_id: 'c1', seq, user_id, content, created_at: `2026-12-01T10:0${seq}:00Z`, client_id: null,
  reactions: [], edited_at: null, deleted: false, ...extra,
});

let channels: Channel[];
let history: Message[];
let perms: MyPermissions;
const calls: string[] = [];
/** the answer to the next PATCH / DELETE of a message (null: success) */
let refuse: { status: number; code: string; message: string } | null;
const json = (b: unknown, status = 200) => Promise.resolve(new Response(JSON.stringify(b), { status }));

beforeEach(() => {
  vi.spyOn(console, 'warn').mockImplementation(() => {});
  FakeWebSocket.reset();
  useChat.getState().reset();
  usePermissions.getState().reset();
  useAuth.setState({ token: 't', user: me, team: { id: 't1', name: 'acme', display_name: 'Acme' }, notice: null, teamNotice: null });
  channels = [channel()];
  history = [
    msg(1, 'u2', 'hello from bob', { reactions: [{ emoji: '👍', user_ids: ['u1'] }] }),
    msg(2, 'u1', 'my first words'),
    msg(3, 'u1', 'my last words'),
  ];
  perms = { team: [], channel: [] };
  refuse = null;
  calls.length = 0;
  vi.stubGlobal(
    'fetch',
    vi.fn((url: string, init?: RequestInit) => {
      const method = init?.method ?? 'GET';
      const body = typeof init?.body === 'string' ? init.body : '';
      calls.push(`${method} ${url}${body ? ` ${body}` : ''}`);
      if (url === '/api/channels') return json(channels);
      if (url === '/api/channels/browse') return json([]);
      if (url.startsWith('/api/users/me/permissions')) return json(perms);
      if (url.startsWith('/api/teams/')) return json([me, bob]);
      if (url.startsWith('/api/channels/c1/messages')) return json({ messages: history, has_more: false });
      const m = /^\/api\/messages\/(m\d+)$/.exec(url);
      if (m) {
        if (refuse) return json({ error: refuse }, refuse.status);
        const held = history.find((x) => x.id === m[1])!;
        if (method === 'DELETE') return Promise.resolve(new Response(null, { status: 204 }));
        const { content } = JSON.parse(body) as { content: string };
        return json({ ...held, content, edited_at: '2026-12-01T11:00:00Z' });
      }
      return json([]);
    }),
  );
});
afterEach(() => {
  vi.unstubAllGlobals();
  vi.restoreAllMocks();
});

function renderChannel() {
  return render(
    <MemoryRouter initialEntries={['/c/c1']}>
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
const chatSockets = () => FakeWebSocket.instances.filter((w) => w.url.endsWith('/ws/chat/c1'));
async function openChat(): Promise<FakeWebSocket> {
  renderChannel();
  await waitFor(() => expect(chatSockets()).toHaveLength(1));
  const ws = chatSockets()[0];
  act(() => {
    ws.serverOpen();
    ws.serverSend({ type: 'hello', channel_id: 'c1', user_id: 'u1', last_seq: 3, heartbeat_interval_ms: 25000 });
  });
  await screen.findByText('my last words');
  await waitFor(() => expect(usePermissions.getState().loaded).toBe(true));
  return ws;
}
const row = (seq: number) => document.querySelector<HTMLElement>(`article.message[data-seq="${seq}"]`)!;
const composer = () => screen.getByRole<HTMLTextAreaElement>('textbox', { name: 'Message #town-square' });
const editor = () => screen.getByRole<HTMLTextAreaElement>('textbox', { name: 'Edit message' });
const actionNames = (seq: number) =>
  within(row(seq)).queryAllByRole('button').map((b) => b.getAttribute('aria-label')).filter((n) => n === 'Edit message' || n === 'Delete message');

describe('who may edit and delete', () => {
  it('a plain member: Edit and Delete on its own messages only', async () => {
    await openChat();
    expect(actionNames(2)).toEqual(['Edit message', 'Delete message']);
    expect(actionNames(3)).toEqual(['Edit message', 'Delete message']);
    expect(actionNames(1)).toEqual([]);
  });

  it('edit_others_posts / delete_others_posts add each action on others’ messages', async () => {
    perms = { team: ['delete_others_posts'], channel: [] };
    await openChat();
    expect(actionNames(1)).toEqual(['Delete message']);
    act(() => usePermissions.getState().set({ team: ['edit_others_posts', 'delete_others_posts'], channel: [] }, 'c1'));
    expect(actionNames(1)).toEqual(['Edit message', 'Delete message']);
  });

  it('none in an archived channel, and Up arrow edits nothing there', async () => {
    perms = { team: ['edit_others_posts', 'delete_others_posts'], channel: [] };
    channels = [channel({ archived_at: '2026-12-01T12:00:00Z' })];
    await openChat();
    for (const s of [1, 2, 3]) expect(actionNames(s)).toEqual([]);
    expect(screen.queryByRole('textbox', { name: 'Edit message' })).toBeNull();
  });

  it('the actions are in the tab order (shown on focus), not display:none', async () => {
    await openChat();
    const edit = within(row(3)).getByRole('button', { name: 'Edit message' });
    edit.focus();
    expect(document.activeElement).toBe(edit);
  });
});

describe('editing in place', () => {
  it('Up arrow in the empty composer edits my last message; Shift+Enter is a newline, Enter saves; "(edited)" shows', async () => {
    await openChat();
    composer().focus();
    fireEvent.keyDown(composer(), { key: 'ArrowUp' });
    expect(editor().value).toBe('my last words');
    expect(document.activeElement).toBe(editor());
    // Shift+Enter: no save (the browser inserts the newline)
    fireEvent.keyDown(editor(), { key: 'Enter', shiftKey: true });
    expect(calls.some((c) => c.startsWith('PATCH'))).toBe(false);
    fireEvent.change(editor(), { target: { value: 'my last words\nrevised' } });
    fireEvent.keyDown(editor(), { key: 'Enter' });
    await waitFor(() => expect(screen.queryByRole('textbox', { name: 'Edit message' })).toBeNull());
    expect(calls).toContain('PATCH /api/messages/m3 {"content":"my last words\\nrevised"}');
    const body = row(3).querySelector('.message-body')!;
    expect(body.textContent).toBe('my last words\nrevised (edited)');
    expect(body.querySelector('.edited-mark')?.getAttribute('title')).toMatch(/^Edited /);
    expect(document.activeElement).toBe(composer());
  });

  it('Up arrow with text in the composer moves the caret, not into an edit', async () => {
    await openChat();
    fireEvent.change(composer(), { target: { value: 'draft' } });
    fireEvent.keyDown(composer(), { key: 'ArrowUp' });
    expect(screen.queryByRole('textbox', { name: 'Edit message' })).toBeNull();
  });

  it('Esc cancels without a request; the Edit button opens the editor too', async () => {
    await openChat();
    act(() => within(row(2)).getByRole('button', { name: 'Edit message' }).click());
    expect(editor().value).toBe('my first words');
    fireEvent.change(editor(), { target: { value: 'nope' } });
    fireEvent.keyDown(editor(), { key: 'Escape' });
    expect(screen.queryByRole('textbox', { name: 'Edit message' })).toBeNull();
    expect(row(2).querySelector('.message-body')!.textContent).toBe('my first words');
    expect(calls.some((c) => c.startsWith('PATCH'))).toBe(false);
  });

  it('a refusal is shown in the editor, which keeps the text', async () => {
    refuse = { status: 403, code: 'forbidden', message: 'not yours' };
    await openChat();
    fireEvent.keyDown(composer(), { key: 'ArrowUp' });
    fireEvent.change(editor(), { target: { value: 'changed' } });
    fireEvent.keyDown(editor(), { key: 'Enter' });
    expect((await within(row(3)).findByRole('alert')).textContent).toBe('You do not have permission to edit this message.');
    expect(editor().value).toBe('changed');
  });

  it('an emptied message is not saved: the editor says to delete it instead', async () => {
    await openChat();
    fireEvent.keyDown(composer(), { key: 'ArrowUp' });
    fireEvent.change(editor(), { target: { value: '   ' } });
    fireEvent.keyDown(editor(), { key: 'Enter' });
    expect(within(row(3)).getByRole('alert').textContent).toMatch(/delete it instead/);
    expect(calls.some((c) => c.startsWith('PATCH'))).toBe(false);
  });
});

describe('deleting', () => {
  it('asks in a dialog; Cancel keeps the message, Delete leaves "(message deleted)" without reactions or actions', async () => {
    perms = { team: ['delete_others_posts'], channel: [] };
    await openChat();
    act(() => within(row(1)).getByRole('button', { name: 'Delete message' }).click());
    let dialog = screen.getByRole('dialog', { name: 'Delete message' });
    expect(within(dialog).getByText('hello from bob')).toBeTruthy();
    act(() => within(dialog).getByRole('button', { name: 'Cancel' }).click());
    expect(screen.queryByRole('dialog')).toBeNull();
    expect(calls.some((c) => c.startsWith('DELETE'))).toBe(false);

    act(() => within(row(1)).getByRole('button', { name: 'Delete message' }).click());
    dialog = screen.getByRole('dialog', { name: 'Delete message' });
    act(() => within(dialog).getByRole('button', { name: 'Delete' }).click());
    await waitFor(() => expect(screen.queryByRole('dialog')).toBeNull());
    expect(calls).toContain('DELETE /api/messages/m1');
    expect(row(1).querySelector('.message-body')!.textContent).toBe('(message deleted)');
    expect(row(1).dataset.deleted).toBe('true');
    expect(row(1).querySelector('.reactions, .message-actions')).toBeNull();
    // the Delete button went with the actions: the composer has the focus
    expect(document.activeElement).toBe(composer());
  });

  it('a refusal is shown in the dialog', async () => {
    refuse = { status: 409, code: 'channel_archived', message: 'archived' };
    await openChat();
    act(() => within(row(3)).getByRole('button', { name: 'Delete message' }).click());
    const dialog = screen.getByRole('dialog', { name: 'Delete message' });
    act(() => within(dialog).getByRole('button', { name: 'Delete' }).click());
    expect((await within(dialog).findByRole('alert')).textContent).toMatch(/archived: its messages cannot be deleted/);
    expect(row(3).dataset.deleted).toBeUndefined();
  });
});

describe('live, and after a reconnect', () => {
  it('message_edited and message_deleted frames from others change what is shown', async () => {
    const ws = await openChat();
    act(() => ws.serverSend({ type: 'message_edited', message: msg(1, 'u2', 'bob, revised', { edited_at: '2026-12-01T11:00:00Z' }) }));
    expect(row(1).querySelector('.message-body')!.textContent).toBe('bob, revised (edited)');
    act(() => ws.serverSend({ type: 'message_deleted', message_id: 'm2' }));
    expect(row(2).querySelector('.message-body')!.textContent).toBe('(message deleted)');
    // Up arrow skips my deleted message
    fireEvent.keyDown(composer(), { key: 'ArrowUp' });
    expect(editor().value).toBe('my last words');
  });

  it('a message deleted while I edit it closes the editor and shows the tombstone', async () => {
    const ws = await openChat();
    fireEvent.keyDown(composer(), { key: 'ArrowUp' });
    expect(editor()).toBeTruthy();
    act(() => ws.serverSend({ type: 'message_deleted', message_id: 'm3' }));
    expect(screen.queryByRole('textbox', { name: 'Edit message' })).toBeNull();
    expect(row(3).querySelector('.message-body')!.textContent).toBe('(message deleted)');
  });

  it('each hello refreshes the held messages from history: what changed while disconnected shows', async () => {
    const ws = await openChat();
    await waitFor(() => expect(calls.filter((c) => c.startsWith('GET /api/channels/c1/messages?before_seq=4'))).toHaveLength(1));
    act(() => ws.serverClose(1006));
    await waitFor(() => expect(chatSockets()).toHaveLength(2), { timeout: 3000 });
    // meanwhile (live events this page never got): bob edits his message, I delete mine on another device
    history = [
      msg(1, 'u2', 'bob edited offline', { edited_at: '2026-12-01T11:00:00Z', reactions: [] }),
      msg(2, 'u1', '', { deleted: true }),
      msg(3, 'u1', 'my last words'),
    ];
    const again = chatSockets()[1];
    act(() => {
      again.serverOpen();
      again.serverSend({ type: 'hello', channel_id: 'c1', user_id: 'u1', last_seq: 3, heartbeat_interval_ms: 25000 });
    });
    await waitFor(() => expect(row(1).querySelector('.message-body')!.textContent).toBe('bob edited offline (edited)'));
    expect(row(1).querySelector('.reactions')).toBeNull();
    expect(row(2).querySelector('.message-body')!.textContent).toBe('(message deleted)');
    expect(calls.filter((c) => c.startsWith('GET /api/channels/c1/messages?before_seq=4'))).toHaveLength(2);
  });

  it('a failed refresh is shown, with a retry', async () => {
    const ws = await openChat();
    await waitFor(() => expect(calls.some((c) => c.includes('before_seq=4'))).toBe(true));
    vi.stubGlobal('fetch', vi.fn(() => json({ error: { code: 'internal', message: 'history unavailable' } }, 500)));
    act(() => ws.serverSend({ type: 'hello', channel_id: 'c1', user_id: 'u1', last_seq: 3, heartbeat_interval_ms: 25000 }));
    const banner = await waitFor(() => {
      const b = document.querySelector<HTMLElement>('[data-status="refresh-failed"]');
      expect(b).toBeTruthy();
      return b!;
    });
    expect(banner.textContent).toMatch(/history unavailable/);
    vi.stubGlobal('fetch', vi.fn(() => json({ messages: history, has_more: false })));
    act(() => within(banner).getByRole('button', { name: 'Retry' }).click());
    await waitFor(() => expect(document.querySelector('[data-status="refresh-failed"]')).toBeNull());
  });
});
