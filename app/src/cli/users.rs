//! `user …`: accounts, through the same use cases as the sign-up page.

use anyhow::{anyhow, bail};
use serde_json::{json, Value};

use domain::service::accounts::{NewAccount, SetClaimError, SetPasswordError, SignUpError};
use domain::service::Services;
use domain::user::User;

use super::output::{user_json, user_line, Output};
use super::UserCommand;

pub(super) fn run(services: &Services, command: UserCommand) -> anyhow::Result<Output> {
    match command {
        UserCommand::Create {
            username,
            password,
            email,
            email_verified,
            name,
        } => {
            let password = password.read()?;
            let user = services
                .create_account(&NewAccount {
                    username: &username,
                    password: &password,
                    email: email.as_deref(),
                    email_verified,
                    name: name.as_deref(),
                })
                .map_err(|e| match e {
                    SignUpError::Taken => anyhow!("the username {username} is taken"),
                    SignUpError::EmailTaken => anyhow!("the e-mail address is another user's"),
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
            let text = users.iter().map(user_line).collect::<Vec<_>>().join("\n");
            Ok(Output {
                text,
                json: Value::Array(users.iter().map(user_json).collect()),
            })
        }
        UserCommand::Show { username } => {
            let user = find_user(services, &username)?;
            Ok(Output {
                text: user_line(&user),
                json: user_json(&user),
            })
        }
        UserCommand::SetEmail {
            username,
            email,
            verified,
        } => {
            let user = find_user(services, &username)?;
            services
                .set_email(&user.id, Some(&email), verified)
                .map_err(|e| claim_error(e, "email", &username))?;
            show_changed(services, &user, "set the e-mail address of")
        }
        UserCommand::SetName { username, name } => {
            let user = find_user(services, &username)?;
            services
                .set_display_name(&user.id, Some(&name))
                .map_err(|e| claim_error(e, "name", &username))?;
            show_changed(services, &user, "set the display name of")
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

/// The operator's one-line error for a claim that was not set.
fn claim_error(error: SetClaimError, field: &str, username: &str) -> anyhow::Error {
    match error {
        SetClaimError::Invalid(problem) => anyhow!("{field} {problem}"),
        SetClaimError::EmailTaken => anyhow!("the e-mail address is another user's"),
        SetClaimError::NotFound => anyhow!("no user named {username}"),
        SetClaimError::Store(e) => anyhow::Error::new(e),
    }
}

/// `user` as stored now, after a change of `what`.
fn show_changed(services: &Services, user: &User, what: &str) -> anyhow::Result<Output> {
    let user = services
        .find_user(&user.id)?
        .ok_or_else(|| anyhow!("no user named {}", user.username))?;
    Ok(Output {
        text: format!("{what} {}", user.username),
        json: user_json(&user),
    })
}

/// The user named `username`, or the operator's error.
pub(super) fn find_user(services: &Services, username: &str) -> anyhow::Result<User> {
    services
        .find_user_by_name(username)?
        .ok_or_else(|| anyhow!("no user named {username}"))
}
