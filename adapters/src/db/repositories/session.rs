//! Browser session records: state by session-id digest, with an expiry.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use domain::error::StoreError;
use domain::secret::SecretDigest;
use domain::time::Timestamp;

use crate::db::schema::sessions;
use crate::db::DieselStore;

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

    /// Stores a new session.
    ///
    /// # Errors
    /// `Conflict` when the id exists.
    pub fn insert_session(
        &self,
        id: &SecretDigest,
        state: &str,
        expires_at: Timestamp,
    ) -> Result<(), StoreError> {
        let (id, state) = (id.as_hex().to_owned(), state.to_owned());
        self.write_tx(move |conn| {
            diesel::insert_into(sessions::table)
                .values((
                    sessions::id.eq(id),
                    sessions::state.eq(state),
                    sessions::expires_at.eq(expires_at.as_naive_utc()),
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
                .set((sessions::state.eq(state), sessions::expires_at.eq(expiry)))
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
