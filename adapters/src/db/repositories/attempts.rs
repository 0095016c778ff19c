//! Failed attempts for the brute-force limits.

use diesel::prelude::*;
use domain::error::StoreError;
use domain::ports::AttemptRepository;
use domain::time::Timestamp;

use crate::db::schema::failed_attempts;
use crate::db::DieselStore;

impl AttemptRepository for DieselStore {
    fn record_failure(&self, key: &str, now: Timestamp) -> Result<(), StoreError> {
        self.write_tx(|conn| {
            diesel::insert_into(failed_attempts::table)
                .values((
                    failed_attempts::key.eq(key),
                    failed_attempts::at.eq(now.as_naive_utc()),
                ))
                .execute(conn)
        })?;
        Ok(())
    }

    fn failures_since(
        &self,
        key: &str,
        since: Timestamp,
        limit: u32,
    ) -> Result<(u32, Option<Timestamp>), StoreError> {
        let times: Vec<chrono::NaiveDateTime> = self.with_conn(|conn| {
            failed_attempts::table
                .select(failed_attempts::at)
                .filter(failed_attempts::key.eq(key))
                .filter(failed_attempts::at.gt(since.as_naive_utc()))
                .order(failed_attempts::at.asc())
                .limit(i64::from(limit))
                .load(conn)
        })?;
        let count = u32::try_from(times.len()).unwrap_or(u32::MAX);
        Ok((count, times.first().copied().map(Timestamp::from_naive_utc)))
    }

    fn clear_failures(&self, key: &str) -> Result<(), StoreError> {
        self.write_tx(|conn| {
            diesel::delete(failed_attempts::table.filter(failed_attempts::key.eq(key)))
                .execute(conn)
        })?;
        Ok(())
    }
}
