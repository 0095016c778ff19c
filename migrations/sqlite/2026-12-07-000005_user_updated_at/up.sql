-- When a user's e-mail address, display name or password last changed, or
-- the account was created: the OpenID Connect `updated_at` claim (Core 1.0
-- §5.1). Existing accounts have not changed since their creation as far as
-- anyone can tell. The constant default only serves rows written without
-- the column; the server always writes it.
ALTER TABLE users ADD COLUMN updated_at TIMESTAMP NOT NULL DEFAULT '1970-01-01 00:00:00';
UPDATE users SET updated_at = created_at;
