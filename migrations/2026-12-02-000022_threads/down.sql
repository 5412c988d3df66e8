DROP INDEX channels.messages_thread_idx;
ALTER TABLE channels.messages
    DROP COLUMN last_reply_at,
    DROP COLUMN reply_count,
    DROP COLUMN root_id;
