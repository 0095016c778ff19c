ALTER TABLE oauth2_tokens DROP COLUMN amr;
ALTER TABLE oauth2_tokens DROP COLUMN sid;
ALTER TABLE oauth2_tokens DROP COLUMN auth_time;
ALTER TABLE oauth2_authorization_codes DROP COLUMN amr;
ALTER TABLE oauth2_authorization_codes DROP COLUMN sid;
ALTER TABLE oauth2_authorization_codes DROP COLUMN auth_time;
ALTER TABLE oauth2_authorization_codes DROP COLUMN nonce;
