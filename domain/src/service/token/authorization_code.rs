//! The authorization code grant at the token endpoint (RFC 6749 §4.1.3,
//! RFC 7636 §4.6): one redemption per code; a replay by the code's holder
//! revokes every token issued from it (§4.1.2, RFC 9700 §4.5).

use crate::client::Client;
use crate::code::Redemption;
use crate::error::{OAuthError, SecurityEvent};
use crate::ids::UserId;
use crate::ports::CodeRedemption;
use crate::secret::PlainSecret;
use crate::time::Timestamp;
use crate::token::IssuedTokens;

use super::super::id_token::{is_openid, IdTokenFor};
use super::super::{Grantee, Services};

/// Description of the error for a replayed authorization code.
pub const CODE_REPLAYED: &str =
    "the authorization code was already used; the tokens issued from it are revoked";

impl Services {
    pub(super) fn authorization_code(
        &self,
        client: &Client,
        code: &PlainSecret,
        redirect_uri: Option<&str>,
        code_verifier: Option<&str>,
        now: Timestamp,
    ) -> Result<(Option<UserId>, IssuedTokens), OAuthError> {
        let digest = code.digest();
        let invalid = || OAuthError::invalid_grant("the authorization code is invalid");
        let code = self.ports.codes.find_code(&digest)?.ok_or_else(invalid)?;
        let replayed = || {
            self.ports.tokens.revoke_family(&code.family, now).map(|_| {
                OAuthError::invalid_grant(CODE_REPLAYED)
                    .with_event(SecurityEvent::CodeReuseDetected)
            })
        };
        let redemption = Redemption {
            client_id: &client.id,
            redirect_uri,
            registered_redirect_uris: &client.metadata.redirect_uris,
            code_verifier,
        };
        if code.used_at.is_some() {
            // Only the holder the code is bound to may trigger revocation:
            // anyone else gets a plain invalid_grant (RFC 9700 §4.5).
            code.check_proof(&redemption)?;
            return Err(replayed()?);
        }
        code.check_redemption(&redemption, now)?;
        let grantee = Grantee {
            client,
            user: Some(code.user_id),
            scope: code.scope.clone(),
            authentication: code.authentication.clone(),
        };
        let refresh_expiry = self.refresh_expiry(client, &code.scope, now);
        let (records, mut issued) = self.mint(code.family, &grantee, now, refresh_expiry);
        // Core §3.1.3.3: an OpenID request's token response has an ID
        // token. Signed before the code is spent, so that a signing failure
        // leaves the code redeemable.
        if let Some(authentication) = code
            .authentication
            .as_ref()
            .filter(|_| is_openid(&code.scope))
        {
            issued.id_token = Some(self.sign_id_token(
                IdTokenFor {
                    client,
                    user: code.user_id,
                    authentication,
                    nonce: code.nonce.as_deref(),
                    access_token: Some(issued.access_token.expose()),
                    user_claims: Vec::new(),
                },
                now,
            )?);
        }
        match self
            .ports
            .codes
            .redeem_code(&digest, now, &records)
            .map_err(|e| self.vanished(client, e))?
        {
            CodeRedemption::Redeemed => Ok((Some(code.user_id), issued)),
            CodeRedemption::AlreadyUsed => Err(replayed()?),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;
    use crate::ports::{CodeRepository, TokenRepository};
    use crate::secret::SecretDigest;
    use crate::testing::t;

    #[test]
    fn without_redirect_uri_at_authorization_only_the_registered_one_may_be_repeated() {
        let (w, client, secret) = with_basic_client();
        let redeem_with = |code: &str, redirect: Option<&str>| {
            issue_code(&w, &client, code);
            let mut stored = w.store.find_code(&SecretDigest::of(code)).unwrap().unwrap();
            stored.redirect_uri = None;
            stored.digest = SecretDigest::of(&format!("{code}-without"));
            w.store.insert_code(&stored).unwrap();
            let code = format!("{code}-without");
            let mut pairs = vec![
                ("grant_type", "authorization_code"),
                ("code_verifier", VERIFIER),
                ("code", code.as_str()),
            ];
            if let Some(r) = redirect {
                pairs.push(("redirect_uri", r));
            }
            w.services
                .token(Some(&basic(&client, &secret)), &form(&pairs))
                .map(|_| ())
        };

        assert!(redeem_with("a", None).is_ok());
        assert!(redeem_with("b", Some(REDIRECT)).is_ok());
        assert_eq!(
            redeem_with("c", Some("https://client.example.com/other"))
                .unwrap_err()
                .code,
            ErrorCode::InvalidGrant
        );
    }

    #[test]
    fn code_is_redeemed_once_and_a_replay_revokes_what_it_issued() {
        let (w, client, secret) = with_basic_client();
        issue_code(&w, &client, "the-code");

        let first = redeem(&w, &client, &secret, "the-code").unwrap();
        let access = first.tokens.access_token.expose().to_owned();
        let refresh = first
            .tokens
            .refresh_token
            .as_ref()
            .unwrap()
            .expose()
            .to_owned();
        assert!(is_live(&w, &access));

        assert_eq!(
            error_of(redeem(&w, &client, &secret, "the-code")),
            ErrorCode::InvalidGrant
        );
        assert!(!is_live(&w, &access));
        assert!(!is_live(&w, &refresh));
    }

    /// Redeems `code` once with `client`, then returns the access token.
    fn redeemed_once(w: &World, client: &Client, secret: &str, code: &str) -> String {
        issue_code(w, client, code);
        let first = redeem(w, client, secret, code).unwrap();
        first.tokens.access_token.expose().to_owned()
    }

    #[test]
    fn spent_code_replayed_by_another_client_revokes_nothing() {
        let (w, client, secret) = with_basic_client();
        let (attacker, attacker_secret) = w.client(AuthMethod::ClientSecretPost);
        let access = redeemed_once(&w, &client, &secret, "spent");

        let replay = w.services.token(
            None,
            &form(&[
                ("grant_type", "authorization_code"),
                ("code", "spent"),
                ("client_id", attacker.id.as_str()),
                ("client_secret", &attacker_secret),
                ("redirect_uri", REDIRECT),
                ("code_verifier", VERIFIER),
            ]),
        );

        let error = replay.map(|_| ()).unwrap_err();
        assert_eq!(error.code, ErrorCode::InvalidGrant);
        assert_eq!(error.event, None);
        assert!(is_live(&w, &access), "the real client's token survives");
    }

    #[test]
    fn spent_public_code_without_the_right_verifier_or_redirect_revokes_nothing() {
        let w = world();
        let (client, _) = w.client(AuthMethod::None);
        issue_code(&w, &client, "spent");
        let redeem_public = |extra: &[(&str, &str)]| {
            let mut pairs = vec![
                ("grant_type", "authorization_code"),
                ("code", "spent"),
                ("client_id", client.id.as_str()),
            ];
            pairs.extend_from_slice(extra);
            w.services.token(None, &form(&pairs)).map(|_| ())
        };
        let first = w
            .services
            .token(
                None,
                &form(&[
                    ("grant_type", "authorization_code"),
                    ("code", "spent"),
                    ("client_id", client.id.as_str()),
                    ("redirect_uri", REDIRECT),
                    ("code_verifier", VERIFIER),
                ]),
            )
            .unwrap();
        let access = first.tokens.access_token.expose().to_owned();
        let live = || is_live(&w, &access);

        let wrong = "x".repeat(43);
        for extra in [
            vec![("redirect_uri", REDIRECT)],
            vec![
                ("redirect_uri", REDIRECT),
                ("code_verifier", wrong.as_str()),
            ],
            vec![("code_verifier", VERIFIER)],
            vec![
                ("redirect_uri", "https://client.example.com/cb/x"),
                ("code_verifier", VERIFIER),
            ],
        ] {
            let error = redeem_public(&extra).unwrap_err();
            assert_ne!(
                error.event,
                Some(SecurityEvent::CodeReuseDetected),
                "{extra:?}"
            );
            assert!(live(), "{extra:?} must not revoke");
        }

        let replay = redeem_public(&[("redirect_uri", REDIRECT), ("code_verifier", VERIFIER)]);
        assert_eq!(
            replay.unwrap_err().event,
            Some(SecurityEvent::CodeReuseDetected)
        );
        assert!(!live(), "the holder's replay with the verifier revokes");
    }

    #[test]
    fn replay_by_the_real_client_after_expiry_still_revokes() {
        let (w, client, secret) = with_basic_client();
        let access = redeemed_once(&w, &client, &secret, "spent");
        w.clock.set(t(3600));

        let error = redeem(&w, &client, &secret, "spent")
            .map(|_| ())
            .unwrap_err();

        assert_eq!(error.event, Some(SecurityEvent::CodeReuseDetected));
        assert!(w
            .store
            .find_token(&SecretDigest::of(&access))
            .unwrap()
            .is_some_and(|t| t.revoked_at.is_some()));
    }

    #[test]
    fn code_is_bound_to_its_client_redirect_uri_verifier_and_lifetime() {
        let (w, client, secret) = with_basic_client();
        let (other, other_secret) = w.client(AuthMethod::ClientSecretPost);
        issue_code(&w, &client, "code");
        let auth = basic(&client, &secret);
        let with = |extra: &[(&str, &str)]| {
            let mut pairs = vec![("grant_type", "authorization_code"), ("code", "code")];
            pairs.extend_from_slice(extra);
            form(&pairs)
        };

        let other_client = w.services.token(
            None,
            &with(&[
                ("client_id", other.id.as_str()),
                ("client_secret", &other_secret),
                ("redirect_uri", REDIRECT),
                ("code_verifier", VERIFIER),
            ]),
        );
        assert_eq!(error_of(other_client), ErrorCode::InvalidGrant);
        let wrong_verifier = "x".repeat(43);
        for (extra, expected) in [
            (&[("code_verifier", VERIFIER)][..], ErrorCode::InvalidGrant),
            (
                &[
                    ("redirect_uri", "https://client.example.com/cb/x"),
                    ("code_verifier", VERIFIER),
                ],
                ErrorCode::InvalidGrant,
            ),
            (&[("redirect_uri", REDIRECT)], ErrorCode::InvalidRequest),
            (
                &[
                    ("redirect_uri", REDIRECT),
                    ("code_verifier", &wrong_verifier),
                ],
                ErrorCode::InvalidGrant,
            ),
        ] {
            let result = w.services.token(Some(&auth), &with(extra));
            assert_eq!(error_of(result), expected, "{extra:?}");
        }
        w.clock.set(t(60));
        assert_eq!(
            error_of(redeem(&w, &client, &secret, "code")),
            ErrorCode::InvalidGrant
        );
        w.clock.set(t(59));
        assert!(redeem(&w, &client, &secret, "code").is_ok());
    }
}
