import { useEffect, useId, useState, type FormEvent, type KeyboardEvent } from 'react';
import { api } from '../api';
import { MAX_DIRECT_OTHERS, openDirect } from '../direct';
import { useAuth, useChat } from '../store';
import type { Channel, User } from '../types';
import { key } from '../types';
import { FormError } from './FormError';
import { Modal } from './Modal';
import { PresenceDot } from './PresenceDot';
import '../direct.css';

const shown = (u: User) => u.display_name || u.username;

/** Whether teammate `u` matches the search `q` (by display name or username, any part, any case). */
export function matchesPerson(u: Pick<User, 'display_name' | 'username'>, q: string): boolean {
  const f = q.trim().toLowerCase().replace(/^@/, '');
  return !f || u.username.toLowerCase().includes(f) || (u.display_name ?? '').toLowerCase().includes(f);
}

/**
 * Picks 1–7 teammates and opens the direct (one) or group (several) channel with them. The search field drives a
 * list of teammates: ↑/↓ move, Enter adds or removes the highlighted one, Backspace in the empty field removes the
 * last one picked; "Start" (or Enter with nothing highlighted) opens the conversation.
 */
export function DirectMessageModal({ onClose, onStarted }: { onClose: () => void; onStarted: (c: Channel) => void }) {
  const me = useAuth((s) => s.user);
  const teamId = me?.team_id;
  const [team, setTeam] = useState<User[] | null>(null);
  const [query, setQuery] = useState('');
  const [picked, setPicked] = useState<User[]>([]);
  const [active, setActive] = useState(0);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const listId = useId();

  useEffect(() => {
    if (teamId == null) return;
    let live = true;
    api.teamMembers(teamId).then(
      (l) => {
        useChat.getState().setUsers(l);
        if (live) setTeam(l);
      },
      (e) => live && setError(e),
    );
    return () => {
      live = false;
    };
  }, [teamId]);

  const others = (team ?? [])
    .filter((u) => key(u.id) !== key(me?.id) && !u.deactivated)
    .sort((a, b) => shown(a).localeCompare(shown(b)));
  const options = others.filter((u) => matchesPerson(u, query));
  const isPicked = (u: User) => picked.some((p) => key(p.id) === key(u.id));
  const full = picked.length >= MAX_DIRECT_OTHERS;
  const cur = options.length ? Math.min(active, options.length - 1) : -1;
  const optionId = (u: User) => `${listId}-${key(u.id)}`;

  function toggle(u: User) {
    setError(null);
    if (isPicked(u)) setPicked((l) => l.filter((p) => key(p.id) !== key(u.id)));
    else if (!full) {
      setPicked((l) => [...l, u]);
      setQuery('');
      setActive(0);
    }
  }

  async function start(e?: FormEvent) {
    e?.preventDefault();
    if (!picked.length || busy) return;
    setBusy(true);
    setError(null);
    try {
      onStarted(await openDirect(picked.map((u) => u.id)));
    } catch (err) {
      setError(err);
      setBusy(false);
    }
  }

  function onKeyDown(e: KeyboardEvent<HTMLInputElement>) {
    if (e.nativeEvent.isComposing) return;
    if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
      e.preventDefault();
      if (!options.length) return;
      const step = e.key === 'ArrowDown' ? 1 : -1;
      setActive((cur + step + options.length) % options.length);
    } else if (e.key === 'Enter') {
      e.preventDefault();
      // a search with a match picks it; an empty search starts the conversation with whoever is picked
      if (query.trim() && cur >= 0) toggle(options[cur]);
      else void start();
    } else if (e.key === 'Backspace' && !query && picked.length) {
      setPicked((l) => l.slice(0, -1));
    }
  }

  const title = picked.length > 1 ? 'Start group message' : 'Start direct message';
  return (
    <Modal title="Direct message" onClose={onClose}>
      <form onSubmit={(e) => void start(e)} aria-label="Start a direct message" className="dm-picker">
        <label htmlFor={`${listId}-q`}>To: teammates (up to {MAX_DIRECT_OTHERS})</label>
        {picked.length > 0 && (
          <ul className="dm-chips" aria-label="Picked">
            {picked.map((u) => (
              <li key={key(u.id)} data-username={u.username}>
                <span>{shown(u)}</span>
                <button type="button" className="icon-btn" aria-label={`Remove ${shown(u)}`} onClick={() => toggle(u)}>×</button>
              </li>
            ))}
          </ul>
        )}
        <input
          id={`${listId}-q`}
          value={query}
          placeholder="Find by name"
          autoComplete="off"
          role="combobox"
          aria-expanded={options.length > 0}
          aria-controls={listId}
          aria-autocomplete="list"
          aria-activedescendant={cur >= 0 ? optionId(options[cur]) : undefined}
          onChange={(e) => {
            setQuery(e.target.value);
            setActive(0);
          }}
          onKeyDown={onKeyDown}
        />
        {team === null && !error && <p className="muted">Loading…</p>}
        {team !== null && options.length === 0 && (
          <p className="muted">{others.length ? 'Nobody matches.' : 'Nobody else is in your team yet.'}</p>
        )}
        {full && <p className="muted small" role="status">A conversation has at most {MAX_DIRECT_OTHERS + 1} people.</p>}
        <ul className="dm-options" id={listId} role="listbox" aria-multiselectable="true" aria-label="Teammates">
          {options.map((u, i) => {
            const on = isPicked(u);
            return (
              <li
                key={key(u.id)}
                id={optionId(u)}
                role="option"
                aria-selected={on}
                aria-disabled={!on && full}
                className={`${i === cur ? 'active' : ''}${on ? ' picked' : ''}`}
                data-username={u.username}
                // the focus stays in the search field
                onMouseDown={(e) => e.preventDefault()}
                onClick={() => toggle(u)}
              >
                <PresenceDot userId={u.id} />
                <span className="grow">{shown(u)}</span>
                <span className="muted small">@{u.username}</span>
                <span className="dm-check" aria-hidden="true">{on ? '✓' : ''}</span>
              </li>
            );
          })}
        </ul>
        <FormError error={error} />
        <div className="modal-actions">
          <button type="button" className="btn" onClick={onClose}>Cancel</button>
          <button type="submit" className="btn primary" disabled={!picked.length || busy}>
            {busy ? 'Opening…' : title}
          </button>
        </div>
      </form>
    </Modal>
  );
}
