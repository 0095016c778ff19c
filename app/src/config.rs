//! Configuration: every setting comes from a flag, else its environment
//! variable, else the optional TOML file (`--config PATH` / `CONFIG`), else
//! its default.
//!
//! Clap reads the flags and the environment into [`Flags`] (every value
//! optional, so that "not given" is visible); [`Flags::resolve`] then reads
//! the file, fills in the defaults and checks every value, naming the
//! setting by its environment variable in each error. [`Config`] is the
//! result and implements clap's `Args` itself, so `Cli::parse` yields it
//! fully resolved.

use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use clap::builder::BoolishValueParser;
use clap::{ArgMatches, Args, FromArgMatches, ValueEnum};
use serde::Deserialize;

use domain::client::{GrantType, ResponseType, ServerCapabilities};
use domain::scope::Scope;

/// Default values of the settings.
pub mod defaults {
    /// `DATABASE_URL`.
    pub const DATABASE_URL: &str = "sqlite://oauth2.db";
    /// `DATABASE_POOL_SIZE`.
    pub const POOL_SIZE: u32 = 8;
    /// `BIND`.
    pub const BIND: &str = "127.0.0.1:5000";
    /// `BCRYPT_COST`.
    pub const BCRYPT_COST: u32 = 12;
    /// `SCOPES`.
    pub const SCOPES: &str = "profile email";
    /// `CODE_TTL`, seconds.
    pub const CODE_TTL: u32 = 60;
    /// `ACCESS_TOKEN_TTL`, seconds.
    pub const ACCESS_TOKEN_TTL: u32 = 3600;
    /// `REFRESH_TOKEN_TTL`, seconds (30 days).
    pub const REFRESH_TOKEN_TTL: u32 = 2_592_000;
    /// `REFRESH_GRACE`, seconds.
    pub const REFRESH_GRACE: u32 = 10;
    /// `CLEANUP_INTERVAL`, seconds.
    pub const CLEANUP_INTERVAL: u32 = 60;
    /// `MAX_CLIENTS_PER_OWNER`.
    pub const MAX_CLIENTS_PER_OWNER: u32 = domain::service::Quotas::DEFAULT_CLIENTS_PER_OWNER;
    /// `MAX_REDIRECT_URIS_PER_CLIENT`.
    pub const MAX_REDIRECT_URIS_PER_CLIENT: u32 = 20;
    /// `MAX_PENDING_CODES_PER_GRANT`.
    pub const MAX_PENDING_CODES_PER_GRANT: u32 =
        domain::service::Quotas::DEFAULT_PENDING_CODES_PER_GRANT;
    /// `SESSION_MAX_AGE`, seconds: 7 days.
    pub const SESSION_MAX_AGE: u32 = 604_800;
    /// `LOG`.
    pub const LOG: &str = "info";
    /// `BODY_TIMEOUT`, seconds.
    pub const BODY_TIMEOUT: u32 = 10;
}

/// Shortest accepted session key, in bytes.
pub const MIN_SESSION_KEY_BYTES: usize = 64;

