/**
 * useReconnectingSocket() — the one connection loop under both real-time providers.
 *
 * It owns what every majlis socket does the same way (docs/contract.md, "Close codes (both sockets)"):
 * - opens only with a token, and never a second socket for the target it already has open or opening;
 * - sends the `auth` frame first, built by the provider at each open (chat resumes from its last seq);
 * - heartbeats (`ping`) every 25 s, then at the `heartbeat_interval_ms` the server names in `hello`;
 * - classifies close codes: 4401 → unauthorized (the provider's `onUnauthorized`), 4403 / 4404 → stop,
 *   anything else (1001, 1006, 1013, 4408, 4429, …) → capped, jittered exponential backoff;
 * - never reconnects a socket it closed itself, and clears every timer when it closes;
 * - logs every failure with a kind (`[chat-ws] closed 1006 …`), never swallows one.
 *
 * The providers keep their own frames and state. Each calls this hook once, so the chat socket and the
 * presence socket are two independent instances that share no socket, timer or lifecycle
 * (ARCHITECTURE.md, "Chat / presence separation").
 */
import { useEffect, useLayoutEffect, useMemo, useState } from 'react';
import { backoffDelay, FATAL_CLOSE, HEARTBEAT_MS } from './backoff';

export type SocketStatus = 'idle' | 'connecting' | 'open' | 'reconnecting' | 'unauthorized' | 'forbidden' | 'not_found';

/** What a close code means for the client. */
export type CloseClass = 'unauthorized' | 'forbidden' | 'not_found' | 'retry';

export function classifyClose(code: number): CloseClass {
  switch (code) {
    case FATAL_CLOSE.unauthorized:
      return 'unauthorized';
    case FATAL_CLOSE.forbidden:
      return 'forbidden';
    case FATAL_CLOSE.notFound:
      return 'not_found';
    default:
      return 'retry';
  }
}

/** A server's `heartbeat_interval_ms` outside this range is ignored (and logged): the 25 s default stays. */
export const HEARTBEAT_MIN_MS = 1_000;
export const HEARTBEAT_MAX_MS = 300_000;

/** The part of a server frame this loop reads; the providers define the rest. */
export interface ServerFrame {
  type: string;
  heartbeat_interval_ms?: number;
}

export interface SocketOptions<T, F extends ServerFrame> {
  /** names the socket in log lines: `[${name}-ws]` */
  name: string;
  /** the socket's URL for a target; two targets with the same URL are the same socket */
  url: (target: T) => string;
  /** the session token, read at each (re)connect; without one nothing opens */
  token: () => string | null;
  /** the first frame on every open */
  authFrame: (token: string, target: T) => object;
  /** every server frame of the current socket, after `hello` has been accounted for; `send` needs `hello` */
  onFrame: (frame: F, target: T, send: (frame: object) => boolean) => void;
  /** close code 4401: the session is over */
  onUnauthorized: () => void;
  /** close code 4403: the user may not (any longer) use this target; called once per such close */
  onForbidden?: (target: T) => void;
  /** injectable for tests */
  WebSocketImpl?: typeof WebSocket;
  /** the jitter source (tests) */
  random?: () => number;
}

export interface SocketState<T> {
  status: SocketStatus;
  /** what the socket is for (a channel id, a path); null when closed */
  target: T | null;
}

interface Conn<T> {
  target: T;
  url: string;
  ws: WebSocket;
  /** `hello` received: application frames may go out */
  authed: boolean;
  heartbeat: ReturnType<typeof setInterval> | null;
  heartbeatMs: number;
}

const OPEN = 1;
const CONNECTING = 0;

/**
 * The loop itself, free of React so that its timing can be tested directly. Its options are read at
 * each use, and `setOptions` replaces them, so a provider's latest callbacks are the ones called.
 */
export class ReconnectingSocket<T, F extends ServerFrame> {
  private conn: Conn<T> | null = null;
  private wanted: T | null = null;
  private attempt = 0;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private state: SocketState<T> = { status: 'idle', target: null };

  constructor(
    private opts: SocketOptions<T, F>,
    private readonly onState: (s: SocketState<T>) => void = () => {},
  ) {}

