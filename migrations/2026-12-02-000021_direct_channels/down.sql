DELETE FROM channels.channels WHERE type IN ('direct', 'group');
DROP INDEX channels.channels_direct_key_idx;
ALTER TABLE channels.channels
    DROP CONSTRAINT channels_direct_key_check,
    DROP COLUMN direct_key,
    DROP CONSTRAINT channels_type_check,
    ADD CONSTRAINT channels_type_check CHECK (type IN ('public', 'private'));