/// Every server setting, resolved (flag > environment > file > default) and
/// checked.
#[derive(Clone)]
pub struct Config {
    /// `DATABASE_URL`: `sqlite://PATH` (or a plain path) or `postgres://…`.
    pub database_url: String,
    /// `DATABASE_POOL_SIZE`: largest number of pooled connections.
    pub pool_size: u32,
    /// `BIND`: address to listen on.
    pub bind: SocketAddr,
    /// `ISSUER`: issuer identifier and public base URL (default: http:// + bind).
    pub issuer: Option<String>,
    /// `SESSION_KEY`: key for session cookies (random at start when absent).
    pub session_key: Option<SessionKey>,
    /// `BCRYPT_COST`: bcrypt cost for user passwords.
    pub bcrypt_cost: u32,
    /// `SCOPES`: scopes this server knows, space-separated.
    pub scopes: String,
    /// `CODE_TTL`: authorization code lifetime in seconds.
    pub code_ttl: u32,
    /// `ACCESS_TOKEN_TTL`: access token lifetime in seconds.
    pub access_token_ttl: u32,
    /// `REFRESH_TOKEN_TTL`: refresh token absolute lifetime in seconds.
    pub refresh_token_ttl: u32,
    /// `REFRESH_GRACE`: seconds during which a duplicate of a just-rotated
    /// refresh token is refused without revoking its family.
    pub refresh_grace: u32,
    /// `DISABLE_GRANTS`: grants switched off (only implicit and password can be).
    pub disabled_grants: Vec<GrantType>,
    /// `MAX_CLIENTS_PER_OWNER`: clients one user may register on the pages.
    pub max_clients_per_owner: u32,
    /// `MAX_REDIRECT_URIS_PER_CLIENT`: redirect URIs one client may register.
    pub max_redirect_uris_per_client: u32,
    /// `MAX_PENDING_CODES_PER_GRANT`: unused, unexpired codes one user may
    /// hold for one client.
    pub max_pending_codes_per_grant: u32,
    /// `CLEANUP_INTERVAL`: seconds between two passes of the storage
    /// cleanup timer (dead codes, tokens and sessions).
    pub cleanup_interval: u32,
    /// `SESSION_MAX_AGE`: absolute lifetime of a browser session, seconds,
    /// however active it is (beside the sliding 12 hours).
    pub session_max_age: u32,
    /// `MAX_FAILURES_PER_ACCOUNT`: failed password checks or client
    /// authentications allowed per user name or client id in the window.
    pub max_failures_per_account: u32,
    /// `MAX_FAILURES_PER_ADDRESS`: failures allowed per client address.
    pub max_failures_per_address: u32,
    /// `FAILURE_WINDOW`: the sliding window of those limits, in seconds.
    pub failure_window: u32,
    /// `TRUSTED_PROXIES`: addresses of reverse proxies whose
    /// `X-Forwarded-For` names the real client (for the per-address limit).
    pub trusted_proxies: Vec<std::net::IpAddr>,
    /// `LOG_FORMAT`: plain text or JSON log lines.
    pub log_format: LogFormat,
    /// `LOG`: the log filter (`tracing` `EnvFilter` syntax).
    pub log_filter: String,
    /// `MIGRATE_ON_START`: whether `serve` (and the admin commands) apply
    /// pending migrations before starting.
    pub migrate_on_start: bool,
    /// `METRICS_BIND`: address of the separate `/metrics` listener (none:
    /// no metrics listener).
    pub metrics_bind: Option<SocketAddr>,
    /// `BODY_TIMEOUT`: seconds a request may take to send its whole body.
    pub body_timeout: u32,
    /// `CONFIG`: the TOML file the settings were read from, if any.
    pub config_file: Option<PathBuf>,
}

impl Config {
    /// The issuer, defaulting to `http://` + the bind address.
    #[must_use]
    pub fn issuer(&self) -> String {
        self.issuer
            .clone()
            .unwrap_or_else(|| format!("http://{}", self.bind))
    }

    /// Whether `grant` is switched on.
    #[must_use]
    pub fn grant_enabled(&self, grant: GrantType) -> bool {
        !self.disabled_grants.contains(&grant)
    }

    /// What this server offers: every grant and response type except the
    /// disabled ones (disabling implicit also removes response type `token`).
    #[must_use]
    pub fn capabilities(&self, scopes: Scope) -> ServerCapabilities {
        let mut capabilities = ServerCapabilities::all(scopes);
        capabilities.grant_types.retain(|g| self.grant_enabled(*g));
        capabilities.max_redirect_uris = self.max_redirect_uris_per_client as usize;
        if !self.grant_enabled(GrantType::Implicit) {
            capabilities
                .response_types
                .retain(|r| *r != ResponseType::Token);
        }
        capabilities
    }

    /// The checks that only apply when serving: an `https` issuer needs an
    /// explicit session key, or sessions would not survive a restart nor be
    /// shared between instances.
    ///
    /// # Errors
    /// A one-line message naming the settings.
    pub fn check_for_serving(&self) -> Result<(), String> {
        let https = self.issuer.as_deref().is_some_and(|i| {
            i.get(..8)
                .is_some_and(|p| p.eq_ignore_ascii_case("https://"))
        });
        if https && self.session_key.is_none() {
            return Err(format!(
                "ISSUER is an https URL but SESSION_KEY is not set: configure a session key of \
                 at least {MIN_SESSION_KEY_BYTES} bytes (e.g. `openssl rand -base64 64`), the \
                 same on every instance"
            ));
        }
        Ok(())
    }
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("database_url", &redact_url(&self.database_url))
            .field("pool_size", &self.pool_size)
            .field("bind", &self.bind)
            .field("issuer", &self.issuer)
            .field("session_key", &self.session_key)
            .field("bcrypt_cost", &self.bcrypt_cost)
            .field("scopes", &self.scopes)
            .field("code_ttl", &self.code_ttl)
            .field("access_token_ttl", &self.access_token_ttl)
            .field("refresh_token_ttl", &self.refresh_token_ttl)
            .field("refresh_grace", &self.refresh_grace)
            .field("disabled_grants", &self.disabled_grants)
            .field("max_clients_per_owner", &self.max_clients_per_owner)
            .field(
                "max_redirect_uris_per_client",
                &self.max_redirect_uris_per_client,
            )
            .field(
                "max_pending_codes_per_grant",
                &self.max_pending_codes_per_grant,
            )
            .field("cleanup_interval", &self.cleanup_interval)
            .field("session_max_age", &self.session_max_age)
            .field("max_failures_per_account", &self.max_failures_per_account)
            .field("max_failures_per_address", &self.max_failures_per_address)
            .field("failure_window", &self.failure_window)
            .field("trusted_proxies", &self.trusted_proxies)
            .field("log_format", &self.log_format)
            .field("log_filter", &self.log_filter)
            .field("migrate_on_start", &self.migrate_on_start)
            .field("metrics_bind", &self.metrics_bind)
            .field("body_timeout", &self.body_timeout)
            .field("config_file", &self.config_file)
            .finish()
    }
}

