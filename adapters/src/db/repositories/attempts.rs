//! Failed attempts for the brute-force limits. Keys are digests made by the
//! domain, so they are short whatever the name that was tried.

use diesel::dsl::{count_star, min};
use diesel::prelude::*;
use domain::error::StoreError;
use domain::ports::AttemptRepository;
use domain::time::Timestamp;

use crate::db::schema::failed_attempts;
use crate::db::DieselStore;

impl AttemptRepository for DieselStore {
    fn record_failure(&self, keys: &[&str], now: Timestamp) -> Result<(), StoreError> {
        let at = now.as_naive_utc();
        let keys: Vec<String> = keys.iter().map(|key| (*key).to_owned()).collect();
        self.write_tx(move |conn| {
            for key in keys {
                diesel::insert_into(failed_attempts::table)
                    .values((failed_attempts::key.eq(key), failed_attempts::at.eq(at)))
                    .execute(conn)?;
            }
            Ok(())
        })
    }

    fn failures_since(
        &self,
        keys: &[&str],
        since: Timestamp,
    ) -> Result<Vec<(u32, Option<Timestamp>)>, StoreError> {
        // One query per key (two or three): `key IN (…)` with a varying
        // list is prepared anew each time, a fixed `key = ?` is cached.
        self.with_conn(|conn| {
            keys.iter()
                .map(|key| {
                    let (count, oldest): (i64, Option<chrono::NaiveDateTime>) =
                        failed_attempts::table
                            .filter(failed_attempts::key.eq(*key))
                            .filter(failed_attempts::at.gt(since.as_naive_utc()))
                            .select((count_star(), min(failed_attempts::at)))
                            .get_result(conn)?;
                    Ok((
                        u32::try_from(count).unwrap_or(u32::MAX),
                        oldest.map(Timestamp::from_naive_utc),
                    ))
                })
                .collect()
        })
    }

    fn clear_failures(&self, keys: &[&str]) -> Result<(), StoreError> {
        let keys: Vec<String> = keys.iter().map(|key| (*key).to_owned()).collect();
        self.write_tx(move |conn| {
            diesel::delete(failed_attempts::table.filter(failed_attempts::key.eq_any(keys)))
                .execute(conn)
        })?;
        Ok(())
    }
}
