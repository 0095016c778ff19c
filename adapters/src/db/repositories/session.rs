//! Browser session records: state by session-id digest, with an expiry,
//! the logged-in user (so that a password change ends the user's sessions)
//! and the start (for the absolute lifetime).

use std::collections::HashMap;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use domain::error::StoreError;
use domain::ids::UserId;
use domain::ports::{Clock, SessionRepository};
use domain::secret::SecretDigest;
use domain::time::Timestamp;

use crate::db::schema::sessions;
use crate::db::DieselStore;
use crate::system::SystemClock;

/// The user a session state is logged in as: the JSON-encoded id under
/// [`crate::http::typed_session::USER_KEY`] (actix-session keeps values as JSON).
fn session_user(state: &str) -> Option<String> {
    let map: HashMap<String, String> = serde_json::from_str(state).ok()?;
    let raw = map.get(crate::http::typed_session::USER_KEY)?;
    serde_json::from_str::<String>(raw).ok()
}

impl DieselStore {
    /// The state of a live session, `None` when unknown or expired.
    ///
    /// # Errors
    /// Store failures only.
    pub fn load_session(
        &self,
        id: &SecretDigest,
        now: Timestamp,
    ) -> Result<Option<String>, StoreError> {
        self.with_conn(|conn| {
            sessions::table
                .find(id.as_hex())
                .filter(sessions::expires_at.gt(now.as_naive_utc()))
                .select(sessions::state)
                .get_result::<String>(conn)
                .optional()
        })
    }

    /// The state of a live session that started after `started_after` (the
    /// absolute lifetime), `None` when unknown, expired or too old.
    ///
    /// # Errors
    /// Store failures only.
    pub fn load_session_started_after(
        &self,
        id: &SecretDigest,
        now: Timestamp,
        started_after: Timestamp,
    ) -> Result<Option<String>, StoreError> {
        self.with_conn(|conn| {
            sessions::table
                .find(id.as_hex())
                .filter(sessions::expires_at.gt(now.as_naive_utc()))
                .filter(sessions::created_at.gt(started_after.as_naive_utc()))
                .select(sessions::state)
                .get_result::<String>(conn)
                .optional()
        })
    }

    /// Stores a new session, started now.
    ///
    /// # Errors
    /// `Conflict` when the id exists.
    pub fn insert_session(
        &self,
        id: &SecretDigest,
        state: &str,
        expires_at: Timestamp,
    ) -> Result<(), StoreError> {
        self.start_session(id, state, SystemClock.now(), expires_at)
    }

    /// Stores a new session started at `started_at`, recording the user its
    /// state is logged in as.
    ///
    /// # Errors
    /// `Conflict` when the id exists.
    pub fn start_session(
        &self,
        id: &SecretDigest,
        state: &str,
        started_at: Timestamp,
        expires_at: Timestamp,
    ) -> Result<(), StoreError> {
        let (id, state) = (id.as_hex().to_owned(), state.to_owned());
        let user = session_user(&state);
        self.write_tx(move |conn| {
            diesel::insert_into(sessions::table)
                .values((
                    sessions::id.eq(id),
                    sessions::state.eq(state),
                    sessions::expires_at.eq(expires_at.as_naive_utc()),
                    sessions::user_id.eq(user),
                    sessions::created_at.eq(started_at.as_naive_utc()),
                ))
                .execute(conn)
        })?;
        Ok(())
    }

    /// Replaces the state and expiry of a live session; false when it is
    /// gone (deleted by a logout, or expired).
    ///
    /// # Errors
    /// Store failures only.
    pub fn update_session(
        &self,
        id: &SecretDigest,
        state: Option<&str>,
        expires_at: Timestamp,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        let live = sessions::table
            .find(id.as_hex().to_owned())
            .filter(sessions::expires_at.gt(now.as_naive_utc()));
        let expiry: NaiveDateTime = expires_at.as_naive_utc();
        let state = state.map(str::to_owned);
        let updated = self.write_tx(move |conn| match state {
            Some(state) => diesel::update(live)
                .set((
                    sessions::user_id.eq(session_user(&state)),
                    sessions::state.eq(state),
                    sessions::expires_at.eq(expiry),
                ))
                .execute(conn),
            None => diesel::update(live)
                .set(sessions::expires_at.eq(expiry))
                .execute(conn),
        })?;
        Ok(updated > 0)
    }

    /// Deletes a session.
    ///
    /// # Errors
    /// Store failures only.
    pub fn delete_session(&self, id: &SecretDigest) -> Result<(), StoreError> {
        let id = id.as_hex().to_owned();
        self.write_tx(move |conn| diesel::delete(sessions::table.find(id)).execute(conn))?;
        Ok(())
    }
}

impl SessionRepository for DieselStore {
    fn end_sessions_of(&self, user: &UserId) -> Result<usize, StoreError> {
        let user = user.to_string();
        self.write_tx(move |conn| {
            diesel::delete(sessions::table.filter(sessions::user_id.eq(user))).execute(conn)
        })
    }
}
