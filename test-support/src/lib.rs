//! What the test binaries and the benchmark share: a database of its own
//! for each test, on SQLite (a file in a temporary folder) or PostgreSQL (a
//! database on the server of `TEST_DATABASE_URL`), removed when dropped.
//!
//! A migrated PostgreSQL database is a copy (`CREATE DATABASE … TEMPLATE`)
//! of a template migrated once, which is much faster than migrating each
//! one. The template is named after a hash of `migrations/postgres`, so
//! every test process on the same migrations shares one, and a changed
//! migration makes a new one instead of reusing a stale schema.
//!
//! This crate knows nothing of the server's crates (`adapters` dev-depends
//! on it): the caller hands in its migration step, so that tests migrate
//! with the very code the server runs at start (advisory lock included).

// A test-support crate: a database that cannot be made fails the test that
// asked for it. The benchmark uses the fallible `PgDatabase` instead.
#![allow(clippy::expect_used, clippy::panic)]

use std::fmt::Display;
use std::path::Path;
use std::sync::OnceLock;

use anyhow::{bail, Context};
use diesel::connection::SimpleConnection;
use diesel::{Connection, PgConnection, QueryableByName, RunQueryDsl};
use sha2::{Digest, Sha256};

/// Which database a test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// A fresh SQLite file in a temporary directory.
    Sqlite,
    /// A fresh database on the server of `TEST_DATABASE_URL`.
    Postgres,
}

/// A migration step: brings the database at the URL up to date. Running it
/// on an up-to-date database must change nothing.
pub type Migrate<E> = fn(&str) -> Result<(), E>;

/// A database that lives as long as the test. Dropping it removes it.
#[derive(Debug)]
pub struct TestDatabase {
    url: String,
    backend: Backend,
    _place: Place,
}

// The variants are held only for their Drop.
#[allow(dead_code)]
#[derive(Debug)]
enum Place {
    Sqlite(tempfile::TempDir),
    Postgres(PgDatabase),
}

impl TestDatabase {
    /// A fresh database without any table (not migrated).
    #[must_use]
    pub fn empty(backend: Backend) -> Self {
        match backend {
            Backend::Sqlite => Self::sqlite(),
            Backend::Postgres => {
                let database = PgDatabase::create(&admin_url(), "t")
                    .expect("create a PostgreSQL test database");
                Self::postgres(database)
            }
        }
    }

    /// A fresh database brought up to date by `migrate`. On PostgreSQL it is
    /// a copy of a template that `migrate` ran on once per process (at most:
    /// a template left by an earlier process on the same migrations is
    /// reused).
    #[must_use]
    pub fn migrated<E: Display>(backend: Backend, migrate: Migrate<E>) -> Self {
        match backend {
            Backend::Sqlite => {
                let database = Self::sqlite();
                if let Err(error) = migrate(database.url()) {
                    panic!("cannot migrate the SQLite test database: {error}");
                }
                database
            }
            Backend::Postgres => {
                let admin = admin_url();
                let template = template(&admin, migrate);
                let database = PgDatabase::create_from(&admin, "t", Some(template))
                    .expect("create a PostgreSQL test database from the template");
                Self::postgres(database)
            }
        }
    }

    fn sqlite() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let url = format!("sqlite://{}", dir.path().join("oauth2.db").display());
        Self {
            url,
            backend: Backend::Sqlite,
            _place: Place::Sqlite(dir),
        }
    }

    fn postgres(database: PgDatabase) -> Self {
        Self {
            url: database.url.clone(),
            backend: Backend::Postgres,
            _place: Place::Postgres(database),
        }
    }

    /// Its URL (`sqlite://PATH` or `postgres://…`).
    #[must_use]
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Its backend.
    #[must_use]
    pub fn backend(&self) -> Backend {
        self.backend
    }
}

