import { act, renderHook } from '@testing-library/react';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { BACKOFF_MAX_MS } from '../../src/realtime/backoff';
import {
  classifyClose,
  useReconnectingSocket,
  type ServerFrame,
  type SocketOptions,
} from '../../src/realtime/useReconnectingSocket';
import { advance, asImpl, FakeWebSocket } from './fakeWs';

let token: string | null = 'tok';
let frames: ServerFrame[] = [];
const onUnauthorized = vi.fn();

function options(over: Partial<SocketOptions<string, ServerFrame>> = {}): SocketOptions<string, ServerFrame> {
  return {
    name: 'test',
    WebSocketImpl: asImpl,
    url: (t) => `ws://test${t}`,
    token: () => token,
    authFrame: (tok, t) => ({ type: 'auth', token: tok, target: t }),
    onFrame: (f) => frames.push(f),
    onUnauthorized,
    random: () => 0.5, // jitter factor exactly 1
    ...over,
  };
}

function setup(over: Partial<SocketOptions<string, ServerFrame>> = {}) {
  const r = renderHook((o: SocketOptions<string, ServerFrame>) => useReconnectingSocket(o), { initialProps: options(over) });
  return { ...r, sock: () => r.result.current };
}

const sockets = () => FakeWebSocket.instances;
const last = () => {
  const s = sockets().at(-1);
  if (!s) throw new Error('no socket opened');
  return s;
};
/** opens the newest socket and says hello, as a server would */
function serverAccepts(hello: object = {}) {
  const ws = last();
  act(() => ws.serverOpen());
  act(() => ws.serverSend({ type: 'hello', ...hello }));
  return ws;
}

beforeEach(() => {
  vi.useFakeTimers();
  vi.spyOn(console, 'warn').mockImplementation(() => {});
  FakeWebSocket.reset();
  token = 'tok';
  frames = [];
  onUnauthorized.mockReset();
});
afterEach(() => {
  vi.useRealTimers();
  vi.restoreAllMocks();
});

