//! Client authentication as a step of the client endpoints: token
//! (RFC 6749 §3.2.1), revocation (RFC 7009 §2.1) and introspection
//! (RFC 7662 §2.1). The presented credentials and the rule that checks them
//! are in [`crate::client_auth`]; this step adds the store and the
//! brute-force limits.

use crate::client::Client;
use crate::client_auth::PresentedCredentials;
use crate::error::OAuthError;
use crate::params::Params;

use super::Services;

impl Services {
    /// Authenticates the client of a request from `address`. Correct
    /// credentials are never refused by the brute-force limits; a failure
    /// is counted under the address, and past its limit answered
    /// `slow_down` instead of `invalid_client` (see [`super::throttle`]).
    ///
    /// # Errors
    /// `invalid_client`, `invalid_request` or `slow_down`.
    pub fn authenticate_client(
        &self,
        address: Option<&str>,
        authorization: Option<&str>,
        params: &Params,
    ) -> Result<Client, OAuthError> {
        let credentials = PresentedCredentials::from_request(authorization, params)?;
        let client = match credentials.parsed_client_id() {
            Some(id) => self.ports.clients.find_client(&id)?,
            None => None,
        };
        credentials
            .authenticate(client)
            .map_err(|failure| self.client_authentication_failed(address, failure))
    }
}

#[cfg(test)]
mod tests {
    use super::super::token::testing::*;

    #[test]
    fn a_correct_client_secret_is_never_refused_for_failures_it_did_not_make() {
        let (w, client, secret) = with_basic_client();
        let wrong_secret = basic(&client, "wrong");
        let cc = form(&[("grant_type", "client_credentials")]);
        for _ in 0..100 {
            let error = w
                .services
                .token_from(Some("192.0.2.9"), Some(&wrong_secret), &cc);
            assert_eq!(error_of(error), ErrorCode::InvalidClient);
        }
        // Past the per-address limit, failing requests are slowed down...
        let slowed = w
            .services
            .token_from(Some("192.0.2.9"), Some(&wrong_secret), &cc);
        assert_eq!(error_of(slowed), ErrorCode::SlowDown);
        // ...while the correct secret, from there or anywhere, gets its token.
        for address in [Some("192.0.2.9"), Some("192.0.2.10"), None] {
            let right = w
                .services
                .token_from(address, Some(&basic(&client, &secret)), &cc);
            assert!(right.is_ok(), "{address:?}: {right:?}");
        }
    }
    #[test]
    fn a_secret_with_a_raw_ampersand_or_equals_sign_authenticates_whole() {
        let (w, client, secret) = with_basic_client();
        let cc = form(&[("grant_type", "client_credentials")]);
        // RFC 6749 §2.3.1: a client that skips the form-encoding sends '&'
        // and '=' raw; they are part of the secret, not separators.
        for forged in [format!("{secret}&x=y"), format!("{secret}=")] {
            let error = w
                .services
                .authenticate_client(None, Some(&basic(&client, &forged)), &cc)
                .unwrap_err();
            assert_eq!(
                (error.code, error.event),
                (
                    ErrorCode::InvalidClient,
                    Some(SecurityEvent::ClientAuthFailed)
                )
            );
        }
        let authenticated = w
            .services
            .authenticate_client(None, Some(&basic(&client, &secret)), &cc)
            .unwrap();
        assert_eq!(authenticated.id, client.id);
    }
}
