//! Test stores (a fresh SQLite file, a fresh PostgreSQL database, or the
//! in-memory fake); the records come from `domain::testing`.

use std::sync::{Arc, Barrier};

use adapters::db::DieselStore;
use domain::client::{AuthMethod, Client};
use domain::ports::{
    AttemptRepository, ClientRepository, CodeRepository, ConsentRepository, SigningKeyRepository,
    TokenRepository, UserRepository,
};
use domain::testing::InMemoryStore;
pub use domain::testing::{client, code, digest, family, precise, token, tokens, user};
use domain::token::NewTokens;
use domain::user::User;
pub use test_support::{Backend, TestDatabase};

/// Every repository port at once.
pub trait Store:
    UserRepository
    + ClientRepository
    + CodeRepository
    + TokenRepository
    + AttemptRepository
    + ConsentRepository
    + SigningKeyRepository
{
}

impl<
        T: UserRepository
            + ClientRepository
            + CodeRepository
            + TokenRepository
            + AttemptRepository
            + ConsentRepository
            + SigningKeyRepository,
    > Store for T
{
}

/// A store for one test, and what it takes to clean it up. Fields drop in
/// order: the stores (and their pools) before the database.
pub struct TestStore {
    /// The store under test, shareable with threads.
    pub store: Arc<dyn Store>,
    /// The same store as a `DieselStore` (None for the in-memory fake).
    pub diesel: Option<DieselStore>,
    /// The database (None for the in-memory fake).
    database: Option<TestDatabase>,
}

impl TestStore {
    /// The Diesel store; panics for the in-memory fake.
    pub fn diesel(&self) -> &DieselStore {
        self.diesel
            .as_ref()
            .expect("a Diesel-only test ran on the in-memory store")
    }

    /// The database URL; panics for the in-memory fake.
    pub fn url(&self) -> &str {
        self.database
            .as_ref()
            .expect("a Diesel-only test ran on the in-memory store")
            .url()
    }
}

/// The in-memory fake.
pub fn memory() -> TestStore {
    TestStore {
        store: Arc::new(InMemoryStore::default()),
        diesel: None,
        database: None,
    }
}

/// A migrated store on a fresh SQLite file.
pub fn sqlite() -> TestStore {
    on(Backend::Sqlite)
}

/// A migrated store on a fresh PostgreSQL database.
pub fn postgres() -> TestStore {
    on(Backend::Postgres)
}

fn on(backend: Backend) -> TestStore {
    let database = TestDatabase::migrated(backend, migrate);
    // `connect` migrates too: a no-op on a migrated database.
    let store = DieselStore::connect(database.url(), 10).expect("store");
    TestStore {
        store: Arc::new(store.clone()),
        diesel: Some(store),
        database: Some(database),
    }
}

/// The server's migration step, as it runs at start.
pub fn migrate(url: &str) -> Result<(), adapters::db::ConnectError> {
    DieselStore::connect(url, 1).map(drop)
}

/// The user `name`, stored.
pub fn stored_user(store: &dyn Store, name: &str) -> User {
    let user = user(name);
    store.insert_user(&user).expect("insert user");
    user
}

/// A user with one confidential client, stored.
pub struct World {
    pub owner: User,
    pub client: Client,
}

/// Stores a user `alice` and her client `app`.
pub fn world(store: &dyn Store) -> World {
    let owner = stored_user(store, "alice");
    let client = client("app", &owner, AuthMethod::ClientSecretBasic);
    store.insert_client(&client).expect("insert client");
    World { owner, client }
}

/// Neither token of `tokens` is stored.
#[track_caller]
pub fn assert_not_stored(store: &dyn Store, tokens: &NewTokens) {
    assert_eq!(store.find_token(&tokens.access.digest).unwrap(), None);
    let refresh = tokens.refresh.as_ref().expect("a refresh token");
    assert_eq!(store.find_token(&refresh.digest).unwrap(), None);
}

/// Runs each of `calls` on a thread of its own, all released at once by a
/// barrier so that they race, and returns their results in order.
pub fn at_once<T, F>(calls: impl IntoIterator<Item = F>) -> Vec<T>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    let calls: Vec<F> = calls.into_iter().collect();
    let barrier = Arc::new(Barrier::new(calls.len()));
    let handles: Vec<_> = calls
        .into_iter()
        .map(|call| {
            let barrier = Arc::clone(&barrier);
            std::thread::spawn(move || {
                barrier.wait();
                call()
            })
        })
        .collect();
    handles
        .into_iter()
        .map(|handle| handle.join().expect("a racing call panicked"))
        .collect()
}

/// Generates the variants of each contract test: `sqlite`, `postgres`
/// (ignored unless `TEST_DATABASE_URL` was set at build time) and, for the
/// tests of the port contracts, `memory`. The port contracts take the store
/// (`all`), or the `TestStore` when they share it with threads (`shared`);
/// the Diesel-only tests take the `TestStore` (`diesel`).
macro_rules! contract_tests {
    (
        all: [$($all:ident),* $(,)?]
        $(, shared: [$($shared:ident),* $(,)?])?
        $(, diesel: [$($db:ident),* $(,)?])? $(,)?
    ) => {
        mod sqlite {
            $( #[test] fn $all() { super::$all(&*crate::support::sqlite().store); } )*
            $($( #[test] fn $shared() { super::$shared(&crate::support::sqlite()); } )*)?
            $($( #[test] fn $db() { super::$db(&crate::support::sqlite()); } )*)?
        }
        mod postgres {
            $(
                #[test]
                #[cfg_attr(not(pg_tests), ignore = "set TEST_DATABASE_URL to run on PostgreSQL")]
                fn $all() { super::$all(&*crate::support::postgres().store); }
            )*
            $($(
                #[test]
                #[cfg_attr(not(pg_tests), ignore = "set TEST_DATABASE_URL to run on PostgreSQL")]
                fn $shared() { super::$shared(&crate::support::postgres()); }
            )*)?
            $($(
                #[test]
                #[cfg_attr(not(pg_tests), ignore = "set TEST_DATABASE_URL to run on PostgreSQL")]
                fn $db() { super::$db(&crate::support::postgres()); }
            )*)?
        }
        mod memory {
            $( #[test] fn $all() { super::$all(&*crate::support::memory().store); } )*
            $($( #[test] fn $shared() { super::$shared(&crate::support::memory()); } )*)?
        }
    };
}
pub(crate) use contract_tests;
