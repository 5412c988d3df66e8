import { Fragment, useCallback, useEffect, useLayoutEffect, useMemo, useRef, useState, type KeyboardEvent, type RefObject } from 'react';
import { api, errorText } from '../api';
import { directTitle, isDirect, useChannelLabel, useDirectPeople } from '../direct';
import { deleteMessage, editMessage, loadThread, messageActionError, refreshHistory } from '../history';
import { mentionsMe } from '../mentions';
import { newMessagesIndex, readMarker } from '../readState';
import { useChatSocket, type ChatStatus } from '../realtime/ChatSocketProvider';
import { canChannel, canTeam, useAuth, useChat, usePermissions, type PendingMessage } from '../store';
import type { Channel, Id, Message } from '../types';
import { isReply, key } from '../types';
import { ChannelSettingsModal } from './ChannelSettingsModal';
import { FormError } from './FormError';
import { InviteModal } from './InviteModal';
import { MembersPanel } from './MembersPanel';
import { useMentionAutocomplete } from './MentionAutocomplete';
import { MessageContent } from './MessageContent';
import { PresenceDot } from './PresenceDot';
import { Modal } from './Modal';

export const QUICK_EMOJI = ['👍', '❤️', '😂', '🎉', '👀'];
const EMPTY: Message[] = [];
const NO_PENDING: Record<string, PendingMessage> = {};
const NO_TYPING: Record<string, number> = {};

