// Threads in the store: replies stay out of the channel's main list (and join their loaded thread), counts follow
// `thread_updated`, edits and deletions reach replies in the pane, the pane's state; and the thread endpoint.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { loadThread } from '../../src/history';
import { ago, replyCountText } from '../../src/components/ChannelView';
import { useAuth, useChat } from '../../src/store';
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
  root_id: null,
  reply_count: 0,
  last_reply_at: null,
  ...extra,
});
const main = () => useChat.getState().messages.c1 ?? [];
const thread = (root = 'm1') => useChat.getState().threads[root];

beforeEach(() => {
  vi.spyOn(console, 'warn').mockImplementation(() => {});
  useChat.getState().reset();
  useAuth.setState({ token: 't', user: { id: 'u1', username: 'amina', display_name: 'Amina', team_id: 't1', roles: [] } });
});
afterEach(() => {
  vi.unstubAllGlobals();
  vi.restoreAllMocks();
});

describe('replies and the main list', () => {
  it('keeps replies (from history or live) out of the main list, but counts their seq', () => {
    const st = useChat.getState();
    st.setChannels([{ id: 'c1', team_id: 't1', name: 'general', display_name: 'General', type: 'public', last_seq: 0 }]);
    const fresh = st.addMessages('c1', [msg(1), msg(2, { root_id: 'm1' }), msg(3)], false);
    expect(fresh.map((m) => m.seq)).toEqual([1, 2, 3]);
    expect(main().map((m) => m.seq)).toEqual([1, 3]);
    expect(useChat.getState().lastSeq.c1).toBe(3);
    st.addMessages('c1', [msg(4, { root_id: 'm1' })]);
    expect(main().map((m) => m.seq)).toEqual([1, 3]);
    expect(useChat.getState().lastSeq.c1).toBe(4);
    expect(useChat.getState().channels[0].last_seq).toBe(4);
  });

  it('a live reply joins its loaded thread once (a replayed seq is a duplicate)', () => {
    const st = useChat.getState();
    st.addMessages('c1', [msg(1)], false);
    st.setThread('c1', msg(1, { reply_count: 1 }), [msg(2, { root_id: 'm1' })], false);
    expect(st.addMessages('c1', [msg(3, { root_id: 'm1' })])).toHaveLength(1);
    expect(st.addMessages('c1', [msg(3, { root_id: 'm1' })])).toHaveLength(0);
    expect(thread().replies.map((m) => m.seq)).toEqual([2, 3]);
    // a reply to a thread not loaded changes no thread
    st.addMessages('c1', [msg(5), msg(6, { root_id: 'm5' })]);
    expect(useChat.getState().threads.m5).toBeUndefined();
    expect(main().map((m) => m.seq)).toEqual([1, 5]);
  });

  it('an acked optimistic reply settles its pending entry and lands in the thread', () => {
    const st = useChat.getState();
    st.addMessages('c1', [msg(1)], false);
    st.setThread('c1', msg(1), [], false);
    st.addPending({ client_id: 'k1', channel_id: 'c1', content: 'hi', status: 'pending', created_at: '', root_id: 'm1' });
    st.addMessages('c1', [msg(2, { root_id: 'm1', client_id: 'k1', content: 'hi' })]);
    expect(useChat.getState().pending.c1.k1).toBeUndefined();
    expect(thread().replies.map((m) => m.content)).toEqual(['hi']);
    expect(main().map((m) => m.seq)).toEqual([1]);
  });
});

