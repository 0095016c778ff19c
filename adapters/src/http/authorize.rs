//! `GET/POST /oauth/authorize`: the authorization endpoint and the consent
//! page (RFC 6749 §3.1, §4.1.1, §4.2.1).
//!
//! The authorization request is always read from the query string; the
//! consent form posts back to the same URL with `confirm=yes|no` and its
//! CSRF token in the body. Consent is given only by that POST, never by a
//! GET (RFC 6749 §10.12).

use actix_web::http::header::{self, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse};

use domain::error::OAuthError;
use domain::params::Params;
use domain::secret::SecretDigest;
use domain::service::authorize::{
    AuthorizationRequest, AuthorizationResponse, AuthorizeError, BrowserSession, Login, NextStep,
};
use domain::user::User;

use super::error::page_status_of;
use super::pages::error::{oauth_error_page, PageError};
use super::pages::{encode, login_url, render_page, see_other, FormBody, PageRequest, Visitor};
use super::views::{ConsentPage, RedirectNoticePage, ScopeView};
use super::{blocking, AppState};

fn scope_description(scope: &str) -> &'static str {
    match scope {
        "openid" => "sign you in: who you are (your user id) and when you signed in",
        "profile" => "your user id and user name",
        "email" => "your email address",
        "offline_access" => "keep access while you are away, until you revoke it",
        _ => "",
    }
}

fn redirect(response: &AuthorizationResponse) -> HttpResponse {
    let mut http = HttpResponse::Found().finish();
    if let Ok(value) = HeaderValue::from_str(&response.location()) {
        http.headers_mut().insert(header::LOCATION, value);
    }
    http.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    http
}

/// What ends the endpoint before the user's decision.
enum Stop {
    /// The page itself failed (the store, the session, the form): the
    /// common error page.
    Failed(PageError),
    /// The request is refused: an error page, or an error for the client.
    Refused(AuthorizeError),
}

impl From<PageError> for Stop {
    fn from(error: PageError) -> Self {
        Self::Failed(error)
    }
}

impl From<OAuthError> for Stop {
    fn from(error: OAuthError) -> Self {
        Self::Failed(error.into())
    }
}

impl Stop {
    /// The response for this stop.
    fn answer(self, state: &AppState, visitor: &Visitor) -> Result<HttpResponse, PageError> {
        Ok(match self {
            Self::Failed(error) => return Err(error),
            Self::Refused(AuthorizeError::ToUser(error)) => error_page(state, visitor, &error),
            // Only a visitor who is not signed in is asked before an error
            // redirect (RFC 9700 §4.11.2); a signed-in user is redirected.
            Self::Refused(AuthorizeError::Confirm(response)) if visitor.user.is_none() => {
                redirect_notice(state, visitor, &response)
            }
            Self::Refused(
                AuthorizeError::Redirect(response) | AuthorizeError::Confirm(response),
            ) => redirect(&response),
        })
    }
}

/// Validates the request from the query string.
async fn validated(
    state: &AppState,
    visitor: &Visitor,
    request: &HttpRequest,
) -> Result<AuthorizationRequest, Stop> {
    let params = Params::parse_form(request.query_string().as_bytes())
        .map_err(|error| Stop::Refused(AuthorizeError::ToUser(error)))?;
    let services = state.services.clone();
    let signed_in = visitor.user.is_some();
    blocking(move || services.validate_authorization_for(&params, signed_in))
        .await?
        .map_err(Stop::Refused)
}

/// RFC 9700 §4.11.2: an error of a client the operator does not trust, for
/// a visitor who is not signed in, is not redirected automatically (anyone
/// can register a phishing page as a redirect URI): a 400 page names the
/// target host and offers the error redirect as a link.
fn redirect_notice(
    state: &AppState,
    visitor: &Visitor,
    response: &AuthorizationResponse,
) -> HttpResponse {
    let host = url::Url::parse(&response.redirect_to)
        .ok()
        .map(|u| match u.host_str() {
            Some(host) => host.to_owned(),
            None => format!("{}:", u.scheme()),
        })
        .unwrap_or_else(|| response.redirect_to.clone());
    let context = RedirectNoticePage {
        layout: visitor.layout(),
        code: response.param("error").unwrap_or_default().to_owned(),
        description: response
            .param("error_description")
            .unwrap_or_default()
            .to_owned(),
        host,
        location: response.location(),
    };
    render_page(state, StatusCode::BAD_REQUEST, &context).unwrap_or_else(|_| {
        oauth_error_page(
            state,
            Some(visitor),
            StatusCode::BAD_REQUEST,
            "This authorization request cannot be processed",
            response.param("error_description").unwrap_or_default(),
            response.param("error"),
        )
    })
}

