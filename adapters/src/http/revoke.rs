//! `POST /oauth/revoke` (RFC 7009).

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};

use super::error::{json_no_store, oauth_error_response};
use super::extract::{authorization, client_address, form_params, tried_basic};
use super::{blocking, AppState};

/// Handles a revocation request; 200 with an empty JSON object on success,
/// also for unknown tokens (RFC 7009 §2.2).
pub async fn post(
    state: web::Data<AppState>,
    request: HttpRequest,
    body: Result<web::Bytes, actix_web::Error>,
) -> HttpResponse {
    let basic = tried_basic(&request);
    let result = async {
        let params = form_params(&request, body)?;
        let auth = authorization(&request)?;
        let address = client_address(&request);
        let services = state.services.clone();
        blocking(move || services.revoke_from(address.as_deref(), auth.as_deref(), &params)).await?
    }
    .await;
    match result {
        Ok(revocation) => {
            tracing::info!(
                event = "token_revoked",
                client_id = %revocation.client_id,
                kind = revocation.revoked.map_or("none", |k| k.as_str()),
            );
            json_no_store(StatusCode::OK).json(serde_json::json!({}))
        }
        Err(error) => {
            state.metrics.oauth_error("revoke", error.code.as_str());
            oauth_error_response(&error, basic)
        }
    }
}
