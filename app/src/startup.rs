//! Composition: the store, the services and the HTTP server.

use std::net::TcpListener;
use std::sync::Arc;

use actix_web::dev::Server;
use actix_web::{web, App, HttpServer};
use anyhow::Context;

use adapters::db::DieselStore;
use adapters::http::{self, AppState, SessionSettings};
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
    let store = open_store(config)?;
    let policy = Policy {
        issuer,
        lifetimes: config.lifetimes,
        capabilities: config.capabilities(),
        throttle: config.throttle,
        quotas: config.quotas,
    };
    let shared = Arc::new(store.clone());
    let id_tokens = adapters::jose::JoseSigner::generate_in_memory(clock.clone())
        .context("cannot make the ID token signing keys")?;
    let ports = Ports {
        users: shared.clone(),
        clients: shared.clone(),
        codes: shared.clone(),
        tokens: shared.clone(),
        attempts: shared.clone(),
        sessions: shared,
        clock,
        random: Arc::new(OsRandom),
        hasher: Arc::new(BcryptHasher::new(config.bcrypt_cost)),
        id_tokens: Arc::new(id_tokens),
    };
    Ok((Services::new(ports, policy), store))
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
        let (services, store) =
            build_services_with(config, issuer.as_str().to_owned(), clock.clone())?;
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
        let metrics = self.metrics_server.map(|server| {
            let handle = server.handle();
            (tokio::spawn(server), handle)
        });
        let outcome = self.server.await;
        cleanup.abort();
        // The metrics listener lives as long as the main one.
        if let Some((task, handle)) = metrics {
            handle.stop(false).await;
            let _ = task.await;
        }
        outcome
    }
}
