//! A database of its own for each test (see the `test-support` crate),
//! migrated before the server starts: on PostgreSQL a copy of a template
//! migrated once, so that the server's own migration at start is a no-op.

use adapters::db::{ConnectError, DieselStore};

pub use test_support::Backend;

/// A database that lives as long as the test.
pub struct TestDatabase(test_support::TestDatabase);

impl TestDatabase {
    /// Creates the database.
    pub fn create(backend: Backend) -> Self {
        Self(test_support::TestDatabase::migrated(backend, migrate))
    }

    /// The URL the server uses.
    pub fn url(&self) -> &str {
        self.0.url()
    }
}

/// The server's migration step, as it runs at start.
fn migrate(url: &str) -> Result<(), ConnectError> {
    DieselStore::connect(url, 1).map(drop)
}
