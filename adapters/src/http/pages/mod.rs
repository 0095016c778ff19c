//! The browser pages: accounts, clients, connected apps. What they share:
//! the visitor (session user and CSRF token), the CSRF and Origin check,
//! form reading, rendering and the error page.

pub mod accounts;
pub mod apps;
pub mod clients;
pub mod device;

use actix_session::Session;
use actix_web::http::header::{self, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse};
use serde::Serialize;
use subtle::ConstantTimeEq;

use domain::ids::UserId;
use domain::params::Params;
use domain::user::User;

use super::AppState;
use crate::render::{render, ErrorPage, Layout, UserView};

/// The session key holding the logged-in user id.
pub const USER_KEY: &str = "uid";
const CSRF_KEY: &str = "csrf";
const FLASH_KEY: &str = "flash";

/// Who is looking at a page.
pub struct Visitor {
    /// The logged-in user.
    pub user: Option<User>,
    /// The session's CSRF token.
    pub csrf_token: String,
    /// A one-time message taken from the session.
    pub flash: Option<String>,
    /// A CSRF token made for an anonymous visitor, to set as a cookie.
    pub new_anonymous_token: Option<String>,
}

impl Visitor {
    /// The layout context for this visitor.
    #[must_use]
    pub fn layout(&self) -> Layout {
        Layout {
            user: self.user.as_ref().map(|u| UserView {
                username: u.username.to_string(),
            }),
            csrf_token: self.csrf_token.clone(),
            flash: self.flash.clone(),
        }
    }
}

/// What can go wrong on a page; each becomes a readable page.
#[derive(Debug)]
pub enum PageError {
    /// 400: malformed input.
    BadRequest(String),
    /// 403: failed CSRF or Origin check.
    Forbidden,
    /// 404.
    NotFound,
    /// 503: the database is unavailable.
    Unavailable,
    /// 429: too many failed attempts; retry after these seconds.
    TooManyAttempts(i64),
    /// 500: something unexpected (logged, never shown).
    Internal(String),
}

impl From<domain::error::StoreError> for PageError {
    fn from(error: domain::error::StoreError) -> Self {
        match error {
            domain::error::StoreError::Unavailable(_) => Self::Unavailable,
            domain::error::StoreError::Gone => Self::BadRequest(
                "The account or application this needs was deleted in the meantime.".to_owned(),
            ),
            other => Self::Internal(other.to_string()),
        }
    }
}

impl From<actix_session::SessionGetError> for PageError {
    fn from(error: actix_session::SessionGetError) -> Self {
        Self::Internal(error.to_string())
    }
}

impl From<actix_session::SessionInsertError> for PageError {
    fn from(error: actix_session::SessionInsertError) -> Self {
        Self::Internal(error.to_string())
    }
}

impl From<domain::error::OAuthError> for PageError {
    fn from(error: domain::error::OAuthError) -> Self {
        match error.code {
            domain::error::ErrorCode::TemporarilyUnavailable => Self::Unavailable,
            domain::error::ErrorCode::SlowDown => {
                Self::TooManyAttempts(error.retry_after.unwrap_or(60))
            }
            domain::error::ErrorCode::ServerError => Self::Internal(error.description.to_string()),
            _ => Self::BadRequest(error.description.to_string()),
        }
    }
}

/// Loads the visitor: the session user (dropped if deleted since) and the
/// CSRF token (made on first visit).
///
/// # Errors
/// Session or store failures.
pub async fn visitor(
    state: &AppState,
    session: &Session,
    request: &HttpRequest,
) -> Result<Visitor, PageError> {
    // A session (in the database) exists only once someone logs in; before
    // that the CSRF token lives in an encrypted cookie, so that anonymous
    // page views cost no write.
    let mut new_anonymous_token = None;
    let csrf_token = match session.get::<String>(CSRF_KEY)? {
        Some(token) => token,
        None => match anonymous_csrf_token(state, request) {
            Some(token) => token,
            None => {
                let token = new_csrf_token();
                new_anonymous_token = Some(token.clone());
                token
            }
        },
    };
    // Only touch the flash when there is one: a removal marks the session
    // changed, which costs a write.
    let flash = if session.contains_key(FLASH_KEY) {
        session.remove_as::<String>(FLASH_KEY).and_then(Result::ok)
    } else {
        None
    };
    let user = match session
        .get::<String>(USER_KEY)?
        .as_deref()
        .and_then(UserId::parse)
    {
        Some(id) => {
            let services = state.services.clone();
            let found = super::blocking(move || services.find_user(&id)).await??;
            if found.is_none() {
                session.remove(USER_KEY);
            }
            found
        }
        None => None,
    };
    Ok(Visitor {
        user,
        csrf_token,
        flash,
        new_anonymous_token,
    })
}

