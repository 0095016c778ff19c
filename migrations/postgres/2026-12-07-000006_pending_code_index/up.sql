-- The pending-code quota counts the unused, unexpired codes of one user at
-- one client on every authorization. The expires_at index alone made that
-- count visit every code of the last CODE_TTL seconds, of every user (the
-- benchmark's code flow slowed from ~730 to ~190 flows/s within a minute).
-- This partial index holds only unused codes, by grant: the count visits
-- at most MAX_PENDING_CODES_PER_GRANT rows of that grant.
CREATE INDEX oauth2_authorization_codes_pending_idx
    ON oauth2_authorization_codes (user_id, client_id, expires_at)
    WHERE used_at IS NULL;
