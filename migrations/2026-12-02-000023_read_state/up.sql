-- Read state and mentions (contract Part 2: "Read state, unread counts and
-- mentions"). Counts are derived, never stored: unread = messages above the
-- member's cursor written by others; mentions = those whose `mentions` holds
-- the member. So a message costs no write per recipient.
ALTER TABLE channels.members ADD COLUMN last_read_seq bigint NOT NULL DEFAULT 0;

-- Whoever is a member today has read what exists today.
UPDATE channels.members mb SET last_read_seq = c.last_seq
FROM channels.channels c WHERE c.id = mb.channel_id;

-- A new member starts with the history before its join read, so joining a
-- busy channel does not show hundreds of unread messages. Kept by the
-- database so that no insert path can forget it.
CREATE FUNCTION channels.member_reads_from_join() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.last_read_seq := greatest(NEW.last_read_seq,
        (SELECT last_seq FROM channels.channels WHERE id = NEW.channel_id));
    RETURN NEW;
END $$;
CREATE TRIGGER members_read_from_join BEFORE INSERT ON channels.members
    FOR EACH ROW EXECUTE FUNCTION channels.member_reads_from_join();

-- The users a message mentions, resolved when it is stored (@channel, @all
-- and @here expanded to the members they reached then).
ALTER TABLE channels.messages ADD COLUMN mentions uuid[] NOT NULL DEFAULT '{}';
