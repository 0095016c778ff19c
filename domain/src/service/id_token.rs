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
    // OpenID Connect Registration §2: the client's registered algorithm
    // (RS256 unless it chose another).
    client.metadata.id_token_signed_response_alg
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
            acr: (!token.authentication.methods.is_empty())
                .then(|| crate::authn::acr_of(&token.authentication.methods).to_owned()),
            session_id: token.authentication.session_id.clone(),
            user_claims: token.user_claims,
        };
        self.ports.id_tokens.sign(alg, &claims)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::{AuthMethod, GrantType, ResponseType};
    use crate::id_token::ClaimValue;
    use crate::params::Params;
    use crate::service::authorize::{AuthorizationResponse, AuthorizeError, Login};
    use crate::service::fixtures::{world, World};
    use crate::service::token::TokenGrant;
    use crate::testing::t;
    use crate::user::{DisplayName, EmailAddress};

    const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
    const REDIRECT: &str = "https://client.example.com/cb";
    const ALL_SCOPES: &str = "openid profile email offline_access";

    fn scope(value: &str) -> Scope {
        Scope::parse(value).unwrap()
    }

    fn login() -> Login {
        Login {
            auth_time: Some(t(-300)),
            sid: Some("session-1".to_owned()),
            methods: vec!["pwd".to_owned()],
        }
    }

    /// A confidential client that may ask for every OpenID scope.
    fn openid_client(w: &World) -> (Client, String) {
        let (mut client, secret) = w.client(AuthMethod::ClientSecretPost);
        client.metadata.scope = scope(ALL_SCOPES);
        w.reregister(&client);
        (client, secret)
    }

    /// A public client registered for the implicit response types.
    fn implicit_client(w: &World) -> Client {
        let (mut client, _) = w.client(AuthMethod::None);
        client.metadata.scope = scope(ALL_SCOPES);
        client.metadata.grant_types = vec![GrantType::Implicit];
        client.metadata.response_types = vec![
            ResponseType::Token,
            ResponseType::IdToken,
            ResponseType::IdTokenToken,
        ];
        w.reregister(&client);
        client
    }

    fn approve(w: &World, params: &Params) -> AuthorizationResponse {
        let request = w.services.validate_authorization(params).unwrap();
        w.services
            .approve_authorization(&request, &w.alice.id, &login())
            .unwrap()
    }

    /// A code of `client` for `scope` and `extra`, approved from [`login`].
    fn code_for(w: &World, client: &Client, scope: &str, extra: &[(&str, &str)]) -> String {
        let mut pairs = vec![
            ("response_type", "code"),
            ("client_id", client.id.as_str()),
            ("redirect_uri", REDIRECT),
            ("scope", scope),
            ("code_challenge", CHALLENGE),
            ("code_challenge_method", "S256"),
        ];
        pairs.extend_from_slice(extra);
        approve(w, &Params::from_pairs(pairs))
            .param("code")
            .unwrap()
            .to_owned()
    }

    fn redeem(w: &World, client: &Client, secret: &str, code: &str) -> TokenGrant {
        w.services
            .token(
                None,
                &Params::from_pairs([
                    ("grant_type", "authorization_code"),
                    ("code", code),
                    ("redirect_uri", REDIRECT),
                    ("code_verifier", VERIFIER),
                    ("client_id", client.id.as_str()),
                    ("client_secret", secret),
                ]),
            )
            .unwrap()
    }

    fn refresh(w: &World, client: &Client, secret: &str, token: &str) -> TokenGrant {
        w.services
            .token(
                None,
                &Params::from_pairs([
                    ("grant_type", "refresh_token"),
                    ("refresh_token", token),
                    ("client_id", client.id.as_str()),
                    ("client_secret", secret),
                ]),
            )
            .unwrap()
    }

    /// The claims the fake signer was given for `token`.
    fn claims_of(w: &World, token: &str) -> IdTokenClaims {
        w.signer
            .signed()
            .into_iter()
            .find(|(t, _)| t == token)
            .map(|(_, c)| c)
            .unwrap()
    }

    fn implicit(client: &Client, response_type: &str, extra: &[(&str, &str)]) -> Params {
        let mut pairs = vec![
            ("response_type", response_type),
            ("client_id", client.id.as_str()),
            ("scope", "openid profile email"),
            ("state", "st"),
        ];
        pairs.extend_from_slice(extra);
        Params::from_pairs(pairs)
    }

    fn redirected(w: &World, params: &Params) -> AuthorizationResponse {
        match w.services.validate_authorization(params) {
            Err(AuthorizeError::Redirect(response)) => response,
            other => panic!("expected an error redirect, got {other:?}"),
        }
    }

    #[test]
    fn the_code_flow_returns_an_id_token_with_every_claim_of_core_2() {
        let w = world();
        let (client, secret) = openid_client(&w);
        let code = code_for(&w, &client, "openid profile", &[("nonce", "n-0S6_WzA2Mj")]);
        w.clock.set(t(10));

        let grant = redeem(&w, &client, &secret, &code);

        let id_token = grant.tokens.id_token.as_deref().unwrap();
        assert!(
            id_token.ends_with(".RS256"),
            "signed with RS256: {id_token}"
        );
        let claims = claims_of(&w, id_token);
        assert_eq!(claims.issuer, "https://auth.example.com");
        assert_eq!(claims.subject, w.alice.id);
        assert_eq!(claims.audience, client.id);
        assert_eq!(claims.issued_at, t(10));
        assert_eq!(claims.expires_at, t(10 + 3600));
        assert_eq!(claims.auth_time, Some(t(-300)));
        assert_eq!(claims.nonce.as_deref(), Some("n-0S6_WzA2Mj"));
        assert_eq!(claims.session_id.as_deref(), Some("session-1"));
        assert_eq!(claims.authentication_methods, ["pwd"]);
        assert_eq!(
            claims.access_token_hash,
            Some(JwsAlgorithm::Rs256.half_hash(grant.tokens.access_token.expose()))
        );
        assert_eq!(claims.code_hash, None);
        assert!(
            claims.user_claims.is_empty(),
            "claims come from UserInfo when an access token is issued (Core §5.4)"
        );
    }

    #[test]
    fn the_nonce_is_echoed_exactly_and_only_when_sent() {
        let w = world();
        let (client, secret) = openid_client(&w);
        let odd = "  Ünïcødé nonce &=?#/+ with spaces  ";
        let with = code_for(&w, &client, "openid", &[("nonce", odd)]);
        let without = code_for(&w, &client, "openid", &[]);

        let with = redeem(&w, &client, &secret, &with).tokens.id_token.unwrap();
        let without = redeem(&w, &client, &secret, &without)
            .tokens
            .id_token
            .unwrap();

        assert_eq!(claims_of(&w, &with).nonce.as_deref(), Some(odd));
        assert_eq!(claims_of(&w, &without).nonce, None);
    }

    #[test]
    fn a_nonce_longer_than_the_bound_is_invalid_request_and_a_repeated_one_too() {
        let w = world();
        let (client, _) = openid_client(&w);
        let at_bound = "n".repeat(crate::id_token::MAX_NONCE_LEN);
        let over = "n".repeat(crate::id_token::MAX_NONCE_LEN + 1);
        let base = |extra: &[(&str, &str)]| {
            let mut pairs = vec![
                ("response_type", "code"),
                ("client_id", client.id.as_str()),
                ("scope", "openid"),
                ("code_challenge", CHALLENGE),
                ("code_challenge_method", "S256"),
                ("state", "st"),
            ];
            pairs.extend_from_slice(extra);
            Params::from_pairs(pairs)
        };

        assert!(w
            .services
            .validate_authorization(&base(&[("nonce", &at_bound)]))
            .is_ok());
        for extra in [
            vec![("nonce", over.as_str())],
            vec![("nonce", "a"), ("nonce", "b")],
        ] {
            let response = redirected(&w, &base(&extra));
            assert_eq!(response.param("error"), Some("invalid_request"));
            assert_eq!(response.param("state"), Some("st"));
        }
    }

    #[test]
    fn each_code_carries_its_own_nonce() {
        let w = world();
        let (client, secret) = openid_client(&w);
        let first = code_for(&w, &client, "openid", &[("nonce", "first")]);
        let second = code_for(&w, &client, "openid", &[("nonce", "second")]);

        let second = redeem(&w, &client, &secret, &second)
            .tokens
            .id_token
            .unwrap();
        let first = redeem(&w, &client, &secret, &first)
            .tokens
            .id_token
            .unwrap();

        assert_eq!(claims_of(&w, &first).nonce.as_deref(), Some("first"));
        assert_eq!(claims_of(&w, &second).nonce.as_deref(), Some("second"));
    }

    #[test]
    fn without_openid_there_is_no_id_token_and_the_nonce_is_not_kept() {
        let w = world();
        let (client, secret) = openid_client(&w);
        let code = code_for(&w, &client, "profile", &[("nonce", "n")]);
        let stored = crate::ports::CodeRepository::find_code(
            w.store.as_ref(),
            &crate::secret::SecretDigest::of(&code),
        )
        .unwrap()
        .unwrap();

        let grant = redeem(&w, &client, &secret, &code);

        assert_eq!(grant.tokens.id_token, None);
        assert!(grant.tokens.refresh_token.is_some(), "today's rule");
        assert!(w.signer.signed().is_empty());
        assert_eq!(stored.nonce, None);
        assert_eq!(stored.authentication, None);
    }

    #[test]
    fn auth_time_comes_from_the_login_and_is_absent_when_unknown() {
        let w = world();
        let (client, secret) = openid_client(&w);
        let request = w
            .services
            .validate_authorization(&Params::from_pairs([
                ("response_type", "code"),
                ("client_id", client.id.as_str()),
                ("scope", "openid"),
                ("code_challenge", CHALLENGE),
                ("code_challenge_method", "S256"),
            ]))
            .unwrap();
        let approve_from = |login: &Login| {
            w.services
                .approve_authorization(&request, &w.alice.id, login)
                .unwrap()
                .param("code")
                .unwrap()
                .to_owned()
        };
        let at_42 = approve_from(&Login {
            auth_time: Some(t(42)),
            sid: None,
            methods: Vec::new(),
        });
        let unknown = approve_from(&Login::default());
        w.clock.set(t(50));

        let at_42 = redeem(&w, &client, &secret, &at_42)
            .tokens
            .id_token
            .unwrap();
        let unknown = redeem(&w, &client, &secret, &unknown)
            .tokens
            .id_token
            .unwrap();

        assert_eq!(claims_of(&w, &at_42).auth_time, Some(t(42)));
        assert_eq!(claims_of(&w, &at_42).session_id, None);
        assert_eq!(claims_of(&w, &unknown).auth_time, None);
    }

    #[test]
    fn a_refresh_token_in_an_openid_request_needs_offline_access() {
        let w = world();
        let (client, secret) = openid_client(&w);
        let online = code_for(&w, &client, "openid profile", &[]);
        let offline = code_for(
            &w,
            &client,
            "openid offline_access",
            &[("prompt", "consent")],
        );
        let plain = code_for(&w, &client, "profile", &[]);

        assert!(redeem(&w, &client, &secret, &online)
            .tokens
            .refresh_token
            .is_none());
        assert!(redeem(&w, &client, &secret, &offline)
            .tokens
            .refresh_token
            .is_some());
        assert!(redeem(&w, &client, &secret, &plain)
            .tokens
            .refresh_token
            .is_some());
    }

    #[test]
    fn a_refresh_returns_a_new_id_token_with_the_original_authentication() {
        let w = world();
        let (client, secret) = openid_client(&w);
        let code = code_for(
            &w,
            &client,
            "openid offline_access",
            &[("nonce", "n"), ("prompt", "consent")],
        );
        let first = redeem(&w, &client, &secret, &code);
        let original = claims_of(&w, first.tokens.id_token.as_deref().unwrap());
        w.clock.set(t(1000));

        let refreshed = refresh(
            &w,
            &client,
            &secret,
            first.tokens.refresh_token.as_ref().unwrap().expose(),
        );

        let id_token = refreshed.tokens.id_token.as_deref().unwrap();
        let claims = claims_of(&w, id_token);
        assert_eq!(claims.auth_time, Some(t(-300)));
        assert_eq!(claims.auth_time, original.auth_time);
        assert_eq!(claims.session_id, original.session_id);
        assert_eq!(claims.authentication_methods, ["pwd"]);
        assert_eq!(claims.subject, original.subject);
        assert_eq!(claims.audience, original.audience);
        assert_eq!(claims.issuer, original.issuer);
        assert_eq!(claims.issued_at, t(1000));
        assert_eq!(claims.expires_at, t(1000 + 3600));
        // Core §12.2: SHOULD NOT have a nonce.
        assert_eq!(claims.nonce, None);
        assert_eq!(
            claims.access_token_hash,
            Some(JwsAlgorithm::Rs256.half_hash(refreshed.tokens.access_token.expose()))
        );
        // The refreshed grant still refreshes, and so on.
        w.clock.set(t(2000));
        let again = refresh(
            &w,
            &client,
            &secret,
            refreshed.tokens.refresh_token.as_ref().unwrap().expose(),
        );
        let again = claims_of(&w, again.tokens.id_token.as_deref().unwrap());
        assert_eq!(again.auth_time, Some(t(-300)));
        assert_eq!(again.issued_at, t(2000));
    }

    #[test]
    fn a_refresh_narrowed_without_openid_has_no_id_token() {
        let w = world();
        let (client, secret) = openid_client(&w);
        let code = code_for(
            &w,
            &client,
            "openid profile offline_access",
            &[("prompt", "consent")],
        );
        let first = redeem(&w, &client, &secret, &code);
        let rt = first.tokens.refresh_token.unwrap().expose().to_owned();

        let narrowed = w
            .services
            .token(
                None,
                &Params::from_pairs([
                    ("grant_type", "refresh_token"),
                    ("refresh_token", rt.as_str()),
                    ("scope", "profile"),
                    ("client_id", client.id.as_str()),
                    ("client_secret", secret.as_str()),
                ]),
            )
            .unwrap();

        assert_eq!(narrowed.tokens.id_token, None);
        assert_eq!(narrowed.tokens.scope.to_string(), "profile");
    }

    #[test]
    fn password_and_client_credentials_grants_never_return_an_id_token() {
        let w = world();
        let (client, secret) = openid_client(&w);
        let password = w.password_grant(
            client.id.as_str(),
            &secret,
            Some("openid profile offline_access"),
        );
        let client_credentials = w
            .services
            .token(
                None,
                &Params::from_pairs([
                    ("grant_type", "client_credentials"),
                    ("scope", "openid profile"),
                    ("client_id", client.id.as_str()),
                    ("client_secret", secret.as_str()),
                ]),
            )
            .unwrap();
        // Refreshing the password grant is no OpenID grant either: nobody
        // signed in through a browser.
        let refreshed = refresh(
            &w,
            &client,
            &secret,
            password.tokens.refresh_token.as_ref().unwrap().expose(),
        );

        assert_eq!(password.tokens.id_token, None);
        assert_eq!(client_credentials.tokens.id_token, None);
        assert_eq!(refreshed.tokens.id_token, None);
        assert!(w.signer.signed().is_empty());
    }

    #[test]
    fn implicit_id_token_needs_a_nonce_and_its_absence_is_an_error_in_the_fragment() {
        let w = world();
        let client = implicit_client(&w);
        for response_type in ["id_token", "id_token token", "token id_token"] {
            let response = redirected(&w, &implicit(&client, response_type, &[]));

            assert_eq!(response.param("error"), Some("invalid_request"));
            assert_eq!(response.param("state"), Some("st"));
            assert!(response.in_fragment, "{response_type}");
            assert!(response
                .location()
                .starts_with(&format!("{REDIRECT}#error=")));
        }
    }

    #[test]
    fn implicit_id_token_alone_carries_the_claims_of_the_scope_and_no_access_token() {
        let w = world();
        crate::ports::UserRepository::set_email(
            w.store.as_ref(),
            &w.alice.id,
            EmailAddress::parse("alice@example.com").ok().as_ref(),
            true,
            t(0),
        )
        .unwrap();
        crate::ports::UserRepository::set_name(
            w.store.as_ref(),
            &w.alice.id,
            DisplayName::parse("Alice").ok().as_ref(),
            t(0),
        )
        .unwrap();
        let client = implicit_client(&w);

        let response = approve(&w, &implicit(&client, "id_token", &[("nonce", "n-1")]));

        assert!(response.in_fragment);
        assert!(response
            .location()
            .starts_with(&format!("{REDIRECT}#id_token=")));
        assert_eq!(response.param("access_token"), None);
        assert_eq!(response.param("state"), Some("st"));
        let claims = claims_of(&w, response.param("id_token").unwrap());
        assert_eq!(claims.nonce.as_deref(), Some("n-1"));
        assert_eq!(claims.access_token_hash, None);
        assert_eq!(claims.auth_time, Some(t(-300)));
        assert_eq!(
            claims.user_claims,
            [
                ("name".to_owned(), ClaimValue::Text("Alice".to_owned())),
                (
                    "preferred_username".to_owned(),
                    ClaimValue::Text("alice".to_owned())
                ),
                (
                    "updated_at".to_owned(),
                    ClaimValue::Number(t(0).unix_seconds())
                ),
                (
                    "email".to_owned(),
                    ClaimValue::Text("alice@example.com".to_owned())
                ),
                ("email_verified".to_owned(), ClaimValue::Bool(true)),
            ]
        );
    }

    #[test]
    fn implicit_id_token_token_carries_at_hash_of_its_access_token() {
        let w = world();
        let client = implicit_client(&w);

        let response = approve(
            &w,
            &implicit(&client, "token id_token", &[("nonce", "n-2")]),
        );

        let access = response.param("access_token").unwrap();
        let claims = claims_of(&w, response.param("id_token").unwrap());
        assert_eq!(response.param("token_type"), Some("Bearer"));
        assert_eq!(response.param("refresh_token"), None);
        assert_eq!(
            claims.access_token_hash,
            Some(JwsAlgorithm::Rs256.half_hash(access))
        );
        assert_eq!(claims.nonce.as_deref(), Some("n-2"));
        assert!(claims.user_claims.is_empty());
    }

    #[test]
    fn implicit_token_alone_stays_plain_oauth_without_an_id_token() {
        let w = world();
        let client = implicit_client(&w);

        let response = approve(&w, &implicit(&client, "token", &[("nonce", "n")]));

        assert!(response.param("access_token").is_some());
        assert_eq!(response.param("id_token"), None);
    }

    #[test]
    fn implicit_id_token_without_openid_or_from_a_confidential_client_is_refused() {
        let w = world();
        let client = implicit_client(&w);
        let no_openid = Params::from_pairs([
            ("response_type", "id_token"),
            ("client_id", client.id.as_str()),
            ("scope", "profile"),
            ("nonce", "n"),
        ]);
        assert_eq!(
            redirected(&w, &no_openid).param("error"),
            Some("invalid_request")
        );

        let (mut confidential, _) = openid_client(&w);
        confidential.metadata.grant_types.push(GrantType::Implicit);
        confidential
            .metadata
            .response_types
            .push(ResponseType::IdToken);
        w.reregister(&confidential);
        let response = redirected(&w, &implicit(&confidential, "id_token", &[("nonce", "n")]));
        assert_eq!(response.param("error"), Some("unauthorized_client"));
        assert!(response.in_fragment);
    }

    #[test]
    fn implicit_response_types_are_refused_when_the_implicit_grant_is_off() {
        let mut w = world();
        w.services.policy.capabilities = w
            .services
            .policy
            .capabilities
            .clone()
            .without(&[GrantType::Implicit]);
        let client = implicit_client(&w);

        let response = redirected(&w, &implicit(&client, "id_token", &[("nonce", "n")]));

        assert_eq!(response.param("error"), Some("unsupported_response_type"));
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
