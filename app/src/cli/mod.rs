//! The command line: `serve` (the default), `migrate`, and the admin
//! commands (`user`, `client`, `token`).
//!
//! Admin commands print readable text, or one JSON document with `--json`
//! (`client create` always prints JSON: its secret is shown once and
//! scripts read it). Every failure is one line on stderr and exit code 1.

mod clients;
mod output;
mod tokens;
mod users;

use std::fmt;
use std::io::BufRead;

use anyhow::{bail, Context};
use clap::{ArgGroup, Parser, Subcommand};
use serde_json::json;

use crate::config::Config;
use crate::startup::{build_services, Application};
use output::Output;

/// An OAuth 2.0 authorization server.
#[derive(Debug, Parser)]
#[command(name = "oauth2-server", version, about)]
pub struct Cli {
    /// Settings.
    #[command(flatten)]
    pub config: Config,
    /// Print the result of an admin command as one JSON document.
    #[arg(long, global = true)]
    pub json: bool,
    /// What to do (default: serve).
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the server (the default).
    Serve,
    /// Create or upgrade the database schema, then exit.
    Migrate,
    /// Manage users.
    #[command(subcommand)]
    User(UserCommand),
    /// Manage clients.
    #[command(subcommand)]
    Client(ClientCommand),
    /// Manage tokens.
    #[command(subcommand)]
    Token(TokenCommand),
}

/// A password from the command line or, safer, from stdin. Its `Debug`
/// hides the password: `Cli` is `Debug`, and a password must not reach a
/// log line or a panic message through it.
#[derive(Clone, clap::Args)]
#[command(group(ArgGroup::new("password-source").required(true)))]
pub struct PasswordArgs {
    /// The password (8 to 256 characters); visible to other local users in the
    /// process list, prefer `--password-stdin`.
    #[arg(long, group = "password-source")]
    password: Option<String>,
    /// Read the password from the first line of stdin.
    #[arg(long, group = "password-source")]
    password_stdin: bool,
}

impl fmt::Debug for PasswordArgs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PasswordArgs")
            .field("password", &self.password.as_ref().map(|_| "[redacted]"))
            .field("password_stdin", &self.password_stdin)
            .finish()
    }
}

impl PasswordArgs {
    /// The password; reads stdin, so call it off the async executor.
    fn read(self) -> anyhow::Result<String> {
        if let Some(password) = self.password {
            return Ok(password);
        }
        let mut line = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut line)
            .context("cannot read the password from stdin")?;
        let password = line.trim_end_matches(['\n', '\r']).to_owned();
        if password.is_empty() {
            bail!("no password on stdin");
        }
        Ok(password)
    }
}

/// `user …`
#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create a user.
    Create {
        /// User name.
        #[arg(long)]
        username: String,
        /// The password.
        #[command(flatten)]
        password: PasswordArgs,
        /// E-mail address (unique, compared case-insensitively).
        #[arg(long)]
        email: Option<String>,
        /// Mark the e-mail address as verified (`email_verified`).
        #[arg(long, requires = "email")]
        email_verified: bool,
        /// Display name (the `name` claim).
        #[arg(long)]
        name: Option<String>,
    },
    /// List the users.
    List,
    /// Show one user.
    Show {
        /// User name.
        #[arg(long)]
        username: String,
    },
    /// Set (or with an empty value, remove) a user's e-mail address; a new
    /// address is unverified unless `--verified`.
    SetEmail {
        /// User name.
        #[arg(long)]
        username: String,
        /// The new address.
        #[arg(long)]
        email: String,
        /// Mark the address as verified.
        #[arg(long)]
        verified: bool,
    },
    /// Set (or with an empty value, remove) a user's display name.
    SetName {
        /// User name.
        #[arg(long)]
        username: String,
        /// The new display name.
        #[arg(long)]
        name: String,
    },
    /// Delete a user with their clients, codes and tokens.
    Delete {
        /// User name.
        #[arg(long)]
        username: String,
    },
    /// Set a user's password.
    SetPassword {
        /// User name.
        #[arg(long)]
        username: String,
        /// The new password.
        #[command(flatten)]
        password: PasswordArgs,
    },
}

