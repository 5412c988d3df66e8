import { useEffect, useRef, useState } from 'react';
import { api } from '../api';
import type { Id } from '../types';
import { FormError } from './FormError';
import { Modal } from './Modal';

export function InviteModal({ teamId, onClose }: { teamId: Id; onClose: () => void }) {
  const [link, setLink] = useState('');
  const [expires, setExpires] = useState('');
  const [error, setError] = useState<unknown>(null);
  const [copied, setCopied] = useState(false);
  const input = useRef<HTMLInputElement>(null);
  useEffect(() => {
    api
      .createInvite(teamId)
      .then((r) => {
        setLink(`${window.location.origin}/join/${encodeURIComponent(r.invite_token)}`);
        setExpires(r.expires_at);
      })
      .catch(setError);
  }, [teamId]);

  async function copy() {
    try {
      await navigator.clipboard.writeText(link);
    } catch (e) {
      console.warn('[invite]', 'clipboard_unavailable', e);
      input.current?.select();
      document.execCommand?.('copy');
    }
    setCopied(true);
  }

  return (
    <Modal title="Invite people" onClose={onClose}>
      <p className="muted">Anyone with this link can join your team{expires ? ` until ${new Date(expires).toLocaleDateString()}` : ''}.</p>
      <FormError error={error} />
      <div className="inline-form">
        <label className="grow">
          Invite link
          <input ref={input} readOnly value={link || 'Creating link…'} onFocus={(e) => e.target.select()} />
        </label>
        <button className="btn primary" onClick={() => void copy()} disabled={!link}>{copied ? 'Copied' : 'Copy'}</button>
      </div>
    </Modal>
  );
}