  setOptions(opts: SocketOptions<T, F>) {
    this.opts = opts;
  }

  /** the target right now (React state lags behind by a render) */
  readonly currentTarget = (): T | null => this.wanted;

  /** true once the current socket has said `hello` and is still open */
  readonly ready = (): boolean => !!this.conn && this.conn.authed && this.conn.ws.readyState === OPEN;

  /**
   * Points the socket at `target`: a no-op while the same target's socket is open or opening; otherwise the
   * old socket (if any) closes without reconnecting and a new one opens. `null` closes it.
   */
  readonly connect = (target: T | null): void => {
    if (target === null) return this.close();
    const c = this.conn;
    if (c && c.url === this.opts.url(target) && (c.ws.readyState === CONNECTING || c.ws.readyState === OPEN)) {
      this.wanted = target;
      this.emit(this.state.status, target);
      return;
    }
    this.wanted = target;
    this.clearTimer();
    if (c) this.drop(c, 'target changed');
    this.attempt = 0;
    this.open(target);
  };

  /** Closes the socket for good (logout, unmount): no reconnect, no timer left. */
  readonly close = (reason = 'closed'): void => {
    this.wanted = null;
    this.clearTimer();
    if (this.conn) this.drop(this.conn, reason);
    this.attempt = 0;
    this.emit('idle', null);
  };

  /** A fresh socket for the current target now, with the backoff reset (the "Reconnect" button). */
  readonly reconnect = (): void => {
    const target = this.wanted;
    this.clearTimer();
    if (this.conn) this.drop(this.conn, 'manual reconnect');
    this.attempt = 0;
    if (target !== null) this.open(target);
  };

  /** Sends an application frame if the socket is ready; false (and nothing sent) otherwise. */
  readonly send = (frame: object): boolean => {
    const c = this.conn;
    if (!c || !c.authed) return false;
    return this.sendOn(c, frame);
  };

  private warn(kind: string, ...detail: unknown[]) {
    console.warn(`[${this.opts.name}-ws]`, kind, ...detail);
  }

  private emit(status: SocketStatus, target: T | null) {
    if (this.state.status === status && this.state.target === target) return;
    this.state = { status, target };
    this.onState(this.state);
  }

