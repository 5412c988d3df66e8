DROP TABLE onboarding.installation;
DROP TABLE onboarding.team_creations;
DROP TABLE onboarding.invites;
DROP TABLE onboarding.team_members;
DROP TABLE onboarding.teams;
DROP SCHEMA onboarding;