export function ChannelView({ channel, onToggleSidebar }: { channel: Channel; onToggleSidebar: () => void }) {
  const k = key(channel.id);
  const chat = useChatSocket();
  const { connectChannel } = chat;
  const user = useAuth((s) => s.user);
  const messages = useChat((s) => s.messages[k] ?? EMPTY);
  const hasMore = useChat((s) => s.hasMore[k] ?? false);
  const allPending = useChat((s) => s.pending[k] ?? NO_PENDING);
  // optimistic replies show in their thread's pane, not in the main list
  const pending = useMemo(() => Object.values(allPending).filter((p) => !isReply(p)), [allPending]);
  const threadRoot = useChat((s) => (s.threadPane?.channel === k ? s.threadPane.root : null));
  const typing = useChat((s) => s.typing[k] ?? NO_TYPING);
  const users = useChat((s) => s.users);
  const [loadErr, setLoadErr] = useState('');
  const [loadingOlder, setLoadingOlder] = useState(false);
  const [showMembers, setShowMembers] = useState(() => window.innerWidth > 1100);
  const [inviting, setInviting] = useState(false);
  const [settings, setSettings] = useState(false);
  const [frameError, setFrameError] = useState<{ code: string; message: string } | null>(null);
  const [refreshErr, setRefreshErr] = useState('');
  /** the message being edited in place (its id, as a key) */
  const [editingId, setEditingId] = useState<string | null>(null);
  /** the message whose deletion is being confirmed */
  const [deleting, setDeleting] = useState<Message | null>(null);
  const focusComposerAfterDelete = useRef(false);
  const composerRef = useRef<HTMLTextAreaElement>(null);
  const perms = usePermissions();
  const listRef = useRef<HTMLDivElement>(null);
  const stickToBottom = useRef(true);
  const prependAnchor = useRef<{ height: number; top: number } | null>(null);
  const newLineRef = useRef<HTMLDivElement>(null);
  /** the list was scrolled to the "New messages" line once: after that it scrolls as usual */
  const placedNewLine = useRef(false);
  // the read state as it was when the channel was opened: the "New messages" line stays where it was while the
  // channel stays open, though reading it moves the cursor (MainApp keys this view by channel)
  const [openedWith] = useState(() => ({ lastRead: channel.last_read_seq, unread: channel.unread_count ?? 0 }));

  // history first, then the socket (its auth frame carries the highest seq seen, so nothing is missed);
  // MainApp keys this view by channel, so each channel starts with fresh state
  useEffect(() => {
    let live = true;
    stickToBottom.current = true;
    const st = useChat.getState();
    if (st.lastSeq[k] !== undefined) {
      connectChannel(channel.id);
    } else {
      api.messages(channel.id, { limit: 50 }).then(
        (r) => {
          useChat.getState().addMessages(channel.id, r.messages, r.has_more);
          if (live) connectChannel(channel.id);
        },
        (e) => {
          if (!live) return;
          setLoadErr(errorText(e));
          connectChannel(channel.id);
        },
      );
    }
    return () => {
      live = false;
    };
  }, [k, channel.id, connectChannel]);

  // edits and deletions are not replayed on resume: each `hello` refreshes the held messages from history
  const refresh = useCallback(() => {
    refreshHistory(channel.id).then(
      () => setRefreshErr(''),
      (e: unknown) => {
        console.warn('[history]', 'refresh_failed', k, e);
        setRefreshErr(errorText(e));
      },
    );
  }, [channel.id, k]);

  // the server's `error` frames (a post refused in a read-only or archived channel …) are shown, not only logged
  const { onMessage } = chat;
  useEffect(
    () =>
      onMessage((f, ch) => {
        if (key(ch) !== k) return;
        if (f.type === 'error') setFrameError({ code: f.code, message: f.message });
        else if (f.type === 'hello') refresh();
      }),
    [onMessage, k, refresh],
  );

  // the read cursor follows what the user sees: the highest seq seen (a reply counts, though it shows in its
  // thread), while the window is focused and visible and the list is at its bottom (nothing newer is out of sight)
  const newest = useChat((s) => s.lastSeq[k] ?? 0);
  const lastRead = channel.last_read_seq;
  const markRead = useCallback(() => {
    const seq = useChat.getState().lastSeq[k] ?? 0;
    if (seq && stickToBottom.current && document.visibilityState === 'visible' && document.hasFocus()) readMarker.mark(channel.id, seq);
  }, [k, channel.id]);
  // a new seq seen, or the cursor put back (a frame older than our own request): look again
  useEffect(() => markRead(), [markRead, newest, lastRead]);
  useEffect(() => {
    window.addEventListener('focus', markRead);
    document.addEventListener('visibilitychange', markRead);
    return () => {
      window.removeEventListener('focus', markRead);
      document.removeEventListener('visibilitychange', markRead);
    };
  }, [markRead]);

  const me = key(user?.id);
  const newIdx = openedWith.unread > 0 && openedWith.lastRead !== undefined ? newMessagesIndex(messages, openedWith.lastRead, me) : -1;

  useLayoutEffect(() => {
    const el = listRef.current;
    if (!el) return;
    const line = newLineRef.current;
    if (prependAnchor.current) {
      el.scrollTop = el.scrollHeight - prependAnchor.current.height + prependAnchor.current.top;
      prependAnchor.current = null;
      if (line) placedNewLine.current = true;
    } else if (line && !placedNewLine.current) {
      // opening on unread messages: the line near the top, so that the first unread ones are in sight
      placedNewLine.current = true;
      el.scrollTop = Math.max(0, line.getBoundingClientRect().top - el.getBoundingClientRect().top + el.scrollTop - 16);
      stickToBottom.current = el.scrollHeight - el.scrollTop - el.clientHeight < 60;
    } else if (stickToBottom.current) {
      el.scrollTop = el.scrollHeight;
    }
  }, [messages, pending]);

  const loadOlder = useCallback(async () => {
    const oldest = messages[0]?.seq;
    if (!oldest || loadingOlder || !hasMore) return;
    setLoadingOlder(true);
    try {
      const r = await api.messages(channel.id, { before_seq: oldest, limit: 50 });
      const el = listRef.current;
      if (el) prependAnchor.current = { height: el.scrollHeight, top: el.scrollTop };
      useChat.getState().addMessages(channel.id, r.messages, r.has_more);
    } catch (e) {
      setLoadErr(errorText(e));
    } finally {
      setLoadingOlder(false);
    }
  }, [messages, loadingOlder, hasMore, channel.id]);

  function onScroll() {
    const el = listRef.current;
    if (!el) return;
    stickToBottom.current = el.scrollHeight - el.scrollTop - el.clientHeight < 60;
    if (stickToBottom.current) markRead();
    if (el.scrollTop < 40) void loadOlder();
  }

  // after a deletion, the composer has the focus (the Delete button that had it is gone with the actions);
  // this runs after the dialog's own cleanup, which gives the focus back to that button
  useEffect(() => {
    if (!deleting && focusComposerAfterDelete.current) {
      focusComposerAfterDelete.current = false;
      composerRef.current?.focus();
    }
  }, [deleting]);

  const typingNames = Object.keys(typing)
    .filter((u) => u !== key(user?.id))
    .map((u) => users[u]?.display_name || users[u]?.username || 'Someone');
  // a direct or group channel is named after the others; its members and properties are fixed (no settings, no invite)
  const direct = isDirect(channel);
  const people = useDirectPeople(channel);
  const label = direct ? directTitle(people) : channel.display_name;
  const directOther = channel.type === 'direct' ? people[0]?.id : null;
  const canInvite = canTeam(perms, 'invite_user') && !direct;
  const archived = !!channel.archived_at;
  const mayPost = !channel.read_only || canChannel(perms, 'post_in_read_only', channel.id);
  // edit and delete: the author, or whoever holds the team permission; nobody in an archived channel
  const writable = !archived && chat.status !== 'forbidden' && chat.status !== 'not_found';
  const editOthers = canTeam(perms, 'edit_others_posts');
  const deleteOthers = canTeam(perms, 'delete_others_posts');
  const mayEdit = (m: Message) => writable && !m.deleted && (key(m.user_id) === me || editOthers);
  const mayDelete = (m: Message) => writable && !m.deleted && (key(m.user_id) === me || deleteOthers);
  const endEdit = () => {
    setEditingId(null);
    composerRef.current?.focus();
  };
  /** Up arrow in an empty composer: the user's own last message, if it may be edited */
  const editLast = (): boolean => {
    let mine: Message | undefined;
    for (let i = messages.length - 1; i >= 0 && !mine; i--) if (key(messages[i].user_id) === me && !messages[i].deleted) mine = messages[i];
    if (!mine || !mayEdit(mine)) return false;
    setEditingId(key(mine.id));
    return true;
  };
  let composerNote = '';
  if (archived) composerNote = 'This channel is archived: it can be read, not written to.';
  else if (!mayPost) composerNote = 'This channel is read-only: only some members may post.';

  return (
    <div className="channel-area">
      <section className="channel-view" aria-label={direct ? `Conversation with ${label}` : `Channel ${label}`}>
        <header className="channel-head">
          <button className="icon-btn only-narrow" aria-label="Show channels" onClick={onToggleSidebar}>☰</button>
          <div className="channel-title-block">
            <h1 className="channel-title" data-direct={direct ? channel.type : undefined}>
              {direct ? directOther && <PresenceDot userId={directOther} /> : <span aria-hidden="true">{channel.type === 'private' ? '🔒 ' : '# '}</span>}
              {label}
            </h1>
            {channel.topic && <div className="channel-topic muted small" title={channel.topic} data-testid="channel-topic">{channel.topic}</div>}
          </div>
          <div className="head-actions">
            {canInvite && user?.team_id != null && (
              <button className="btn small" onClick={() => setInviting(true)}>Invite</button>
            )}
            {!direct && <button className="btn small" onClick={() => setSettings(true)}>Channel settings</button>}
            <button className="btn small" aria-pressed={showMembers} onClick={() => setShowMembers((v) => !v)}>Members</button>
          </div>
        </header>
        <ConnectionBanner status={chat.status} onReconnect={chat.reconnect} />
        {archived && (
          <div className="banner banner-warn" role="status" data-status="archived">
            This channel was archived{fmtDate(channel.archived_at)}. It is read-only.
          </div>
        )}
        {!archived && channel.read_only && (
          <div className="banner banner-warn" role="status" data-status="read-only">
            Read-only channel{mayPost ? ': you may post in it.' : '.'}
          </div>
        )}
        {refreshErr && (
          <div className="banner banner-error" role="alert" data-status="refresh-failed">
            <span>Could not refresh the messages (edits or deletions made meanwhile may not show): {refreshErr}</span>
            <button className="link-btn" onClick={refresh}>Retry</button>
          </div>
        )}
        {frameError && (
          <div className="banner banner-error" role="alert" data-code={frameError.code}>
            <span>{frameErrorText(frameError)}</span>
            <button className="link-btn" onClick={() => setFrameError(null)}>Dismiss</button>
          </div>
        )}
        <div className="message-list" ref={listRef} onScroll={onScroll} role="log" aria-live="polite" aria-label="Messages">
          {hasMore && (
            <div className="load-older">
              <button className="link-btn small" onClick={() => void loadOlder()} disabled={loadingOlder}>
                {loadingOlder ? 'Loading…' : 'Load older messages'}
              </button>
            </div>
          )}
          {!hasMore && messages.length > 0 && (
            <div className="channel-start muted small">{direct ? `This is the start of your conversation with ${label}.` : `This is the start of #${channel.name}.`}</div>
          )}
          {loadErr && <div className="form-error" role="alert">{loadErr}</div>}
          {messages.length === 0 && pending.length === 0 && !loadErr && (
            <div className="empty muted">No messages yet. Start the conversation.</div>
          )}
          {messages.map((m, i) => (
            <Fragment key={m.seq}>
              {i === newIdx && <NewMessagesLine lineRef={newLineRef} />}
              <MessageRow
                m={m}
                prev={i === newIdx ? undefined : messages[i - 1]}
                canEdit={mayEdit(m)}
                canDelete={mayDelete(m)}
                editing={editingId === key(m.id) && mayEdit(m)}
                onEdit={() => setEditingId(key(m.id))}
                onEndEdit={endEdit}
                onDelete={() => setDeleting(m)}
                onReply={() => useChat.getState().openThread(channel.id, m.id)}
              />
            </Fragment>
          ))}
          {pending.map((p) => (
            <PendingRow key={p.client_id} p={p} onRetry={() => chat.retryMessage(p.client_id)} />
          ))}
        </div>
        <div className="typing-line" aria-live="polite">
          {typingNames.length > 0 &&
            `${typingNames.slice(0, 3).join(', ')} ${typingNames.length === 1 ? 'is' : 'are'} typing…`}
        </div>
        <Composer
          channel={channel}
          disabled={chat.status === 'forbidden' || chat.status === 'not_found' || archived || !mayPost}
          note={composerNote}
          inputRef={composerRef}
          onEditLast={editLast}
        />
      </section>
      {threadRoot ? (
        <ThreadPane
          channel={channel}
          rootId={threadRoot}
          writable={writable && mayPost}
          note={composerNote}
          mayEdit={mayEdit}
          mayDelete={mayDelete}
          editingId={editingId}
          setEditingId={setEditingId}
          onDelete={setDeleting}
        />
      ) : (
        showMembers && <MembersPanel channelId={channel.id} onClose={() => setShowMembers(false)} />
      )}
      {inviting && user?.team_id != null && <InviteModal teamId={user.team_id} onClose={() => setInviting(false)} />}
      {settings && !direct && <ChannelSettingsModal channel={channel} onClose={() => setSettings(false)} />}
      {deleting && (
        <DeleteMessageDialog
          m={deleting}
          onClose={() => setDeleting(null)}
          onDeleted={() => {
            focusComposerAfterDelete.current = true;
            setDeleting(null);
          }}
        />
      )}
    </div>
  );
}

