//! Configuration: every setting comes from a flag, else its environment
//! variable, else the optional TOML file (`--config PATH` / `CONFIG`), else
//! its default.
//!
//! Each setting is declared once, as a field of [`Flags`]: its clap
//! attributes name the flag and the environment variable, the field (or its
//! serde name) is the TOML key, and its doc comment is the `--help` text with
//! the default. Clap reads the flags and the environment into `Flags`, serde
//! reads the file into the same struct, and clap lays the first over the
//! second (`update_from_arg_matches` sets only what was given), so the
//! precedence is clap's own. [`Flags::resolve`] then applies the defaults and
//! the range checks, once, into domain types: [`Config`] is the result, and
//! implements clap's `Args` itself, so `Cli::parse` yields it fully resolved.
//! Every error names the setting by its environment variable.

use std::ffi::OsStr;
use std::fmt;
use std::marker::PhantomData;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::builder::{BoolishValueParser, TypedValueParser};
use clap::error::ErrorKind;
use clap::{ArgMatches, Args, FromArgMatches, ValueEnum};
use serde::{Deserialize, Deserializer};

use domain::client::{GrantType, ServerCapabilities, DEFAULT_MAX_REDIRECT_URIS};
use domain::scope::Scope;
use domain::service::throttle::ThrottlePolicy;
use domain::service::Quotas;
use domain::time::Lifetime;
use domain::token::Lifetimes;

/// Defaults of the settings that have no domain type to carry them; the
/// others come from `Lifetimes::default()`, `ThrottlePolicy::default()`,
/// `Quotas::default()` and `DEFAULT_MAX_REDIRECT_URIS`.
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
    /// `CLEANUP_INTERVAL`, seconds.
    pub const CLEANUP_INTERVAL: u32 = 60;
    /// `SESSION_MAX_AGE`, seconds: 7 days.
    pub const SESSION_MAX_AGE: u32 = 604_800;
    /// `LOG`.
    pub const LOG: &str = "info";
    /// `BODY_TIMEOUT`, seconds.
    pub const BODY_TIMEOUT: u32 = 10;
}

/// Shortest accepted session key, in bytes.
pub const MIN_SESSION_KEY_BYTES: usize = 64;

/// Every server setting, resolved (flag > environment > file > default),
/// checked, and parsed into the types that use it. Every field that holds a
/// secret redacts itself, so the derived `Debug` shows none.
#[derive(Debug, Clone)]
pub struct Config {
    /// `DATABASE_URL`: `sqlite://PATH` (or a plain path) or `postgres://…`.
    pub database_url: DatabaseUrl,
    /// `DATABASE_POOL_SIZE`: largest number of pooled connections.
    pub pool_size: u32,
    /// `BIND`: address to listen on.
    pub bind: SocketAddr,
    /// `ISSUER`: issuer identifier and public base URL (default: http:// + bind).
    pub issuer: Option<Issuer>,
    /// `SESSION_KEY`: key for session cookies (random at start when absent).
    pub session_key: Option<SessionKey>,
    /// `BCRYPT_COST`: bcrypt cost for user passwords.
    pub bcrypt_cost: u32,
    /// `SCOPES`: scopes this server knows.
    pub scopes: Scope,
    /// `CODE_TTL`, `ACCESS_TOKEN_TTL`, `ID_TOKEN_TTL`, `REFRESH_TOKEN_TTL`,
    /// `REFRESH_GRACE`.
    pub lifetimes: Lifetimes,
    /// `DISABLE_GRANTS`: grants switched off (only implicit and password can be).
    pub disabled_grants: Vec<GrantType>,
    /// `MAX_CLIENTS_PER_OWNER`, `MAX_PENDING_CODES_PER_GRANT`.
    pub quotas: Quotas,
    /// `MAX_REDIRECT_URIS_PER_CLIENT`: redirect URIs one client may register.
    pub max_redirect_uris_per_client: usize,
    /// `CLEANUP_INTERVAL`: time between two passes of the storage cleanup
    /// timer (dead codes, tokens and sessions).
    pub cleanup_interval: Duration,
    /// `SESSION_MAX_AGE`: absolute lifetime of a browser session, however
    /// active it is (beside the sliding 12 hours).
    pub session_max_age: Lifetime,
    /// `MAX_FAILURES_PER_ACCOUNT`, `MAX_FAILURES_PER_ADDRESS`, `FAILURE_WINDOW`.
    pub throttle: ThrottlePolicy,
    /// `TRUSTED_PROXIES`: addresses of reverse proxies whose
    /// `X-Forwarded-For` names the real client (for the per-address limit).
    pub trusted_proxies: Vec<IpAddr>,
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
    /// `BODY_TIMEOUT`: time a request may take to send its whole body.
    pub body_timeout: Duration,
    /// `CONFIG`: the TOML file the settings were read from, if any.
    pub config_file: Option<PathBuf>,
}

