//! What the admin commands print: readable text for people, or one JSON
//! document with `--json`. The JSON of users and clients comes from one
//! view each, so that every command prints a record the same way.

use serde::Serialize;
use serde_json::Value;

use domain::client::Client;
use domain::service::clients::ClientWithSecret;
use domain::user::{DisplayName, EmailAddress, User};

/// What a command prints: text for people, a JSON document with `--json`.
pub(super) struct Output {
    pub text: String,
    pub json: Value,
}

impl Output {
    pub fn print(&self, as_json: bool) {
        if as_json {
            println!("{}", self.json);
        } else if !self.text.is_empty() {
            println!("{}", self.text);
        }
    }
}

/// A user as the admin commands print it.
#[derive(Serialize)]
struct UserView<'a> {
    id: String,
    username: &'a str,
    created_at: i64,
    email: Option<&'a str>,
    email_verified: bool,
    name: Option<&'a str>,
    /// The OpenID Connect `updated_at` (Core 1.0 §5.1).
    updated_at: i64,
}

/// A client as the admin commands print it: the RFC 7591 metadata names,
/// plus the owner and whether the operator trusts it.
#[derive(Serialize)]
struct ClientView<'a> {
    client_id: &'a str,
    client_name: &'a str,
    client_uri: Option<&'a str>,
    redirect_uris: Vec<&'a str>,
    grant_types: Vec<&'a str>,
    response_types: Vec<&'a str>,
    scope: String,
    token_endpoint_auth_method: &'a str,
    client_id_issued_at: i64,
    owner: Option<&'a str>,
    owner_id: String,
    trusted: bool,
    post_logout_redirect_uris: Vec<&'a str>,
    id_token_signed_response_alg: &'a str,
    default_max_age: Option<i64>,
    require_auth_time: bool,
    /// Only right after a registration or rotation (shown once): `null`
    /// for a public client; absent otherwise.
    #[serde(skip_serializing_if = "Option::is_none")]
    client_secret: Option<Option<&'a str>>,
}

impl<'a> ClientView<'a> {
    fn new(client: &'a Client, owner: Option<&'a User>) -> Self {
        let m = &client.metadata;
        Self {
            client_id: client.id.as_str(),
            client_name: &m.client_name,
            client_uri: m.client_uri.as_deref(),
            redirect_uris: m.redirect_uris.iter().map(|u| u.as_str()).collect(),
            grant_types: m.grant_types.iter().map(|g| g.as_str()).collect(),
            response_types: m.response_types.iter().map(|r| r.as_str()).collect(),
            scope: m.scope.to_string(),
            token_endpoint_auth_method: m.token_endpoint_auth_method.as_str(),
            client_id_issued_at: client.issued_at.unix_seconds(),
            owner: owner.map(|u| u.username.as_str()),
            owner_id: client.owner.to_string(),
            trusted: client.trusted,
            post_logout_redirect_uris: m
                .post_logout_redirect_uris
                .iter()
                .map(|u| u.as_str())
                .collect(),
            id_token_signed_response_alg: m.id_token_signed_response_alg.as_str(),
            default_max_age: m.default_max_age.map(domain::time::Lifetime::seconds),
            require_auth_time: m.require_auth_time,
            client_secret: None,
        }
    }
}

/// Serializes a view into the document printed. (A `Value`, so that the
/// members print in the same order as every other document: sorted.) It
/// cannot fail: the views hold strings, numbers and lists only.
fn to_json(view: &impl Serialize) -> Value {
    serde_json::to_value(view).unwrap_or(Value::Null)
}

pub(super) fn user_json(user: &User) -> Value {
    to_json(&UserView {
        id: user.id.to_string(),
        username: user.username.as_str(),
        created_at: user.created_at.unix_seconds(),
        email: user.email.as_ref().map(EmailAddress::as_str),
        email_verified: user.email_verified,
        name: user.name.as_ref().map(DisplayName::as_str),
        updated_at: user.updated_at.unix_seconds(),
    })
}

/// A user as one tab-separated line: name, id, creation time, e-mail
/// address (`-` for none), `verified` or `unverified`, display name.
pub(super) fn user_line(user: &User) -> String {
    format!(
        "{}\t{}\t{}\t{}\t{}\t{}",
        user.username,
        user.id,
        user.created_at.display(),
        user.email.as_ref().map_or("-", EmailAddress::as_str),
        if user.email_verified {
            "verified"
        } else {
            "unverified"
        },
        user.name.as_ref().map_or("-", DisplayName::as_str),
    )
}

pub(super) fn client_json(client: &Client, owner: Option<&User>) -> Value {
    to_json(&ClientView::new(client, owner))
}

/// A client just registered or re-keyed, with its secret (shown once).
pub(super) fn with_secret(created: &ClientWithSecret, owner: Option<&User>) -> Value {
    to_json(&ClientView {
        client_secret: Some(created.secret.as_ref().map(|s| s.expose())),
        ..ClientView::new(&created.client, owner)
    })
}

pub(super) fn grant_list(client: &Client) -> String {
    client
        .metadata
        .grant_types
        .iter()
        .map(|g| g.as_str())
        .collect::<Vec<_>>()
        .join(" ")
}

pub(super) fn client_text(client: &Client, owner: Option<&User>) -> String {
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
        (
            "post_logout",
            list(
                m.post_logout_redirect_uris
                    .iter()
                    .map(|u| u.as_str())
                    .collect(),
            ),
        ),
        (
            "id_token_alg",
            m.id_token_signed_response_alg.as_str().to_owned(),
        ),
        (
            "default_max_age",
            m.default_max_age
                .map_or_else(|| "-".to_owned(), |a| a.seconds().to_string()),
        ),
        (
            "auth_time",
            if m.require_auth_time {
                "required"
            } else {
                "when asked"
            }
            .to_owned(),
        ),
    ]
    .iter()
    .map(|(name, value)| format!("{name:<15} {value}"))
    .collect::<Vec<_>>()
    .join("\n")
}
