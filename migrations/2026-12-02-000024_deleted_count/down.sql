ALTER TABLE channels.channels DROP COLUMN deleted_count;
