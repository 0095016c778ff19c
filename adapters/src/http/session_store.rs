//! Server-side browser sessions for actix-session, kept in the database.
//!
//! The cookie carries only a random session key (256 bits), encrypted and
//! signed with the session key of the configuration; the database keeps the
//! key's SHA-256 digest and the state. Logging out deletes the row, so every
//! copy of the old cookie stops working at once, on every instance; so does
//! a password change, through the user id the row records. Every request
//! re-reads the row, and a session is refused once older than its absolute
//! lifetime (`SESSION_MAX_AGE`), however active (OWASP ASVS 5.0 §7.3.2).

use std::collections::HashMap;
use std::sync::Arc;

use actix_session::storage::{LoadError, SaveError, SessionKey, SessionStore, UpdateError};
use actix_web::cookie::time::Duration;
use actix_web::web;

use domain::ports::{Clock, SecureRandom};
use domain::secret::SecretDigest;
use domain::time::{Lifetime, Timestamp};

use crate::db::DieselStore;
use crate::system::{OsRandom, SystemClock};

/// The session store.
#[derive(Clone)]
pub struct DbSessionStore {
    store: DieselStore,
    max_age: Lifetime,
    clock: Arc<dyn Clock>,
}

/// The default absolute lifetime of a session: 7 days.
pub const DEFAULT_SESSION_MAX_AGE: u32 = 7 * 24 * 3600;

impl DbSessionStore {
    /// A store over `store`, whose sessions end `max_age` after they start.
    #[must_use]
    pub fn new(store: DieselStore, max_age: Lifetime) -> Self {
        Self {
            store,
            max_age,
            clock: Arc::new(SystemClock),
        }
    }

    /// The same store reading "now" from `clock` (the server's clock, so
    /// that a test can move it past `SESSION_MAX_AGE`).
    #[must_use]
    pub fn with_clock(self, clock: Arc<dyn Clock>) -> Self {
        Self { clock, ..self }
    }

    /// When a session saved now with `ttl` expires.
    fn expiry(&self, ttl: &Duration) -> Timestamp {
        let seconds = u32::try_from(ttl.whole_seconds()).unwrap_or(u32::MAX);
        self.clock
            .now()
            .plus(Lifetime::at_least_one_second(seconds))
    }
}

fn digest(key: &SessionKey) -> SecretDigest {
    SecretDigest::of(key.as_ref())
}

async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, domain::error::StoreError> + Send + 'static,
) -> anyhow::Result<T> {
    // Carry the request span over to the blocking thread (see
    // `http::blocking`).
    let span = tracing::Span::current();
    Ok(web::block(move || span.in_scope(work)).await??)
}

impl SessionStore for DbSessionStore {
    async fn load(
        &self,
        session_key: &SessionKey,
    ) -> Result<Option<HashMap<String, String>>, LoadError> {
        let store = self.store.clone();
        let id = digest(session_key);
        let max_age = self.max_age.seconds();
        let clock = self.clock.clone();
        let state = blocking(move || {
            let now = clock.now();
            // Exact to the microsecond: whole seconds would stretch the
            // lifetime by up to one.
            let started_after = now
                .as_naive_utc()
                .checked_sub_signed(chrono::TimeDelta::seconds(max_age))
                .map_or(now, Timestamp::from_naive_utc);
            store.load_session_started_after(&id, now, started_after)
        })
        .await
        .map_err(LoadError::Other)?;
        state
            .map(|s| serde_json::from_str(&s))
            .transpose()
            .map_err(|e| LoadError::Deserialization(e.into()))
    }

    async fn save(
        &self,
        session_state: HashMap<String, String>,
        ttl: &Duration,
    ) -> Result<SessionKey, SaveError> {
        let state = serde_json::to_string(&session_state)
            .map_err(|e| SaveError::Serialization(e.into()))?;
        let key = (&OsRandom as &dyn SecureRandom).secret();
        let session_key = SessionKey::try_from(key.expose().to_owned())
            .map_err(|e| SaveError::Other(e.into()))?;
        let store = self.store.clone();
        let id = digest(&session_key);
        let expires_at = self.expiry(ttl);
        let now = self.clock.now();
        blocking(move || store.start_session(&id, &state, now, expires_at))
            .await
            .map_err(SaveError::Other)?;
        Ok(session_key)
    }

