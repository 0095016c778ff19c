//! The repository ports implemented for [`super::DieselStore`], one file per port.

mod attempts;
mod client;
mod code;
mod consent;
mod housekeeping;
pub use housekeeping::{Purged, PURGE_BATCH};
mod session;
mod signing_key;
mod token;
mod user;

use diesel::result::QueryResult;

use super::error::BadRow;
use super::AnyConnection;

/// Serializes the quota checks of one user within the current write
/// transaction. SQLite needs nothing: its write transactions already run
/// one at a time (`BEGIN IMMEDIATE`, one writer thread). PostgreSQL runs
/// them concurrently under read committed, where two counts could both see
/// room; locking the user's row makes the second wait for the first's
/// commit. `FOR NO KEY UPDATE` does not block the `FOR KEY SHARE` locks
/// that inserts referencing the user take, so other writes go on.
fn lock_user_row(conn: &mut AnyConnection, user_id: &str) -> QueryResult<()> {
    use crate::db::schema::users;
    use diesel::prelude::*;
    if let AnyConnection::Postgresql(pg) = conn {
        users::table
            .find(user_id)
            .select(users::id)
            .for_no_key_update()
            .load::<String>(pg)?;
    }
    Ok(())
}

/// Converts rows read from the database, failing on the first bad one.
fn convert<R, T>(rows: Vec<R>) -> QueryResult<Vec<T>>
where
    T: TryFrom<R, Error = BadRow>,
{
    rows.into_iter()
        .map(|row| T::try_from(row).map_err(Into::into))
        .collect()
}

/// Converts an optional row.
fn convert_one<R, T>(row: Option<R>) -> QueryResult<Option<T>>
where
    T: TryFrom<R, Error = BadRow>,
{
    row.map(|row| T::try_from(row).map_err(Into::into))
        .transpose()
}
