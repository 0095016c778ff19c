//! Bounded storage: what is dead is deleted, a small batch at a time.
//!
//! - authorization codes a day after they expired (a used code is kept that
//!   long so that a replay still revokes what it issued);
//! - tokens once expired, and a day after they were revoked (a rotated
//!   refresh token lives until its family's absolute expiry, so reuse
//!   detection keeps working while the family could be alive);
//! - sessions once expired;
//! - failed attempts a day old (the brute-force window is shorter).
//!
//! Each batch is one short transaction that picks at most [`PURGE_BATCH`]
//! dead rows and deletes them by key, so several instances may run this at
//! once: a row another instance deleted first is simply not deleted twice.

use diesel::prelude::*;
use domain::error::StoreError;
use domain::time::{Lifetime, Timestamp};

use crate::db::schema::{
    failed_attempts, oauth2_authorization_codes as codes, oauth2_tokens as tokens, sessions,
};
use crate::db::DieselStore;

/// How long dead codes and revoked tokens are kept: a day.
const KEEP_DEAD: Lifetime = Lifetime::at_least_one_second(24 * 3600);

/// Rows deleted per statement.
pub const PURGE_BATCH: i64 = 500;

/// How many rows of each kind one [`DieselStore::purge_dead_rows`] removed.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Purged {
    /// Authorization codes.
    pub codes: usize,
    /// Access and refresh tokens.
    pub tokens: usize,
    /// Browser sessions.
    pub sessions: usize,
    /// Failed-attempt records.
    pub attempts: usize,
}

impl Purged {
    /// Rows removed in all.
    #[must_use]
    pub fn total(self) -> usize {
        self.codes + self.tokens + self.sessions + self.attempts
    }

    /// Whether some kind filled a whole batch (so there may be more).
    #[must_use]
    pub fn any_full_batch(self) -> bool {
        let full = usize::try_from(PURGE_BATCH).unwrap_or(usize::MAX);
        [self.codes, self.tokens, self.sessions, self.attempts]
            .iter()
            .any(|n| *n >= full)
    }
}

/// Deletes at most [`PURGE_BATCH`] rows of `$table` that match `$dead`,
/// found by their `$key` first: `DELETE ... LIMIT` is not portable
/// (PostgreSQL has no such form).
macro_rules! delete_batch {
    ($conn:expr, $table:ident, $key:ident, $dead:expr) => {{
        let dead: Vec<String> = $table::table
            .select($table::$key)
            .filter($dead)
            .limit(PURGE_BATCH)
            .load($conn)?;
        diesel::delete($table::table.filter($table::$key.eq_any(dead))).execute($conn)
    }};
}

impl DieselStore {
    /// Deletes one batch (at most [`PURGE_BATCH`] rows) of each kind of dead
    /// row, as of `now`. Call again while it returns full batches.
    ///
    /// # Errors
    /// Store failures only.
    pub fn purge_dead_rows(&self, now: Timestamp) -> Result<Purged, StoreError> {
        let now_naive = now.as_naive_utc();
        let kept_since = Timestamp::from_unix_seconds(now.unix_seconds() - KEEP_DEAD.seconds())
            .unwrap_or(now)
            .as_naive_utc();
        let codes = self.write_tx(move |conn| {
            delete_batch!(conn, codes, digest, codes::expires_at.lt(kept_since))
        })?;
        let tokens = self.write_tx(move |conn| {
            let dead = tokens::expires_at
                .lt(now_naive)
                .or(tokens::revoked_at.lt(kept_since));
            delete_batch!(conn, tokens, id, dead)
        })?;
        let sessions = self.write_tx(move |conn| {
            delete_batch!(conn, sessions, id, sessions::expires_at.lt(now_naive))
        })?;
        // Failed attempts a day old are outside any limit's window.
        let attempts = self.write_tx(move |conn| {
            let oldest: Vec<chrono::NaiveDateTime> = failed_attempts::table
                .select(failed_attempts::at)
                .filter(failed_attempts::at.lt(kept_since))
                .order(failed_attempts::at.asc())
                .limit(PURGE_BATCH)
                .load(conn)?;
            match oldest.last() {
                Some(cutoff) => {
                    diesel::delete(failed_attempts::table.filter(failed_attempts::at.le(*cutoff)))
                        .execute(conn)
                }
                None => Ok(0),
            }
        })?;
        Ok(Purged {
            codes,
            tokens,
            sessions,
            attempts,
        })
    }

    /// Counts the rows of the tables that grow (for tests and metrics):
    /// codes, tokens, sessions, failed attempts.
    ///
    /// # Errors
    /// Store failures only.
    pub fn row_counts(&self) -> Result<Purged, StoreError> {
        self.with_conn(|conn| {
            let codes: i64 = codes::table.count().get_result(conn)?;
            let tokens: i64 = tokens::table.count().get_result(conn)?;
            let sessions: i64 = sessions::table.count().get_result(conn)?;
            let size = |n: i64| usize::try_from(n).unwrap_or(usize::MAX);
            let attempts: i64 = failed_attempts::table.count().get_result(conn)?;
            Ok(Purged {
                codes: size(codes),
                tokens: size(tokens),
                sessions: size(sessions),
                attempts: size(attempts),
            })
        })
    }
}