    async fn update(
        &self,
        session_key: SessionKey,
        session_state: HashMap<String, String>,
        ttl: &Duration,
    ) -> Result<SessionKey, UpdateError> {
        let state = serde_json::to_string(&session_state)
            .map_err(|e| UpdateError::Serialization(e.into()))?;
        let store = self.store.clone();
        let id = digest(&session_key);
        let expires_at = self.expiry(ttl);
        let now = self.clock.now();
        let updated = blocking(move || store.update_session(&id, Some(&state), expires_at, now))
            .await
            .map_err(UpdateError::Other)?;
        if updated {
            Ok(session_key)
        } else {
            // The session ended meanwhile (a logout, possibly elsewhere, while
            // this request was in flight): never bring it back. What this
            // request changed is kept in a new, anonymous session: without
            // the user, so a copied cookie cannot revive a logged-out login.
            let mut anonymous = session_state;
            anonymous.remove(crate::http::typed_session::USER_KEY);
            self.save(anonymous, ttl).await.map_err(|e| match e {
                SaveError::Serialization(e) => UpdateError::Serialization(e),
                SaveError::Other(e) => UpdateError::Other(e),
            })
        }
    }

    async fn update_ttl(&self, session_key: &SessionKey, ttl: &Duration) -> anyhow::Result<()> {
        let store = self.store.clone();
        let id = digest(session_key);
        let expires_at = self.expiry(ttl);
        let now = self.clock.now();
        blocking(move || store.update_session(&id, None, expires_at, now)).await?;
        Ok(())
    }

    async fn delete(&self, session_key: &SessionKey) -> anyhow::Result<()> {
        let store = self.store.clone();
        let id = digest(session_key);
        blocking(move || store.delete_session(&id)).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store() -> (tempfile::TempDir, DbSessionStore) {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("s.db").display());
        (
            dir,
            DbSessionStore::new(
                DieselStore::connect(&url, 2).unwrap(),
                Lifetime::at_least_one_second(DEFAULT_SESSION_MAX_AGE),
            ),
        )
    }

    #[actix_web::test]
    async fn an_update_after_the_session_ended_never_revives_the_login() {
        let (_dir, sessions) = store();
        let ttl = Duration::hours(1);
        let mut state = HashMap::new();
        state.insert(
            crate::http::typed_session::USER_KEY.to_owned(),
            "\"some-user\"".to_owned(),
        );
        state.insert("flash".to_owned(), "\"hi\"".to_owned());
        let key = sessions.save(state.clone(), &ttl).await.unwrap();
        let copy = SessionKey::try_from(key.as_ref().to_owned()).unwrap();

        // Logged out (deleted) while another request still holds the state.
        sessions.delete(&key).await.unwrap();
        let new_key = sessions.update(copy, state, &ttl).await.unwrap();

        let revived = sessions.load(&new_key).await.unwrap().unwrap();
        assert!(!revived.contains_key(crate::http::typed_session::USER_KEY));
        assert_eq!(revived.get("flash").map(String::as_str), Some("\"hi\""));
    }

    #[actix_web::test]
    async fn a_live_session_is_updated_in_place() {
        let (_dir, sessions) = store();
        let ttl = Duration::hours(1);
        let key = sessions.save(HashMap::new(), &ttl).await.unwrap();
        let same = SessionKey::try_from(key.as_ref().to_owned()).unwrap();
        let mut state = HashMap::new();
        state.insert("a".to_owned(), "1".to_owned());

        let updated = sessions.update(same, state, &ttl).await.unwrap();

        assert_eq!(updated.as_ref(), key.as_ref());
        assert_eq!(sessions.load(&key).await.unwrap().unwrap()["a"], "1");
    }
}
