DROP TABLE auth.revoked_tokens;
