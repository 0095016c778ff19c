//! The command line: `serve` (the default), `migrate`, and the admin
//! commands (`user`, `client`, `token`).
//!
//! Admin commands print readable text, or one JSON document with `--json`
//! (`client create` always prints JSON: its secret is shown once and
//! scripts read it). Every failure is one line on stderr and exit code 1.

use std::io::BufRead;

use anyhow::{anyhow, bail, Context};
use clap::{ArgGroup, Parser, Subcommand};
use serde_json::{json, Value};

use domain::client::{Client, RegistrationInput};
use domain::service::accounts::SignUpError;
use domain::service::clients::{ClientWithSecret, RegistrationError};
use domain::service::Services;
use domain::user::User;

use crate::config::Config;
use crate::startup::{build_services, Application};

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

/// A password from the command line or, safer, from stdin.
#[derive(Debug, Clone, clap::Args)]
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
    },
    /// List the users.
    List,
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
    /// List the clients (of one owner with `--owner`).
    List {
        /// Only the clients of this user.
        #[arg(long)]
        owner: Option<String>,
    },
    /// Show a client (never its secret: only a digest is stored).
    Show {
        /// The `client_id`.
        client_id: String,
    },
    /// Mark a client trusted (or, with `--no`, not): only trusted clients
    /// get automatic error redirects for visitors who are not signed in
    /// (RFC 9700 §4.11.2). Clients made by `client create` are trusted.
    SetTrusted {
        /// The `client_id`.
        client_id: String,
        /// Mark it untrusted instead.
        #[arg(long)]
        no: bool,
    },
    /// Delete a client with its codes and tokens.
    Delete {
        /// The `client_id`.
        client_id: String,
    },
    /// Give a confidential client a new secret (printed once); the old one
    /// stops working at once.
    RotateSecret {
        /// The `client_id`.
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
        #[arg(long = "client", group = "whose")]
        client_id: Option<String>,
        /// The user name.
        #[arg(long = "user", group = "whose")]
        username: Option<String>,
    },
}

/// What a command prints: text for people, a JSON document with `--json`.
struct Output {
    text: String,
    json: Value,
}