/// The URL with its password, if any, replaced.
fn redact_url(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            let _ = parsed.set_password(Some("redacted"));
            parsed.to_string()
        }
        _ => url.to_owned(),
    }
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines (the default).
    Text,
    /// One JSON object per line.
    Json,
}

/// A grant that can be switched off (`none` switches none off, to override
/// a file's list from a flag or the environment).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum GrantSwitch {
    /// The implicit grant (and response type `token`).
    Implicit,
    /// The resource owner password credentials grant.
    Password,
    /// Nothing.
    None,
}

/// A session key, redacted in `Debug`.
#[derive(Clone)]
pub struct SessionKey(pub Vec<u8>);

impl SessionKey {
    /// Checks the length; the error never repeats the key.
    ///
    /// # Errors
    /// A key shorter than [`MIN_SESSION_KEY_BYTES`].
    pub fn new(value: &str) -> Result<Self, String> {
        if value.len() < MIN_SESSION_KEY_BYTES {
            return Err(format!(
                "SESSION_KEY must be at least {MIN_SESSION_KEY_BYTES} bytes long (it has {})",
                value.len()
            ));
        }
        Ok(Self(value.as_bytes().to_vec()))
    }
}

impl std::str::FromStr for SessionKey {
    type Err = String;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        Self::new(value)
    }
}

impl fmt::Debug for SessionKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SessionKey([redacted])")
    }
}

/// The settings as given on the command line and in the environment.
/// Defaults are applied by [`Flags::resolve`], after the file.
#[derive(Debug, Clone, Args)]
pub struct Flags {
    /// TOML file with settings (keys as in the README); flags and the
    /// environment override it.
    #[arg(long = "config", env = "CONFIG", value_name = "PATH", global = true)]
    pub config: Option<PathBuf>,

    /// Database URL: `sqlite://PATH` (or a plain path) or `postgres://…`
    /// [default: sqlite://oauth2.db].
    #[arg(long, env = "DATABASE_URL", global = true, hide_env_values = true)]
    pub database_url: Option<String>,

    /// Largest number of pooled database connections [default: 8].
    #[arg(long, env = "DATABASE_POOL_SIZE", global = true)]
    pub pool_size: Option<u32>,

    /// Address to listen on [default: 127.0.0.1:5000].
    #[arg(long, env = "BIND", global = true)]
    pub bind: Option<SocketAddr>,

    /// Issuer identifier and public base URL [default: http:// + bind].
    #[arg(long, env = "ISSUER", global = true)]
    pub issuer: Option<String>,

    /// Key for session cookies, at least 64 bytes; required with an https
    /// issuer [default: random at start, sessions end on restart].
    #[arg(long, env = "SESSION_KEY", global = true, hide_env_values = true)]
    pub session_key: Option<String>,

    /// bcrypt cost for user passwords, 4 to 31 [default: 12].
    #[arg(long, env = "BCRYPT_COST", global = true)]
    pub bcrypt_cost: Option<u32>,

    /// Scopes this server knows, space-separated [default: "profile email"].
    #[arg(long, env = "SCOPES", global = true)]
    pub scopes: Option<String>,

    /// Authorization code lifetime in seconds, 1 to 600 [default: 60].
    #[arg(long, env = "CODE_TTL", global = true)]
    pub code_ttl: Option<u32>,

    /// Access token lifetime in seconds [default: 3600].
    #[arg(long, env = "ACCESS_TOKEN_TTL", global = true)]
    pub access_token_ttl: Option<u32>,

    /// Refresh token absolute lifetime in seconds [default: 2592000].
    #[arg(long, env = "REFRESH_TOKEN_TTL", global = true)]
    pub refresh_token_ttl: Option<u32>,

    /// Seconds, 1 to 60, after a rotation during which a duplicate of the
    /// old refresh token is refused without revoking its family [default: 10].
    #[arg(long, env = "REFRESH_GRACE", global = true)]
    pub refresh_grace: Option<u32>,

