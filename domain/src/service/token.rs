//! The token endpoint (RFC 6749 §3.2, §4.1.3, §4.3, §4.4, §6).
//!
//! Order of checks: the grant type (missing → `invalid_request`, unknown or
//! disabled → `unsupported_grant_type`), client authentication with the
//! registered method (`invalid_client`), the grant registered for the client
//! (`unauthorized_client`), then the grant's own rules.

use crate::client::{Client, GrantType};
use crate::client_auth::PresentedCredentials;
use crate::code::Redemption;
use crate::error::{OAuthError, StoreError};
use crate::params::Params;
use crate::ports::{CodeRedemption, Rotation};
use crate::scope::Scope;
use crate::secret::SecretDigest;
use crate::time::Timestamp;
use crate::token::{IssuedTokens, TokenKind};

use super::throttle::Attempt;
use super::{Grantee, Services};

/// Description of the error for a replayed authorization code.
pub const CODE_REPLAYED: &str =
    "the authorization code was already used; the tokens issued from it are revoked";
/// Description of the error for a reused (rotated) refresh token.
pub const REFRESH_REPLAYED: &str =
    "the refresh token was already used; its whole family is revoked";

/// The security event a token error stands for, when it reports a replay
/// that revoked tokens: `code_reuse_detected` or `refresh_reuse_detected`.
#[must_use]
pub fn reuse_detected(error: &OAuthError) -> Option<&'static str> {
    if error.description == CODE_REPLAYED {
        Some("code_reuse_detected")
    } else if error.description == REFRESH_REPLAYED {
        Some("refresh_reuse_detected")
    } else {
        None
    }
}

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
        let grant_type = match params.get("grant_type")? {
            None => return Err(OAuthError::missing("grant_type")),
            Some(raw) => GrantType::parse(raw)
                .filter(|g| *g != GrantType::Implicit && self.policy.grant_enabled(*g))
                .ok_or_else(|| {
                    OAuthError::unsupported_grant_type("the grant type is not supported")
                })?,
        };
        let client = self.authenticate_client(address, authorization, params)?;
        if !client.metadata.allows_grant(grant_type) {
            return Err(OAuthError::unauthorized_client(
                "the client is not registered for this grant type",
            ));
        }
        let now = self.ports.clock.now();
        let (user, tokens) = match grant_type {
            GrantType::AuthorizationCode => self.authorization_code(&client, params, now)?,
            GrantType::Password => self.password(&client, params, now, address)?,
            GrantType::ClientCredentials => (None, self.client_credentials(&client, params, now)?),
            GrantType::RefreshToken => self.refresh_token(&client, params, now)?,
            GrantType::Implicit => {
                return Err(OAuthError::unsupported_grant_type(
                    "the grant type is not supported",
                ))
            }
        };
        Ok(TokenGrant {
            grant_type,
            client_id: client.id.to_string(),
            user_id: user.map(|u| u.to_string()),
            tokens,
        })
    }

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

    fn refresh_expiry(&self, client: &Client, now: Timestamp) -> Option<Timestamp> {
        (client.metadata.allows_grant(GrantType::RefreshToken)
            && self.policy.grant_enabled(GrantType::RefreshToken))
        .then(|| now.plus(self.policy.lifetimes.refresh_token))
    }

    /// RFC 6749 §4.1.3 with RFC 7636 §4.6: one redemption per code; a replay
    /// revokes every token issued from the code (§4.1.2, RFC 9700 §4.5).
    fn authorization_code(
        &self,
        client: &Client,
        params: &Params,
        now: Timestamp,
    ) -> Result<(Option<crate::ids::UserId>, IssuedTokens), OAuthError> {
        let digest = SecretDigest::of(params.require("code")?);
        let redirect_uri = params.get("redirect_uri")?;
        let code_verifier = params.get("code_verifier")?;
        let invalid = || OAuthError::invalid_grant("the authorization code is invalid");
        let code = self.ports.codes.find_code(&digest)?.ok_or_else(invalid)?;
        let replayed = || {
            self.ports
                .tokens
                .revoke_family(&code.family, now)
                .map(|_| OAuthError::invalid_grant(CODE_REPLAYED))
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
        };
        let (records, issued) =
            self.mint(code.family, &grantee, now, self.refresh_expiry(client, now));
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

    /// RFC 6749 §4.3: the resource owner's password, checked by the hasher.
    fn password(
        &self,
        client: &Client,
        params: &Params,
        now: Timestamp,
        address: Option<&str>,
    ) -> Result<(Option<crate::ids::UserId>, IssuedTokens), OAuthError> {
        let username = params.require("username")?;
        let password = params.require("password")?;
        let scope = Scope::resolve(params.get("scope")?, &client.metadata.scope)?;
        let user = self.guarded(&Attempt::user(username, address), || {
            let user = self.ports.users.find_user_by_name(username)?;
            let verified = self
                .ports
                .hasher
                .verify(password, user.as_ref().map(|u| &u.password_hash));
            user.filter(|_| verified)
                .ok_or_else(|| OAuthError::invalid_grant("the username or password is incorrect"))
        })?;
        let grantee = Grantee {
            client,
            user: Some(user.id),
            scope,
        };
        let (records, issued) = self.mint(
            self.new_family(),
            &grantee,
            now,
            self.refresh_expiry(client, now),
        );
        self.ports
            .tokens
            .insert_tokens(&records)
            .map_err(|e| self.vanished(client, e))?;
        Ok((Some(user.id), issued))
    }

    /// RFC 6749 §4.4: confidential clients only, no refresh token (§4.4.3).
    fn client_credentials(
        &self,
        client: &Client,
        params: &Params,
        now: Timestamp,
    ) -> Result<IssuedTokens, OAuthError> {
        if !client.is_confidential() {
            return Err(OAuthError::unauthorized_client(
                "client_credentials is for confidential clients",
            ));
        }
        let scope = Scope::resolve(params.get("scope")?, &client.metadata.scope)?;
        let grantee = Grantee {
            client,
            user: None,
            scope,
        };
        let (records, issued) = self.mint(self.new_family(), &grantee, now, None);
        self.ports
            .tokens
            .insert_tokens(&records)
            .map_err(|e| self.vanished(client, e))?;
        Ok(issued)
    }

    /// RFC 6749 §6 with rotation and reuse detection (RFC 9700 §4.14.2).
    fn refresh_token(
        &self,
        client: &Client,
        params: &Params,
        now: Timestamp,
    ) -> Result<(Option<crate::ids::UserId>, IssuedTokens), OAuthError> {
        let digest = SecretDigest::of(params.require("refresh_token")?);
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
                Ok(OAuthError::invalid_grant(REFRESH_REPLAYED))
            }
        };
        if let Some(rotated_at) = old.rotated_at {
            return Err(reused(rotated_at)?);
        }
        let scope = Scope::resolve(params.get("scope")?, &old.scope)?;
        let grantee = Grantee {
            client,
            user: old.user_id,
            scope,
        };
        // The refresh lifetime is absolute: rotation never extends it.
        let (records, issued) = self.mint(old.family, &grantee, now, Some(old.expires_at));
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
    use base64::engine::general_purpose::STANDARD;
    use base64::Engine;

    use super::*;
    use crate::client::AuthMethod;
    use crate::code::AuthorizationCode;
    use crate::error::ErrorCode;
    use crate::ids::FamilyId;
    use crate::pkce::CodeChallenge;
    use crate::ports::{ClientRepository, Clock, CodeRepository, TokenRepository};
    use crate::service::fixtures::{world, World, ALICE_PASSWORD};
    use crate::testing::t;

    const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    const REDIRECT: &str = "https://client.example.com/cb";

    fn basic(client: &Client, secret: &str) -> String {
        format!(
            "Basic {}",
            STANDARD.encode(format!("{}:{secret}", client.id))
        )
    }

    fn form(pairs: &[(&str, &str)]) -> Params {
        Params::from_pairs(pairs.iter().copied())
    }

    fn error_of(result: Result<TokenGrant, OAuthError>) -> ErrorCode {
        result.map(|_| ()).unwrap_err().code
    }

    fn issue_code(w: &World, client: &Client, code: &str) {
        w.store
            .insert_code(&AuthorizationCode {
                digest: SecretDigest::of(code),
                client_id: client.id.clone(),
                user_id: w.alice.id,
                redirect_uri: Some(REDIRECT.to_owned()),
                scope: Scope::parse("profile").unwrap(),
                challenge: CodeChallenge::parse(
                    Some(&CodeChallenge::s256_of(VERIFIER)),
                    Some("S256"),
                )
                .unwrap(),
                family: FamilyId::from_random_bytes([42; 16]),
                issued_at: t(0),
                expires_at: t(60),
                used_at: None,
            })
            .unwrap();
    }

    fn redeem(
        w: &World,
        client: &Client,
        secret: &str,
        code: &str,
    ) -> Result<TokenGrant, OAuthError> {
        w.services.token(
            Some(&basic(client, secret)),
            &form(&[
                ("grant_type", "authorization_code"),
                ("code", code),
                ("redirect_uri", REDIRECT),
                ("code_verifier", VERIFIER),
            ]),
        )
    }

    fn password_grant(w: &World, client: &Client, secret: &str) -> TokenGrant {
        w.services
            .token(
                Some(&basic(client, secret)),
                &form(&[
                    ("grant_type", "password"),
                    ("username", "alice"),
                    ("password", ALICE_PASSWORD),
                ]),
            )
            .unwrap()
    }

    /// The refresh token of a fresh password grant.
    fn password_refresh_token(w: &World, client: &Client, secret: &str) -> String {
        let grant = password_grant(w, client, secret);
        grant.tokens.refresh_token.unwrap().expose().to_owned()
    }

    fn refresh(
        w: &World,
        client: &Client,
        secret: &str,
        token: &str,
    ) -> Result<TokenGrant, OAuthError> {
        w.services.token(
            Some(&basic(client, secret)),
            &form(&[("grant_type", "refresh_token"), ("refresh_token", token)]),
        )
    }

    fn is_live(w: &World, token: &str) -> bool {
        w.store
            .find_token(&SecretDigest::of(token))
            .unwrap()
            .is_some_and(|t| t.is_active(w.clock.now()))
    }

    #[test]
    fn missing_grant_type_is_invalid_request_and_unknown_is_unsupported() {
        let w = world();
        let (client, secret) = w.client(AuthMethod::ClientSecretBasic);
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
        let w = world();
        let (client, secret) = w.client(AuthMethod::ClientSecretBasic);
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
        w.store.delete_client(&client.id).unwrap();
        w.store.insert_client(&client).unwrap();

        let result = w.services.token(
            Some(&basic(&client, &secret)),
            &form(&[("grant_type", "client_credentials")]),
        );

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

        let result = w.services.token(
            Some(&basic(&client, &secret)),
            &form(&[
                ("grant_type", "password"),
                ("username", "alice"),
                ("password", ALICE_PASSWORD),
            ]),
        );

        assert_eq!(error_of(result), ErrorCode::UnsupportedGrantType);
    }

    #[test]
    fn client_credentials_issues_the_registered_scope_and_no_refresh_token() {
        let w = world();
        let (client, secret) = w.client(AuthMethod::ClientSecretBasic);

        let grant = w
            .services
            .token(
                Some(&basic(&client, &secret)),
                &form(&[("grant_type", "client_credentials")]),
            )
            .unwrap();

        assert_eq!(grant.tokens.scope.to_string(), "profile email");
        assert!(grant.tokens.refresh_token.is_none());
        assert_eq!(grant.tokens.expires_in, 3600);
        assert!(grant.user_id.is_none());
    }

    #[test]
    fn scope_wider_than_registered_is_invalid_scope() {
        let w = world();
        let (client, secret) = w.client(AuthMethod::ClientSecretBasic);

        let result = w.services.token(
            Some(&basic(&client, &secret)),
            &form(&[
                ("grant_type", "client_credentials"),
                ("scope", "profile admin"),
            ]),
        );

        assert_eq!(error_of(result), ErrorCode::InvalidScope);
    }

    #[test]
    fn password_grant_checks_the_password() {
        let w = world();
        let (client, secret) = w.client(AuthMethod::ClientSecretBasic);
        let wrong = form(&[
            ("grant_type", "password"),
            ("username", "alice"),
            ("password", "nope"),
        ]);
        let unknown = form(&[
            ("grant_type", "password"),
            ("username", "bob"),
            ("password", "nope"),
        ]);
        let missing = form(&[("grant_type", "password"), ("username", "alice")]);

        assert_eq!(
            error_of(w.services.token(Some(&basic(&client, &secret)), &wrong)),
            ErrorCode::InvalidGrant
        );
        assert_eq!(
            error_of(w.services.token(Some(&basic(&client, &secret)), &unknown)),
            ErrorCode::InvalidGrant
        );
        assert_eq!(
            error_of(w.services.token(Some(&basic(&client, &secret)), &missing)),
            ErrorCode::InvalidRequest
        );
        let grant = password_grant(&w, &client, &secret);
        assert!(grant.tokens.refresh_token.is_some());
        assert_eq!(grant.user_id, Some(w.alice.id.to_string()));
    }

    #[test]
    fn a_correct_client_secret_is_never_refused_for_failures_it_did_not_make() {
        let w = world();
        let (client, secret) = w.client(AuthMethod::ClientSecretBasic);
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
    fn failed_passwords_are_limited() {
        let w = world();
        let (client, secret) = w.client(AuthMethod::ClientSecretBasic);
        let wrong_password = form(&[
            ("grant_type", "password"),
            ("username", "alice"),
            ("password", "nope"),
        ]);
        for _ in 0..10 {
            let error =
                w.services
                    .token_from(None, Some(&basic(&client, &secret)), &wrong_password);
            assert_eq!(error_of(error), ErrorCode::InvalidGrant);
        }
        let right = form(&[
            ("grant_type", "password"),
            ("username", "alice"),
            ("password", ALICE_PASSWORD),
        ]);
        let error = w
            .services
            .token(Some(&basic(&client, &secret)), &right)
            .map(|_| ())
            .unwrap_err();
        assert_eq!(
            (error.code, error.retry_after),
            (ErrorCode::SlowDown, Some(900))
        );
    }

    #[test]
    fn without_redirect_uri_at_authorization_only_the_registered_one_may_be_repeated() {
        let w = world();
        let (client, secret) = w.client(AuthMethod::ClientSecretBasic);
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
        let w = world();
        let (client, secret) = w.client(AuthMethod::ClientSecretBasic);
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
        let w = world();
        let (client, secret) = w.client(AuthMethod::ClientSecretBasic);
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
        assert_eq!(reuse_detected(&error), None);
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
                reuse_detected(&error),
                Some("code_reuse_detected"),
                "{extra:?}"
            );
            assert!(live(), "{extra:?} must not revoke");
        }

        let replay = redeem_public(&[("redirect_uri", REDIRECT), ("code_verifier", VERIFIER)]);
        assert_eq!(
            reuse_detected(&replay.unwrap_err()),
            Some("code_reuse_detected")
        );
        assert!(!live(), "the holder's replay with the verifier revokes");
    }

    #[test]
    fn replay_by_the_real_client_after_expiry_still_revokes() {
        let w = world();
        let (client, secret) = w.client(AuthMethod::ClientSecretBasic);
        let access = redeemed_once(&w, &client, &secret, "spent");
        w.clock.set(t(3600));

        let error = redeem(&w, &client, &secret, "spent")
            .map(|_| ())
            .unwrap_err();

        assert_eq!(reuse_detected(&error), Some("code_reuse_detected"));
        assert!(w
            .store
            .find_token(&SecretDigest::of(&access))
            .unwrap()
            .is_some_and(|t| t.revoked_at.is_some()));
    }

    #[test]
    fn code_is_bound_to_its_client_redirect_uri_verifier_and_lifetime() {
        let w = world();
        let (client, secret) = w.client(AuthMethod::ClientSecretBasic);
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
        let no_redirect = w
            .services
            .token(Some(&auth), &with(&[("code_verifier", VERIFIER)]));
        assert_eq!(error_of(no_redirect), ErrorCode::InvalidGrant);
        let other_redirect = w.services.token(
            Some(&auth),
            &with(&[
                ("redirect_uri", "https://client.example.com/cb/x"),
                ("code_verifier", VERIFIER),
            ]),
        );
        assert_eq!(error_of(other_redirect), ErrorCode::InvalidGrant);
        let no_verifier = w
            .services
            .token(Some(&auth), &with(&[("redirect_uri", REDIRECT)]));
        assert_eq!(error_of(no_verifier), ErrorCode::InvalidRequest);
        let wrong_verifier = w.services.token(
            Some(&auth),
            &with(&[
                ("redirect_uri", REDIRECT),
                ("code_verifier", &"x".repeat(43)),
            ]),
        );
        assert_eq!(error_of(wrong_verifier), ErrorCode::InvalidGrant);
        w.clock.set(t(60));
        assert_eq!(
            error_of(redeem(&w, &client, &secret, "code")),
            ErrorCode::InvalidGrant
        );
        w.clock.set(t(59));
        assert!(redeem(&w, &client, &secret, "code").is_ok());
    }

    #[test]
    fn refresh_rotates_and_the_old_token_stops_working() {
        let w = world();
        let (client, secret) = w.client(AuthMethod::ClientSecretBasic);
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
        let w = world();
        let (client, secret) = w.client(AuthMethod::ClientSecretBasic);
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
        let w = world();
        let (client, secret) = w.client(AuthMethod::ClientSecretBasic);
        let rt1 = password_refresh_token(&w, &client, &secret);
        w.clock.set(t(1));
        let second = refresh(&w, &client, &secret, &rt1).unwrap();
        let rt2 = second.tokens.refresh_token.unwrap().expose().to_owned();
        w.clock.set(t(2));
        let third = refresh(&w, &client, &secret, &rt2).unwrap();

        w.clock.set(t(3));
        let reuse = refresh(&w, &client, &secret, &rt1).map(|_| ()).unwrap_err();

        assert_eq!(reuse_detected(&reuse), Some("refresh_reuse_detected"));
        assert!(!is_live(&w, third.tokens.refresh_token.unwrap().expose()));
    }

    #[test]
    fn reuse_after_the_grace_window_revokes_the_whole_family() {
        let w = world();
        let (client, secret) = w.client(AuthMethod::ClientSecretBasic);
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
        let w = world();
        let (client, secret) = w.client(AuthMethod::ClientSecretBasic);
        let grant = w
            .services
            .token(
                Some(&basic(&client, &secret)),
                &form(&[
                    ("grant_type", "password"),
                    ("username", "alice"),
                    ("password", ALICE_PASSWORD),
                    ("scope", "profile"),
                ]),
            )
            .unwrap();
        let rt = grant.tokens.refresh_token.unwrap().expose().to_owned();
        let ask = |scope: &str| {
            w.services.token(
                Some(&basic(&client, &secret)),
                &form(&[
                    ("grant_type", "refresh_token"),
                    ("refresh_token", &rt),
                    ("scope", scope),
                ]),
            )
        };

        assert_eq!(error_of(ask("profile email")), ErrorCode::InvalidScope);
        assert_eq!(ask("profile").unwrap().tokens.scope.to_string(), "profile");
    }

    #[test]
    fn refresh_token_of_another_client_or_an_access_token_is_invalid_grant() {
        let w = world();
        let (client, secret) = w.client(AuthMethod::ClientSecretBasic);
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
        let w = world();
        let (client, secret) = w.client(AuthMethod::ClientSecretBasic);
        let rt = password_refresh_token(&w, &client, &secret);

        w.clock.set(t(30 * 24 * 3600));

        assert_eq!(
            error_of(refresh(&w, &client, &secret, &rt)),
            ErrorCode::InvalidGrant
        );
    }

    /// A hasher that runs `during` while it checks a password (bcrypt's
    /// wide window, made deterministic).
    struct HasherThen(Box<dyn Fn() + Send + Sync>);

    impl crate::ports::PasswordHasher for HasherThen {
        fn hash(
            &self,
            password: &str,
        ) -> Result<crate::user::PasswordHash, crate::error::StoreError> {
            crate::testing::PlainHasher.hash(password)
        }

        fn verify(&self, password: &str, hash: Option<&crate::user::PasswordHash>) -> bool {
            (self.0)();
            crate::testing::PlainHasher.verify(password, hash)
        }
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
    fn user_deleted_during_the_password_check_is_invalid_grant() {
        use crate::ports::UserRepository;
        let mut w = world();
        let (client, secret) = w.client(AuthMethod::ClientSecretBasic);
        let (store, alice) = (w.store.clone(), w.alice.id);
        w.services.ports.hasher = std::sync::Arc::new(HasherThen(Box::new(move || {
            store.delete_user(&alice).unwrap();
        })));
        // alice owns the client too: re-home it so only the user vanishes.
        let bob = crate::testing::sample_user("bob", "pw");
        w.store.insert_user(&bob).unwrap();
        let mut kept = client.clone();
        kept.owner = bob.id;
        w.store.delete_client(&client.id).unwrap();
        w.store.insert_client(&kept).unwrap();

        let result = w.services.token(
            Some(&basic(&client, &secret)),
            &form(&[
                ("grant_type", "password"),
                ("username", "alice"),
                ("password", ALICE_PASSWORD),
            ]),
        );

        assert_eq!(error_of(result), ErrorCode::InvalidGrant);
    }

    #[test]
    fn client_deleted_during_the_password_check_is_invalid_client() {
        let mut w = world();
        let (client, secret) = w.client(AuthMethod::ClientSecretBasic);
        let (store, id) = (w.store.clone(), client.id.clone());
        w.services.ports.hasher = std::sync::Arc::new(HasherThen(Box::new(move || {
            store.delete_client(&id).unwrap();
        })));

        let result = w.services.token(
            Some(&basic(&client, &secret)),
            &form(&[
                ("grant_type", "password"),
                ("username", "alice"),
                ("password", ALICE_PASSWORD),
            ]),
        );

        assert_eq!(error_of(result), ErrorCode::InvalidClient);
    }

    #[test]
    fn client_deleted_after_it_authenticated_is_invalid_client() {
        let mut w = world();
        let (client, secret) = w.client(AuthMethod::ClientSecretBasic);
        w.services.ports.clients = std::sync::Arc::new(DeletedAfterRead(w.store.clone()));

        let result = w.services.token(
            Some(&basic(&client, &secret)),
            &form(&[("grant_type", "client_credentials")]),
        );

        assert_eq!(error_of(result), ErrorCode::InvalidClient);
    }
}
