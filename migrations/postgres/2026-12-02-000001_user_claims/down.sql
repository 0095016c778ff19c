DROP INDEX users_email_folded;
ALTER TABLE users DROP COLUMN name;
ALTER TABLE users DROP COLUMN email_verified;
ALTER TABLE users DROP COLUMN email_folded;
ALTER TABLE users DROP COLUMN email;
