//! Token revocation (RFC 7009).
//!
//! `token_type_hint` is only a hint: the token is looked up by its digest
//! whatever the hint says (§2.1), and an unknown hint value is ignored.
//! Revoking a refresh token revokes its whole family, access tokens
//! included; revoking an access token revokes that token. An unknown token
//! is answered with success (§2.2), a token of another client is refused
//! and left alone.

use crate::error::OAuthError;
use crate::params::Params;
use crate::secret::SecretDigest;
use crate::token::TokenKind;

use super::Services;

/// What a successful revocation request did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Revocation {
    /// The authenticated client.
    pub client_id: String,
    /// The kind of the token found, if any.
    pub revoked: Option<TokenKind>,
}

impl Services {
    /// Handles a revocation request from the client at `address` (for the
    /// brute-force limits).
    ///
    /// # Errors
    /// `invalid_client`, `invalid_request` (no `token`), or `invalid_grant`
    /// for a token issued to another client.
    pub fn revoke(
        &self,
        address: Option<&str>,
        authorization: Option<&str>,
        params: &Params,
    ) -> Result<Revocation, OAuthError> {
        let client = self.authenticate_client(address, authorization, params)?;
        let token = params.require("token")?;
        // Read for the repetition check only: the hint never limits the search.
        let _hint = params.get("token_type_hint")?;
        let client_id = client.id.to_string();
        let Some(record) = self.ports.tokens.find_token(&SecretDigest::of(token))? else {
            return Ok(Revocation {
                client_id,
                revoked: None,
            });
        };
        if record.client_id != client.id {
            return Err(OAuthError::invalid_grant(
                "the token was issued to another client",
            ));
        }
        let now = self.ports.clock.now();
        match record.kind {
            TokenKind::Refresh => self
                .ports
                .tokens
                .revoke_family(&record.family, now)
                .map(|_| ())?,
            TokenKind::Access => self
                .ports
                .tokens
                .revoke_token(&record.id, now)
                .map(|_| ())?,
        }
        Ok(Revocation {
            client_id,
            revoked: Some(record.kind),
        })
    }
}

#[cfg(test)]
mod tests {
    use crate::client::AuthMethod;
    use crate::error::ErrorCode;
    use crate::params::Params;
    use crate::ports::{Clock, TokenRepository};
    use crate::secret::SecretDigest;
    use crate::service::fixtures::{world, World};
    use crate::token::TokenKind;

    fn tokens(w: &World, client_id: &str, secret: &str) -> (String, String) {
        let grant = w.password_grant(client_id, secret, None);
        (
            grant.tokens.access_token.expose().to_owned(),
            grant.tokens.refresh_token.unwrap().expose().to_owned(),
        )
    }

    fn revoke(
        w: &World,
        client_id: &str,
        secret: &str,
        extra: &[(&str, &str)],
    ) -> Result<super::Revocation, crate::error::OAuthError> {
        let mut pairs = vec![("client_id", client_id), ("client_secret", secret)];
        pairs.extend_from_slice(extra);
        w.services.revoke(None, None, &Params::from_pairs(pairs))
    }

    fn live(w: &World, token: &str) -> bool {
        w.store
            .find_token(&SecretDigest::of(token))
            .unwrap()
            .is_some_and(|t| t.is_active(w.clock.now()))
    }

    /// Revokes the access or the refresh token of a fresh pair, sent with
    /// `hint`; answers whether the access and the refresh token are still
    /// live afterwards.
    fn revoke_one_of_a_pair(kind: TokenKind, hint: &str) -> (bool, bool) {
        let w = world();
        let (client, secret) = w.client(AuthMethod::ClientSecretPost);
        let (access, refresh) = tokens(&w, client.id.as_str(), &secret);
        let token = match kind {
            TokenKind::Access => &access,
            TokenKind::Refresh => &refresh,
        };

        revoke(
            &w,
            client.id.as_str(),
            &secret,
            &[("token", token), ("token_type_hint", hint)],
        )
        .unwrap();

        (live(&w, &access), live(&w, &refresh))
    }

    #[test]
    fn a_wrong_hint_still_finds_and_revokes_the_token() {
        // The hint only guides the search (RFC 7009 §2.1): the access token
        // is revoked, its refresh token left alone.
        assert_eq!(
            revoke_one_of_a_pair(TokenKind::Access, "refresh_token"),
            (false, true)
        );
    }

    #[test]
    fn revoking_a_refresh_token_revokes_its_access_tokens() {
        // An unknown hint is ignored (RFC 7009 §2.1); the family goes.
        assert_eq!(
            revoke_one_of_a_pair(TokenKind::Refresh, "bogus"),
            (false, false)
        );
    }

    #[test]
    fn unknown_token_is_success_and_another_clients_token_is_left_alone() {
        let w = world();
        let (client, secret) = w.client(AuthMethod::ClientSecretPost);
        let (other, other_secret) = w.client_with_id(AuthMethod::ClientSecretPost, "other");
        let (access, _) = tokens(&w, client.id.as_str(), &secret);

        assert_eq!(
            revoke(&w, client.id.as_str(), &secret, &[("token", "nothing")])
                .unwrap()
                .revoked,
            None
        );
        let refused =
            revoke(&w, other.id.as_str(), &other_secret, &[("token", &access)]).unwrap_err();
        assert_eq!(refused.code, ErrorCode::InvalidGrant);
        assert!(live(&w, &access));
    }

    #[test]
    fn missing_token_or_credentials_are_refused() {
        let w = world();
        let (client, secret) = w.client(AuthMethod::ClientSecretPost);

        assert_eq!(
            revoke(&w, client.id.as_str(), &secret, &[])
                .unwrap_err()
                .code,
            ErrorCode::InvalidRequest
        );
        let anonymous = w
            .services
            .revoke(None, None, &Params::from_pairs([("token", "x")]))
            .unwrap_err();
        assert_eq!(anonymous.code, ErrorCode::InvalidClient);
    }
}
