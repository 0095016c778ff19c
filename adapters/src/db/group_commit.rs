//! Group commit for SQLite writes.
//!
//! SQLite has one writer at a time, and much of a small write transaction's
//! cost is fixed: `BEGIN IMMEDIATE`, the commit appending its dirty pages to
//! the WAL, and every thousand pages a checkpoint. So when writers of this
//! process queue for the write lock, they share one transaction: each runs
//! its own work (on its own thread, in its own savepoint) and, if another
//! writer is already waiting, leaves the transaction open for it and waits;
//! the last writer in the queue commits for all and wakes them. A writer
//! still returns only after its writes are committed; one whose work fails
//! rolls back to its savepoint without touching the others; only a failed
//! `COMMIT` fails the whole group. Without contention every transaction
//! commits at once, as before.
//!
//! Other processes on the same file are serialized by SQLite's lock
//! (`busy_timeout`). PostgreSQL does not use this: its transactions run in
//! parallel on pooled connections.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, PoisonError};

use diesel::connection::{AnsiTransactionManager, TransactionManager};
use diesel::result::{Error as DieselError, QueryResult};
use diesel::r2d2::R2D2Connection;
use diesel::Connection;
use domain::error::StoreError;

use super::error::{pool_error, store_error};
use super::{AnyConnection, Pool, PooledConnection};

/// Most transactions in one group: bounds how long the first one waits.
const MAX_GROUP: usize = 128;

type Manager = <AnyConnection as Connection>::TransactionManager;

/// The SQLite writers of one store (shared by its clones).
#[derive(Debug, Default)]
pub(super) struct GroupCommit {
    /// Writers waiting for `open` (the queue behind the current one).
    waiting: AtomicUsize,
    /// The group's transaction while it is open, or the writer's idle
    /// connection between groups.
    open: Mutex<Writer>,
}

/// The one connection this process writes SQLite with. It is kept between
/// groups: in WAL mode a connection whose file another connection changed
/// drops its page cache, so a writer drawn from the pool (where readers and
/// writers take turns) re-read the pages of every B-tree it touched.
#[derive(Default)]
enum Writer {
    #[default]
    None,
    Idle(PooledConnection),
    Open(OpenGroup),
}

struct OpenGroup {
    conn: PooledConnection,
    members: usize,
    outcome: Arc<Outcome>,
}

impl std::fmt::Debug for Writer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::None => f.write_str("None"),
            Self::Idle(_) => f.write_str("Idle"),
            Self::Open(group) => group.fmt(f),
        }
    }
}

impl std::fmt::Debug for OpenGroup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpenGroup")
            .field("members", &self.members)
            .finish_non_exhaustive()
    }
}

/// Whether a group committed, for the members waiting on it.
#[derive(Debug, Default)]
struct Outcome {
    committed: Mutex<Option<bool>>,
    done: Condvar,
}

impl Outcome {
    fn set(&self, committed: bool) {
        *self.committed.lock().unwrap_or_else(PoisonError::into_inner) = Some(committed);
        self.done.notify_all();
    }

    fn wait(&self) -> bool {
        let guard = self.committed.lock().unwrap_or_else(PoisonError::into_inner);
        let guard = self
            .done
            .wait_while(guard, |committed| committed.is_none())
            .unwrap_or_else(PoisonError::into_inner);
        guard.unwrap_or(false)
    }
}

impl GroupCommit {
    /// Runs `f` in a write transaction, shared with the writers queued
    /// behind this one, and returns once it is committed (or failed).
    pub(super) fn run<T>(
        &self,
        pool: &Pool,
        f: impl FnOnce(&mut AnyConnection) -> QueryResult<T>,
    ) -> Result<T, StoreError> {
        self.waiting.fetch_add(1, Ordering::SeqCst);
        let mut open = self.open.lock().unwrap_or_else(PoisonError::into_inner);
        self.waiting.fetch_sub(1, Ordering::SeqCst);
        if !matches!(*open, Writer::Open(_)) {
            let conn = match std::mem::take(&mut *open) {
                Writer::Idle(conn) => conn,
                _ => pool.get().map_err(pool_error)?,
            };
            *open = Writer::Open(OpenGroup::begin(conn)?);
        }
        let Writer::Open(group) = &mut *open else {
            unreachable!("the group was opened above")
        };
        let result = in_savepoint(&mut group.conn, f);
        group.members += usize::from(result.is_ok());
        if self.waiting.load(Ordering::SeqCst) == 0 || group.members >= MAX_GROUP {
            // Last in the queue (or the group is full): commit for everyone,
            // still holding the lock so that the next group starts after.
            let Writer::Open(group) = std::mem::take(&mut *open) else {
                unreachable!("the group is open")
            };
            let (committed, conn) = group.commit();
            // A connection whose rollback failed is broken: the pool drops it.
            *open = conn.map_or(Writer::None, Writer::Idle);
            drop(open);
            return match (result, committed) {
                (Ok(value), true) => Ok(value),
                (Ok(_), false) => Err(group_failed()),
                (Err(error), _) => Err(store_error(error)),
            };
        }
        // Someone is queued behind: leave the transaction open for them.
        let outcome = Arc::clone(&group.outcome);
        drop(open);
        match result {
            // Its savepoint was rolled back: nothing of it waits for a commit.
            Err(error) => Err(store_error(error)),
            Ok(value) if outcome.wait() => Ok(value),
            Ok(_) => Err(group_failed()),
        }
    }
}

impl OpenGroup {
    fn begin(mut conn: PooledConnection) -> Result<Self, StoreError> {
        let AnyConnection::Sqlite(sqlite) = &mut *conn else {
            unreachable!("group commit is used on SQLite only")
        };
        AnsiTransactionManager::begin_transaction_sql(sqlite, "BEGIN IMMEDIATE")
            .map_err(store_error)?;
        Ok(Self {
            conn,
            members: 0,
            outcome: Arc::default(),
        })
    }

    /// Commits the group and tells its members whether it did; gives the
    /// connection back unless it is broken.
    fn commit(mut self) -> (bool, Option<PooledConnection>) {
        let committed = match Manager::commit_transaction(&mut self.conn) {
            Ok(()) => true,
            Err(error) => {
                tracing::warn!(error = %error, members = self.members, "a SQLite write group failed to commit");
                let _ = Manager::rollback_transaction(&mut self.conn);
                false
            }
        };
        self.outcome.set(committed);
        let usable = committed || !R2D2Connection::is_broken(&mut *self.conn);
        (committed, usable.then_some(self.conn))
    }
}

/// Runs `f` in a savepoint of the group's transaction: its writes are kept
/// if it succeeds and undone if it fails or panics.
fn in_savepoint<T>(
    conn: &mut AnyConnection,
    f: impl FnOnce(&mut AnyConnection) -> QueryResult<T>,
) -> QueryResult<T> {
    Manager::begin_transaction(conn)?;
    let result = catch_unwind(AssertUnwindSafe(|| f(conn))).unwrap_or_else(|_| {
        Err(DieselError::QueryBuilderError(
            "a write transaction panicked".into(),
        ))
    });
    match result {
        Ok(value) => {
            Manager::commit_transaction(conn)?;
            Ok(value)
        }
        Err(error) => {
            let _ = Manager::rollback_transaction(conn);
            Err(error)
        }
    }
}

fn group_failed() -> StoreError {
    StoreError::Unavailable("the SQLite write group failed to commit (see the log)".into())
}
