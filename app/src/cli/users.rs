//! `user …`: accounts, through the same use cases as the sign-up page.

use anyhow::{anyhow, bail};
use serde_json::{json, Value};

use domain::service::accounts::{SetPasswordError, SignUpError};
use domain::service::Services;
use domain::user::User;

use super::output::{user_json, Output};
use super::UserCommand;

pub(super) fn run(services: &Services, command: UserCommand) -> anyhow::Result<Output> {
    match command {
        UserCommand::Create { username, password } => {
            let password = password.read()?;
            let user = services
                .sign_up(&username, &password)
                .map_err(|e| match e {
                    SignUpError::Taken => anyhow!("the username {username} is taken"),
                    SignUpError::Invalid(problems) => anyhow!(problems
                        .iter()
                        .map(|p| format!("{} {}", p.field, p.message))
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
            let users = services.users()?;
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
                Ok(()) => {}
                Err(SetPasswordError::NotFound) => bail!("no user named {username}"),
                Err(SetPasswordError::Weak(problem)) => bail!("password {problem}"),
                Err(SetPasswordError::Store(e)) => return Err(e.into()),
            }
            Ok(Output {
                text: format!("set the password of {username}"),
                json: json!({"id": user.id.to_string(), "username": username, "password_set": true}),
            })
        }
    }
}

/// The user named `username`, or the operator's error.
pub(super) fn find_user(services: &Services, username: &str) -> anyhow::Result<User> {
    services
        .find_user_by_name(username)?
        .ok_or_else(|| anyhow!("no user named {username}"))
}
