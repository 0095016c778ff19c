//! The HTTP adapter: actix-web handlers that turn requests into domain calls
//! and domain results into responses.

pub mod api_me;
pub mod error;
pub mod extract;
pub mod headers;
pub mod health;
pub mod introspect;
pub mod logging;
pub mod metadata;
pub mod revoke;
pub mod token;

use actix_web::web;

use domain::service::Services;

use crate::db::DieselStore;

/// What every handler needs, registered once as `web::Data`.
#[derive(Clone)]
pub struct AppState {
    /// The use cases.
    pub services: Services,
    /// The store, for health checks.
    pub store: DieselStore,
}

/// Registers every route.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/oauth/token")
            .route(web::post().to(token::post))
            .default_service(web::to(error::method_not_allowed)),
    )
    .service(
        web::resource("/oauth/revoke")
            .route(web::post().to(revoke::post))
            .default_service(web::to(error::method_not_allowed)),
    )
    .service(
        web::resource("/oauth/introspect")
            .route(web::post().to(introspect::post))
            .default_service(web::to(error::method_not_allowed)),
    )
    .service(
        web::resource("/.well-known/oauth-authorization-server")
            .route(web::get().to(metadata::get)),
    )
    .service(web::resource("/api/me").route(web::get().to(api_me::get)))
    .service(web::resource("/healthz").route(web::get().to(health::healthz)));
}

/// Runs a blocking use case on the thread pool for blocking work, so that
/// Diesel and bcrypt never stall the async executor.
///
/// # Errors
/// `temporarily_unavailable` when the blocking pool is shut down or the
/// closure panicked.
pub async fn blocking<T, F>(work: F) -> Result<T, domain::error::OAuthError>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    web::block(work).await.map_err(|_| {
        domain::error::OAuthError::temporarily_unavailable("the service is temporarily unavailable")
    })
}
