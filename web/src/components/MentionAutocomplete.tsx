import { useEffect, useId, useLayoutEffect, useMemo, useRef, useState, type KeyboardEvent, type RefObject } from 'react';
import { isDirect } from '../direct';
import { insertMention, loadChannelMembers, mentionOptions, mentionQuery, type MentionOption } from '../mentions';
import { canChannel, useAuth, useChat, usePermissions } from '../store';
import type { Channel, User } from '../types';
import { key } from '../types';

/**
 * The people a mention may name in `channel`: its members as the store knows them (the members panel loads them,
 * the suggestions load them once otherwise); the team's users until then.
 */
function useMentionMembers(channel: Channel, wanted: boolean): User[] {
  const k = key(channel.id);
  const direct = isDirect(channel);
  const ids = useChat((s) => (direct ? s.directMembers[k] : s.channelMembers[k]));
  const users = useChat((s) => s.users);
  useEffect(() => {
    if (!wanted || ids || direct) return;
    loadChannelMembers(channel.id).catch((e: unknown) => console.warn('[mentions]', 'members_failed', k, e));
  }, [wanted, ids, direct, channel.id, k]);
  return useMemo(
    () => (ids ? ids.flatMap((id) => (users[id] ? [users[id]] : [])) : Object.values(users)),
    [ids, users],
  );
}

interface Options {
  channel: Channel;
  text: string;
  setText: (v: string) => void;
  inputRef: RefObject<HTMLTextAreaElement | null>;
}

/**
 * Mention suggestions for a composer's textarea. The textarea keeps its textbox role (it is found by it) and
 * carries the combobox's attributes (`aria-autocomplete`, `aria-controls`, `aria-activedescendant`); the
 * suggestions are a listbox. Up/Down move, Enter or Tab insert `@username `, Esc closes (until another `@` token),
 * a click picks. `onKeyDown` says whether it used the key: when the list is closed, Enter is the composer's.
 */
export function useMentionAutocomplete({ channel, text, setText, inputRef }: Options) {
  const [caret, setCaret] = useState(0);
  /** the active option, for the query it was chosen in (a new query starts at the first) */
  const [sel, setSel] = useState({ query: '', index: 0 });
  /** where the token that Esc closed starts */
  const [dismissed, setDismissed] = useState<number | null>(null);
  const nextCaret = useRef<number | null>(null);
  const listId = useId();
  const me = useAuth((s) => key(s.user?.id));
  const perms = usePermissions();
  // the channel-wide mentions need a permission; before the permissions are known they are offered
  const channelWide = !perms.loaded || canChannel(perms, 'use_channel_mentions', channel.id);
  const q = mentionQuery(text, Math.min(caret, text.length));
  const query = q?.query ?? null;
  const members = useMentionMembers(channel, query !== null);
  const options = useMemo(
    () => (query === null ? [] : mentionOptions(query, members, { me, channelWide })),
    [query, members, me, channelWide],
  );
  const open = q !== null && q.start !== dismissed && options.length > 0;
  const active = open && sel.query === q.query ? Math.min(sel.index, options.length - 1) : 0;

  // the caret goes after an inserted mention once the textarea holds the new text
  useLayoutEffect(() => {
    const el = inputRef.current;
    if (el && nextCaret.current !== null) {
      el.setSelectionRange(nextCaret.current, nextCaret.current);
      nextCaret.current = null;
    }
  }, [text, inputRef]);

  /** the textarea's value or caret changed */
  function track(value: string, at: number | null) {
    const pos = at ?? value.length;
    setCaret(pos);
    if (dismissed !== null && mentionQuery(value, pos)?.start !== dismissed) setDismissed(null);
  }

  function pick(o: MentionOption) {
    if (!q) return;
    const r = insertMention(text, q, o.name);
    nextCaret.current = r.caret;
    setCaret(r.caret);
    setText(r.text);
    inputRef.current?.focus();
  }

  function onKeyDown(e: KeyboardEvent<HTMLTextAreaElement>): boolean {
    if (!open || e.altKey || e.ctrlKey || e.metaKey) return false;
    const move = (d: number) => setSel({ query: q.query, index: (active + d + options.length) % options.length });
    if (e.key === 'ArrowDown') move(1);
    else if (e.key === 'ArrowUp') move(-1);
    else if ((e.key === 'Enter' || e.key === 'Tab') && !e.shiftKey) pick(options[active]);
    // the default prevented: the thread pane, which closes on Esc, leaves it alone
    else if (e.key === 'Escape') setDismissed(q.start);
    else return false;
    e.preventDefault();
    return true;
  }

  const inputProps = {
    'aria-autocomplete': 'list' as const,
    'aria-controls': open ? listId : undefined,
    'aria-activedescendant': open ? `${listId}-${active}` : undefined,
    onSelect: (e: { currentTarget: HTMLTextAreaElement }) => track(e.currentTarget.value, e.currentTarget.selectionStart),
  };
  const list = open ? <MentionList id={listId} options={options} active={active} onPick={pick} /> : null;
  return { inputProps, list, onKeyDown, track };
}

function MentionList({ id, options, active, onPick }: { id: string; options: MentionOption[]; active: number; onPick: (o: MentionOption) => void }) {
  return (
    <ul className="mention-list" role="listbox" id={id} aria-label="Mention suggestions">
      {options.map((o, i) => (
        <li
          key={`${o.kind}:${o.name}`}
          id={`${id}-${i}`}
          role="option"
          aria-selected={i === active}
          className={i === active ? 'active' : undefined}
          data-username={o.name}
          // the textarea keeps the focus (and its caret)
          onMouseDown={(e) => e.preventDefault()}
          onClick={() => onPick(o)}
        >
          <span className="mention-name">@{o.name}</span>
          <span className="muted small">{o.kind === 'user' ? o.user.display_name : o.description}</span>
        </li>
      ))}
    </ul>
  );
}