impl Config {
    /// The issuer, defaulting to `http://` + the bind address.
    #[must_use]
    pub fn issuer(&self) -> String {
        self.issuer.as_ref().map_or_else(
            || format!("http://{}", self.bind),
            |i| i.as_str().to_owned(),
        )
    }

    /// Whether `grant` is switched on.
    #[must_use]
    pub fn grant_enabled(&self, grant: GrantType) -> bool {
        !self.disabled_grants.contains(&grant)
    }

    /// What this server offers: every grant and response type except the
    /// disabled ones (the rule is [`ServerCapabilities::without`]).
    #[must_use]
    pub fn capabilities(&self) -> ServerCapabilities {
        ServerCapabilities {
            max_redirect_uris: self.max_redirect_uris_per_client,
            ..ServerCapabilities::all(self.scopes.clone())
        }
        .without(&self.disabled_grants)
    }

    /// The checks that only apply when serving: an `https` issuer needs an
    /// explicit session key, or sessions would not survive a restart nor be
    /// shared between instances.
    ///
    /// # Errors
    /// A one-line message naming the settings.
    pub fn check_for_serving(&self) -> Result<(), String> {
        let https = self.issuer.as_ref().is_some_and(Issuer::is_https);
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

/// A value parsed from the text of a flag, an environment variable or a
/// TOML string, with an error that names its setting and never repeats a
/// secret. Clap and serde both parse through it ([`setting`],
/// [`from_text`]), so a value has one parser whatever its source.
pub trait FromSetting: Sized {
    /// Parses `text`.
    ///
    /// # Errors
    /// A one-line message naming the setting by its environment variable.
    fn from_setting(text: &str) -> Result<Self, String>;
}

/// `DATABASE_URL`: redacts its password in `Debug` and `Display`.
#[derive(Clone, PartialEq, Eq)]
pub struct DatabaseUrl(String);

impl DatabaseUrl {
    /// The URL as given, password included: for opening the database only.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The URL with its password, if any, replaced.
    fn redacted(&self) -> String {
        match url::Url::parse(&self.0) {
            Ok(mut parsed) if parsed.password().is_some() => {
                let _ = parsed.set_password(Some("redacted"));
                parsed.to_string()
            }
            _ => self.0.clone(),
        }
    }
}

impl From<&str> for DatabaseUrl {
    fn from(url: &str) -> Self {
        Self(url.to_owned())
    }
}

impl FromSetting for DatabaseUrl {
    fn from_setting(text: &str) -> Result<Self, String> {
        if text.trim().is_empty() {
            return Err("DATABASE_URL must not be empty".to_owned());
        }
        Ok(Self(text.to_owned()))
    }
}

impl fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("DatabaseUrl")
            .field(&self.redacted())
            .finish()
    }
}

impl fmt::Display for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted())
    }
}

/// `ISSUER`: an `http` or `https` URL with a host and without query or
/// fragment (RFC 8414 §2), kept as written, since the metadata and `iss`
/// repeat it byte for byte and `Url` would add a trailing slash.
#[derive(Clone, PartialEq, Eq)]
pub struct Issuer {
    text: String,
    url: url::Url,
}

impl Issuer {
    /// `http://` + `address`: the issuer when none is configured.
    ///
    /// # Errors
    /// None in practice: a socket address always makes a URL.
    pub fn for_address(address: SocketAddr) -> Result<Self, String> {
        Self::from_setting(&format!("http://{address}"))
    }

    /// The issuer as written.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Whether it is an `https` URL (cookies are then `Secure`).
    #[must_use]
    pub fn is_https(&self) -> bool {
        self.url.scheme() == "https"
    }

    /// Its origin, e.g. `https://auth.example.com` (RFC 6454 §6.2).
    #[must_use]
    pub fn origin(&self) -> String {
        self.url.origin().ascii_serialization()
    }
}

impl FromSetting for Issuer {
    fn from_setting(text: &str) -> Result<Self, String> {
        match url::Url::parse(text) {
            Ok(url)
                if matches!(url.scheme(), "http" | "https")
                    && url.host().is_some()
                    && url.query().is_none()
                    && url.fragment().is_none() =>
            {
                Ok(Self {
                    text: text.to_owned(),
                    url,
                })
            }
            _ => Err(format!(
                "ISSUER must be an http:// or https:// URL without query or fragment (got {text})"
            )),
        }
    }
}

