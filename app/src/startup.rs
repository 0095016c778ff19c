//! Composition: the store, the services and the HTTP server.

use std::net::TcpListener;
use std::sync::Arc;

use actix_web::dev::Server;
use actix_web::{web, App, HttpServer};
use anyhow::Context;

use adapters::db::DieselStore;
use adapters::http::{self, AppState, SessionSettings};
use adapters::jose::{JoseSigner, KeyEncryptionKey, KeySource};
use adapters::system::{BcryptHasher, OsRandom, SystemClock};
use domain::ports::{Clock, SecureRandom};
use domain::service::{Policy, Ports, Services};

use crate::config::{Config, Issuer};

/// Opens the store: with `migrate_on_start`, applies the pending
/// migrations; without, refuses a schema with pending migrations.
///
/// # Errors
/// An unreachable database, an unknown URL scheme, a failed migration or
/// an outdated schema.
pub fn open_store(config: &Config) -> anyhow::Result<DieselStore> {
    let store = DieselStore::open(config.database_url.as_str(), config.pool_size)
        .context("cannot open the database")?;
    if config.migrate_on_start {
        store.migrate().context("cannot migrate the database")?;
    } else {
        let pending = store
            .pending_migrations()
            .context("cannot read the database schema version")?;
        if !pending.is_empty() {
            anyhow::bail!(
                "the database schema is not up to date ({} pending migrations) and \
                 MIGRATE_ON_START is false: run `oauth2-server migrate` first",
                pending.len()
            );
        }
    }
    Ok(store)
}

/// Opens the store (see [`open_store`]) and builds the use cases, on the
/// system clock.
///
/// # Errors
/// An unreachable database, an unknown URL scheme or a bad setting.
pub fn build_services(config: &Config, issuer: String) -> anyhow::Result<(Services, DieselStore)> {
    build_services_with(config, issuer, Arc::new(SystemClock))
}

/// [`build_services`] reading "now" from `clock`.
///
/// # Errors
/// An unreachable database, an unknown URL scheme or a bad setting.
pub fn build_services_with(
    config: &Config,
    issuer: String,
    clock: Arc<dyn Clock>,
) -> anyhow::Result<(Services, DieselStore)> {
    let (services, store, _) = build_services_and_keys(config, issuer, clock)?;
    Ok((services, store))
}

/// The key-encryption key of the signing keys: `KEY_ENCRYPTION_KEY`;
/// unset, on a SQLite file the key in the file `PATH.kek` beside it (made
/// with mode 0600 on first start), on an in-memory SQLite database a random
/// one (the keys die with it), on PostgreSQL one derived from
/// `SESSION_KEY` (which every instance shares); neither: an error.
///
/// # Errors
/// No key can be had, or the key file cannot be read or written.
pub fn key_encryption_key(config: &Config) -> Result<KeyEncryptionKey, String> {
    if let Some(key) = &config.key_encryption_key {
        return Ok(key.clone());
    }
    let backend =
        adapters::db::Backend::from_url(config.database_url.as_str()).map_err(|e| e.to_string())?;
    match backend {
        adapters::db::Backend::Sqlite { path } => {
            if path.is_empty() || path.contains(":memory:") || path.contains("mode=memory") {
                return KeyEncryptionKey::random().map_err(|e| e.to_string());
            }
            let file = std::path::PathBuf::from(format!("{path}.kek"));
            key_file(&file)
        }
        adapters::db::Backend::Postgres { .. } => match &config.session_key {
            Some(session_key) => {
                tracing::warn!(
                    "KEY_ENCRYPTION_KEY is not set: the signing keys are encrypted under a key \
                     derived from SESSION_KEY (changing SESSION_KEY then makes them unreadable)"
                );
                KeyEncryptionKey::derive_from(&session_key.0).map_err(|e| e.to_string())
            }
            None => Err(
                "KEY_ENCRYPTION_KEY is not set: on PostgreSQL configure it (32 bytes, \
                 e.g. `openssl rand -hex 32`, the same on every instance) or SESSION_KEY"
                    .to_owned(),
            ),
        },
    }
}

/// Reads the key file, or makes it (0600) when absent; two processes
/// making it at once end up with the same key (the second link fails and
/// it reads the first's).
fn key_file(file: &std::path::Path) -> Result<KeyEncryptionKey, String> {
    let unreadable =
        |e: std::io::Error| format!("cannot read the key file {}: {e}", file.display());
    match std::fs::read_to_string(file) {
        Ok(text) => {
            return KeyEncryptionKey::parse(&text).map_err(|e| format!("{}: {e}", file.display()))
        }
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(unreadable(e)),
        Err(_) => {}
    }
    let key = KeyEncryptionKey::random().map_err(|e| e.to_string())?;
    let temporary = file.with_extension(format!("kek.{}", std::process::id()));
    let write = || -> std::io::Result<()> {
        use std::io::Write as _;
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt as _;
            options.mode(0o600);
        }
        let mut out = options.open(&temporary)?;
        out.write_all(key.to_hex().as_bytes())?;
        out.sync_all()
    };
    let made = write().and_then(|()| std::fs::hard_link(&temporary, file));
    let _ = std::fs::remove_file(&temporary);
    match made {
        Ok(()) => {
            tracing::warn!(
                file = %file.display(),
                "KEY_ENCRYPTION_KEY is not set: the signing keys are encrypted under a new key \
                 kept in this file; back it up with the database, or set KEY_ENCRYPTION_KEY"
            );
            Ok(key)
        }
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            let text = std::fs::read_to_string(file).map_err(unreadable)?;
            KeyEncryptionKey::parse(&text).map_err(|e| format!("{}: {e}", file.display()))
        }
        Err(e) => Err(format!("cannot write the key file {}: {e}", file.display())),
    }
}

