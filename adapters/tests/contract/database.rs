use std::sync::{Arc, Barrier};

use adapters::db::{AnyConnection, DieselStore};
use diesel::prelude::*;
use domain::client::AuthMethod;
use domain::error::StoreError;
use domain::ports::{ClientRepository, UserRepository};

use crate::support::{self, contract_tests, TestStore};

contract_tests! {
    all: [],
    diesel: [
        migrations_run_twice_are_a_no_op,
        a_bad_stored_value_is_an_error_not_a_panic,
        ping_answers_when_the_database_is_up,
        concurrent_writes_commit_or_fail_each_on_its_own,
    ],
}

fn migrations_run_twice_are_a_no_op(db: &TestStore) {
    let world = support::world(&*db.store);

    let again = db.diesel().migrate().unwrap();
    let reconnected = DieselStore::connect(db.url(), 2).unwrap();

    assert_eq!(again, Vec::<String>::new());
    assert_eq!(
        reconnected.find_client(&world.client.id).unwrap(),
        Some(world.client)
    );
}

fn a_bad_stored_value_is_an_error_not_a_panic(db: &TestStore) {
    use adapters::db::schema::oauth2_clients as clients;
    let world = support::world(&*db.store);
    db.diesel()
        .write_tx({
            let id = world.client.id.as_str().to_owned();
            move |conn: &mut AnyConnection| {
                diesel::update(clients::table.find(id))
                    .set(clients::grant_types.eq("authorization_code teleportation"))
                    .execute(conn)
            }
        })
        .unwrap();

    let found = db.diesel().find_client(&world.client.id);
    let listed = db.diesel().list_clients_of(&world.owner.id);

    assert!(matches!(found, Err(StoreError::Other(_))), "{found:?}");
    assert!(matches!(listed, Err(StoreError::Other(_))), "{listed:?}");
    assert_eq!(
        db.diesel().find_user(&world.owner.id).unwrap(),
        Some(world.owner)
    );
}

/// On SQLite concurrent writers share one transaction (group commit): each
/// must still succeed or fail alone, a failing or panicking one leaving the
/// others' writes in place.
fn concurrent_writes_commit_or_fail_each_on_its_own(db: &TestStore) {
    let taken = support::user("taken");
    db.diesel().insert_user(&taken).unwrap();
    let start = Arc::new(Barrier::new(48));
    let outcomes: Vec<(usize, Result<(), StoreError>)> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..48)
            .map(|i| {
                let (store, start) = (db.diesel().clone(), Arc::clone(&start));
                scope.spawn(move || {
                    start.wait();
                    let result = match i % 8 {
                        // A duplicate username: a unique violation.
                        0 => store.insert_user(&support::user("taken")),
                        // A write that panics half-way: an error on SQLite
                        // (the writer thread survives it), a panic of the
                        // caller on PostgreSQL.
                        1 => std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                            let ghost = support::user(&format!("ghost{i}"));
                            store.write_tx(move |conn| -> diesel::QueryResult<()> {
                                diesel::insert_into(adapters::db::schema::users::table)
                                    .values(adapters::db::rows::NewUserRow::from(&ghost))
                                    .execute(conn)?;
                                panic!("a write failing after it wrote")
                            })
                        }))
                        .unwrap_or_else(|_| Err(StoreError::Other("panicked".into()))),
                        _ => store.insert_user(&support::user(&format!("user{i}"))),
                    };
                    (i, result)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });

    for (i, result) in &outcomes {
        match i % 8 {
            0 => assert!(
                matches!(result, Err(StoreError::Conflict)),
                "{i}: {result:?}"
            ),
            1 => assert!(result.is_err(), "{i}: {result:?}"),
            _ => assert!(result.is_ok(), "{i}: {result:?}"),
        }
    }
    let names = usernames(db.diesel());
    let expected = 1 + (0..48).filter(|i| i % 8 > 1).count();
    assert_eq!(names.len(), expected, "{names:?}");
    assert!(
        !names.iter().any(|name| name.starts_with("ghost")),
        "{names:?}"
    );
    db.diesel().insert_user(&support::user("after")).unwrap();
}

/// The names of every stored user.
fn usernames(store: &DieselStore) -> Vec<String> {
    let users = store.list_users().unwrap();
    users
        .into_iter()
        .map(|u| u.username.as_str().to_owned())
        .collect()
}

fn ping_answers_when_the_database_is_up(db: &TestStore) {
    db.diesel().ping().unwrap();
}

#[test]
fn an_unknown_url_scheme_is_refused_with_the_accepted_ones_named() {
    let error = DieselStore::connect("mysql://root@localhost/oauth", 2)
        .unwrap_err()
        .to_string();

    assert!(error.contains("`mysql`"), "{error}");
    assert!(
        error.contains("sqlite://") && error.contains("postgres://"),
        "{error}"
    );
}

#[test]
fn an_unreachable_postgres_server_fails_with_the_driver_message() {
    let error = DieselStore::connect("postgres://nobody@127.0.0.1:1/none", 2).unwrap_err();

    let message = error.to_string();
    assert!(
        message.starts_with("could not connect to the database:"),
        "{message}"
    );
    assert!(
        message.len() > "could not connect to the database: ".len(),
        "{message}"
    );
}

