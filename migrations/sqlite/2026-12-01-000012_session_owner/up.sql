-- Which user a session is logged in as (NULL: anonymous), so that a
-- password change or a deletion ends every session of that user; and when
-- the session started, for its absolute lifetime (SESSION_MAX_AGE). Live
-- sessions are kept: their user is read from the state the store wrote
-- (`{"uid":"\"<id>\""}`), and their lifetime counts from the upgrade.
ALTER TABLE sessions ADD COLUMN user_id TEXT;
ALTER TABLE sessions ADD COLUMN created_at TIMESTAMP NOT NULL DEFAULT '1970-01-01 00:00:00';
UPDATE sessions SET
    user_id = trim(json_extract(state, '$.uid'), '"'),
    created_at = strftime('%Y-%m-%d %H:%M:%f', 'now');
CREATE INDEX sessions_user_id ON sessions (user_id);
