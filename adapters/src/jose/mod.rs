//! JOSE: the ID token signer (compact JWS over aws-lc-rs) and the JWKS it
//! publishes. The keys are parsed once into aws-lc-rs's key pairs and kept in
//! memory; signing picks, per algorithm, the key whose time to sign has come.

pub mod jws;
pub mod key;
pub mod sealing;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use sha2::{Digest as _, Sha256};

use domain::error::StoreError;
use domain::id_token::{IdTokenClaims, JwsAlgorithm};
use domain::ports::{Clock, IdTokenSigner, SigningKeyRepository};
use domain::signing_key::{self, KeySchedule, KeyStatus, Rotation, StoredSigningKey};
use domain::time::{Lifetime, Timestamp};

pub use key::{Pkcs8, SigningKey};
pub use sealing::KeyEncryptionKey;

/// How often every instance reloads the keys from the database (and runs
/// the rotation timer): a rotation made elsewhere is signed with here at
/// most this long after it is due, and published here at most this long
/// after it was made.
pub const RELOAD_SECONDS: i64 = 60;
/// `Cache-Control: max-age` of the JWKS.
pub const JWKS_MAX_AGE_SECONDS: i64 = 300;
/// How long a new key is published before it signs: the JWKS `max-age`
/// plus the reload interval, with room to spare, so that every cache and
/// every instance holds it before the first token it signs.
pub const ROTATION_LEAD_SECONDS: i64 = 2 * (JWKS_MAX_AGE_SECONDS + RELOAD_SECONDS);
/// Added to the ID token lifetime before a retired key leaves the JWKS.
pub const RETIRE_MARGIN_SECONDS: i64 = JWKS_MAX_AGE_SECONDS;
/// The shortest time between two reloads that an unknown `kid` triggers.
pub const UNKNOWN_KID_RELOAD_SECONDS: i64 = 10;

/// The key schedule for these settings.
#[must_use]
pub fn schedule(rotation: Lifetime, id_token: Lifetime) -> KeySchedule {
    let seconds = |s| Lifetime::from_seconds(s).unwrap_or(rotation);
    KeySchedule {
        rotation,
        lead: seconds(ROTATION_LEAD_SECONDS),
        id_token,
        margin: seconds(RETIRE_MARGIN_SECONDS),
    }
}

/// Where the keys live: the repository, the key that seals them, and the
/// lifecycle.
#[derive(Clone)]
pub struct KeySource {
    /// The stored keys.
    pub repository: Arc<dyn SigningKeyRepository>,
    /// `KEY_ENCRYPTION_KEY`.
    pub kek: KeyEncryptionKey,
    /// The lifecycle.
    pub schedule: KeySchedule,
}

impl std::fmt::Debug for KeySource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeySource")
            .field("schedule", &self.schedule)
            .finish_non_exhaustive()
    }
}

impl KeySource {
    /// Makes the keys `rotation` calls for, one per algorithm at most:
    /// generated, sealed, inserted. A key another instance inserted first
    /// (same generation) is skipped. The keys added.
    ///
    /// # Errors
    /// Generation or the store failed.
    pub fn rotate(
        &self,
        now: Timestamp,
        rotation: Rotation,
    ) -> Result<Vec<StoredSigningKey>, JoseError> {
        let mut existing = self.repository.signing_keys()?;
        let mut added = Vec::new();
        for alg in JwsAlgorithm::ALL {
            let Some(planned) = signing_key::plan(alg, &existing, now, &self.schedule, rotation)
            else {
                continue;
            };
            let pkcs8 = key::generate(alg)?;
            let kid = SigningKey::from_pkcs8(alg, &pkcs8)?.kid().to_owned();
            let stored = StoredSigningKey {
                sealed_private_key: self.kek.seal(&kid, &pkcs8)?,
                kid,
                alg,
                generation: planned.generation,
                created_at: now,
                signs_from: planned.signs_from,
            };
            match self.repository.insert_signing_key(&stored) {
                Ok(()) => {
                    tracing::info!(kid = %stored.kid, alg = %alg, signs_from = %stored.signs_from.display(), "new signing key");
                    existing.push(stored.clone());
                    added.push(stored);
                }
                // Another instance made this generation first: use its key.
                Err(StoreError::Conflict) => existing = self.repository.signing_keys()?,
                Err(error) => return Err(error.into()),
            }
        }
        Ok(added)
    }