describe('thread_updated', () => {
  it('sets the root’s count and last reply time in the main list and in its thread', () => {
    const st = useChat.getState();
    st.addMessages('c1', [msg(1), msg(2)], false);
    st.setThread('c1', msg(1), [], false);
    st.threadUpdated('c1', 'm1', 2, '2026-12-01T10:07:00Z');
    expect(main()[0]).toMatchObject({ reply_count: 2, last_reply_at: '2026-12-01T10:07:00Z' });
    expect(thread().root).toMatchObject({ reply_count: 2, last_reply_at: '2026-12-01T10:07:00Z' });
    expect(main()[1].reply_count).toBe(0);
    // a root not held: nothing changes, nothing breaks
    const before = useChat.getState().messages;
    st.threadUpdated('c1', 'm9', 1, null);
    expect(useChat.getState().messages).toBe(before);
  });
});

describe('edits, deletions and reactions of replies', () => {
  it('reach the replies of a loaded thread', () => {
    const st = useChat.getState();
    st.addMessages('c1', [msg(1)], false);
    st.setThread('c1', msg(1), [msg(2, { root_id: 'm1' }), msg(3, { root_id: 'm1' })], false);
    st.messageEdited('c1', msg(2, { root_id: 'm1', content: 'better', edited_at: '2026-12-01T10:05:00Z' }));
    st.messageDeleted('c1', 'm3');
    st.applyReaction('c1', 'm2', 'u2', '👍', true);
    const [a, b] = thread().replies;
    expect(a).toMatchObject({ content: 'better', reactions: [{ emoji: '👍', user_ids: ['u2'] }] });
    expect(b).toMatchObject({ deleted: true, content: '' });
    // the root edited: both the main list and the thread's copy
    st.messageEdited('c1', msg(1, { content: 'root!', edited_at: '2026-12-01T10:06:00Z' }));
    expect(main()[0].content).toBe('root!');
    expect(thread().root.content).toBe('root!');
  });

  it('the thread endpoint refreshes held replies (a deletion made while away shows)', () => {
    const st = useChat.getState();
    st.setThread('c1', msg(1), [msg(2, { root_id: 'm1' })], false);
    st.setThread('c1', msg(1, { reply_count: 0 }), [msg(2, { root_id: 'm1', deleted: true, content: '' })], false);
    expect(thread().replies[0].deleted).toBe(true);
  });
});

describe('the pane', () => {
  it('opens on a root of a channel and closes', () => {
    const st = useChat.getState();
    expect(useChat.getState().threadPane).toBeNull();
    st.openThread('c1', 'm1');
    expect(useChat.getState().threadPane).toEqual({ channel: 'c1', root: 'm1' });
    st.openThread('c1', 'm5');
    expect(useChat.getState().threadPane).toEqual({ channel: 'c1', root: 'm5' });
    st.closeThread();
    expect(useChat.getState().threadPane).toBeNull();
    st.openThread('c1', 'm1');
    st.reset();
    expect(useChat.getState().threadPane).toBeNull();
  });

  it('loadThread asks the thread endpoint and holds the answer', async () => {
    const fetchMock = vi.fn((url: string) => {
      void url;
      return Promise.resolve(new Response(JSON.stringify({ root: msg(1, { reply_count: 1 }), replies: [msg(2, { root_id: 'm1' })], has_more: true }), {
        status: 200,
      }));
    });
    vi.stubGlobal('fetch', fetchMock);
    await loadThread('c1', 'm1', 0);
    expect(String(fetchMock.mock.calls[0][0])).toBe('/api/messages/m1/thread?after_seq=0&limit=100');
    expect(thread()).toMatchObject({ channel_id: 'c1', hasMore: true });
    expect(thread().replies.map((m) => m.seq)).toEqual([2]);
  });
});

describe('labels', () => {
  it('says the count and how long ago', () => {
    expect(replyCountText(1)).toBe('1 reply');
    expect(replyCountText(3)).toBe('3 replies');
    const now = Date.parse('2026-12-01T10:10:00Z');
    expect(ago('2026-12-01T10:09:50Z', now)).toBe('just now');
    expect(ago('2026-12-01T10:08:00Z', now)).toBe('2 min ago');
    expect(ago('2026-12-01T07:10:00Z', now)).toBe('3 h ago');
  });
});
