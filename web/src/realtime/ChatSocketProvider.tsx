/**
 * ChatSocketProvider — the ONLY owner of chat WebSockets (`/ws/chat/{channel_id}`).
 *
 * One socket, for the active channel, on its own `useReconnectingSocket()` (auth first, heartbeat at the
 * server's interval, 4401 → logout, no reconnect after 4403 / 4404, capped jittered backoff only while
 * the channel is still current). What is chat's own lives here (ARCHITECTURE.md, "Chat / presence separation"):
 * - the auth frame carries the highest seq seen, so a reconnect replays exactly what was missed;
 * - messages are deduped by seq; optimistic sends are tracked by `client_id` (pending → acked / failed),
 *   and the pending ones go out again on each `hello`;
 * - replies (messages with `root_id`) join their root's thread, not the channel's list; `thread_updated` carries
 *   a root's reply count;
 * - edits and deletions (`message_edited`, `message_deleted`) change the held messages; they are not replayed,
 *   so the channel view refreshes what it holds from history on each `hello` (`src/history.ts`);
 * - errors are logged and classified, never swallowed;
 * - independent of the presence socket: nothing here reacts to presence.
 */
import { createContext, useCallback, useContext, useEffect, useMemo, useRef, useState, type ReactNode } from 'react';
import { useAuth, useChat } from '../store';
import type { Channel, Id, Message } from '../types';
import { key } from '../types';
import { newClientId, wsUrl } from './backoff';
import { useReconnectingSocket, type SocketStatus } from './useReconnectingSocket';

export type ChatStatus = SocketStatus;

export type ChatServerFrame =
  | { type: 'hello'; channel_id: Id; user_id: Id; last_seq: number; heartbeat_interval_ms?: number }
  | { type: 'message'; message: Message }
  | { type: 'ack'; client_id: string; message: Message }
  | { type: 'typing_start' | 'typing_stop'; user_id: Id }
  | { type: 'reaction_added' | 'reaction_removed'; message_id: Id; user_id: Id; emoji: string }
  | { type: 'message_edited'; message: Message }
  | { type: 'message_deleted'; message_id: Id }
  | { type: 'thread_updated'; root_id: Id; reply_count: number; last_reply_at: string | null }
  | { type: 'error'; code: string; message: string; client_id?: string }
  | { type: 'replay_truncated'; last_seq: number; first_seq: number }
  | { type: 'channel_updated'; channel: Channel }
  | { type: 'channel_archived'; channel_id?: Id; channel?: Channel }
  | { type: 'pong' };

export type ChatHandler = (frame: ChatServerFrame, channelId: Id) => void;

export interface ChatSocketApi {
  connectChannel: (channelId: Id | null) => void;
  /** an optimistic send; with `rootId`, a reply in that root's thread */
  sendMessage: (content: string, rootId?: Id | null) => string;
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

/** One timer per optimistic send: no ack within ACK_TIMEOUT_MS marks it failed. */
class AckTimers {
  private timers = new Map<string, ReturnType<typeof setTimeout>>();

  arm(ch: Id, clientId: string) {
    this.settle(clientId);
    this.timers.set(
      clientId,
      setTimeout(() => {
        this.timers.delete(clientId);
        const p = useChat.getState().pending[key(ch)]?.[clientId];
        if (p && p.status === 'pending') {
          warn('ack_timeout', clientId);
          useChat.getState().setPendingStatus(ch, clientId, 'failed', 'Not delivered');
        }
      }, ACK_TIMEOUT_MS),
    );
  }

  settle(clientId: string | null | undefined) {
    if (!clientId) return;
    const t = this.timers.get(clientId);
    if (t) clearTimeout(t);
    this.timers.delete(clientId);
  }

