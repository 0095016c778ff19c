//! `POST /oauth/revoke` (RFC 7009).

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};

use domain::service::Services;

use super::error::json_no_store;
use super::{AppState, ClientEndpoint, ClientRequestBody as Body};

/// Handles a revocation request; 200 with an empty JSON object on success,
/// also for unknown tokens (RFC 7009 §2.2).
pub async fn post(state: web::Data<AppState>, request: HttpRequest, body: Body) -> HttpResponse {
    let outcome = ClientEndpoint::Revoke.serve(&state, &request, body, Services::revoke);
    match outcome.await {
        Ok(revocation) => {
            tracing::info!(
                event = "token_revoked",
                client_id = %revocation.client_id,
                kind = revocation.revoked.map_or("none", |k| k.as_str()),
            );
            json_no_store(StatusCode::OK).json(serde_json::json!({}))
        }
        Err(response) => response,
    }
}
