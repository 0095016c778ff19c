//! One connection type for both databases, and the r2d2 manager that picks
//! the backend from the URL and sets up every new connection.

use std::fmt;
use std::time::Duration;

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::r2d2::R2D2Connection;

/// A connection to SQLite or PostgreSQL; Diesel queries run on either.
#[derive(diesel::MultiConnection)]
pub enum AnyConnection {
    /// A PostgreSQL connection.
    Postgresql(diesel::PgConnection),
    /// A SQLite connection.
    Sqlite(diesel::SqliteConnection),
}

/// Longest wait for a pooled connection (and for the first connection).
pub const CONNECTION_TIMEOUT: Duration = Duration::from_secs(5);

/// Run on every new SQLite connection. `busy_timeout` comes first so that
/// switching a fresh file to WAL waits for a concurrent opener instead of
/// failing with "database is locked". `synchronous = FULL` syncs the WAL at
/// every commit, so that a token, a used code or a rotation answered to a
/// client survives a power loss (`NORMAL` could lose the last commits and
/// let a redeemed code be redeemed again); group commit pays one sync per
/// group (about 20 % of `client_credentials`' rate, docs/benchmarks.md).
const SQLITE_SETUP: &str = "PRAGMA busy_timeout = 5000; \
    PRAGMA journal_mode = WAL; \
    PRAGMA foreign_keys = ON; \
    PRAGMA synchronous = FULL;";

/// Why a database could not be reached or set up. Its message is meant for
/// the operator (logs, startup errors), never for HTTP responses.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    /// The URL names a scheme we do not speak.
    #[error(
        "unsupported database URL scheme `{0}`: use sqlite://PATH, sqlite:PATH or a plain \
         file path for SQLite, or postgres:// or postgresql:// for PostgreSQL"
    )]
    UnsupportedScheme(String),
    /// The PostgreSQL URL asks for TLS, which this build cannot do.
    #[error(
        "the PostgreSQL URL asks for TLS (sslmode={0}) but this build has no TLS support: \
         rebuild with the cargo feature `pg-tls`, or use sslmode=disable or prefer"
    )]
    TlsNotBuilt(String),
    /// The database refused or failed the connection.
    #[error("could not connect to the database: {0}")]
    Connect(String),
    /// The per-connection setup failed.
    #[error("could not set up the database connection: {0}")]
    Setup(String),
    /// The pool could not be built (its message carries the last connection error).
    #[error("could not create the connection pool: {0}")]
    Pool(#[from] r2d2::Error),
    /// The migrations failed.
    #[error("database migrations failed: {0}")]
    Migration(String),
}

/// Which database a URL designates, and what to hand its driver.
#[derive(Clone, PartialEq, Eq)]
pub enum Backend {
    /// A SQLite file (or any name SQLite accepts, e.g. `:memory:`).
    Sqlite {
        /// The path given to SQLite.
        path: String,
    },
    /// A PostgreSQL server.
    Postgres {
        /// The libpq connection URL.
        url: String,
    },
}

impl fmt::Debug for Backend {
    // The PostgreSQL URL may carry a password.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Sqlite { path } => f.debug_struct("Sqlite").field("path", path).finish(),
            Self::Postgres { .. } => f.write_str("Postgres { url: [redacted] }"),
        }
    }
}

impl Backend {
    /// Picks the backend from the URL: `sqlite://PATH`, `sqlite:PATH` or a
    /// plain file path is SQLite; `postgres://` or `postgresql://` is
    /// PostgreSQL.
    ///
    /// # Errors
    /// [`ConnectError::UnsupportedScheme`] for any other `scheme://`, and
    /// [`ConnectError::TlsNotBuilt`] for a PostgreSQL URL requiring TLS in a
    /// build without the `pg-tls` feature.
    pub fn from_url(url: &str) -> Result<Self, ConnectError> {
        let url = url.trim();
        if let Some(path) = url.strip_prefix("sqlite://") {
            return Ok(Self::Sqlite {
                path: path.to_owned(),
            });
        }
        if let Some(path) = url.strip_prefix("sqlite:") {
            return Ok(Self::Sqlite {
                path: path.to_owned(),
            });
        }
        match url.split_once("://") {
            Some((scheme, _)) => {
                if scheme.eq_ignore_ascii_case("postgres")
                    || scheme.eq_ignore_ascii_case("postgresql")
                {
                    check_tls(url)?;
                    Ok(Self::Postgres {
                        url: with_bounded_waits(url),
                    })
                } else {
                    Err(ConnectError::UnsupportedScheme(
                        scheme.chars().take(32).collect(),
                    ))
                }
            }
            None if url.is_empty() => Err(ConnectError::UnsupportedScheme(String::new())),
            None => Ok(Self::Sqlite {
                path: url.to_owned(),
            }),
        }
    }