  clear() {
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
  }
}

/** The chat socket's send frame; a reply names its root. */
function messageFrame(content: string, client_id: string, root_id?: Id | null) {
  return root_id == null ? { type: 'message', content, client_id } : { type: 'message', content, client_id, root_id };
}

function authFrame(token: string, ch: Id) {
  const last = useChat.getState().lastSeq[key(ch)];
  return last === undefined ? { type: 'auth', token } : { type: 'auth', token, last_seq: last };
}

/** Applies one server frame to the store; false when it is a duplicate that must not be dispatched. */
function applyFrame(f: ChatServerFrame, ch: Id, acks: AckTimers, send: (frame: object) => boolean): boolean {
  const st = useChat.getState();
  const me = key(useAuth.getState().user?.id);
  switch (f.type) {
    case 'hello':
      // flush optimistic sends that were waiting for a connection (the server dedupes by client_id)
      for (const p of Object.values(st.pending[key(ch)] ?? {})) {
        if (p.status === 'pending') send(messageFrame(p.content, p.client_id, p.root_id));
      }
      break;
    case 'message': {
      const fresh = st.addMessages(ch, [f.message]);
      if (fresh.length === 0) return false; // duplicate seq: drop, do not dispatch twice
      if (key(f.message.user_id) === me) acks.settle(f.message.client_id);
      break;
    }
    case 'ack':
      acks.settle(f.client_id);
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
    case 'message_edited':
      st.messageEdited(ch, f.message);
      break;
    case 'message_deleted':
      st.messageDeleted(ch, f.message_id);
      break;
    case 'thread_updated':
      st.threadUpdated(ch, f.root_id, f.reply_count, f.last_reply_at);
      break;
    case 'error':
      warn('server_error', f.code, f.message);
      if (f.client_id) {
        acks.settle(f.client_id);
        st.setPendingStatus(ch, f.client_id, 'failed', f.message);
      }
      break;
    case 'replay_truncated':
      // Too far behind to replay it all: the server sends the newest part
      // from first_seq on. What we hold below it is no longer contiguous,
      // so it goes; "load older" reads the rest over REST.
      st.dropBefore(ch, f.first_seq);
      break;
    case 'channel_updated':
      st.updateChannel(f.channel);
      break;
    case 'channel_archived':
      // the socket stays open: the channel is readable, not writable
      if (f.channel) st.updateChannel({ ...f.channel, archived_at: f.channel.archived_at ?? new Date().toISOString() });
      else st.markArchived(f.channel_id ?? ch, new Date().toISOString());
      break;
    case 'pong':
      break;
    default:
      warn('unknown_frame', (f as { type: string }).type);
  }
  return true;
}

export function ChatSocketProvider({ children, WebSocketImpl, onUnauthorized }: Props) {
  const token = useAuth((s) => s.token);
  const [acks] = useState(() => new AckTimers());
  const handlers = useRef(new Set<ChatHandler>());

  const dispatch = (frame: ChatServerFrame, ch: Id) => {
    for (const h of Array.from(handlers.current)) {
      try {
        h(frame, ch);
      } catch (e) {
        warn('handler_error', e);
      }
    }
  };

  const socket = useReconnectingSocket<Id, ChatServerFrame>({
    name: 'chat',
    WebSocketImpl,
    url: (ch) => wsUrl(`/ws/chat/${encodeURIComponent(String(ch))}`),
    token: () => useAuth.getState().token,
    authFrame,
    onFrame: (f, ch, send) => {
      if (applyFrame(f, ch, acks, send)) dispatch(f, ch);
    },
    onUnauthorized: () => {
      if (onUnauthorized) onUnauthorized();
      else useAuth.getState().logoutLocal('Your session has ended. Please sign in again.');
    },
    // 4403: removed from the channel (or never allowed in); the main view says so, and nothing reconnects
    onForbidden: (ch) => useChat.getState().chatForbidden(ch),
  });
  const { connect, close, send, currentTarget } = socket;

  const sendMessage = useCallback(
    (content: string, rootId?: Id | null): string => {
      const ch = currentTarget();
      if (ch === null) throw new Error('no active channel');
      const client_id = newClientId();
      const root_id = rootId ?? null;
      useChat.getState().addPending({ client_id, channel_id: ch, content, status: 'pending', created_at: new Date().toISOString(), root_id });
      acks.arm(ch, client_id);
      send(messageFrame(content, client_id, root_id)); // not connected: it goes out on the next `hello`
      return client_id;
    },
    [acks, currentTarget, send],
  );

  const retryMessage = useCallback(
    (clientId: string) => {
      const ch = currentTarget();
      if (ch === null) return;
      const p = useChat.getState().pending[key(ch)]?.[clientId];
      if (!p) return;
      useChat.getState().setPendingStatus(ch, clientId, 'pending');
      acks.arm(ch, clientId);
      send(messageFrame(p.content, clientId, p.root_id));
    },
    [acks, currentTarget, send],
  );

  const sendTyping = useCallback(
    (kind: 'start' | 'stop') => {
      send({ type: kind === 'start' ? 'typing_start' : 'typing_stop' });
    },
    [send],
  );

  const sendReaction = useCallback(
    (message_id: Id, emoji: string, action: 'add' | 'remove') => {
      if (!send({ type: 'reaction', message_id, emoji, action })) warn('not_connected', 'reaction dropped');
    },
    [send],
  );

  const onMessage = useCallback((h: ChatHandler) => {
    handlers.current.add(h);
    return () => {
      handlers.current.delete(h);
    };
  }, []);

  // logout (the token goes away): close the socket and forget every pending ack
  useEffect(() => {
    if (!token) {
      close('logout');
      acks.clear();
    }
  }, [token, close, acks]);
  useEffect(() => () => acks.clear(), [acks]);

  const { status, target, reconnect } = socket;
  const api = useMemo<ChatSocketApi>(
    () => ({ connectChannel: connect, sendMessage, retryMessage, sendTyping, sendReaction, onMessage, reconnect, status, channelId: target }),
    [connect, sendMessage, retryMessage, sendTyping, sendReaction, onMessage, reconnect, status, target],
  );
  return <Ctx.Provider value={api}>{children}</Ctx.Provider>;
}