  private clearTimer() {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  private open(target: T) {
    const o = this.opts;
    if (!o.token()) {
      this.emit('idle', target);
      return;
    }
    const url = o.url(target);
    const Impl = o.WebSocketImpl ?? globalThis.WebSocket;
    let ws: WebSocket;
    try {
      ws = new Impl(url);
    } catch (e) {
      this.warn('construct_failed', e);
      this.schedule(target);
      return;
    }
    const conn: Conn<T> = { target, url, ws, authed: false, heartbeat: null, heartbeatMs: HEARTBEAT_MS };
    this.conn = conn;
    this.emit(this.attempt > 0 ? 'reconnecting' : 'connecting', target);
    ws.onopen = () => this.opened(conn);
    ws.onmessage = (ev: MessageEvent) => this.received(conn, ev.data);
    ws.onerror = () => this.warn('socket_error', url);
    ws.onclose = (ev: CloseEvent) => this.closed(conn, ev);
  }

  private opened(conn: Conn<T>) {
    if (this.conn !== conn) return;
    const o = this.opts;
    const token = o.token();
    if (!token) {
      this.drop(conn, 'logout');
      this.emit('idle', this.wanted);
      return;
    }
    this.sendOn(conn, o.authFrame(token, conn.target));
    this.startHeartbeat(conn, HEARTBEAT_MS);
  }

  private received(conn: Conn<T>, data: unknown) {
    if (this.conn !== conn) return;
    if (typeof data !== 'string') {
      this.warn('malformed_frame', 'not text');
      return;
    }
    let frame: F;
    try {
      frame = JSON.parse(data) as F;
    } catch (e) {
      this.warn('malformed_frame', e);
      return;
    }
    if (typeof frame !== 'object' || frame === null || typeof frame.type !== 'string') {
      this.warn('malformed_frame', 'no type');
      return;
    }
    if (frame.type === 'hello') this.hello(conn, frame.heartbeat_interval_ms);
    this.opts.onFrame(frame, conn.target, this.send);
  }

  private hello(conn: Conn<T>, heartbeatMs: number | undefined) {
    conn.authed = true;
    this.attempt = 0;
    this.emit('open', this.wanted);
    if (heartbeatMs === undefined || heartbeatMs === conn.heartbeatMs) return;
    if (Number.isFinite(heartbeatMs) && heartbeatMs >= HEARTBEAT_MIN_MS && heartbeatMs <= HEARTBEAT_MAX_MS) {
      this.startHeartbeat(conn, heartbeatMs);
    } else {
      this.warn('bad_heartbeat_interval', heartbeatMs);
    }
  }

  private closed(conn: Conn<T>, ev: CloseEvent) {
    this.stopHeartbeat(conn);
    // a socket we dropped is no longer current: its close is not a reason to reconnect
    if (this.conn !== conn) return;
    this.conn = null;
    const kind = classifyClose(ev.code);
    if (kind === 'retry') {
      this.warn('closed', ev.code, ev.reason || '');
      this.schedule(conn.target);
      return;
    }
    this.warn(kind, ev.code, ev.reason || '');
    this.emit(kind, this.wanted);
    if (kind === 'unauthorized') this.opts.onUnauthorized();
    else if (kind === 'forbidden') this.opts.onForbidden?.(conn.target);
  }

  /** the next attempt after a close that reconnecting can help: only while the target is still wanted */
  private schedule(target: T) {
    this.clearTimer();
    const o = this.opts;
    if (this.wanted === null || o.url(this.wanted) !== o.url(target)) return;
    if (!o.token()) {
      this.emit('idle', this.wanted);
      return;
    }
    const delay = backoffDelay(this.attempt++, o.random);
    this.emit('reconnecting', this.wanted);
    this.timer = setTimeout(() => {
      this.timer = null;
      if (this.conn || this.wanted === null) return;
      this.open(this.wanted);
    }, delay);
  }

  private startHeartbeat(conn: Conn<T>, ms: number) {
    this.stopHeartbeat(conn);
    conn.heartbeatMs = ms;
    conn.heartbeat = setInterval(() => this.sendOn(conn, { type: 'ping' }), ms);
  }

  private stopHeartbeat(conn: Conn<T>) {
    if (conn.heartbeat) clearInterval(conn.heartbeat);
    conn.heartbeat = null;
  }

  private sendOn(conn: Conn<T>, frame: object): boolean {
    if (conn.ws.readyState !== OPEN) return false;
    try {
      conn.ws.send(JSON.stringify(frame));
      return true;
    } catch (e) {
      this.warn('send_failed', e);
      return false;
    }
  }

  /** closes a socket on purpose: it stops being current (so its close event is ignored), its heartbeat stops now */
  private drop(conn: Conn<T>, reason: string) {
    this.stopHeartbeat(conn);
    if (this.conn === conn) this.conn = null;
    try {
      conn.ws.close(1000, reason);
    } catch (e) {
      this.warn('close_failed', e);
    }
  }
}

export interface ReconnectingSocketHandle<T> extends SocketState<T> {
  connect: (target: T | null) => void;
  close: (reason?: string) => void;
  reconnect: () => void;
  send: (frame: object) => boolean;
  ready: () => boolean;
  currentTarget: () => T | null;
}

/**
 * One `ReconnectingSocket` for the calling component: `status` and `target` are React state, the
 * functions are stable, and the socket closes when the component unmounts.
 */
export function useReconnectingSocket<T, F extends ServerFrame>(options: SocketOptions<T, F>): ReconnectingSocketHandle<T> {
  const [state, setState] = useState<SocketState<T>>({ status: 'idle', target: null });
  const [socket] = useState(() => new ReconnectingSocket<T, F>(options, setState));
  // layout effects run before every passive effect: a socket (re)opened from one sees this render's callbacks
  useLayoutEffect(() => socket.setOptions(options));
  useEffect(() => () => socket.close('unmount'), [socket]);
  return useMemo(
    () => ({
      ...state,
      connect: socket.connect,
      close: socket.close,
      reconnect: socket.reconnect,
      send: socket.send,
      ready: socket.ready,
      currentTarget: socket.currentTarget,
    }),
    [state, socket],
  );
}
