import { act, render } from '@testing-library/react';
import { useEffect } from 'react';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ChatSocketProvider, useChatSocket, type ChatSocketApi } from '../../src/realtime/ChatSocketProvider';
import { useAuth, useChat } from '../../src/store';
import { advance, asImpl, FakeWebSocket } from './fakeWs';

let api: ChatSocketApi;
function Grab() {
  const v = useChatSocket();
  useEffect(() => {
    api = v;
  });
  return null;
}
const user = { id: 7, username: 'amina', display_name: 'Amina', team_id: 1, roles: ['team_user'] };

function setup(onUnauthorized?: () => void) {
  return render(
    <ChatSocketProvider WebSocketImpl={asImpl} onUnauthorized={onUnauthorized}>
      <Grab />
    </ChatSocketProvider>,
  );
}
const chatSockets = () => FakeWebSocket.instances.filter((w) => w.url.includes('/ws/chat/'));

beforeEach(() => {
  vi.useFakeTimers();
  vi.spyOn(Math, 'random').mockReturnValue(0.5); // jitter factor exactly 1
  vi.spyOn(console, 'warn').mockImplementation(() => {});
  FakeWebSocket.reset();
  useChat.getState().reset();
  useAuth.setState({ token: 'tok-1', user, team: null, notice: null });
});
afterEach(() => {
  vi.useRealTimers();
  vi.restoreAllMocks();
});