    /// Switch a grant off (repeat for both; the environment takes a
    /// comma-separated list; `none` overrides the file) [default: none].
    #[arg(
        long = "disable-grant",
        env = "DISABLE_GRANTS",
        value_enum,
        value_delimiter = ',',
        global = true
    )]
    pub disable_grant: Option<Vec<GrantSwitch>>,

    /// Clients one user may register on the pages (the admin command is
    /// not limited), 1 to 100000 [default: 50].
    #[arg(long, env = "MAX_CLIENTS_PER_OWNER", global = true)]
    pub max_clients_per_owner: Option<u32>,

    /// Redirect URIs one client may register, 1 to 1000 [default: 20].
    #[arg(long, env = "MAX_REDIRECT_URIS_PER_CLIENT", global = true)]
    pub max_redirect_uris_per_client: Option<u32>,

    /// Unused, unexpired authorization codes one user may hold for one
    /// client, 1 to 1000 [default: 10].
    #[arg(long, env = "MAX_PENDING_CODES_PER_GRANT", global = true)]
    pub max_pending_codes_per_grant: Option<u32>,

    /// Seconds between two passes of the storage cleanup (expired codes,
    /// dead tokens and sessions), 1 to 86400 [default: 60].
    #[arg(long, env = "CLEANUP_INTERVAL", global = true)]
    pub cleanup_interval: Option<u32>,

    /// Absolute lifetime of a browser session in seconds, however active,
    /// 1 to 31536000 [default: 604800, 7 days].
    #[arg(long, env = "SESSION_MAX_AGE", global = true)]
    pub session_max_age: Option<u32>,

    /// Failed password checks or client authentications allowed per user
    /// name or client id within the window; then 429 [default: 10].
    #[arg(long, env = "MAX_FAILURES_PER_ACCOUNT", global = true)]
    pub max_failures_per_account: Option<u32>,

    /// Failures allowed per client address within the window [default: 100].
    #[arg(long, env = "MAX_FAILURES_PER_ADDRESS", global = true)]
    pub max_failures_per_address: Option<u32>,

    /// Sliding window of the failure limits, in seconds [default: 900].
    #[arg(long, env = "FAILURE_WINDOW", global = true)]
    pub failure_window: Option<u32>,

    /// IP addresses of reverse proxies in front of the server, comma-separated:
    /// for requests from them the client address is taken from
    /// `X-Forwarded-For` [default: none].
    #[arg(long, env = "TRUSTED_PROXIES", value_delimiter = ',', global = true)]
    pub trusted_proxies: Option<Vec<std::net::IpAddr>>,

    /// Log line format [default: text].
    #[arg(long, env = "LOG_FORMAT", value_enum, global = true)]
    pub log_format: Option<LogFormat>,

    /// Log filter in `tracing` syntax, e.g. `info,adapters=debug` [default: info].
    #[arg(long = "log", env = "LOG", value_name = "FILTER", global = true)]
    pub log_filter: Option<String>,

    /// Apply pending migrations when starting; with false, `serve` refuses
    /// to start on an outdated schema (run `migrate` first) [default: true].
    #[arg(
        long,
        env = "MIGRATE_ON_START",
        value_name = "BOOL",
        value_parser = BoolishValueParser::new(),
        global = true
    )]
    pub migrate_on_start: Option<bool>,

    /// Address of a separate listener serving only `/metrics` (e.g.
    /// 127.0.0.1:9100); the main listener answers 404 there [default: none].
    #[arg(long, env = "METRICS_BIND", global = true)]
    pub metrics_bind: Option<SocketAddr>,

    /// Seconds, 1 to 300, within which a request must send its whole body;
    /// then 408 and the connection is closed [default: 10].
    #[arg(long, env = "BODY_TIMEOUT", global = true)]
    pub body_timeout: Option<u32>,
}

/// The settings of the TOML file; keys are the field names.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileSettings {
    database_url: Option<String>,
    pool_size: Option<u32>,
    bind: Option<String>,
    issuer: Option<String>,
    session_key: Option<String>,
    bcrypt_cost: Option<u32>,
    scopes: Option<String>,
    code_ttl: Option<u32>,
    access_token_ttl: Option<u32>,
    refresh_token_ttl: Option<u32>,
    refresh_grace: Option<u32>,
    disable_grants: Option<Vec<GrantSwitch>>,
    max_clients_per_owner: Option<u32>,
    max_redirect_uris_per_client: Option<u32>,
    max_pending_codes_per_grant: Option<u32>,
    cleanup_interval: Option<u32>,
    session_max_age: Option<u32>,
    max_failures_per_account: Option<u32>,
    max_failures_per_address: Option<u32>,
    failure_window: Option<u32>,
    trusted_proxies: Option<Vec<std::net::IpAddr>>,
    log_format: Option<LogFormat>,
    log: Option<String>,
    migrate_on_start: Option<bool>,
    metrics_bind: Option<String>,
    body_timeout: Option<u32>,
}