impl fmt::Debug for Issuer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Issuer").field(&self.text).finish()
    }
}

impl FromSetting for Scope {
    fn from_setting(text: &str) -> Result<Self, String> {
        Scope::parse(text).map_err(|e| format!("SCOPES: {}", e.description))
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

impl FromSetting for SessionKey {
    fn from_setting(text: &str) -> Result<Self, String> {
        Self::new(text)
    }
}

impl fmt::Debug for SessionKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SessionKey([redacted])")
    }
}

/// Clap's parser for a [`FromSetting`] value. Its error is the setting's
/// own one-line message: clap's usual "invalid value '…'" would repeat the
/// value, which for `SESSION_KEY` is the secret.
#[derive(Clone)]
pub struct Setting<T>(PhantomData<fn() -> T>);

/// The clap value parser of a [`FromSetting`] type.
#[must_use]
pub fn setting<T>() -> Setting<T> {
    Setting(PhantomData)
}

impl<T: FromSetting + Clone + Send + Sync + 'static> TypedValueParser for Setting<T> {
    type Value = T;

    fn parse_ref(
        &self,
        _cmd: &clap::Command,
        _arg: Option<&clap::Arg>,
        value: &OsStr,
    ) -> Result<T, clap::Error> {
        let text = value
            .to_str()
            .ok_or_else(|| clap::Error::raw(ErrorKind::InvalidUtf8, "a setting is not UTF-8"))?;
        T::from_setting(text)
            .map_err(|message| clap::Error::raw(ErrorKind::ValueValidation, message))
    }
}

/// Serde's parser for a [`FromSetting`] value in the TOML file.
fn from_text<'de, D: Deserializer<'de>, T: FromSetting>(d: D) -> Result<Option<T>, D::Error> {
    let text = String::deserialize(d)?;
    T::from_setting(&text)
        .map(Some)
        .map_err(serde::de::Error::custom)
}

/// An address in the TOML file, with the message of its setting.
fn address(name: &str, example: &str, text: &str) -> Result<SocketAddr, String> {
    text.trim()
        .parse()
        .map_err(|_| format!("{name} must be an address like {example} (got {text})"))
}

fn bind_from_text<'de, D: Deserializer<'de>>(d: D) -> Result<Option<SocketAddr>, D::Error> {
    let text = String::deserialize(d)?;
    address("BIND", "127.0.0.1:5000", &text)
        .map(Some)
        .map_err(serde::de::Error::custom)
}

fn metrics_bind_from_text<'de, D: Deserializer<'de>>(d: D) -> Result<Option<SocketAddr>, D::Error> {
    let text = String::deserialize(d)?;
    address("METRICS_BIND", "127.0.0.1:9100", &text)
        .map(Some)
        .map_err(serde::de::Error::custom)
}

