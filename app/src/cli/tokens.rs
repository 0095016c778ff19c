//! `token …`: revocation, through the same use case as the pages' (a
//! password change, "revoke app").

use serde_json::json;

use domain::service::Services;

use super::clients::find_client;
use super::output::Output;
use super::users::find_user;

/// `token revoke`: every live token of the client, of the user, or of the
/// user at the client.
pub(super) fn revoke(
    services: &Services,
    client_id: Option<&str>,
    username: Option<&str>,
) -> anyhow::Result<Output> {
    let client = client_id.map(|id| find_client(services, id)).transpose()?;
    let user = username.map(|name| find_user(services, name)).transpose()?;
    let revoked =
        services.revoke_tokens_of(user.as_ref().map(|u| &u.id), client.as_ref().map(|c| &c.id))?;
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
