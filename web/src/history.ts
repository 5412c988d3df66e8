/**
 * Keeping the held messages current, and changing them.
 *
 * Edits, deletions and reaction changes are live events: a chat socket's resume (`last_seq`) replays new
 * messages, not what happened to the old ones (docs/contract.md, "Threads, edit, delete"). So on every `hello`
 * the channel view asks history for the messages it holds (`refreshHistory`): the newest first, a page at a
 * time, down to the oldest held. What is held beyond REFRESH_MAX_PAGES pages is dropped instead (loading older
 * messages fetches it again, current).
 *
 * `editMessage` / `deleteMessage` go over REST (their errors are per action, unlike a socket's `error` frame)
 * and apply the answer at once; the `message_edited` / `message_deleted` frame that follows changes nothing.
 */
import { api, ApiError, errorText } from './api';
import { useChat } from './store';
import type { Id, Message } from './types';
import { key } from './types';

export const REFRESH_PAGE = 200;
export const REFRESH_MAX_PAGES = 5;

/** Refreshes the held messages of `channelId` from history; rejects (with the API's error) if a page fails. */
export async function refreshHistory(channelId: Id): Promise<void> {
  const held = useChat.getState().messages[key(channelId)];
  if (!held?.length) return;
  const oldest = held[0].seq;
  let before = held[held.length - 1].seq + 1;
  for (let page = 0; page < REFRESH_MAX_PAGES; page++) {
    const r = await api.messages(channelId, { before_seq: before, limit: REFRESH_PAGE });
    useChat.getState().refreshMessages(channelId, r.messages);
    const low = r.messages[0]?.seq;
    if (low === undefined || low <= oldest || !r.has_more) return;
    before = low;
  }
  console.warn('[history]', 'refresh_capped', key(channelId), before);
  useChat.getState().dropBefore(channelId, before);
}

export const THREAD_PAGE = 100;

/**
 * Loads a thread into the store: the root's current state and its replies, a page at a time from `afterSeq`
 * (0: from the start, which also refreshes the held replies after a reconnect).
 */
export async function loadThread(channelId: Id, rootId: Id, afterSeq = 0): Promise<void> {
  const r = await api.thread(rootId, { after_seq: afterSeq, limit: THREAD_PAGE });
  useChat.getState().setThread(channelId, r.root, r.replies, r.has_more);
}

export async function editMessage(channelId: Id, messageId: Id, content: string): Promise<Message> {
  const m = await api.editMessage(messageId, content);
  useChat.getState().messageEdited(channelId, m);
  return m;
}

export async function deleteMessage(channelId: Id, messageId: Id): Promise<void> {
  await api.deleteMessage(messageId);
  useChat.getState().messageDeleted(channelId, messageId);
}

/** The contract's codes for a refused edit or deletion, said plainly; anything else as the server put it. */
export function messageActionError(e: unknown, action: 'edit' | 'delete'): string {
  if (e instanceof ApiError) {
    if (e.code === 'forbidden') return `You do not have permission to ${action} this message.`;
    if (e.code === 'message_not_found') return 'This message no longer exists.';
    if (e.code === 'channel_archived') return `This channel is archived: its messages cannot be ${action === 'edit' ? 'edited' : 'deleted'}.`;
  }
  return errorText(e);
}
