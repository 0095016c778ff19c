//! The persistence adapter: every repository port over Diesel, on SQLite or
//! PostgreSQL through one pooled [`AnyConnection`].
//!
//! All calls block; the HTTP adapter runs them in `web::block`.

pub mod connection;
pub mod error;
mod group_commit;
pub mod migrations;
pub mod repositories;
pub mod rows;
pub mod schema;

use std::sync::{Arc, OnceLock};

use diesel::connection::{AnsiTransactionManager, SimpleConnection, TransactionManager};
use diesel::result::QueryResult;
use diesel::Connection;
use domain::error::StoreError;

pub use self::connection::{
    build_pool, AnyConnection, AnyManager, Backend, ConnectError, Pool, PooledConnection,
};
use self::error::{pool_error, store_error};
use self::group_commit::GroupCommit;
pub use self::repositories::{Purged, PURGE_BATCH};

/// Every repository port, implemented over a connection pool.
#[derive(Clone, Debug)]
pub struct DieselStore {
    pool: Pool,
    /// This process's SQLite write transactions, committed in groups by one
    /// thread (see [`DieselStore::write_tx`]).
    sqlite_writer: Arc<GroupCommit>,
    /// Whether the pool's database is SQLite, once known.
    sqlite: Arc<OnceLock<bool>>,
}

impl DieselStore {
    /// Connects to `url` with a pool of at most `pool_size` connections and
    /// applies the pending migrations of its backend.
    ///
    /// # Errors
    /// A bad URL, an unreachable database, or a failed migration.
    pub fn connect(url: &str, pool_size: u32) -> Result<Self, ConnectError> {
        let store = Self::open(url, pool_size)?;
        store.migrate()?;
        Ok(store)
    }

    /// Connects to `url` with a pool of at most `pool_size` connections,
    /// without migrating (see [`DieselStore::migrate`]).
    ///
    /// # Errors
    /// A bad URL or an unreachable database.
    pub fn open(url: &str, pool_size: u32) -> Result<Self, ConnectError> {
        Ok(Self::from_pool(build_pool(url, pool_size)?))
    }

    /// A store over an existing pool; does not migrate.
    #[must_use]
    pub fn from_pool(pool: Pool) -> Self {
        Self {
            pool,
            sqlite_writer: Arc::default(),
            sqlite: Arc::default(),
        }
    }

    /// Applies the pending migrations; returns the versions applied.
    ///
    /// # Errors
    /// No connection, or a failed migration.
    pub fn migrate(&self) -> Result<Vec<String>, ConnectError> {
        let mut conn = self.pool.get()?;
        migrations::run_migrations(&mut conn)
    }

    /// The versions of the migrations not yet applied (empty when the
    /// schema is up to date). Never changes the schema beyond creating
    /// Diesel's bookkeeping table.
    ///
    /// # Errors
    /// No connection, or the migration table cannot be read.
    pub fn pending_migrations(&self) -> Result<Vec<String>, ConnectError> {
        use diesel_migrations::MigrationHarness;
        let mut conn = self.pool.get()?;
        let source = match &*conn {
            AnyConnection::Sqlite(_) => migrations::SQLITE,
            AnyConnection::Postgresql(_) => migrations::POSTGRES,
        };
        let pending = conn
            .pending_migrations(source)
            .map_err(|e| ConnectError::Migration(e.to_string()))?;
        Ok(pending
            .iter()
            .map(|m| m.name().version().to_string())
            .collect())
    }

    /// The pool (for the composition root: health, metrics).
    #[must_use]
    pub fn pool(&self) -> &Pool {
        &self.pool
    }

    /// Whether the database answers (`SELECT 1`), for health checks.
    ///
    /// # Errors
    /// `StoreError::Unavailable` when no connection can be had or used.
    pub fn ping(&self) -> Result<(), StoreError> {
        self.with_conn(|conn| conn.batch_execute("SELECT 1"))
            .map_err(|e| match e {
                StoreError::Other(source) => StoreError::Unavailable(source),
                other => other,
            })
    }

    /// Runs reads on a pooled connection.
    ///
    /// # Errors
    /// The mapped Diesel error, or `Unavailable` when the pool gives none.
    pub fn with_conn<T>(
        &self,
        f: impl FnOnce(&mut AnyConnection) -> QueryResult<T>,
    ) -> Result<T, StoreError> {
        let mut conn = self.pool.get().map_err(pool_error)?;
        f(&mut conn).map_err(store_error)
    }

    /// Runs `f` in a write transaction: committed when `f` returns `Ok`,
    /// rolled back otherwise. The only way this adapter writes.
    ///
    /// On SQLite the transaction is `BEGIN IMMEDIATE`: it takes the write
    /// lock up front (waiting up to `busy_timeout`), so two writers never
    /// both read under a shared lock and then fail to upgrade it, which a
    /// deferred transaction does under concurrency. On PostgreSQL it is a
    /// normal (read committed) transaction; conditional updates there wait
    /// for the row lock and re-check their condition.
    ///
    /// SQLite has one writer at a time, and a writer that finds the lock
    /// taken sleeps in SQLite's busy handler (1, 2, 5, 10 … 100 ms steps)
    /// instead of being woken when it is free. So the writers of this
    /// process go to one writer thread, which runs those queued together in
    /// one transaction, each in its own savepoint (`group_commit`); only
    /// other processes are left to the busy handler. Readers are not
    /// affected (WAL). Hence `f` owns what it uses (`'static`).
    ///
    /// # Errors
    /// The mapped Diesel error, or `Unavailable` when the pool gives none.
    pub fn write_tx<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut AnyConnection) -> QueryResult<T> + Send + 'static,
    ) -> Result<T, StoreError> {
        if self.is_sqlite()? {
            return self.sqlite_writer.run(&self.pool, f);
        }
        let mut conn = self.pool.get().map_err(pool_error)?;
        transaction(&mut conn, f).map_err(store_error)
    }

    /// Whether the pool's database is SQLite (learnt from the first
    /// connection, then remembered).
    fn is_sqlite(&self) -> Result<bool, StoreError> {
        if let Some(sqlite) = self.sqlite.get() {
            return Ok(*sqlite);
        }
        let conn = self.pool.get().map_err(pool_error)?;
        Ok(*self
            .sqlite
            .get_or_init(|| matches!(*conn, AnyConnection::Sqlite(_))))
    }
}

fn transaction<T>(
    conn: &mut AnyConnection,
    f: impl FnOnce(&mut AnyConnection) -> QueryResult<T>,
) -> QueryResult<T> {
    type Manager = <AnyConnection as Connection>::TransactionManager;
    match conn {
        AnyConnection::Sqlite(sqlite) => {
            AnsiTransactionManager::begin_transaction_sql(sqlite, "BEGIN IMMEDIATE")?;
        }
        AnyConnection::Postgresql(_) => Manager::begin_transaction(conn)?,
    }
    match f(conn) {
        Ok(value) => {
            Manager::commit_transaction(conn)?;
            Ok(value)
        }
        Err(error) => {
            // A failed rollback marks the connection broken; the pool drops it.
            let _ = Manager::rollback_transaction(conn);
            Err(error)
        }
    }
}
