//! The HTTP adapter: actix-web handlers that turn requests into domain calls
//! and domain results into responses.

pub mod api_me;
pub mod authorize;
pub mod bearer_challenge;
pub mod body;
pub mod claims_param;
pub mod csrf;
pub mod error;
pub mod extract;
pub mod headers;
pub mod health;
pub mod introspect;
pub mod jwks;
pub mod logging;
pub mod logout;
pub mod metadata;
pub mod metrics;
pub mod pages;
pub mod private_cookie;
pub mod revoke;
pub mod session_store;
pub mod token;
pub mod typed_session;
pub mod userinfo;
pub mod views;

use std::sync::Arc;

use actix_session::config::{BrowserSession, CookieContentSecurity};
use actix_session::SessionMiddleware;
use actix_web::cookie::{Key, SameSite};
use actix_web::{web, HttpResponse};
use hkdf::Hkdf;
use sha2::{Digest, Sha512};

use domain::client_auth::PresentedCredentials;
use domain::error::SecurityEvent;
use domain::service::Services;

use crate::db::DieselStore;
use session_store::DbSessionStore;

/// What every handler needs, registered once as `web::Data`.
#[derive(Clone)]
pub struct AppState {
    /// The use cases.
    /// (Behind an `Arc`: handlers hand it to the blocking pool per request.)
    pub services: Arc<Services>,
    /// The store, for health checks and sessions.
    pub store: DieselStore,
    /// The page templates.
    pub templates: Arc<tera::Tera>,
    /// Encrypts the private cookies (anonymous CSRF, device, one-time
    /// secret).
    pub cookie_key: Key,
    /// Also opens private cookies made before `cookie_key` was derived with
    /// HKDF ([`SessionSettings::legacy_cookie_key`]).
    pub legacy_cookie_key: Key,
    /// Whether the issuer is https (cookies are then `Secure`).
    pub https: bool,
    /// The issuer's origin, e.g. `https://auth.example.com`, for the
    /// `Origin` check of forms.
    pub origin: String,
    /// Request, token and error counters for `/metrics`.
    pub metrics: Arc<metrics::Metrics>,
    /// Reverse proxies whose `X-Forwarded-For` is believed.
    pub trusted_proxies: Arc<[std::net::IpAddr]>,
    /// The metadata document, serialised at startup
    /// ([`metadata::document`]).
    pub metadata: web::Bytes,
}

/// HKDF `info` of the one-time secret cookie's key: what it is for.
const SECRET_COOKIE_KEY_INFO: &[u8] = b"oauth2-server client secret cookie";

/// How browser sessions are kept.
#[derive(Clone)]
pub struct SessionSettings {
    /// Signs and encrypts the session cookie.
    pub key: Key,
    /// Whether cookies are `Secure` (and named `__Host-session`).
    pub https: bool,
    /// Absolute lifetime of a session, however active (`SESSION_MAX_AGE`).
    pub max_age: domain::time::Lifetime,
}

impl SessionSettings {
    /// Settings from the configured key (at least 64 bytes).
    ///
    /// # Errors
    /// A key shorter than 64 bytes.
    pub fn new(key_bytes: &[u8], https: bool) -> Result<Self, String> {
        let key = Key::try_from(key_bytes)
            .map_err(|_| "the session key must be at least 64 bytes".to_owned())?;
        Ok(Self {
            key,
            https,
            max_age: domain::time::Lifetime::at_least_one_second(
                session_store::DEFAULT_SESSION_MAX_AGE,
            ),
        })
    }

    /// The same settings with sessions ending `max_age` after they start.
    #[must_use]
    pub fn with_max_age(self, max_age: domain::time::Lifetime) -> Self {
        Self { max_age, ..self }
    }

    /// A separate key for the one-time secret cookie, derived from the
    /// session key with HKDF-SHA512 (RFC 5869), the purpose as `info`
    /// (§3.2) and no salt: the session key is already uniformly random
    /// (§3.1), so no extraction salt is needed.
    #[must_use]
    pub fn secret_cookie_key(&self) -> Key {
        let mut derived = [0u8; 64];
        match Hkdf::<Sha512>::new(None, self.key.master())
            .expand(SECRET_COOKIE_KEY_INFO, &mut derived)
        {
            // 64 bytes is within HKDF-SHA512's 255 × 64 (§2.3).
            Ok(()) => Key::from(&derived[..]),
            Err(_) => Key::from(self.key.master()),
        }
    }