fn error_page(state: &AppState, visitor: &Visitor, error: &OAuthError) -> HttpResponse {
    // RFC 6749 §4.1.2.1: with an unknown client or redirect URI, tell the
    // user and do not redirect.
    oauth_error_page(
        state,
        Some(visitor),
        page_status_of(error.code),
        "This authorization request cannot be processed",
        &error.description,
        Some(error.code.as_str()),
    )
}

fn path_and_query(request: &HttpRequest) -> String {
    match request.query_string() {
        "" => request.path().to_owned(),
        query => format!("{}?{query}", request.path()),
    }
}

/// How long after a password entry made for a request that request counts
/// as freshly logged in (`prompt=login`, `max_age`): long enough to read
/// the consent page, short enough that a stale tab does not skip a login.
const FRESH_LOGIN_SECONDS: i64 = 600;

/// Whether the visitor entered their password for this very request, a
/// short while ago (the login page records it, see
/// [`super::typed_session::TypedSession::set_login_for`]).
fn fresh_login(page: &PageRequest, visitor: &Visitor, max_age: Option<i64>) -> bool {
    let this = SecretDigest::of(&path_and_query(&page.request));
    // No longer than the request's max_age (Core §3.1.2.1: the ID token's
    // auth_time must then be within it), but 30 s at least, so that
    // `max_age=0` does not send the user back to the login page whenever
    // the redirect crosses a second.
    let window = max_age.map_or(FRESH_LOGIN_SECONDS, |m| m.clamp(30, FRESH_LOGIN_SECONDS));
    let recent = visitor
        .auth_time
        .is_some_and(|at| at.seconds_until(page.state.services.now()) <= window);
    visitor.user.is_some()
        && recent
        && page
            .session
            .login_for()
            .ok()
            .flatten()
            .is_some_and(|d| d == this.as_hex())
}

/// What OpenID Connect says to do next (log in, consent, issue), or the
/// error for the client (Core §3.1.2.3–§3.1.2.6).
async fn next_step(
    page: &PageRequest,
    visitor: &Visitor,
    authorization: &AuthorizationRequest,
) -> Result<NextStep, Stop> {
    let services = page.state.services.clone();
    let request = authorization.clone();
    let user = visitor.user.as_ref().map(|u| u.id);
    let auth_time = visitor.auth_time;
    let fresh_login = fresh_login(page, visitor, authorization.effective_max_age());
    blocking(move || {
        services.next_step(
            &request,
            BrowserSession {
                user: user.as_ref(),
                auth_time,
                fresh_login,
            },
        )
    })
    .await?
    .map_err(Stop::Refused)
}

/// The login page for this request: back here after, the user name filled
/// in with `login_hint` (Core §3.1.2.1) or, to log in again, the signed-in
/// user's.
fn log_in_first(
    request: &HttpRequest,
    visitor: &Visitor,
    authorization: &AuthorizationRequest,
    again: bool,
) -> HttpResponse {
    let mut location = login_url(&path_and_query(request));
    let hint = authorization.login_hint.clone().or_else(|| {
        again
            .then(|| visitor.user.as_ref().map(|u| u.username.to_string()))
            .flatten()
    });
    if let Some(hint) = hint {
        location.push_str("&login_hint=");
        location.push_str(&encode(&hint));
    }
    if again {
        location.push_str("&again=1");
    }
    see_other(&location)
}

