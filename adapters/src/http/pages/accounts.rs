//! Sign-up, log-in, log-out, and the home page.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse};

use domain::client::Client;
use domain::params::Params;
use domain::service::accounts::{NewAccount, SignUpError};
use domain::user::User;

use super::error::PageError;
use super::{
    encode, form_field, form_status, local_path, log_in_with_password, render_page, see_other,
    FormBody, PageRequest, Visitor,
};
use crate::http::views::{ClientSummary, FieldMessage, HomePage, LoginPage, SignupPage};
use crate::http::{blocking, AppState};

fn next_of(request: &HttpRequest) -> Option<String> {
    let params = Params::parse_form(request.query_string().as_bytes()).ok()?;
    local_path(params.get("next").ok().flatten()).map(str::to_owned)
}

fn next_query(next: Option<&str>) -> String {
    next.map(|n| format!("?next={}", encode(n)))
        .unwrap_or_default()
}

fn login_page(
    state: &AppState,
    visitor: &Visitor,
    next: Option<&str>,
    username: &str,
    error: Option<&str>,
) -> Result<HttpResponse, PageError> {
    render_page(
        state,
        StatusCode::OK,
        &LoginPage {
            layout: visitor.layout(),
            error: error.map(str::to_owned),
            username: username.to_owned(),
            next_query: next_query(next),
        },
    )
}

/// `GET /`: the user's clients, or the login form.
pub async fn home(page: PageRequest) -> HttpResponse {
    page.respond(async |visitor: Visitor| {
        let Some(user) = &visitor.user else {
            return login_page(&page.state, &visitor, None, "", None);
        };
        let services = page.state.services.clone();
        let owner = user.id;
        let clients: Vec<Client> = blocking(move || services.clients_of(&owner)).await??;
        let clients = clients
            .iter()
            .map(|c| ClientSummary {
                client_id: c.id.to_string(),
                client_name: c.metadata.client_name.clone(),
                grant_types: c.metadata.grant_types.iter().map(|g| g.as_str()).collect(),
                token_endpoint_auth_method: c.metadata.token_endpoint_auth_method.as_str(),
            })
            .collect();
        render_page(
            &page.state,
            StatusCode::OK,
            &HomePage {
                layout: visitor.layout(),
                clients,
            },
        )
    })
    .await
}

/// What the authorization endpoint passes to the login page (OpenID
/// Connect Core §3.1.2.1): `login_hint`, the user name to fill in, and
/// `again=1`, to ask a signed-in user for the password anyway
/// (`prompt=login`, `max_age`).
fn login_request_of(request: &HttpRequest) -> (String, bool) {
    let Ok(params) = Params::parse_form(request.query_string().as_bytes()) else {
        return (String::new(), false);
    };
    let hint = params
        .get("login_hint")
        .ok()
        .flatten()
        .filter(|h| h.len() <= domain::service::authorize::MAX_LOGIN_HINT_LEN)
        .unwrap_or("")
        .to_owned();
    (hint, params.get("again").ok().flatten() == Some("1"))
}

/// `GET /login`: the login form (or straight to `next` when logged in,
/// unless asked to log in again).
pub async fn login_form(page: PageRequest) -> HttpResponse {
    let next = next_of(&page.request);
    let (hint, again) = login_request_of(&page.request);
    page.respond(async |visitor: Visitor| {
        if visitor.user.is_some() && !again {
            return Ok(see_other(next.as_deref().unwrap_or("/")));
        }
        login_page(&page.state, &visitor, next.as_deref(), &hint, None)
    })
    .await
}

/// The redirect after a sign-in, carrying a new device cookie for `user`.
fn signed_in(state: &AppState, user: &User, next: Option<&str>) -> HttpResponse {
    let mut response = see_other(next.unwrap_or("/"));
    let device = state.services.new_known_device(user);
    super::device::remember(state, &mut response, &device);
    response
}

/// The fields of the log-in and sign-up forms, and the address the
/// attempt is counted under (`domain::service::throttle`).
struct Credentials {
    username: String,
    password: String,
    address: Option<String>,
}

/// Reads a checked log-in or sign-up form.
fn credentials(page: &PageRequest, body: FormBody) -> Result<Credentials, PageError> {
    let form = page.checked_form(body)?;
    Ok(Credentials {
        username: form_field(&form, "username"),
        password: form_field(&form, "password"),
        address: crate::http::extract::client_address(&page.request, &page.state.trusted_proxies),
    })
}

