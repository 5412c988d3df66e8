CREATE TABLE onboarding.team_members (
    team_id   uuid NOT NULL REFERENCES onboarding.teams (id) ON DELETE CASCADE,
    user_id   uuid NOT NULL,
    role      text NOT NULL,
    joined_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (team_id, user_id),
    CONSTRAINT team_members_user_key UNIQUE (user_id),
    CONSTRAINT team_members_role_check CHECK (role IN ('team_admin', 'team_user'))
);
INSERT INTO onboarding.team_members (team_id, user_id, role)
    SELECT team_id, id, CASE WHEN 'team_admin' = ANY (roles) THEN 'team_admin' ELSE 'team_user' END
    FROM auth.users WHERE team_id IS NOT NULL;
