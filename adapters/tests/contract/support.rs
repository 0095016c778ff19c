//! Test stores (a fresh SQLite file, a fresh PostgreSQL database, or the
//! in-memory fake) and fixtures.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use adapters::db::DieselStore;
use adapters::system::OsRandom;
use chrono::NaiveDate;
use diesel::prelude::*;
use domain::client::{AuthMethod, Client, ClientMetadata, GrantType, ResponseType};
use domain::code::AuthorizationCode;
use domain::ids::{ClientId, FamilyId, TokenId, UserId};
use domain::pkce::CodeChallenge;
use domain::ports::{
    AttemptRepository, ClientRepository, CodeRepository, SecureRandom, TokenRepository,
    UserRepository,
};
use domain::redirect_uri::RedirectUri;
use domain::scope::Scope;
use domain::secret::SecretDigest;
use domain::testing::{t, InMemoryStore};
use domain::time::Timestamp;
use domain::token::{NewTokens, TokenKind, TokenRecord};
use domain::user::{PasswordHash, User, Username};

/// Every repository port at once.
pub trait Store:
    UserRepository + ClientRepository + CodeRepository + TokenRepository + AttemptRepository
{
}

impl<
        T: UserRepository + ClientRepository + CodeRepository + TokenRepository + AttemptRepository,
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
    /// The database URL (None for the in-memory fake).
    pub url: Option<String>,
    _database: Database,
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
        self.url
            .as_deref()
            .expect("a Diesel-only test ran on the in-memory store")
    }
}

// The variants are held only for their Drop.
#[allow(dead_code)]
enum Database {
    None,
    Sqlite(tempfile::TempDir),
    Postgres(PgDatabase),
}

/// The in-memory fake.
pub fn memory() -> TestStore {
    TestStore {
        store: Arc::new(InMemoryStore::default()),
        diesel: None,
        url: None,
        _database: Database::None,
    }
}

/// A migrated store on a fresh SQLite file.
pub fn sqlite() -> TestStore {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite://{}", dir.path().join("test.db").display());
    let store = DieselStore::connect(&url, 10).expect("SQLite store");
    TestStore {
        store: Arc::new(store.clone()),
        diesel: Some(store),
        url: Some(url),
        _database: Database::Sqlite(dir),
    }
}

/// A migrated store on a fresh PostgreSQL database.
pub fn postgres() -> TestStore {
    let database = PgDatabase::create();
    let store = DieselStore::connect(&database.url, 10).expect("PostgreSQL store");
    TestStore {
        store: Arc::new(store.clone()),
        diesel: Some(store),
        url: Some(database.url.clone()),
        _database: Database::Postgres(database),
    }
}

/// A fresh, empty (unmigrated) PostgreSQL database, dropped at the end.
pub struct PgDatabase {
    admin_url: String,
    name: String,
    /// Its URL.
    pub url: String,
}

impl PgDatabase {
    /// Creates `t_<random hex>` on the server of `TEST_DATABASE_URL`.
    pub fn create() -> Self {
        let admin_url = std::env::var("TEST_DATABASE_URL")
            .expect("TEST_DATABASE_URL must be set for the PostgreSQL contract tests");
        let mut id = [0u8; 16];
        OsRandom.fill_bytes(&mut id);
        let name = format!(
            "t_{}",
            uuid::Builder::from_random_bytes(id).into_uuid().simple()
        );
        let mut conn = diesel::PgConnection::establish(&admin_url).expect("admin connection");
        // The name is made here from hex digits only.
        diesel::sql_query(format!("CREATE DATABASE {name}"))
            .execute(&mut conn)
            .expect("create");
        let mut url = url::Url::parse(&admin_url).expect("TEST_DATABASE_URL is a URL");
        url.set_path(&name);
        Self {
            admin_url,
            name,
            url: url.to_string(),
        }
    }
}

impl Drop for PgDatabase {
    fn drop(&mut self) {
        if let Ok(mut conn) = diesel::PgConnection::establish(&self.admin_url) {
            let _ = diesel::sql_query(format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                self.name
            ))
            .execute(&mut conn);
        }
    }
}

static COUNTER: AtomicU64 = AtomicU64::new(1);

fn next() -> u64 {
    COUNTER.fetch_add(1, Ordering::Relaxed)
}

fn id_bytes() -> [u8; 16] {
    let mut bytes = [0u8; 16];
    bytes[..8].copy_from_slice(&next().to_le_bytes());
    bytes[8..].copy_from_slice(&std::process::id().to_le_bytes().repeat(2));
    bytes
}

/// A distinct digest.
pub fn digest() -> SecretDigest {
    SecretDigest::of(&format!("secret-{}", next()))
}

