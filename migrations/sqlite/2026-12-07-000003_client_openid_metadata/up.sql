-- Issue 13.9: client metadata of OpenID Connect Dynamic Client Registration
-- 1.0 §2 and RP-Initiated Logout 1.0 §3.1. post_logout_redirect_uris:
-- newline-separated, like redirect_uris. default_max_age: seconds, NULL for
-- none. Existing clients get the defaults: RS256, no redirect after logout.
ALTER TABLE oauth2_clients ADD COLUMN post_logout_redirect_uris TEXT NOT NULL DEFAULT '';
ALTER TABLE oauth2_clients ADD COLUMN id_token_signed_response_alg TEXT NOT NULL DEFAULT 'RS256';
ALTER TABLE oauth2_clients ADD COLUMN default_max_age BIGINT;
ALTER TABLE oauth2_clients ADD COLUMN require_auth_time BOOLEAN NOT NULL DEFAULT FALSE;
