//! Tera templates, embedded in the binary so it runs from any directory, and
//! one typed view model per page, tied to its template by [`View`] so that a
//! context cannot meet the wrong template. Autoescaping is on for every
//! `.html` file.

use std::fmt;

use serde::Serialize;
use tera::{Context, Tera};

macro_rules! embedded {
    ($($name:literal),* $(,)?) => {
        [$(($name, include_str!(concat!("../../../templates/", $name)))),*]
    };
}

/// The stylesheet, served at `/static/style.css`.
pub const STYLESHEET: &str = include_str!("../../../templates/static/style.css");

/// The registration form's script (fills the settings from the chosen
/// application type), served at `/static/create_client.js`: a file, since
/// the Content-Security-Policy (`default-src 'self'`) forbids inline scripts.
pub const CREATE_CLIENT_SCRIPT: &str = include_str!("../../../templates/static/create_client.js");

/// A page's view model: its fields are the template's context.
pub trait View: Serialize {
    /// The template it fills, one of [`templates`].
    const TEMPLATE: &'static str;
}

/// Builds the template set.
///
/// # Errors
/// A template that does not parse.
pub fn templates() -> Result<Tera, tera::Error> {
    let mut tera = Tera::default();
    tera.add_raw_templates(embedded![
        "base.html",
        "partials/csrf_field.html",
        "partials/client_examples.html",
        "pages/login.html",
        "pages/signup.html",
        "pages/home.html",
        "pages/create_client.html",
        "pages/client.html",
        "pages/consent.html",
        "pages/apps.html",
        "pages/error.html",
        "pages/redirect_notice.html",
        "pages/logout_confirm.html",
        "pages/signed_out.html",
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
    pub csrf_token: SecretText,
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

impl FieldMessage {
    /// The messages of a refused registration or sign-up, one per problem.
    #[must_use]
    pub fn all_of(problems: Vec<domain::client::FieldError>) -> Vec<Self> {
        problems
            .into_iter()
            .map(|problem| Self {
                field: problem.field.to_owned(),
                message: problem.message,
            })
            .collect()
    }
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

impl View for LoginPage {
    const TEMPLATE: &'static str = "pages/login.html";
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
    /// The e-mail address typed.
    pub email: String,
    /// The display name typed.
    pub name: String,
    /// `?next=…`, already encoded, or empty.
    pub next_query: String,
}

impl View for SignupPage {
    const TEMPLATE: &'static str = "pages/signup.html";
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

impl View for HomePage {
    const TEMPLATE: &'static str = "pages/home.html";
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
    /// `post_logout_redirect_uri`, one per line.
    pub post_logout_redirect_uri: String,
    /// `id_token_signed_response_alg`.
    pub id_token_signed_response_alg: String,
    /// `default_max_age`, in seconds.
    pub default_max_age: String,
    /// `require_auth_time` checked.
    pub require_auth_time: bool,
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
    /// ID token signing algorithms offered.
    pub id_token_algs: Vec<&'static str>,
}

impl View for CreateClientPage {
    const TEMPLATE: &'static str = "pages/create_client.html";
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
    /// Where the browser may go after logging out.
    pub post_logout_redirect_uris: Vec<String>,
    /// How its ID tokens are signed.
    pub id_token_signed_response_alg: &'static str,
    /// `default_max_age`, in seconds.
    pub default_max_age: Option<i64>,
    /// Whether its ID tokens always carry `auth_time`.
    pub require_auth_time: bool,
}

/// What a relying party needs to sign users in with this client.
#[derive(Debug, Serialize)]
pub struct OpenIdSetup {
    /// The discovery document's URL.
    pub discovery_url: String,
    /// An env-file snippet (with the secret while the page shows it).
    pub env_file: SecretText,
    /// Whether the client may ask for `openid`.
    pub has_openid_scope: bool,
}

/// Text that may hold a secret (a client secret, a CSRF token): written
/// into the page as it is, never shown by `Debug` (a page model may reach a
/// log line).
#[derive(Clone, Serialize)]
#[serde(transparent)]
pub struct SecretText(pub String);

impl fmt::Debug for SecretText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretText([redacted])")
    }
}

/// What the client page's ready-to-copy commands are filled with
/// (`partials/client_examples.html`).
#[derive(Debug, Serialize)]
pub struct Examples {
    /// The issuer URL.
    pub issuer: String,
    /// `client_id`.
    pub client_id: String,
    /// The client authentication arguments of `curl`, ending in a space;
    /// with the secret when the page shows it.
    pub auth: SecretText,
    /// The first redirect URI, percent-encoded.
    pub redirect_uri: String,
    /// The client's scope.
    pub scope: String,
    /// The client's scope, percent-encoded.
    pub scope_encoded: String,
    /// The owner's user name (the password grant's example).
    pub username: String,
    /// The client's grant types, one example each.
    pub grants: Vec<&'static str>,
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
    pub secret: Option<SecretText>,
    /// Commands for each grant.
    pub examples: Examples,
    /// Discovery URL and a relying party's configuration.
    pub openid: OpenIdSetup,
}

impl View for ClientPage {
    const TEMPLATE: &'static str = "pages/client.html";
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

impl View for ConsentPage {
    const TEMPLATE: &'static str = "pages/consent.html";
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
    /// Scopes approved or held.
    pub scopes: Vec<String>,
    /// When first approved (or, without a remembered consent, granted).
    pub granted_at: String,
    /// When a token was last issued (`None`: no live token).
    pub last_used_at: Option<String>,
    /// Whether the approval is remembered (the consent page is skipped).
    pub remembered: bool,
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

impl View for AppsPage {
    const TEMPLATE: &'static str = "pages/apps.html";
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

impl View for RedirectNoticePage {
    const TEMPLATE: &'static str = "pages/redirect_notice.html";
}

/// A parameter of a logout request, carried through the confirmation form.
#[derive(Debug, Serialize)]
pub struct CarriedField {
    /// Its name.
    pub name: &'static str,
    /// Its value as sent (an `id_token_hint` is no secret to the browser
    /// that carried it here).
    pub value: String,
}

/// `pages/logout_confirm.html`: "Sign out?" for an RP-initiated logout
/// that the session cannot be tied to.
#[derive(Debug, Serialize)]
pub struct LogoutConfirmPage {
    /// Layout.
    #[serde(flatten)]
    pub layout: Layout,
    /// The client that asks, if known.
    pub client_name: Option<String>,
    /// The request's parameters, posted back.
    pub fields: Vec<CarriedField>,
}

impl View for LogoutConfirmPage {
    const TEMPLATE: &'static str = "pages/logout_confirm.html";
}

/// `pages/signed_out.html`.
#[derive(Debug, Serialize)]
pub struct SignedOutPage {
    /// Layout.
    #[serde(flatten)]
    pub layout: Layout,
    /// Whether the user chose to stay signed in.
    pub still_signed_in: bool,
    /// The client's post-logout page, offered as a link rather than an
    /// automatic redirect (a client the operator does not trust, RFC 9700
    /// §4.11.2), and its host.
    pub continue_to: Option<String>,
    /// The host of `continue_to`.
    pub continue_host: Option<String>,
}

impl View for SignedOutPage {
    const TEMPLATE: &'static str = "pages/signed_out.html";
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

impl View for ErrorPage {
    const TEMPLATE: &'static str = "pages/error.html";
}

/// Renders `view` with its template.
///
/// # Errors
/// A context that does not serialise, or a template error.
pub fn render<V: View>(tera: &Tera, view: &V) -> Result<String, tera::Error> {
    tera.render(V::TEMPLATE, &Context::from_serialize(view)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layout() -> Layout {
        Layout {
            user: Some(UserView {
                username: "alice".to_owned(),
            }),
            csrf_token: SecretText("tok".to_owned()),
            flash: Some("<b>done</b>".to_owned()),
        }
    }

    /// The page's template name and its HTML.
    fn rendered<V: View>(tera: &Tera, view: &V) -> (&'static str, String) {
        (V::TEMPLATE, render(tera, view).unwrap())
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
            post_logout_redirect_uris: vec![evil.clone()],
            id_token_signed_response_alg: "RS256",
            default_max_age: Some(60),
            require_auth_time: true,
        };
        let pages = vec![
            rendered(
                &tera,
                &LoginPage {
                    layout: layout(),
                    error: Some(evil.clone()),
                    username: evil.clone(),
                    next_query: String::new(),
                },
            ),
            rendered(
                &tera,
                &SignupPage {
                    layout: layout(),
                    errors: vec![FieldMessage {
                        field: "username".to_owned(),
                        message: evil.clone(),
                    }],
                    username: evil.clone(),
                    email: evil.clone(),
                    name: evil.clone(),
                    next_query: String::new(),
                },
            ),
            rendered(
                &tera,
                &HomePage {
                    layout: layout(),
                    clients: vec![ClientSummary {
                        client_id: "id".to_owned(),
                        client_name: evil.clone(),
                        grant_types: vec!["password"],
                        token_endpoint_auth_method: "none",
                    }],
                },
            ),
            rendered(
                &tera,
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
                    id_token_algs: vec!["RS256"],
                },
            ),
            rendered(
                &tera,
                &ClientPage {
                    layout: layout(),
                    client: client(),
                    secret: None,
                    examples: Examples {
                        issuer: evil.clone(),
                        client_id: evil.clone(),
                        auth: SecretText(evil.clone()),
                        redirect_uri: evil.clone(),
                        scope: evil.clone(),
                        scope_encoded: evil.clone(),
                        username: evil.clone(),
                        grants: domain::client::GrantType::ALL
                            .iter()
                            .map(|g| g.as_str())
                            .collect(),
                    },
                    openid: OpenIdSetup {
                        discovery_url: evil.clone(),
                        env_file: SecretText(evil.clone()),
                        has_openid_scope: false,
                    },
                },
            ),
            rendered(
                &tera,
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
            ),
            rendered(
                &tera,
                &AppsPage {
                    layout: layout(),
                    apps: vec![AppView {
                        client_id: "id".to_owned(),
                        client_name: evil.clone(),
                        client_uri: None,
                        scopes: vec![],
                        granted_at: String::new(),
                        last_used_at: None,
                        remembered: true,
                    }],
                },
            ),
            rendered(
                &tera,
                &ErrorPage {
                    layout: layout(),
                    heading: evil.clone(),
                    message: evil.clone(),
                    code: None,
                },
            ),
            rendered(
                &tera,
                &LogoutConfirmPage {
                    layout: layout(),
                    client_name: Some(evil.clone()),
                    fields: vec![CarriedField {
                        name: "state",
                        value: evil.clone(),
                    }],
                },
            ),
            rendered(
                &tera,
                &RedirectNoticePage {
                    layout: layout(),
                    code: evil.clone(),
                    description: evil.clone(),
                    host: evil.clone(),
                    location: evil.clone(),
                },
            ),
        ];
        for (name, html) in pages {
            assert!(!html.contains("<script>"), "{name} shows raw client data");
            assert!(html.contains("&lt;script&gt;"), "{name} lost the data");
            assert!(!html.contains("<b>done</b>"), "{name} shows a raw flash");
        }
    }

    #[test]
    fn view_models_never_show_a_secret_in_debug() {
        let client = ClientView {
            client_id: "id".to_owned(),
            client_name: "n".to_owned(),
            client_uri: None,
            redirect_uris: vec![],
            grant_types: vec!["client_credentials"],
            response_types: vec![],
            scope: String::new(),
            token_endpoint_auth_method: "client_secret_basic",
            confidential: true,
            issued_at: String::new(),
            trusted: false,
            post_logout_redirect_uris: vec![],
            id_token_signed_response_alg: "RS256",
            default_max_age: None,
            require_auth_time: false,
        };
        let page = ClientPage {
            layout: Layout {
                user: None,
                csrf_token: SecretText("csrf-value".to_owned()),
                flash: None,
            },
            client,
            secret: Some(SecretText("s3cr3t-value".to_owned())),
            examples: Examples {
                issuer: "https://issuer.example".to_owned(),
                client_id: "id".to_owned(),
                auth: SecretText("-u 'id:s3cr3t-value' ".to_owned()),
                redirect_uri: String::new(),
                scope: String::new(),
                scope_encoded: String::new(),
                username: "alice".to_owned(),
                grants: vec!["client_credentials"],
            },
            openid: OpenIdSetup {
                discovery_url: "https://issuer.example/.well-known/openid-configuration".to_owned(),
                env_file: SecretText("OIDC_CLIENT_SECRET=s3cr3t-value".to_owned()),
                has_openid_scope: true,
            },
        };
        let debug = format!("{page:?}");
        assert!(!debug.contains("s3cr3t-value"), "{debug}");
        assert!(!debug.contains("csrf-value"), "{debug}");
        assert!(debug.contains("[redacted]"), "{debug}");
        let html = render(&templates().unwrap(), &page).unwrap();
        assert!(
            html.contains("s3cr3t-value"),
            "the page itself shows the secret"
        );
    }
}
