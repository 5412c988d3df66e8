-- Threads (contract Part 2: "Threads, edit, delete"). A reply names its root,
-- a top-level message of the same channel; the root counts its live replies
-- and remembers the newest, written in the transaction that stores them.
ALTER TABLE channels.messages
    ADD COLUMN root_id uuid REFERENCES channels.messages (id) ON DELETE CASCADE,
    ADD COLUMN reply_count integer NOT NULL DEFAULT 0,
    ADD COLUMN last_reply_at timestamptz;

CREATE INDEX messages_thread_idx ON channels.messages (root_id, seq) WHERE root_id IS NOT NULL;
