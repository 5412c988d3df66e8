ALTER TABLE channels.messages DROP COLUMN mentions;
DROP TRIGGER members_read_from_join ON channels.members;
DROP FUNCTION channels.member_reads_from_join();
ALTER TABLE channels.members DROP COLUMN last_read_seq;