    /// Every stored key with its state at `now` (for `keys list`).
    ///
    /// # Errors
    /// The store failed.
    pub fn statuses(&self, now: Timestamp) -> Result<Vec<KeyStatus>, JoseError> {
        Ok(signing_key::statuses(
            &self.repository.signing_keys()?,
            now,
            &self.schedule,
        ))
    }

    /// The published keys at `now`, opened and parsed (`cache` keeps the
    /// parsed keys across reloads: RSA keys are parsed once).
    fn load(
        &self,
        now: Timestamp,
        cache: &mut HashMap<String, Arc<SigningKey>>,
    ) -> Result<KeySet, JoseError> {
        let stored = self.repository.signing_keys()?;
        let dead = signing_key::deletable(&stored, now, &self.schedule);
        if !dead.is_empty() {
            self.repository.delete_signing_keys(&dead)?;
        }
        let mut entries = Vec::new();
        for status in signing_key::published(&stored, now, &self.schedule) {
            let stored = status.key;
            let key = match cache.get(&stored.kid) {
                Some(key) => key.clone(),
                None => {
                    let pkcs8 = self.kek.open(&stored.kid, &stored.sealed_private_key)?;
                    let key = Arc::new(SigningKey::from_pkcs8(stored.alg, &pkcs8)?);
                    if key.kid() != stored.kid {
                        return Err(JoseError::BadKey);
                    }
                    key
                }
            };
            entries.push(KeyEntry {
                key,
                signs_from: stored.signs_from,
            });
        }
        cache.retain(|kid, _| entries.iter().any(|e| e.key.kid() == kid));
        for entry in &entries {
            cache.insert(entry.key.kid().to_owned(), entry.key.clone());
        }
        Ok(KeySet::new(entries))
    }
}

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
    /// A stored private key does not open under the configured key.
    #[error(
        "the signing keys in the database do not open under this KEY_ENCRYPTION_KEY: they \
         were encrypted under another key (configure the key they were made with)"
    )]
    WrongKeyEncryptionKey,
    /// The key-encryption key is not configured.
    #[error("{0}")]
    Unavailable(String),
    /// The store failed.
    #[error("the signing keys cannot be read or written: {0}")]
    Store(#[from] StoreError),
}

/// A published key and when it starts signing.
#[derive(Debug)]
pub struct KeyEntry {
    /// The key.
    pub key: Arc<SigningKey>,
    /// From when it signs (before that it is only published).
    pub signs_from: Timestamp,
}

