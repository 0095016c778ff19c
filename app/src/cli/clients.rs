//! `client …`: registrations, through the same use cases as the client
//! pages (as the operator: any owner, no quota).

use anyhow::{anyhow, bail};
use serde_json::{json, Value};

use domain::client::{Client, RegistrationInput};
use domain::service::clients::{Actor, RegistrationError};
use domain::service::Services;

use super::output::{client_json, client_text, grant_list, with_secret, Output};
use super::users::find_user;
use super::ClientCommand;

pub(super) fn run(services: &Services, command: ClientCommand) -> anyhow::Result<Output> {
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
            post_logout_redirect_uris,
            id_token_alg,
            default_max_age,
            require_auth_time,
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
                post_logout_redirect_uris,
                id_token_signed_response_alg: id_token_alg,
                default_max_age,
                require_auth_time,
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
            let users = services.users()?;
            let clients = match owner {
                Some(owner) => {
                    let owner = find_user(services, &owner)?;
                    services.clients_of(&owner.id)?
                }
                None => services.clients()?,
            };
            let owner_of = |client: &Client| users.iter().find(|u| u.id == client.owner);
            let text = clients
                .iter()
                .map(|c| {
                    format!(
                        "{}\t{}\t{}\t{}\t{}",
                        c.id,
                        c.metadata.client_name,
                        owner_of(c).map_or("?", |u| u.username.as_str()),
                        grant_list(c),
                        c.metadata.id_token_signed_response_alg,
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
            let owner = services.find_user(&client.owner)?;
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
            if !services.delete_client(Actor::Admin, client.id.as_str())? {
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
            let Some(rotated) = services.rotate_client_secret(Actor::Admin, client.id.as_str())?
            else {
                bail!("no client with id {client_id}");
            };
            let owner = services.find_user(&client.owner)?;
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

/// The client `client_id` (of any owner), or the operator's error.
pub(super) fn find_client(services: &Services, client_id: &str) -> anyhow::Result<Client> {
    services
        .client_for(Actor::Admin, client_id)?
        .ok_or_else(|| anyhow!("no client with id {client_id}"))
}
