//! The repository ports implemented for [`super::DieselStore`], one file per port.

mod attempts;
mod client;
mod code;
mod housekeeping;
pub use housekeeping::{Purged, PURGE_BATCH};
mod session;
mod token;
mod user;

use diesel::result::QueryResult;

use super::error::BadRow;

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
