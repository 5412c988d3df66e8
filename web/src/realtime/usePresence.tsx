/**
 * usePresence() — the ONE global presence socket (`/ws/presence`), owned by <PresenceProvider>.
 *
 * Same auth / heartbeat / backoff rules as the chat socket (its own `useReconnectingSocket()`), but a
 * separate lifecycle: nothing here touches chat sockets, and nothing in the chat provider reacts to
 * presence. Every server event is dispatched to `onEvent` subscribers; the presence map lives in the
 * chat store.
 */
import { createContext, useCallback, useContext, useEffect, useMemo, useRef, type ReactNode } from 'react';
import { useAuth, useChat, type UnreadFrame } from '../store';
import type { Channel, Id, PresenceStatus, User } from '../types';
import { key } from '../types';
import { wsUrl } from './backoff';
import { useReconnectingSocket, type SocketStatus } from './useReconnectingSocket';

export type PresenceEvent =
  | { type: 'hello'; user_id: Id; heartbeat_interval_ms?: number; reconnected?: boolean }
  | { type: 'presence_list'; users: { user_id: Id; status: PresenceStatus }[] }
  | { type: 'presence_update'; user_id: Id; status: PresenceStatus }
  | { type: 'presence_batch'; updates: { user_id: Id; status: PresenceStatus }[] }
  | { type: 'channel_created'; channel: Channel }
  | { type: 'channel_member_added'; channel: Channel; user_id: Id }
  | { type: 'channel_updated'; channel: Channel }
  | { type: 'channel_archived'; channel_id: Id; channel?: Channel }
  | { type: 'channel_member_removed'; channel_id: Id; user_id: Id }
  | { type: 'permissions_changed' }
  | { type: 'team_removed'; team_id?: Id }
  | { type: 'user_updated'; user: User }
  | ({ type: 'unread' } & UnreadFrame)
  | { type: 'error'; code: string; message: string }
  | { type: 'pong' };

export type PresenceHandler = (ev: PresenceEvent) => void;
export type PresenceConnStatus = SocketStatus;

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

const PRESENCE_PATH = '/ws/presence';

interface Props {
  children: ReactNode;
  /** injectable for tests */
  WebSocketImpl?: typeof WebSocket;
}

export function PresenceProvider({ children, WebSocketImpl }: Props) {
  const userKey = useAuth((s) => (s.token && s.user ? key(s.user.id) : null));
  const handlers = useRef(new Set<PresenceHandler>());
  // whether this user's socket has said hello before: the next hello is a reconnect (events were missed)
  const everOpen = useRef(false);

  const dispatch = (ev: PresenceEvent) => {
    for (const h of Array.from(handlers.current)) {
      try {
        h(ev);
      } catch (e) {
        warn('handler_error', e);
      }
    }
  };

  const onFrame = (ev: PresenceEvent) => {
    const st = useChat.getState();
    switch (ev.type) {
      case 'hello':
        ev = { ...ev, reconnected: everOpen.current };
        everOpen.current = true;
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
      // every tab and device of the user hears it, so a channel read in one is read in all
      case 'unread':
        st.applyUnread(ev);
        break;
      // the workspace's own events: applied by their subscribers (src/workspace.ts)
      case 'channel_created':
      case 'channel_member_added':
      case 'channel_updated':
      case 'channel_archived':
      case 'channel_member_removed':
      case 'permissions_changed':
      case 'team_removed':
      case 'user_updated':
      case 'pong':
        break;
      case 'error':
        warn('server_error', ev.code, ev.message);
        break;
      default:
        warn('unknown_event', (ev as { type: string }).type);
    }
    dispatch(ev);
  };

  const { status, connect, close, send } = useReconnectingSocket<string, PresenceEvent>({
    name: 'presence',
    WebSocketImpl,
    url: wsUrl,
    token: () => useAuth.getState().token,
    authFrame: (token) => ({ type: 'auth', token }),
    onFrame,
    onUnauthorized: () => useAuth.getState().logoutLocal('Your session has ended. Please sign in again.'),
  });

  // lifecycle keyed on the signed-in user, not on the token: a token replaced by onboarding
  // does not reopen the socket (the server makes it follow the user's new team); the token
  // itself is read at each (re)connect.
  useEffect(() => {
    if (!userKey) return;
    everOpen.current = false;
    connect(PRESENCE_PATH);
    return () => close('logout');
  }, [userKey, connect, close]);

  const onEvent = useCallback((h: PresenceHandler) => {
    handlers.current.add(h);
    return () => {
      handlers.current.delete(h);
    };
  }, []);

  const setStatus = useCallback(
    (s: 'online' | 'away') => {
      if (!send({ type: 'set_status', status: s })) warn('not_connected', 'set_status dropped');
    },
    [send],
  );

  const api = useMemo(() => ({ onEvent, setStatus, status }), [onEvent, setStatus, status]);
  return <Ctx.Provider value={api}>{children}</Ctx.Provider>;
}
