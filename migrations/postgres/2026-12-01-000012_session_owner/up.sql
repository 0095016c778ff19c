-- Which user a session is logged in as (NULL: anonymous), so that a
-- password change or a deletion ends every session of that user; and when
-- the session started, for its absolute lifetime (SESSION_MAX_AGE). Live
-- sessions are kept: their user is read from the state the store wrote
-- (`{"uid":"\"<id>\""}`), and their lifetime counts from the upgrade.
ALTER TABLE sessions ADD COLUMN user_id TEXT;
-- The default stays: instances of the previous release, still running
-- during a rolling upgrade, insert sessions without this column.
ALTER TABLE sessions ADD COLUMN created_at TIMESTAMP NOT NULL DEFAULT (now() AT TIME ZONE 'UTC');
UPDATE sessions SET user_id = trim(both '"' from (state::json ->> 'uid'));
CREATE INDEX sessions_user_id ON sessions (user_id);