/// A new CSRF token, from the adapter's own random source (the use cases'
/// is theirs alone).
fn new_csrf_token() -> String {
    let random: &dyn domain::ports::SecureRandom = &crate::system::OsRandom;
    random.secret().expose().to_owned()
}

/// The anonymous CSRF cookie's name (host-only behind TLS).
fn anonymous_csrf_cookie(state: &AppState) -> &'static str {
    if state.https {
        "__Host-csrf"
    } else {
        "csrf"
    }
}

/// The CSRF token of an anonymous visitor, from its encrypted cookie.
fn anonymous_csrf_token(state: &AppState, request: &HttpRequest) -> Option<String> {
    let name = anonymous_csrf_cookie(state);
    let cookie = request.cookie(name)?;
    let mut jar = actix_web::cookie::CookieJar::new();
    jar.add_original(cookie);
    let token = jar.private(&state.cookie_key).get(name)?;
    Some(token.value().to_owned())
}

/// Sets the anonymous CSRF cookie on `response`.
fn set_anonymous_csrf_cookie(state: &AppState, response: &mut HttpResponse, token: &str) {
    let mut jar = actix_web::cookie::CookieJar::new();
    let cookie = actix_web::cookie::Cookie::build(anonymous_csrf_cookie(state), token.to_owned())
        .path("/")
        .http_only(true)
        .secure(state.https)
        .same_site(actix_web::cookie::SameSite::Lax)
        .finish();
    jar.private_mut(&state.cookie_key).add(cookie);
    for cookie in jar.delta() {
        let _ = response.add_cookie(cookie);
    }
}

/// Starts an authenticated session for `user`: a new session key (no
/// fixation), a new CSRF token.
///
/// # Errors
/// Session failures.
pub fn log_in(session: &Session, user: &User) -> Result<(), PageError> {
    session.renew();
    session.insert(USER_KEY, user.id.to_string())?;
    session.insert(CSRF_KEY, new_csrf_token())?;
    Ok(())
}

/// Ends the session everywhere (the server-side row is deleted).
pub fn log_out(session: &Session) {
    session.purge();
}

/// Leaves a one-time message for the next page.
pub fn flash(session: &Session, message: &str) {
    let _ = session.insert(FLASH_KEY, message);
}

/// Reads a form POST strictly and checks its CSRF token and origin: the
/// token must equal the session's (constant-time), and a cross-site
/// `Origin` or `Sec-Fetch-Site` is refused whatever the token says.
///
/// # Errors
/// `BadRequest` for a malformed body, `Forbidden` for a failed check.
pub fn checked_form(
    state: &AppState,
    request: &HttpRequest,
    session: &Session,
    body: Result<actix_web::web::Bytes, actix_web::Error>,
) -> Result<Params, PageError> {
    let body = body.map_err(|_| PageError::BadRequest("the form is too large".to_owned()))?;
    let params =
        Params::parse_form(&body).map_err(|e| PageError::BadRequest(e.description.to_string()))?;
    if !same_origin(state, request) {
        return Err(PageError::Forbidden);
    }
    let expected = match session.get::<String>(CSRF_KEY)? {
        Some(token) => token,
        None => anonymous_csrf_token(state, request).ok_or(PageError::Forbidden)?,
    };
    let presented = params
        .get("csrf_token")
        .ok()
        .flatten()
        .ok_or(PageError::Forbidden)?;
    if bool::from(expected.as_bytes().ct_eq(presented.as_bytes())) {
        Ok(params)
    } else {
        Err(PageError::Forbidden)
    }
}

