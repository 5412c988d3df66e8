-- channels-svc owns the `channels` schema: channels, memberships, messages, reactions.
CREATE SCHEMA IF NOT EXISTS channels;

CREATE TABLE channels.channels (
    id           uuid PRIMARY KEY,
    team_id      uuid NOT NULL,
    name         text NOT NULL,
    display_name text NOT NULL,
    type         text NOT NULL,
    creator_id   uuid NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    -- The seq of the newest message. Incremented in the same transaction as
    -- the insert, under this row's lock: seqs start at 1 and never skip.
    last_seq     bigint NOT NULL DEFAULT 0,
    CONSTRAINT channels_team_name_key UNIQUE (team_id, name),
    CONSTRAINT channels_type_check CHECK (type IN ('public', 'private')),
    CONSTRAINT channels_name_format CHECK (name ~ '^[a-z0-9][a-z0-9_-]{0,63}$')
);

CREATE TABLE channels.members (
    channel_id uuid NOT NULL REFERENCES channels.channels (id) ON DELETE CASCADE,
    user_id    uuid NOT NULL,
    joined_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (channel_id, user_id)
);
-- "My channels" is the sidebar's read.
CREATE INDEX members_user_id_idx ON channels.members (user_id);

CREATE TABLE channels.messages (
    id         uuid PRIMARY KEY,
    channel_id uuid NOT NULL REFERENCES channels.channels (id) ON DELETE CASCADE,
    seq        bigint NOT NULL,
    user_id    uuid NOT NULL,
    content    text NOT NULL,
    client_id  text NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT messages_channel_seq_key UNIQUE (channel_id, seq),
    -- A client's retry of the same send finds the stored message instead of
    -- making a second one (NULL client ids never collide).
    CONSTRAINT messages_client_id_key UNIQUE (channel_id, user_id, client_id)
);

CREATE TABLE channels.reactions (
    message_id uuid NOT NULL REFERENCES channels.messages (id) ON DELETE CASCADE,
    user_id    uuid NOT NULL,
    emoji      text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (message_id, emoji, user_id)
);