impl Output {
    fn print(&self, as_json: bool) {
        if as_json {
            println!("{}", self.json);
        } else if !self.text.is_empty() {
            println!("{}", self.text);
        }
    }
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
                user_command(&services, command)
            })
            .await?;
            output.print(json);
            Ok(())
        }
        Command::Client(command) => {
            let always_json = matches!(command, ClientCommand::Create { .. });
            let output = blocking(move || {
                let (services, _) = build_services(&config, config.issuer())?;
                client_command(&services, command)
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
                revoke_tokens(&services, client_id.as_deref(), username.as_deref())
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

fn user_command(services: &Services, command: UserCommand) -> anyhow::Result<Output> {
    match command {
        UserCommand::Create { username, password } => {
            let password = password.read()?;
            let user = services
                .sign_up(&username, &password)
                .map_err(|e| match e {
                    SignUpError::Taken => anyhow!("the username {username} is taken"),
                    SignUpError::Invalid(problems) => anyhow!(problems
                        .iter()
                        .map(|(field, message)| format!("{field} {message}"))
                        .collect::<Vec<_>>()
                        .join("; ")),
                    SignUpError::Throttled(e) => anyhow::Error::new(e),
                    SignUpError::Store(e) => anyhow::Error::new(e),
                })?;
            Ok(Output {
                text: format!("created user {} ({})", user.username, user.id),
                json: user_json(&user),
            })
        }
        UserCommand::List => {
            let users = services.ports.users.list_users()?;
            let text = users
                .iter()
                .map(|u| format!("{}\t{}\t{}", u.username, u.id, u.created_at.display()))
                .collect::<Vec<_>>()
                .join("\n");
            Ok(Output {
                text,
                json: Value::Array(users.iter().map(user_json).collect()),
            })
        }
        UserCommand::Delete { username } => {
            let user = find_user(services, &username)?;
            if !services.delete_user(&user.id)? {
                bail!("no user named {username}");
            }
            Ok(Output {
                text: format!("deleted user {username} with their clients, tokens and sessions"),
                json: json!({"deleted": true, "id": user.id.to_string(), "username": username}),
            })
        }
        UserCommand::SetPassword { username, password } => {
            let user = find_user(services, &username)?;
            let password = password.read()?;
            match services.set_password(&user.id, &password) {
                Ok(true) => {}
                Ok(false) => bail!("no user named {username}"),
                Err(Ok(problem)) => bail!("password {problem}"),
                Err(Err(e)) => return Err(e.into()),
            }
            Ok(Output {
                text: format!("set the password of {username}"),
                json: json!({"id": user.id.to_string(), "username": username, "password_set": true}),
            })
        }
    }
}

fn client_command(services: &Services, command: ClientCommand) -> anyhow::Result<Output> {
    match command {
        ClientCommand::Create {
            owner,
            name,
            uri,
            redirect_uris,
            grant_types,
            response_types,
            scope,
            auth_method,
        } => {
            let owner = find_user(services, &owner)?;
            let input = RegistrationInput {
                client_name: name,
                client_uri: uri,
                redirect_uris,
                grant_types,
                response_types,
                scope,
                token_endpoint_auth_method: auth_method,
            };
            // The operator decides how many clients an account has: the
            // per-owner quota is for self-service registration only.
            let created = services
                .register_client_as_operator(&owner.id, &input)
                .map_err(|e| match e {
                    RegistrationError::Invalid(errors) => anyhow!(errors
                        .iter()
                        .map(|e| format!("{}: {}", e.field, e.message))
                        .collect::<Vec<_>>()
                        .join("; ")),
                    RegistrationError::QuotaReached(max) => {
                        anyhow!("the owner already has {max} clients")
                    }
                    RegistrationError::Store(e) => anyhow::Error::new(e),
                })?;
            Ok(Output {
                text: String::new(),
                json: with_secret(&created, Some(&owner)),
            })
        }
        ClientCommand::List { owner } => {
            let users = services.ports.users.list_users()?;
            let clients = match owner {
                Some(owner) => {
                    let owner = find_user(services, &owner)?;
                    services.ports.clients.list_clients_of(&owner.id)?
                }
                None => services.ports.clients.list_clients()?,
            };
            let owner_of = |client: &Client| users.iter().find(|u| u.id == client.owner);
            let text = clients
                .iter()
                .map(|c| {
                    format!(
                        "{}\t{}\t{}\t{}",
                        c.id,
                        c.metadata.client_name,
                        owner_of(c).map_or("?", |u| u.username.as_str()),
                        grant_list(c)
                    )
                })
                .collect::<Vec<_>>()
                .join("\n");
            Ok(Output {
                text,
                json: Value::Array(
                    clients
                        .iter()
                        .map(|c| client_json(c, owner_of(c)))
                        .collect(),
                ),
            })
        }
        ClientCommand::Show { client_id } => {
            let client = find_client(services, &client_id)?;
            let owner = services.ports.users.find_user(&client.owner)?;
            Ok(Output {
                text: client_text(&client, owner.as_ref()),
                json: client_json(&client, owner.as_ref()),
            })
        }
        ClientCommand::SetTrusted { client_id, no } => {
            let client = find_client(services, &client_id)?;
            let trusted = !no;
            if !services.set_client_trusted(client.id.as_str(), trusted)? {
                bail!("no client with id {client_id}");
            }
            Ok(Output {
                text: format!(
                    "client {client_id} is {}",
                    if trusted { "trusted" } else { "not trusted" }
                ),
                json: json!({"client_id": client_id, "trusted": trusted}),
            })
        }
        ClientCommand::Delete { client_id } => {
            let client = find_client(services, &client_id)?;
            if !services.delete_client(None, client.id.as_str())? {
                bail!("no client with id {client_id}");
            }
            Ok(Output {
                text: format!("deleted client {client_id} with its codes and tokens"),
                json: json!({"deleted": true, "client_id": client_id}),
            })
        }
        ClientCommand::RotateSecret { client_id } => {
            let client = find_client(services, &client_id)?;
            if !client.is_confidential() {
                bail!("client {client_id} is public (auth method none) and has no secret");
            }
            let Some(rotated) = services.rotate_client_secret(None, client.id.as_str())? else {
                bail!("no client with id {client_id}");
            };
            let owner = services.ports.users.find_user(&client.owner)?;
            let secret = rotated.secret.as_ref().map_or("", |s| s.expose());
            Ok(Output {
                text: format!(
                    "new secret of {client_id} (shown once; the old one no longer works):\n{secret}"
                ),
                json: with_secret(&rotated, owner.as_ref()),
            })
        }
    }
}

fn revoke_tokens(
    services: &Services,
    client_id: Option<&str>,
    username: Option<&str>,
) -> anyhow::Result<Output> {
    let client = client_id.map(|id| find_client(services, id)).transpose()?;
    let user = username.map(|name| find_user(services, name)).transpose()?;
    let now = services.ports.clock.now();
    let revoked = services.ports.tokens.revoke_tokens_of(
        user.as_ref().map(|u| &u.id),
        client.as_ref().map(|c| &c.id),
        now,
    )?;
    let whose = match (username, client_id) {
        (Some(user), Some(client)) => format!("of {user} at client {client}"),
        (Some(user), None) => format!("of {user}"),
        (None, Some(client)) => format!("of client {client}"),
        (None, None) => String::new(),
    };
    Ok(Output {
        text: format!("revoked {revoked} tokens {whose}"),
        json: json!({"revoked": revoked, "client_id": client_id, "username": username}),
    })
}

fn find_user(services: &Services, username: &str) -> anyhow::Result<User> {
    services
        .ports
        .users
        .find_user_by_name(username)?
        .ok_or_else(|| anyhow!("no user named {username}"))
}

fn find_client(services: &Services, client_id: &str) -> anyhow::Result<Client> {
    services
        .client_owned_by(None, client_id)?
        .ok_or_else(|| anyhow!("no client with id {client_id}"))
}

fn user_json(user: &User) -> Value {
    json!({
        "id": user.id.to_string(),
        "username": user.username.as_str(),
        "created_at": user.created_at.unix_seconds(),
    })
}

fn grant_list(client: &Client) -> String {
    client
        .metadata
        .grant_types
        .iter()
        .map(|g| g.as_str())
        .collect::<Vec<_>>()
        .join(" ")
}

fn client_json(client: &Client, owner: Option<&User>) -> Value {
    let m = &client.metadata;
    json!({
        "client_id": client.id.as_str(),
        "client_name": m.client_name,
        "client_uri": m.client_uri,
        "redirect_uris": m.redirect_uris.iter().map(|u| u.as_str()).collect::<Vec<_>>(),
        "grant_types": m.grant_types.iter().map(|g| g.as_str()).collect::<Vec<_>>(),
        "response_types": m.response_types.iter().map(|r| r.as_str()).collect::<Vec<_>>(),
        "scope": m.scope.to_string(),
        "token_endpoint_auth_method": m.token_endpoint_auth_method.as_str(),
        "client_id_issued_at": client.issued_at.unix_seconds(),
        "owner": owner.map(|u| u.username.as_str()),
        "owner_id": client.owner.to_string(),
        "trusted": client.trusted,
    })
}

fn with_secret(created: &ClientWithSecret, owner: Option<&User>) -> Value {
    let mut value = client_json(&created.client, owner);
    if let Value::Object(fields) = &mut value {
        fields.insert(
            "client_secret".to_owned(),
            created
                .secret
                .as_ref()
                .map_or(Value::Null, |s| Value::String(s.expose().to_owned())),
        );
    }
    value
}

fn client_text(client: &Client, owner: Option<&User>) -> String {
    let m = &client.metadata;
    let list = |items: Vec<&str>| {
        if items.is_empty() {
            "-".to_owned()
        } else {
            items.join(" ")
        }
    };
    [
        ("client_id", client.id.as_str().to_owned()),
        ("client_name", m.client_name.clone()),
        (
            "client_uri",
            m.client_uri.clone().unwrap_or_else(|| "-".to_owned()),
        ),
        (
            "owner",
            owner.map_or_else(|| client.owner.to_string(), |u| u.username.to_string()),
        ),
        (
            "redirect_uris",
            list(m.redirect_uris.iter().map(|u| u.as_str()).collect()),
        ),
        ("grant_types", grant_list(client)),
        (
            "response_types",
            list(m.response_types.iter().map(|r| r.as_str()).collect()),
        ),
        ("scope", m.scope.to_string()),
        (
            "auth_method",
            m.token_endpoint_auth_method.as_str().to_owned(),
        ),
        ("issued_at", client.issued_at.display()),
        (
            "trusted",
            if client.trusted { "yes" } else { "no" }.to_owned(),
        ),
    ]
    .iter()
    .map(|(name, value)| format!("{name:<15} {value}"))
    .collect::<Vec<_>>()
    .join("\n")
}

async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> anyhow::Result<T> + Send + 'static,
) -> anyhow::Result<T> {
    tokio::task::spawn_blocking(work)
        .await
        .context("the command was interrupted")?
}