/// `POST /login`: checks the password off the executor; the same answer
/// for an unknown user and a wrong password.
pub async fn login(page: PageRequest, body: FormBody) -> HttpResponse {
    let next = next_of(&page.request);
    page.respond(async |visitor: Visitor| {
        let form = credentials(&page, body)?;
        let username = form.username.clone();
        let device = super::device::known_device(&page.state, &page.request);
        let known_device = device
            .as_ref()
            .is_some_and(|d| page.state.services.is_known_device(d, &username));
        let services = page.state.services.clone();
        let user = blocking(move || {
            services.log_in_from(
                form.address.as_deref(),
                device.as_ref(),
                &form.username,
                &form.password,
            )
        })
        .await??;
        match user {
            Some(user) => {
                tracing::info!(event = "login_succeeded", user_id = %user.id, known_device);
                log_in_with_password(&page.state, &page.session, &user)?;
                // The page this password was entered for counts as freshly
                // logged in (prompt=login, max_age: no second login page).
                if let Some(next) = &next {
                    page.session
                        .set_login_for(domain::secret::SecretDigest::of(next).as_hex())?;
                }
                Ok(signed_in(&page.state, &user, next.as_deref()))
            }
            None => {
                tracing::info!(event = "login_failed", known_device);
                login_page(
                    &page.state,
                    &visitor,
                    next.as_deref(),
                    &username,
                    Some("The username or password is incorrect."),
                )
            }
        }
    })
    .await
}

/// What the sign-up form sent back to it: the fields to fill in again.
#[derive(Default)]
struct SignupFields {
    username: String,
    email: String,
    name: String,
}

fn signup_page(
    state: &AppState,
    visitor: &Visitor,
    next: Option<&str>,
    typed: SignupFields,
    errors: Vec<FieldMessage>,
) -> Result<HttpResponse, PageError> {
    render_page(
        state,
        form_status(&errors),
        &SignupPage {
            layout: visitor.layout(),
            errors,
            username: typed.username,
            email: typed.email,
            name: typed.name,
            next_query: next_query(next),
        },
    )
}

/// `GET /signup`.
pub async fn signup_form(page: PageRequest) -> HttpResponse {
    let next = next_of(&page.request);
    page.respond(async |visitor: Visitor| {
        signup_page(
            &page.state,
            &visitor,
            next.as_deref(),
            SignupFields::default(),
            Vec::new(),
        )
    })
    .await
}

/// `POST /signup`: creates the account (with its optional e-mail address
/// and display name, never verified) and logs it in.
pub async fn signup(page: PageRequest, body: FormBody) -> HttpResponse {
    let next = next_of(&page.request);
    page.respond(async |visitor: Visitor| {
        let form = page.checked_form(body)?;
        let typed = SignupFields {
            username: form_field(&form, "username"),
            email: form_field(&form, "email"),
            name: form_field(&form, "name"),
        };
        let password = form_field(&form, "password");
        let address =
            crate::http::extract::client_address(&page.request, &page.state.trusted_proxies);
        let services = page.state.services.clone();
        let (username, email, name) = (
            typed.username.clone(),
            typed.email.clone(),
            typed.name.clone(),
        );
        let sign_up = move || {
            services.sign_up_from(
                address.as_deref(),
                &NewAccount {
                    username: &username,
                    password: &password,
                    email: Some(&email),
                    email_verified: false,
                    name: Some(&name),
                },
            )
        };
        let taken = |field: &str| {
            vec![FieldMessage {
                field: field.to_owned(),
                message: "is already taken".to_owned(),
            }]
        };
        match blocking(sign_up).await? {
            Ok(user) => {
                // The user id only: an e-mail address is personal data.
                tracing::info!(event = "user_signed_up", user_id = %user.id);
                log_in_with_password(&page.state, &page.session, &user)?;
                page.session.flash("Welcome! Your account is ready.");
                Ok(signed_in(&page.state, &user, next.as_deref()))
            }
            Err(SignUpError::Invalid(problems)) => {
                let errors = FieldMessage::all_of(problems);
                signup_page(&page.state, &visitor, next.as_deref(), typed, errors)
            }
            Err(SignUpError::Taken) => signup_page(
                &page.state,
                &visitor,
                next.as_deref(),
                typed,
                taken("username"),
            ),
            Err(SignUpError::EmailTaken) => signup_page(
                &page.state,
                &visitor,
                next.as_deref(),
                typed,
                taken("email"),
            ),
            Err(SignUpError::Throttled(error)) => Err(error.into()),
            Err(SignUpError::Store(error)) => Err(error.into()),
        }
    })
    .await
}

/// `POST /logout`: ends the session server-side.
pub async fn logout(page: PageRequest, body: FormBody) -> HttpResponse {
    page.respond(async |visitor: Visitor| {
        page.checked_form(body)?;
        if let Some(user) = &visitor.user {
            tracing::info!(event = "logout", user_id = %user.id);
        }
        page.session.log_out();
        Ok(see_other("/"))
    })
    .await
}
