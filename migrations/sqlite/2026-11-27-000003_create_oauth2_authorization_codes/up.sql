-- Codes are stored by the SHA-256 digest (64 lower-case hex) of the code.
CREATE TABLE oauth2_authorization_codes (
    digest TEXT PRIMARY KEY NOT NULL,
    client_id TEXT NOT NULL REFERENCES oauth2_clients (client_id) ON DELETE CASCADE,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    redirect_uri TEXT,
    scope TEXT NOT NULL,
    code_challenge TEXT NOT NULL,
    family_id TEXT NOT NULL,
    issued_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    used_at TIMESTAMP
);

CREATE INDEX oauth2_authorization_codes_expires_at_idx ON oauth2_authorization_codes (expires_at);
