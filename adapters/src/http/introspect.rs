//! `POST /oauth/introspect` (RFC 7662).

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Serialize;

use domain::service::introspect::ActiveToken;
use domain::service::Services;

use super::error::json_no_store;
use super::{AppState, ClientEndpoint, ClientRequestBody as Body};

/// The introspection body (RFC 7662 §2.2).
#[derive(Debug, Serialize)]
pub struct IntrospectionResponseBody<'a> {
    /// `active`.
    pub active: bool,
    /// The other members, for an active token.
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pub token: Option<ActiveTokenBody<'a>>,
}

/// The members of an active token.
#[derive(Debug, Serialize)]
pub struct ActiveTokenBody<'a> {
    scope: &'a str,
    client_id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    username: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    token_type: Option<&'a str>,
    exp: i64,
    iat: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    sub: Option<&'a str>,
    iss: &'a str,
}

impl<'a> From<&'a ActiveToken> for ActiveTokenBody<'a> {
    fn from(t: &'a ActiveToken) -> Self {
        Self {
            scope: &t.scope,
            client_id: &t.client_id,
            username: t.username.as_deref(),
            token_type: t.token_type,
            exp: t.exp,
            iat: t.iat,
            sub: t.sub.as_deref(),
            iss: &t.iss,
        }
    }
}

/// Handles an introspection request.
pub async fn post(state: web::Data<AppState>, request: HttpRequest, body: Body) -> HttpResponse {
    let outcome = ClientEndpoint::Introspect.serve(&state, &request, body, Services::introspect);
    match outcome.await {
        Ok(token) => json_no_store(StatusCode::OK).json(IntrospectionResponseBody {
            active: token.is_some(),
            token: token.as_ref().map(ActiveTokenBody::from),
        }),
        Err(response) => response,
    }
}
