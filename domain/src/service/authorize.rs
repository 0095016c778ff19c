//! The authorization endpoint (RFC 6749 §3.1, §4.1.1–§4.1.2, §4.2.1–§4.2.2;
//! RFC 7636 §4.3–§4.4; RFC 9207).
//!
//! Until the client and the redirect URI are known to be valid, errors are
//! shown to the user and never redirected (§4.1.2.1, §3.1.2.4). After that,
//! errors go back to the client with `error`, `error_description`, `state`
//! and `iss`: in the query for `code`, in the fragment for the implicit
//! response types (`token`, `id_token`, `id_token token`).
//! PKCE with S256 is required for every `code` request.
//!
//! OpenID Connect (Core §3.1.2, §3.2.2): a request whose scope has `openid`
//! binds its `nonce` and the login (`auth_time`, `sid`, `amr`) to the code,
//! for the ID token of the token endpoint; `id_token` and `id_token token`
//! return the ID token here, and need a `nonce` (Core §3.2.2.1).

use crate::claims::released_claims;
use crate::client::{Client, GrantType, ResponseType};
use crate::code::AuthorizationCode;
use crate::error::{OAuthError, StoreError};
use crate::id_token::{Authentication, MAX_NONCE_LEN};
use crate::ids::{ClientId, UserId};
use crate::params::Params;
use crate::pkce::CodeChallenge;
use crate::ports::WithinQuota;
use crate::scope::Scope;
use crate::time::Timestamp;

use super::id_token::{is_openid, IdTokenFor};
use super::{Grantee, Services};

/// Parameters that may appear at most once (RFC 6749 §3.1; Core §3.1.2.1).
const SINGLE_VALUED: [&str; 8] = [
    "response_type",
    "client_id",
    "redirect_uri",
    "scope",
    "state",
    "code_challenge",
    "code_challenge_method",
    "nonce",
];

/// Longest `state` accepted, in bytes.
pub const MAX_STATE_LEN: usize = 1024;

/// A validated authorization request, ready for the user's decision.
#[derive(Debug, Clone)]
pub struct AuthorizationRequest {
    /// The client.
    pub client: Client,
    /// `code`, `token`, `id_token` or `id_token token`.
    pub response_type: ResponseType,
    /// Where the response goes.
    pub redirect_to: String,
    /// The `redirect_uri` parameter as sent, if it was (stored with a code).
    pub redirect_uri_param: Option<String>,
    /// The scope to grant.
    pub scope: Scope,
    /// The client's `state`, returned unchanged.
    pub state: Option<String>,
    /// The PKCE challenge (for `code`).
    pub challenge: Option<CodeChallenge>,
    /// The `nonce` of an OpenID request, exactly as sent (Core §3.1.2.1);
    /// `None` when absent or when the scope has no `openid`.
    pub nonce: Option<String>,
}

/// The browser login the user approved from, as the session recorded it:
/// what the ID token states about the authentication (Core §2).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Login {
    /// When the user entered their password (`auth_time`).
    pub auth_time: Option<Timestamp>,
    /// The browser session's id (`sid`).
    pub sid: Option<String>,
}

/// A redirect back to the client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthorizationResponse {
    /// The redirect URI.
    pub redirect_to: String,
    /// Whether the parameters go in the fragment (implicit) or the query.
    pub in_fragment: bool,
    /// The response parameters, in order.
    pub params: Vec<(&'static str, String)>,
}

impl AuthorizationResponse {
    /// The full `Location`: parameters appended to any query the redirect URI
    /// already has (RFC 6749 §3.1.2), or put in the fragment.
    #[must_use]
    pub fn location(&self) -> String {
        let mut encoded = url::form_urlencoded::Serializer::new(String::new());
        for (name, value) in &self.params {
            encoded.append_pair(name, value);
        }
        let encoded = encoded.finish();
        let separator = if self.in_fragment {
            '#'
        } else if self.redirect_to.contains('?') {
            '&'
        } else {
            '?'
        };
        format!("{}{separator}{encoded}", self.redirect_to)
    }

