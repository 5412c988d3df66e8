DROP TABLE auth.users;
DROP SCHEMA auth;
