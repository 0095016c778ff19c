//! Group commit for SQLite writes.
//!
//! SQLite has one writer at a time, and much of a small write transaction's
//! cost is fixed: `BEGIN IMMEDIATE`, the commit appending its dirty pages to
//! the WAL, and every thousand pages a checkpoint. Handing the write lock
//! from one request's thread to the next also costs a wake-up each time,
//! which on two cores left the CPU idle while writers queued. So this
//! process's write transactions go to one writer thread, which takes every
//! transaction waiting, runs each in its own savepoint inside one `BEGIN
//! IMMEDIATE … COMMIT`, and only then answers them all.
//!
//! A caller gets its answer only once the group has ended, so a success
//! means committed; a transaction that fails rolls back to its savepoint
//! without touching the others. A failed `BEGIN` or `COMMIT`, or a savepoint
//! that cannot be closed (SQLite ends the whole transaction on some errors,
//! such as a full disk), fails the whole group and rolls it back. Without
//! contention a group holds one transaction and commits at once.
//!
//! Other processes on the same file are serialized by SQLite's lock
//! (`busy_timeout`). PostgreSQL does not use this: its transactions run in
//! parallel on pooled connections.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::OnceLock;

use diesel::connection::{AnsiTransactionManager, TransactionManager};
use diesel::r2d2::R2D2Connection;
use diesel::result::{Error as DieselError, QueryResult};
use diesel::Connection;
use domain::error::StoreError;

use super::error::{pool_error, store_error};
use super::{AnyConnection, Pool, PooledConnection};

/// Most transactions in one group: bounds how long the first one waits.
const MAX_GROUP: usize = 256;

type Manager = <AnyConnection as Connection>::TransactionManager;

/// One caller's transaction, as the writer thread runs it: in a savepoint
/// of the group's transaction, returning how to answer the caller once the
/// group's fate is known. Without a group (it could not begin) it answers
/// at once.
type Job = Box<dyn FnOnce(Option<&mut Group<'_>>) -> Option<Answer> + Send>;

/// Answers one caller with whether the group committed.
type Answer = Box<dyn FnOnce(bool) + Send>;

/// The open group transaction, as its jobs see it.
struct Group<'c> {
    conn: &'c mut AnyConnection,
    /// False once a savepoint could not be released or rolled back, or the
    /// transaction ended under a job (SQLite rolls the whole transaction
    /// back on some errors: a full disk, an I/O error): the group must then
    /// not commit, and its remaining jobs must not run outside it.
    intact: bool,
}

/// The queue of a store's SQLite writer thread (shared by the store's
/// clones), started on first use.
#[derive(Debug, Default)]
pub(super) struct GroupCommit {
    queue: OnceLock<Sender<Job>>,
}

impl GroupCommit {
    /// Runs `f` in a write transaction on the writer thread and waits until
    /// it is committed or rolled back.
    pub(super) fn run<T: Send + 'static>(
        &self,
        pool: &Pool,
        f: impl FnOnce(&mut AnyConnection) -> QueryResult<T> + Send + 'static,
    ) -> Result<T, StoreError> {
        let (reply, outcome) = mpsc::sync_channel::<Result<T, StoreError>>(1);
        let job: Job = Box::new(move |group| {
            let Some(group) = group else {
                let _ = reply.send(Err(group_failed()));
                return None;
            };
            let result = in_savepoint(group, f);
            // Answered after the group's end even when it failed: its error
            // may come from a sibling's row that a failed commit removes.
            Some(Box::new(move |committed: bool| {
                let _ = reply.send(match result {
                    Ok(value) if committed => Ok(value),
                    Ok(_) => Err(group_failed()),
                    Err(error) => Err(store_error(error)),
                });
            }))
        });
        self.sender(pool).send(job).map_err(|_| writer_gone())?;
        outcome.recv().map_err(|_| writer_gone())?
    }

    fn sender(&self, pool: &Pool) -> &Sender<Job> {
        self.queue.get_or_init(|| {
            let (sender, jobs) = mpsc::channel();
            let pool = pool.clone();
            let started = std::thread::Builder::new()
                .name("sqlite-writer".to_owned())
                .spawn(move || write_groups(&pool, &jobs));
            if let Err(error) = started {
                // Its queue is closed with it: every write is `Unavailable`.
                tracing::error!(error = %error, "the SQLite writer thread did not start");
            }
            sender
        })
    }
}