    /// The value of a parameter (for logs and tests).
    #[must_use]
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Why an authorization request cannot proceed.
#[derive(Debug)]
pub enum AuthorizeError {
    /// Show this error to the user; never redirect it: the client or the
    /// redirect URI is not known to be valid (RFC 6749 §4.1.2.1), or the
    /// request can no longer be answered.
    ToUser(OAuthError),
    /// Send this error back to the client.
    Redirect(AuthorizationResponse),
    /// This error may go back to the client, but not automatically: the
    /// client is not trusted by the operator and the visitor is not signed
    /// in, so show a page naming the target with a link the user may follow
    /// (RFC 9700 §4.11.2: an open redirector otherwise).
    Confirm(AuthorizationResponse),
}

impl From<StoreError> for AuthorizeError {
    fn from(error: StoreError) -> Self {
        match error {
            // The user or the client was deleted while the consent page was
            // open: nothing can be issued, and the redirect URI of a deleted
            // client is no longer one to send anybody to.
            StoreError::Gone => Self::ToUser(OAuthError::access_denied(
                "the account or the application no longer exists",
            )),
            other => Self::ToUser(other.into()),
        }
    }
}

impl Services {
    /// Validates an authorization request.
    ///
    /// # Errors
    /// An [`AuthorizeError`]: a page before the client and redirect URI are
    /// trusted, a redirect after.
    pub fn validate_authorization(
        &self,
        params: &Params,
    ) -> Result<AuthorizationRequest, AuthorizeError> {
        self.validate_authorization_for(params, true)
    }

    /// Validates an authorization request from a visitor who is signed in
    /// or not: error redirects for a client the operator does not trust
    /// become [`AuthorizeError::Confirm`] when nobody is signed in (RFC 9700
    /// §4.11.2); signed-in users keep the RFC 6749 §4.1.2.1 redirect.
    ///
    /// # Errors
    /// As [`Self::validate_authorization`], or `Confirm`.
    pub fn validate_authorization_for(
        &self,
        params: &Params,
        signed_in: bool,
    ) -> Result<AuthorizationRequest, AuthorizeError> {
        let to_user = AuthorizeError::ToUser;
        for name in ["client_id", "redirect_uri"] {
            if params.first_repeated(&[name]).is_some() {
                return Err(to_user(OAuthError::repeated(name)));
            }
        }
        let client = match params
            .get("client_id")
            .ok()
            .flatten()
            .and_then(ClientId::parse)
        {
            Some(id) => self.ports.clients.find_client(&id)?,
            None => None,
        }
        .ok_or_else(|| to_user(OAuthError::invalid_client("the client is unknown")))?;
        let redirect_uri_param = params.get("redirect_uri").ok().flatten().map(str::to_owned);
        let redirect_to = match (
            &redirect_uri_param,
            client.metadata.redirect_uris.as_slice(),
        ) {
            (Some(uri), registered) if registered.iter().any(|r| r.matches(uri)) => uri.clone(),
            (Some(_), _) => {
                return Err(to_user(OAuthError::invalid_request(
                    "the redirect_uri is not registered for this client",
                )))
            }
            (None, [only]) => only.as_str().to_owned(),
            (None, _) => {
                return Err(to_user(OAuthError::invalid_request(
                    "redirect_uri is required: the client has several or none registered",
                )))
            }
        };

        // From here on the redirect URI is trusted: errors go to the client.
        let raw_response_type = params.get("response_type").ok().flatten();
        let in_fragment = raw_response_type
            .and_then(ResponseType::parse)
            .is_some_and(ResponseType::in_fragment);
        let state = params
            .get("state")
            .ok()
            .flatten()
            .filter(|s| s.len() <= MAX_STATE_LEN)
            .map(str::to_owned);
        let automatic = signed_in || client.trusted;
        let fail = |error: OAuthError| {
            let response = self.error_response(&redirect_to, in_fragment, &error, state.as_deref());
            if automatic {
                AuthorizeError::Redirect(response)
            } else {
                AuthorizeError::Confirm(response)
            }
        };
        if let Some(name) = params.first_repeated(&SINGLE_VALUED) {
            return Err(fail(OAuthError::repeated(name)));
        }
        if params
            .get("state")
            .ok()
            .flatten()
            .is_some_and(|s| s.len() > MAX_STATE_LEN)
        {
            return Err(fail(OAuthError::invalid_request("state is too long")));
        }
        let response_type = match raw_response_type {
            None => return Err(fail(OAuthError::missing("response_type"))),
            Some(raw) => ResponseType::parse(raw)
                .filter(|r| self.policy.capabilities.response_types.contains(r))
                .ok_or_else(|| {
                    fail(OAuthError::unsupported_response_type(
                        "the response type is not supported",
                    ))
                })?,
        };
        let grant = response_type.grant_type();
        if !client.metadata.allows_response_type(response_type)
            || !client.metadata.allows_grant(grant)
        {
            return Err(fail(OAuthError::unauthorized_client(
                "the client is not registered for this response type",
            )));
        }
        if grant == GrantType::Implicit && client.is_confidential() {
            return Err(fail(OAuthError::unauthorized_client(
                "the implicit flow is for public clients",
            )));
        }
        let scope = Scope::resolve(params.get("scope").ok().flatten(), &client.metadata.scope)
            .map_err(fail)?;
        let challenge = match response_type {
            ResponseType::Code => Some(
                CodeChallenge::parse(
                    params.get("code_challenge").ok().flatten(),
                    params.get("code_challenge_method").ok().flatten(),
                )
                .map_err(fail)?,
            ),
            ResponseType::Token | ResponseType::IdToken | ResponseType::IdTokenToken => None,
        };
        let nonce = params.get("nonce").ok().flatten();
        if nonce.is_some_and(|n| n.len() > MAX_NONCE_LEN) {
            return Err(fail(OAuthError::invalid_request("nonce is too long")));
        }
        if response_type.issues_id_token() {
            if !is_openid(&scope) {
                return Err(fail(OAuthError::invalid_request(
                    "the response types id_token and id_token token need the openid scope",
                )));
            }
            // Core §3.2.2.1: REQUIRED, to bind the ID token to the client's
            // session and stop replays.
            if nonce.is_none() {
                return Err(fail(OAuthError::invalid_request(
                    "nonce is required for the response types id_token and id_token token",
                )));
            }
        }
        // Outside OpenID the parameter means nothing and is not kept.
        let nonce = nonce.filter(|_| is_openid(&scope)).map(str::to_owned);
        Ok(AuthorizationRequest {
            client,
            response_type,
            redirect_to,
            redirect_uri_param,
            scope,
            state,
            challenge,
            nonce,
        })
    }