/** Above the first message the user had not read when it opened the channel. */
function NewMessagesLine({ lineRef }: { lineRef: RefObject<HTMLDivElement | null> }) {
  return (
    <div className="new-messages-line" ref={lineRef} role="separator" aria-label="New messages" data-testid="new-messages">
      <span>New messages</span>
    </div>
  );
}

function ConnectionBanner({ status, onReconnect }: { status: ChatStatus; onReconnect: () => void }) {
  const [showConnecting, setShowConnecting] = useState(false);
  // "Connecting…" only once connecting has taken a while; leaving that state hides it again
  useEffect(() => {
    if (status !== 'connecting') return;
    const t = setTimeout(() => setShowConnecting(true), 1500);
    return () => {
      clearTimeout(t);
      setShowConnecting(false);
    };
  }, [status]);
  let text = '';
  let kind = 'warn';
  if (status === 'reconnecting') text = 'Connection lost. Reconnecting…';
  else if (status === 'connecting' && showConnecting) text = 'Connecting…';
  else if (status === 'forbidden') {
    text = 'You are not a member of this channel.';
    kind = 'error';
  } else if (status === 'not_found') {
    text = 'This channel does not exist.';
    kind = 'error';
  }
  if (!text) return null;
  return (
    <div className={`banner banner-${kind}`} role="status" data-status={status}>
      <span>{text}</span>
      {status === 'reconnecting' && <button className="link-btn" onClick={onReconnect}>Reconnect now</button>}
    </div>
  );
}