    /// The key private cookies were encrypted with before the HKDF one
    /// ([`Self::secret_cookie_key`]): `SHA-512(label‖0‖session key)`. Only
    /// read with, never written with, so that device cookies (a year) and
    /// anonymous CSRF cookies made before the upgrade keep working; remove
    /// once the last of them has expired (2027-12).
    #[must_use]
    pub fn legacy_cookie_key(&self) -> Key {
        let derived = Sha512::new()
            .chain_update(SECRET_COOKIE_KEY_INFO)
            .chain_update(b"\0")
            .chain_update(self.key.master())
            .finalize();
        Key::try_from(derived.as_slice()).unwrap_or_else(|_| Key::from(self.key.master()))
    }

    /// The session middleware over the database.
    #[must_use]
    pub fn middleware(
        &self,
        store: DieselStore,
        clock: Arc<dyn domain::ports::Clock>,
    ) -> SessionMiddleware<DbSessionStore> {
        let sessions = DbSessionStore::new(store, self.max_age).with_clock(clock);
        SessionMiddleware::builder(sessions, self.key.clone())
            .cookie_name(
                if self.https {
                    "__Host-session"
                } else {
                    "session"
                }
                .to_owned(),
            )
            .cookie_secure(self.https)
            .cookie_http_only(true)
            .cookie_same_site(SameSite::Lax)
            .cookie_path("/".to_owned())
            .cookie_content_security(CookieContentSecurity::Private)
            .session_lifecycle(
                BrowserSession::default().state_ttl(actix_web::cookie::time::Duration::hours(12)),
            )
            .build()
    }
}

/// The stylesheet.
pub async fn stylesheet() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/css; charset=utf-8")
        .insert_header(("Cache-Control", "public, max-age=3600"))
        .body(views::STYLESHEET)
}

/// The registration form's script.
pub async fn create_client_script() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/javascript; charset=utf-8")
        .insert_header(("Cache-Control", "public, max-age=3600"))
        .body(views::CREATE_CLIENT_SCRIPT)
}

/// Registers the browser pages and the authorization endpoint, which need
/// a session; wrap them in [`SessionSettings::middleware`].
pub fn configure_pages(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/").route(web::get().to(pages::accounts::home)))
        .service(
            web::resource("/login")
                .route(web::get().to(pages::accounts::login_form))
                .route(web::post().to(pages::accounts::login)),
        )
        .service(
            web::resource("/signup")
                .route(web::get().to(pages::accounts::signup_form))
                .route(web::post().to(pages::accounts::signup)),
        )
        .service(web::resource("/logout").route(web::post().to(pages::accounts::logout)))
        .service(
            web::resource("/create_client")
                .route(web::get().to(pages::clients::new_form))
                .route(web::post().to(pages::clients::create)),
        )
        .service(web::resource("/clients/{client_id}").route(web::get().to(pages::clients::show)))
        .service(
            web::resource("/clients/{client_id}/rotate_secret")
                .route(web::post().to(pages::clients::rotate_secret)),
        )
        .service(
            web::resource("/clients/{client_id}/delete")
                .route(web::post().to(pages::clients::delete)),
        )
        .service(web::resource("/account/apps").route(web::get().to(pages::apps::list)))
        .service(
            web::resource("/account/apps/{client_id}/revoke")
                .route(web::post().to(pages::apps::revoke)),
        )
        .service(
            web::resource("/oauth/logout")
                .route(web::get().to(logout::get))
                .route(web::post().to(logout::post))
                .default_service(web::to(error::method_not_allowed)),
        )
        .service(
            web::resource("/oauth/authorize")
                .route(web::get().to(authorize::get))
                .route(web::post().to(authorize::post))
                .default_service(web::to(error::method_not_allowed)),
        );
}

/// Registers the routes of the metrics listener (`METRICS_BIND`): only
/// `/metrics`, which the main listener does not serve (it is a live feed of
/// logins and errors, for the monitoring network only).
pub fn configure_metrics(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/metrics").route(web::get().to(metrics::get)));
}

/// Registers the API routes (no session).
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/static/style.css").route(web::get().to(stylesheet)));
    cfg.service(
        web::resource("/static/create_client.js").route(web::get().to(create_client_script)),
    );
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
    .service(web::resource("/.well-known/openid-configuration").route(web::get().to(metadata::get)))
    .service(
        web::resource("/oauth/userinfo")
            .route(web::get().to(userinfo::get))
            .route(web::post().to(userinfo::post))
            .route(web::method(actix_web::http::Method::OPTIONS).to(userinfo::preflight))
            .default_service(web::to(userinfo::method_not_allowed)),
    )
    .service(
        web::resource("/.well-known/jwks.json")
            .route(web::get().to(jwks::get))
            .default_service(web::to(error::method_not_allowed)),
    )
    .service(web::resource("/api/me").route(web::get().to(api_me::get)))
    .service(web::resource("/healthz").route(web::get().to(health::healthz)))
    .service(web::resource("/readyz").route(web::get().to(health::readyz)));
}

