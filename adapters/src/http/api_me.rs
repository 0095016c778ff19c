//! `GET /api/me`: the protected resource (RFC 6750), scope `profile`.

use actix_web::http::header;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::json;

use domain::service::bearer::BearerError;

use super::bearer_challenge::challenge;
use super::error::{json_no_store, oauth_error_response};
use super::{blocking, AppState};

/// Answers `{"id", "username"}` of the token's user.
pub async fn get(state: web::Data<AppState>, request: HttpRequest) -> HttpResponse {
    let header = match request.headers().get(header::AUTHORIZATION) {
        None => None,
        Some(value) => match value.to_str() {
            Ok(text) => Some(text.to_owned()),
            Err(_) => return challenge(&state, "api_me", BearerError::Malformed),
        },
    };
    let services = state.services.clone();
    match blocking(move || services.authenticate_bearer(header.as_deref(), "profile")).await {
        Ok(Ok(grant)) => json_no_store(StatusCode::OK).json(json!({
            "id": grant.user.id.to_string(),
            "username": grant.user.username.as_str(),
        })),
        Ok(Err(error)) => challenge(&state, "api_me", error),
        Err(error) => oauth_error_response(&error),
    }
}