#[test]
fn both_backends_have_the_same_migrations() {
    let names = |backend: &str| {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../migrations")
            .join(backend);
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    };

    let sqlite = names("sqlite");

    assert!(!sqlite.is_empty());
    assert_eq!(sqlite, names("postgres"));
}

#[test]
fn sqlite_connections_enforce_foreign_keys_and_use_wal() {
    let db = support::sqlite();
    let (journal, foreign_keys, synchronous) = db
        .diesel()
        .with_conn(|conn| {
            #[derive(QueryableByName)]
            struct Mode {
                #[diesel(sql_type = diesel::sql_types::Text)]
                journal_mode: String,
            }
            #[derive(QueryableByName)]
            struct Fk {
                #[diesel(sql_type = diesel::sql_types::BigInt)]
                foreign_keys: i64,
            }
            let mode: Mode = diesel::sql_query("PRAGMA journal_mode").get_result(conn)?;
            #[derive(QueryableByName)]
            struct Sync {
                #[diesel(sql_type = diesel::sql_types::BigInt)]
                synchronous: i64,
            }
            let fk: Fk = diesel::sql_query("PRAGMA foreign_keys").get_result(conn)?;
            let sync: Sync = diesel::sql_query("PRAGMA synchronous").get_result(conn)?;
            Ok((mode.journal_mode, fk.foreign_keys, sync.synchronous))
        })
        .unwrap();
    let orphan = support::client("orphan", &support::user("ghost"), AuthMethod::None);

    let inserted = db.store.insert_client(&orphan);

    assert_eq!(journal, "wal");
    assert_eq!(foreign_keys, 1);
    // FULL: every commit is synced to disk before it is answered.
    assert_eq!(synchronous, 2);
    assert!(
        // Issue 11.12: a foreign-key failure is `Gone`, not a 500.
        matches!(inserted, Err(StoreError::Gone)),
        "{inserted:?}"
    );
}

#[test]
#[cfg_attr(not(pg_tests), ignore = "set TEST_DATABASE_URL to run on PostgreSQL")]
fn two_instances_migrating_one_fresh_postgres_database_both_succeed() {
    let database = support::TestDatabase::empty(support::Backend::Postgres);
    let barrier = Arc::new(Barrier::new(2));

    let handles: Vec<_> = (0..2)
        .map(|_| {
            let url = database.url().to_owned();
            let barrier = Arc::clone(&barrier);
            std::thread::spawn(move || {
                let pool = adapters::db::build_pool(&url, 1).unwrap();
                let store = DieselStore::from_pool(pool);
                barrier.wait();
                store.migrate()
            })
        })
        .collect();
    let applied: Vec<Vec<String>> = handles
        .into_iter()
        .map(|h| h.join().unwrap().unwrap())
        .collect();

    let total: usize = applied.iter().map(Vec::len).sum();
    let expected = std::fs::read_dir(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../migrations/postgres"),
    )
    .unwrap()
    .count();
    assert_eq!(
        total, expected,
        "each migration ran exactly once: {applied:?}"
    );
    let store = DieselStore::connect(database.url(), 1).unwrap();
    let alice = support::stored_user(&store, "alice");
    assert_eq!(store.find_user(&alice.id).unwrap(), Some(alice));
}

#[test]
fn sqlite_write_transactions_take_the_write_lock_up_front() {
    let db = support::sqlite();
    let path = db.url().trim_start_matches("sqlite://").to_owned();

    let other_writer = db
        .diesel()
        .write_tx(move |_conn| {
            // Nothing written yet: a deferred transaction would hold no lock.
            let mut other = diesel::SqliteConnection::establish(&path).unwrap();
            Ok(diesel::connection::SimpleConnection::batch_execute(
                &mut other,
                "BEGIN IMMEDIATE",
            ))
        })
        .unwrap();

    let error = other_writer.unwrap_err();
    assert!(error.to_string().contains("database is locked"), "{error}");
    assert!(matches!(
        adapters::db::error::store_error(error),
        StoreError::Unavailable(_)
    ));
}

/// A transaction that SQLite ends under a write (as it does on a full disk
/// or an I/O error) fails that write and its group; nothing of it is kept
/// and the writer goes on.
#[test]
fn a_sqlite_write_group_whose_transaction_ends_early_fails_and_the_writer_recovers() {
    let db = support::sqlite();
    let ghost = support::user("ghost");
    let result = db.diesel().write_tx(move |conn| {
        diesel::insert_into(adapters::db::schema::users::table)
            .values(adapters::db::rows::NewUserRow::from(&ghost))
            .execute(conn)?;
        diesel::connection::SimpleConnection::batch_execute(conn, "ROLLBACK")
    });

    assert!(result.is_err(), "{result:?}");
    db.diesel().insert_user(&support::user("after")).unwrap();
    let names = usernames(db.diesel());
    assert_eq!(names, ["after"]);
}

#[test]
fn an_exhausted_pool_is_unavailable() {
    let db = support::sqlite();
    let store = DieselStore::connect(db.url(), 1).unwrap();
    // A SQLite pool has one connection more than asked, for the writer.
    let _held = [store.pool().get().unwrap(), store.pool().get().unwrap()];

    let result = store.find_user(&support::user("alice").id);

    assert!(
        matches!(result, Err(StoreError::Unavailable(_))),
        "{result:?}"
    );
}
