//! Client registration and the client page.
//!
//! A new or rotated secret is shown once: it travels to the client page in
//! a short-lived cookie encrypted with the server's key (never in the
//! database, where only its digest is stored), and the page clears it.

use actix_web::cookie::{Cookie, SameSite};
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};

use domain::client::{ApplicationType, AuthMethod, Client, RegistrationInput};
use domain::id_token::JwsAlgorithm;
use domain::params::Params;
use domain::service::clients::{Actor, ClientWithSecret, RegistrationError};

use super::error::PageError;
use super::{
    form_field, form_status, login_url, render_page, see_other, FormBody, PageRequest, Visitor,
};
use crate::http::views::{
    ApplicationTypeView, ClientForm, ClientPage, ClientView, CreateClientPage, Examples,
    FieldMessage, OpenIdSetup, SecretText,
};
use crate::http::{blocking, private_cookie, AppState};

const SECRET_COOKIE: &str = "client_secret_once";

fn form_page(
    state: &AppState,
    visitor: &Visitor,
    form: ClientForm,
    errors: Vec<FieldMessage>,
) -> Result<HttpResponse, PageError> {
    let capabilities = &state.services.policy.capabilities;
    render_page(
        state,
        form_status(&errors),
        &CreateClientPage {
            layout: visitor.layout(),
            form,
            errors,
            scopes_supported: capabilities.scopes.to_string(),
            grant_types: capabilities
                .grant_types
                .iter()
                .map(|g| g.as_str())
                .collect(),
            response_types: capabilities
                .response_types
                .iter()
                .map(|r| r.as_str())
                .collect(),
            application_types: ApplicationType::ALL
                .iter()
                .map(|&app| application_type_view(app, capabilities))
                .collect(),
            auth_methods: AuthMethod::ALL.iter().map(|m| m.as_str()).collect(),
            id_token_algs: JwsAlgorithm::ALL.iter().map(|a| a.as_str()).collect(),
        },
    )
}

fn application_type_view(
    app: ApplicationType,
    capabilities: &domain::client::ServerCapabilities,
) -> ApplicationTypeView {
    let (label, hint) = match app {
        ApplicationType::Web => (
            "Web application",
            "A server-side app that can keep a secret: authorization code with refresh tokens.",
        ),
        ApplicationType::Public => (
            "Single-page or native app",
            "Runs in a browser or on a device and cannot keep a secret: authorization code with PKCE, no secret.",
        ),
        ApplicationType::Machine => (
            "Machine-to-machine",
            "A service calling APIs for itself, with no user: client credentials.",
        ),
    };
    let join = |names: Vec<&'static str>| names.join(" ");
    ApplicationTypeView {
        value: app.as_str(),
        label,
        hint,
        grant_types: join(
            app.grant_types(capabilities)
                .iter()
                .map(|g| g.as_str())
                .collect(),
        ),
        response_types: join(app.response_types().iter().map(|r| r.as_str()).collect()),
        auth_method: app.auth_method().as_str(),
    }
}

/// The form as first shown: a web application's settings.
fn default_form(capabilities: &domain::client::ServerCapabilities) -> ClientForm {
    let app = ApplicationType::Web;
    let preset = app.preset(capabilities);
    ClientForm {
        application_type: app.as_str().to_owned(),
        grant_types: preset.grant_types,
        response_types: preset.response_types,
        token_endpoint_auth_method: preset.token_endpoint_auth_method,
        id_token_signed_response_alg: JwsAlgorithm::Rs256.as_str().to_owned(),
        ..ClientForm::default()
    }
}

/// `GET /create_client`.
pub async fn new_form(page: PageRequest) -> HttpResponse {
    page.respond(async |visitor: Visitor| {
        if visitor.user.is_none() {
            return Ok(see_other(&login_url("/create_client")));
        }
        let form = default_form(&page.state.services.policy.capabilities);
        form_page(&page.state, &visitor, form, Vec::new())
    })
    .await
}

