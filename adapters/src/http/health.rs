//! Health endpoints for orchestrators and load balancers:
//!
//! - `GET /healthz`: liveness, 200 whenever the process answers HTTP; it
//!   never touches the database, so a database outage does not get every
//!   instance restarted;
//! - `GET /readyz`: readiness, 200 when the database answers, 503 with
//!   `Retry-After` when it does not (take the instance out of rotation).

use actix_web::http::header;
use actix_web::{web, HttpResponse};
use serde_json::json;

use super::error::RETRY_AFTER_SECONDS;
use super::AppState;

/// The process is alive.
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(json!({"status": "ok"}))
}

/// Checks the database.
pub async fn readyz(state: web::Data<AppState>) -> HttpResponse {
    let store = state.store.clone();
    match web::block(move || store.ping()).await {
        Ok(Ok(())) => HttpResponse::Ok()
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .json(json!({"status": "ok", "database": "ok"})),
        _ => HttpResponse::ServiceUnavailable()
            .insert_header((header::RETRY_AFTER, RETRY_AFTER_SECONDS))
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .json(json!({"status": "unavailable", "database": "unreachable"})),
    }
}
