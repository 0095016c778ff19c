//! Issue 11, accounts: names unique after case folding (RFC 8265 §3.3),
//! the unused codes and the sessions of a user ended together, the
//! absolute session lifetime, and the migration of existing data (also
//! issue 13's `users.updated_at`).

use adapters::db::{AnyConnection, DieselStore};
use diesel::migration::MigrationSource;
use diesel::prelude::*;
use diesel_migrations::MigrationHarness;
use domain::client::AuthMethod;
use domain::error::StoreError;
use domain::ids::UserId;
use domain::ports::{SessionRepository, UserRepository};
use domain::secret::SecretDigest;
use domain::testing::t;

use crate::support::{self, contract_tests, Store, TestStore};

contract_tests! {
    all: [
        names_that_fold_alike_are_one_account,
        unused_codes_of_a_user_are_deleted_at_every_client,
    ],
    diesel: [
        every_session_of_a_user_ends_together,
        a_session_older_than_its_max_age_is_not_loaded,
    ],
}

mod migration {
    use crate::support::{Backend, TestDatabase};

    #[test]
    fn sqlite() {
        let database = TestDatabase::empty(Backend::Sqlite);
        super::case_duplicates_and_sessions_from_before_the_migration_keep_working(database.url());
    }

    #[test]
    #[cfg_attr(not(pg_tests), ignore = "set TEST_DATABASE_URL to run on PostgreSQL")]
    fn postgres() {
        let database = TestDatabase::empty(Backend::Postgres);
        super::case_duplicates_and_sessions_from_before_the_migration_keep_working(database.url());
    }
}

fn names_that_fold_alike_are_one_account(store: &dyn Store) {
    let alice = support::stored_user(store, "alice");

    let upper = store.insert_user(&support::user("ALICE"));
    let mixed = store.insert_user(&support::user("Alice"));

    assert!(matches!(upper, Err(StoreError::Conflict)), "{upper:?}");
    assert!(matches!(mixed, Err(StoreError::Conflict)), "{mixed:?}");
    for name in ["ALICE", "aLiCe", "alice"] {
        assert_eq!(
            store.find_user_by_name(name).unwrap(),
            Some(alice.clone()),
            "{name}"
        );
    }
    assert_eq!(store.find_user_by_name("alicex").unwrap(), None);
    // Shown as typed.
    support::stored_user(store, "Zed");
    assert_eq!(
        store
            .find_user_by_name("zed")
            .unwrap()
            .map(|u| u.username.to_string()),
        Some("Zed".to_owned())
    );
}

fn unused_codes_of_a_user_are_deleted_at_every_client(store: &dyn Store) {
    let world = support::world(store);
    let other = support::client("other-app", &world.owner, AuthMethod::ClientSecretBasic);
    store.insert_client(&other).unwrap();
    let bob = support::stored_user(store, "bob");
    let at_app = support::code(&world.client, &world.owner);
    let at_other = support::code(&other, &world.owner);
    let used = support::code(&world.client, &world.owner);
    let of_bob = support::code(&world.client, &bob);
    for code in [&at_app, &at_other, &used, &of_bob] {
        store.insert_code(code).unwrap();
    }
    let tokens = support::tokens(used.family, &world.client, Some(&world.owner));
    store.redeem_code(&used.digest, t(120), &tokens).unwrap();

    assert_eq!(
        store.delete_unused_codes_of_user(&world.owner.id).unwrap(),
        2
    );

    assert_eq!(store.find_code(&at_app.digest).unwrap(), None);
    assert_eq!(store.find_code(&at_other.digest).unwrap(), None);
    assert!(store.find_code(&used.digest).unwrap().is_some());
    assert_eq!(store.find_code(&of_bob.digest).unwrap(), Some(of_bob));
    assert_eq!(
        store.delete_unused_codes_of_user(&world.owner.id).unwrap(),
        0
    );
}

/// A session state as actix-session stores it: values JSON-encoded.
fn state_of(user: Option<&UserId>) -> String {
    match user {
        Some(id) => serde_json::json!({ "uid": format!("\"{id}\""), "csrf": "\"x\"" }).to_string(),
        None => serde_json::json!({ "flash": "\"hi\"" }).to_string(),
    }
}

fn every_session_of_a_user_ends_together(db: &TestStore) {
    let store = db.diesel();
    let world = support::world(store);
    let bob = support::stored_user(store, "bob");
    let (a1, a2, b1, anon) = (
        SecretDigest::of("a1"),
        SecretDigest::of("a2"),
        SecretDigest::of("b1"),
        SecretDigest::of("anon"),
    );
    let far = t(10_000_000_000);
    store
        .start_session(&a1, &state_of(Some(&world.owner.id)), t(0), far)
        .unwrap();
    store
        .start_session(&a2, &state_of(Some(&world.owner.id)), t(0), far)
        .unwrap();
    store
        .start_session(&b1, &state_of(Some(&bob.id)), t(0), far)
        .unwrap();
    store
        .start_session(&anon, &state_of(None), t(0), far)
        .unwrap();

    assert_eq!(store.end_sessions_of(&world.owner.id).unwrap(), 2);

    assert_eq!(store.load_session(&a1, t(1)).unwrap(), None);
    assert_eq!(store.load_session(&a2, t(1)).unwrap(), None);
    assert!(store.load_session(&b1, t(1)).unwrap().is_some());
    assert!(store.load_session(&anon, t(1)).unwrap().is_some());

    // A session whose state loses its user (an update) is no longer bob's.
    store
        .update_session(&b1, Some(&state_of(None)), far, t(2))
        .unwrap();
    assert_eq!(store.end_sessions_of(&bob.id).unwrap(), 0);
    assert!(store.load_session(&b1, t(3)).unwrap().is_some());
}

