//! The client credentials grant (RFC 6749 §4.4): confidential clients only,
//! no refresh token (§4.4.3).

use crate::client::Client;
use crate::error::OAuthError;
use crate::time::Timestamp;
use crate::token::IssuedTokens;

use super::super::{Grantee, Services};
use super::request::ScopeRequest;

/// RFC 6749 §4.4: the client authenticates as itself, so it must be able to
/// (a public client has no credentials to speak of).
pub(super) fn check_client(client: &Client) -> Result<(), OAuthError> {
    if client.is_confidential() {
        Ok(())
    } else {
        Err(OAuthError::unauthorized_client(
            "client_credentials is for confidential clients",
        ))
    }
}

impl Services {
    pub(super) fn client_credentials(
        &self,
        client: &Client,
        scope: ScopeRequest<'_>,
        now: Timestamp,
    ) -> Result<IssuedTokens, OAuthError> {
        let scope = scope.resolve(&client.metadata.scope)?;
        let grantee = Grantee {
            client,
            user: None,
            scope,
            authentication: None,
        };
        let (records, issued) = self.mint(self.new_family(), &grantee, now, None);
        self.ports
            .tokens
            .insert_tokens(&records)
            .map_err(|e| self.vanished(client, e))?;
        Ok(issued)
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;

    #[test]
    fn client_credentials_issues_the_registered_scope_and_no_refresh_token() {
        let (w, client, secret) = with_basic_client();

        let grant = client_credentials_request(&w, &client, &secret).unwrap();

        assert_eq!(grant.tokens.scope.to_string(), "profile email");
        assert!(grant.tokens.refresh_token.is_none());
        assert_eq!(grant.tokens.expires_in, 3600);
        assert!(grant.user_id.is_none());
    }

    #[test]
    fn scope_wider_than_registered_is_invalid_scope() {
        let (w, client, secret) = with_basic_client();

        let result = w.services.token(
            Some(&basic(&client, &secret)),
            &form(&[
                ("grant_type", "client_credentials"),
                ("scope", "profile admin"),
            ]),
        );

        assert_eq!(error_of(result), ErrorCode::InvalidScope);
    }
}
