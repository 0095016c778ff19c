//! One log line per request: method, path (never the query string, which
//! may carry codes or tokens), status, latency and a request id; and the
//! request counters of `/metrics`.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::Error;

static NEXT_REQUEST_ID: AtomicU64 = AtomicU64::new(1);

/// The request-log middleware (use with `middleware::from_fn`).
///
/// # Errors
/// Whatever the inner service returns.
pub async fn request_log(
    request: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let started = Instant::now();
    let id = NEXT_REQUEST_ID.fetch_add(1, Ordering::Relaxed);
    let method = request.method().to_string();
    let path = request.path().to_owned();
    let response = match next.call(request).await {
        Ok(response) => response,
        Err(error) => {
            // Turned into a response by actix later (e.g. the 503 page of a
            // failed session store); log it here all the same.
            let status = error.as_response_error().status_code().as_u16();
            tracing::info!(
                request_id = id,
                method = %method,
                path = %path,
                status,
                latency_ms = started.elapsed().as_secs_f64() * 1000.0,
                "request"
            );
            return Err(error);
        }
    };
    let elapsed = started.elapsed().as_secs_f64();
    let route = response
        .request()
        .match_pattern()
        .unwrap_or_else(|| "unmatched".to_owned());
    if let Some(state) = response
        .request()
        .app_data::<actix_web::web::Data<super::AppState>>()
    {
        state
            .metrics
            .request(&route, &method, response.status().as_u16(), elapsed);
    }
    tracing::info!(
        request_id = id,
        method = %method,
        path = %path,
        status = response.status().as_u16(),
        latency_ms = elapsed * 1000.0,
        "request"
    );
    Ok(response)
}