fn lines(value: &str) -> Vec<String> {
    value
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect()
}

/// Every value of a list field: repeated fields (the form's checkboxes)
/// and newline-separated values in one field (the seed's textareas, which
/// scripts still post) both count.
fn list_field(params: &Params, name: &str) -> Vec<String> {
    params
        .pairs()
        .iter()
        .filter(|(n, _)| n == name)
        .flat_map(|(_, v)| lines(v))
        .collect()
}

/// `POST /create_client`: registers the client, or shows the form again
/// with the values kept and a message per field.
pub async fn create(page: PageRequest, body: FormBody) -> HttpResponse {
    page.respond(async |visitor: Visitor| {
        let Some(user) = visitor.user.clone() else {
            return Ok(see_other(&login_url("/create_client")));
        };
        let params = page.checked_form(body)?;
        let form = ClientForm {
            client_name: form_field(&params, "client_name"),
            client_uri: form_field(&params, "client_uri"),
            scope: form_field(&params, "scope"),
            redirect_uri: form_field(&params, "redirect_uri"),
            application_type: form_field(&params, "application_type"),
            grant_types: list_field(&params, "grant_type"),
            response_types: list_field(&params, "response_type"),
            token_endpoint_auth_method: form_field(&params, "token_endpoint_auth_method"),
            post_logout_redirect_uri: form_field(&params, "post_logout_redirect_uri"),
            id_token_signed_response_alg: form_field(&params, "id_token_signed_response_alg"),
            default_max_age: form_field(&params, "default_max_age"),
            require_auth_time: params.contains("require_auth_time"),
        };
        let input = RegistrationInput {
            client_name: form.client_name.clone(),
            client_uri: form.client_uri.clone(),
            redirect_uris: lines(&form.redirect_uri),
            grant_types: form.grant_types.clone(),
            response_types: form.response_types.clone(),
            scope: form.scope.clone(),
            token_endpoint_auth_method: form.token_endpoint_auth_method.clone(),
            post_logout_redirect_uris: lines(&form.post_logout_redirect_uri),
            id_token_signed_response_alg: form.id_token_signed_response_alg.clone(),
            default_max_age: form.default_max_age.clone(),
            require_auth_time: form.require_auth_time,
        };
        let services = page.state.services.clone();
        let owner = user.id;
        match blocking(move || services.register_client(&owner, &input)).await? {
            Ok(created) => Ok(to_client_page(
                &page.state,
                "client_created",
                owner,
                &created,
            )),
            Err(RegistrationError::Invalid(errors)) => {
                let errors = FieldMessage::all_of(errors);
                form_page(&page.state, &visitor, form, errors)
            }
            Err(RegistrationError::QuotaReached(max)) => {
                let errors = vec![FieldMessage {
                    field: "quota".to_owned(),
                    message: format!(
                        "You have reached the limit of {max} clients: \
                         delete one to register another."
                    ),
                }];
                form_page(&page.state, &visitor, form, errors)
            }
            Err(RegistrationError::Store(error)) => Err(error.into()),
        }
    })
    .await
}

/// After a registration or a secret rotation (logged as `event`): to the
/// client's page, with the new secret, if any, in a one-time cookie so that
/// the page shows it once.
fn to_client_page(
    state: &AppState,
    event: &'static str,
    owner: impl std::fmt::Display,
    created: &ClientWithSecret,
) -> HttpResponse {
    tracing::info!(event = event, client_id = %created.client.id, user_id = %owner);
    let mut response = see_other(&format!("/clients/{}", created.client.id));
    let Some(secret) = &created.secret else {
        return response;
    };
    let value = format!("{}:{}", created.client.id, secret.expose());
    let cookie = private_cookie::build(state, SECRET_COOKIE, value, SameSite::Strict)
        .path(format!("/clients/{}", created.client.id))
        .max_age(actix_web::cookie::time::Duration::seconds(120))
        .finish();
    private_cookie::set(state, &mut response, cookie);
    response
}

