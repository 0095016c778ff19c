ALTER TABLE oauth2_clients DROP COLUMN require_auth_time;
ALTER TABLE oauth2_clients DROP COLUMN default_max_age;
ALTER TABLE oauth2_clients DROP COLUMN id_token_signed_response_alg;
ALTER TABLE oauth2_clients DROP COLUMN post_logout_redirect_uris;
