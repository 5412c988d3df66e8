-- Who is in which team, with which team role, has one source of truth:
-- auth.users (team_id, roles), owned by auth-svc, which changes and guards
-- it. onboarding's copy goes.
DROP TABLE onboarding.team_members;
