import { useState } from 'react';
import type { Channel } from '../types';
import { FormError } from './FormError';
import { joinChannel } from './BrowseChannelsModal';

/** A public channel the user is not in: what it is about, and a Join button (its messages are for members). */
export function ChannelPreview({ channel, onToggleSidebar }: { channel: Channel & { member_count?: number }; onToggleSidebar: () => void }) {
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);

  async function join() {
    setBusy(true);
    setError(null);
    try {
      // the channel becomes one of the user's own: the main view switches to it (and its chat socket opens)
      await joinChannel(channel.id);
    } catch (e) {
      setError(e);
      setBusy(false);
    }
  }

  return (
    <section className="channel-view" aria-label={`Channel ${channel.display_name}`}>
      <header className="channel-head">
        <button className="icon-btn only-narrow" aria-label="Show channels" onClick={onToggleSidebar}>☰</button>
        <div className="channel-title-block">
          <h1 className="channel-title"><span aria-hidden="true"># </span>{channel.display_name}</h1>
          {channel.topic && <div className="channel-topic muted small">{channel.topic}</div>}
        </div>
      </header>
      <div className="center-page">
        <div className="card join-card">
          <h2># {channel.display_name}</h2>
          {channel.purpose && <p>{channel.purpose}</p>}
          <p className="muted">
            You are not a member of this public channel
            {channel.member_count !== undefined ? ` (${channel.member_count} ${channel.member_count === 1 ? 'member' : 'members'})` : ''}.
            Join it to read and post messages.
          </p>
          <FormError error={error} />
          <button className="btn primary" onClick={() => void join()} disabled={busy}>{busy ? 'Joining…' : 'Join channel'}</button>
        </div>
      </div>
    </section>
  );
}
