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
        // One statement of a fixed shape per number of keys (one to three):
        // Diesel caches the prepared statement of each shape, while
        // `key IN (…)` with a list is prepared anew every time.
        use failed_attempts::key as k;
        let since = since.as_naive_utc();
        let found: Vec<(String, i64, Option<chrono::NaiveDateTime>)> = self.with_conn(|conn| {
            let recent = failed_attempts::table
                .filter(failed_attempts::at.gt(since))
                .group_by(k)
                .select((k, count_star(), min(failed_attempts::at)));
            match keys {
                [a] => recent.filter(k.eq(*a)).load(conn),
                [a, b] => recent.filter(k.eq(*a).or(k.eq(*b))).load(conn),
                [a, b, c] => recent.filter(k.eq(*a).or(k.eq(*b)).or(k.eq(*c))).load(conn),
                _ => recent.filter(k.eq_any(keys)).load(conn),
            }
        })?;
        Ok(keys
            .iter()
            .map(|key| {
                found.iter().find(|(found, _, _)| found == key).map_or(
                    (0, None),
                    |(_, count, oldest)| {
                        (
                            u32::try_from(*count).unwrap_or(u32::MAX),
                            oldest.map(Timestamp::from_naive_utc),
                        )
                    },
                )
            })
            .collect())
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
