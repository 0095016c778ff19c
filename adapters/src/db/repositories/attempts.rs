//! Attempts for the brute-force limits. Keys are digests made by the
//! domain, so they are short whatever the name that was tried.
//!
//! A reservation counts and inserts in one write transaction. On SQLite
//! writes are serialized (`BEGIN IMMEDIATE`, and this process's writers run
//! one after another on the group-commit thread). On PostgreSQL the
//! transaction first takes a transaction-scoped advisory lock per key, in
//! ascending order (no deadlock), so that reservations sharing a key run one
//! at a time on every instance, and each one's count (a new snapshot per
//! statement under read committed) sees the rows of those before it.

use diesel::dsl::count_star;
use diesel::prelude::*;
use diesel::sql_types::Integer;
use domain::error::StoreError;
use domain::ports::{AttemptRepository, KeyLimit, Reserve};
use domain::time::Timestamp;
use sha2::{Digest, Sha256};

use crate::db::schema::failed_attempts;
use crate::db::{AnyConnection, DieselStore};

/// The first key of the advisory locks of attempts (the two-key form, a
/// space apart from the one-key migration lock).
const ATTEMPT_LOCK_CLASS: i32 = 0x7468_726f;

/// The second key of `key`'s advisory lock. Two keys sharing one only wait
/// for each other.
fn lock_id(key: &str) -> i32 {
    let digest = Sha256::digest(key.as_bytes());
    let mut first = [0u8; 4];
    first.copy_from_slice(digest.get(..4).unwrap_or(&[0; 4]));
    i32::from_be_bytes(first)
}

/// Takes the advisory lock of each key on PostgreSQL (held until the
/// transaction ends); nothing on SQLite, whose writes are serialized.
fn lock_keys(conn: &mut AnyConnection, keys: &[String]) -> QueryResult<()> {
    let AnyConnection::Postgresql(pg) = conn else {
        return Ok(());
    };
    let mut ids: Vec<i32> = keys.iter().map(|k| lock_id(k)).collect();
    ids.sort_unstable();
    ids.dedup();
    for id in ids {
        diesel::sql_query("SELECT pg_advisory_xact_lock($1, $2)")
            .bind::<Integer, _>(ATTEMPT_LOCK_CLASS)
            .bind::<Integer, _>(id)
            .execute(pg)?;
    }
    Ok(())
}

/// How many rows each of `keys` has after `since`, in order.
fn counts_since(
    conn: &mut AnyConnection,
    keys: &[String],
    since: chrono::NaiveDateTime,
) -> QueryResult<Vec<i64>> {
    // One statement of a fixed shape per number of keys (one to three):
    // Diesel caches the prepared statement of each shape, while
    // `key IN (…)` with a list is prepared anew every time.
    use failed_attempts::key as k;
    let recent = failed_attempts::table
        .filter(failed_attempts::at.gt(since))
        .group_by(k)
        .select((k, count_star()));
    let found: Vec<(String, i64)> = match keys {
        [a] => recent.filter(k.eq(a)).load(conn)?,
        [a, b] => recent.filter(k.eq(a).or(k.eq(b))).load(conn)?,
        [a, b, c] => recent.filter(k.eq(a).or(k.eq(b)).or(k.eq(c))).load(conn)?,
        _ => recent.filter(k.eq_any(keys)).load(conn)?,
    };
    Ok(keys
        .iter()
        .map(|key| {
            found
                .iter()
                .find(|(found, _)| found == key)
                .map_or(0, |(_, n)| *n)
        })
        .collect())
}

impl AttemptRepository for DieselStore {
    fn reserve(
        &self,
        reservation: &str,
        limits: &[KeyLimit<'_>],
        since: Timestamp,
        now: Timestamp,
    ) -> Result<Reserve, StoreError> {
        let since = since.as_naive_utc();
        let at = now.as_naive_utc();
        let reservation = reservation.to_owned();
        let keys: Vec<String> = limits.iter().map(|l| l.key.to_owned()).collect();
        let caps: Vec<i64> = limits.iter().map(|l| i64::from(l.limit)).collect();
        self.write_tx(move |conn| {
            lock_keys(conn, &keys)?;
            let counts = counts_since(conn, &keys, since)?;
            let mut frees_at: Option<chrono::NaiveDateTime> = None;
            for ((key, cap), count) in keys.iter().zip(&caps).zip(counts) {
                if count < *cap {
                    continue;
                }
                // The key is under its limit again once the rows up to the
                // (count - limit + 1)-th oldest have left the window.
                let row: Option<chrono::NaiveDateTime> = failed_attempts::table
                    .select(failed_attempts::at)
                    .filter(failed_attempts::key.eq(key))
                    .filter(failed_attempts::at.gt(since))
                    .order(failed_attempts::at.asc())
                    .offset(count - cap)
                    .first(conn)
                    .optional()?;
                let row = row.unwrap_or(at);
                frees_at = Some(frees_at.map_or(row, |f| f.max(row)));
            }
            if let Some(frees_at) = frees_at {
                return Ok(Reserve::Refused {
                    frees_at: Timestamp::from_naive_utc(frees_at),
                });
            }
            for key in keys {
                diesel::insert_into(failed_attempts::table)
                    .values((
                        failed_attempts::key.eq(key),
                        failed_attempts::at.eq(at),
                        failed_attempts::reservation.eq(&reservation),
                    ))
                    .execute(conn)?;
            }
            Ok(Reserve::Reserved)
        })
    }

    fn release(&self, reservation: &str, keys: &[&str], clear: &[&str]) -> Result<(), StoreError> {
        let reservation = reservation.to_owned();
        let keys: Vec<String> = keys.iter().map(|key| (*key).to_owned()).collect();
        let clear: Vec<String> = clear.iter().map(|key| (*key).to_owned()).collect();
        self.write_tx(move |conn| {
            // By key first, so that the (key, at) index finds the rows.
            diesel::delete(
                failed_attempts::table
                    .filter(failed_attempts::key.eq_any(&keys))
                    .filter(failed_attempts::reservation.eq(&reservation)),
            )
            .execute(conn)?;
            if !clear.is_empty() {
                diesel::delete(failed_attempts::table.filter(failed_attempts::key.eq_any(&clear)))
                    .execute(conn)?;
            }
            Ok(())
        })
    }
}