/// The secret carried by the one-time cookie, if it is for `client`.
fn secret_from_cookie(state: &AppState, request: &HttpRequest, client: &Client) -> Option<String> {
    let value = private_cookie::read(state, request, SECRET_COOKIE)?;
    let (id, secret) = value.split_once(':')?;
    let secret = secret.to_owned();
    (id == client.id.as_str()
        && client
            .secret_digest
            .as_ref()
            .is_some_and(|d| d.matches(&secret)))
    .then_some(secret)
}

async fn find_owned(
    state: &AppState,
    user: &domain::user::User,
    id: String,
) -> Result<Client, PageError> {
    let services = state.services.clone();
    let owner = user.id;
    blocking(move || services.client_for(Actor::Owner(owner), &id))
        .await??
        .ok_or(PageError::NotFound)
}

/// `GET /clients/{client_id}`: the owner's view of a client; 404 for others.
pub async fn show(page: PageRequest, path: web::Path<String>) -> HttpResponse {
    let id = path.into_inner();
    page.respond(async |visitor: Visitor| {
        let Some(user) = visitor.user.clone() else {
            return Ok(see_other(&login_url(page.request.path())));
        };
        let client = find_owned(&page.state, &user, id).await?;
        let secret = secret_from_cookie(&page.state, &page.request, &client);
        let examples = examples(
            &page.state.services.policy.issuer,
            &client,
            secret.as_deref(),
            user.username.as_str(),
        );
        let m = &client.metadata;
        let view = ClientView {
            client_id: client.id.to_string(),
            client_name: m.client_name.clone(),
            client_uri: m.client_uri.clone(),
            redirect_uris: m.redirect_uris.iter().map(ToString::to_string).collect(),
            grant_types: m.grant_types.iter().map(|g| g.as_str()).collect(),
            response_types: m.response_types.iter().map(|r| r.as_str()).collect(),
            scope: m.scope.to_string(),
            token_endpoint_auth_method: m.token_endpoint_auth_method.as_str(),
            confidential: client.is_confidential(),
            issued_at: client.issued_at.display(),
            trusted: client.trusted,
            post_logout_redirect_uris: m
                .post_logout_redirect_uris
                .iter()
                .map(ToString::to_string)
                .collect(),
            id_token_signed_response_alg: m.id_token_signed_response_alg.as_str(),
            default_max_age: m.default_max_age.map(domain::time::Lifetime::seconds),
            require_auth_time: m.require_auth_time,
        };
        let openid = openid_setup(
            &page.state.services.policy.issuer,
            &client,
            secret.as_deref(),
        );
        let mut response = render_page(
            &page.state,
            StatusCode::OK,
            &ClientPage {
                layout: visitor.layout(),
                client: view,
                secret: secret.map(SecretText),
                examples,
                openid,
            },
        )?;
        if page.request.cookie(SECRET_COOKIE).is_some() {
            let mut removal = Cookie::build(SECRET_COOKIE, "")
                .path(format!("/clients/{}", client.id))
                .http_only(true)
                .secure(page.state.https)
                .same_site(SameSite::Strict)
                .finish();
            removal.make_removal();
            let _ = response.add_cookie(&removal);
        }
        Ok(response)
    })
    .await
}

/// `POST /clients/{client_id}/rotate_secret`.
pub async fn rotate_secret(
    page: PageRequest,
    path: web::Path<String>,
    body: FormBody,
) -> HttpResponse {
    let id = path.into_inner();
    page.respond(async |visitor: Visitor| {
        let (owner, rotated) = page
            .user_action(&visitor, body, move |services, owner| {
                services.rotate_client_secret(Actor::Owner(owner), &id)
            })
            .await?;
        let rotated = rotated.ok_or(PageError::NotFound)?;
        Ok(to_client_page(
            &page.state,
            "client_secret_rotated",
            owner,
            &rotated,
        ))
    })
    .await
}

