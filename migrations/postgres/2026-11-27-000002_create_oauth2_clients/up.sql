-- redirect_uris: newline-separated; grant_types and response_types:
-- space-separated wire names (RFC 7591 §2).
CREATE TABLE oauth2_clients (
    client_id TEXT PRIMARY KEY NOT NULL,
    owner_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    secret_digest TEXT,
    client_name TEXT NOT NULL,
    client_uri TEXT,
    redirect_uris TEXT NOT NULL,
    grant_types TEXT NOT NULL,
    response_types TEXT NOT NULL,
    scope TEXT NOT NULL,
    token_endpoint_auth_method TEXT NOT NULL,
    issued_at TIMESTAMP NOT NULL
);

CREATE INDEX oauth2_clients_owner_id_idx ON oauth2_clients (owner_id);
