//! `GET /.well-known/oauth-authorization-server` (RFC 8414): exactly what
//! this server supports, derived from its policy.

use actix_web::{web, HttpResponse};
use serde_json::json;

use domain::client::{AuthMethod, GrantType};

use super::AppState;

/// The metadata document.
pub async fn get(state: web::Data<AppState>) -> HttpResponse {
    let policy = &state.services.policy;
    let issuer = policy.issuer.trim_end_matches('/');
    let grant_types: Vec<&str> = policy
        .capabilities
        .grant_types
        .iter()
        .map(|g| g.as_str())
        .collect();
    let response_types: Vec<&str> = policy
        .capabilities
        .response_types
        .iter()
        .map(|r| r.as_str())
        .collect();
    let confidential_methods: Vec<&str> = AuthMethod::ALL
        .iter()
        .filter(|m| m.is_confidential())
        .map(|m| m.as_str())
        .collect();
    let authorization_endpoint = policy
        .capabilities
        .grant_types
        .iter()
        .any(|g| matches!(g, GrantType::AuthorizationCode | GrantType::Implicit))
        .then(|| format!("{issuer}/oauth/authorize"));
    HttpResponse::Ok()
        .insert_header(("Cache-Control", "public, max-age=3600"))
        .json(json!({
            "issuer": policy.issuer,
            "authorization_endpoint": authorization_endpoint,
            "token_endpoint": format!("{issuer}/oauth/token"),
            "revocation_endpoint": format!("{issuer}/oauth/revoke"),
            "introspection_endpoint": format!("{issuer}/oauth/introspect"),
            "scopes_supported": policy.capabilities.scopes.tokens().collect::<Vec<_>>(),
            "response_types_supported": response_types,
            "response_modes_supported": ["query", "fragment"],
            "grant_types_supported": grant_types,
            "token_endpoint_auth_methods_supported": AuthMethod::ALL.iter().map(|m| m.as_str()).collect::<Vec<_>>(),
            "revocation_endpoint_auth_methods_supported": AuthMethod::ALL.iter().map(|m| m.as_str()).collect::<Vec<_>>(),
            "introspection_endpoint_auth_methods_supported": confidential_methods,
            "code_challenge_methods_supported": ["S256"],
            "authorization_response_iss_parameter_supported": true,
        }))
}
