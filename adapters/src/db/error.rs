//! Diesel and pool errors mapped to the ports' [`StoreError`].
//!
//! The driver's message stays in the error's source chain (for logs);
//! `StoreError`'s own `Display` is generic, so nothing of it reaches users.

use diesel::result::{DatabaseErrorKind, Error as DieselError};
use domain::error::StoreError;

/// A stored value that does not make a valid domain record.
#[derive(Debug, thiserror::Error)]
#[error("stored {column} is invalid")]
pub struct BadRow {
    /// The table and column holding the bad value.
    pub column: &'static str,
}

impl From<BadRow> for DieselError {
    fn from(error: BadRow) -> Self {
        DieselError::DeserializationError(Box::new(error))
    }
}

/// Maps a Diesel error: unique violation → `Conflict`; foreign-key
/// violation → `Gone`; lost connection,
/// SQLite busy/locked or a PostgreSQL serialization failure → `Unavailable`
/// (worth retrying later); anything else → `Other`.
#[must_use]
pub fn store_error(error: DieselError) -> StoreError {
    match &error {
        DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, _) => StoreError::Conflict,
        // SQLite's SQLITE_CONSTRAINT_FOREIGNKEY, PostgreSQL's SQLSTATE 23503:
        // the user or client a row refers to was deleted meanwhile.
        DieselError::DatabaseError(DatabaseErrorKind::ForeignKeyViolation, _) => StoreError::Gone,
        DieselError::DatabaseError(_, info)
            if info.message().contains("FOREIGN KEY constraint failed") =>
        {
            StoreError::Gone
        }
        DieselError::DatabaseError(
            DatabaseErrorKind::ClosedConnection | DatabaseErrorKind::SerializationFailure,
            _,
        )
        | DieselError::BrokenTransactionManager => StoreError::Unavailable(Box::new(error)),
        DieselError::DatabaseError(_, info) if is_busy(info.message()) => {
            StoreError::Unavailable(Box::new(error))
        }
        _ => {
            // The cause of a 500 must be findable; driver messages name
            // tables and constraints, never a secret (only digests are stored).
            tracing::error!(error = %error, "database error");
            StoreError::Other(Box::new(error))
        }
    }
}

/// A pool that gave no connection in time: the database is down or saturated.
#[must_use]
pub fn pool_error(error: r2d2::Error) -> StoreError {
    tracing::warn!(error = %error, "no database connection");
    StoreError::Unavailable(Box::new(error))
}

// SQLITE_BUSY and SQLITE_LOCKED, as diesel reports them (it keeps only the
// message, with the kind `Unknown`).
fn is_busy(message: &str) -> bool {
    message.contains("database is locked")
        || message.contains("database table is locked")
        || message.contains("database is busy")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An error as the driver reports it: a kind and its message.
    fn database_error(kind: DatabaseErrorKind, message: &str) -> DieselError {
        DieselError::DatabaseError(kind, Box::new(message.to_owned()))
    }

    #[test]
    fn unique_violation_is_a_conflict() {
        let error = database_error(
            DatabaseErrorKind::UniqueViolation,
            "UNIQUE constraint failed: users.username",
        );

        assert!(matches!(store_error(error), StoreError::Conflict));
    }

    #[test]
    fn busy_sqlite_is_unavailable_and_hides_the_driver_message() {
        let error = database_error(DatabaseErrorKind::Unknown, "database is locked");

        let mapped = store_error(error);

        assert!(matches!(mapped, StoreError::Unavailable(_)));
        assert!(!mapped.to_string().contains("locked"));
    }

    #[test]
    fn foreign_key_violations_are_gone() {
        for error in [
            database_error(
                DatabaseErrorKind::ForeignKeyViolation,
                "FOREIGN KEY constraint failed",
            ),
            database_error(DatabaseErrorKind::Unknown, "FOREIGN KEY constraint failed"),
        ] {
            assert!(matches!(store_error(error), StoreError::Gone));
        }
    }

    #[test]
    fn closed_connection_is_unavailable() {
        let error = database_error(
            DatabaseErrorKind::ClosedConnection,
            "server closed the connection",
        );

        assert!(matches!(store_error(error), StoreError::Unavailable(_)));
    }

    #[test]
    fn bad_rows_are_other_errors() {
        let error: DieselError = BadRow { column: "users.id" }.into();

        assert!(matches!(store_error(error), StoreError::Other(_)));
    }
}
