//! The command line: `serve` (the default), `migrate`, and admin commands.

use anyhow::{bail, Context};
use clap::{Parser, Subcommand};
use serde_json::json;

use domain::client::RegistrationInput;
use domain::service::accounts::SignUpError;
use domain::service::clients::RegistrationError;

use crate::config::Config;
use crate::startup::{build_services, Application};

/// An OAuth 2.0 authorization server.
#[derive(Debug, Parser)]
#[command(name = "oauth2-server", version, about)]
pub struct Cli {
    /// Settings.
    #[command(flatten)]
    pub config: Config,
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
}

/// `user …`
#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create a user.
    Create {
        /// User name.
        #[arg(long)]
        username: String,
        /// Password (8 to 72 bytes).
        #[arg(long)]
        password: String,
    },
}

/// `client …`
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
        /// A response type (repeat for several).
        #[arg(long = "response-type")]
        response_types: Vec<String>,
        /// Allowed scope, space-separated.
        #[arg(long, default_value = "")]
        scope: String,
        /// `client_secret_basic`, `client_secret_post` or `none`.
        #[arg(long = "auth-method", default_value = "client_secret_basic")]
        auth_method: String,
    },
}

/// Runs the parsed command line.
///
/// # Errors
/// Any failure, as a one-line message for the operator.
pub async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => {
            let app = Application::build(&cli.config)?;
            tracing::info!(port = app.port(), issuer = %app.issuer(), "listening");
            app.run_until_stopped().await?;
            Ok(())
        }
        Command::Migrate => {
            blocking(move || build_services(&cli.config, cli.config.issuer()).map(|_| ())).await?;
            println!("migrations are up to date");
            Ok(())
        }
        Command::User(UserCommand::Create { username, password }) => {
            let config = cli.config;
            let user = blocking(move || {
                let (services, _) = build_services(&config, config.issuer())?;
                services.sign_up(&username, &password).map_err(|e| match e {
                    SignUpError::Taken => anyhow::anyhow!("the username is taken"),
                    SignUpError::Invalid(problems) => anyhow::anyhow!(problems
                        .iter()
                        .map(|(field, message)| format!("{field} {message}"))
                        .collect::<Vec<_>>()
                        .join("; ")),
                    SignUpError::Store(e) => anyhow::Error::new(e),
                })
            })
            .await?;
            println!(
                "{}",
                json!({"id": user.id.to_string(), "username": user.username.as_str()})
            );
            Ok(())
        }
        Command::Client(ClientCommand::Create {
            owner,
            name,
            uri,
            redirect_uris,
            grant_types,
            response_types,
            scope,
            auth_method,
        }) => {
            let config = cli.config;
            let created = blocking(move || {
                let (services, _) = build_services(&config, config.issuer())?;
                let Some(owner) = services.ports.users.find_user_by_name(&owner)? else {
                    bail!("no user named {owner}");
                };
                let input = RegistrationInput {
                    client_name: name,
                    client_uri: uri,
                    redirect_uris,
                    grant_types,
                    response_types,
                    scope,
                    token_endpoint_auth_method: auth_method,
                };
                services
                    .register_client(&owner.id, &input)
                    .map_err(|e| match e {
                        RegistrationError::Invalid(errors) => anyhow::anyhow!(errors
                            .iter()
                            .map(|e| format!("{}: {}", e.field, e.message))
                            .collect::<Vec<_>>()
                            .join("; ")),
                        RegistrationError::Store(e) => anyhow::Error::new(e),
                    })
            })
            .await?;
            let m = &created.client.metadata;
            println!(
                "{}",
                json!({
                    "client_id": created.client.id.as_str(),
                    "client_secret": created.secret.as_ref().map(|s| s.expose()),
                    "client_name": m.client_name,
                    "client_uri": m.client_uri,
                    "redirect_uris": m.redirect_uris.iter().map(|u| u.as_str()).collect::<Vec<_>>(),
                    "grant_types": m.grant_types.iter().map(|g| g.as_str()).collect::<Vec<_>>(),
                    "response_types": m.response_types.iter().map(|r| r.as_str()).collect::<Vec<_>>(),
                    "scope": m.scope.to_string(),
                    "token_endpoint_auth_method": m.token_endpoint_auth_method.as_str(),
                })
            );
            Ok(())
        }
    }
}

async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> anyhow::Result<T> + Send + 'static,
) -> anyhow::Result<T> {
    tokio::task::spawn_blocking(work)
        .await
        .context("the command was interrupted")?
}
