-- OpenID Connect grants (Core 1.0 §3.1.2.1, §2, §12.2). A code of an
-- OpenID request keeps the request's nonce (exactly as sent, NULL when none)
-- and how the user signed in: auth_time (NULL when the session did not
-- record it), sid (the browser session) and amr (space-separated RFC 8176
-- values). amr is NULL exactly when the code or token is not of an OpenID
-- grant. Tokens keep auth_time, sid and amr so that a refresh can mint an
-- ID token with the original authentication; never the nonce (§12.2).
ALTER TABLE oauth2_authorization_codes ADD COLUMN nonce TEXT;
ALTER TABLE oauth2_authorization_codes ADD COLUMN auth_time TIMESTAMP;
ALTER TABLE oauth2_authorization_codes ADD COLUMN sid TEXT;
ALTER TABLE oauth2_authorization_codes ADD COLUMN amr TEXT;
ALTER TABLE oauth2_tokens ADD COLUMN auth_time TIMESTAMP;
ALTER TABLE oauth2_tokens ADD COLUMN sid TEXT;
ALTER TABLE oauth2_tokens ADD COLUMN amr TEXT;
