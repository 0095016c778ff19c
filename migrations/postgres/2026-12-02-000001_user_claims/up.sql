-- OpenID Connect standard claims (Core 1.0 §5.1): an optional e-mail
-- address, stored as given and unique after case folding (email_folded;
-- NULL for users without one, which the unique index allows many times),
-- whether an operator verified it, and a display name.
ALTER TABLE users ADD COLUMN email TEXT;
ALTER TABLE users ADD COLUMN email_folded TEXT;
ALTER TABLE users ADD COLUMN email_verified BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE users ADD COLUMN name TEXT;
CREATE UNIQUE INDEX users_email_folded ON users (email_folded);