impl FileSettings {
    fn load(path: &Path) -> Result<Self, String> {
        let shown = path.display();
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("CONFIG: cannot read {shown}: {e}"))?;
        toml::from_str(&text).map_err(|e| {
            let line = e
                .span()
                .and_then(|span| text.get(..span.start))
                .map(|before| before.matches('\n').count() + 1);
            let message = e.message().trim().replace('\n', " ");
            match line {
                Some(line) => format!("CONFIG: {shown}, line {line}: {message}"),
                None => format!("CONFIG: {shown}: {message}"),
            }
        })
    }
}

fn in_range(name: &str, value: u32, low: u32, high: u32) -> Result<u32, String> {
    if (low..=high).contains(&value) {
        Ok(value)
    } else if high == u32::MAX {
        Err(format!("{name} must be at least {low} (got {value})"))
    } else {
        Err(format!(
            "{name} must be between {low} and {high} (got {value})"
        ))
    }
}

impl Flags {
    /// Reads the file (if any), applies the defaults and checks every value.
    ///
    /// # Errors
    /// A one-line message naming the setting by its environment variable.
    pub fn resolve(self) -> Result<Config, String> {
        let file = match &self.config {
            Some(path) => FileSettings::load(path)?,
            None => FileSettings::default(),
        };

        let database_url = self
            .database_url
            .or(file.database_url)
            .unwrap_or_else(|| defaults::DATABASE_URL.to_owned());
        if database_url.trim().is_empty() {
            return Err("DATABASE_URL must not be empty".to_owned());
        }
        let pool_size = in_range(
            "DATABASE_POOL_SIZE",
            self.pool_size
                .or(file.pool_size)
                .unwrap_or(defaults::POOL_SIZE),
            1,
            1000,
        )?;
        let bind = match (self.bind, file.bind) {
            (Some(bind), _) => bind,
            (None, Some(text)) => text
                .trim()
                .parse()
                .map_err(|_| format!("BIND must be an address like 127.0.0.1:5000 (got {text})"))?,
            (None, None) => defaults::BIND
                .parse()
                .map_err(|_| "BIND: the default does not parse".to_owned())?,
        };
        let issuer = self.issuer.or(file.issuer);
        if let Some(issuer) = &issuer {
            let valid = url::Url::parse(issuer).is_ok_and(|u| {
                matches!(u.scheme(), "http" | "https")
                    && u.host().is_some()
                    && u.query().is_none()
                    && u.fragment().is_none()
            });
            if !valid {
                return Err(format!(
                    "ISSUER must be an http:// or https:// URL without query or fragment (got {issuer})"
                ));
            }
        }
        let session_key = self
            .session_key
            .or(file.session_key)
            .map(|key| SessionKey::new(&key))
            .transpose()?;
        let bcrypt_cost = in_range(
            "BCRYPT_COST",
            self.bcrypt_cost
                .or(file.bcrypt_cost)
                .unwrap_or(defaults::BCRYPT_COST),
            4,
            31,
        )?;
        let scopes = self
            .scopes
            .or(file.scopes)
            .unwrap_or_else(|| defaults::SCOPES.to_owned());
        Scope::parse(&scopes).map_err(|e| format!("SCOPES: {}", e.description))?;
        let code_ttl = in_range(
            "CODE_TTL",
            self.code_ttl
                .or(file.code_ttl)
                .unwrap_or(defaults::CODE_TTL),
            1,
            600,
        )?;
        let access_token_ttl = in_range(
            "ACCESS_TOKEN_TTL",
            self.access_token_ttl
                .or(file.access_token_ttl)
                .unwrap_or(defaults::ACCESS_TOKEN_TTL),
            1,
            u32::MAX,
        )?;
        let refresh_token_ttl = in_range(
            "REFRESH_TOKEN_TTL",
            self.refresh_token_ttl
                .or(file.refresh_token_ttl)
                .unwrap_or(defaults::REFRESH_TOKEN_TTL),
            1,
            u32::MAX,
        )?;
        let refresh_grace = in_range(
            "REFRESH_GRACE",
            self.refresh_grace
                .or(file.refresh_grace)
                .unwrap_or(defaults::REFRESH_GRACE),
            1,
            60,
        )?;
        let switches = self
            .disable_grant
            .or(file.disable_grants)
            .unwrap_or_default();
        if switches.contains(&GrantSwitch::None) && switches.len() > 1 {
            return Err("DISABLE_GRANTS: `none` cannot be combined with a grant".to_owned());
        }
        let mut disabled_grants = Vec::new();
        for switch in switches {
            let grant = match switch {
                GrantSwitch::Implicit => GrantType::Implicit,
                GrantSwitch::Password => GrantType::Password,
                GrantSwitch::None => continue,
            };
            if !disabled_grants.contains(&grant) {
                disabled_grants.push(grant);
            }
        }
        let max_clients_per_owner = in_range(
            "MAX_CLIENTS_PER_OWNER",
            self.max_clients_per_owner
                .or(file.max_clients_per_owner)
                .unwrap_or(defaults::MAX_CLIENTS_PER_OWNER),
            1,
            100_000,
        )?;
        let max_redirect_uris_per_client = in_range(
            "MAX_REDIRECT_URIS_PER_CLIENT",
            self.max_redirect_uris_per_client
                .or(file.max_redirect_uris_per_client)
                .unwrap_or(defaults::MAX_REDIRECT_URIS_PER_CLIENT),
            1,
            1000,
        )?;
        let max_pending_codes_per_grant = in_range(
            "MAX_PENDING_CODES_PER_GRANT",
            self.max_pending_codes_per_grant
                .or(file.max_pending_codes_per_grant)
                .unwrap_or(defaults::MAX_PENDING_CODES_PER_GRANT),
            1,
            1000,
        )?;
        let cleanup_interval = in_range(
            "CLEANUP_INTERVAL",
            self.cleanup_interval
                .or(file.cleanup_interval)
                .unwrap_or(defaults::CLEANUP_INTERVAL),
            1,
            86_400,
        )?;
        let session_max_age = in_range(
            "SESSION_MAX_AGE",
            self.session_max_age
                .or(file.session_max_age)
                .unwrap_or(defaults::SESSION_MAX_AGE),
            1,
            31_536_000,
        )?;
        let max_failures_per_account = in_range(
            "MAX_FAILURES_PER_ACCOUNT",
            self.max_failures_per_account
                .or(file.max_failures_per_account)
                .unwrap_or(10),
            1,
            1_000_000,
        )?;
        let max_failures_per_address = in_range(
            "MAX_FAILURES_PER_ADDRESS",
            self.max_failures_per_address
                .or(file.max_failures_per_address)
                .unwrap_or(100),
            1,
            1_000_000,
        )?;
        let failure_window = in_range(
            "FAILURE_WINDOW",
            self.failure_window.or(file.failure_window).unwrap_or(900),
            1,
            86_400,
        )?;
        let trusted_proxies = self
            .trusted_proxies
            .or(file.trusted_proxies)
            .unwrap_or_default();
        let log_format = self
            .log_format
            .or(file.log_format)
            .unwrap_or(LogFormat::Text);
        let log_filter = self
            .log_filter
            .or(file.log)
            .unwrap_or_else(|| defaults::LOG.to_owned());
        tracing_subscriber::EnvFilter::builder()
            .parse(&log_filter)
            .map_err(|e| format!("LOG: not a valid log filter: {e}"))?;
        let migrate_on_start = self
            .migrate_on_start
            .or(file.migrate_on_start)
            .unwrap_or(true);
        let metrics_bind = match (self.metrics_bind, file.metrics_bind) {
            (Some(bind), _) => Some(bind),
            (None, Some(text)) => Some(text.trim().parse().map_err(|_| {
                format!("METRICS_BIND must be an address like 127.0.0.1:9100 (got {text})")
            })?),
            (None, None) => None,
        };
        let body_timeout = in_range(
            "BODY_TIMEOUT",
            self.body_timeout
                .or(file.body_timeout)
                .unwrap_or(defaults::BODY_TIMEOUT),
            1,
            300,
        )?;

        Ok(Config {
            database_url,
            pool_size,
            bind,
            issuer,
            session_key,
            bcrypt_cost,
            scopes,
            code_ttl,
            access_token_ttl,
            refresh_token_ttl,
            refresh_grace,
            disabled_grants,
            max_clients_per_owner,
            max_redirect_uris_per_client,
            max_pending_codes_per_grant,
            cleanup_interval,
            session_max_age,
            max_failures_per_account,
            max_failures_per_address,
            failure_window,
            trusted_proxies,
            log_format,
            log_filter,
            migrate_on_start,
            metrics_bind,
            body_timeout,
            config_file: self.config,
        })
    }
}

