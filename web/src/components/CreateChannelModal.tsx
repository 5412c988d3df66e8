import { useState, type FormEvent } from 'react';
import { api } from '../api';
import type { Channel } from '../types';
import { FormError, fieldError } from './FormError';
import { Modal } from './Modal';

const slug = (s: string) => s.toLowerCase().replace(/[^a-z0-9_-]+/g, '-').replace(/^[-_]+/, '').replace(/-+$/, '').slice(0, 64);

export function CreateChannelModal({ onClose, onCreated }: { onClose: () => void; onCreated: (c: Channel) => void }) {
  const [displayName, setDisplayName] = useState('');
  const [name, setName] = useState('');
  const [touched, setTouched] = useState(false);
  const [type, setType] = useState<'public' | 'private'>('public');
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);

  async function submit(e: FormEvent) {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const c = await api.createChannel({ name: name || slug(displayName), display_name: displayName.trim(), type });
      onCreated(c);
    } catch (err) {
      setError(err);
      setBusy(false);
    }
  }

  return (
    <Modal title="Create a channel" onClose={onClose}>
      <form onSubmit={(e) => void submit(e)} aria-label="Create channel">
        <label>
          Display name
          <input name="display_name" value={displayName} required maxLength={64}
            onChange={(e) => {
              setDisplayName(e.target.value);
              if (!touched) setName(slug(e.target.value));
            }} />
        </label>
        <label>
          Name
          <input name="name" value={name} required pattern="[a-z0-9][a-z0-9_\-]{0,63}"
            title="lowercase letters, digits, - and _" aria-invalid={!!fieldError(error, 'name')}
            onChange={(e) => {
              setTouched(true);
              setName(e.target.value.toLowerCase());
            }} />
        </label>
        <fieldset className="radio-row">
          <legend>Visibility</legend>
          <label><input type="radio" name="type" checked={type === 'public'} onChange={() => setType('public')} /> Public</label>
          <label><input type="radio" name="type" checked={type === 'private'} onChange={() => setType('private')} /> Private</label>
        </fieldset>
        <FormError error={error} />
        <div className="modal-actions">
          <button type="button" className="btn" onClick={onClose}>Cancel</button>
          <button type="submit" className="btn primary" disabled={busy}>{busy ? 'Creating…' : 'Create channel'}</button>
        </div>
      </form>
    </Modal>
  );
}