/// The URL of the PostgreSQL server the tests use (`TEST_DATABASE_URL`).
///
/// # Panics
/// When it is not set.
#[must_use]
pub fn admin_url() -> String {
    std::env::var("TEST_DATABASE_URL").expect("TEST_DATABASE_URL must be set for PostgreSQL tests")
}

/// A database made on a PostgreSQL server, dropped (with the connections
/// still open to it) when dropped.
#[derive(Debug)]
pub struct PgDatabase {
    admin_url: String,
    name: String,
    url: String,
}

impl PgDatabase {
    /// Creates an empty database `<prefix>_<random hex>` on the server of
    /// `admin_url`.
    ///
    /// # Errors
    /// The server cannot be reached or refuses to create it.
    pub fn create(admin_url: &str, prefix: &str) -> anyhow::Result<Self> {
        Self::create_from(admin_url, prefix, None)
    }

    fn create_from(admin_url: &str, prefix: &str, template: Option<&str>) -> anyhow::Result<Self> {
        let name = format!("{prefix}_{}", uuid::Uuid::new_v4().simple());
        let mut admin = PgConnection::establish(admin_url)
            .context("cannot connect to the PostgreSQL server")?;
        // Names are made here, from a prefix of ours and hex digits, never
        // from input.
        let statement = match template {
            Some(template) => format!("CREATE DATABASE {name} TEMPLATE {template}"),
            None => format!("CREATE DATABASE {name}"),
        };
        admin
            .batch_execute(&statement)
            .with_context(|| format!("cannot create the database {name}"))?;
        Ok(Self {
            url: with_database(admin_url, &name)?,
            admin_url: admin_url.to_owned(),
            name,
        })
    }

    /// Its URL: the admin URL with the database name replaced.
    #[must_use]
    pub fn url(&self) -> &str {
        &self.url
    }
}

impl Drop for PgDatabase {
    fn drop(&mut self) {
        if let Ok(mut admin) = PgConnection::establish(&self.admin_url) {
            let _ = drop_database(&mut admin, &self.name);
        }
    }
}

/// `url` with its database name replaced by `name` (the query is kept).
///
/// # Errors
/// `url` is not a URL.
pub fn with_database(url: &str, name: &str) -> anyhow::Result<String> {
    let mut parsed = url::Url::parse(url).context("the PostgreSQL URL is not a URL")?;
    parsed.set_path(&format!("/{name}"));
    Ok(parsed.to_string())
}

fn drop_database(admin: &mut PgConnection, name: &str) -> diesel::QueryResult<()> {
    admin.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
}

/// The session-level advisory lock held while a template is built, so that
/// test processes running at once build it once. Any fixed value works as
/// long as every process agrees; it differs from the server's migration
/// lock (`adapters::db::migrations::MIGRATION_LOCK_KEY`).
const TEMPLATE_LOCK_KEY: i64 = 4_611_370_126_981_907_713;

/// Templates are named `t_tpl_<hash of the migrations>`.
const TEMPLATE_PREFIX: &str = "t_tpl_";
/// A template being built is named `t_tplbuild_<random hex>` until it is
/// complete, then renamed: a build that dies halfway leaves no template.
const BUILD_PREFIX: &str = "t_tplbuild";

/// The name of the template this process copies, made (or found) the first
/// time any thread asks; the other threads wait for it.
fn template<E: Display>(admin_url: &str, migrate: Migrate<E>) -> &'static str {
    static TEMPLATE: OnceLock<String> = OnceLock::new();
    TEMPLATE.get_or_init(|| {
        ensure_template(admin_url, migrate)
            .unwrap_or_else(|error| panic!("cannot build the PostgreSQL template: {error:#}"))
    })
}

