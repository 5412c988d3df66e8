-- Direct (two people) and group (3–8) channels (contract Part 2: "Direct and
-- group messages"). `direct_key` is the sorted set of member ids: the same
-- set of people always gets the same channel, which the unique index holds
-- even against two creations at once.
ALTER TABLE channels.channels
    DROP CONSTRAINT channels_type_check,
    ADD CONSTRAINT channels_type_check CHECK (type IN ('public', 'private', 'direct', 'group')),
    ADD COLUMN direct_key text,
    ADD CONSTRAINT channels_direct_key_check CHECK ((type IN ('direct', 'group')) = (direct_key IS NOT NULL));

CREATE UNIQUE INDEX channels_direct_key_idx ON channels.channels (team_id, direct_key)
    WHERE direct_key IS NOT NULL;
