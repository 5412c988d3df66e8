DROP TABLE onboarding.audit;
DROP TABLE channels.audit;
DROP TABLE auth.audit;
DROP FUNCTION public.majlis_audit_append_only();
DROP INDEX onboarding.invites_team_id_idx;
ALTER TABLE onboarding.invites
    DROP COLUMN revoked_at, DROP COLUMN uses, DROP COLUMN max_uses, DROP COLUMN id;
ALTER TABLE channels.members DROP COLUMN role;
ALTER TABLE channels.channels
    DROP COLUMN archived_at, DROP COLUMN read_only, DROP COLUMN purpose, DROP COLUMN topic;
DROP TABLE auth.team_schemes;
ALTER TABLE auth.users DROP COLUMN deactivated_at;
