-- Remembered consents (OpenID Connect Core §3.1.2.4): one row per user and
-- client, with every scope the user approved; deleting the user or the
-- client deletes it.
CREATE TABLE oauth2_consents (
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    client_id TEXT NOT NULL REFERENCES oauth2_clients (client_id) ON DELETE CASCADE,
    scope TEXT NOT NULL,
    granted_at TIMESTAMP NOT NULL,
    PRIMARY KEY (user_id, client_id)
);

-- Deleting a client finds its consents without a full scan.
CREATE INDEX oauth2_consents_client_id_idx ON oauth2_consents (client_id);
