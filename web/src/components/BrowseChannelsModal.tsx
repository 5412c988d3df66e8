import { useEffect, useState } from 'react';
import { api } from '../api';
import { useChat } from '../store';
import { refreshPermissions } from '../workspace';
import type { BrowseChannel, Channel, Id } from '../types';
import { key } from '../types';
import { FormError } from './FormError';
import { Modal } from './Modal';

/** Joins a public channel: it becomes one of the user's own (sidebar, chat socket). */
export async function joinChannel(id: Id): Promise<Channel> {
  const c = await api.joinChannel(id);
  useChat.getState().upsertChannel(c);
  // a member now: its channel-scoped permissions there may differ
  void refreshPermissions(c.id);
  return c;
}

/** The public channels of the team the user is not in, with their member counts, each with a Join button. */
export function BrowseChannelsModal({ onClose, onJoined }: { onClose: () => void; onJoined: (c: Channel) => void }) {
  const [list, setList] = useState<BrowseChannel[] | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [joining, setJoining] = useState<string | null>(null);
  const [filter, setFilter] = useState('');

  useEffect(() => {
    let live = true;
    api.browseChannels().then(
      (l) => {
        if (!live) return;
        setList(l);
        useChat.getState().setBrowse(l);
      },
      (e) => live && setError(e),
    );
    return () => {
      live = false;
    };
  }, []);

  async function join(c: BrowseChannel) {
    setJoining(key(c.id));
    setError(null);
    try {
      onJoined(await joinChannel(c.id));
    } catch (e) {
      setError(e);
      setJoining(null);
    }
  }

  const f = filter.trim().toLowerCase();
  const shown = (list ?? []).filter((c) => !f || c.name.includes(f) || c.display_name.toLowerCase().includes(f));
  return (
    <Modal title="Browse channels" onClose={onClose}>
      <label>
        Find a channel
        <input value={filter} onChange={(e) => setFilter(e.target.value)} placeholder="Name" />
      </label>
      <FormError error={error} />
      {list === null && !error && <p className="muted">Loading…</p>}
      {list !== null && shown.length === 0 && (
        <p className="muted">{list.length ? 'No channel matches.' : 'You are in every public channel of the team.'}</p>
      )}
      <ul className="browse-list" aria-label="Public channels">
        {shown.map((c) => (
          <li key={key(c.id)} data-channel-name={c.name}>
            <div className="grow">
              <div><strong># {c.display_name}</strong> <span className="muted small">{c.name}</span></div>
              {(c.purpose || c.topic) && <div className="muted small">{c.purpose || c.topic}</div>}
              <div className="muted small" data-member-count={c.member_count}>
                {c.member_count} {c.member_count === 1 ? 'member' : 'members'}
              </div>
            </div>
            <button className="btn small primary" onClick={() => void join(c)} disabled={joining !== null}
              aria-label={`Join ${c.display_name}`}>
              {joining === key(c.id) ? 'Joining…' : 'Join'}
            </button>
          </li>
        ))}
      </ul>
    </Modal>
  );
}