/// The settings as given: on the command line and in the environment
/// (clap), or in the TOML file (serde; the keys are the field names). Every
/// value is optional, so that "not given" is visible to the precedence;
/// [`Flags::resolve`] applies the defaults. Each `[default: …]` below is
/// checked against the real default and the README by the tests.
#[derive(Debug, Clone, Default, Args, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Flags {
    /// TOML file with settings (keys as in the README); flags and the
    /// environment override it.
    #[arg(long = "config", env = "CONFIG", value_name = "PATH", global = true)]
    #[serde(skip)]
    pub config: Option<PathBuf>,

    /// Database URL: `sqlite://PATH` (or a plain path) or `postgres://…`
    /// [default: sqlite://oauth2.db].
    #[arg(long, env = "DATABASE_URL", global = true, hide_env_values = true,
          value_parser = setting::<DatabaseUrl>())]
    #[serde(deserialize_with = "from_text")]
    pub database_url: Option<DatabaseUrl>,

    /// Largest number of pooled database connections [default: 8].
    #[arg(long, env = "DATABASE_POOL_SIZE", global = true)]
    pub pool_size: Option<u32>,

    /// Address to listen on [default: 127.0.0.1:5000].
    #[arg(long, env = "BIND", global = true)]
    #[serde(deserialize_with = "bind_from_text")]
    pub bind: Option<SocketAddr>,

    /// Issuer identifier and public base URL [default: http:// + bind address].
    #[arg(long, env = "ISSUER", global = true, value_parser = setting::<Issuer>())]
    #[serde(deserialize_with = "from_text")]
    pub issuer: Option<Issuer>,

    /// Key for session cookies, at least 64 bytes; required with an https
    /// issuer [default: random at start, sessions end on restart].
    #[arg(long, env = "SESSION_KEY", global = true, hide_env_values = true,
          value_parser = setting::<SessionKey>())]
    #[serde(deserialize_with = "from_text")]
    pub session_key: Option<SessionKey>,

    /// bcrypt cost for user passwords, 4 to 31 [default: 12].
    #[arg(long, env = "BCRYPT_COST", global = true)]
    pub bcrypt_cost: Option<u32>,

    /// Scopes this server knows besides `openid profile email
    /// offline_access` (always known), space-separated [default: "profile
    /// email"].
    #[arg(long, env = "SCOPES", global = true, value_parser = setting::<Scope>())]
    #[serde(deserialize_with = "from_text")]
    pub scopes: Option<Scope>,

    /// Authorization code lifetime in seconds, 1 to 600 [default: 60].
    #[arg(long, env = "CODE_TTL", global = true)]
    pub code_ttl: Option<u32>,

    /// Access token lifetime in seconds [default: 3600].
    #[arg(long, env = "ACCESS_TOKEN_TTL", global = true)]
    pub access_token_ttl: Option<u32>,

    /// ID token lifetime in seconds (OpenID Connect `exp`) [default: 3600].
    #[arg(long, env = "ID_TOKEN_TTL", global = true)]
    pub id_token_ttl: Option<u32>,

    /// Refresh token absolute lifetime in seconds [default: 2592000 (30 days)].
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
    #[serde(rename = "disable_grants")]
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
    /// 1 to 31536000 [default: 604800 (7 days)].
    #[arg(long, env = "SESSION_MAX_AGE", global = true)]
    pub session_max_age: Option<u32>,

    /// Failed password checks or client authentications allowed per user
    /// name or client id within the window; then 429 [default: 10].
    #[arg(long, env = "MAX_FAILURES_PER_ACCOUNT", global = true)]
    pub max_failures_per_account: Option<u32>,

    /// Failures allowed per client address within the window [default: 100].
    #[arg(long, env = "MAX_FAILURES_PER_ADDRESS", global = true)]
    pub max_failures_per_address: Option<u32>,

    /// Sliding window of the failure limits, in seconds, 1 to 86400
    /// [default: 900].
    #[arg(long, env = "FAILURE_WINDOW", global = true)]
    pub failure_window: Option<u32>,

    /// IP addresses of reverse proxies in front of the server, comma-separated:
    /// for requests from them the client address is taken from
    /// `X-Forwarded-For` [default: none].
    #[arg(long, env = "TRUSTED_PROXIES", value_delimiter = ',', global = true)]
    pub trusted_proxies: Option<Vec<IpAddr>>,

    /// Log line format [default: text].
    #[arg(long, env = "LOG_FORMAT", value_enum, global = true)]
    pub log_format: Option<LogFormat>,

    /// Log filter in `tracing` syntax, e.g. `info,adapters=debug` [default: info].
    #[arg(long = "log", env = "LOG", value_name = "FILTER", global = true)]
    #[serde(rename = "log")]
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
    #[serde(deserialize_with = "metrics_bind_from_text")]
    pub metrics_bind: Option<SocketAddr>,

    /// Seconds, 1 to 300, within which a request must send its whole body;
    /// then 408 and the connection is closed [default: 10].
    #[arg(long, env = "BODY_TIMEOUT", global = true)]
    pub body_timeout: Option<u32>,
}