function fmtDate(iso: string | null | undefined) {
  if (!iso) return '';
  const d = new Date(iso);
  return isNaN(d.getTime()) ? '' : ` on ${d.toLocaleDateString()}`;
}

/** The contract's codes for refused posts, said plainly; anything else as the server put it. */
export function frameErrorText(e: { code: string; message: string }): string {
  if (e.code === 'read_only') return 'This channel is read-only: your message was not posted.';
  if (e.code === 'channel_archived') return 'This channel is archived: your message was not posted.';
  return e.message || e.code;
}

function fmtDateTime(iso: string) {
  const d = new Date(iso);
  return isNaN(d.getTime()) ? iso : d.toLocaleString();
}

function fmtTime(iso: string) {
  const d = new Date(iso);
  return isNaN(d.getTime()) ? '' : d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
}

interface MessageRowProps {
  m: Message;
  prev?: Message;
  canEdit: boolean;
  canDelete: boolean;
  editing: boolean;
  onEdit: () => void;
  onEndEdit: () => void;
  onDelete: () => void;
  /** a top-level message in the main list: "Reply in thread", and its thread's summary */
  onReply?: () => void;
}

function MessageRow({ m, prev, canEdit, canDelete, editing, onEdit, onEndEdit, onDelete, onReply }: MessageRowProps) {
  const author = useChat((s) => s.users[key(m.user_id)]);
  const me = useAuth((s) => key(s.user?.id));
  const { sendReaction } = useChatSocket();
  const replies = m.reply_count ?? 0;
  const compact =
    !(prev?.reply_count ?? 0) &&
    prev && key(prev.user_id) === key(m.user_id) && new Date(m.created_at).getTime() - new Date(prev.created_at).getTime() < 5 * 60_000;
  const name = author?.display_name || author?.username || (key(m.user_id) === me ? 'You' : 'Unknown user');
  const toggle = (emoji: string) => {
    const r = m.reactions.find((x) => x.emoji === emoji);
    const mine = !!r?.user_ids.some((u) => key(u) === me);
    sendReaction(m.id, emoji, mine ? 'remove' : 'add');
  };
  const mentioned = !m.deleted && mentionsMe(m, me);
  const classes = ['message', compact && 'compact', m.deleted && 'deleted', editing && 'editing', mentioned && 'mentioned']
    .filter(Boolean)
    .join(' ');
  let body;
  if (m.deleted) body = <div className="message-body deleted-text">(message deleted)</div>;
  else if (editing) body = <MessageEditor m={m} onDone={onEndEdit} />;
  else
    body = (
      <div className="message-body">
        <MessageContent content={m.content} />
        {m.edited_at && (
          <span className="edited-mark muted small" title={`Edited ${fmtDateTime(m.edited_at)}`}> (edited)</span>
        )}
      </div>
    );
  return (
    <article className={classes} data-seq={m.seq} data-deleted={m.deleted ? 'true' : undefined} aria-label={`Message from ${name}`}>
      {!compact && (
        <div className="message-meta">
          <span className="avatar" aria-hidden="true">{name.slice(0, 1).toUpperCase()}</span>
          <strong className="author">{name}</strong>
          <time dateTime={m.created_at} className="muted small">{fmtTime(m.created_at)}</time>
        </div>
      )}
      {body}
      {!m.deleted && m.reactions.length > 0 && (
        <div className="reactions">
          {m.reactions.map((r) => {
            const mine = r.user_ids.some((u) => key(u) === me);
            return (
              <button key={r.emoji} className={`reaction${mine ? ' mine' : ''}`} aria-pressed={mine}
                aria-label={`${r.emoji} ${r.user_ids.length} — ${mine ? 'remove your reaction' : 'react'}`}
                data-emoji={r.emoji} data-count={r.user_ids.length} onClick={() => toggle(r.emoji)}>
                {r.emoji} <span>{r.user_ids.length}</span>
              </button>
            );
          })}
        </div>
      )}
      {onReply && replies > 0 && (
        <button className="thread-summary link-btn small" onClick={onReply} data-reply-count={replies}
          aria-label={`${replyCountText(replies)}${m.last_reply_at ? `, last reply ${ago(m.last_reply_at)}` : ''}: open the thread`}>
          <strong>{replyCountText(replies)}</strong>
          {m.last_reply_at && <span className="muted"> · Last reply <time dateTime={m.last_reply_at} title={fmtDateTime(m.last_reply_at)}>{ago(m.last_reply_at)}</time></span>}
        </button>
      )}
      {!m.deleted && !editing && (
        <div className="message-actions" role="group" aria-label="Message actions">
          {QUICK_EMOJI.map((e) => (
            <button key={e} className="icon-btn" aria-label={`React with ${e}`} onClick={() => toggle(e)}>{e}</button>
          ))}
          {onReply && (
            <button className="icon-btn" aria-label="Reply in thread" title="Reply in thread" onClick={onReply}>💬</button>
          )}
          {canEdit && (
            <button className="icon-btn" aria-label="Edit message" title="Edit" onClick={onEdit}>✏️</button>
          )}
          {canDelete && (
            <button className="icon-btn danger" aria-label="Delete message" title="Delete" onClick={onDelete}>🗑️</button>
          )}
        </div>
      )}
    </article>
  );
}

