import { useMemo } from 'react';
import { splitMentions } from '../mentions';
import { useAuth, useChat } from '../store';

/**
 * A message's text with its mentions highlighted: `@username` of a known user and the channel-wide ones. Text stays
 * text (React escapes it): the mentions are spans around text, never markup from the message.
 */
export function MessageContent({ content }: { content: string }) {
  const users = useChat((s) => s.users);
  const myName = useAuth((s) => s.user?.username.toLowerCase() ?? '');
  const names = useMemo(() => {
    const n = new Set(Object.values(users).map((u) => u.username.toLowerCase()));
    if (myName) n.add(myName);
    return n;
  }, [users, myName]);
  const parts = useMemo(() => splitMentions(content, names), [content, names]);
  return (
    <>
      {parts.map((p, i) =>
        typeof p === 'string' ? (
          p
        ) : (
          <span
            key={i}
            className={`mention${p.special ? ' mention-all' : ''}${p.mention.toLowerCase() === myName ? ' mention-me' : ''}`}
            data-mention={p.mention}
          >
            @{p.mention}
          </span>
        ),
      )}
    </>
  );
}
