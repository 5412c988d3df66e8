-- Revoked tokens, the source of truth; Redis holds a cache of them that
-- auth-svc rebuilds from here after Redis restarts. A row is useless once
-- its token has expired, and auth-svc deletes it then.
CREATE TABLE auth.revoked_tokens (
    jti        uuid PRIMARY KEY,
    user_id    uuid NOT NULL,
    expires_at timestamptz NOT NULL,
    revoked_at timestamptz NOT NULL DEFAULT now()
);
-- The cleanup's scan.
CREATE INDEX revoked_tokens_expires_at_idx ON auth.revoked_tokens (expires_at);
