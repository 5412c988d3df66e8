/**
 * usePresence() — the ONE global presence socket (`/ws/presence`), owned by <PresenceProvider>.
 *
 * Same auth / heartbeat / backoff rules as the chat socket, but a separate lifecycle: nothing here
 * touches chat sockets, and nothing in the chat provider reacts to presence. Every server event is
 * dispatched to `onEvent` subscribers; the presence map lives in the chat store.
 */
import { createContext, useCallback, useContext, useEffect, useMemo, useRef, useState, type ReactNode } from 'react';
import { useAuth, useChat } from '../store';
import type { Channel, Id, PresenceStatus } from '../types';
import { key } from '../types';
import { backoffDelay, FATAL_CLOSE, HEARTBEAT_MS, wsUrl } from './backoff';

export type PresenceEvent =
  | { type: 'hello'; user_id: Id; heartbeat_interval_ms?: number; reconnected?: boolean }
  | { type: 'presence_list'; users: { user_id: Id; status: PresenceStatus }[] }
  | { type: 'presence_update'; user_id: Id; status: PresenceStatus }
  | { type: 'presence_batch'; updates: { user_id: Id; status: PresenceStatus }[] }
  | { type: 'channel_created'; channel: Channel }
  | { type: 'channel_member_added'; channel: Channel; user_id: Id }
  | { type: 'error'; code: string; message: string }
  | { type: 'pong' };

export type PresenceHandler = (ev: PresenceEvent) => void;
export type PresenceConnStatus = 'idle' | 'connecting' | 'open' | 'reconnecting' | 'unauthorized';

export interface PresenceApi {
  onEvent: (h: PresenceHandler) => () => void;
  setStatus: (s: 'online' | 'away') => void;
  status: PresenceConnStatus;
}

const Ctx = createContext<PresenceApi | null>(null);

export function usePresence(): PresenceApi {
  const v = useContext(Ctx);
  if (!v) throw new Error('usePresence() must be used inside <PresenceProvider>');
  return v;
}

const warn = (kind: string, ...detail: unknown[]) => console.warn('[presence-ws]', kind, ...detail);

interface Props {
  children: ReactNode;
  WebSocketImpl?: typeof WebSocket;
}

export function PresenceProvider({ children, WebSocketImpl }: Props) {
  const token = useAuth((s) => s.token);
  const userKey = useAuth((s) => (s.token && s.user ? key(s.user.id) : null));
  const [status, setConnStatus] = useState<PresenceConnStatus>('idle');
  const handlers = useRef(new Set<PresenceHandler>());
  const wsRef = useRef<WebSocket | null>(null);
  const Impl = WebSocketImpl ?? globalThis.WebSocket;

  const dispatch = useCallback((ev: PresenceEvent) => {
    for (const h of Array.from(handlers.current)) {
      try {
        h(ev);
      } catch (e) {
        warn('handler_error', e);
      }
    }
  }, []);

  // lifecycle keyed on the signed-in user, not on the token: a token replaced by onboarding
  // does not reopen the socket (the server makes it follow the user's new team).
  useEffect(() => {
    if (!userKey || !token) {
      setConnStatus('idle');
      return;
    }
    let disposed = false;
    let attempt = 0;
    let everOpen = false;
    let ws: WebSocket | null = null;
    let heartbeat: ReturnType<typeof setInterval> | null = null;
    let timer: ReturnType<typeof setTimeout> | null = null;

    const stopHeartbeat = () => {
      if (heartbeat) clearInterval(heartbeat);
      heartbeat = null;
    };
    const send = (s: WebSocket, f: object) => {
      if (s.readyState !== 1) return;
      try {
        s.send(JSON.stringify(f));
      } catch (e) {
        warn('send_failed', e);
      }
    };
    const schedule = () => {
      if (disposed) return;
      const delay = backoffDelay(attempt++);
      setConnStatus('reconnecting');
      timer = setTimeout(() => {
        timer = null;
        open();
      }, delay);
    };
    const open = () => {
      if (disposed) return;
      const tok = useAuth.getState().token;
      if (!tok) return;
      let s: WebSocket;
      try {
        s = new Impl(wsUrl('/ws/presence'));
      } catch (e) {
        warn('construct_failed', e);
        schedule();
        return;
      }
      ws = s;
      wsRef.current = s;
      (window as unknown as { __majlis?: Record<string, unknown> }).__majlis = {
        ...((window as unknown as { __majlis?: Record<string, unknown> }).__majlis ?? {}),
        presenceSocketForTest: s,
      };
      setConnStatus(attempt > 0 ? 'reconnecting' : 'connecting');
      s.onopen = () => {
        if (ws !== s) return;
        const t = useAuth.getState().token;
        if (!t) return;
        send(s, { type: 'auth', token: t });
        heartbeat = setInterval(() => send(s, { type: 'ping' }), HEARTBEAT_MS);
      };
      s.onmessage = (m: MessageEvent) => {
        if (ws !== s) return;
        let ev: PresenceEvent;
        try {
          ev = JSON.parse(String(m.data));
        } catch (e) {
          warn('malformed_frame', e);
          return;
        }
        const st = useChat.getState();
        switch (ev.type) {
          case 'hello':
            attempt = 0;
            setConnStatus('open');
            ev = { ...ev, reconnected: everOpen };
            everOpen = true;
            break;
          case 'presence_list':
            st.setPresenceList(ev.users);
            break;
          case 'presence_update':
            st.setPresence(ev.user_id, ev.status);
            break;
          case 'presence_batch':
            for (const u of ev.updates) st.setPresence(u.user_id, u.status);
            break;
          case 'channel_created':
          case 'channel_member_added':
          case 'pong':
            break;
          case 'error':
            warn('server_error', ev.code, ev.message);
            break;
          default:
            warn('unknown_event', (ev as { type?: string }).type);
        }
        dispatch(ev);
      };
      s.onerror = () => warn('socket_error');
      s.onclose = (ev: CloseEvent) => {
        stopHeartbeat();
        if (ws !== s) return;
        ws = null;
        wsRef.current = null;
        if (disposed) return;
        if (ev.code === FATAL_CLOSE.unauthorized) {
          warn('unauthorized', ev.code, ev.reason);
          setConnStatus('unauthorized');
          useAuth.getState().logoutLocal('Your session has ended. Please sign in again.');
          return;
        }
        warn('closed', ev.code, ev.reason || '');
        schedule();
      };
    };
    open();
    return () => {
      disposed = true;
      if (timer) clearTimeout(timer);
      stopHeartbeat();
      const s = ws;
      ws = null;
      wsRef.current = null;
      if (s) {
        try {
          s.close(1000, 'logout');
        } catch (e) {
          warn('close_failed', e);
        }
      }
    };
    // token is read through the store on every (re)connect; see the comment above
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [userKey, Impl, dispatch]);

  const onEvent = useCallback((h: PresenceHandler) => {
    handlers.current.add(h);
    return () => {
      handlers.current.delete(h);
    };
  }, []);

  const setStatus = useCallback((s: 'online' | 'away') => {
    const ws = wsRef.current;
    if (ws && ws.readyState === 1) ws.send(JSON.stringify({ type: 'set_status', status: s }));
  }, []);

  const api = useMemo(() => ({ onEvent, setStatus, status }), [onEvent, setStatus, status]);
  return <Ctx.Provider value={api}>{children}</Ctx.Provider>;
}
