//! `POST /oauth/token` (RFC 6749 §3.2).

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Serialize;

use domain::service::token::TokenGrant;
use domain::service::Services;

use super::error::json_no_store;
use super::{AppState, ClientEndpoint, ClientRequestBody as Body};

/// The success body (RFC 6749 §5.1).
#[derive(Debug, Serialize)]
pub struct TokenResponseBody<'a> {
    /// `access_token`.
    pub access_token: &'a str,
    /// Always `Bearer`.
    pub token_type: &'static str,
    /// `expires_in`.
    pub expires_in: i64,
    /// `scope`, always sent.
    pub scope: String,
    /// `refresh_token`, when issued.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<&'a str>,
    /// `id_token`, for an OpenID grant (OpenID Connect Core §3.1.3.3).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id_token: Option<&'a str>,
}

impl<'a> From<&'a TokenGrant> for TokenResponseBody<'a> {
    fn from(grant: &'a TokenGrant) -> Self {
        Self {
            access_token: grant.tokens.access_token.expose(),
            token_type: "Bearer",
            expires_in: grant.tokens.expires_in,
            scope: grant.tokens.scope.to_string(),
            refresh_token: grant.tokens.refresh_token.as_ref().map(|t| t.expose()),
            id_token: grant.tokens.id_token.as_deref(),
        }
    }
}

/// Handles a token request.
pub async fn post(state: web::Data<AppState>, request: HttpRequest, body: Body) -> HttpResponse {
    let outcome = ClientEndpoint::Token.serve(&state, &request, body, Services::token_from);
    match outcome.await {
        Ok(grant) => {
            state.metrics.token_issued(grant.grant_type.as_str());
            tracing::info!(
                event = if grant.grant_type == domain::client::GrantType::RefreshToken {
                    "token_refreshed"
                } else {
                    "token_issued"
                },
                grant_type = grant.grant_type.as_str(),
                client_id = %grant.client_id,
                user_id = grant.user_id.as_deref().unwrap_or("-"),
            );
            json_no_store(StatusCode::OK).json(TokenResponseBody::from(&grant))
        }
        Err(response) => response,
    }
}
