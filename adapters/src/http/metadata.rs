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
    let capabilities = &policy.capabilities;
    let grant_types = names(&capabilities.grant_types, |g| g.as_str());
    let response_types = names(&capabilities.response_types, |r| r.as_str());
    let all_methods = names(&AuthMethod::ALL, |m| m.as_str());
    let confidential_methods = names(
        AuthMethod::ALL.iter().filter(|m| m.is_confidential()),
        |m| m.as_str(),
    );
    let authorization_endpoint = capabilities
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
            "token_endpoint_auth_methods_supported": all_methods,
            "revocation_endpoint_auth_methods_supported": all_methods,
            "introspection_endpoint_auth_methods_supported": confidential_methods,
            "code_challenge_methods_supported": ["S256"],
            "authorization_response_iss_parameter_supported": true,
        }))
}

/// The protocol names of `items`, in order, for a `*_supported` member.
fn names<'a, T: 'a + Copy>(
    items: impl IntoIterator<Item = &'a T>,
    name: impl Fn(T) -> &'static str,
) -> Vec<&'static str> {
    items.into_iter().map(|item| name(*item)).collect()
}