/// The JWKS document, serialised once per key set.
#[derive(Debug, Clone)]
pub struct Jwks {
    /// `{"keys":[…]}` (cheap to clone into each response).
    pub body: actix_web::web::Bytes,
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
                body: actix_web::web::Bytes::from(body),
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
            .map(|e| &*e.key)
    }

    /// The published key named `kid` for `alg`.
    #[must_use]
    pub fn published(&self, alg: JwsAlgorithm, kid: &str) -> Option<&SigningKey> {
        self.entries
            .iter()
            .map(|e| &*e.key)
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

/// Where a signer's keys come from.
enum Source {
    /// Made in memory, never reloaded.
    Memory,
    /// The store.
    Store(KeySource),
    /// The store, but its key-encryption key could not be had: signing
    /// fails with this reason.
    Unavailable(String),
}

/// Signs ID tokens with the key set in memory, reloaded from the store
/// every [`RELOAD_SECONDS`] (by its clock) and when a token names an
/// unknown `kid` (at most every [`UNKNOWN_KID_RELOAD_SECONDS`]).
pub struct JoseSigner {
    keys: RwLock<Arc<KeySet>>,
    clock: Arc<dyn Clock>,
    rng: aws_lc_rs::rand::SystemRandom,
    source: Source,
    loaded_at: Mutex<Option<Timestamp>>,
    unknown_kid_reload: Mutex<Option<Timestamp>>,
    parsed: Mutex<HashMap<String, Arc<SigningKey>>>,
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
            loaded_at: Mutex::new(Some(clock.now())),
            clock,
            rng: aws_lc_rs::rand::SystemRandom::new(),
            source: Source::Memory,
            unknown_kid_reload: Mutex::new(None),
            parsed: Mutex::default(),
        }
    }

    /// A signer over the stored keys: makes the first key of each
    /// algorithm (and any rotation that is due), then loads the published
    /// ones.
    ///
    /// # Errors
    /// The store failed, or the stored keys do not open under `source.kek`.
    pub fn from_store(source: KeySource, clock: Arc<dyn Clock>) -> Result<Self, JoseError> {
        let signer = Self::deferred(Ok(source), clock);
        signer.refresh()?;
        Ok(signer)
    }

    /// A signer over the stored keys that loads them when first used (the
    /// admin commands that never sign need no key); over `Err(reason)`, a
    /// signer whose every signature fails with `reason`.
    #[must_use]
    pub fn deferred(source: Result<KeySource, String>, clock: Arc<dyn Clock>) -> Self {
        let mut signer = Self::new(KeySet::new(Vec::new()), clock);
        signer.source = match source {
            Ok(source) => Source::Store(source),
            Err(reason) => Source::Unavailable(reason),
        };
        *signer
            .loaded_at
            .get_mut()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = None;
        signer
    }

    /// Runs the rotation timer and reloads the keys from the store.
    ///
    /// # Errors
    /// The store failed or a key does not open; the keys in memory stay.
    pub fn refresh(&self) -> Result<(), JoseError> {
        let source = match &self.source {
            Source::Memory => return Ok(()),
            Source::Store(source) => source,
            Source::Unavailable(reason) => return Err(JoseError::Unavailable(reason.clone())),
        };
        let now = self.clock.now();
        source.rotate(now, Rotation::WhenDue)?;
        let mut cache = self
            .parsed
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let keys = source.load(now, &mut cache)?;
        self.replace(keys);
        *self
            .loaded_at
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(now);
        Ok(())
    }

    /// Whether the keys in memory are older than [`RELOAD_SECONDS`].
    #[must_use]
    pub fn is_stale(&self) -> bool {
        if !matches!(self.source, Source::Store(_)) {
            return false;
        }
        let loaded_at = *self
            .loaded_at
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        loaded_at.is_none_or(|at| at.seconds_until(self.clock.now()) >= RELOAD_SECONDS)
    }

    /// [`JoseSigner::refresh`] when [`JoseSigner::is_stale`]; a failure is
    /// logged and the keys in memory stay.
    pub fn refresh_if_stale(&self) {
        if self.is_stale() {
            self.refresh_logged();
        }
    }

    fn refresh_logged(&self) {
        if let Err(error) = self.refresh() {
            tracing::warn!(error = %error, "cannot reload the signing keys");
        }
    }

    /// Reloads when `verify_own` met an unknown kid, at most every
    /// [`UNKNOWN_KID_RELOAD_SECONDS`]; whether it did.
    fn reload_for_unknown_kid(&self) -> bool {
        if !matches!(self.source, Source::Store(_)) {
            return false;
        }
        let now = self.clock.now();
        {
            let mut last = self
                .unknown_kid_reload
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            if last.is_some_and(|at| at.seconds_until(now) < UNKNOWN_KID_RELOAD_SECONDS) {
                return false;
            }
            *last = Some(now);
        }
        self.refresh_logged();
        true
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
                    key: Arc::new(SigningKey::from_pkcs8(alg, &key::generate(alg)?)?),
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
        if let Source::Unavailable(reason) = &self.source {
            return Err(JoseError::Unavailable(reason.clone()));
        }
        self.refresh_if_stale();
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
        self.refresh_if_stale();
        let mut keys = self.key_set();
        if keys.published(parsed.alg, &parsed.kid).is_none() && self.reload_for_unknown_kid() {
            keys = self.key_set();
        }
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
