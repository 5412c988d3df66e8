DROP INDEX auth.users_tokens_valid_after_idx;
ALTER TABLE auth.users DROP COLUMN tokens_valid_after;