    /// Opens one connection and applies the per-connection setup.
    ///
    /// # Errors
    /// The driver's connection error, or a failed setup statement.
    pub fn connect(&self) -> Result<AnyConnection, ConnectError> {
        match self {
            Self::Sqlite { path } => {
                create_private_file(path);
                let mut conn = diesel::SqliteConnection::establish(path)
                    .map_err(|e| ConnectError::Connect(e.to_string()))?;
                conn.batch_execute(SQLITE_SETUP)
                    .map_err(|e| ConnectError::Setup(e.to_string()))?;
                Ok(AnyConnection::Sqlite(conn))
            }
            Self::Postgres { url } => {
                check_tls(url)?;
                if let Ok(mode) = std::env::var("PGSSLMODE") {
                    check_sslmode(&mode)?;
                }
                let conn = diesel::PgConnection::establish(url)
                    .map_err(|e| ConnectError::Connect(e.to_string()))?;
                Ok(AnyConnection::Postgresql(conn))
            }
        }
    }
}

/// Creates a SQLite database file that does not exist yet with mode 0600,
/// before SQLite opens it: it holds password hashes and sessions, and the
/// usual umask would give 0644. SQLite gives its `-wal` and `-shm` files the
/// main file's mode, so they are private too. An existing file keeps its
/// mode (the operator may have chosen a group on purpose). In-memory and
/// `file:` URI names are left to SQLite.
fn create_private_file(path: &str) {
    if path.is_empty() || path == ":memory:" || path.starts_with("file:") {
        return;
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    // An empty file is an empty database to SQLite. On any failure (it
    // exists, its directory is missing or read-only) SQLite opens or fails
    // to open it itself, with its own message.
    drop(options.open(path));
}

/// libpq settings that bound how long a request can hang on a database
/// that went away: connecting gives up after 5 s, and a connection whose
/// peer vanished (no answer, no reset) is dropped after 10 s. Settings
/// already in the URL are kept.
const BOUNDED_WAITS: [(&str, &str); 5] = [
    ("connect_timeout", "5"),
    ("tcp_user_timeout", "10000"),
    ("keepalives", "1"),
    ("keepalives_idle", "10"),
    ("keepalives_interval", "5"),
];

fn with_bounded_waits(url: &str) -> String {
    let query = url.split_once('?').map_or("", |(_, query)| query);
    let present: Vec<&str> = query
        .split('&')
        .filter_map(|pair| pair.split_once('=').map(|(k, _)| k))
        .collect();
    let mut out = url.to_owned();
    for (key, value) in BOUNDED_WAITS {
        if !present.contains(&key) {
            out.push(if out.contains('?') { '&' } else { '?' });
            out.push_str(key);
            out.push('=');
            out.push_str(value);
        }
    }
    out
}

/// libpq here is built without OpenSSL unless the `pg-tls` feature is on:
/// a URL that requires TLS would fail with a cryptic libpq message, so we
/// refuse it with one that says what to do.
fn check_tls(url: &str) -> Result<(), ConnectError> {
    let query = url.split_once('?').map_or("", |(_, query)| query);
    for pair in query.split('&') {
        if let Some((key, value)) = pair.split_once('=') {
            if key == "sslmode" {
                check_sslmode(value)?;
            }
        }
    }
    Ok(())
}

fn check_sslmode(mode: &str) -> Result<(), ConnectError> {
    let requires_tls = matches!(mode, "require" | "verify-ca" | "verify-full");
    if requires_tls && !cfg!(feature = "pg-tls") {
        return Err(ConnectError::TlsNotBuilt(mode.to_owned()));
    }
    Ok(())
}

/// The r2d2 connection manager for [`AnyConnection`].
#[derive(Debug, Clone)]
pub struct AnyManager {
    backend: Backend,
}

impl AnyManager {
    /// A manager opening connections to `backend`.
    #[must_use]
    pub fn new(backend: Backend) -> Self {
        Self { backend }
    }

    /// The backend this manager connects to.
    #[must_use]
    pub fn backend(&self) -> &Backend {
        &self.backend
    }
}

impl r2d2::ManageConnection for AnyManager {
    type Connection = AnyConnection;
    type Error = ConnectError;

    fn connect(&self) -> Result<AnyConnection, ConnectError> {
        self.backend.connect()
    }

    fn is_valid(&self, conn: &mut AnyConnection) -> Result<(), ConnectError> {
        conn.batch_execute("SELECT 1")
            .map_err(|e| ConnectError::Connect(e.to_string()))
    }

    fn has_broken(&self, conn: &mut AnyConnection) -> bool {
        std::thread::panicking() || R2D2Connection::is_broken(conn)
    }
}

/// A pool of [`AnyConnection`]s.
pub type Pool = r2d2::Pool<AnyManager>;

/// A connection borrowed from a [`Pool`].
pub type PooledConnection = r2d2::PooledConnection<AnyManager>;

/// Builds a pool of at most `max_size` connections to `url`.
///
/// One connection is opened first, so that a wrong URL or an unreachable
/// server fails at once with the driver's own message.
///
/// # Errors
/// A bad URL, the first connection's error, or the pool's.
pub fn build_pool(url: &str, max_size: u32) -> Result<Pool, ConnectError> {
    let backend = Backend::from_url(url)?;
    drop(backend.connect()?);
    // SQLite: one more, which the process's writer keeps (see
    // `group_commit`), so that readers still have `max_size`.
    let max_size = max_size.max(1) + u32::from(matches!(backend, Backend::Sqlite { .. }));
    // A SQLite connection is a file handle that cannot go stale: checking it
    // with `SELECT 1` on every checkout would double the round trips of a
    // one-query request. A PostgreSQL connection can die with the server or
    // the network, so it is checked.
    let check_on_checkout = matches!(backend, Backend::Postgres { .. });
    let pool = r2d2::Pool::builder()
        .max_size(max_size)
        .min_idle(Some(1))
        .connection_timeout(CONNECTION_TIMEOUT)
        .test_on_check_out(check_on_checkout)
        .build(AnyManager::new(backend))?;
    Ok(pool)
}

#[cfg(test)]
mod tests {
    #[test]
    fn postgres_urls_get_bounded_waits_unless_they_set_them() {
        assert_eq!(
            super::with_bounded_waits("postgres://u@h/db"),
            "postgres://u@h/db?connect_timeout=5&tcp_user_timeout=10000&keepalives=1&keepalives_idle=10&keepalives_interval=5"
        );
        let kept = super::with_bounded_waits("postgres://u@h/db?connect_timeout=2&sslmode=disable");
        assert!(kept.starts_with(
            "postgres://u@h/db?connect_timeout=2&sslmode=disable&tcp_user_timeout=10000"
        ));
        assert_eq!(kept.matches("connect_timeout").count(), 1);
    }

    use super::*;

    #[test]
    fn sqlite_urls_and_plain_paths_pick_sqlite() {
        for (url, path) in [
            ("sqlite://oauth2.db", "oauth2.db"),
            ("sqlite:oauth2.db", "oauth2.db"),
            ("sqlite:///var/lib/oauth2.db", "/var/lib/oauth2.db"),
            ("oauth2.db", "oauth2.db"),
            ("/tmp/x.db", "/tmp/x.db"),
        ] {
            assert_eq!(
                Backend::from_url(url).ok(),
                Some(Backend::Sqlite {
                    path: path.to_owned()
                }),
                "{url}"
            );
        }
    }

    #[test]
    fn postgres_urls_pick_postgres() {
        for url in [
            "postgres://u@h/db",
            "postgresql://u@h/db",
            "postgres://u@h/db?sslmode=disable",
        ] {
            assert_eq!(
                Backend::from_url(url).ok(),
                Some(Backend::Postgres {
                    url: with_bounded_waits(url)
                })
            );
        }
    }

    #[test]
    fn other_schemes_are_refused_with_the_accepted_ones_named() {
        let error = Backend::from_url("mysql://u@h/db")
            .err()
            .map(|e| e.to_string());

        let message = error.unwrap_or_default();
        assert!(message.contains("`mysql`"), "{message}");
        assert!(message.contains("postgres://"), "{message}");
        assert!(message.contains("sqlite://"), "{message}");
    }

    #[cfg(not(feature = "pg-tls"))]
    #[test]
    fn tls_urls_name_the_pg_tls_feature() {
        let error = Backend::from_url("postgres://u:pw@h/db?sslmode=require").err();

        let message = error.map(|e| e.to_string()).unwrap_or_default();
        assert!(message.contains("pg-tls"), "{message}");
        assert!(!message.contains("pw"), "{message}");
    }

    #[test]
    fn debug_hides_the_postgres_url() {
        let backend = Backend::Postgres {
            url: "postgres://u:secret@h/db".to_owned(),
        };

        assert!(!format!("{backend:?}").contains("secret"));
    }
}