/// The writer thread: one transaction per group of waiting jobs, until every
/// clone of the store is gone.
///
/// It keeps its connection between groups (the pool of a SQLite store has
/// one more for it): in WAL mode a connection whose file another connection
/// changed drops its page cache, and a writer taking turns with readers on
/// pooled connections would re-read the pages of every B-tree it touches.
fn write_groups(pool: &Pool, jobs: &Receiver<Job>) {
    let mut kept: Option<PooledConnection> = None;
    while let Ok(first) = jobs.recv() {
        let mut group = vec![first];
        while group.len() < MAX_GROUP {
            match jobs.try_recv() {
                Ok(job) => group.push(job),
                Err(_) => break,
            }
        }
        let conn = match kept.take() {
            Some(conn) => conn,
            None => match pool.get() {
                Ok(conn) => conn,
                Err(error) => {
                    let _logged = pool_error(error);
                    fail_all(group);
                    continue;
                }
            },
        };
        kept = run_group(conn, group);
    }
}

/// Runs one group; gives the connection back unless it is broken.
fn run_group(mut conn: PooledConnection, group: Vec<Job>) -> Option<PooledConnection> {
    let AnyConnection::Sqlite(sqlite) = &mut *conn else {
        // The writer only ever holds SQLite connections (see `write_tx`).
        tracing::error!("the SQLite writer was given another database's connection");
        fail_all(group);
        return None;
    };
    if let Err(error) = AnsiTransactionManager::begin_transaction_sql(sqlite, "BEGIN IMMEDIATE") {
        tracing::warn!(error = %error, "a SQLite write group could not begin");
        fail_all(group);
        return Some(conn);
    }
    let mut answers: Vec<Answer> = Vec::with_capacity(group.len());
    let mut jobs = group.into_iter();
    let intact = {
        let mut open = Group {
            conn: &mut conn,
            intact: true,
        };
        for job in jobs.by_ref() {
            answers.extend(job(Some(&mut open)));
            if !open.intact {
                break;
            }
        }
        open.intact
    };
    let committed = intact
        && match Manager::commit_transaction(&mut *conn) {
            Ok(()) => true,
            Err(error) => {
                tracing::warn!(error = %error, members = answers.len(), "a SQLite write group could not commit");
                false
            }
        };
    if !committed {
        // Whatever is left of the transaction goes; a connection still in
        // one afterwards is broken, and the pool discards it below.
        let _ = Manager::rollback_transaction(&mut *conn);
        fail_all(jobs.collect());
    }
    for answer in answers {
        answer(committed);
    }
    (!R2D2Connection::is_broken(&mut *conn)).then_some(conn)
}

/// Answers every job of a group that could not run.
fn fail_all(group: Vec<Job>) {
    for job in group {
        let _ = job(None);
    }
}

/// Runs `f` in a savepoint of the group's transaction: its writes are kept
/// if it succeeds and undone if it fails or panics. Marks the group broken
/// when the savepoint cannot be closed or the transaction is gone.
fn in_savepoint<T>(
    group: &mut Group<'_>,
    f: impl FnOnce(&mut AnyConnection) -> QueryResult<T>,
) -> QueryResult<T> {
    let conn = &mut *group.conn;
    if let Err(error) = Manager::begin_transaction(conn) {
        group.intact = false;
        return Err(error);
    }
    let result = catch_unwind(AssertUnwindSafe(|| f(conn))).unwrap_or_else(|_| {
        Err(DieselError::QueryBuilderError(
            "a write transaction panicked".into(),
        ))
    });
    let closed = match &result {
        Ok(_) => Manager::commit_transaction(conn),
        Err(_) => Manager::rollback_transaction(conn),
    };
    // Back at the group's own level, or the group cannot go on.
    group.intact = closed.is_ok() && in_group_transaction(conn);
    match (result, closed) {
        (Ok(value), Ok(())) => Ok(value),
        (Ok(_), Err(error)) | (Err(error), _) => Err(error),
    }
}

/// Whether `conn` is exactly one level deep: in the group's transaction,
/// outside any savepoint.
fn in_group_transaction(conn: &mut AnyConnection) -> bool {
    let AnyConnection::Sqlite(sqlite) = conn else {
        return false;
    };
    matches!(
        AnsiTransactionManager::transaction_manager_status_mut(sqlite).transaction_depth(),
        Ok(Some(depth)) if depth.get() == 1
    )
}

fn group_failed() -> StoreError {
    StoreError::Unavailable("the SQLite write group failed (see the log)".into())
}

fn writer_gone() -> StoreError {
    StoreError::Unavailable("the SQLite writer thread is gone".into())
}