    /// The user approved from `login`: issue a code (or, for the implicit
    /// response types, an access token, an ID token or both).
    ///
    /// # Errors
    /// A store or signing failure, shown as a page.
    pub fn approve_authorization(
        &self,
        request: &AuthorizationRequest,
        user: &UserId,
        login: &Login,
    ) -> Result<AuthorizationResponse, AuthorizeError> {
        let now = self.ports.clock.now();
        let authentication = is_openid(&request.scope).then(|| Authentication {
            auth_time: login.auth_time,
            session_id: login.sid.clone(),
            methods: vec![Authentication::PASSWORD.to_owned()],
        });
        let signed_in = authentication.clone().unwrap_or_default();
        let mut params = Vec::new();
        match (&request.response_type, &request.challenge) {
            (ResponseType::Code, Some(challenge)) => {
                let code = self.ports.random.secret();
                let stored = self.ports.codes.insert_code_within_quota(
                    &AuthorizationCode {
                        digest: code.digest(),
                        client_id: request.client.id.clone(),
                        user_id: *user,
                        redirect_uri: request.redirect_uri_param.clone(),
                        scope: request.scope.clone(),
                        challenge: challenge.clone(),
                        family: self.new_family(),
                        issued_at: now,
                        expires_at: now.plus(self.policy.lifetimes.code),
                        used_at: None,
                        nonce: request.nonce.clone(),
                        authentication,
                    },
                    self.policy.quotas.pending_codes_per_grant,
                )?;
                if stored == WithinQuota::QuotaReached {
                    // RFC 6749 §4.1.2.1: the user did approve, so not
                    // `access_denied`; the condition ends by itself once
                    // codes are redeemed or expire (CODE_TTL), which is
                    // what `temporarily_unavailable` tells the client.
                    return Err(AuthorizeError::Redirect(self.error_response(
                        &request.redirect_to,
                        false,
                        &OAuthError::temporarily_unavailable(
                            "too many unused authorization codes for this client; \
                             redeem them or try again in a minute",
                        ),
                        request.state.as_deref(),
                    )));
                }
                params.push(("code", code.expose().to_owned()));
            }
            (ResponseType::Code, None) => {
                return Err(AuthorizeError::ToUser(OAuthError::invalid_request(
                    "code_challenge is required",
                )))
            }
            (ResponseType::Token | ResponseType::IdTokenToken, _) => {
                let grantee = Grantee {
                    client: &request.client,
                    user: Some(*user),
                    scope: request.scope.clone(),
                    authentication: authentication.clone(),
                };
                let (records, issued) = self.mint(self.new_family(), &grantee, now, None);
                // Signed before anything is stored: a signing failure
                // leaves no token behind.
                let id_token = if request.response_type.issues_id_token() {
                    Some(self.sign_id_token(
                        IdTokenFor {
                            client: &request.client,
                            user: *user,
                            authentication: &signed_in,
                            nonce: request.nonce.as_deref(),
                            access_token: Some(issued.access_token.expose()),
                            user_claims: Vec::new(),
                        },
                        now,
                    )?)
                } else {
                    None
                };
                self.ports.tokens.insert_tokens(&records)?;
                params.push(("access_token", issued.access_token.expose().to_owned()));
                params.push(("token_type", "Bearer".to_owned()));
                params.push(("expires_in", issued.expires_in.to_string()));
                params.push(("scope", issued.scope.to_string()));
                if let Some(id_token) = id_token {
                    params.push(("id_token", id_token));
                }
            }
            (ResponseType::IdToken, _) => {
                // Core §5.4: no access token, so the claims of the scope go
                // in the ID token itself.
                let found = self.ports.users.find_user(user)?.ok_or(StoreError::Gone)?;
                let id_token = self.sign_id_token(
                    IdTokenFor {
                        client: &request.client,
                        user: *user,
                        authentication: &signed_in,
                        nonce: request.nonce.as_deref(),
                        access_token: None,
                        user_claims: released_claims(&found, &request.scope),
                    },
                    now,
                )?;
                params.push(("id_token", id_token));
            }
        }
        if let Some(state) = &request.state {
            params.push(("state", state.clone()));
        }
        params.push(("iss", self.policy.issuer.clone()));
        Ok(AuthorizationResponse {
            redirect_to: request.redirect_to.clone(),
            in_fragment: request.response_type.in_fragment(),
            params,
        })
    }

