-- Per-user token revocation (deactivation, "log out everywhere"): every
-- token of the user issued before this instant is refused. auth-svc keeps
-- the cutoff here (durable) and in the Redis revocation cache (what every
-- verifier reads), and rebuilds the cache from this column after a Redis
-- restart. Activation leaves it: old tokens stay revoked.
ALTER TABLE auth.users ADD COLUMN tokens_valid_after timestamptz NULL;
-- The rebuild reads only recent cutoffs (older ones outlived every token).
CREATE INDEX users_tokens_valid_after_idx ON auth.users (tokens_valid_after)
    WHERE tokens_valid_after IS NOT NULL;