/// Issues the code or token without a page: consent is remembered.
async fn issue(
    page: &PageRequest,
    visitor: &Visitor,
    user: &User,
    authorization: AuthorizationRequest,
) -> Result<HttpResponse, Stop> {
    let services = page.state.services.clone();
    let client_id = authorization.client.id.to_string();
    let user_id = user.id;
    let login = Login {
        auth_time: visitor.auth_time,
        sid: visitor.sid.clone(),
        methods: visitor.amr.clone(),
    };
    let response =
        blocking(move || services.approve_authorization(&authorization, &user_id, &login))
            .await?
            .map_err(Stop::Refused)?;
    page.session.clear_login_for();
    tracing::info!(event = "consent_remembered", client_id = %client_id, user_id = %user.id);
    Ok(redirect(&response))
}

/// `GET /oauth/authorize`: the login page, the consent page, or straight
/// back to the client.
pub async fn get(page: PageRequest) -> HttpResponse {
    page.respond(async |visitor: Visitor| {
        consent(&page, &visitor)
            .await
            .or_else(|stop| stop.answer(&page.state, &visitor))
    })
    .await
}

async fn consent(page: &PageRequest, visitor: &Visitor) -> Result<HttpResponse, Stop> {
    let (state, request) = (&page.state, &page.request);
    let authorization = validated(state, visitor, request).await?;
    let step = next_step(page, visitor, &authorization).await?;
    if let NextStep::LogIn { again } = step {
        return Ok(log_in_first(request, visitor, &authorization, again));
    }
    // next_step asks for a login whenever nobody is signed in.
    let Some(user) = &visitor.user else {
        return Ok(see_other(&login_url(&path_and_query(request))));
    };
    if step == NextStep::Issue {
        return issue(page, visitor, user, authorization).await;
    }
    let context = ConsentPage {
        layout: visitor.layout(),
        client_name: authorization.client.metadata.client_name.clone(),
        client_uri: authorization.client.metadata.client_uri.clone(),
        scopes: authorization
            .scope
            .tokens()
            .map(|s| ScopeView {
                name: s.to_owned(),
                description: scope_description(s),
            })
            .collect(),
        redirect_to: authorization.redirect_to.clone(),
        action: path_and_query(request),
    };
    Ok(render_page(state, StatusCode::OK, &context)?)
}

/// `POST /oauth/authorize`: the user's decision.
pub async fn post(page: PageRequest, body: FormBody) -> HttpResponse {
    page.respond(async |visitor: Visitor| {
        decide(&page, &visitor, body)
            .await
            .or_else(|stop| stop.answer(&page.state, &visitor))
    })
    .await
}

async fn decide(
    page: &PageRequest,
    visitor: &Visitor,
    body: FormBody,
) -> Result<HttpResponse, Stop> {
    let (state, request) = (&page.state, &page.request);
    let form = page.checked_form(body)?;
    let authorization = validated(state, visitor, request).await?;
    let Some(user) = visitor.user.clone() else {
        return Ok(see_other(&login_url(&path_and_query(request))));
    };
    // The login the request asks for (prompt=login, max_age) comes before
    // any decision, posted or not.
    if let NextStep::LogIn { again } = next_step(page, visitor, &authorization).await? {
        return Ok(log_in_first(request, visitor, &authorization, again));
    }
    let client_id = authorization.client.id.to_string();
    match form.get("confirm").ok().flatten() {
        Some("yes") => {
            let services = state.services.clone();
            let login = Login {
                auth_time: visitor.auth_time,
                sid: visitor.sid.clone(),
                methods: visitor.amr.clone(),
            };
            let response = blocking(move || {
                services.remember_consent(&authorization, &user.id)?;
                services.approve_authorization(&authorization, &user.id, &login)
            })
            .await?
            .map_err(Stop::Refused)?;
            page.session.clear_login_for();
            tracing::info!(event = "consent_granted", client_id = %client_id, user_id = %user.id);
            Ok(redirect(&response))
        }
        Some("no") => {
            page.session.clear_login_for();
            tracing::info!(event = "consent_denied", client_id = %client_id, user_id = %user.id);
            Ok(redirect(&state.services.deny_authorization(&authorization)))
        }
        _ => Err(PageError::BadRequest("Choose Allow or Deny.".to_owned()).into()),
    }
}
