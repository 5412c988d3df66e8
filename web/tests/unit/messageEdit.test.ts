// Edit and delete in the store: live frames, our own REST answers, and the refresh from history after a resume.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { deleteMessage, editMessage, messageActionError, REFRESH_PAGE, refreshHistory } from '../../src/history';
import { ApiError } from '../../src/api';
import { mergeMessage, useAuth, useChat } from '../../src/store';
import type { Message } from '../../src/types';

const msg = (seq: number, extra: Partial<Message> = {}): Message => ({
  id: `m${seq}`,
  channel_id: 'c1',
  seq,
  user_id: 'u1',
  content: `text ${seq}`,
  created_at: '2026-12-01T10:00:00Z',
  client_id: null,
  reactions: [],
  edited_at: null,
  deleted: false,
  ...extra,
});
const held = () => useChat.getState().messages.c1 ?? [];
const bySeq = (seq: number) => held().find((m) => m.seq === seq);

beforeEach(() => {
  vi.spyOn(console, 'warn').mockImplementation(() => {});
  useChat.getState().reset();
  useAuth.setState({ token: 't', user: { id: 'u1', username: 'amina', display_name: 'Amina', team_id: 't1', roles: [] } });
});
afterEach(() => {
  vi.unstubAllGlobals();
  vi.restoreAllMocks();
});

describe('mergeMessage', () => {
  it('takes a newer edit, keeps the same object when nothing changed', () => {
    const a = msg(1);
    const b = msg(1, { content: 'new', edited_at: '2026-12-01T10:05:00Z' });
    expect(mergeMessage(a, b)).toEqual(b);
    expect(mergeMessage(a, { ...a })).toBe(a);
  });

  it('keeps a held edit newer than the incoming copy (a history page answered before a live edit)', () => {
    const live = msg(1, { content: 'v2', edited_at: '2026-12-01T10:05:00Z' });
    const stale = msg(1, { content: 'v1', edited_at: '2026-12-01T10:01:00.5+00:00' });
    expect(mergeMessage(live, stale)).toBe(live);
    expect(mergeMessage(live, msg(1, { content: 'original' }))).toBe(live);
  });

  it('a deletion is final: a tombstone takes no content, reactions or later copies', () => {
    const a = msg(1, { reactions: [{ emoji: '👍', user_ids: ['u2'] }] });
    const t = mergeMessage(a, msg(1, { deleted: true, content: '', reactions: [] }));
    expect(t).toMatchObject({ seq: 1, deleted: true, content: '', reactions: [] });
    expect(mergeMessage(t, msg(1, { content: 'back?', edited_at: '2027-01-01T00:00:00Z' }))).toBe(t);
  });
});

describe('the store', () => {
  it('message_edited replaces the held message with that id (content, edited_at), and nothing else', () => {
    useChat.getState().addMessages('c1', [msg(1), msg(2)]);
    const before = held();
    useChat.getState().messageEdited('c1', msg(2, { content: 'fixed', edited_at: '2026-12-01T10:05:00Z' }));
    expect(bySeq(2)).toMatchObject({ content: 'fixed', edited_at: '2026-12-01T10:05:00Z' });
    expect(bySeq(1)).toBe(before[0]);
    // a message not held is not added (history or the replay brings it)
    useChat.getState().messageEdited('c1', msg(9, { content: 'elsewhere', edited_at: '2026-12-01T10:05:00Z' }));
    expect(held().map((m) => m.seq)).toEqual([1, 2]);
    // the same edit again (our PATCH answer, then the frame) changes nothing
    const after = held();
    useChat.getState().messageEdited('c1', msg(2, { content: 'fixed', edited_at: '2026-12-01T10:05:00Z' }));
    expect(held()).toBe(after);
  });

  it('message_deleted leaves a tombstone with its seq; reactions on it are ignored', () => {
    useChat.getState().addMessages('c1', [msg(1, { reactions: [{ emoji: '👍', user_ids: ['u2'] }] }), msg(2)]);
    useChat.getState().messageDeleted('c1', 'm1');
    expect(bySeq(1)).toMatchObject({ id: 'm1', seq: 1, deleted: true, content: '', reactions: [] });
    useChat.getState().applyReaction('c1', 'm1', 'u3', '🎉', true);
    expect(bySeq(1)?.reactions).toEqual([]);
    const after = held();
    useChat.getState().messageDeleted('c1', 'm1');
    expect(held()).toBe(after);
    // and a later message_edited does not bring it back
    useChat.getState().messageEdited('c1', msg(1, { content: 'zombie', edited_at: '2027-01-01T00:00:00Z' }));
    expect(bySeq(1)?.deleted).toBe(true);
  });

  it('refreshMessages replaces held seqs only: edits and deletions arrive, no message is added, no gap opens', () => {
    useChat.getState().addMessages('c1', [msg(3), msg(4), msg(5)]);
    useChat.getState().refreshMessages('c1', [
      msg(1),
      msg(2),
      msg(3, { content: 'edited while away', edited_at: '2026-12-01T11:00:00Z' }),
      msg(4, { deleted: true, content: '', reactions: [] }),
      msg(5, { reactions: [{ emoji: '👀', user_ids: ['u2'] }] }),
      msg(6),
    ]);
    expect(held().map((m) => m.seq)).toEqual([3, 4, 5]);
    expect(bySeq(3)).toMatchObject({ content: 'edited while away', edited_at: '2026-12-01T11:00:00Z' });
    expect(bySeq(4)).toMatchObject({ deleted: true, content: '' });
    expect(bySeq(5)?.reactions).toEqual([{ emoji: '👀', user_ids: ['u2'] }]);
    // nothing new: the same array (no re-render)
    const after = held();
    useChat.getState().refreshMessages('c1', [bySeq(3)!, bySeq(4)!, bySeq(5)!]);
    expect(held()).toBe(after);
  });
});