describe('ChatSocketProvider', () => {
  it('does not connect without a token', () => {
    useAuth.setState({ token: null, user: null });
    setup();
    act(() => api.connectChannel(5));
    expect(chatSockets()).toHaveLength(0);
  });

  it('sends auth first with the highest seq seen, then heartbeats every 25 s', () => {
    setup();
    useChat.getState().addMessages(5, [
      { id: 'm1', channel_id: 5, seq: 3, user_id: 7, content: 'x', created_at: '', client_id: null, reactions: [] },
    ]);
    act(() => api.connectChannel(5));
    const ws = chatSockets()[0];
    expect(ws.url).toMatch(/\/ws\/chat\/5$/);
    act(() => ws.serverOpen());
    expect(ws.sent[0]).toEqual({ type: 'auth', token: 'tok-1', last_seq: 3 });
    act(() => ws.serverSend({ type: 'hello', channel_id: 5, user_id: 7, last_seq: 3, heartbeat_interval_ms: 25000 }));
    expect(api.status).toBe('open');
    advance(24_999);
    expect(ws.sent.filter((f) => f.type === 'ping')).toHaveLength(0);
    advance(1);
    expect(ws.sent.filter((f) => f.type === 'ping')).toHaveLength(1);
    advance(25_000);
    expect(ws.sent.filter((f) => f.type === 'ping')).toHaveLength(2);
    // heartbeat cleared on close
    act(() => ws.serverClose(1006));
    const before = ws.sent.length;
    advance(100_000);
    expect(ws.sent.length).toBe(before);
  });

  it('reconnects with capped exponential backoff, resuming from the last seq', () => {
    setup();
    act(() => api.connectChannel(5));
    const expected = [500, 1000, 2000, 4000, 8000, 16000, 30000, 30000];
    for (let i = 0; i < expected.length; i++) {
      const ws = chatSockets()[i];
      act(() => ws.serverClose(1006));
      expect(api.status).toBe('reconnecting');
      advance(expected[i] - 1);
      expect(chatSockets()).toHaveLength(i + 1);
      advance(1);
      expect(chatSockets()).toHaveLength(i + 2);
    }
    // a successful hello resets the backoff
    const ws = chatSockets().at(-1)!;
    act(() => ws.serverOpen());
    act(() =>
      ws.serverSend({
        type: 'message',
        message: { id: 'a', channel_id: 5, seq: 9, user_id: 2, content: 'hi', created_at: '', client_id: null, reactions: [] },
      }),
    );
    act(() => ws.serverSend({ type: 'hello', channel_id: 5, user_id: 7, last_seq: 9 }));
    act(() => ws.serverClose(1001));
    advance(500);
    const next = chatSockets().at(-1)!;
    expect(next).not.toBe(ws);
    act(() => next.serverOpen());
    expect(next.sent[0]).toEqual({ type: 'auth', token: 'tok-1', last_seq: 9 });
  });

  it('applies ±30% jitter', () => {
    (Math.random as unknown as ReturnType<typeof vi.fn>).mockReturnValue(0); // factor 0.7
    setup();
    act(() => api.connectChannel(5));
    act(() => chatSockets()[0].serverClose(1006));
    advance(349);
    expect(chatSockets()).toHaveLength(1);
    advance(1);
    expect(chatSockets()).toHaveLength(2);
  });

  it('never opens a second socket for an already-open channel', () => {
    setup();
    act(() => api.connectChannel(5));
    act(() => api.connectChannel(5)); // still CONNECTING
    act(() => chatSockets()[0].serverOpen());
    act(() => api.connectChannel(5)); // OPEN
    act(() => api.connectChannel('5')); // same id, other JSON type
    expect(chatSockets()).toHaveLength(1);
  });

  it('switching channel closes the old socket and does not reconnect it', () => {
    setup();
    act(() => api.connectChannel(5));
    act(() => chatSockets()[0].serverOpen());
    act(() => api.connectChannel(6));
    expect(chatSockets()).toHaveLength(2);
    expect(chatSockets()[0].closedWith?.code).toBe(1000);
    advance(60_000);
    expect(chatSockets()).toHaveLength(2);
    expect(chatSockets()[1].url).toMatch(/\/ws\/chat\/6$/);
  });

  it('does not reconnect after 4403/4404, and treats 4401 as logout', () => {
    const onUnauth = vi.fn();
    setup(onUnauth);
    act(() => api.connectChannel(5));
    act(() => chatSockets()[0].serverClose(4404));
    expect(api.status).toBe('not_found');
    advance(120_000);
    expect(chatSockets()).toHaveLength(1);

    act(() => api.connectChannel(6));
    act(() => chatSockets()[1].serverClose(4403));
    advance(120_000);
    expect(chatSockets()).toHaveLength(2);
    expect(api.status).toBe('forbidden');

    act(() => api.connectChannel(8));
    act(() => chatSockets()[2].serverClose(4401));
    advance(120_000);
    expect(chatSockets()).toHaveLength(3);
    expect(onUnauth).toHaveBeenCalledTimes(1);
  });

  it('dedupes messages by seq and dispatches each once', () => {
    setup();
    const seen: number[] = [];
    act(() => {
      api.onMessage((f) => f.type === 'message' && seen.push(f.message.seq));
    });
    act(() => api.connectChannel(5));
    const ws = chatSockets()[0];
    act(() => ws.serverOpen());
    const m = (seq: number) => ({ type: 'message', message: { id: `m${seq}`, channel_id: 5, seq, user_id: 2, content: 'c', created_at: '', client_id: null, reactions: [] } });
    act(() => {
      ws.serverSend(m(1));
      ws.serverSend(m(2));
      ws.serverSend(m(2));
      ws.serverSend(m(1));
      ws.serverSend(m(3));
    });
    expect(seen).toEqual([1, 2, 3]);
    expect(useChat.getState().messages['5'].map((x) => x.seq)).toEqual([1, 2, 3]);
  });

  it('a truncated replay drops what no longer joins the new messages and lets older ones load again', () => {
    setup();
    const msg = (seq: number) => ({ id: `m${seq}`, channel_id: 5, seq, user_id: 2, content: 'c', created_at: '', client_id: null, reactions: [] });
    useChat.getState().addMessages(5, [msg(1), msg(2)], false);
    act(() => api.connectChannel(5));
    const ws = chatSockets()[0];
    act(() => ws.serverOpen());
    expect(ws.sent[0]).toEqual({ type: 'auth', token: 'tok-1', last_seq: 2 });
    act(() => {
      ws.serverSend({ type: 'hello', channel_id: 5, user_id: 7, last_seq: 5000 });
      ws.serverSend({ type: 'replay_truncated', last_seq: 2, first_seq: 4001 });
      ws.serverSend({ type: 'message', message: msg(4001) });
    });
    expect(useChat.getState().messages['5'].map((x) => x.seq)).toEqual([4001]);
    expect(useChat.getState().hasMore['5']).toBe(true);
  });

  it('optimistic send: pending until ack, failed on ack timeout, sent on reconnect', () => {
    setup();
    act(() => api.connectChannel(5));
    const ws = chatSockets()[0];
    act(() => ws.serverOpen());
    act(() => ws.serverSend({ type: 'hello', channel_id: 5, user_id: 7, last_seq: 0 }));
    let cid = '';
    act(() => {
      cid = api.sendMessage('hello');
    });
    expect(ws.sent.at(-1)).toEqual({ type: 'message', content: 'hello', client_id: cid });
    expect(useChat.getState().pending['5'][cid].status).toBe('pending');
    act(() =>
      ws.serverSend({ type: 'ack', client_id: cid, message: { id: 'x', channel_id: 5, seq: 1, user_id: 7, content: 'hello', created_at: '', client_id: cid, reactions: [] } }),
    );
    expect(useChat.getState().pending['5'][cid]).toBeUndefined();

    act(() => ws.serverClose(1006));
    let cid2 = '';
    act(() => {
      cid2 = api.sendMessage('while offline');
    });
    advance(500);
    const ws2 = chatSockets()[1];
    act(() => ws2.serverOpen());
    act(() => ws2.serverSend({ type: 'hello', channel_id: 5, user_id: 7, last_seq: 1 }));
    expect(ws2.sent.find((f) => f.type === 'message')).toEqual({ type: 'message', content: 'while offline', client_id: cid2 });
    advance(15_000);
    expect(useChat.getState().pending['5'][cid2].status).toBe('failed');
  });

  it('clears sockets and timers on logout and unmount', () => {
    const r = setup();
    act(() => api.connectChannel(5));
    act(() => chatSockets()[0].serverClose(1006)); // a reconnect is now scheduled
    act(() => useAuth.getState().logoutLocal());
    advance(60_000);
    expect(chatSockets()).toHaveLength(1);

    act(() => {
      useAuth.setState({ token: 'tok-2', user });
    });
    act(() => api.connectChannel(5));
    act(() => chatSockets()[1].serverOpen());
    r.unmount();
    expect(chatSockets()[1].closedWith?.code).toBe(1000);
    const sent = chatSockets()[1].sent.length;
    advance(120_000);
    expect(chatSockets()[1].sent.length).toBe(sent); // no heartbeat after unmount
    expect(chatSockets()).toHaveLength(2); // no reconnect after unmount
  });
});
