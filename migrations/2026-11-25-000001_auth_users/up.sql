-- auth-svc owns the `auth` schema: users and their credentials.
CREATE SCHEMA IF NOT EXISTS auth;

CREATE TABLE auth.users (
    id            uuid PRIMARY KEY,
    username      text NOT NULL,
    email         text NOT NULL,
    display_name  text NOT NULL,
    password_hash text NOT NULL,
    team_id       uuid NULL,
    roles         text[] NOT NULL DEFAULT ARRAY['system_user']::text[],
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT users_username_key UNIQUE (username),
    CONSTRAINT users_username_format CHECK (username ~ '^[a-z0-9][a-z0-9._-]{2,31}$'),
    CONSTRAINT users_display_name_length CHECK (char_length(display_name) BETWEEN 1 AND 64),
    -- Emails are stored lowercased, so Amira@x and amira@x are one mailbox.
    CONSTRAINT users_email_key UNIQUE (email),
    CONSTRAINT users_email_lowercase CHECK (email = lower(email))
);
-- "Members of team T" is the common read for team screens and presence lists.
CREATE INDEX users_team_id_idx ON auth.users (team_id) WHERE team_id IS NOT NULL;
