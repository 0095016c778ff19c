//! The token endpoint (RFC 6749 §3.2, §4.1.3, §4.3, §4.4, §6).
//!
//! Order of checks: the grant type (missing → `invalid_request`, unknown or
//! disabled → `unsupported_grant_type`), client authentication with the
//! registered method (`invalid_client`, see [`super::client_auth`]), the
//! grant registered for the client (`unauthorized_client`), then the
//! request's fields ([`TokenRequest`]) and the grant's own rules, one module
//! per grant. A new grant is a new module here and a new variant of
//! [`TokenGrantType`] and [`TokenRequest`].

mod authorization_code;
mod client_credentials;
mod password;
mod refresh_token;
mod request;

#[cfg(test)]
pub(crate) mod testing;

pub use authorization_code::CODE_REPLAYED;
pub use refresh_token::REFRESH_REPLAYED;
pub use request::{ScopeRequest, TokenGrantType, TokenRequest};

use crate::client::{Client, GrantType};
use crate::error::{OAuthError, StoreError};
use crate::ids::UserId;
use crate::params::Params;
use crate::scope::Scope;
use crate::time::Timestamp;
use crate::token::IssuedTokens;

use super::id_token::scope_allows_refresh;
use super::Services;

/// A token issued, with who it was issued to (for logs and metrics).
#[derive(Debug)]
pub struct TokenGrant {
    /// The grant type used.
    pub grant_type: GrantType,
    /// The client.
    pub client_id: String,
    /// The user, when the grant has one.
    pub user_id: Option<String>,
    /// The secrets to return once.
    pub tokens: IssuedTokens,
}

impl Services {
    /// Handles a token request.
    ///
    /// # Errors
    /// The RFC 6749 §5.2 error to return.
    pub fn token(
        &self,
        authorization: Option<&str>,
        params: &Params,
    ) -> Result<TokenGrant, OAuthError> {
        self.token_from(None, authorization, params)
    }

    /// Handles a token request from the client at `address` (for the
    /// brute-force limits of [`super::throttle`]).
    ///
    /// # Errors
    /// The RFC 6749 §5.2 error to return, or `slow_down`.
    pub fn token_from(
        &self,
        address: Option<&str>,
        authorization: Option<&str>,
        params: &Params,
    ) -> Result<TokenGrant, OAuthError> {
        let grant_type = TokenGrantType::requested(params, &self.policy)?;
        let client = self.authenticate_client(address, authorization, params)?;
        if !client.metadata.allows_grant(grant_type.grant_type()) {
            return Err(OAuthError::unauthorized_client(
                "the client is not registered for this grant type",
            ));
        }
        grant_type.check_client(&client)?;
        let request = TokenRequest::of_grant(grant_type, params)?;
        let now = self.ports.clock.now();
        let (user, tokens) = self.grant(&client, &request, now, address)?;
        Ok(TokenGrant {
            grant_type: grant_type.grant_type(),
            client_id: client.id.to_string(),
            user_id: user.map(|u| u.to_string()),
            tokens,
        })
    }

    /// Runs the rule of the request's grant.
    fn grant(
        &self,
        client: &Client,
        request: &TokenRequest<'_>,
        now: Timestamp,
        address: Option<&str>,
    ) -> Result<(Option<UserId>, IssuedTokens), OAuthError> {
        match request {
            TokenRequest::AuthorizationCode {
                code,
                redirect_uri,
                code_verifier,
            } => self.authorization_code(client, code, *redirect_uri, *code_verifier, now),
            TokenRequest::Password {
                username,
                password,
                scope,
            } => self.password(client, username, password, *scope, now, address),
            TokenRequest::ClientCredentials { scope } => {
                Ok((None, self.client_credentials(client, *scope, now)?))
            }
            TokenRequest::RefreshToken {
                refresh_token,
                scope,
            } => self.refresh_token(client, refresh_token, *scope, now),
        }
    }

    /// The error for a write whose user or client was deleted since the
    /// request began (a foreign key failed): `invalid_client` when the client
    /// is gone (RFC 6749 §5.2: it no longer authenticates), `invalid_grant`
    /// when the resource owner is (the grant no longer stands).
    fn vanished(&self, client: &Client, error: StoreError) -> OAuthError {
        match error {
            StoreError::Gone => match self.ports.clients.find_client(&client.id) {
                Ok(Some(_)) => OAuthError::invalid_grant("the resource owner no longer exists"),
                Ok(None) => OAuthError::invalid_client("client authentication failed"),
                Err(error) => error.into(),
            },
            other => other.into(),
        }
    }

    /// When a refresh token issued now for `scope` expires, if the client
    /// and the server both allow the refresh grant (RFC 6749 §1.5: issuing
    /// one is optional) and, for an OpenID request, `offline_access` was
    /// granted (Core §11).
    fn refresh_expiry(&self, client: &Client, scope: &Scope, now: Timestamp) -> Option<Timestamp> {
        (client.metadata.allows_grant(GrantType::RefreshToken)
            && self.policy.grant_enabled(GrantType::RefreshToken)
            && scope_allows_refresh(scope))
        .then(|| now.plus(self.policy.lifetimes.refresh_token))
    }
}

