-- Failed password checks and client authentications, one row each, by key
-- (`user:NAME`, `client:ID`, `addr:IP`): the brute-force limits count the
-- rows of a key inside a sliding window, on every instance alike.
CREATE TABLE failed_attempts (
    key TEXT NOT NULL,
    at TIMESTAMP NOT NULL
);
CREATE INDEX failed_attempts_key_at ON failed_attempts (key, at);
CREATE INDEX failed_attempts_at ON failed_attempts (at);
