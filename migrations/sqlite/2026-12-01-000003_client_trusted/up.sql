-- Issue 11.10: clients the operator trusts get automatic error redirects
-- (RFC 9700 §4.11.2). Existing clients start untrusted: the operator
-- marks them with `oauth2-server client set-trusted CLIENT_ID`.
ALTER TABLE oauth2_clients ADD COLUMN trusted BOOLEAN NOT NULL DEFAULT FALSE;
