-- Browser sessions, kept server-side so that logging out ends a session for
-- every copy of its cookie and on every instance. The id is the SHA-256 of
-- the session key the cookie carries; the key itself is never stored.
CREATE TABLE sessions (
    id TEXT PRIMARY KEY NOT NULL,
    state TEXT NOT NULL,
    expires_at TIMESTAMP NOT NULL
);
CREATE INDEX sessions_expires_at ON sessions (expires_at);