/// [`build_services_with`], also handing back the ID token signer (which
/// loads its keys when first used; `Application` loads them at once).
///
/// # Errors
/// An unreachable database, an unknown URL scheme or a bad setting.
pub fn build_services_and_keys(
    config: &Config,
    issuer: String,
    clock: Arc<dyn Clock>,
) -> anyhow::Result<(Services, DieselStore, Arc<JoseSigner>)> {
    let store = open_store(config)?;
    let policy = Policy {
        issuer,
        lifetimes: config.lifetimes,
        capabilities: config.capabilities(),
        throttle: config.throttle,
        quotas: config.quotas,
    };
    let shared = Arc::new(store.clone());
    let source = key_encryption_key(config).map(|kek| KeySource {
        repository: shared.clone(),
        kek,
        schedule: adapters::jose::schedule(config.signing_key_rotation, config.lifetimes.id_token),
    });
    let id_tokens = Arc::new(JoseSigner::deferred(source, clock.clone()));
    let ports = Ports {
        users: shared.clone(),
        clients: shared.clone(),
        codes: shared.clone(),
        tokens: shared.clone(),
        attempts: shared.clone(),
        consents: shared.clone(),
        sessions: shared,
        clock,
        random: Arc::new(OsRandom),
        hasher: Arc::new(BcryptHasher::new(config.bcrypt_cost)),
        id_tokens: id_tokens.clone(),
    };
    Ok((Services::new(ports, policy), store, id_tokens))
}

/// Blocking threads per worker: the pool's connections shared among the
/// workers (actix starts one worker per core), at least 2.
fn blocking_threads(pool_size: u32) -> usize {
    let workers = std::thread::available_parallelism().map_or(1, usize::from);
    (pool_size as usize).div_ceil(workers).max(2)
}

/// The metrics listener (`METRICS_BIND`): `/metrics` only, on its own
/// address, so that the main listener need not serve it to the world. One
/// worker is plenty for a scrape every few seconds; it follows the main
/// server's lifetime instead of handling signals itself.
fn metrics_server(
    bind: std::net::SocketAddr,
    state: &web::Data<AppState>,
) -> anyhow::Result<(u16, Server)> {
    let listener = TcpListener::bind(bind)
        .with_context(|| format!("cannot listen on {bind} (METRICS_BIND)"))?;
    let port = listener.local_addr()?.port();
    let state = state.clone();
    let server = HttpServer::new(move || {
        App::new()
            .wrap(http::headers::security_headers())
            .app_data(state.clone())
            .configure(http::configure_metrics)
    })
    .workers(1)
    .disable_signals()
    .listen(listener)?
    .shutdown_timeout(1)
    .run();
    Ok((port, server))
}

/// A server bound to its port, not yet running.
pub struct Application {
    port: u16,
    metrics_port: Option<u16>,
    metrics_server: Option<Server>,
    issuer: String,
    server: Server,
    store: DieselStore,
    cleanup_interval: std::time::Duration,
    clock: Arc<dyn Clock>,
    signer: Arc<JoseSigner>,
}

impl Application {
    /// Binds the listener (port 0 picks a free one) and builds the server,
    /// on the system clock.
    ///
    /// # Errors
    /// A bad configuration, an unreachable database or a taken port.
    pub fn build(config: &Config) -> anyhow::Result<Self> {
        Self::build_with(config, Arc::new(SystemClock))
    }

