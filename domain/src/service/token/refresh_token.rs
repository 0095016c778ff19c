//! The refresh token grant (RFC 6749 §6) with rotation and reuse detection
//! (RFC 9700 §4.14.2). The rotation is atomic in the store
//! ([`crate::ports::TokenRepository::rotate_refresh`]).

use crate::client::Client;
use crate::error::{OAuthError, SecurityEvent};
use crate::ids::UserId;
use crate::ports::Rotation;
use crate::secret::PlainSecret;
use crate::time::Timestamp;
use crate::token::{IssuedTokens, TokenKind};

use super::super::id_token::{is_openid, scope_allows_refresh, IdTokenFor};
use super::super::{Grantee, Services};
use super::request::ScopeRequest;

/// Description of the error for a reused (rotated) refresh token.
pub const REFRESH_REPLAYED: &str =
    "the refresh token was already used; its whole family is revoked";

impl Services {
    pub(super) fn refresh_token(
        &self,
        client: &Client,
        refresh_token: &PlainSecret,
        scope: ScopeRequest<'_>,
        now: Timestamp,
    ) -> Result<(Option<UserId>, IssuedTokens), OAuthError> {
        let digest = refresh_token.digest();
        let invalid = || OAuthError::invalid_grant("the refresh token is invalid");
        let old = self
            .ports
            .tokens
            .find_token(&digest)?
            .filter(|t| t.kind == TokenKind::Refresh && t.client_id == client.id)
            .ok_or_else(invalid)?;
        if old.revoked_at.is_some() || now >= old.expires_at {
            return Err(invalid());
        }
        let reused = |rotated_at: Timestamp| -> Result<OAuthError, OAuthError> {
            // A duplicate of the refresh that just happened (the token it
            // issued, the family's newest, was issued at this rotation) is
            // refused without punishing the client that won the race. Any
            // older token, or any token after the window, revokes the family
            // (RFC 9700 §4.14.2: the grace covers only the previous token).
            let in_window =
                rotated_at.seconds_until(now) < self.policy.lifetimes.refresh_grace.seconds();
            let just_previous = in_window
                && self.ports.tokens.newest_refresh_issued_at(&old.family)? == Some(rotated_at);
            if just_previous {
                Ok(OAuthError::invalid_grant("the refresh token was just used"))
            } else {
                self.ports.tokens.revoke_family(&old.family, now)?;
                Ok(OAuthError::invalid_grant(REFRESH_REPLAYED)
                    .with_event(SecurityEvent::RefreshReuseDetected))
            }
        };
        if let Some(rotated_at) = old.rotated_at {
            return Err(reused(rotated_at)?);
        }
        let scope = scope.resolve(&old.scope)?;
        // The refresh lifetime is absolute: rotation never extends it. A
        // narrowed OpenID scope without offline_access ends the refreshes
        // (Core §11).
        let refresh_expiry = scope_allows_refresh(&scope).then_some(old.expires_at);
        let grantee = Grantee {
            client,
            user: old.user_id,
            scope,
            authentication: old.authentication.clone(),
        };
        let (records, mut issued) = self.mint(old.family, &grantee, now, refresh_expiry);
        // Core §12.2: a new ID token, with the original authentication
        // (`auth_time`, `sid`, `amr`), new `iat` and `exp`; without `nonce`:
        // Core 1.0 errata set 2 §12.2 says it "SHOULD NOT have a nonce
        // Claim Value, even when the ID Token issued at the time of the
        // original authentication contained nonce" (OpenID Connect issue
        // 1025): a refresh is no authentication request.
        // Only a grant that began as an OpenID authentication has one.
        if let (true, Some(user), Some(authentication)) = (
            is_openid(&grantee.scope),
            old.user_id,
            old.authentication.as_ref(),
        ) {
            issued.id_token = Some(self.sign_id_token(
                IdTokenFor {
                    client,
                    user,
                    authentication,
                    nonce: None,
                    access_token: Some(issued.access_token.expose()),
                    user_claims: Vec::new(),
                },
                now,
            )?);
        }
        match self
            .ports
            .tokens
            .rotate_refresh(&old.id, now, &records)
            .map_err(|e| self.vanished(client, e))?
        {
            Rotation::Rotated => Ok((old.user_id, issued)),
            Rotation::AlreadyRotated(rotated_at) => Err(reused(rotated_at)?),
            Rotation::Revoked => Err(invalid()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;
    use crate::testing::t;

    #[test]
    fn refresh_rotates_and_the_old_token_stops_working() {
        let (w, client, secret) = with_basic_client();
        let first = password_grant(&w, &client, &secret);
        let rt1 = first.tokens.refresh_token.unwrap().expose().to_owned();

        w.clock.set(t(5));
        let second = refresh(&w, &client, &secret, &rt1).unwrap();
        let rt2 = second.tokens.refresh_token.unwrap().expose().to_owned();

        assert_ne!(rt1, rt2);
        assert!(!is_live(&w, &rt1));
        assert!(is_live(&w, &rt2));
        assert!(is_live(&w, first.tokens.access_token.expose()));
    }

    #[test]
    fn duplicate_inside_the_grace_window_is_refused_without_revoking() {
        let (w, client, secret) = with_basic_client();
        let rt1 = password_refresh_token(&w, &client, &secret);
        let second = refresh(&w, &client, &secret, &rt1).unwrap();

        w.clock.set(t(9));
        assert_eq!(
            error_of(refresh(&w, &client, &secret, &rt1)),
            ErrorCode::InvalidGrant
        );

        assert!(is_live(&w, second.tokens.refresh_token.unwrap().expose()));
        assert!(is_live(&w, second.tokens.access_token.expose()));
    }

    #[test]
    fn reuse_of_an_older_token_inside_the_window_revokes_the_whole_family() {
        let (w, client, secret) = with_basic_client();
        let rt1 = password_refresh_token(&w, &client, &secret);
        w.clock.set(t(1));
        let second = refresh(&w, &client, &secret, &rt1).unwrap();
        let rt2 = second.tokens.refresh_token.unwrap().expose().to_owned();
        w.clock.set(t(2));
        let third = refresh(&w, &client, &secret, &rt2).unwrap();

        w.clock.set(t(3));
        let reuse = refresh(&w, &client, &secret, &rt1).map(|_| ()).unwrap_err();

        assert_eq!(reuse.event, Some(SecurityEvent::RefreshReuseDetected));
        assert!(!is_live(&w, third.tokens.refresh_token.unwrap().expose()));
    }

    #[test]
    fn a_replay_with_a_repeated_scope_still_revokes_the_family() {
        let (w, client, secret) = with_basic_client();
        let rt1 = password_refresh_token(&w, &client, &secret);
        let second = refresh(&w, &client, &secret, &rt1).unwrap();
        w.clock.set(t(11));

        let form = [
            ("grant_type", "refresh_token"),
            ("refresh_token", rt1.as_str()),
            ("scope", "profile"),
            ("scope", "email"),
        ];
        let replay = token_basic(&w, &client, &secret, &form)
            .map(|_| ())
            .unwrap_err();

        assert_eq!(replay.event, Some(SecurityEvent::RefreshReuseDetected));
        assert!(!is_live(&w, second.tokens.refresh_token.unwrap().expose()));
    }

    #[test]
    fn reuse_after_the_grace_window_revokes_the_whole_family() {
        let (w, client, secret) = with_basic_client();
        let first = password_grant(&w, &client, &secret);
        let rt1 = first.tokens.refresh_token.unwrap().expose().to_owned();
        let second = refresh(&w, &client, &secret, &rt1).unwrap();

        w.clock.set(t(11));
        assert_eq!(
            error_of(refresh(&w, &client, &secret, &rt1)),
            ErrorCode::InvalidGrant
        );

        assert!(!is_live(&w, second.tokens.refresh_token.unwrap().expose()));
        assert!(!is_live(&w, second.tokens.access_token.expose()));
        assert!(!is_live(&w, first.tokens.access_token.expose()));
    }

    #[test]
    fn refresh_can_narrow_but_never_widen_the_scope() {
        let (w, client, secret) = with_basic_client();
        let narrow = password_pairs("alice", ALICE_PASSWORD, &[("scope", "profile")]);
        let grant = token_basic(&w, &client, &secret, &narrow).unwrap();
        let rt = grant.tokens.refresh_token.unwrap().expose().to_owned();
        let ask = |scope: &str| {
            token_basic(
                &w,
                &client,
                &secret,
                &[
                    ("grant_type", "refresh_token"),
                    ("refresh_token", &rt),
                    ("scope", scope),
                ],
            )
        };

        assert_eq!(error_of(ask("profile email")), ErrorCode::InvalidScope);
        assert_eq!(ask("profile").unwrap().tokens.scope.to_string(), "profile");
    }

    #[test]
    fn refresh_token_of_another_client_or_an_access_token_is_invalid_grant() {
        let (w, client, secret) = with_basic_client();
        let (other, other_secret) = w.client_with_id(AuthMethod::ClientSecretBasic, "other-client");
        let grant = password_grant(&w, &client, &secret);
        let rt = grant.tokens.refresh_token.unwrap().expose().to_owned();

        assert_eq!(
            error_of(refresh(&w, &other, &other_secret, &rt)),
            ErrorCode::InvalidGrant
        );
        assert_eq!(
            error_of(refresh(
                &w,
                &client,
                &secret,
                grant.tokens.access_token.expose()
            )),
            ErrorCode::InvalidGrant
        );
        assert!(refresh(&w, &client, &secret, &rt).is_ok());
    }

    #[test]
    fn expired_refresh_token_is_invalid_grant() {
        let (w, client, secret) = with_basic_client();
        let rt = password_refresh_token(&w, &client, &secret);

        w.clock.set(t(30 * 24 * 3600));

        assert_eq!(
            error_of(refresh(&w, &client, &secret, &rt)),
            ErrorCode::InvalidGrant
        );
    }
}