#[cfg(test)]
mod tests {
    use super::testing::*;
    use super::*;
    use crate::ports::ClientRepository;
    use crate::secret::SecretDigest;

    #[test]
    fn missing_grant_type_is_invalid_request_and_unknown_is_unsupported() {
        let (w, client, secret) = with_basic_client();
        let auth = basic(&client, &secret);

        assert_eq!(
            error_of(w.services.token(Some(&auth), &form(&[]))),
            ErrorCode::InvalidRequest
        );
        assert_eq!(
            error_of(
                w.services
                    .token(Some(&auth), &form(&[("grant_type", "urn:bogus")]))
            ),
            ErrorCode::UnsupportedGrantType
        );
        assert_eq!(
            error_of(
                w.services
                    .token(Some(&auth), &form(&[("grant_type", "implicit")]))
            ),
            ErrorCode::UnsupportedGrantType
        );
    }

    #[test]
    fn repeated_grant_type_is_invalid_request() {
        let w = world();
        let params = form(&[("grant_type", "password"), ("grant_type", "password")]);

        assert_eq!(
            error_of(w.services.token(None, &params)),
            ErrorCode::InvalidRequest
        );
    }

    #[test]
    fn wrong_secret_is_invalid_client() {
        let (w, client, secret) = with_basic_client();
        let params = form(&[("grant_type", "client_credentials")]);

        let result = w
            .services
            .token(Some(&basic(&client, &format!("{secret}x"))), &params);

        assert_eq!(error_of(result), ErrorCode::InvalidClient);
    }

    #[test]
    fn grant_not_registered_for_the_client_is_unauthorized_client() {
        let w = world();
        let (mut client, secret) = w.client(AuthMethod::ClientSecretBasic);
        client.metadata.grant_types = vec![GrantType::AuthorizationCode];
        w.reregister(&client);

        let result = client_credentials_request(&w, &client, &secret);

        assert_eq!(error_of(result), ErrorCode::UnauthorizedClient);
    }

    #[test]
    fn disabled_grant_is_unsupported_grant_type() {
        let mut w = world();
        w.services
            .policy
            .capabilities
            .grant_types
            .retain(|g| *g != GrantType::Password);
        let (client, secret) = w.client(AuthMethod::ClientSecretBasic);

        let result = password_request(&w, &client, &secret);

        assert_eq!(error_of(result), ErrorCode::UnsupportedGrantType);
    }

    /// Clients that are deleted right after they are read (the client
    /// authenticates, then disappears before the tokens are stored).
    struct DeletedAfterRead(std::sync::Arc<crate::testing::InMemoryStore>);

    impl ClientRepository for DeletedAfterRead {
        fn insert_client(&self, client: &Client) -> Result<(), crate::error::StoreError> {
            self.0.insert_client(client)
        }
        fn insert_client_within_quota(
            &self,
            client: &Client,
            max: u32,
        ) -> Result<crate::ports::WithinQuota, crate::error::StoreError> {
            self.0.insert_client_within_quota(client, max)
        }
        fn find_client(
            &self,
            id: &crate::ids::ClientId,
        ) -> Result<Option<Client>, crate::error::StoreError> {
            let found = self.0.find_client(id)?;
            self.0.delete_client(id)?;
            Ok(found)
        }
        fn list_clients_of(
            &self,
            owner: &crate::ids::UserId,
        ) -> Result<Vec<Client>, crate::error::StoreError> {
            self.0.list_clients_of(owner)
        }
        fn list_clients(&self) -> Result<Vec<Client>, crate::error::StoreError> {
            self.0.list_clients()
        }
        fn set_client_secret(
            &self,
            id: &crate::ids::ClientId,
            digest: &SecretDigest,
        ) -> Result<bool, crate::error::StoreError> {
            self.0.set_client_secret(id, digest)
        }
        fn delete_client(
            &self,
            id: &crate::ids::ClientId,
        ) -> Result<bool, crate::error::StoreError> {
            self.0.delete_client(id)
        }
        fn set_client_trusted(
            &self,
            id: &crate::ids::ClientId,
            trusted: bool,
        ) -> Result<bool, crate::error::StoreError> {
            self.0.set_client_trusted(id, trusted)
        }
    }

    #[test]
    fn client_deleted_after_it_authenticated_is_invalid_client() {
        let (mut w, client, secret) = with_basic_client();
        w.services.ports.clients = std::sync::Arc::new(DeletedAfterRead(w.store.clone()));

        let result = client_credentials_request(&w, &client, &secret);

        assert_eq!(error_of(result), ErrorCode::InvalidClient);
    }
}
