//! The RFC 6750 §3 answer of a protected resource (`/api/me`, UserInfo)
//! that refuses a bearer request: the `WWW-Authenticate: Bearer` challenge
//! and the JSON error body.

use actix_web::http::header::{self, HeaderValue};
use actix_web::HttpResponse;
use serde_json::json;

use domain::error::ErrorCode;
use domain::service::bearer::BearerError;

use super::error::{json_no_store, oauth_error_response, status_of};
use super::AppState;

/// The `realm` of every challenge.
pub const REALM: &str = "oauth2-server";

/// The response for a refused bearer request to the resource `endpoint`
/// (its label in the metrics).
#[must_use]
pub fn challenge(state: &AppState, endpoint: &'static str, error: BearerError) -> HttpResponse {
    let (code, description, scope) = match error {
        BearerError::Missing => (None, "", None),
        BearerError::Malformed => (
            Some(ErrorCode::InvalidRequest),
            "the bearer token or the request carrying it is malformed",
            None,
        ),
        BearerError::Repeated => (
            Some(ErrorCode::InvalidRequest),
            "the access token must be sent once, in the Authorization header or the form body",
            None,
        ),
        BearerError::InvalidToken => (
            Some(ErrorCode::InvalidToken),
            "the access token is invalid, expired or revoked",
            None,
        ),
        BearerError::InsufficientScope(scope) => (
            Some(ErrorCode::InsufficientScope),
            "the access token lacks the scope this resource needs",
            Some(scope),
        ),
        BearerError::NoUser(scope) => (
            Some(ErrorCode::InsufficientScope),
            "this resource needs a token issued for a user, not for a client alone",
            Some(scope),
        ),
        BearerError::Store(store) => return oauth_error_response(&store.into()),
    };
    // RFC 6750 §3.1: a request without credentials gets the challenge
    // alone, with the status of an invalid token and no error code.
    let status = status_of(code.unwrap_or(ErrorCode::InvalidToken));
    let code = code.map(ErrorCode::as_str);
    let mut value = format!("Bearer realm=\"{REALM}\"");
    if let Some(code) = code {
        state.metrics.oauth_error(endpoint, code);
        value.push_str(&format!(
            ", error=\"{code}\", error_description=\"{description}\""
        ));
    }
    if let Some(scope) = scope {
        value.push_str(&format!(", scope=\"{scope}\""));
    }
    let mut builder = json_no_store(status);
    if let Ok(header_value) = HeaderValue::from_str(&value) {
        builder.insert_header((header::WWW_AUTHENTICATE, header_value));
    }
    match code {
        Some(code) => builder.json(json!({"error": code, "error_description": description})),
        None => builder.json(json!({"error_description": "a bearer token is required"})),
    }
}