/** In-place editing: Enter saves, Shift+Enter is a new line, Esc cancels; a refusal is shown and the text kept. */
function MessageEditor({ m, onDone }: { m: Message; onDone: () => void }) {
  const [text, setText] = useState(m.content);
  const [saving, setSaving] = useState(false);
  const [error, setError] = useState('');
  const ref = useRef<HTMLTextAreaElement>(null);

  useEffect(() => {
    const el = ref.current;
    if (!el) return;
    el.focus();
    el.setSelectionRange(el.value.length, el.value.length);
    el.scrollIntoView?.({ block: 'nearest' });
  }, []);

  async function save() {
    if (saving) return;
    const content = text.trim();
    if (!content) {
      setError('A message cannot be empty: delete it instead.');
      return;
    }
    if (content === m.content) return onDone();
    setSaving(true);
    setError('');
    try {
      await editMessage(m.channel_id, m.id, content);
      onDone();
    } catch (e) {
      setError(messageActionError(e, 'edit'));
      setSaving(false);
    }
  }

  function onKeyDown(e: KeyboardEvent<HTMLTextAreaElement>) {
    if (e.nativeEvent.isComposing) return;
    if (e.key === 'Enter' && !e.shiftKey) {
      e.preventDefault();
      void save();
    } else if (e.key === 'Escape') {
      e.preventDefault();
      e.stopPropagation();
      // while a save is under way the editor stays, so that a refusal has somewhere to show
      if (!saving) onDone();
    }
  }

  return (
    <form className="message-edit" onSubmit={(e) => { e.preventDefault(); void save(); }}>
      <textarea
        ref={ref}
        aria-label="Edit message"
        value={text}
        rows={Math.min(10, Math.max(1, text.split('\n').length))}
        maxLength={16000}
        readOnly={saving}
        aria-invalid={!!error}
        onChange={(e) => {
          setText(e.target.value);
          setError('');
        }}
        onKeyDown={onKeyDown}
      />
      {error && <div className="form-error" role="alert">{error}</div>}
      <div className="message-edit-foot">
        <span className="muted small">Enter to save · Shift+Enter for a new line · Esc to cancel</span>
        <button type="button" className="btn small" onClick={onDone} disabled={saving}>Cancel</button>
        <button type="submit" className="btn small primary" disabled={saving}>{saving ? 'Saving…' : 'Save'}</button>
      </div>
    </form>
  );
}

