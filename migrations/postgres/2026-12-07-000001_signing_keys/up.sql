-- ID token signing keys (OpenID Connect), shared by every instance. The
-- private key is stored encrypted (AES-256-GCM under KEY_ENCRYPTION_KEY,
-- the kid as associated data), never in the clear. (alg, generation) is
-- unique so that two instances rotating at once add one key, not two.
CREATE TABLE signing_keys (
    kid TEXT PRIMARY KEY NOT NULL,
    alg TEXT NOT NULL,
    generation BIGINT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    signs_from TIMESTAMP NOT NULL,
    sealed_private_key TEXT NOT NULL,
    UNIQUE (alg, generation)
);
