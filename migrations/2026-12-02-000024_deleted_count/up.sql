-- Deletions per channel. The unread rounds count each channel incrementally
-- from their previous round (only the messages since), and a deletion, made
-- on any replica, is what can make that previous count wrong: a round that
-- sees this number move counts in full again.
ALTER TABLE channels.channels ADD COLUMN deleted_count bigint NOT NULL DEFAULT 0;
