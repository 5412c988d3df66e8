/**
 * ChatSocketProvider — the ONLY owner of chat WebSockets (`/ws/chat/{channel_id}`).
 *
 * One socket, for the active channel. Rules (ARCHITECTURE.md, "Chat / presence separation"):
 * - connects only with a token and a channel id; never reopens an OPEN/CONNECTING socket for the same channel;
 * - first frame is `auth` with the highest seq seen, so a reconnect replays exactly what was missed;
 * - 25 s heartbeat (`ping`), cleared on close;
 * - capped exponential backoff with jitter, only while the channel is still current;
 * - no reconnect after 4401 (→ logout), 4403, 4404;
 * - messages are deduped by seq; errors are logged and classified, never swallowed;
 * - independent of the presence socket: nothing here reacts to presence.
 */
import { createContext, useCallback, useContext, useEffect, useMemo, useRef, useState, type ReactNode } from 'react';
import { useAuth, useChat } from '../store';
import type { Id, Message } from '../types';
import { key } from '../types';
import { backoffDelay, FATAL_CLOSE, HEARTBEAT_MS, newClientId, wsUrl } from './backoff';

export type ChatStatus = 'idle' | 'connecting' | 'open' | 'reconnecting' | 'unauthorized' | 'forbidden' | 'not_found';

export type ChatServerFrame =
  | { type: 'hello'; channel_id: Id; user_id: Id; last_seq: number; heartbeat_interval_ms?: number }
  | { type: 'message'; message: Message }
  | { type: 'ack'; client_id: string; message: Message }
  | { type: 'typing_start' | 'typing_stop'; user_id: Id }
  | { type: 'reaction_added' | 'reaction_removed'; message_id: Id; user_id: Id; emoji: string }
  | { type: 'error'; code: string; message: string; client_id?: string }
  | { type: 'replay_truncated'; last_seq: number; first_seq: number }
  | { type: 'pong' };

export type ChatHandler = (frame: ChatServerFrame, channelId: Id) => void;

export interface ChatSocketApi {
  connectChannel: (channelId: Id | null) => void;
  sendMessage: (content: string) => string;
  retryMessage: (clientId: string) => void;
  sendTyping: (kind: 'start' | 'stop') => void;
  sendReaction: (messageId: Id, emoji: string, action: 'add' | 'remove') => void;
  onMessage: (handler: ChatHandler) => () => void;
  reconnect: () => void;
  status: ChatStatus;
  channelId: Id | null;
}

const Ctx = createContext<ChatSocketApi | null>(null);

export function useChatSocket(): ChatSocketApi {
  const v = useContext(Ctx);
  if (!v) throw new Error('useChatSocket() must be used inside <ChatSocketProvider>');
  return v;
}

interface Conn {
  channelId: Id;
  ws: WebSocket;
  authed: boolean;
  intentional: boolean;
  heartbeat: ReturnType<typeof setInterval> | null;
}

/** how long an optimistic send may wait for its ack before it shows as failed */
export const ACK_TIMEOUT_MS = 15_000;

interface Props {
  children: ReactNode;
  /** injectable for tests */
  WebSocketImpl?: typeof WebSocket;
  /** called on close code 4401; default: local logout */
  onUnauthorized?: () => void;
}

const warn = (kind: string, ...detail: unknown[]) => console.warn('[chat-ws]', kind, ...detail);