/// The body of a request to a client endpoint, as actix hands it over (an
/// over-limit or broken body is the handler's own `invalid_request`).
pub type ClientRequestBody = Result<web::Bytes, actix_web::Error>;

/// The endpoints where a client authenticates (RFC 6749 §2.3): what
/// [`ClientEndpoint::serve`] counts and logs their errors under.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientEndpoint {
    /// `POST /oauth/token` (RFC 6749 §3.2).
    Token,
    /// `POST /oauth/revoke` (RFC 7009).
    Revoke,
    /// `POST /oauth/introspect` (RFC 7662).
    Introspect,
}

impl ClientEndpoint {
    /// The endpoint's label in the metrics and the logs.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Token => "token",
            Self::Revoke => "revoke",
            Self::Introspect => "introspect",
        }
    }

    /// The event logged when the endpoint refuses a request for any reason
    /// other than a failed client authentication or a replay.
    #[must_use]
    pub fn refused_event(self) -> SecurityEvent {
        match self {
            Self::Token => SecurityEvent::TokenRefused,
            Self::Revoke => SecurityEvent::RevocationRefused,
            Self::Introspect => SecurityEvent::IntrospectionRefused,
        }
    }

    /// What the client endpoints (token, revocation, introspection) share:
    /// read the form, the `Authorization` header and the client's address,
    /// run the use case off the executor, and answer its error in the OAuth
    /// JSON format (counted under the endpoint in the metrics, logged under
    /// the error's [`SecurityEvent`]).
    ///
    /// # Errors
    /// The OAuth error response, ready to send.
    pub async fn serve<T, F>(
        self,
        state: &AppState,
        request: &actix_web::HttpRequest,
        body: ClientRequestBody,
        use_case: F,
    ) -> Result<T, HttpResponse>
    where
        F: FnOnce(
                &Services,
                Option<&str>,
                Option<&str>,
                &domain::params::Params,
            ) -> Result<T, domain::error::OAuthError>
            + Send
            + 'static,
        T: Send + 'static,
    {
        let mut presented_client = None;
        let outcome = async {
            let params = extract::form_params(request, body)?;
            let auth = extract::authorization(request)?;
            let address = extract::client_address(request, &state.trusted_proxies);
            // For the security event of a failed client authentication: the id
            // as presented, if it is a well-formed one (safe to log).
            presented_client = PresentedCredentials::from_request(auth.as_deref(), &params)
                .ok()
                .and_then(|c| c.parsed_client_id());
            let services = state.services.clone();
            blocking(move || use_case(&services, address.as_deref(), auth.as_deref(), &params))
                .await?
        }
        .await;
        outcome.map_err(|error| {
            let label = self.as_str();
            state.metrics.oauth_error(label, error.code.as_str());
            match error.event {
                Some(SecurityEvent::ClientAuthFailed) => {
                    state.metrics.client_auth_failed(label);
                    tracing::warn!(
                        event = SecurityEvent::ClientAuthFailed.as_str(),
                        endpoint = label,
                        client_id = presented_client.as_ref().map_or("-", |id| id.as_str()),
                        error = error.code.as_str(),
                    );
                }
                Some(replay) if replay.is_replay() => {
                    tracing::warn!(
                        event = replay.as_str(),
                        "replay detected; the tokens issued from it are revoked"
                    );
                }
                _ => {
                    tracing::info!(
                        event = self.refused_event().as_str(),
                        error = error.code.as_str()
                    );
                }
            }
            error::oauth_error_response(&error)
        })
    }
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
    // The blocking thread does not run the request's task: carry the
    // request span over, so that what is logged there names the request.
    let span = tracing::Span::current();
    web::block(move || span.in_scope(work)).await.map_err(|_| {
        domain::error::OAuthError::temporarily_unavailable("the service is temporarily unavailable")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_secret_cookie_key_is_derived_not_the_session_key() {
        let session_key: Vec<u8> = (0u8..64).collect();
        let settings = SessionSettings::new(&session_key, false).unwrap();
        let derived = settings.secret_cookie_key();

        assert_ne!(derived.master(), settings.key.master());
        assert_ne!(derived.encryption(), settings.key.encryption());
        // The same session key gives the same key (several instances, restarts).
        assert_eq!(
            derived.master(),
            SessionSettings::new(&session_key, true)
                .unwrap()
                .secret_cookie_key()
                .master()
        );
        let other: Vec<u8> = (1u8..65).collect();
        assert_ne!(
            derived.master(),
            SessionSettings::new(&other, false)
                .unwrap()
                .secret_cookie_key()
                .master()
        );
    }
}
