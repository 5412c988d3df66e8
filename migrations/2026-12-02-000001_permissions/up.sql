-- Permissions and roles (contract Part 2, "Roles and permissions" and
-- "Channels: browse, properties, archive"). Each owner's part in its schema.

-- auth-svc: deactivation, team permission schemes, its audit entries.
ALTER TABLE auth.users ADD COLUMN deactivated_at timestamptz NULL;

-- A team without a row uses the contract's default scheme.
CREATE TABLE auth.team_schemes (
    team_id    uuid PRIMARY KEY,
    -- {"team_user": [..], "team_admin": [..], "channel_user": [..], "channel_admin": [..]}
    roles      jsonb NOT NULL,
    updated_by uuid NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);

-- channels-svc: channel properties, channel roles.
ALTER TABLE channels.channels
    ADD COLUMN topic       text NOT NULL DEFAULT '',
    ADD COLUMN purpose     text NOT NULL DEFAULT '',
    ADD COLUMN read_only   boolean NOT NULL DEFAULT false,
    ADD COLUMN archived_at timestamptz NULL,
    ADD CONSTRAINT channels_topic_length CHECK (char_length(topic) <= 250),
    ADD CONSTRAINT channels_purpose_length CHECK (char_length(purpose) <= 250);

ALTER TABLE channels.members
    ADD COLUMN role text NOT NULL DEFAULT 'channel_user',
    ADD CONSTRAINT members_role_check CHECK (role IN ('channel_admin', 'channel_user'));
-- A channel's creator is its channel_admin.
UPDATE channels.members m SET role = 'channel_admin'
    FROM channels.channels c
    WHERE m.channel_id = c.id AND m.user_id = c.creator_id;

-- onboarding-svc: invites with an id, uses and revocation.
ALTER TABLE onboarding.invites
    ADD COLUMN id         uuid NOT NULL DEFAULT gen_random_uuid(),
    ADD COLUMN max_uses   integer NULL,
    ADD COLUMN uses       integer NOT NULL DEFAULT 0,
    ADD COLUMN revoked_at timestamptz NULL,
    ADD CONSTRAINT invites_id_key UNIQUE (id),
    ADD CONSTRAINT invites_max_uses_check CHECK (max_uses IS NULL OR max_uses > 0),
    ADD CONSTRAINT invites_uses_check CHECK (uses >= 0 AND (max_uses IS NULL OR uses <= max_uses));
CREATE INDEX invites_team_id_idx ON onboarding.invites (team_id);

-- The audit log: one table per owner, written in the same transaction as
-- the change it records. Ids are UUIDv7, so the owners' entries merge into
-- one time order. Append-only: a trigger refuses updates and deletes.
CREATE FUNCTION public.majlis_audit_append_only() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit entries are append-only';
END;
$$;

CREATE TABLE auth.audit (
    id          uuid PRIMARY KEY,
    -- The team it concerns (null: none, e.g. a teamless user deactivated).
    team_id     uuid NULL,
    at          timestamptz NOT NULL DEFAULT now(),
    actor_id    uuid NOT NULL,
    action      text NOT NULL,
    target_type text NOT NULL,
    target_id   text NOT NULL,
    details     jsonb NOT NULL DEFAULT '{}'::jsonb
);
CREATE INDEX audit_team_id_idx ON auth.audit (team_id, id DESC);
CREATE TRIGGER audit_append_only BEFORE UPDATE OR DELETE ON auth.audit
    FOR EACH ROW EXECUTE FUNCTION public.majlis_audit_append_only();

CREATE TABLE channels.audit (LIKE auth.audit INCLUDING ALL);
CREATE TRIGGER audit_append_only BEFORE UPDATE OR DELETE ON channels.audit
    FOR EACH ROW EXECUTE FUNCTION public.majlis_audit_append_only();

CREATE TABLE onboarding.audit (LIKE auth.audit INCLUDING ALL);
CREATE TRIGGER audit_append_only BEFORE UPDATE OR DELETE ON onboarding.audit
    FOR EACH ROW EXECUTE FUNCTION public.majlis_audit_append_only();
