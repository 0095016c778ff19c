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
use domain::service::authorize::{
    AuthorizationRequest, AuthorizationResponse, AuthorizeError, Login,
};

use super::error::page_status_of;
use super::pages::error::{oauth_error_page, PageError};
use super::pages::{login_url, render_page, see_other, FormBody, PageRequest, Visitor};
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

/// `GET /oauth/authorize`: the consent page.
pub async fn get(page: PageRequest) -> HttpResponse {
    page.respond(async |visitor: Visitor| {
        consent(&page.state, &visitor, &page.request)
            .await
            .or_else(|stop| stop.answer(&page.state, &visitor))
    })
    .await
}

async fn consent(
    state: &AppState,
    visitor: &Visitor,
    request: &HttpRequest,
) -> Result<HttpResponse, Stop> {
    let authorization = validated(state, visitor, request).await?;
    if visitor.user.is_none() {
        return Ok(see_other(&login_url(&path_and_query(request))));
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
    let client_id = authorization.client.id.to_string();
    match form.get("confirm").ok().flatten() {
        Some("yes") => {
            let services = state.services.clone();
            let login = Login {
                auth_time: visitor.auth_time,
                sid: visitor.sid.clone(),
            };
            let response =
                blocking(move || services.approve_authorization(&authorization, &user.id, &login))
                    .await?
                    .map_err(Stop::Refused)?;
            tracing::info!(event = "consent_granted", client_id = %client_id, user_id = %user.id);
            Ok(redirect(&response))
        }
        Some("no") => {
            tracing::info!(event = "consent_denied", client_id = %client_id, user_id = %user.id);
            Ok(redirect(&state.services.deny_authorization(&authorization)))
        }
        _ => Err(PageError::BadRequest("Choose Allow or Deny.".to_owned()).into()),
    }
}