/** Deleting asks first (a dialog, not window.confirm); a refusal is shown in the dialog. */
function DeleteMessageDialog({ m, onClose, onDeleted }: { m: Message; onClose: () => void; onDeleted: () => void }) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState('');
  async function confirm() {
    setBusy(true);
    setError('');
    try {
      await deleteMessage(m.channel_id, m.id);
      onDeleted();
    } catch (e) {
      setError(messageActionError(e, 'delete'));
      setBusy(false);
    }
  }
  return (
    <Modal title="Delete message" onClose={onClose}>
      <p className="delete-question">Delete this message? This cannot be undone.</p>
      <blockquote className="delete-preview">{m.content}</blockquote>
      <FormError error={error} />
      <div className="modal-actions">
        <button className="btn" onClick={onClose} disabled={busy}>Cancel</button>
        <button className="btn danger" onClick={() => void confirm()} disabled={busy}>{busy ? 'Deleting…' : 'Delete'}</button>
      </div>
    </Modal>
  );
}

function PendingRow({ p, onRetry }: { p: PendingMessage; onRetry: () => void }) {
  return (
    <article className={`message pending ${p.status}`} data-client-id={p.client_id} aria-label="Message being sent">
      <div className="message-body">{p.content}</div>
      <div className="small muted">
        {p.status === 'pending' ? 'Sending…' : (
          <span className="failed-text">
            Not sent{p.error ? ` (${p.error})` : ''}. <button className="link-btn" onClick={onRetry}>Retry</button>
          </span>
        )}
      </div>
    </article>
  );
}

interface ComposerProps {
  channel: Channel;
  disabled: boolean;
  note: string;
  inputRef: RefObject<HTMLTextAreaElement | null>;
  /** Up arrow in the empty composer: edit the user's last message; false if there is none to edit */
  onEditLast: () => boolean;
}

