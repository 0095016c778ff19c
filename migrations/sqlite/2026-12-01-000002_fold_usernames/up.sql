-- Names are unique after case folding (RFC 8265 §3.3; ASCII names, so
-- lower()). The oldest of existing case-duplicates keeps the folded key and
-- is found by any spelling; the others keep working by their exact name
-- only (username stays UNIQUE) and leave username_folded NULL, which the
-- unique index allows more than once. New names that fold to a taken key
-- are refused.
ALTER TABLE users ADD COLUMN username_folded TEXT;
UPDATE users SET username_folded = lower(username)
WHERE NOT EXISTS (
    SELECT 1 FROM users AS older
    WHERE lower(older.username) = lower(users.username)
      AND (older.created_at < users.created_at
           OR (older.created_at = users.created_at AND older.id < users.id))
);
CREATE UNIQUE INDEX users_username_folded ON users (username_folded);
-- Sign-up also refuses a name whose fold matches a NULL-key duplicate.
CREATE INDEX users_username_lower ON users (lower(username));
