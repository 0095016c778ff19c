//! Token introspection (RFC 7662), for authenticated confidential clients,
//! about their own tokens. The hint never limits the search (§2.1); unknown,
//! expired, revoked or rotated tokens, and tokens of other clients, are
//! simply inactive (§2.2).

use crate::error::OAuthError;
use crate::params::Params;
use crate::secret::SecretDigest;
use crate::token::TokenKind;

use super::Services;

/// The facts about an active token (RFC 7662 §2.2 members).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActiveToken {
    /// `scope`.
    pub scope: String,
    /// `client_id`.
    pub client_id: String,
    /// `username`, when the token has a user.
    pub username: Option<String>,
    /// `token_type` (RFC 7662 §2.2: a type of RFC 6749 §7.1): `Bearer` for
    /// access tokens; none for refresh tokens, which have no such type.
    pub token_type: Option<&'static str>,
    /// `exp`, seconds since the epoch.
    pub exp: i64,
    /// `iat`, seconds since the epoch.
    pub iat: i64,
    /// `sub`: the user id, when the token has a user.
    pub sub: Option<String>,
    /// `iss`.
    pub iss: String,
}

impl Services {
    /// Handles an introspection request from the client at `address`;
    /// `None` means `{"active": false}`.
    ///
    /// # Errors
    /// `invalid_client` (also for public clients), `invalid_request`,
    /// `slow_down`.
    pub fn introspect(
        &self,
        address: Option<&str>,
        authorization: Option<&str>,
        params: &Params,
    ) -> Result<Option<ActiveToken>, OAuthError> {
        let client = self.authenticate_client(address, authorization, params)?;
        if !client.is_confidential() {
            return Err(OAuthError::invalid_client(
                "introspection needs a confidential client",
            ));
        }
        let token = params.require("token")?;
        let _hint = params.get("token_type_hint")?;
        let now = self.ports.clock.now();
        // The token and its user in one read.
        let Some((record, user)) = self
            .ports
            .tokens
            .find_token_with_user(&SecretDigest::of(token))?
            // Only the client a token was issued to may learn about it: with
            // open client registration, anyone could otherwise read who a
            // stolen token belongs to (RFC 7662 §4).
            .filter(|(t, _)| t.is_active(now) && t.client_id == client.id)
        else {
            return Ok(None);
        };
        let username = match (&record.user_id, user) {
            (Some(_), Some(user)) => Some(user.username.to_string()),
            // A token of a user who is gone is not active.
            (Some(_), None) => return Ok(None),
            (None, _) => None,
        };
        Ok(Some(ActiveToken {
            scope: record.scope.to_string(),
            client_id: record.client_id.to_string(),
            username,
            token_type: match record.kind {
                TokenKind::Access => Some("Bearer"),
                TokenKind::Refresh => None,
            },
            exp: record.expires_at.unix_seconds(),
            iat: record.issued_at.unix_seconds(),
            sub: record.user_id.map(|u| u.to_string()),
            iss: self.policy.issuer.clone(),
        }))
    }
}

#[cfg(test)]
mod tests {
    use crate::client::AuthMethod;
    use crate::error::ErrorCode;
    use crate::params::Params;
    use crate::service::fixtures::world;
    use crate::testing::t;

    #[test]
    fn live_token_is_described_and_dead_ones_are_inactive() {
        let w = world();
        let (client, secret) = w.client(AuthMethod::ClientSecretPost);
        let id = client.id.as_str();
        let grant = w.password_grant(id, &secret, None);
        let access = grant.tokens.access_token.expose().to_owned();
        let ask = |token: &str, hint: &str| {
            w.services.introspect(
                None,
                None,
                &Params::from_pairs([
                    ("client_id", id),
                    ("client_secret", &secret),
                    ("token", token),
                    ("token_type_hint", hint),
                ]),
            )
        };

        let active = ask(&access, "refresh_token").unwrap().unwrap();
        assert_eq!(active.username.as_deref(), Some("alice"));
        assert_eq!(active.client_id, id);
        assert_eq!(active.token_type, Some("Bearer"));
        assert_eq!(active.exp - active.iat, 3600);
        assert_eq!(active.sub, Some(w.alice.id.to_string()));
        assert_eq!(ask("unknown", "access_token").unwrap(), None);
        w.clock.set(t(3600));
        assert_eq!(ask(&access, "access_token").unwrap(), None);
    }

    #[test]
    fn another_clients_token_is_inactive() {
        let w = world();
        let (client, secret) = w.client(AuthMethod::ClientSecretPost);
        let (other, other_secret) = w.client_with_id(AuthMethod::ClientSecretPost, "other");
        let grant = w
            .services
            .token(
                None,
                &Params::from_pairs([
                    ("grant_type", "client_credentials"),
                    ("client_id", client.id.as_str()),
                    ("client_secret", &secret),
                ]),
            )
            .unwrap();

        let seen = w
            .services
            .introspect(
                None,
                None,
                &Params::from_pairs([
                    ("client_id", other.id.as_str()),
                    ("client_secret", &other_secret),
                    ("token", grant.tokens.access_token.expose()),
                ]),
            )
            .unwrap();

        assert_eq!(seen, None);
    }

    #[test]
    fn public_clients_cannot_introspect() {
        let w = world();
        let (client, _) = w.client(AuthMethod::None);

        let error = w
            .services
            .introspect(
                None,
                None,
                &Params::from_pairs([("client_id", client.id.as_str()), ("token", "x")]),
            )
            .unwrap_err();

        assert_eq!(error.code, ErrorCode::InvalidClient);
    }
}