describe('refreshHistory', () => {
  const calls: string[] = [];
  /** a server holding seqs 1..n, where `edit` changes some */
  function serve(n: number, edit: (m: Message) => Message = (m) => m) {
    calls.length = 0;
    vi.stubGlobal(
      'fetch',
      vi.fn((url: string) => {
        calls.push(url);
        const q = new URL(url, 'http://x').searchParams;
        const before = Number(q.get('before_seq') ?? n + 1);
        const limit = Number(q.get('limit'));
        const lo = Math.max(1, before - limit);
        const page = [];
        for (let s = lo; s < before && s <= n; s++) page.push(edit(msg(s)));
        return Promise.resolve(new Response(JSON.stringify({ messages: page, has_more: lo > 1 }), { status: 200 }));
      }),
    );
  }

  it('asks history for what is held, newest first, and applies it', async () => {
    useChat.getState().addMessages('c1', [msg(8), msg(9), msg(10)], true);
    serve(10, (m) => (m.seq === 9 ? { ...m, content: 'changed', edited_at: '2026-12-02T00:00:00Z' } : m));
    await refreshHistory('c1');
    expect(calls).toEqual([`/api/channels/c1/messages?before_seq=11&limit=${REFRESH_PAGE}`]);
    expect(bySeq(9)?.content).toBe('changed');
    expect(held().map((m) => m.seq)).toEqual([8, 9, 10]);
  });

  it('pages down to the oldest held message', async () => {
    const many = Array.from({ length: 450 }, (_, i) => msg(i + 51));
    useChat.getState().addMessages('c1', many, true);
    serve(500, (m) => (m.seq === 60 ? { ...m, deleted: true, content: '' } : m));
    await refreshHistory('c1');
    expect(calls.map((u) => new URL(u, 'http://x').searchParams.get('before_seq'))).toEqual(['501', '301', '101']);
    expect(bySeq(60)?.deleted).toBe(true);
    expect(held()).toHaveLength(450);
  });

  it('holding more than it refreshes: the older part goes (loading older brings it back current)', async () => {
    const many = Array.from({ length: 1500 }, (_, i) => msg(i + 1));
    useChat.getState().addMessages('c1', many, false);
    serve(1500);
    await refreshHistory('c1');
    expect(calls).toHaveLength(5);
    expect(held()[0].seq).toBe(501);
    expect(useChat.getState().hasMore.c1).toBe(true);
  });

  it('nothing held: no request', async () => {
    serve(3);
    await refreshHistory('c1');
    expect(calls).toEqual([]);
  });

  it('a failed page rejects with the API error (the view shows it)', async () => {
    useChat.getState().addMessages('c1', [msg(1)]);
    vi.stubGlobal('fetch', vi.fn(() => Promise.reject(new TypeError('offline'))));
    await expect(refreshHistory('c1')).rejects.toMatchObject({ code: 'network_error' });
  });
});

describe('editMessage / deleteMessage', () => {
  it('PATCH then DELETE /api/messages/{id}; the answers are applied at once', async () => {
    useChat.getState().addMessages('c1', [msg(1), msg(2)]);
    const seen: string[] = [];
    vi.stubGlobal(
      'fetch',
      vi.fn((url: string, init?: RequestInit) => {
        seen.push(`${init?.method} ${url} ${typeof init?.body === 'string' ? init.body : ''}`);
        if (init?.method === 'PATCH')
          return Promise.resolve(new Response(JSON.stringify(msg(2, { content: 'v2', edited_at: '2026-12-01T10:05:00Z' })), { status: 200 }));
        return Promise.resolve(new Response(null, { status: 204 }));
      }),
    );
    await editMessage('c1', 'm2', 'v2');
    expect(bySeq(2)).toMatchObject({ content: 'v2', edited_at: '2026-12-01T10:05:00Z' });
    await deleteMessage('c1', 'm2');
    expect(bySeq(2)).toMatchObject({ deleted: true, content: '' });
    expect(seen).toEqual(['PATCH /api/messages/m2 {"content":"v2"}', 'DELETE /api/messages/m2 ']);
  });

  it('the contract’s refusals are said plainly', () => {
    expect(messageActionError(new ApiError(403, 'forbidden', 'x'), 'edit')).toBe('You do not have permission to edit this message.');
    expect(messageActionError(new ApiError(404, 'message_not_found', 'x'), 'delete')).toBe('This message no longer exists.');
    expect(messageActionError(new ApiError(409, 'channel_archived', 'x'), 'delete')).toMatch(/archived: its messages cannot be deleted/);
    expect(messageActionError(new ApiError(422, 'invalid_content', 'content is too long', 'content'), 'edit')).toBe('content is too long');
  });
});