/// Finds or builds the template of the current migrations, under the
/// advisory lock.
fn ensure_template<E: Display>(admin_url: &str, migrate: Migrate<E>) -> anyhow::Result<String> {
    let name = format!("{TEMPLATE_PREFIX}{}", migrations_hash()?);
    let mut admin =
        PgConnection::establish(admin_url).context("cannot connect to the PostgreSQL server")?;
    admin.batch_execute(&format!("SELECT pg_advisory_lock({TEMPLATE_LOCK_KEY})"))?;
    let built = build_template_unless_present(&mut admin, admin_url, &name, migrate);
    // Ending the session would release the lock as well.
    let unlocked = admin.batch_execute(&format!("SELECT pg_advisory_unlock({TEMPLATE_LOCK_KEY})"));
    built?;
    unlocked?;
    Ok(name)
}

fn build_template_unless_present<E: Display>(
    admin: &mut PgConnection,
    admin_url: &str,
    name: &str,
    migrate: Migrate<E>,
) -> anyhow::Result<()> {
    let databases = database_names(admin)?;
    if databases.iter().any(|database| database == name) {
        return Ok(());
    }
    // We hold the lock, so a build database left over is one whose builder
    // died.
    for orphan in databases.iter().filter(|d| d.starts_with(BUILD_PREFIX)) {
        drop_database(admin, orphan)?;
    }
    let build = PgDatabase::create(admin_url, BUILD_PREFIX)?;
    if let Err(error) = migrate(build.url()) {
        bail!("cannot migrate the template: {error}");
    }
    // RENAME, like CREATE DATABASE … TEMPLATE, refuses while a session is
    // connected to the database; PostgreSQL waits a few seconds for the
    // sessions of `migrate`, closed by now, to end.
    admin
        .batch_execute(&format!("ALTER DATABASE {} RENAME TO {name}", build.name))
        .context("cannot rename the built template")?;
    Ok(())
}

fn database_names(admin: &mut PgConnection) -> anyhow::Result<Vec<String>> {
    #[derive(QueryableByName)]
    struct Database {
        #[diesel(sql_type = diesel::sql_types::Text)]
        datname: String,
    }
    let rows: Vec<Database> =
        diesel::sql_query("SELECT datname::text AS datname FROM pg_database").load(admin)?;
    Ok(rows.into_iter().map(|row| row.datname).collect())
}

/// The first 16 hex digits of SHA-256 over every file of
/// `migrations/postgres` (paths and contents, in path order).
fn migrations_hash() -> anyhow::Result<String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../migrations/postgres");
    let mut files = Vec::new();
    collect_files(&root, &mut files)
        .with_context(|| format!("cannot read the migrations at {}", root.display()))?;
    files.sort();
    let mut hasher = Sha256::new();
    for file in &files {
        let relative = file.strip_prefix(&root).unwrap_or(file);
        hasher.update(relative.to_string_lossy().as_bytes());
        hasher.update([0]);
        hasher.update(std::fs::read(file)?);
        hasher.update([0]);
    }
    let digest = hasher.finalize();
    Ok(digest.iter().take(8).map(|b| format!("{b:02x}")).collect())
}

fn collect_files(dir: &Path, files: &mut Vec<std::path::PathBuf>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            collect_files(&path, files)?;
        } else {
            files.push(path);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn with_database_replaces_only_the_name() {
        let url = with_database("postgres://u:p@db.example:5432/test?sslmode=disable", "t_1")
            .expect("a URL");

        assert_eq!(url, "postgres://u:p@db.example:5432/t_1?sslmode=disable");
    }

    #[test]
    fn the_template_name_is_stable_and_short() {
        let hash = migrations_hash().expect("the migrations are readable");

        assert_eq!(hash, migrations_hash().expect("again"));
        assert_eq!(hash.len(), 16);
        assert!(hash.bytes().all(|b| b.is_ascii_hexdigit()));
    }

    #[test]
    fn a_sqlite_database_is_removed_when_dropped() {
        let database = TestDatabase::migrated(Backend::Sqlite, |url| {
            std::fs::write(url.trim_start_matches("sqlite://"), b"")
        });
        let path = std::path::PathBuf::from(database.url().trim_start_matches("sqlite://"));
        assert!(path.exists());

        drop(database);

        assert!(!path.exists());
    }
}
