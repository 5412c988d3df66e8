-- onboarding-svc owns the `onboarding` schema: teams, their members, invites,
-- and the log of the team-creation saga.
CREATE SCHEMA IF NOT EXISTS onboarding;

CREATE TABLE onboarding.teams (
    id           uuid PRIMARY KEY,
    name         text NOT NULL,
    display_name text NOT NULL,
    creator_id   uuid NOT NULL,
    -- 'creating' while its saga runs; only 'active' teams are visible.
    state        text NOT NULL DEFAULT 'creating',
    created_at   timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT teams_name_key UNIQUE (name),
    CONSTRAINT teams_state_check CHECK (state IN ('creating', 'active')),
    CONSTRAINT teams_name_format CHECK (name ~ '^[a-z0-9][a-z0-9_-]{0,63}$')
);

CREATE TABLE onboarding.team_members (
    team_id   uuid NOT NULL REFERENCES onboarding.teams (id) ON DELETE CASCADE,
    user_id   uuid NOT NULL,
    role      text NOT NULL,
    joined_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (team_id, user_id),
    -- A user belongs to one team.
    CONSTRAINT team_members_user_key UNIQUE (user_id),
    CONSTRAINT team_members_role_check CHECK (role IN ('team_admin', 'team_user'))
);

CREATE TABLE onboarding.invites (
    token      text PRIMARY KEY,
    team_id    uuid NOT NULL REFERENCES onboarding.teams (id) ON DELETE CASCADE,
    created_by uuid NOT NULL,
    expires_at timestamptz NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);

-- One row per team-creation attempt: the saga's log, its idempotency record,
-- and what the recovery loop reads after a crash.
CREATE TABLE onboarding.team_creations (
    id              uuid PRIMARY KEY,
    user_id         uuid NOT NULL,
    idempotency_key text NULL,
    team_id         uuid NULL,
    status          text NOT NULL,
    -- The 201 body, returned again to a retry with the same key.
    response        text NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT team_creations_status_check CHECK (status IN ('started', 'compensating', 'completed', 'failed')),
    CONSTRAINT team_creations_key UNIQUE (user_id, idempotency_key)
);
-- At most one creation in flight per user: concurrent submits make one team.
CREATE UNIQUE INDEX team_creations_one_in_flight ON onboarding.team_creations (user_id)
    WHERE status IN ('started', 'compensating');

-- The first team of the installation makes its creator system_admin; this
-- single row is claimed atomically, and released if that saga fails.
CREATE TABLE onboarding.installation (
    singleton     boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    first_team_id uuid NOT NULL
);
