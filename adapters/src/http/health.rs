//! `GET /healthz`: 200 when the database answers, 503 when it does not.

use actix_web::http::header;
use actix_web::{web, HttpResponse};
use serde_json::json;

use super::error::RETRY_AFTER_SECONDS;
use super::AppState;

/// Checks the database.
pub async fn healthz(state: web::Data<AppState>) -> HttpResponse {
    let store = state.store.clone();
    match web::block(move || store.ping()).await {
        Ok(Ok(())) => HttpResponse::Ok().json(json!({"status": "ok", "database": "ok"})),
        _ => HttpResponse::ServiceUnavailable()
            .insert_header((header::RETRY_AFTER, RETRY_AFTER_SECONDS))
            .json(json!({"status": "unavailable", "database": "unreachable"})),
    }
}
