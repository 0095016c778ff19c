DROP INDEX sessions_user_id;
ALTER TABLE sessions DROP COLUMN created_at;
ALTER TABLE sessions DROP COLUMN user_id;