/// An instant with microseconds: 2026-11-27 09:30:01 + `micros` µs.
pub fn precise(micros: u32) -> Timestamp {
    let dt = NaiveDate::from_ymd_opt(2026, 11, 27)
        .and_then(|d| d.and_hms_micro_opt(9, 30, 1, micros))
        .expect("valid date");
    Timestamp::from_naive_utc(dt)
}

/// A user named `name`, created at `created_at`.
pub fn user(name: &str) -> User {
    User {
        id: UserId::from_random_bytes(id_bytes()),
        username: Username::parse(name).expect("valid username"),
        password_hash: PasswordHash::new(format!("$2b$04$hash-of-{name}")),
        created_at: t(0),
    }
}

/// A client `id` of `owner`, confidential unless `method` is `None`.
pub fn client(id: &str, owner: &User, method: AuthMethod) -> Client {
    Client {
        id: ClientId::parse(id).expect("valid client id"),
        owner: owner.id,
        secret_digest: method.is_confidential().then(digest),
        metadata: ClientMetadata {
            client_name: format!("Client {id}"),
            client_uri: method
                .is_confidential()
                .then(|| "https://app.example.com".to_owned()),
            redirect_uris: vec![
                RedirectUri::parse("https://app.example.com/cb").expect("uri"),
                RedirectUri::parse("http://127.0.0.1:8080/cb?x=1").expect("uri"),
                RedirectUri::parse("com.example.app:/oauth").expect("uri"),
            ],
            grant_types: vec![GrantType::AuthorizationCode, GrantType::RefreshToken],
            response_types: vec![ResponseType::Code],
            scope: Scope::parse("profile email openid").expect("scope"),
            token_endpoint_auth_method: method,
        },
        issued_at: t(10),
        trusted: false,
    }
}

/// An unused code of `client` for `user`.
pub fn code(client: &Client, user: &User) -> AuthorizationCode {
    AuthorizationCode {
        digest: digest(),
        client_id: client.id.clone(),
        user_id: user.id,
        redirect_uri: Some("https://app.example.com/cb".to_owned()),
        scope: Scope::parse("profile email").expect("scope"),
        challenge: CodeChallenge::from_stored(CodeChallenge::s256_of(
            "a-code-verifier-of-at-least-43-characters-long",
        )),
        family: FamilyId::from_random_bytes(id_bytes()),
        issued_at: t(100),
        expires_at: t(160),
        used_at: None,
    }
}

/// A token of `kind` in `family`.
pub fn token(
    kind: TokenKind,
    family: FamilyId,
    client: &Client,
    user: Option<&User>,
) -> TokenRecord {
    TokenRecord {
        id: TokenId::from_random_bytes(id_bytes()),
        family,
        kind,
        digest: digest(),
        client_id: client.id.clone(),
        user_id: user.map(|u| u.id),
        scope: Scope::parse("profile").expect("scope"),
        issued_at: t(200),
        expires_at: t(3800),
        revoked_at: None,
        rotated_at: None,
    }
}

/// An access and a refresh token in `family`.
pub fn tokens(family: FamilyId, client: &Client, user: Option<&User>) -> NewTokens {
    NewTokens {
        access: token(TokenKind::Access, family, client, user),
        refresh: Some(token(TokenKind::Refresh, family, client, user)),
    }
}

/// A new family id.
pub fn family() -> FamilyId {
    FamilyId::from_random_bytes(id_bytes())
}

/// A user with one confidential client, stored.
pub struct World {
    pub owner: User,
    pub client: Client,
}

/// Stores a user `alice` and her client `app`.
pub fn world(store: &dyn Store) -> World {
    let owner = user("alice");
    store.insert_user(&owner).expect("insert user");
    let client = client("app", &owner, AuthMethod::ClientSecretBasic);
    store.insert_client(&client).expect("insert client");
    World { owner, client }
}

/// Generates the variants of each contract test: `sqlite`, `postgres`
/// (ignored unless `TEST_DATABASE_URL` was set at build time) and, for the
/// tests of the port contracts, `memory`.
macro_rules! contract_tests {
    (all: [$($all:ident),* $(,)?] $(, diesel: [$($db:ident),* $(,)?])? $(,)?) => {
        mod sqlite {
            $( #[test] fn $all() { super::$all(&crate::support::sqlite()); } )*
            $($( #[test] fn $db() { super::$db(&crate::support::sqlite()); } )*)?
        }
        mod postgres {
            $(
                #[test]
                #[cfg_attr(not(pg_tests), ignore = "set TEST_DATABASE_URL to run on PostgreSQL")]
                fn $all() { super::$all(&crate::support::postgres()); }
            )*
            $($(
                #[test]
                #[cfg_attr(not(pg_tests), ignore = "set TEST_DATABASE_URL to run on PostgreSQL")]
                fn $db() { super::$db(&crate::support::postgres()); }
            )*)?
        }
        mod memory {
            $( #[test] fn $all() { super::$all(&crate::support::memory()); } )*
        }
    };
}
pub(crate) use contract_tests;
