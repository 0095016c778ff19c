//! JOSE: the ID token signer (compact JWS over ring) and the JWKS it
//! publishes. The keys are parsed once into ring's key pairs and kept in
//! memory; signing picks, per algorithm, the key whose time to sign has come.

pub mod jws;
pub mod key;

use std::sync::{Arc, RwLock};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use sha2::{Digest as _, Sha256};

use domain::error::StoreError;
use domain::id_token::{IdTokenClaims, JwsAlgorithm};
use domain::ports::{Clock, IdTokenSigner};
use domain::time::Timestamp;

pub use key::{Pkcs8, SigningKey};

/// What can go wrong with keys and signatures.
#[derive(Debug, thiserror::Error)]
pub enum JoseError {
    /// Generating a key failed.
    #[error("cannot generate a signing key")]
    Generate,
    /// Stored bytes are not a key of the stated algorithm.
    #[error("the signing key cannot be read")]
    BadKey,
    /// ring failed to sign.
    #[error("cannot sign")]
    Sign,
    /// No key of this algorithm may sign now.
    #[error("no {0} key can sign")]
    NoKey(JwsAlgorithm),
}

/// A published key and when it starts signing.
#[derive(Debug)]
pub struct KeyEntry {
    /// The key.
    pub key: SigningKey,
    /// From when it signs (before that it is only published).
    pub signs_from: Timestamp,
}

/// The JWKS document, serialised once per key set.
#[derive(Debug, Clone)]
pub struct Jwks {
    /// `{"keys":[…]}`.
    pub body: Arc<[u8]>,
    /// A strong validator of `body` (RFC 9110 §8.8.3), quoted.
    pub etag: Arc<str>,
}

/// The keys in memory: every published key, with the JWKS of them.
#[derive(Debug)]
pub struct KeySet {
    entries: Vec<KeyEntry>,
    jwks: Jwks,
}

impl KeySet {
    /// A set of `entries` (each published), with its JWKS serialised.
    #[must_use]
    pub fn new(entries: Vec<KeyEntry>) -> Self {
        let keys: Vec<&serde_json::Value> = entries.iter().map(|e| e.key.jwk()).collect();
        let body = serde_json::to_vec(&serde_json::json!({ "keys": keys }))
            .unwrap_or_else(|_| b"{\"keys\":[]}".to_vec());
        let digest = Sha256::digest(&body);
        let etag = format!("\"{}\"", URL_SAFE_NO_PAD.encode(&digest[..16]));
        Self {
            entries,
            jwks: Jwks {
                body: body.into(),
                etag: etag.into(),
            },
        }
    }

    /// The key that signs `alg` at `now`: of those whose `signs_from` has
    /// come, the latest.
    #[must_use]
    pub fn signing_key(&self, alg: JwsAlgorithm, now: Timestamp) -> Option<&SigningKey> {
        self.entries
            .iter()
            .filter(|e| e.key.alg() == alg && e.signs_from <= now)
            .max_by_key(|e| e.signs_from)
            .map(|e| &e.key)
    }

    /// The published key named `kid` for `alg`.
    #[must_use]
    pub fn published(&self, alg: JwsAlgorithm, kid: &str) -> Option<&SigningKey> {
        self.entries
            .iter()
            .map(|e| &e.key)
            .find(|k| k.alg() == alg && k.kid() == kid)
    }

    /// Every entry.
    #[must_use]
    pub fn entries(&self) -> &[KeyEntry] {
        &self.entries
    }

    /// The JWKS of the set.
    #[must_use]
    pub fn jwks(&self) -> &Jwks {
        &self.jwks
    }
}

/// Signs ID tokens with the key set in memory.
pub struct JoseSigner {
    keys: RwLock<Arc<KeySet>>,
    clock: Arc<dyn Clock>,
    rng: ring::rand::SystemRandom,
}

impl std::fmt::Debug for JoseSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JoseSigner").finish_non_exhaustive()
    }
}

impl JoseSigner {
    /// A signer over `keys`, choosing keys by `clock`.
    #[must_use]
    pub fn new(keys: KeySet, clock: Arc<dyn Clock>) -> Self {
        Self {
            keys: RwLock::new(Arc::new(keys)),
            clock,
            rng: ring::rand::SystemRandom::new(),
        }
    }

    /// A signer over one new key per algorithm, signing at once, kept in
    /// memory only.
    ///
    /// # Errors
    /// Key generation failed.
    pub fn generate_in_memory(clock: Arc<dyn Clock>) -> Result<Self, JoseError> {
        let now = clock.now();
        let entries = JwsAlgorithm::ALL
            .into_iter()
            .map(|alg| {
                Ok(KeyEntry {
                    key: SigningKey::from_pkcs8(alg, &key::generate(alg)?)?,
                    signs_from: now,
                })
            })
            .collect::<Result<Vec<_>, JoseError>>()?;
        Ok(Self::new(KeySet::new(entries), clock))
    }

    /// The key set in memory now.
    #[must_use]
    pub fn key_set(&self) -> Arc<KeySet> {
        self.keys
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// Replaces the key set in memory.
    pub fn replace(&self, keys: KeySet) {
        *self
            .keys
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Arc::new(keys);
    }

    /// The JWKS of the keys in memory.
    #[must_use]
    pub fn jwks(&self) -> Jwks {
        self.key_set().jwks().clone()
    }

    fn sign_with(&self, alg: JwsAlgorithm, claims: &IdTokenClaims) -> Result<String, JoseError> {
        let keys = self.key_set();
        let key = keys
            .signing_key(alg, self.clock.now())
            .ok_or(JoseError::NoKey(alg))?;
        let payload = serde_json::to_vec(&jws::payload(claims)).map_err(|_| JoseError::Sign)?;
        let mut token = String::with_capacity(512);
        token.push_str(key.encoded_header());
        token.push('.');
        token.push_str(&URL_SAFE_NO_PAD.encode(payload));
        let signature = key.sign(&self.rng, token.as_bytes())?;
        token.push('.');
        token.push_str(&URL_SAFE_NO_PAD.encode(signature));
        Ok(token)
    }
}

impl IdTokenSigner for JoseSigner {
    fn sign(&self, alg: JwsAlgorithm, claims: &IdTokenClaims) -> Result<String, StoreError> {
        self.sign_with(alg, claims)
            .map_err(|e| StoreError::Other(Box::new(e)))
    }

    fn verify_own(&self, token: &str) -> Option<IdTokenClaims> {
        let parsed = jws::parse(token)?;
        let keys = self.key_set();
        let key = keys.published(parsed.alg, &parsed.kid)?;
        if !key.verifies(&parsed.signing_input, &parsed.signature) {
            return None;
        }
        let payload: serde_json::Value = serde_json::from_slice(&parsed.payload).ok()?;
        jws::claims_of(&payload)
    }
}

#[cfg(test)]
mod tests;