    /// [`Application::build`] with every lifetime and window (tokens, codes,
    /// sessions, failure windows, the cleanup of dead rows) measured on
    /// `clock`: tests pass one they can move forward.
    ///
    /// # Errors
    /// A bad configuration, an unreachable database or a taken port.
    pub fn build_with(config: &Config, clock: Arc<dyn Clock>) -> anyhow::Result<Self> {
        config.check_for_serving().map_err(anyhow::Error::msg)?;
        let listener = TcpListener::bind(config.bind)
            .with_context(|| format!("cannot listen on {}", config.bind))?;
        let address = listener.local_addr()?;
        let port = address.port();
        let issuer = match &config.issuer {
            Some(issuer) => issuer.clone(),
            None => Issuer::for_address(address).map_err(anyhow::Error::msg)?,
        };
        let (services, store, signer) =
            build_services_and_keys(config, issuer.as_str().to_owned(), clock.clone())?;
        // At once, so that a missing or wrong KEY_ENCRYPTION_KEY stops the
        // start, and the first request finds the keys made.
        signer
            .refresh()
            .context("cannot load the ID token signing keys")?;
        let jwks_signer = web::Data::from(signer.clone());
        let https = issuer.is_https();
        let key_bytes = match &config.session_key {
            Some(key) => key.0.clone(),
            None => {
                // Sessions then end when the process stops; configure
                // SESSION_KEY to keep them, and for several instances.
                let mut bytes = vec![0u8; 64];
                adapters::system::OsRandom.fill_bytes(&mut bytes);
                bytes
            }
        };
        let sessions = SessionSettings::new(&key_bytes, https)
            .map_err(anyhow::Error::msg)?
            .with_max_age(config.session_max_age);
        let origin = issuer.origin();
        let templates =
            adapters::http::views::templates().context("the page templates do not parse")?;
        let metadata = http::metadata::document(&services.policy);
        let state = web::Data::new(AppState {
            metadata,
            services: Arc::new(services),
            store: store.clone(),
            templates: Arc::new(templates),
            cookie_key: sessions.secret_cookie_key(),
            legacy_cookie_key: sessions.legacy_cookie_key(),
            https,
            origin,
            metrics: Arc::default(),
            trusted_proxies: config.trusted_proxies.clone().into(),
        });
        let app_state = state.clone();
        let body_timeout = web::Data::new(http::body::BodyTimeout(config.body_timeout));
        let session_clock = clock.clone();
        let server = HttpServer::new(move || {
            App::new()
                .wrap(actix_web::middleware::from_fn(http::body::body_deadline))
                .wrap(http::headers::security_headers_for(https))
                .wrap(actix_web::middleware::from_fn(http::logging::request_log))
                // Outermost: every middleware and handler runs in the span.
                .wrap(http::logging::request_span())
                .app_data(app_state.clone())
                .app_data(jwks_signer.clone())
                .app_data(body_timeout.clone())
                .app_data(web::PayloadConfig::new(domain::params::MAX_FORM_BYTES))
                .configure(http::configure)
                .service(
                    web::scope("")
                        .wrap(sessions.middleware(store.clone(), session_clock.clone()))
                        .wrap(actix_web::middleware::from_fn(
                            http::pages::error::session_failures,
                        ))
                        .configure(http::configure_pages),
                )
        })
        // Blocking work (Diesel, bcrypt) runs on each worker's blocking
        // threads; more of them than pooled connections only adds threads
        // that queue for a connection (or for SQLite's one writer), and
        // under load the context switches cost more than the work.
        .worker_max_blocking_threads(blocking_threads(config.pool_size))
        // Idle keep-alive connections close after 5 s, request heads must
        // arrive within 5 s (408), bodies within BODY_TIMEOUT (`body`).
        .keep_alive(std::time::Duration::from_secs(5))
        .client_request_timeout(std::time::Duration::from_secs(5))
        .listen(listener)?
        .shutdown_timeout(10)
        .run();
        let (metrics_port, metrics_server) = match config.metrics_bind {
            Some(bind) => {
                let (port, server) = metrics_server(bind, &state)?;
                (Some(port), Some(server))
            }
            None => (None, None),
        };
        Ok(Self {
            port,
            metrics_port,
            metrics_server,
            issuer: state.services.policy.issuer.clone(),
            server,
            store: state.store.clone(),
            cleanup_interval: config.cleanup_interval,
            clock,
            signer,
        })
    }

    /// The port the server listens on.
    #[must_use]
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The port of the metrics listener, when `METRICS_BIND` is set.
    #[must_use]
    pub fn metrics_port(&self) -> Option<u16> {
        self.metrics_port
    }

    /// The issuer identifier in use.
    #[must_use]
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// Runs until the server is stopped (SIGINT/SIGTERM stop it gracefully).
    ///
    /// # Errors
    /// An I/O error of the server.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let cleanup = tokio::spawn(crate::housekeeping::run(
            self.store,
            self.cleanup_interval,
            self.clock,
        ));
        let keys = tokio::spawn(reload_keys(self.signer));
        let metrics = self.metrics_server.map(|server| {
            let handle = server.handle();
            (tokio::spawn(server), handle)
        });
        let outcome = self.server.await;
        cleanup.abort();
        keys.abort();
        // The metrics listener lives as long as the main one.
        if let Some((task, handle)) = metrics {
            handle.stop(false).await;
            let _ = task.await;
        }
        outcome
    }
}

/// Every [`adapters::jose::RELOAD_SECONDS`]: the rotation timer and the
/// reload of the keys other instances made.
async fn reload_keys(signer: Arc<JoseSigner>) {
    let period = std::time::Duration::from_secs(adapters::jose::RELOAD_SECONDS.unsigned_abs());
    let mut ticker = tokio::time::interval(period);
    ticker.tick().await;
    loop {
        ticker.tick().await;
        let signer = signer.clone();
        let outcome = tokio::task::spawn_blocking(move || signer.refresh()).await;
        match outcome {
            Ok(Ok(())) => {}
            Ok(Err(error)) => tracing::warn!(event = "signing_keys_reload_failed", error = %error),
            Err(_) => tracing::warn!(event = "signing_keys_reload_failed", error = "task failed"),
        }
    }
}
