//! The migrations of both backends, embedded in the binary.

use diesel::connection::SimpleConnection;
use diesel::migration::MigrationVersion;
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};

use super::connection::{AnyConnection, ConnectError};

/// The SQLite migrations (`migrations/sqlite`).
pub const SQLITE: EmbeddedMigrations = embed_migrations!("../migrations/sqlite");

/// The PostgreSQL migrations (`migrations/postgres`).
pub const POSTGRES: EmbeddedMigrations = embed_migrations!("../migrations/postgres");

/// The key of the session-level advisory lock held while PostgreSQL
/// migrations run, so that instances starting together apply each migration
/// exactly once. Any fixed value works as long as every instance agrees.
pub const MIGRATION_LOCK_KEY: i64 = 8_029_185_736_402_105_447;

const LOCK: &str = "SELECT pg_advisory_lock(8029185736402105447)";
const UNLOCK: &str = "SELECT pg_advisory_unlock(8029185736402105447)";

/// Applies every pending migration of the connection's backend; returns the
/// versions applied (empty when the schema was up to date).
///
/// # Errors
/// [`ConnectError::Migration`] with the failing migration's message.
pub fn run_migrations(conn: &mut AnyConnection) -> Result<Vec<String>, ConnectError> {
    match conn {
        AnyConnection::Sqlite(_) => apply(conn, SQLITE),
        AnyConnection::Postgresql(_) => {
            conn.batch_execute(LOCK)
                .map_err(|e| ConnectError::Migration(e.to_string()))?;
            let applied = apply(conn, POSTGRES);
            let unlocked = conn
                .batch_execute(UNLOCK)
                .map_err(|e| ConnectError::Migration(e.to_string()));
            let applied = applied?;
            unlocked?;
            Ok(applied)
        }
    }
}

fn apply(
    conn: &mut AnyConnection,
    migrations: EmbeddedMigrations,
) -> Result<Vec<String>, ConnectError> {
    let applied: Vec<MigrationVersion<'_>> = conn
        .run_pending_migrations(migrations)
        .map_err(|e| ConnectError::Migration(e.to_string()))?;
    Ok(applied.iter().map(ToString::to_string).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lock_statements_use_the_lock_key() {
        let key = MIGRATION_LOCK_KEY.to_string();

        assert!(LOCK.contains(&key) && UNLOCK.contains(&key));
    }
}
