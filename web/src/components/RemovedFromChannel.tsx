import { useNavigate } from 'react-router-dom';
import { useChat, type RemovedChannel } from '../store';

/** The open channel is no longer the user's (its chat socket closed with 4403, or it was removed): say so, offer a way back. */
export function RemovedFromChannel({ channelId, channel }: { channelId: string; channel: RemovedChannel }) {
  const nav = useNavigate();
  const home = useChat((s) => s.channels.find((c) => c.name === 'town-square') ?? s.channels[0]);
  function back() {
    useChat.getState().clearRemoved(channelId);
    nav(home ? `/c/${encodeURIComponent(String(home.id))}` : '/', { replace: true });
  }
  return (
    <div className="center-page">
      <div className="card" role="alert" aria-label="Removed from channel">
        <h1>You were removed from #{channel.display_name || channel.name}</h1>
        <p className="muted">You can no longer read or post in this channel. Someone with the right to manage its members can add you again.</p>
        <button className="btn primary" onClick={back}>{home ? `Go to #${home.display_name}` : 'Back'}</button>
      </div>
    </div>
  );
}