function Composer({ channel, disabled, note, inputRef: ref, onEditLast }: ComposerProps) {
  const { sendMessage, sendTyping } = useChatSocket();
  const [text, setText] = useState('');
  const mention = useMentionAutocomplete({ channel, text, setText, inputRef: ref });
  const typingSince = useRef(0);
  const idleTimer = useRef<ReturnType<typeof setTimeout> | null>(null);

  const stopTyping = useCallback(() => {
    if (idleTimer.current) clearTimeout(idleTimer.current);
    idleTimer.current = null;
    if (typingSince.current) sendTyping('stop');
    typingSince.current = 0;
  }, [sendTyping]);

  useEffect(() => {
    ref.current?.focus();
    return stopTyping;
  }, [channel.id, stopTyping, ref]);

  function onChange(v: string) {
    setText(v);
    if (!v) return stopTyping();
    const now = Date.now();
    // refresh before the server's 6 s expiry
    if (now - typingSince.current > 3000) {
      sendTyping('start');
      typingSince.current = now;
    }
    if (idleTimer.current) clearTimeout(idleTimer.current);
    idleTimer.current = setTimeout(stopTyping, 4000);
  }

  function submit() {
    const content = text.trim();
    if (!content || content.length > 16000) return;
    sendMessage(content);
    setText('');
    stopTyping();
  }

  function onKeyDown(e: KeyboardEvent<HTMLTextAreaElement>) {
    if (e.nativeEvent.isComposing || mention.onKeyDown(e)) return;
    if (e.key === 'Enter' && !e.shiftKey) {
      e.preventDefault();
      submit();
    } else if (e.key === 'ArrowUp' && !text && !e.shiftKey && !e.altKey && !e.ctrlKey && !e.metaKey && onEditLast()) {
      e.preventDefault();
    }
  }

  const label = useChannelLabel(channel);
  const where = isDirect(channel) ? label : `#${channel.display_name}`;
  return (
    <form className="composer" onSubmit={(e) => { e.preventDefault(); submit(); }}>
      {mention.list}
      <textarea
        ref={ref}
        aria-label={`Message ${isDirect(channel) ? label : `#${channel.name}`}`}
        placeholder={note || `Message ${where}`}
        value={text}
        rows={Math.min(8, Math.max(1, text.split('\n').length))}
        maxLength={16000}
        disabled={disabled}
        {...mention.inputProps}
        onChange={(e) => {
          onChange(e.target.value);
          mention.track(e.target.value, e.target.selectionStart);
        }}
        onKeyDown={onKeyDown}
        onBlur={stopTyping}
      />
      <button type="submit" className="btn primary" aria-label="Send message" disabled={disabled || !text.trim()}>Send</button>
    </form>
  );
}

/** "1 reply", "N replies" */
export function replyCountText(n: number): string {
  return n === 1 ? '1 reply' : `${n} replies`;
}

/** A time relative to now, coarse: "just now", "5 min ago", "3 h ago", else the date. */
export function ago(iso: string, now = Date.now()): string {
  const t = Date.parse(iso);
  if (isNaN(t)) return '';
  const s = Math.max(0, Math.round((now - t) / 1000));
  if (s < 45) return 'just now';
  const min = Math.round(s / 60);
  if (min < 60) return `${min} min ago`;
  const h = Math.round(min / 60);
  if (h < 24) return `${h} h ago`;
  return new Date(t).toLocaleDateString();
}

interface ThreadPaneProps {
  channel: Channel;
  /** the root's id, as a key */
  rootId: string;
  /** replies may be posted (not archived, not read-only for the user, still a member) */
  writable: boolean;
  note: string;
  mayEdit: (m: Message) => boolean;
  mayDelete: (m: Message) => boolean;
  editingId: string | null;
  setEditingId: (id: string | null) => void;
  onDelete: (m: Message) => void;
}

/**
 * The thread pane: a root and its replies, from the thread endpoint and then live from the channel's socket
 * (new replies with that root, edits, deletions, `thread_updated`), with its own composer for replies.
 */
function ThreadPane({ channel, rootId, writable, note, mayEdit, mayDelete, editingId, setEditingId, onDelete }: ThreadPaneProps) {
  const k = key(channel.id);
  const chat = useChatSocket();
  const thread = useChat((s) => s.threads[rootId]);
  const held = useChat((s) => s.messages[k]?.find((m) => key(m.id) === rootId));
  const allPending = useChat((s) => s.pending[k] ?? NO_PENDING);
  const pending = useMemo(() => Object.values(allPending).filter((p) => key(p.root_id) === rootId), [allPending, rootId]);
  const [err, setErr] = useState('');
  const [loadingMore, setLoadingMore] = useState(false);
  const composerRef = useRef<HTMLTextAreaElement>(null);
  const listRef = useRef<HTMLDivElement>(null);
  const root = held ?? thread?.root;
  const replies = thread?.replies ?? EMPTY;

  // the replies from the start (after a reconnect too: edits and deletions are not replayed)
  const load = useCallback(() => {
    loadThread(channel.id, rootId).then(
      () => setErr(''),
      (e: unknown) => {
        console.warn('[thread]', 'load_failed', rootId, e);
        setErr(errorText(e));
      },
    );
  }, [channel.id, rootId]);
  useEffect(load, [load]);
  const { onMessage } = chat;
  useEffect(
    () =>
      onMessage((f, ch) => {
        if (key(ch) === k && f.type === 'hello') load();
      }),
    [onMessage, k, load],
  );

  async function loadMore() {
    const last = replies[replies.length - 1]?.seq ?? 0;
    setLoadingMore(true);
    try {
      await loadThread(channel.id, rootId, last);
    } catch (e) {
      setErr(errorText(e));
    } finally {
      setLoadingMore(false);
    }
  }

  const close = useCallback(() => useChat.getState().closeThread(), []);
  // Esc closes the pane (not while a dialog is open, nor when an editor used the key)
  useEffect(() => {
    const onKey = (e: globalThis.KeyboardEvent) => {
      if (e.key !== 'Escape' || e.defaultPrevented) return;
      if (document.querySelector('[role="dialog"]')) return;
      close();
    };
    document.addEventListener('keydown', onKey);
    return () => document.removeEventListener('keydown', onKey);
  }, [close]);

  useLayoutEffect(() => {
    const el = listRef.current;
    if (el) el.scrollTop = el.scrollHeight;
  }, [replies.length, pending.length]);

  const endEdit = () => {
    setEditingId(null);
    composerRef.current?.focus();
  };
  const row = (m: Message, prev?: Message) => (
    <MessageRow
      key={m.seq}
      m={m}
      prev={prev}
      canEdit={mayEdit(m)}
      canDelete={mayDelete(m)}
      editing={editingId === key(m.id) && mayEdit(m)}
      onEdit={() => setEditingId(key(m.id))}
      onEndEdit={endEdit}
      onDelete={() => onDelete(m)}
    />
  );
  const count = root?.reply_count ?? replies.filter((r) => !r.deleted).length;
  const rootGone = !!root?.deleted;
  return (
    <aside className="thread-panel" aria-label="Thread" data-root-id={rootId}>
      <div className="panel-head">
        <h2>Thread {root && <span className="muted small" data-testid="thread-count">({replyCountText(count)})</span>}</h2>
        <button className="icon-btn" aria-label="Close thread" title="Close (Esc)" onClick={close}>×</button>
      </div>
      {err && (
        <div className="form-error" role="alert">
          Could not load the thread: {err} <button className="link-btn" onClick={load}>Retry</button>
        </div>
      )}
      <div className="thread-list" ref={listRef} role="log" aria-live="polite" aria-label="Thread replies">
        {root ? row(root) : !err && <div className="muted small thread-loading">Loading…</div>}
        {root && <div className="thread-divider muted small">{replyCountText(count)}</div>}
        {replies.map((r, i) => row(r, replies[i - 1]))}
        {thread?.hasMore && (
          <div className="load-older">
            <button className="link-btn small" onClick={() => void loadMore()} disabled={loadingMore}>
              {loadingMore ? 'Loading…' : 'Load more replies'}
            </button>
          </div>
        )}
        {pending.map((p) => (
          <PendingRow key={p.client_id} p={p} onRetry={() => chat.retryMessage(p.client_id)} />
        ))}
      </div>
      <ThreadComposer
        channel={channel}
        rootId={rootId}
        inputRef={composerRef}
        disabled={!writable || rootGone || !root}
        note={rootGone ? 'This message was deleted: it takes no new replies.' : note}
      />
    </aside>
  );
}

interface ThreadComposerProps {
  channel: Channel;
  rootId: Id;
  inputRef: RefObject<HTMLTextAreaElement | null>;
  disabled: boolean;
  note: string;
}

function ThreadComposer({ channel, rootId, inputRef: ref, disabled, note }: ThreadComposerProps) {
  const { sendMessage } = useChatSocket();
  const [text, setText] = useState('');
  const mention = useMentionAutocomplete({ channel, text, setText, inputRef: ref });
  useEffect(() => {
    if (!disabled) ref.current?.focus();
  }, [rootId, ref, disabled]);
  function submit() {
    const content = text.trim();
    if (!content || content.length > 16000 || disabled) return;
    sendMessage(content, rootId);
    setText('');
  }
  function onKeyDown(e: KeyboardEvent<HTMLTextAreaElement>) {
    if (e.nativeEvent.isComposing || mention.onKeyDown(e)) return;
    if (e.key === 'Enter' && !e.shiftKey) {
      e.preventDefault();
      submit();
    }
  }
  return (
    <form className="composer thread-composer" onSubmit={(e) => { e.preventDefault(); submit(); }}>
      {mention.list}
      <textarea
        ref={ref}
        aria-label="Reply in thread"
        placeholder={note || 'Reply…'}
        value={text}
        rows={Math.min(6, Math.max(1, text.split('\n').length))}
        maxLength={16000}
        disabled={disabled}
        {...mention.inputProps}
        onChange={(e) => {
          setText(e.target.value);
          mention.track(e.target.value, e.target.selectionStart);
        }}
        onKeyDown={onKeyDown}
      />
      <button type="submit" className="btn primary" aria-label="Send reply" disabled={disabled || !text.trim()}>Send</button>
    </form>
  );
}