fn same_origin(state: &AppState, request: &HttpRequest) -> bool {
    let headers = request.headers();
    // Browsers mark requests from other origins; refuse them outright.
    if headers
        .get("sec-fetch-site")
        .is_some_and(|v| matches!(v.as_bytes(), b"cross-site" | b"same-site"))
    {
        return false;
    }
    // With `Referrer-Policy: no-referrer` browsers send `Origin: null` for
    // our own forms, so "null" proves nothing either way: the CSRF token
    // decides. Any other origin must be ours.
    match headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) {
        None | Some("null") => true,
        Some(origin) => origin == state.origin,
    }
}

/// A form field as typed ("" when absent or repeated).
#[must_use]
pub fn form_field(params: &Params, name: &str) -> String {
    params.get(name).ok().flatten().unwrap_or("").to_owned()
}

/// A logged-in user's form action: the form is checked (CSRF token and
/// origin), then `use_case` runs off the executor with the user's id.
///
/// # Errors
/// `Forbidden` without a user or a valid form; the use case's store error.
pub async fn user_action<T, F>(
    state: &AppState,
    request: &HttpRequest,
    session: &Session,
    visitor: &Visitor,
    body: Result<actix_web::web::Bytes, actix_web::Error>,
    use_case: F,
) -> Result<(UserId, T), PageError>
where
    F: FnOnce(&domain::service::Services, UserId) -> Result<T, domain::error::StoreError>
        + Send
        + 'static,
    T: Send + 'static,
{
    let user = visitor.user.as_ref().ok_or(PageError::Forbidden)?.id;
    checked_form(state, request, session, body)?;
    let services = state.services.clone();
    let outcome = super::blocking(move || use_case(&services, user)).await??;
    Ok((user, outcome))
}

/// A `next` target that stays on this site: a path starting with one `/`.
#[must_use]
pub fn local_path(next: Option<&str>) -> Option<&str> {
    next.filter(|n| {
        n.starts_with('/')
            && !n.starts_with("//")
            && !n.starts_with("/\\")
            && n.len() <= 2048
            && n.bytes().all(|b| (0x21..=0x7e).contains(&b))
    })
}

/// A 303 redirect (after a POST, or to the login page).
#[must_use]
pub fn see_other(location: &str) -> HttpResponse {
    let mut response = HttpResponse::SeeOther().finish();
    if let Ok(value) = HeaderValue::from_str(location) {
        response.headers_mut().insert(header::LOCATION, value);
    }
    response
}

