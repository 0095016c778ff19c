//! Cross-site request forgery defence for the forms (OWASP CSRF cheat
//! sheet): a synchronizer token in every form, compared in constant time,
//! and the `Origin` / `Sec-Fetch-Site` headers refusing cross-site posts
//! whatever the token says.
//!
//! A session (in the database) exists only once someone logs in; before
//! that the token lives in a cookie encrypted and authenticated with the
//! server key, so that anonymous page views cost no write.

use actix_web::cookie::SameSite;
use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse};
use subtle::ConstantTimeEq;

use super::typed_session::TypedSession;
use super::{private_cookie, AppState};

/// The CSRF token of a page view.
pub struct PageToken {
    /// The token every form of the page carries.
    pub token: String,
    /// Set when the token was made for this anonymous visitor: the response
    /// must carry it as the anonymous cookie.
    pub is_new: bool,
}

/// A new CSRF token, from the adapter's own random source (the use cases'
/// is theirs alone).
#[must_use]
pub fn new_token() -> String {
    let random: &dyn domain::ports::SecureRandom = &crate::system::OsRandom;
    random.secret().expose().to_owned()
}

/// The token for a page: the session's, else the anonymous cookie's, else
/// a new one.
///
/// # Errors
/// A session state that does not deserialise.
pub fn page_token(
    state: &AppState,
    session: &TypedSession,
    request: &HttpRequest,
) -> Result<PageToken, actix_session::SessionGetError> {
    if let Some(token) = session
        .csrf_token()?
        .or_else(|| anonymous_token(state, request))
    {
        return Ok(PageToken {
            token,
            is_new: false,
        });
    }
    let token = new_token();
    Ok(PageToken {
        token,
        is_new: true,
    })
}

/// The token a form must carry: the session's, else the anonymous cookie's.
///
/// # Errors
/// A session state that does not deserialise.
pub fn expected_token(
    state: &AppState,
    session: &TypedSession,
    request: &HttpRequest,
) -> Result<Option<String>, actix_session::SessionGetError> {
    Ok(session
        .csrf_token()?
        .or_else(|| anonymous_token(state, request)))
}

/// Whether the form's token is the expected one, compared in constant time.
#[must_use]
pub fn token_matches(expected: &str, presented: &str) -> bool {
    bool::from(expected.as_bytes().ct_eq(presented.as_bytes()))
}

/// Whether the request may come from our own page: a cross-site
/// `Sec-Fetch-Site` or a foreign `Origin` is refused outright.
#[must_use]
pub fn same_origin(state: &AppState, request: &HttpRequest) -> bool {
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

/// The anonymous CSRF cookie's name (host-only behind TLS).
fn anonymous_cookie(state: &AppState) -> &'static str {
    if state.https {
        "__Host-csrf"
    } else {
        "csrf"
    }
}

/// The CSRF token of an anonymous visitor, from its encrypted cookie.
fn anonymous_token(state: &AppState, request: &HttpRequest) -> Option<String> {
    private_cookie::read(state, request, anonymous_cookie(state))
}

/// Sets the anonymous CSRF cookie on `response`.
pub fn set_anonymous_cookie(state: &AppState, response: &mut HttpResponse, token: &str) {
    let cookie = private_cookie::build(
        state,
        anonymous_cookie(state),
        token.to_owned(),
        SameSite::Lax,
    )
    .path("/")
    .finish();
    private_cookie::set(state, response, cookie);
}
