DROP TABLE oauth2_consents;