impl FromArgMatches for Config {
    fn from_arg_matches(matches: &ArgMatches) -> Result<Self, clap::Error> {
        Flags::from_arg_matches(matches)?
            .resolve()
            .map_err(|message| clap::Error::raw(clap::error::ErrorKind::ValueValidation, message))
    }

    fn update_from_arg_matches(&mut self, matches: &ArgMatches) -> Result<(), clap::Error> {
        *self = Self::from_arg_matches(matches)?;
        Ok(())
    }
}

impl Args for Config {
    fn group_id() -> Option<clap::Id> {
        Flags::group_id()
    }

    fn augment_args(cmd: clap::Command) -> clap::Command {
        Flags::augment_args(cmd)
    }

    fn augment_args_for_update(cmd: clap::Command) -> clap::Command {
        Flags::augment_args_for_update(cmd)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;
    use clap::Parser;

    #[derive(Debug, Parser)]
    struct Probe {
        #[command(flatten)]
        config: Flags,
    }

    fn flags(args: &[&str]) -> Flags {
        let mut all = vec!["probe"];
        all.extend_from_slice(args);
        Probe::try_parse_from(all).unwrap().config
    }

    fn file(text: &str) -> tempfile::NamedTempFile {
        use std::io::Write;
        let mut file = tempfile::NamedTempFile::new().unwrap();
        file.write_all(text.as_bytes()).unwrap();
        file
    }

    #[test]
    fn defaults_apply_when_nothing_is_given() {
        let config = Flags::default_for_tests().resolve().unwrap();

        assert_eq!(config.database_url, "sqlite://oauth2.db");
        assert_eq!(config.pool_size, 8);
        assert_eq!(config.bind.to_string(), "127.0.0.1:5000");
        assert_eq!(config.bcrypt_cost, 12);
        assert_eq!(config.code_ttl, 60);
        assert_eq!(config.access_token_ttl, 3600);
        assert_eq!(config.refresh_token_ttl, 2_592_000);
        assert_eq!(config.refresh_grace, 10);
        assert!(config.disabled_grants.is_empty());
        assert_eq!(config.log_format, LogFormat::Text);
        assert!(config.migrate_on_start);
        assert!(config.session_key.is_none());
        assert!(config.metrics_bind.is_none());
        assert_eq!(config.body_timeout, 10);
    }

    #[test]
    fn metrics_bind_and_body_timeout_are_checked() {
        let toml = file("metrics_bind = \"127.0.0.1:9100\"\nbody_timeout = 3\n");

        let config = flags(&["--config", toml.path().to_str().unwrap()])
            .resolve()
            .unwrap();
        let bad_bind = flags(&[
            "--config",
            file("metrics_bind = \"nope\"\n").path().to_str().unwrap(),
        ])
        .resolve()
        .unwrap_err();
        let bad_timeout = flags(&["--body-timeout", "0"]).resolve().unwrap_err();

        assert_eq!(
            config.metrics_bind.map(|a| a.to_string()).as_deref(),
            Some("127.0.0.1:9100")
        );
        assert_eq!(config.body_timeout, 3);
        assert!(
            bad_bind.starts_with("METRICS_BIND must be an address"),
            "{bad_bind}"
        );
        assert!(
            bad_timeout.starts_with("BODY_TIMEOUT must be between 1 and 300"),
            "{bad_timeout}"
        );
    }

    #[test]
    fn the_file_fills_what_flags_leave_and_flags_win() {
        let toml = file(
            "database_url = \"sqlite:///tmp/x.db\"\nbcrypt_cost = 6\nbind = \"0.0.0.0:8080\"\n\
             disable_grants = [\"implicit\", \"password\"]\nlog_format = \"json\"\n\
             migrate_on_start = false\naccess_token_ttl = 600\n",
        );
        let path = toml.path().to_str().unwrap();

        let config = flags(&["--config", path, "--bcrypt-cost", "5"])
            .resolve()
            .unwrap();

        assert_eq!(config.database_url, "sqlite:///tmp/x.db");
        assert_eq!(config.bcrypt_cost, 5);
        assert_eq!(config.bind.to_string(), "0.0.0.0:8080");
        assert_eq!(
            config.disabled_grants,
            vec![GrantType::Implicit, GrantType::Password]
        );
        assert_eq!(config.log_format, LogFormat::Json);
        assert!(!config.migrate_on_start);
        assert_eq!(config.access_token_ttl, 600);

        let none = flags(&["--config", path, "--disable-grant", "none"])
            .resolve()
            .unwrap();
        assert!(none.disabled_grants.is_empty());
    }

    #[test]
    fn file_errors_name_the_file_line_and_key() {
        let toml = file("bcrypt_cost = 6\nbcrypt_kost = 7\n");

        let error = flags(&["--config", toml.path().to_str().unwrap()])
            .resolve()
            .unwrap_err();

        assert!(error.starts_with("CONFIG: "), "{error}");
        assert!(error.contains("line 2"), "{error}");
        assert!(error.contains("bcrypt_kost"), "{error}");
        assert!(!error.contains('\n'), "{error}");
    }

    #[test]
    fn out_of_range_values_name_the_setting_wherever_they_come_from() {
        let toml = file("code_ttl = 900\n");

        let from_file = flags(&["--config", toml.path().to_str().unwrap()])
            .resolve()
            .unwrap_err();
        let from_flag = flags(&["--bcrypt-cost", "3"]).resolve().unwrap_err();

        assert!(
            from_file.starts_with("CODE_TTL must be between 1 and 600"),
            "{from_file}"
        );
        assert!(
            from_flag.starts_with("BCRYPT_COST must be between 4 and 31"),
            "{from_flag}"
        );
    }

    #[test]
    fn session_max_age_defaults_to_a_week_and_is_read_from_file_and_flag() {
        assert_eq!(flags(&[]).resolve().unwrap().session_max_age, 604_800);
        let toml = file("session_max_age = 3600\n");
        let path = toml.path().to_str().unwrap();
        assert_eq!(
            flags(&["--config", path])
                .resolve()
                .unwrap()
                .session_max_age,
            3600
        );
        assert_eq!(
            flags(&["--config", path, "--session-max-age", "60"])
                .resolve()
                .unwrap()
                .session_max_age,
            60
        );
        let error = flags(&["--session-max-age", "0"]).resolve().unwrap_err();
        assert!(
            error.starts_with("SESSION_MAX_AGE must be between 1 and 31536000"),
            "{error}"
        );
    }

    #[test]
    fn a_short_session_key_is_refused_without_being_repeated() {
        let error = flags(&["--session-key", "short-secret-value"])
            .resolve()
            .unwrap_err();

        assert!(error.contains("SESSION_KEY"), "{error}");
        assert!(!error.contains("short-secret-value"), "{error}");
    }

    #[test]
    fn an_https_issuer_needs_a_session_key() {
        let without = flags(&["--issuer", "https://auth.example.com"])
            .resolve()
            .unwrap();
        let with = flags(&[
            "--issuer",
            "https://auth.example.com",
            "--session-key",
            &"k".repeat(64),
        ])
        .resolve()
        .unwrap();

        let error = without.check_for_serving().unwrap_err();
        assert!(error.contains("SESSION_KEY"), "{error}");
        assert!(with.check_for_serving().is_ok());
        assert!(flags(&[]).resolve().unwrap().check_for_serving().is_ok());
    }

    #[test]
    fn quota_settings_have_defaults_and_are_checked() {
        let config = flags(&[]).resolve().unwrap();
        assert_eq!(config.max_clients_per_owner, 50);
        assert_eq!(config.max_redirect_uris_per_client, 20);
        assert_eq!(config.max_pending_codes_per_grant, 10);
        let toml = file("max_clients_per_owner = 3\nmax_redirect_uris_per_client = 2\n");
        let config = flags(&[
            "--config",
            toml.path().to_str().unwrap(),
            "--max-pending-codes-per-grant",
            "4",
        ])
        .resolve()
        .unwrap();
        assert_eq!(config.max_clients_per_owner, 3);
        assert_eq!(config.max_pending_codes_per_grant, 4);
        assert_eq!(
            config
                .capabilities(Scope::parse("profile").unwrap())
                .max_redirect_uris,
            2
        );

        let error = flags(&["--max-clients-per-owner", "0"])
            .resolve()
            .unwrap_err();
        assert!(
            error.starts_with("MAX_CLIENTS_PER_OWNER must be between 1 and 100000"),
            "{error}"
        );
    }

    #[test]
    fn disabling_implicit_removes_the_token_response_type() {
        let config = flags(&["--disable-grant", "implicit"]).resolve().unwrap();

        let capabilities = config.capabilities(Scope::parse("profile").unwrap());

        assert!(!capabilities.grant_types.contains(&GrantType::Implicit));
        assert!(capabilities.grant_types.contains(&GrantType::Password));
        assert_eq!(capabilities.response_types, vec![ResponseType::Code]);
    }

    #[test]
    fn debug_redacts_the_session_key_and_the_database_password() {
        let config = flags(&[
            "--database-url",
            "postgres://u:hunter2@db/x",
            "--session-key",
            &"s".repeat(64),
        ])
        .resolve()
        .unwrap();

        let shown = format!("{config:?}");
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(!shown.contains(&"s".repeat(64)), "{shown}");
    }

    impl Flags {
        fn default_for_tests() -> Self {
            Self {
                config: None,
                database_url: None,
                pool_size: None,
                bind: None,
                issuer: None,
                session_key: None,
                bcrypt_cost: None,
                scopes: None,
                code_ttl: None,
                access_token_ttl: None,
                refresh_token_ttl: None,
                refresh_grace: None,
                disable_grant: None,
                max_clients_per_owner: None,
                max_redirect_uris_per_client: None,
                max_pending_codes_per_grant: None,
                cleanup_interval: None,
                session_max_age: None,
                max_failures_per_account: None,
                max_failures_per_address: None,
                failure_window: None,
                trusted_proxies: None,
                log_format: None,
                log_filter: None,
                migrate_on_start: None,
                metrics_bind: None,
                body_timeout: None,
            }
        }
    }
}
