//! `GET /api/me`: the protected resource (RFC 6750), scope `profile`.

use actix_web::http::header::{self, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::json;

use domain::error::ErrorCode;
use domain::service::bearer::BearerError;

use super::error::{json_no_store, oauth_error_response, status_of};
use super::{blocking, AppState};

const REALM: &str = "oauth2-server";

/// Answers `{"id", "username"}` of the token's user.
pub async fn get(state: web::Data<AppState>, request: HttpRequest) -> HttpResponse {
    let header = match request.headers().get(header::AUTHORIZATION) {
        None => None,
        Some(value) => match value.to_str() {
            Ok(text) => Some(text.to_owned()),
            Err(_) => return challenge(&state, BearerError::Malformed),
        },
    };
    let services = state.services.clone();
    match blocking(move || services.authenticate_bearer(header.as_deref(), "profile")).await {
        Ok(Ok(grant)) => json_no_store(StatusCode::OK).json(json!({
            "id": grant.user.id.to_string(),
            "username": grant.user.username.as_str(),
        })),
        Ok(Err(error)) => challenge(&state, error),
        Err(error) => oauth_error_response(&error),
    }
}

/// The RFC 6750 §3 response for a refused bearer request.
fn challenge(state: &AppState, error: BearerError) -> HttpResponse {
    let (code, description, scope) = match error {
        BearerError::Missing => (None, "", None),
        BearerError::Malformed => (
            Some(ErrorCode::InvalidRequest),
            "the Authorization header is malformed",
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
        state.metrics.oauth_error("api_me", code);
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
