ALTER TABLE oauth2_clients DROP COLUMN trusted;
