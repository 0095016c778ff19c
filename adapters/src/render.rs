//! Tera templates, embedded in the binary so it runs from any directory, and
//! one typed context per page. Autoescaping is on for every `.html` file.

use serde::Serialize;
use tera::{Context, Tera};

macro_rules! embedded {
    ($($name:literal),* $(,)?) => {
        [$(($name, include_str!(concat!("../../templates/", $name)))),*]
    };
}

/// The stylesheet, served at `/static/style.css`.
pub const STYLESHEET: &str = include_str!("../../templates/static/style.css");

/// The registration form's script (fills the settings from the chosen
/// application type), served at `/static/create_client.js`: a file, since
/// the Content-Security-Policy (`default-src 'self'`) forbids inline scripts.
pub const CREATE_CLIENT_SCRIPT: &str = include_str!("../../templates/static/create_client.js");

/// Builds the template set.
///
/// # Errors
/// A template that does not parse.
pub fn templates() -> Result<Tera, tera::Error> {
    let mut tera = Tera::default();
    tera.add_raw_templates(embedded![
        "base.html",
        "partials/csrf_field.html",
        "pages/login.html",
        "pages/signup.html",
        "pages/home.html",
        "pages/create_client.html",
        "pages/client.html",
        "pages/consent.html",
        "pages/apps.html",
        "pages/error.html",
        "pages/redirect_notice.html",
    ])?;
    tera.autoescape_on(vec![".html"]);
    Ok(tera)
}

/// The logged-in user, as the layout shows it.
#[derive(Debug, Clone, Serialize)]
pub struct UserView {
    /// The user name.
    pub username: String,
}

/// What every page carries: the user (if any), the CSRF token, a flash.
#[derive(Debug, Clone, Serialize)]
pub struct Layout {
    /// The logged-in user.
    pub user: Option<UserView>,
    /// The session's CSRF token, for every form.
    pub csrf_token: String,
    /// A one-time message.
    pub flash: Option<String>,
}

/// A field problem on a form.
#[derive(Debug, Clone, Serialize)]
pub struct FieldMessage {
    /// The field name.
    pub field: String,
    /// The message.
    pub message: String,
}

/// `pages/login.html`.
#[derive(Debug, Serialize)]
pub struct LoginPage {
    /// Layout.
    #[serde(flatten)]
    pub layout: Layout,
    /// The error to show.
    pub error: Option<String>,
    /// The user name typed.
    pub username: String,
    /// `?next=…`, already encoded, or empty.
    pub next_query: String,
}

/// `pages/signup.html`.
#[derive(Debug, Serialize)]
pub struct SignupPage {
    /// Layout.
    #[serde(flatten)]
    pub layout: Layout,
    /// Field problems.
    pub errors: Vec<FieldMessage>,
    /// The user name typed.
    pub username: String,
    /// `?next=…`, already encoded, or empty.
    pub next_query: String,
}

/// A client in a list.
#[derive(Debug, Serialize)]
pub struct ClientSummary {
    /// `client_id`.
    pub client_id: String,
    /// `client_name`.
    pub client_name: String,
    /// Grant type names.
    pub grant_types: Vec<&'static str>,
    /// Auth method name.
    pub token_endpoint_auth_method: &'static str,
}

/// `pages/home.html`.
#[derive(Debug, Serialize)]
pub struct HomePage {
    /// Layout.
    #[serde(flatten)]
    pub layout: Layout,
    /// The user's clients.
    pub clients: Vec<ClientSummary>,
}

/// The fields of the registration form, as typed.
#[derive(Debug, Default, Serialize)]
pub struct ClientForm {
    /// `client_name`.
    pub client_name: String,
    /// `client_uri`.
    pub client_uri: String,
    /// `scope`.
    pub scope: String,
    /// `redirect_uri`, one per line.
    pub redirect_uri: String,
    /// `application_type` chosen (only to show the choice again).
    pub application_type: String,
    /// `grant_type` values checked.
    pub grant_types: Vec<String>,
    /// `response_type` values checked.
    pub response_types: Vec<String>,
    /// `token_endpoint_auth_method`.
    pub token_endpoint_auth_method: String,
}

/// One application type of the registration form, with the settings it
/// fills (space-separated, for the form's script).
#[derive(Debug, Serialize)]
pub struct ApplicationTypeView {
    /// The form value.
    pub value: &'static str,
    /// Its label.
    pub label: &'static str,
    /// A short explanation.
    pub hint: &'static str,
    /// Grant types it checks.
    pub grant_types: String,
    /// Response types it checks.
    pub response_types: String,
    /// Auth method it selects.
    pub auth_method: &'static str,
}

