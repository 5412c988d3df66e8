/**
 * The user's read cursor, kept by the server (`POST /api/channels/{id}/read`). The channel view asks to mark a
 * channel read each time the user may have seen something new; `ReadMarker` decides whether that is worth a
 * request: only above the read cursor the store knows (the server never moves it down anyway, so a lower seq is a
 * wasted request; so is a seq already sent, though a frame older than the request may still show the old cursor),
 * and at most once a second per channel (a busy channel would otherwise post on every message),
 * the last seq asked for going out when the second is over. The counts go to 0 at once: the server's `unread`
 * frame that follows (to every tab of the user) says the same, or corrects it.
 */
import { api } from './api';
import { useAuth, useChat } from './store';
import type { Id, Message } from './types';
import { key } from './types';

export const MARK_READ_INTERVAL_MS = 1000;

type Post = (channelId: Id, seq: number) => Promise<void>;

export class ReadMarker {
  /** when the last request went, per channel key */
  private last = new Map<string, number>();
  /** the highest seq sent (and not refused), per channel key */
  private sent = new Map<string, number>();
  /** the request waiting for its second to be over, per channel key, with the highest seq asked for meanwhile */
  private waiting = new Map<string, { seq: number; timer: ReturnType<typeof setTimeout> }>();

  constructor(
    private post: Post,
    private now: () => number = () => Date.now(),
  ) {}

  /** The user has seen `channelId` up to `seq`. */
  mark(channelId: Id, seq: number): void {
    const k = key(channelId);
    const c = useChat.getState().channels.find((x) => key(x.id) === k);
    // a channel no longer the user's (left, logged out) is nobody's to mark
    if (!c || !(seq > Math.max(c.last_read_seq ?? 0, this.sent.get(k) ?? 0))) return;
    const held = this.waiting.get(k);
    if (held) {
      held.seq = Math.max(held.seq, seq);
      return;
    }
    const wait = (this.last.get(k) ?? -Infinity) + MARK_READ_INTERVAL_MS - this.now();
    if (wait > 0) {
      const entry = {
        seq,
        timer: setTimeout(() => {
          this.waiting.delete(k);
          this.mark(channelId, entry.seq);
        }, wait),
      };
      this.waiting.set(k, entry);
      return;
    }
    this.last.set(k, this.now());
    this.sent.set(k, seq);
    useChat.getState().markedRead(channelId, seq);
    this.post(channelId, seq).catch((e: unknown) => {
      // the counts stay at 0 here until the next channel list or `unread` frame says otherwise; the next seq seen
      // asks again
      console.warn('[read]', 'mark_read_failed', k, seq, e);
      if (this.sent.get(k) === seq) this.sent.delete(k);
    });
  }

  /** Forgets the waiting requests (logout). */
  reset(): void {
    for (const w of this.waiting.values()) clearTimeout(w.timer);
    this.waiting.clear();
    this.last.clear();
    this.sent.clear();
  }
}

export const readMarker = new ReadMarker((channelId, seq) => api.markRead(channelId, seq));
// what was sent is the previous user's: another one (or none) starts afresh
useAuth.subscribe((s, prev) => {
  if (key(s.user?.id) !== key(prev.user?.id)) readMarker.reset();
});

/**
 * Where the "New messages" line goes in `messages` (a channel's main list, ascending): above the first live message
 * after `lastRead` written by someone other than `me`; -1 for none.
 */
export function newMessagesIndex(messages: readonly Message[], lastRead: number, me: string): number {
  return messages.findIndex((m) => m.seq > lastRead && !m.deleted && key(m.user_id) !== me);
}