fn a_session_older_than_its_max_age_is_not_loaded(db: &TestStore) {
    let store = db.diesel();
    let id = SecretDigest::of("old");
    store
        .start_session(&id, &state_of(None), t(100), t(10_000_000))
        .unwrap();

    assert!(store
        .load_session_started_after(&id, t(5000), t(99))
        .unwrap()
        .is_some());
    assert_eq!(
        store
            .load_session_started_after(&id, t(5000), t(100))
            .unwrap(),
        None
    );
}

/// Runs the migrations before `fold_usernames` on an empty database,
/// stores what an older version could hold (case-duplicate names, a
/// logged-in session), then the rest.
fn case_duplicates_and_sessions_from_before_the_migration_keep_working(url: &str) {
    let old = DieselStore::open(url, 1).unwrap();
    let alice = support::user("alice");
    let alice_upper = support::user("Alice");
    let alice_caps = support::user("ALICE");
    old.with_conn(|conn: &mut AnyConnection| {
        let sqlite = matches!(conn, AnyConnection::Sqlite(_));
        let source = || {
            if sqlite {
                adapters::db::migrations::SQLITE
            } else {
                adapters::db::migrations::POSTGRES
            }
        };
        let all = MigrationSource::<diesel::sqlite::Sqlite>::migrations(&source()).unwrap();
        let before = all
            .iter()
            .take_while(|m| !m.name().to_string().contains("fold_usernames"))
            .count();
        for _ in 0..before {
            conn.run_next_migration(source()).unwrap();
        }
        for (user, at) in [(&alice, 0), (&alice_upper, 10), (&alice_caps, 20)] {
            diesel::sql_query(format!(
                "INSERT INTO users (id, username, password_hash, created_at) \
                 VALUES ('{}', '{}', 'plain:pw', '{}')",
                user.id,
                user.username,
                t(at).as_naive_utc().format("%Y-%m-%d %H:%M:%S")
            ))
            .execute(conn)?;
        }
        diesel::sql_query(format!(
            "INSERT INTO sessions (id, state, expires_at) VALUES ('{}', '{}', '2099-01-01 00:00:00')",
            SecretDigest::of("old-session").as_hex(),
            state_of(Some(&alice_upper.id)).replace('\'', "''"),
        ))
        .execute(conn)?;
        Ok(())
    })
    .unwrap();
    drop(old);

    let store = DieselStore::connect(url, 2).unwrap();

    // Each keeps logging in by its exact name; any other spelling finds the oldest.
    let name_of = |name: &str| store.find_user_by_name(name).unwrap().map(|u| u.id);
    assert_eq!(name_of("alice"), Some(alice.id));
    assert_eq!(name_of("Alice"), Some(alice_upper.id));
    assert_eq!(name_of("ALICE"), Some(alice_caps.id));
    assert_eq!(name_of("aLiCe"), Some(alice.id));
    // No new spelling of the name, even once the holder of the key is gone.
    let new = store.insert_user(&support::user("aLICE"));
    assert!(matches!(new, Err(StoreError::Conflict)), "{new:?}");
    assert!(store.delete_user(&alice.id).unwrap());
    let after_delete = store.insert_user(&support::user("alicE"));
    assert!(
        matches!(after_delete, Err(StoreError::Conflict)),
        "{after_delete:?}"
    );
    store.insert_user(&support::user("bob")).unwrap();

    // The session from before knows its user: a password change ends it.
    let old_session = SecretDigest::of("old-session");
    let now = adapters::system::SystemClock;
    let now = domain::ports::Clock::now(&now);
    assert!(store.load_session(&old_session, now).unwrap().is_some());
    assert_eq!(store.end_sessions_of(&alice_upper.id).unwrap(), 1);
    assert_eq!(store.load_session(&old_session, now).unwrap(), None);

    // 2026-12-07-000005_user_updated_at: an account from before has not
    // changed since it was created, as far as anyone can tell (`updated_at`,
    // OpenID Connect Core §5.1).
    let upper = store.find_user(&alice_upper.id).unwrap().unwrap();
    assert_eq!((upper.created_at, upper.updated_at), (t(10), t(10)));
    let caps = store.find_user(&alice_caps.id).unwrap().unwrap();
    assert_eq!(caps.updated_at, t(20));
}