/// `POST /clients/{client_id}/delete`: deletes the client and its tokens.
pub async fn delete(page: PageRequest, path: web::Path<String>, body: FormBody) -> HttpResponse {
    let id = path.into_inner();
    page.respond(async |visitor: Visitor| {
        let client_id = id.clone();
        let (owner, deleted) = page
            .user_action(&visitor, body, move |services, owner| {
                services.delete_client(Actor::Owner(owner), &client_id)
            })
            .await?;
        if !deleted {
            return Err(PageError::NotFound);
        }
        tracing::info!(event = "client_deleted", client_id = %id, user_id = %owner);
        page.session
            .flash("The client was deleted and its tokens revoked.");
        Ok(see_other("/"))
    })
    .await
}

/// What the ready-to-copy commands of `client` are filled with.
fn examples(issuer: &str, client: &Client, secret: Option<&str>, username: &str) -> Examples {
    let m = &client.metadata;
    let id = client.id.as_str();
    let secret = secret.unwrap_or("$CLIENT_SECRET");
    let auth = match m.token_endpoint_auth_method {
        AuthMethod::ClientSecretBasic => format!("-u '{id}:{secret}' "),
        AuthMethod::ClientSecretPost => format!("-d client_id={id} -d client_secret={secret} "),
        AuthMethod::None => format!("-d client_id={id} "),
    };
    let redirect = m
        .redirect_uris
        .first()
        .map(ToString::to_string)
        .unwrap_or_default();
    let scope = m.scope.to_string();
    Examples {
        issuer: issuer.to_owned(),
        client_id: id.to_owned(),
        auth: SecretText(auth),
        redirect_uri: super::encode(&redirect),
        scope_encoded: super::encode(&scope),
        scope,
        username: username.to_owned(),
        grants: m.grant_types.iter().map(|g| g.as_str()).collect(),
    }
}

/// The discovery URL (Discovery 1.0 §4: the issuer with
/// `/.well-known/openid-configuration` appended) and a relying party's
/// configuration for `client`, as an env file most RP libraries and
/// containers read (the secret only while the page shows it).
fn openid_setup(issuer: &str, client: &Client, secret: Option<&str>) -> OpenIdSetup {
    let m = &client.metadata;
    let issuer = issuer.trim_end_matches('/');
    let discovery_url = format!("{issuer}/.well-known/openid-configuration");
    let mut lines = vec![
        format!("OIDC_ISSUER={issuer}"),
        format!("OIDC_DISCOVERY_URL={discovery_url}"),
        format!("OIDC_CLIENT_ID={}", client.id),
    ];
    if client.is_confidential() {
        lines.push(format!(
            "OIDC_CLIENT_SECRET={}",
            secret.unwrap_or("$CLIENT_SECRET")
        ));
        lines.push(format!(
            "OIDC_TOKEN_ENDPOINT_AUTH_METHOD={}",
            m.token_endpoint_auth_method
        ));
    } else {
        lines.push("OIDC_USE_PKCE=true".to_owned());
    }
    if let Some(redirect) = m.redirect_uris.first() {
        lines.push(format!("OIDC_REDIRECT_URI={redirect}"));
    }
    lines.push("OIDC_SCOPES=openid profile email".to_owned());
    lines.push(format!(
        "OIDC_ID_TOKEN_SIGNING_ALG={}",
        m.id_token_signed_response_alg
    ));
    if let Some(after_logout) = m.post_logout_redirect_uris.first() {
        lines.push(format!("OIDC_POST_LOGOUT_REDIRECT_URI={after_logout}"));
    }
    OpenIdSetup {
        discovery_url,
        env_file: SecretText(lines.join("\n")),
        has_openid_scope: m.scope.tokens().any(|s| s == "openid"),
    }
}