    /// The user denied: `access_denied` back to the client.
    #[must_use]
    pub fn deny_authorization(&self, request: &AuthorizationRequest) -> AuthorizationResponse {
        self.error_response(
            &request.redirect_to,
            request.response_type.in_fragment(),
            &OAuthError::access_denied("the resource owner denied the request"),
            request.state.as_deref(),
        )
    }

    fn error_response(
        &self,
        redirect_to: &str,
        in_fragment: bool,
        error: &OAuthError,
        state: Option<&str>,
    ) -> AuthorizationResponse {
        let mut params = vec![
            ("error", error.code.as_str().to_owned()),
            ("error_description", error.description.to_string()),
        ];
        if let Some(state) = state {
            params.push(("state", state.to_owned()));
        }
        params.push(("iss", self.policy.issuer.clone()));
        AuthorizationResponse {
            redirect_to: redirect_to.to_owned(),
            in_fragment,
            params,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::AuthMethod;
    use crate::error::ErrorCode;
    use crate::ports::ClientRepository;
    use crate::redirect_uri::RedirectUri;
    use crate::service::fixtures::{world, World};

    const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
    const REDIRECT: &str = "https://client.example.com/cb";

    fn code_request(client: &Client, extra: &[(&str, &str)]) -> Params {
        let mut pairs = vec![
            ("response_type", "code"),
            ("client_id", client.id.as_str()),
            ("redirect_uri", REDIRECT),
            ("code_challenge", CHALLENGE),
            ("code_challenge_method", "S256"),
            ("state", "st-é &=/?x"),
        ];
        pairs.extend_from_slice(extra);
        Params::from_pairs(pairs)
    }

    fn without(params: &Params, name: &str) -> Params {
        Params::from_pairs(params.pairs().iter().filter(|(n, _)| n != name).cloned())
    }

    /// `params` with `name` set to `value` alone.
    fn replaced(params: &Params, name: &str, value: &str) -> Params {
        Params::from_pairs(
            without(params, name)
                .pairs()
                .iter()
                .cloned()
                .chain([(name.to_owned(), value.to_owned())]),
        )
    }

    /// A client and its code request, validated as the user sees it
    /// before approving.
    fn validated_code_request(w: &World) -> (Client, AuthorizationRequest) {
        let (client, _) = w.client(AuthMethod::ClientSecretBasic);
        let request = w
            .services
            .validate_authorization(&code_request(&client, &[]))
            .unwrap();
        (client, request)
    }

    fn redirected_error(w: &World, params: &Params) -> (ErrorCode, AuthorizationResponse) {
        match w.services.validate_authorization(params) {
            Err(AuthorizeError::Redirect(response)) => {
                let code = response.param("error").unwrap().to_owned();
                let code = [
                    ErrorCode::InvalidRequest,
                    ErrorCode::UnauthorizedClient,
                    ErrorCode::UnsupportedResponseType,
                    ErrorCode::InvalidScope,
                ]
                .into_iter()
                .find(|c| c.as_str() == code)
                .unwrap();
                (code, response)
            }
            other => panic!("expected a redirect, got {other:?}"),
        }
    }

    fn page_error(w: &World, params: &Params) -> ErrorCode {
        match w.services.validate_authorization(params) {
            Err(AuthorizeError::ToUser(error)) => error.code,
            other => panic!("expected a page, got {other:?}"),
        }
    }

    #[test]
    fn approval_issues_a_code_with_state_and_iss() {
        let w = world();
        let (_, request) = validated_code_request(&w);

        let response = w
            .services
            .approve_authorization(&request, &w.alice.id, &Login::default())
            .unwrap();

        assert!(response.param("code").is_some_and(|c| c.len() >= 43));
        assert_eq!(response.param("state"), Some("st-é &=/?x"));
        assert_eq!(response.param("iss"), Some("https://auth.example.com"));
        assert!(response
            .location()
            .starts_with("https://client.example.com/cb?code="));
    }

    #[test]
    fn unknown_client_or_unregistered_redirect_uri_is_a_page_never_a_redirect() {
        let w = world();
        let (client, _) = w.client(AuthMethod::ClientSecretBasic);
        let params = code_request(&client, &[]);

        let unknown = replaced(&params, "client_id", "nope");
        assert_eq!(page_error(&w, &unknown), ErrorCode::InvalidClient);
        assert_eq!(
            page_error(&w, &without(&params, "client_id")),
            ErrorCode::InvalidClient
        );
        for variant in [
            "https://client.example.com/cb/",
            "https://evil.example/cb",
            "//client.example.com/cb",
        ] {
            let bad = replaced(&params, "redirect_uri", variant);
            assert_eq!(page_error(&w, &bad), ErrorCode::InvalidRequest, "{variant}");
        }
        assert_eq!(
            page_error(&w, &code_request(&client, &[("redirect_uri", REDIRECT)])),
            ErrorCode::InvalidRequest
        );
    }

    #[test]
    fn several_registered_uris_require_the_parameter() {
        let w = world();
        let (mut client, _) = w.client(AuthMethod::ClientSecretBasic);
        client
            .metadata
            .redirect_uris
            .push(RedirectUri::parse("https://client.example.com/other").unwrap());
        w.reregister(&client);

        let params = without(&code_request(&client, &[]), "redirect_uri");

        assert_eq!(page_error(&w, &params), ErrorCode::InvalidRequest);
    }

    #[test]
    fn pkce_is_required_with_s256() {
        let w = world();
        let (client, _) = w.client(AuthMethod::None);
        let params = code_request(&client, &[]);

        assert_eq!(
            redirected_error(&w, &without(&params, "code_challenge")).0,
            ErrorCode::InvalidRequest
        );
        assert_eq!(
            redirected_error(&w, &without(&params, "code_challenge_method")).0,
            ErrorCode::InvalidRequest
        );
        let plain = replaced(&params, "code_challenge_method", "plain");
        let (code, response) = redirected_error(&w, &plain);
        assert_eq!(code, ErrorCode::InvalidRequest);
        assert_eq!(response.param("state"), Some("st-é &=/?x"));
    }

    #[test]
    fn response_type_rules() {
        let w = world();
        let (client, _) = w.client(AuthMethod::ClientSecretBasic);
        let params = without(&code_request(&client, &[]), "response_type");

        let with_type = |t: &str| replaced(&params, "response_type", t);
        assert_eq!(redirected_error(&w, &params).0, ErrorCode::InvalidRequest);
        assert_eq!(
            redirected_error(&w, &with_type("bogus")).0,
            ErrorCode::UnsupportedResponseType
        );
        let (code, response) = redirected_error(&w, &with_type("token"));
        assert_eq!(code, ErrorCode::UnauthorizedClient);
        assert!(response.in_fragment);
    }

    #[test]
    fn repeated_parameters_and_wide_scopes_are_refused() {
        let w = world();
        let (client, _) = w.client(AuthMethod::ClientSecretBasic);

        assert_eq!(
            redirected_error(
                &w,
                &code_request(&client, &[("scope", "profile"), ("scope", "email")])
            )
            .0,
            ErrorCode::InvalidRequest
        );
        assert_eq!(
            redirected_error(&w, &code_request(&client, &[("scope", "profile admin")])).0,
            ErrorCode::InvalidScope
        );
        assert_eq!(
            page_error(
                &w,
                &code_request(&client, &[("client_id", client.id.as_str())])
            ),
            ErrorCode::InvalidRequest
        );
    }

    #[test]
    fn denial_is_access_denied_with_state() {
        let w = world();
        let (_, request) = validated_code_request(&w);

        let response = w.services.deny_authorization(&request);

        assert_eq!(response.param("error"), Some("access_denied"));
        assert_eq!(response.param("state"), Some("st-é &=/?x"));
        assert!(response.param("code").is_none());
    }

    #[test]
    fn implicit_flow_puts_the_token_in_the_fragment_without_refresh_token() {
        let w = world();
        let (mut client, _) = w.client(AuthMethod::None);
        client.metadata.grant_types = vec![GrantType::Implicit];
        client.metadata.response_types = vec![ResponseType::Token];
        w.reregister(&client);
        let params = Params::from_pairs([
            ("response_type", "token"),
            ("client_id", client.id.as_str()),
            ("state", "s"),
        ]);

        let request = w.services.validate_authorization(&params).unwrap();
        let response = w
            .services
            .approve_authorization(&request, &w.alice.id, &Login::default())
            .unwrap();

        assert!(response.in_fragment);
        assert!(response
            .location()
            .starts_with("https://client.example.com/cb#access_token="));
        assert!(response.param("refresh_token").is_none());
        assert_eq!(response.param("token_type"), Some("Bearer"));
    }

    #[test]
    fn approvals_past_the_pending_code_quota_are_temporarily_unavailable() {
        let mut w = world();
        w.services.policy.quotas.pending_codes_per_grant = 3;
        let (_, request) = validated_code_request(&w);
        for _ in 0..3 {
            w.services
                .approve_authorization(&request, &w.alice.id, &Login::default())
                .unwrap();
        }

        let fourth = w
            .services
            .approve_authorization(&request, &w.alice.id, &Login::default());

        let Err(AuthorizeError::Redirect(response)) = fourth else {
            panic!("expected an error redirect, got {fourth:?}");
        };
        assert_eq!(response.param("error"), Some("temporarily_unavailable"));
        assert_eq!(response.param("state"), Some("st-é &=/?x"));
        assert!(response.param("code").is_none());
        // Expired codes are no longer pending.
        w.clock.set(crate::testing::t(61));
        assert!(w
            .services
            .approve_authorization(&request, &w.alice.id, &Login::default())
            .is_ok());
    }

    #[test]
    fn approval_after_the_user_or_client_was_deleted_is_access_denied_on_a_page() {
        use crate::ports::UserRepository;
        for delete_client in [false, true] {
            let w = world();
            let (client, request) = validated_code_request(&w);
            if delete_client {
                w.store.delete_client(&client.id).unwrap();
            } else {
                w.store.delete_user(&w.alice.id).unwrap();
            }

            match w
                .services
                .approve_authorization(&request, &w.alice.id, &Login::default())
            {
                Err(AuthorizeError::ToUser(error)) => {
                    assert_eq!(error.code, ErrorCode::AccessDenied, "{delete_client}");
                }
                other => panic!("expected an access_denied page, got {other:?}"),
            }
        }
    }

    #[test]
    fn errors_for_untrusted_clients_and_anonymous_visitors_are_confirmed_not_redirected() {
        let w = world();
        let (client, _) = w.client(AuthMethod::ClientSecretBasic);
        let bad = Params::from_pairs([("client_id", client.id.as_str()), ("state", "s")]);

        let anonymous = w.services.validate_authorization_for(&bad, false);
        let signed_in = w.services.validate_authorization_for(&bad, true);
        w.store.set_client_trusted(&client.id, true).unwrap();
        let trusted = w.services.validate_authorization_for(&bad, false);

        match anonymous {
            Err(AuthorizeError::Confirm(response)) => {
                assert_eq!(response.param("error"), Some("invalid_request"));
                assert!(response.location().starts_with(REDIRECT));
            }
            other => panic!("expected Confirm, got {other:?}"),
        }
        assert!(matches!(signed_in, Err(AuthorizeError::Redirect(_))));
        assert!(matches!(trusted, Err(AuthorizeError::Redirect(_))));
    }
}