export function ChatSocketProvider({ children, WebSocketImpl, onUnauthorized }: Props) {
  const token = useAuth((s) => s.token);
  const [status, setStatus] = useState<ChatStatus>('idle');
  const [channelId, setChannelId] = useState<Id | null>(null);

  const Impl = WebSocketImpl ?? globalThis.WebSocket;
  const connRef = useRef<Conn | null>(null);
  const currentRef = useRef<Id | null>(null);
  const attemptRef = useRef(0);
  const reconnectTimer = useRef<ReturnType<typeof setTimeout> | null>(null);
  const ackTimers = useRef(new Map<string, ReturnType<typeof setTimeout>>());
  const handlers = useRef(new Set<ChatHandler>());
  const unauthorizedRef = useRef(onUnauthorized);
  unauthorizedRef.current = onUnauthorized;

  const clearReconnect = () => {
    if (reconnectTimer.current) clearTimeout(reconnectTimer.current);
    reconnectTimer.current = null;
  };
  const stopHeartbeat = (c: Conn) => {
    if (c.heartbeat) clearInterval(c.heartbeat);
    c.heartbeat = null;
  };
  const closeConn = (c: Conn, reason: string) => {
    c.intentional = true;
    stopHeartbeat(c);
    if (connRef.current === c) connRef.current = null;
    try {
      c.ws.close(1000, reason);
    } catch (e) {
      warn('close_failed', e);
    }
  };

  const isOpen = (c: Conn | null, ch: Id): c is Conn =>
    !!c && key(c.channelId) === key(ch) && c.authed && c.ws.readyState === 1;

  const armAckTimer = (ch: Id, clientId: string) => {
    const old = ackTimers.current.get(clientId);
    if (old) clearTimeout(old);
    ackTimers.current.set(
      clientId,
      setTimeout(() => {
        ackTimers.current.delete(clientId);
        const p = useChat.getState().pending[key(ch)]?.[clientId];
        if (p && p.status === 'pending') {
          warn('ack_timeout', clientId);
          useChat.getState().setPendingStatus(ch, clientId, 'failed', 'Not delivered');
        }
      }, ACK_TIMEOUT_MS),
    );
  };
  const settle = (clientId: string | null | undefined) => {
    if (!clientId) return;
    const t = ackTimers.current.get(clientId);
    if (t) clearTimeout(t);
    ackTimers.current.delete(clientId);
  };

  const dispatch = (frame: ChatServerFrame, ch: Id) => {
    for (const h of Array.from(handlers.current)) {
      try {
        h(frame, ch);
      } catch (e) {
        warn('handler_error', e);
      }
    }
  };

  const handleFrame = (conn: Conn, raw: unknown) => {
    if (connRef.current !== conn) return;
    let f: ChatServerFrame;
    try {
      f = JSON.parse(String(raw));
    } catch (e) {
      warn('malformed_frame', e);
      return;
    }
    const ch = conn.channelId;
    const st = useChat.getState();
    const me = key(useAuth.getState().user?.id);
    switch (f.type) {
      case 'hello': {
        conn.authed = true;
        attemptRef.current = 0;
        setStatus('open');
        if (f.heartbeat_interval_ms && f.heartbeat_interval_ms !== HEARTBEAT_MS && f.heartbeat_interval_ms >= 1000) {
          stopHeartbeat(conn);
          conn.heartbeat = setInterval(() => sendRaw(conn, { type: 'ping' }), f.heartbeat_interval_ms);
        }
        // flush optimistic sends that were waiting for a connection (server dedupes by client_id)
        for (const p of Object.values(st.pending[key(ch)] ?? {})) {
          if (p.status === 'pending') sendRaw(conn, { type: 'message', content: p.content, client_id: p.client_id });
        }
        break;
      }
      case 'message': {
        const fresh = st.addMessages(ch, [f.message]);
        if (fresh.length === 0) return; // duplicate seq: drop, do not dispatch twice
        if (key(f.message.user_id) === me) settle(f.message.client_id);
        break;
      }
      case 'ack':
        settle(f.client_id);
        st.addMessages(ch, [f.message]);
        st.removePending(ch, f.client_id);
        break;
      case 'typing_start':
      case 'typing_stop':
        if (key(f.user_id) !== me) st.setTyping(ch, f.user_id, f.type === 'typing_start');
        break;
      case 'reaction_added':
      case 'reaction_removed':
        st.applyReaction(ch, f.message_id, f.user_id, f.emoji, f.type === 'reaction_added');
        break;
      case 'error':
        warn('server_error', f.code, f.message);
        if (f.client_id) {
          settle(f.client_id);
          st.setPendingStatus(ch, f.client_id, 'failed', f.message);
        }
        break;
      case 'replay_truncated':
        // Too far behind to replay it all: the server sends the newest part
        // from first_seq on. What we hold below it is no longer contiguous,
        // so it goes; "load older" reads the rest over REST.
        st.dropBefore(ch, f.first_seq);
        break;
      case 'pong':
        break;
      default:
        warn('unknown_frame', (f as { type?: string }).type);
    }
    dispatch(f, ch);
  };

  const sendRaw = (conn: Conn, frame: object): boolean => {
    if (conn.ws.readyState !== 1) return false;
    try {
      conn.ws.send(JSON.stringify(frame));
      return true;
    } catch (e) {
      warn('send_failed', e);
      return false;
    }
  };

  // `open` and `scheduleReconnect` refer to each other; keep them in refs of one closure
  const openRef = useRef<(ch: Id) => void>(() => {});
  openRef.current = (ch: Id) => {
    const tok = useAuth.getState().token;
    if (!tok || ch === null || ch === undefined) return;
    let ws: WebSocket;
    try {
      ws = new Impl(wsUrl(`/ws/chat/${encodeURIComponent(String(ch))}`));
    } catch (e) {
      warn('construct_failed', e);
      scheduleReconnect(ch);
      return;
    }
    const conn: Conn = { channelId: ch, ws, authed: false, intentional: false, heartbeat: null };
    connRef.current = conn;
    setStatus(attemptRef.current > 0 ? 'reconnecting' : 'connecting');
    ws.onopen = () => {
      if (connRef.current !== conn) return;
      const last = useChat.getState().lastSeq[key(ch)];
      const t = useAuth.getState().token;
      if (!t) return closeConn(conn, 'logout');
      sendRaw(conn, last === undefined ? { type: 'auth', token: t } : { type: 'auth', token: t, last_seq: last });
      conn.heartbeat = setInterval(() => sendRaw(conn, { type: 'ping' }), HEARTBEAT_MS);
    };
    ws.onmessage = (ev: MessageEvent) => handleFrame(conn, ev.data);
    ws.onerror = () => warn('socket_error', `channel ${String(ch)}`);
    ws.onclose = (ev: CloseEvent) => {
      stopHeartbeat(conn);
      if (conn.intentional || connRef.current !== conn) return;
      connRef.current = null;
      switch (ev.code) {
        case FATAL_CLOSE.unauthorized:
          warn('unauthorized', ev.code, ev.reason);
          setStatus('unauthorized');
          if (unauthorizedRef.current) unauthorizedRef.current();
          else useAuth.getState().logoutLocal('Your session has ended. Please sign in again.');
          return;
        case FATAL_CLOSE.forbidden:
          warn('forbidden', ev.code, ev.reason);
          setStatus('forbidden');
          return;
        case FATAL_CLOSE.notFound:
          warn('not_found', ev.code, ev.reason);
          setStatus('not_found');
          return;
        default:
          warn('closed', ev.code, ev.reason || '');
          scheduleReconnect(ch);
      }
    };
  };

  const scheduleReconnect = (ch: Id) => {
    clearReconnect();
    if (key(currentRef.current) !== key(ch) || !useAuth.getState().token) return;
    const delay = backoffDelay(attemptRef.current++);
    setStatus('reconnecting');
    reconnectTimer.current = setTimeout(() => {
      reconnectTimer.current = null;
      if (key(currentRef.current) !== key(ch) || connRef.current) return;
      openRef.current(ch);
    }, delay);
  };

  const connectChannel = useCallback((ch: Id | null) => {
    currentRef.current = ch;
    setChannelId(ch);
    const c = connRef.current;
    if (ch !== null && c && key(c.channelId) === key(ch) && (c.ws.readyState === 0 || c.ws.readyState === 1)) {
      return; // already open (or opening) for this channel: never open a second one
    }
    clearReconnect();
    if (c) closeConn(c, 'channel switch');
    attemptRef.current = 0;
    if (ch === null) {
      setStatus('idle');
      return;
    }
    openRef.current(ch);
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, []);

  const reconnect = useCallback(() => {
    const ch = currentRef.current;
    clearReconnect();
    if (connRef.current) closeConn(connRef.current, 'manual reconnect');
    attemptRef.current = 0;
    if (ch !== null) openRef.current(ch);
  }, []);

  const sendMessage = useCallback((content: string): string => {
    const ch = currentRef.current;
    if (ch === null) throw new Error('no active channel');
    const client_id = newClientId();
    useChat.getState().addPending({
      client_id,
      channel_id: ch,
      content,
      status: 'pending',
      created_at: new Date().toISOString(),
    });
    armAckTimer(ch, client_id);
    const c = connRef.current;
    if (isOpen(c, ch)) sendRaw(c, { type: 'message', content, client_id });
    // else: flushed on the next `hello`
    return client_id;
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, []);

  const retryMessage = useCallback((clientId: string) => {
    const ch = currentRef.current;
    if (ch === null) return;
    const p = useChat.getState().pending[key(ch)]?.[clientId];
    if (!p) return;
    useChat.getState().setPendingStatus(ch, clientId, 'pending');
    armAckTimer(ch, clientId);
    const c = connRef.current;
    if (isOpen(c, ch)) sendRaw(c, { type: 'message', content: p.content, client_id: clientId });
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, []);

  const sendTyping = useCallback((kind: 'start' | 'stop') => {
    const c = connRef.current;
    const ch = currentRef.current;
    if (ch !== null && isOpen(c, ch)) sendRaw(c, { type: kind === 'start' ? 'typing_start' : 'typing_stop' });
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, []);

  const sendReaction = useCallback((message_id: Id, emoji: string, action: 'add' | 'remove') => {
    const c = connRef.current;
    const ch = currentRef.current;
    if (ch !== null && isOpen(c, ch)) sendRaw(c, { type: 'reaction', message_id, emoji, action });
    else warn('not_connected', 'reaction dropped');
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, []);

  const onMessage = useCallback((h: ChatHandler) => {
    handlers.current.add(h);
    return () => {
      handlers.current.delete(h);
    };
  }, []);

  // logout (token gone) and unmount: close everything, clear every timer
  const teardown = () => {
    clearReconnect();
    if (connRef.current) closeConn(connRef.current, 'logout');
    connRef.current = null;
    currentRef.current = null;
    for (const t of ackTimers.current.values()) clearTimeout(t);
    ackTimers.current.clear();
  };
  useEffect(() => {
    if (!token) {
      teardown();
      setStatus('idle');
      setChannelId(null);
    }
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [token]);
  useEffect(() => teardown, []);

  const api = useMemo<ChatSocketApi>(
    () => ({ connectChannel, sendMessage, retryMessage, sendTyping, sendReaction, onMessage, reconnect, status, channelId }),
    [connectChannel, sendMessage, retryMessage, sendTyping, sendReaction, onMessage, reconnect, status, channelId],
  );
  return <Ctx.Provider value={api}>{children}</Ctx.Provider>;
}