/// Renders a page with `no-store` (pages carry per-user data and tokens).
///
/// # Errors
/// A template failure.
pub fn page<T: Serialize>(
    state: &AppState,
    status: StatusCode,
    template: &str,
    context: &T,
) -> Result<HttpResponse, PageError> {
    let html = render(&state.templates, template, context)
        .map_err(|e| PageError::Internal(format!("{e:?}")))?;
    Ok(HttpResponse::build(status)
        .content_type("text/html; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(html))
}

/// The error page for `error`.
#[must_use]
pub fn error_page(state: &AppState, visitor: Option<&Visitor>, error: &PageError) -> HttpResponse {
    let (status, heading, message) = match error {
        PageError::BadRequest(message) => (StatusCode::BAD_REQUEST, "Bad request", message.clone()),
        PageError::Forbidden => (
            StatusCode::FORBIDDEN,
            "Request refused",
            "The form was stale or came from another site. Go back, reload the page and try again."
                .to_owned(),
        ),
        PageError::NotFound => (
            StatusCode::NOT_FOUND,
            "Not found",
            "There is nothing here.".to_owned(),
        ),
        PageError::TooManyAttempts(seconds) => {
            let minutes = (seconds + 59) / 60;
            let mut response = oauth_error_page(
                state,
                visitor,
                StatusCode::TOO_MANY_REQUESTS,
                "Too many attempts",
                &format!("For your safety, this is paused for a while. Try again in {minutes} minute(s)."),
                None,
            );
            if let Ok(value) = HeaderValue::from_str(&seconds.to_string()) {
                response.headers_mut().insert(header::RETRY_AFTER, value);
            }
            return response;
        }
        PageError::Unavailable => (
            StatusCode::SERVICE_UNAVAILABLE,
            "Temporarily unavailable",
            "The service cannot reach its database right now. Please try again in a moment."
                .to_owned(),
        ),
        PageError::Internal(cause) => {
            tracing::error!(cause = %cause, "page failed");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "Something went wrong",
                "The server met an unexpected condition.".to_owned(),
            )
        }
    };
    oauth_error_page(state, visitor, status, heading, &message, None)
}

/// An error page with an optional OAuth error code.
#[must_use]
pub fn oauth_error_page(
    state: &AppState,
    visitor: Option<&Visitor>,
    status: StatusCode,
    heading: &str,
    message: &str,
    code: Option<&str>,
) -> HttpResponse {
    let layout = visitor.map(Visitor::layout).unwrap_or(Layout {
        user: None,
        csrf_token: String::new(),
        flash: None,
    });
    let context = ErrorPage {
        layout,
        heading: heading.to_owned(),
        message: message.to_owned(),
        code: code.map(str::to_owned),
    };
    let mut response = page(state, status, "pages/error.html", &context).unwrap_or_else(|_| {
        HttpResponse::build(status)
            .content_type("text/plain")
            .body(message.to_owned())
    });
    if status == StatusCode::SERVICE_UNAVAILABLE {
        response.headers_mut().insert(
            header::RETRY_AFTER,
            HeaderValue::from_static(super::error::RETRY_AFTER_SECONDS),
        );
    }
    response
}

/// Runs a page handler body and turns its error into an error page.
pub async fn respond<F>(
    state: &AppState,
    session: &Session,
    request: &HttpRequest,
    body: F,
) -> HttpResponse
where
    F: AsyncFnOnce(Visitor) -> Result<HttpResponse, PageError>,
{
    match visitor(state, session, request).await {
        Ok(visitor) => {
            let layout_visitor = Visitor {
                user: visitor.user.clone(),
                csrf_token: visitor.csrf_token.clone(),
                flash: None,
                new_anonymous_token: None,
            };
            let new_token = visitor.new_anonymous_token.clone();
            let mut response = match body(visitor).await {
                Ok(response) => response,
                Err(error) => error_page(state, Some(&layout_visitor), &error),
            };
            if let Some(token) = new_token {
                set_anonymous_csrf_cookie(state, &mut response, &token);
            }
            response
        }
        Err(error) => error_page(state, None, &error),
    }
}

/// Middleware for the pages scope, outside the session middleware: when
/// the session store fails (the database is unreachable or locked), the
/// session middleware returns an error; answer the readable 503 page.
///
/// # Errors
/// None of its own.
pub async fn session_failures(
    request: actix_web::dev::ServiceRequest,
    next: actix_web::middleware::Next<impl actix_web::body::MessageBody + 'static>,
) -> actix_web::Result<actix_web::dev::ServiceResponse<impl actix_web::body::MessageBody>> {
    let state = request
        .app_data::<actix_web::web::Data<AppState>>()
        .cloned();
    match next.call(request).await {
        Ok(response) => Ok(response),
        Err(error) => {
            tracing::warn!(event = "session_store_unavailable", error = %error, "answering 503");
            let page = match &state {
                Some(state) => error_page(state, None, &PageError::Unavailable),
                None => HttpResponse::ServiceUnavailable().finish(),
            };
            // The error becomes this response when actix turns it into one.
            Err(actix_web::error::InternalError::from_response(error.to_string(), page).into())
        }
    }
}

/// The login URL that comes back to `path_and_query`.
#[must_use]
pub fn login_url(path_and_query: &str) -> String {
    format!("/login?next={}", encode(path_and_query))
}

/// Percent-encodes a query component.
#[must_use]
pub fn encode(value: &str) -> String {
    url::form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_must_be_a_local_path() {
        assert_eq!(local_path(Some("/clients/x?y=1")), Some("/clients/x?y=1"));
        for bad in [
            "https://evil.example/cb",
            "//evil.example/x",
            "/\\evil.example",
            "evil",
            "/a b",
        ] {
            assert_eq!(local_path(Some(bad)), None, "{bad}");
        }
    }
}
