import { useChat } from '../store';
import type { Id } from '../types';
import { key } from '../types';

export function PresenceDot({ userId }: { userId: Id }) {
  const status = useChat((s) => s.presence[key(userId)] ?? 'offline');
  return <span className={`dot dot-${status}`} role="img" aria-label={status} title={status} data-status={status} />;
}