describe('useReconnectingSocket', () => {
  it('opens nothing without a token', () => {
    token = null;
    const { sock } = setup();
    act(() => sock().connect('/a'));
    expect(sockets()).toHaveLength(0);
    expect(sock().status).toBe('idle');
  });

  it('sends the auth frame first, built at open time with the current token', () => {
    const { sock } = setup();
    act(() => sock().connect('/a'));
    expect(sock().status).toBe('connecting');
    expect(sock().target).toBe('/a');
    token = 'tok-2';
    act(() => last().serverOpen());
    expect(last().sent).toEqual([{ type: 'auth', token: 'tok-2', target: '/a' }]);
    act(() => last().serverSend({ type: 'hello' }));
    expect(sock().status).toBe('open');
    expect(sock().ready()).toBe(true);
    expect(frames).toEqual([{ type: 'hello' }]);
  });

  it('holds application frames until hello', () => {
    const { sock } = setup();
    act(() => sock().connect('/a'));
    act(() => last().serverOpen());
    expect(sock().send({ type: 'x' })).toBe(false);
    act(() => last().serverSend({ type: 'hello' }));
    expect(sock().send({ type: 'x' })).toBe(true);
    expect(last().sent.map((f) => f.type)).toEqual(['auth', 'x']);
  });

  it('never opens a second socket for the target it has open or opening', () => {
    const { sock } = setup();
    act(() => sock().connect('/a'));
    act(() => sock().connect('/a')); // CONNECTING
    serverAccepts();
    act(() => sock().connect('/a')); // OPEN
    expect(sockets()).toHaveLength(1);
  });

  it('heartbeats every 25 s until hello names another interval, then at that interval', () => {
    const { sock } = setup();
    act(() => sock().connect('/a'));
    const ws = last();
    act(() => ws.serverOpen());
    advance(25_000);
    expect(ws.pings()).toBe(1);
    act(() => ws.serverSend({ type: 'hello', heartbeat_interval_ms: 10_000 }));
    advance(9_999);
    expect(ws.pings()).toBe(1);
    advance(1);
    expect(ws.pings()).toBe(2);
    advance(20_000);
    expect(ws.pings()).toBe(4);
  });

  it('keeps 25 s when hello names no interval or an absurd one', () => {
    const { sock } = setup();
    for (const heartbeat_interval_ms of [undefined, 5, 10 * 60_000]) {
      act(() => sock().connect(`/t${heartbeat_interval_ms}`));
      const ws = serverAccepts({ heartbeat_interval_ms });
      advance(24_999);
      expect(ws.pings()).toBe(0);
      advance(1);
      expect(ws.pings()).toBe(1);
    }
    expect(console.warn).toHaveBeenCalledWith('[test-ws]', 'bad_heartbeat_interval', 5);
  });

  it('backs off exponentially from 500 ms, capped at 30 s, and a hello resets it', () => {
    const { sock } = setup();
    act(() => sock().connect('/a'));
    const expected = [500, 1000, 2000, 4000, 8000, 16000, BACKOFF_MAX_MS, BACKOFF_MAX_MS, BACKOFF_MAX_MS];
    for (const [i, delay] of expected.entries()) {
      act(() => last().serverClose(1006));
      expect(sock().status).toBe('reconnecting');
      advance(delay - 1);
      expect(sockets()).toHaveLength(i + 1);
      advance(1);
      expect(sockets()).toHaveLength(i + 2);
    }
    serverAccepts();
    act(() => last().serverClose(1001));
    advance(500);
    expect(sockets()).toHaveLength(expected.length + 2);
  });

  it('jitters each delay by up to ±30 %', () => {
    for (const [random, first, second] of [
      [0, 350, 700], // factor 0.7
      [0.999999, 650, 1300], // factor 1.3
    ]) {
      FakeWebSocket.reset();
      const { sock, unmount } = setup({ random: () => random });
      act(() => sock().connect('/a'));
      act(() => last().serverClose(1006));
      advance(first - 1);
      expect(sockets()).toHaveLength(1);
      advance(1);
      expect(sockets()).toHaveLength(2);
      act(() => last().serverClose(1006));
      advance(second - 1);
      expect(sockets()).toHaveLength(2);
      advance(1);
      expect(sockets()).toHaveLength(3);
      unmount();
    }
  });

  it('treats 4401 as the end of the session: onUnauthorized once, no reconnect', () => {
    const { sock } = setup();
    act(() => sock().connect('/a'));
    serverAccepts();
    act(() => last().serverClose(4401, 'revoked'));
    expect(sock().status).toBe('unauthorized');
    expect(onUnauthorized).toHaveBeenCalledTimes(1);
    advance(120_000);
    expect(sockets()).toHaveLength(1);
    expect(last().pings()).toBe(0);
  });

  it('stops after 4403 and 4404, and retries after 4429, 4408, 1013 and 1001', () => {
    const { sock } = setup();
    for (const [code, status] of [[4403, 'forbidden'], [4404, 'not_found']] as const) {
      act(() => sock().connect(`/c${code}`));
      const n = sockets().length;
      act(() => last().serverClose(code));
      expect(sock().status).toBe(status);
      advance(120_000);
      expect(sockets()).toHaveLength(n);
    }
    for (const code of [4429, 4408, 1013, 1001]) {
      act(() => sock().connect(`/r${code}`));
      const n = sockets().length;
      act(() => last().serverClose(code));
      expect(sock().status).toBe('reconnecting');
      advance(500);
      expect(sockets()).toHaveLength(n + 1);
    }
    expect(onUnauthorized).not.toHaveBeenCalled();
    expect(classifyClose(4401)).toBe('unauthorized');
  });

  it('never reconnects a socket it closed itself, and leaves no timer behind', () => {
    const { sock, unmount } = setup();
    // close() while open
    act(() => sock().connect('/a'));
    const a = serverAccepts();
    act(() => sock().close('logout'));
    expect(a.closedWith).toEqual({ code: 1000, reason: 'logout' });
    expect(sock().status).toBe('idle');
    expect(sock().target).toBeNull();
    // close() while a reconnect is scheduled
    act(() => sock().connect('/b'));
    act(() => last().serverClose(1006));
    act(() => sock().close());
    // a new target closes the old socket for good
    act(() => sock().connect('/c'));
    const c = serverAccepts();
    act(() => sock().connect('/d'));
    expect(c.closedWith?.code).toBe(1000);
    // unmount
    const d = serverAccepts();
    const n = sockets().length;
    unmount();
    expect(d.closedWith?.code).toBe(1000);
    advance(600_000);
    expect(sockets()).toHaveLength(n);
    expect(a.pings() + c.pings() + d.pings()).toBe(0);
  });

  it('a manual reconnect opens a fresh socket at once, with the backoff reset', () => {
    const { sock } = setup();
    act(() => sock().connect('/a'));
    for (let i = 0; i < 4; i++) {
      act(() => last().serverClose(1006));
      advance(30_000);
    }
    const before = last();
    act(() => sock().reconnect());
    expect(before.closedWith?.code).toBe(1000);
    expect(last()).not.toBe(before);
    act(() => last().serverClose(1006));
    advance(500);
    expect(last().url).toBe('ws://test/a');
    expect(sockets()).toHaveLength(7);
  });

  it('logs a frame that is not JSON and keeps the socket', () => {
    const { sock } = setup();
    act(() => sock().connect('/a'));
    const ws = serverAccepts();
    act(() => ws.onmessage?.({ data: '{nope' } as MessageEvent));
    expect(console.warn).toHaveBeenCalledWith('[test-ws]', 'malformed_frame', expect.anything());
    expect(frames).toEqual([{ type: 'hello' }]);
    expect(sock().status).toBe('open');
  });

  it('calls the latest callbacks after a re-render', () => {
    const { sock, rerender } = setup();
    const later: ServerFrame[] = [];
    rerender(options({ onFrame: (f) => later.push(f) }));
    act(() => sock().connect('/a'));
    serverAccepts();
    expect(frames).toEqual([]);
    expect(later).toEqual([{ type: 'hello' }]);
  });
});