/// `client …`
// Parsed once per process: the size of `Create` does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Subcommand)]
pub enum ClientCommand {
    /// Register a client and print it as JSON, with its secret (shown once).
    Create {
        /// User name of the owner.
        #[arg(long)]
        owner: String,
        /// `client_name`.
        #[arg(long)]
        name: String,
        /// `client_uri`.
        #[arg(long, default_value = "")]
        uri: String,
        /// A redirect URI (repeat for several).
        #[arg(long = "redirect-uri")]
        redirect_uris: Vec<String>,
        /// A grant type (repeat for several).
        #[arg(long = "grant-type", required = true)]
        grant_types: Vec<String>,
        /// A response type (repeat for several): `code`, or with the implicit
        /// grant `token`, `id_token`, `id_token token` (quoted).
        #[arg(long = "response-type")]
        response_types: Vec<String>,
        /// Allowed scope, space-separated.
        #[arg(long, default_value = "")]
        scope: String,
        /// `client_secret_basic`, `client_secret_post` or `none`.
        #[arg(long = "auth-method", default_value = "client_secret_basic")]
        auth_method: String,
        /// Where the browser may go after an RP-initiated logout (repeat
        /// for several; same rules as redirect URIs, matched exactly).
        #[arg(long = "post-logout-redirect-uri")]
        post_logout_redirect_uris: Vec<String>,
        /// How its ID tokens are signed: `RS256`, `ES256` or `EdDSA`.
        #[arg(long = "id-token-alg", default_value = "RS256")]
        id_token_alg: String,
        /// `default_max_age` in seconds: ask for the password again when the
        /// last login is older, unless the request sends `max_age`.
        #[arg(long = "default-max-age", default_value = "")]
        default_max_age: String,
        /// Always put `auth_time` in its ID tokens.
        #[arg(long = "require-auth-time")]
        require_auth_time: bool,
    },
    /// List the clients (of one owner with `--owner`).
    List {
        /// Only the clients of this user.
        #[arg(long)]
        owner: Option<String>,
    },
    /// Show a client (never its secret: only a digest is stored).
    Show {
        /// The `client_id` (generated ids may start with `-`).
        #[arg(allow_hyphen_values = true)]
        client_id: String,
    },
    /// Mark a client trusted (or, with `--no`, not): only trusted clients
    /// get automatic error redirects for visitors who are not signed in
    /// (RFC 9700 §4.11.2). Clients made by `client create` are trusted.
    SetTrusted {
        /// The `client_id` (generated ids may start with `-`).
        #[arg(allow_hyphen_values = true)]
        client_id: String,
        /// Mark it untrusted instead.
        #[arg(long)]
        no: bool,
    },
    /// Delete a client with its codes and tokens.
    Delete {
        /// The `client_id` (generated ids may start with `-`).
        #[arg(allow_hyphen_values = true)]
        client_id: String,
    },
    /// Give a confidential client a new secret (printed once); the old one
    /// stops working at once.
    RotateSecret {
        /// The `client_id` (generated ids may start with `-`).
        #[arg(allow_hyphen_values = true)]
        client_id: String,
    },
}

/// `token …`
#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Revoke every live access and refresh token of a client, of a user,
    /// or (both given) of a user at one client.
    #[command(group(ArgGroup::new("whose").required(true).multiple(true)))]
    Revoke {
        /// The `client_id`.
        #[arg(long = "client", group = "whose", allow_hyphen_values = true)]
        client_id: Option<String>,
        /// The user name.
        #[arg(long = "user", group = "whose")]
        username: Option<String>,
    },
}

/// Runs the parsed command line.
///
/// # Errors
/// Any failure, as a one-line message for the operator.
pub async fn run(cli: Cli) -> anyhow::Result<()> {
    let Cli {
        config,
        json,
        command,
    } = cli;
    match command.unwrap_or(Command::Serve) {
        Command::Serve => {
            let app = Application::build(&config)?;
            tracing::info!(port = app.port(), issuer = %app.issuer(), "listening");
            app.run_until_stopped().await?;
            tracing::info!("stopped");
            Ok(())
        }
        Command::Migrate => {
            let applied = blocking(move || migrate(&config)).await?;
            Output {
                text: if applied.is_empty() {
                    "the database schema is up to date".to_owned()
                } else {
                    format!(
                        "applied {} migrations: {}",
                        applied.len(),
                        applied.join(", ")
                    )
                },
                json: json!({"applied": applied}),
            }
            .print(json);
            Ok(())
        }
        Command::User(command) => {
            let output = blocking(move || {
                let (services, _) = build_services(&config, config.issuer())?;
                users::run(&services, command)
            })
            .await?;
            output.print(json);
            Ok(())
        }
        Command::Client(command) => {
            let always_json = matches!(command, ClientCommand::Create { .. });
            let output = blocking(move || {
                let (services, _) = build_services(&config, config.issuer())?;
                clients::run(&services, command)
            })
            .await?;
            output.print(json || always_json);
            Ok(())
        }
        Command::Token(TokenCommand::Revoke {
            client_id,
            username,
        }) => {
            let output = blocking(move || {
                let (services, _) = build_services(&config, config.issuer())?;
                tokens::revoke(&services, client_id.as_deref(), username.as_deref())
            })
            .await?;
            output.print(json);
            Ok(())
        }
    }
}

/// Opens the database and applies the pending migrations, nothing else.
fn migrate(config: &Config) -> anyhow::Result<Vec<String>> {
    let store = adapters::db::DieselStore::open(config.database_url.as_str(), config.pool_size)
        .context("cannot open the database")?;
    store.migrate().context("cannot migrate the database")
}

async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> anyhow::Result<T> + Send + 'static,
) -> anyhow::Result<T> {
    tokio::task::spawn_blocking(work)
        .await
        .context("the command was interrupted")?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_password_on_the_command_line_is_not_in_the_debug_output() {
        for args in [
            ["oauth2-server", "user", "create", "--username", "alice"],
            [
                "oauth2-server",
                "user",
                "set-password",
                "--username",
                "alice",
            ],
        ] {
            let cli = Cli::try_parse_from(args.iter().chain(&["--password", "s3cret-horse"]))
                .expect("the command parses");

            let debug = format!("{cli:?}");
            assert!(!debug.contains("s3cret-horse"), "{debug}");
            assert!(debug.contains("[redacted]"), "{debug}");
        }
    }

    /// Client ids are base64url and may start with `-`: each command that
    /// names a client must take such an id as a value, not as a flag.
    #[test]
    fn a_client_id_starting_with_a_dash_is_a_value() {
        for command in [
            &["client", "show", "-Cx9"][..],
            &["client", "delete", "-Cx9"],
            &["client", "rotate-secret", "-Cx9"],
            &["client", "set-trusted", "-Cx9", "--no"],
            &["token", "revoke", "--client", "-Cx9"],
        ] {
            let args = std::iter::once(&"oauth2-server").chain(command);
            let cli = Cli::try_parse_from(args).expect("the command parses");
            assert!(format!("{cli:?}").contains("\"-Cx9\""), "{command:?}");
        }
    }
}