impl Flags {
    /// Reads the TOML file at `path`.
    ///
    /// # Errors
    /// A one-line message naming the file, the line and the key.
    pub fn load(path: &Path) -> Result<Self, String> {
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

    /// The flags and environment in `matches` over the file they name (if
    /// any), resolved.
    ///
    /// # Errors
    /// A one-line message naming the setting by its environment variable.
    pub fn resolve_matches(matches: &ArgMatches) -> Result<Config, String> {
        let given = Self::from_arg_matches(matches).map_err(|e| e.to_string())?;
        let mut settings = match &given.config {
            Some(path) => Self::load(path)?,
            None => Self::default(),
        };
        // Sets only the fields given as a flag or in the environment.
        settings
            .update_from_arg_matches(matches)
            .map_err(|e| e.to_string())?;
        settings.resolve()
    }

    /// Applies the defaults and checks every range, into domain types.
    ///
    /// # Errors
    /// A one-line message naming the setting by its environment variable.
    pub fn resolve(self) -> Result<Config, String> {
        let lifetimes = Lifetimes::default();
        let throttle = ThrottlePolicy::default();
        let quotas = Quotas::default();
        let mut disabled_grants = Vec::new();
        let switches = self.disable_grant.unwrap_or_default();
        if switches.contains(&GrantSwitch::None) && switches.len() > 1 {
            return Err("DISABLE_GRANTS: `none` cannot be combined with a grant".to_owned());
        }
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
        let log_filter = self.log_filter.unwrap_or_else(|| defaults::LOG.to_owned());
        tracing_subscriber::EnvFilter::builder()
            .parse(&log_filter)
            .map_err(|e| format!("LOG: not a valid log filter: {e}"))?;
        Ok(Config {
            database_url: self
                .database_url
                .unwrap_or_else(|| DatabaseUrl::from(defaults::DATABASE_URL)),
            pool_size: number(
                "DATABASE_POOL_SIZE",
                self.pool_size,
                defaults::POOL_SIZE,
                1,
                1000,
            )?,
            bind: match self.bind {
                Some(bind) => bind,
                None => address("BIND", "127.0.0.1:5000", defaults::BIND)?,
            },
            issuer: self.issuer,
            session_key: self.session_key,
            bcrypt_cost: number(
                "BCRYPT_COST",
                self.bcrypt_cost,
                defaults::BCRYPT_COST,
                4,
                31,
            )?,
            scopes: match self.scopes {
                Some(scopes) => scopes,
                None => Scope::from_setting(defaults::SCOPES)?,
            },
            lifetimes: Lifetimes {
                code: seconds("CODE_TTL", self.code_ttl, lifetimes.code, 600)?,
                access_token: seconds(
                    "ACCESS_TOKEN_TTL",
                    self.access_token_ttl,
                    lifetimes.access_token,
                    u32::MAX,
                )?,
                id_token: seconds(
                    "ID_TOKEN_TTL",
                    self.id_token_ttl,
                    lifetimes.id_token,
                    u32::MAX,
                )?,
                refresh_token: seconds(
                    "REFRESH_TOKEN_TTL",
                    self.refresh_token_ttl,
                    lifetimes.refresh_token,
                    u32::MAX,
                )?,
                refresh_grace: seconds(
                    "REFRESH_GRACE",
                    self.refresh_grace,
                    lifetimes.refresh_grace,
                    60,
                )?,
            },
            disabled_grants,
            quotas: Quotas {
                clients_per_owner: number(
                    "MAX_CLIENTS_PER_OWNER",
                    self.max_clients_per_owner,
                    quotas.clients_per_owner,
                    1,
                    100_000,
                )?,
                pending_codes_per_grant: number(
                    "MAX_PENDING_CODES_PER_GRANT",
                    self.max_pending_codes_per_grant,
                    quotas.pending_codes_per_grant,
                    1,
                    1000,
                )?,
            },
            max_redirect_uris_per_client: match self.max_redirect_uris_per_client {
                Some(value) => in_range("MAX_REDIRECT_URIS_PER_CLIENT", value, 1, 1000)? as usize,
                None => DEFAULT_MAX_REDIRECT_URIS,
            },
            cleanup_interval: duration(
                "CLEANUP_INTERVAL",
                self.cleanup_interval,
                defaults::CLEANUP_INTERVAL,
                86_400,
            )?,
            session_max_age: seconds(
                "SESSION_MAX_AGE",
                self.session_max_age,
                Lifetime::at_least_one_second(defaults::SESSION_MAX_AGE),
                31_536_000,
            )?,
            throttle: ThrottlePolicy {
                per_account: number(
                    "MAX_FAILURES_PER_ACCOUNT",
                    self.max_failures_per_account,
                    throttle.per_account,
                    1,
                    1_000_000,
                )?,
                per_address: number(
                    "MAX_FAILURES_PER_ADDRESS",
                    self.max_failures_per_address,
                    throttle.per_address,
                    1,
                    1_000_000,
                )?,
                window: seconds(
                    "FAILURE_WINDOW",
                    self.failure_window,
                    throttle.window,
                    86_400,
                )?,
            },
            trusted_proxies: self.trusted_proxies.unwrap_or_default(),
            log_format: self.log_format.unwrap_or(LogFormat::Text),
            log_filter,
            migrate_on_start: self.migrate_on_start.unwrap_or(true),
            metrics_bind: self.metrics_bind,
            body_timeout: duration(
                "BODY_TIMEOUT",
                self.body_timeout,
                defaults::BODY_TIMEOUT,
                300,
            )?,
            config_file: self.config,
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

/// The given number, checked, else the default.
fn number(
    name: &str,
    given: Option<u32>,
    default: u32,
    low: u32,
    high: u32,
) -> Result<u32, String> {
    in_range(name, given.unwrap_or(default), low, high)
}

/// The given number of seconds (1 to `high`), else the default.
fn seconds(
    name: &str,
    given: Option<u32>,
    default: Lifetime,
    high: u32,
) -> Result<Lifetime, String> {
    match given {
        Some(value) => in_range(name, value, 1, high).map(Lifetime::at_least_one_second),
        None => Ok(default),
    }
}

/// The given number of seconds (1 to `high`), else the default, as a
/// timer's duration.
fn duration(name: &str, given: Option<u32>, default: u32, high: u32) -> Result<Duration, String> {
    number(name, given, default, 1, high).map(|s| Duration::from_secs(u64::from(s)))
}

impl FromArgMatches for Config {
    fn from_arg_matches(matches: &ArgMatches) -> Result<Self, clap::Error> {
        Flags::resolve_matches(matches)
            .map_err(|message| clap::Error::raw(ErrorKind::ValueValidation, message))
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
    use clap::{CommandFactory, Parser};
    use domain::client::ResponseType;

    #[derive(Debug, Parser)]
    struct Probe {
        #[command(flatten)]
        config: Flags,
    }

    /// The configuration `args` give: flags over the file they name over
    /// the defaults, as `Cli::parse` resolves it. A clap error (a value its
    /// parser refuses) comes back as its message without the "error: ".
    fn resolve(args: &[&str]) -> Result<Config, String> {
        let mut all = vec!["probe"];
        all.extend_from_slice(args);
        let matches = Probe::command().try_get_matches_from(all).map_err(|e| {
            e.to_string()
                .trim()
                .trim_start_matches("error: ")
                .to_owned()
        })?;
        Flags::resolve_matches(&matches)
    }

    fn file(text: &str) -> tempfile::NamedTempFile {
        use std::io::Write;
        let mut file = tempfile::NamedTempFile::new().unwrap();
        file.write_all(text.as_bytes()).unwrap();
        file
    }

    #[test]
    fn defaults_apply_when_nothing_is_given() {
        let config = Flags::default().resolve().unwrap();

        assert_eq!(config.database_url.as_str(), "sqlite://oauth2.db");
        assert_eq!(config.pool_size, 8);
        assert_eq!(config.bind.to_string(), "127.0.0.1:5000");
        assert_eq!(config.bcrypt_cost, 12);
        assert_eq!(config.scopes, Scope::parse("profile email").unwrap());
        assert_eq!(config.lifetimes.code.seconds(), 60);
        assert_eq!(config.lifetimes.access_token.seconds(), 3600);
        assert_eq!(config.lifetimes.refresh_token.seconds(), 2_592_000);
        assert_eq!(config.lifetimes.refresh_grace.seconds(), 10);
        assert_eq!(config.throttle, ThrottlePolicy::default());
        assert!(config.disabled_grants.is_empty());
        assert_eq!(config.log_format, LogFormat::Text);
        assert!(config.migrate_on_start);
        assert!(config.session_key.is_none());
        assert!(config.metrics_bind.is_none());
        assert_eq!(config.body_timeout, Duration::from_secs(10));
    }

    #[test]
    fn metrics_bind_and_body_timeout_are_checked() {
        let toml = file("metrics_bind = \"127.0.0.1:9100\"\nbody_timeout = 3\n");

        let config = resolve(&["--config", toml.path().to_str().unwrap()]).unwrap();
        let bad_bind = resolve(&[
            "--config",
            file("metrics_bind = \"nope\"\n").path().to_str().unwrap(),
        ])
        .unwrap_err();
        let bad_timeout = resolve(&["--body-timeout", "0"]).unwrap_err();

        assert_eq!(
            config.metrics_bind.map(|a| a.to_string()).as_deref(),
            Some("127.0.0.1:9100")
        );
        assert_eq!(config.body_timeout, Duration::from_secs(3));
        // A bad value in the file also names the file and line.
        assert!(bad_bind.starts_with("CONFIG: "), "{bad_bind}");
        assert!(
            bad_bind.contains("line 1: METRICS_BIND must be an address"),
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

        let config = resolve(&["--config", path, "--bcrypt-cost", "5"]).unwrap();

        assert_eq!(config.database_url.as_str(), "sqlite:///tmp/x.db");
        assert_eq!(config.bcrypt_cost, 5);
        assert_eq!(config.bind.to_string(), "0.0.0.0:8080");
        assert_eq!(
            config.disabled_grants,
            vec![GrantType::Implicit, GrantType::Password]
        );
        assert_eq!(config.log_format, LogFormat::Json);
        assert!(!config.migrate_on_start);
        assert_eq!(config.lifetimes.access_token.seconds(), 600);

        let none = resolve(&["--config", path, "--disable-grant", "none"]).unwrap();
        assert!(none.disabled_grants.is_empty());
    }

    #[test]
    fn file_errors_name_the_file_line_and_key() {
        let toml = file("bcrypt_cost = 6\nbcrypt_kost = 7\n");

        let error = resolve(&["--config", toml.path().to_str().unwrap()]).unwrap_err();

        assert!(error.starts_with("CONFIG: "), "{error}");
        assert!(error.contains("line 2"), "{error}");
        assert!(error.contains("bcrypt_kost"), "{error}");
        assert!(!error.contains('\n'), "{error}");
    }

    #[test]
    fn out_of_range_values_name_the_setting_wherever_they_come_from() {
        let toml = file("code_ttl = 900\n");

        let from_file = resolve(&["--config", toml.path().to_str().unwrap()]).unwrap_err();
        let from_flag = resolve(&["--bcrypt-cost", "3"]).unwrap_err();

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
        let max_age = |config: Config| config.session_max_age.seconds();
        assert_eq!(max_age(resolve(&[]).unwrap()), 604_800);
        let toml = file("session_max_age = 3600\n");
        let path = toml.path().to_str().unwrap();
        assert_eq!(max_age(resolve(&["--config", path]).unwrap()), 3600);
        assert_eq!(
            max_age(resolve(&["--config", path, "--session-max-age", "60"]).unwrap()),
            60
        );
        let error = resolve(&["--session-max-age", "0"]).unwrap_err();
        assert!(
            error.starts_with("SESSION_MAX_AGE must be between 1 and 31536000"),
            "{error}"
        );
    }

    #[test]
    fn a_short_session_key_is_refused_without_being_repeated() {
        let from_flag = resolve(&["--session-key", "short-secret-value"]).unwrap_err();
        let toml = file("session_key = \"short-secret-value\"\n");
        let from_file = resolve(&["--config", toml.path().to_str().unwrap()]).unwrap_err();

        for error in [from_flag, from_file] {
            assert!(error.contains("SESSION_KEY"), "{error}");
            assert!(!error.contains("short-secret-value"), "{error}");
        }
    }

    #[test]
    fn an_https_issuer_needs_a_session_key() {
        let without = resolve(&["--issuer", "https://auth.example.com"]).unwrap();
        let with = resolve(&[
            "--issuer",
            "https://auth.example.com",
            "--session-key",
            &"k".repeat(64),
        ])
        .unwrap();

        let error = without.check_for_serving().unwrap_err();
        assert!(error.contains("SESSION_KEY"), "{error}");
        assert!(with.check_for_serving().is_ok());
        assert!(resolve(&[]).unwrap().check_for_serving().is_ok());
    }

    #[test]
    fn the_issuer_is_kept_as_written() {
        let config = resolve(&["--issuer", "https://Auth.example.com"]).unwrap();

        let issuer = config.issuer.unwrap();
        assert_eq!(issuer.as_str(), "https://Auth.example.com");
        assert!(issuer.is_https());
        assert_eq!(issuer.origin(), "https://auth.example.com");
        let error = resolve(&["--issuer", "https://a.example/?q=1"]).unwrap_err();
        assert!(error.starts_with("ISSUER must be an http://"), "{error}");
    }

    #[test]
    fn quota_settings_have_defaults_and_are_checked() {
        let config = resolve(&[]).unwrap();
        assert_eq!(config.quotas.clients_per_owner, 50);
        assert_eq!(config.max_redirect_uris_per_client, 20);
        assert_eq!(config.quotas.pending_codes_per_grant, 10);
        let toml = file("max_clients_per_owner = 3\nmax_redirect_uris_per_client = 2\n");
        let config = resolve(&[
            "--config",
            toml.path().to_str().unwrap(),
            "--max-pending-codes-per-grant",
            "4",
        ])
        .unwrap();
        assert_eq!(config.quotas.clients_per_owner, 3);
        assert_eq!(config.quotas.pending_codes_per_grant, 4);
        assert_eq!(config.capabilities().max_redirect_uris, 2);

        let error = resolve(&["--max-clients-per-owner", "0"]).unwrap_err();
        assert!(
            error.starts_with("MAX_CLIENTS_PER_OWNER must be between 1 and 100000"),
            "{error}"
        );
    }

    #[test]
    fn disabling_implicit_removes_the_token_response_type() {
        let config = resolve(&["--disable-grant", "implicit"]).unwrap();

        let capabilities = config.capabilities();

        assert!(!capabilities.grant_types.contains(&GrantType::Implicit));
        assert!(capabilities.grant_types.contains(&GrantType::Password));
        assert_eq!(capabilities.response_types, vec![ResponseType::Code]);
    }

    #[test]
    fn debug_redacts_the_session_key_and_the_database_password() {
        let args = [
            "--database-url",
            "postgres://u:hunter2@db/x",
            "--session-key",
            &"s".repeat(64),
        ];
        let mut all = vec!["probe"];
        all.extend_from_slice(&args);
        let flags = Probe::try_parse_from(all).unwrap().config;
        let config = resolve(&args).unwrap();

        for shown in [format!("{flags:?}"), format!("{config:?}")] {
            assert!(!shown.contains("hunter2"), "{shown}");
            assert!(!shown.contains(&"s".repeat(64)), "{shown}");
        }
    }

    #[test]
    fn database_url_redacts_its_password_in_debug_and_display() {
        let url = DatabaseUrl::from_setting("postgres://u:hunter2@db/x").unwrap();

        assert!(!format!("{url:?}").contains("hunter2"), "{url:?}");
        assert!(!url.to_string().contains("hunter2"), "{url}");
        assert!(url.to_string().contains("u:redacted@db"), "{url}");
        assert_eq!(url.as_str(), "postgres://u:hunter2@db/x");
    }

    #[test]
    fn session_key_redacts_itself_in_debug() {
        let key = SessionKey::new(&"s".repeat(64)).unwrap();

        assert_eq!(format!("{key:?}"), "SessionKey([redacted])");
        assert!(!format!("{:?}", Some(key)).contains("sss"));
    }

    /// Each setting's flag, environment variable and `[default: …]` as
    /// `--help` shows them.
    fn help_settings() -> Vec<(String, String, Option<String>)> {
        Probe::command()
            .get_arguments()
            .filter_map(|arg| {
                let flag = format!("--{}", arg.get_long()?);
                let env = arg.get_env()?.to_str()?.to_owned();
                let help = arg.get_help().map(ToString::to_string).unwrap_or_default();
                let default = help
                    .split_once("[default: ")
                    .and_then(|(_, rest)| rest.split_once(']'))
                    .map(|(default, _)| default.trim_matches('"').to_owned());
                Some((flag, env, default))
            })
            .collect()
    }

    #[test]
    fn each_default_in_the_help_is_the_real_default() {
        let real = format!("{:?}", resolve(&[]).unwrap());
        let mut checked = 0;
        for (flag, _, default) in help_settings() {
            let Some(default) = default else { continue };
            // Defaults that are not values: "none", "random at start",
            // "http:// + bind address". A note in brackets explains a value.
            let value = default.split(" (").next().unwrap_or_default();
            if value == "none" || value.contains(" + ") || value.starts_with("random") {
                continue;
            }
            let given = resolve(&[&flag, value]).unwrap_or_else(|e| panic!("{flag} {value}: {e}"));
            assert_eq!(
                format!("{given:?}"),
                real,
                "{flag} {value} is not the default"
            );
            checked += 1;
        }
        assert!(checked >= 20, "only {checked} defaults checked");
    }

    #[test]
    fn the_readme_table_and_the_help_agree() {
        let readme = include_str!("../../README.md");
        let table: Vec<Vec<&str>> = readme
            .lines()
            .skip_while(|line| !line.starts_with("| setting | flag | environment |"))
            .skip(2)
            .take_while(|line| line.starts_with('|'))
            .map(|line| line.trim_matches('|').split(" | ").map(str::trim).collect())
            .collect();
        let first_code = |cell: &str| -> String {
            cell.split('`')
                .nth(1)
                .and_then(|code| code.split(' ').next())
                .unwrap_or_default()
                .to_owned()
        };
        let rows: Vec<(String, String, String)> = table
            .iter()
            .map(|cells| {
                (
                    first_code(cells[1]),
                    first_code(cells[2]),
                    cells[4].replace('`', ""),
                )
            })
            .collect();
        let help = help_settings();

        let in_help: Vec<(&str, &str)> = help
            .iter()
            .map(|(f, e, _)| (f.as_str(), e.as_str()))
            .collect();
        let in_readme: Vec<(&str, &str)> = rows
            .iter()
            .map(|(f, e, _)| (f.as_str(), e.as_str()))
            .collect();
        for setting in &in_help {
            assert!(
                in_readme.contains(setting),
                "{setting:?} is not in the README table"
            );
        }
        for setting in &in_readme {
            assert!(in_help.contains(setting), "{setting:?} is not in --help");
        }
        for (flag, _, readme_default) in &rows {
            let (_, _, help_default) = help.iter().find(|(f, _, _)| f == flag).unwrap();
            match help_default {
                Some(help_default) => assert!(
                    help_default.starts_with(readme_default.as_str()),
                    "{flag}: the README says {readme_default}, --help says {help_default}"
                ),
                None => assert_eq!(readme_default, "none", "{flag}: --help shows no default"),
            }
        }
    }
}
