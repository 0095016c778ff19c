//! Minting ID tokens (OpenID Connect Core 1.0 §2): for the code flow at the
//! token endpoint (§3.1.3.3), for the implicit flow at the authorization
//! endpoint (§3.2.2.5), and again at a refresh (§12.2). Signing goes
//! through the [`crate::ports::IdTokenSigner`] port; it is blocking work,
//! done inside the use case, which the adapters run off the executor.

use crate::client::Client;
use crate::error::StoreError;
use crate::id_token::{Authentication, ClaimValue, IdTokenClaims, JwsAlgorithm};
use crate::ids::UserId;
use crate::scope::{Scope, OFFLINE_ACCESS, OPENID};
use crate::time::Timestamp;

use super::Services;

/// The algorithm `client`'s ID tokens are signed with.
#[must_use]
pub fn id_token_algorithm(client: &Client) -> JwsAlgorithm {
    // wired to id_token_signed_response_alg at merge
    let _ = client;
    JwsAlgorithm::Rs256
}

/// Whether a request or a grant is an OpenID one: Core §3.1.2.1, the scope
/// MUST contain `openid`.
#[must_use]
pub fn is_openid(scope: &Scope) -> bool {
    scope.contains(OPENID)
}

/// Whether a refresh token may be issued for `scope`: in an OpenID request
/// only when `offline_access` was granted (Core §11); other requests keep
/// the OAuth rule (the client and server allow the refresh grant).
#[must_use]
pub fn scope_allows_refresh(scope: &Scope) -> bool {
    !is_openid(scope) || scope.contains(OFFLINE_ACCESS)
}

/// What one ID token is about.
pub(crate) struct IdTokenFor<'a> {
    /// The client: `aud` and `azp`, and the signing algorithm.
    pub client: &'a Client,
    /// `sub`.
    pub user: UserId,
    /// `auth_time`, `sid`, `amr`.
    pub authentication: &'a Authentication,
    /// `nonce`, exactly as the authorization request sent it.
    pub nonce: Option<&'a str>,
    /// The access token issued with it, for `at_hash` (Core §3.1.3.6,
    /// §3.2.2.10).
    pub access_token: Option<&'a str>,
    /// End-user claims carried in the ID token (Core §5.4: only when no
    /// access token is issued).
    pub user_claims: Vec<(String, ClaimValue)>,
}

impl Services {
    /// Signs the ID token of `token`, issued at `now` (Core §2).
    pub(crate) fn sign_id_token(
        &self,
        token: IdTokenFor<'_>,
        now: Timestamp,
    ) -> Result<String, StoreError> {
        let alg = id_token_algorithm(token.client);
        let claims = IdTokenClaims {
            issuer: self.policy.issuer.clone(),
            subject: token.user,
            audience: token.client.id.clone(),
            expires_at: now.plus(self.policy.lifetimes.id_token),
            issued_at: now,
            auth_time: token.authentication.auth_time,
            nonce: token.nonce.map(str::to_owned),
            access_token_hash: token.access_token.map(|t| alg.half_hash(t)),
            code_hash: None,
            authentication_methods: token.authentication.methods.clone(),
            session_id: token.authentication.session_id.clone(),
            user_claims: token.user_claims,
        };
        self.ports.id_tokens.sign(alg, &claims)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scope(value: &str) -> Scope {
        Scope::parse(value).unwrap()
    }

    #[test]
    fn openid_requests_get_a_refresh_token_only_with_offline_access() {
        assert!(!scope_allows_refresh(&scope("openid profile")));
        assert!(scope_allows_refresh(&scope("openid offline_access")));
        assert!(scope_allows_refresh(&scope("profile")));
        assert!(scope_allows_refresh(&scope("")));
    }

    #[test]
    fn openid_is_the_scope_value_openid_exactly() {
        assert!(is_openid(&scope("profile openid")));
        assert!(!is_openid(&scope("OpenID profile")));
        assert!(!is_openid(&scope("openid_connect")));
    }
}
