//! Configuration from flags with environment fallbacks.

use std::fmt;
use std::net::SocketAddr;

use clap::Args;

/// Every server setting. Each flag also reads the environment variable named
/// in its `env`.
#[derive(Debug, Clone, Args)]
pub struct Config {
    /// Database URL: `sqlite://PATH` (or a plain path) or `postgres://…`.
    #[arg(
        long,
        env = "DATABASE_URL",
        default_value = "sqlite://oauth2.db",
        global = true
    )]
    pub database_url: String,

    /// Largest number of pooled database connections.
    #[arg(long, env = "DATABASE_POOL_SIZE", default_value_t = 8, global = true)]
    pub pool_size: u32,

    /// Address to listen on.
    #[arg(long, env = "BIND", default_value = "127.0.0.1:5000", global = true)]
    pub bind: SocketAddr,

    /// Issuer identifier and public base URL (default: http:// + bind).
    #[arg(long, env = "ISSUER", global = true)]
    pub issuer: Option<String>,

    /// Key for signing and encrypting session cookies (at least 64 bytes).
    /// Without it, a random key is made at start and sessions end on restart.
    #[arg(long, env = "SESSION_KEY", global = true, hide_env_values = true)]
    pub session_key: Option<SessionKey>,

    /// bcrypt cost for user passwords.
    #[arg(long, env = "BCRYPT_COST", default_value_t = 12, global = true,
          value_parser = clap::value_parser!(u32).range(4..=31))]
    pub bcrypt_cost: u32,

    /// Scopes this server knows, space-separated.
    #[arg(long, env = "SCOPES", default_value = "profile email", global = true)]
    pub scopes: String,

    /// Authorization code lifetime in seconds (at most 600).
    #[arg(long, env = "CODE_TTL", default_value_t = 60, global = true,
          value_parser = clap::value_parser!(u32).range(1..=600))]
    pub code_ttl: u32,

    /// Access token lifetime in seconds.
    #[arg(long, env = "ACCESS_TOKEN_TTL", default_value_t = 3600, global = true,
          value_parser = clap::value_parser!(u32).range(1..))]
    pub access_token_ttl: u32,

    /// Refresh token absolute lifetime in seconds.
    #[arg(long, env = "REFRESH_TOKEN_TTL", default_value_t = 2_592_000, global = true,
          value_parser = clap::value_parser!(u32).range(1..))]
    pub refresh_token_ttl: u32,

    /// Seconds after a rotation during which a duplicate of the old refresh
    /// token is refused without revoking its family.
    #[arg(long, env = "REFRESH_GRACE", default_value_t = 10, global = true,
          value_parser = clap::value_parser!(u32).range(1..=60))]
    pub refresh_grace: u32,
}

impl Config {
    /// The issuer, defaulting to `http://` + the bind address.
    #[must_use]
    pub fn issuer(&self) -> String {
        self.issuer
            .clone()
            .unwrap_or_else(|| format!("http://{}", self.bind))
    }
}

/// A session key, redacted in `Debug`.
#[derive(Clone)]
pub struct SessionKey(pub Vec<u8>);

impl std::str::FromStr for SessionKey {
    type Err = String;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        if value.len() < 64 {
            return Err("SESSION_KEY must be at least 64 bytes long".to_owned());
        }
        Ok(Self(value.as_bytes().to_vec()))
    }
}

impl fmt::Debug for SessionKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SessionKey([redacted])")
    }
}
