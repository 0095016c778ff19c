-- Access and refresh tokens, stored by the SHA-256 digest (64 lower-case hex)
-- of the token. user_id is NULL for client_credentials tokens.
CREATE TABLE oauth2_tokens (
    id TEXT PRIMARY KEY NOT NULL,
    digest TEXT NOT NULL UNIQUE,
    family_id TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('access_token', 'refresh_token')),
    client_id TEXT NOT NULL REFERENCES oauth2_clients (client_id) ON DELETE CASCADE,
    user_id TEXT REFERENCES users (id) ON DELETE CASCADE,
    scope TEXT NOT NULL,
    issued_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    revoked_at TIMESTAMP,
    rotated_at TIMESTAMP
);

CREATE INDEX oauth2_tokens_family_id_idx ON oauth2_tokens (family_id);
CREATE INDEX oauth2_tokens_client_id_idx ON oauth2_tokens (client_id);
CREATE INDEX oauth2_tokens_user_id_idx ON oauth2_tokens (user_id);
CREATE INDEX oauth2_tokens_expires_at_idx ON oauth2_tokens (expires_at);