/// `pages/create_client.html`.
#[derive(Debug, Serialize)]
pub struct CreateClientPage {
    /// Layout.
    #[serde(flatten)]
    pub layout: Layout,
    /// The form as typed.
    pub form: ClientForm,
    /// Field problems.
    pub errors: Vec<FieldMessage>,
    /// Known scopes, space-separated.
    pub scopes_supported: String,
    /// Enabled grant types, one checkbox each.
    pub grant_types: Vec<&'static str>,
    /// Enabled response types, one checkbox each.
    pub response_types: Vec<&'static str>,
    /// The application types offered first.
    pub application_types: Vec<ApplicationTypeView>,
    /// Auth method names.
    pub auth_methods: Vec<&'static str>,
}

/// A client's full view.
#[derive(Debug, Serialize)]
pub struct ClientView {
    /// `client_id`.
    pub client_id: String,
    /// `client_name`.
    pub client_name: String,
    /// `client_uri`.
    pub client_uri: Option<String>,
    /// Redirect URIs.
    pub redirect_uris: Vec<String>,
    /// Grant type names.
    pub grant_types: Vec<&'static str>,
    /// Response type names.
    pub response_types: Vec<&'static str>,
    /// Scope.
    pub scope: String,
    /// Auth method name.
    pub token_endpoint_auth_method: &'static str,
    /// Whether it holds a secret.
    pub confidential: bool,
    /// When it was registered.
    pub issued_at: String,
    /// Trusted by the operator (error redirects for visitors not signed in).
    pub trusted: bool,
}

/// A ready-to-copy command.
#[derive(Debug, Serialize)]
pub struct Example {
    /// Heading.
    pub title: String,
    /// The grant it shows.
    pub grant: &'static str,
    /// The command.
    pub command: String,
}

/// `pages/client.html`.
#[derive(Debug, Serialize)]
pub struct ClientPage {
    /// Layout.
    #[serde(flatten)]
    pub layout: Layout,
    /// The client.
    pub client: ClientView,
    /// The secret in clear, right after creation or rotation only.
    pub secret: Option<String>,
    /// Commands for each grant.
    pub examples: Vec<Example>,
}

/// A requested scope and what it means.
#[derive(Debug, Serialize)]
pub struct ScopeView {
    /// The scope token.
    pub name: String,
    /// What it allows.
    pub description: &'static str,
}

/// `pages/consent.html`.
#[derive(Debug, Serialize)]
pub struct ConsentPage {
    /// Layout.
    #[serde(flatten)]
    pub layout: Layout,
    /// `client_name`.
    pub client_name: String,
    /// `client_uri`.
    pub client_uri: Option<String>,
    /// Requested scopes.
    pub scopes: Vec<ScopeView>,
    /// Where the answer goes.
    pub redirect_to: String,
    /// The form's action (the authorization URL).
    pub action: String,
}

/// A connected app row.
#[derive(Debug, Serialize)]
pub struct AppView {
    /// `client_id`.
    pub client_id: String,
    /// `client_name`.
    pub client_name: String,
    /// `client_uri`.
    pub client_uri: Option<String>,
    /// Scopes held.
    pub scopes: Vec<String>,
    /// When first granted.
    pub granted_at: String,
    /// When last used.
    pub last_used_at: String,
}

/// `pages/apps.html`.
#[derive(Debug, Serialize)]
pub struct AppsPage {
    /// Layout.
    #[serde(flatten)]
    pub layout: Layout,
    /// The apps.
    pub apps: Vec<AppView>,
}

/// `pages/redirect_notice.html`: an error of an untrusted client, shown
/// instead of an automatic redirect (RFC 9700 §4.11.2).
#[derive(Debug, Serialize)]
pub struct RedirectNoticePage {
    /// Layout.
    #[serde(flatten)]
    pub layout: Layout,
    /// The OAuth error code.
    pub code: String,
    /// Its description.
    pub description: String,
    /// The host the link leads to.
    pub host: String,
    /// The full error redirect.
    pub location: String,
}

/// `pages/error.html`.
#[derive(Debug, Serialize)]
pub struct ErrorPage {
    /// Layout.
    #[serde(flatten)]
    pub layout: Layout,
    /// Heading.
    pub heading: String,
    /// Explanation.
    pub message: String,
    /// An OAuth error code, if any.
    pub code: Option<String>,
}

/// Renders `template` with `page`.
///
/// # Errors
/// A context that does not serialise, or a template error.
pub fn render<T: Serialize>(tera: &Tera, template: &str, page: &T) -> Result<String, tera::Error> {
    tera.render(template, &Context::from_serialize(page)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layout() -> Layout {
        Layout {
            user: Some(UserView {
                username: "alice".to_owned(),
            }),
            csrf_token: "tok".to_owned(),
            flash: Some("<b>done</b>".to_owned()),
        }
    }

    #[test]
    fn every_page_renders_and_escapes_client_data() {
        let tera = templates().unwrap();
        let evil = "<script>alert(1)</script>".to_owned();
        let client = || ClientView {
            client_id: "id".to_owned(),
            client_name: evil.clone(),
            client_uri: Some("https://x.example".to_owned()),
            redirect_uris: vec!["https://x.example/cb".to_owned()],
            grant_types: vec!["authorization_code"],
            response_types: vec!["code"],
            scope: "profile".to_owned(),
            token_endpoint_auth_method: "none",
            confidential: false,
            issued_at: "now".to_owned(),
            trusted: false,
        };
        let pages: Vec<(&str, String)> = vec![
            (
                "pages/login.html",
                render(
                    &tera,
                    "pages/login.html",
                    &LoginPage {
                        layout: layout(),
                        error: Some(evil.clone()),
                        username: evil.clone(),
                        next_query: String::new(),
                    },
                )
                .unwrap(),
            ),
            (
                "pages/signup.html",
                render(
                    &tera,
                    "pages/signup.html",
                    &SignupPage {
                        layout: layout(),
                        errors: vec![FieldMessage {
                            field: "username".to_owned(),
                            message: evil.clone(),
                        }],
                        username: evil.clone(),
                        next_query: String::new(),
                    },
                )
                .unwrap(),
            ),
            (
                "pages/home.html",
                render(
                    &tera,
                    "pages/home.html",
                    &HomePage {
                        layout: layout(),
                        clients: vec![ClientSummary {
                            client_id: "id".to_owned(),
                            client_name: evil.clone(),
                            grant_types: vec!["password"],
                            token_endpoint_auth_method: "none",
                        }],
                    },
                )
                .unwrap(),
            ),
            (
                "pages/create_client.html",
                render(
                    &tera,
                    "pages/create_client.html",
                    &CreateClientPage {
                        layout: layout(),
                        form: ClientForm {
                            client_name: evil.clone(),
                            ..ClientForm::default()
                        },
                        errors: vec![],
                        scopes_supported: "profile".to_owned(),
                        grant_types: vec!["password"],
                        response_types: vec!["code"],
                        application_types: vec![ApplicationTypeView {
                            value: "web",
                            label: "Web",
                            hint: "h",
                            grant_types: "password".to_owned(),
                            response_types: String::new(),
                            auth_method: "none",
                        }],
                        auth_methods: vec!["none"],
                    },
                )
                .unwrap(),
            ),
            (
                "pages/client.html",
                render(
                    &tera,
                    "pages/client.html",
                    &ClientPage {
                        layout: layout(),
                        client: client(),
                        secret: None,
                        examples: vec![Example {
                            title: "t".to_owned(),
                            grant: "password",
                            command: evil.clone(),
                        }],
                    },
                )
                .unwrap(),
            ),
            (
                "pages/consent.html",
                render(
                    &tera,
                    "pages/consent.html",
                    &ConsentPage {
                        layout: layout(),
                        client_name: evil.clone(),
                        client_uri: None,
                        scopes: vec![ScopeView {
                            name: evil.clone(),
                            description: "",
                        }],
                        redirect_to: evil.clone(),
                        action: "/oauth/authorize?x=1".to_owned(),
                    },
                )
                .unwrap(),
            ),
            (
                "pages/apps.html",
                render(
                    &tera,
                    "pages/apps.html",
                    &AppsPage {
                        layout: layout(),
                        apps: vec![AppView {
                            client_id: "id".to_owned(),
                            client_name: evil.clone(),
                            client_uri: None,
                            scopes: vec![],
                            granted_at: String::new(),
                            last_used_at: String::new(),
                        }],
                    },
                )
                .unwrap(),
            ),
            (
                "pages/error.html",
                render(
                    &tera,
                    "pages/error.html",
                    &ErrorPage {
                        layout: layout(),
                        heading: evil.clone(),
                        message: evil.clone(),
                        code: None,
                    },
                )
                .unwrap(),
            ),
            (
                "pages/redirect_notice.html",
                render(
                    &tera,
                    "pages/redirect_notice.html",
                    &RedirectNoticePage {
                        layout: layout(),
                        code: evil.clone(),
                        description: evil.clone(),
                        host: evil.clone(),
                        location: evil.clone(),
                    },
                )
                .unwrap(),
            ),
        ];
        for (name, html) in pages {
            assert!(!html.contains("<script>"), "{name} shows raw client data");
            assert!(html.contains("&lt;script&gt;"), "{name} lost the data");
            assert!(!html.contains("<b>done</b>"), "{name} shows a raw flash");
        }
    }
}
