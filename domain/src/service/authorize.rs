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
//!
//! OpenID Connect Core 1.0 §3.1.2.1–§3.1.2.6 adds `prompt`, `max_age`,
//! `login_hint` and `id_token_hint` (read into [`AuthorizationRequest`]),
//! and the rules of [`Services::next_step`]: when the user must log in
//! (again), when consent must be asked, and what `prompt=none` answers
//! instead. `display`, `ui_locales`, `claims_locales` and `acr_values` are
//! accepted and not acted on (all OPTIONAL for the server); `request` and
//! `request_uri` are refused (§6.1, §6.2: Discovery advertises
//! `request_parameter_supported: false`); any other unknown parameter is
//! ignored (RFC 6749 §3.1).

use crate::claims::released_claims;
use crate::client::{Client, GrantType, ResponseType};
use crate::code::AuthorizationCode;
use crate::error::{OAuthError, StoreError};
use crate::id_token::{Authentication, IdTokenClaims, MAX_NONCE_LEN};
use crate::ids::{ClientId, UserId};
use crate::params::Params;
use crate::pkce::CodeChallenge;
use crate::ports::{Consent, WithinQuota};
use crate::scope::Scope;
use crate::time::Timestamp;

use super::id_token::{is_openid, IdTokenFor};
use super::{Grantee, Services};

/// Parameters that may appear at most once (RFC 6749 §3.1; the OpenID
/// Connect ones of Core §3.1.2.1 and §6 too).
const SINGLE_VALUED: [&str; 18] = [
    "response_type",
    "client_id",
    "redirect_uri",
    "scope",
    "state",
    "code_challenge",
    "code_challenge_method",
    "nonce",
    "prompt",
    "max_age",
    "login_hint",
    "id_token_hint",
    "display",
    "ui_locales",
    "claims_locales",
    "acr_values",
    "request",
    "request_uri",
];

/// Longest `login_hint` used, in bytes; a longer hint is ignored (it is
/// only a hint, Core §3.1.2.1).
pub const MAX_LOGIN_HINT_LEN: usize = 256;

/// The `prompt` parameter (Core §3.1.2.1): a set of `none`, `login`,
/// `consent` and `select_account`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Prompt {
    /// `none`: never show a page; answer an error instead.
    pub none: bool,
    /// `login`: ask for the password even when signed in.
    pub login: bool,
    /// `consent`: ask for consent even when remembered.
    pub consent: bool,
    /// `select_account`: this server has one account per browser session,
    /// so the login page is shown with the signed-in user's name filled in,
    /// where the user may keep it or sign in as someone else (as `login`).
    pub select_account: bool,
}

impl Prompt {
    /// Parses `prompt`.
    ///
    /// # Errors
    /// `invalid_request` for a value outside the four of Core §3.1.2.1, or
    /// `none` with any other value (Core §3.1.2.1: "If this parameter
    /// contains none with any other value, an error is returned").
    pub fn parse(value: Option<&str>) -> Result<Self, OAuthError> {
        let mut prompt = Self::default();
        for token in value.unwrap_or("").split(' ').filter(|t| !t.is_empty()) {
            match token {
                "none" => prompt.none = true,
                "login" => prompt.login = true,
                "consent" => prompt.consent = true,
                "select_account" => prompt.select_account = true,
                _ => {
                    return Err(OAuthError::invalid_request(
                        "prompt has an unsupported value",
                    ))
                }
            }
        }
        if prompt.none && (prompt.login || prompt.consent || prompt.select_account) {
            return Err(OAuthError::invalid_request(
                "prompt=none cannot be combined with another value",
            ));
        }
        Ok(prompt)
    }
}

/// Parses `max_age`: a non-negative number of seconds (Core §3.1.2.1).
///
/// # Errors
/// `invalid_request` for anything but decimal digits, or a number too
/// large.
pub fn parse_max_age(value: Option<&str>) -> Result<Option<i64>, OAuthError> {
    let Some(value) = value else {
        return Ok(None);
    };
    if !value.bytes().all(|b| b.is_ascii_digit()) {
        return Err(OAuthError::invalid_request(
            "max_age must be a non-negative integer",
        ));
    }
    value
        .parse::<i64>()
        .map(Some)
        .map_err(|_| OAuthError::invalid_request("max_age is too large"))
}

/// The scope that asks for a refresh token usable without the user
/// (Core §11).
pub const OFFLINE_ACCESS: &str = "offline_access";

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
    /// `prompt` (Core §3.1.2.1).
    pub prompt: Prompt,
    /// `max_age` in seconds (Core §3.1.2.1).
    pub max_age: Option<i64>,
    /// `login_hint`, to pre-fill the user name on the login page.
    pub login_hint: Option<String>,
    /// The claims of `id_token_hint`, verified: an ID token of ours, for
    /// this client (expired or not).
    pub id_token_hint: Option<IdTokenClaims>,
}

impl AuthorizationRequest {
    /// The `max_age` that applies: the request's, else the client's
    /// registered `default_max_age` (Core §3.1.2.1: `max_age` overrides
    /// it; Registration §2).
    #[must_use]
    pub fn effective_max_age(&self) -> Option<i64> {
        self.max_age.or(self
            .client
            .metadata
            .default_max_age
            .map(crate::time::Lifetime::seconds))
    }
}

/// What the browser session tells the rules about the visitor.
#[derive(Debug, Clone, Copy)]
pub struct BrowserSession<'a> {
    /// The signed-in user, if any.
    pub user: Option<&'a UserId>,
    /// When that user entered their password (`None`: unknown, too old
    /// for any `max_age`).
    pub auth_time: Option<Timestamp>,
    /// The user has just entered their password on the login page this
    /// very request sent them to: the login it asked for is done.
    pub fresh_login: bool,
}

/// What the authorization endpoint does next with a valid request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NextStep {
    /// Show the login page. `again`: a user is signed in but must enter a
    /// password anew (`prompt=login`, `select_account`, `max_age`, or an
    /// `id_token_hint` for another user).
    LogIn {
        /// Whether a user is already signed in.
        again: bool,
    },
    /// Show the consent page.
    Consent,
    /// Consent is remembered for every requested scope: issue now.
    Issue,
}

/// The browser login the user approved from, as the session recorded it:
/// what the ID token states about the authentication (Core §2).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Login {
    /// When the user entered their password (`auth_time`).
    pub auth_time: Option<Timestamp>,
    /// The browser session's id (`sid`).
    pub sid: Option<String>,
    /// How the user signed in (`amr` values, [`crate::authn`]).
    pub methods: Vec<String>,
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
        // Core §6.1, §6.2: request objects are not supported.
        if params.get("request").ok().flatten().is_some() {
            return Err(fail(OAuthError::request_not_supported(
                "request objects are not supported",
            )));
        }
        if params.get("request_uri").ok().flatten().is_some() {
            return Err(fail(OAuthError::request_uri_not_supported(
                "request_uri is not supported",
            )));
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
        let mut scope = Scope::resolve(params.get("scope").ok().flatten(), &client.metadata.scope)
            .map_err(fail)?;
        let prompt = Prompt::parse(params.get("prompt").ok().flatten()).map_err(fail)?;
        let max_age = parse_max_age(params.get("max_age").ok().flatten()).map_err(fail)?;
        // Core §11: offline_access is granted only through the consent page
        // and with a code ("MUST ensure that the prompt parameter contains
        // consent"; ignored for implicit responses, which get no refresh
        // token); otherwise it is dropped from the request, as
        // node-oidc-provider does, rather than refused.
        if !(prompt.consent && response_type == ResponseType::Code) {
            scope.remove(OFFLINE_ACCESS);
        }
        let login_hint = params
            .get("login_hint")
            .ok()
            .flatten()
            .filter(|h| h.len() <= MAX_LOGIN_HINT_LEN)
            .map(str::to_owned);
        let id_token_hint = match params.get("id_token_hint").ok().flatten() {
            Some(raw) => Some(self.verified_hint(raw, &client).map_err(fail)?),
            None => None,
        };
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
            prompt,
            max_age,
            login_hint,
            id_token_hint,
        })
    }

    /// The claims of an `id_token_hint` (Core §3.1.2.1): an ID token this
    /// server signed, expired or not, issued by us (`iss`) to this client
    /// (`aud`: the hint is "about the End-User's current or past
    /// authenticated session with the Client"; node-oidc-provider checks the
    /// audience too), so that one client cannot replay another's tokens.
    fn verified_hint(&self, raw: &str, client: &Client) -> Result<IdTokenClaims, OAuthError> {
        let invalid = || OAuthError::invalid_request("id_token_hint is not a valid ID token");
        let claims = self.ports.id_tokens.verify_own(raw).ok_or_else(invalid)?;
        if claims.issuer != self.policy.issuer || claims.audience != client.id {
            return Err(invalid());
        }
        Ok(claims)
    }

    /// What happens next with a valid request, for this browser session
    /// (Core §3.1.2.3, §3.1.2.4): log in, consent, or issue; with
    /// `prompt=none`, an error instead of any page (Core §3.1.2.6).
    ///
    /// # Errors
    /// `login_required`, `consent_required` for `prompt=none`;
    /// `login_required` when the user who just logged in is not the one of
    /// `id_token_hint`; a store failure as a page. An untrusted client's
    /// error for a visitor not signed in is [`AuthorizeError::Confirm`].
    pub fn next_step(
        &self,
        request: &AuthorizationRequest,
        session: BrowserSession<'_>,
    ) -> Result<NextStep, AuthorizeError> {
        let refuse = |error: OAuthError| {
            let response = self.error_response(
                &request.redirect_to,
                request.response_type.in_fragment(),
                &error,
                request.state.as_deref(),
            );
            if session.user.is_some() || request.client.trusted {
                AuthorizeError::Redirect(response)
            } else {
                AuthorizeError::Confirm(response)
            }
        };
        let hinted = request.id_token_hint.as_ref().map(|c| c.subject);
        let Some(user) = session.user else {
            return if request.prompt.none {
                Err(refuse(OAuthError::login_required(
                    "the user is not signed in",
                )))
            } else {
                Ok(NextStep::LogIn { again: false })
            };
        };
        let hint_mismatch = hinted.is_some_and(|sub| sub != *user);
        if session.fresh_login {
            // Core §3.1.2.1 id_token_hint: "If the End-User identified by
            // the ID Token is [not] logged in by the request, [the server]
            // SHOULD return an error, such as login_required".
            if hint_mismatch {
                return Err(refuse(OAuthError::login_required(
                    "the signed-in user is not the user of id_token_hint",
                )));
            }
        } else if request.prompt.login
            || request.prompt.select_account
            || self.too_old(session.auth_time, request.effective_max_age())
            // Registration §2 require_auth_time: a login of unknown time
            // cannot be stated in the ID token, so it is made anew.
            || (request.client.metadata.require_auth_time && session.auth_time.is_none())
            || hint_mismatch
        {
            return if request.prompt.none {
                Err(refuse(OAuthError::login_required(if hint_mismatch {
                    "the signed-in user is not the user of id_token_hint"
                } else {
                    "the user must log in again"
                })))
            } else {
                Ok(NextStep::LogIn { again: true })
            };
        }
        if request.prompt.consent
            || request.scope.contains(OFFLINE_ACCESS)
            || !self.consent_covers(user, request)?
        {
            return if request.prompt.none {
                Err(refuse(OAuthError::consent_required(
                    "the user has not approved this request",
                )))
            } else {
                Ok(NextStep::Consent)
            };
        }
        Ok(NextStep::Issue)
    }

    /// Whether a login at `auth_time` is older than `max_age` allows (Core
    /// §3.1.2.1; `max_age=0` is `prompt=login`; an unknown time is too old).
    fn too_old(&self, auth_time: Option<Timestamp>, max_age: Option<i64>) -> bool {
        match (max_age, auth_time) {
            (None, _) => false,
            (Some(0), _) | (Some(_), None) => true,
            (Some(max_age), Some(at)) => at.seconds_until(self.ports.clock.now()) > max_age,
        }
    }

    /// Whether `user` already approved every scope of `request` for its
    /// client, and the client is one whose repeated requests may be
    /// approved without the user: a client that authenticates, one the
    /// operator trusts, or one whose redirect URI is `https` (RFC 6749
    /// §10.2: a public client on a loopback or private-use redirect can be
    /// impersonated by any local program, so it is always asked).
    fn consent_covers(
        &self,
        user: &UserId,
        request: &AuthorizationRequest,
    ) -> Result<bool, StoreError> {
        let client = &request.client;
        if !(client.is_confidential()
            || client.trusted
            || request.redirect_to.starts_with("https://"))
        {
            return Ok(false);
        }
        Ok(self
            .ports
            .consents
            .find_consent(user, &request.client.id)?
            .is_some_and(|c| request.scope.is_subset_of(&c.scope)))
    }

    /// Remembers that `user` approved `request`'s scopes for its client, on
    /// top of what they approved before (Core §3.1.2.4).
    ///
    /// # Errors
    /// `access_denied` on a page when the user or the client is gone; a
    /// store failure.
    pub fn remember_consent(
        &self,
        request: &AuthorizationRequest,
        user: &UserId,
    ) -> Result<(), AuthorizeError> {
        let now = self.ports.clock.now();
        let consent = match self.ports.consents.find_consent(user, &request.client.id)? {
            Some(mut consent) => {
                for token in request.scope.tokens() {
                    consent.scope.insert(token);
                }
                consent
            }
            None => Consent {
                user_id: *user,
                client_id: request.client.id.clone(),
                scope: request.scope.clone(),
                granted_at: now,
            },
        };
        self.ports.consents.save_consent(&consent)?;
        Ok(())
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
            // A session from before methods were recorded: passwords were
            // then the only way in.
            methods: if login.methods.is_empty() {
                vec![Authentication::PASSWORD.to_owned()]
            } else {
                login.methods.clone()
            },
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

    // ----- OpenID Connect Core §3.1.2.1–§3.1.2.6 -------------------------

    use crate::id_token::JwsAlgorithm;
    use crate::ports::{ConsentRepository, IdTokenSigner};

    fn signed_in<'a>(user: &'a UserId, auth_time: Option<Timestamp>) -> BrowserSession<'a> {
        BrowserSession {
            user: Some(user),
            auth_time,
            fresh_login: false,
        }
    }

    const ANONYMOUS: BrowserSession<'static> = BrowserSession {
        user: None,
        auth_time: None,
        fresh_login: false,
    };

    /// A validated request of `client` with `extra` parameters.
    fn request_with(w: &World, client: &Client, extra: &[(&str, &str)]) -> AuthorizationRequest {
        w.services
            .validate_authorization(&code_request(client, extra))
            .unwrap()
    }

    fn refusal(outcome: Result<NextStep, AuthorizeError>) -> (bool, String) {
        match outcome {
            Err(AuthorizeError::Redirect(r)) => (true, r.param("error").unwrap().to_owned()),
            Err(AuthorizeError::Confirm(r)) => (false, r.param("error").unwrap().to_owned()),
            other => panic!("expected an error for the client, got {other:?}"),
        }
    }

    fn redirected_code(w: &World, params: &Params) -> String {
        match w.services.validate_authorization(params) {
            Err(AuthorizeError::Redirect(response)) => {
                assert_eq!(response.param("state"), Some("st-é &=/?x"));
                assert_eq!(response.param("iss"), Some("https://auth.example.com"));
                response.param("error").unwrap().to_owned()
            }
            other => panic!("expected a redirect, got {other:?}"),
        }
    }

    /// An ID token of ours for `subject` at `client`, as the signer makes it.
    fn id_token(w: &World, subject: UserId, client: &Client, issuer: &str) -> String {
        let claims = IdTokenClaims {
            issuer: issuer.to_owned(),
            subject,
            audience: client.id.clone(),
            expires_at: crate::testing::t(60),
            issued_at: crate::testing::t(0),
            auth_time: Some(crate::testing::t(0)),
            nonce: None,
            access_token_hash: None,
            code_hash: None,
            authentication_methods: vec!["pwd".to_owned()],
            acr: None,
            session_id: None,
            user_claims: Vec::new(),
        };
        w.signer.sign(JwsAlgorithm::Rs256, &claims).unwrap()
    }

    #[test]
    fn prompt_is_a_set_of_the_four_values_and_none_stands_alone() {
        assert_eq!(Prompt::parse(None).unwrap(), Prompt::default());
        let all = Prompt::parse(Some("login  consent select_account login")).unwrap();
        assert!(all.login && all.consent && all.select_account && !all.none);
        assert!(Prompt::parse(Some("none")).unwrap().none);
        for bad in [
            "none login",
            "consent none",
            "none select_account",
            "bogus",
            "NONE",
            "login x",
        ] {
            assert_eq!(
                Prompt::parse(Some(bad)).unwrap_err().code,
                ErrorCode::InvalidRequest,
                "{bad}"
            );
        }
    }

    #[test]
    fn bad_prompt_or_max_age_is_invalid_request_to_the_client() {
        let w = world();
        let (client, _) = w.client(AuthMethod::ClientSecretBasic);
        for extra in [
            ("prompt", "none login"),
            ("prompt", "sometimes"),
            ("max_age", "-1"),
            ("max_age", "1.5"),
            ("max_age", "ten"),
            ("max_age", "+5"),
            ("max_age", "99999999999999999999999"),
        ] {
            assert_eq!(
                redirected_code(&w, &code_request(&client, &[extra])),
                "invalid_request",
                "{extra:?}"
            );
        }
        assert_eq!(parse_max_age(Some("0")).unwrap(), Some(0));
        assert_eq!(parse_max_age(Some("3600")).unwrap(), Some(3600));
        assert_eq!(parse_max_age(None).unwrap(), None);
    }

    #[test]
    fn request_objects_are_refused_with_their_own_errors() {
        let w = world();
        let (client, _) = w.client(AuthMethod::ClientSecretBasic);

        assert_eq!(
            redirected_code(
                &w,
                &code_request(&client, &[("request", "eyJhbGciOiJub25lIn0.e30.")])
            ),
            "request_not_supported"
        );
        assert_eq!(
            redirected_code(
                &w,
                &code_request(&client, &[("request_uri", "https://client.example.com/r")])
            ),
            "request_uri_not_supported"
        );
    }

    #[test]
    fn optional_parameters_are_accepted_and_unknown_ones_ignored() {
        let w = world();
        let (client, _) = w.client(AuthMethod::ClientSecretBasic);
        let request = request_with(
            &w,
            &client,
            &[
                ("display", "popup"),
                ("ui_locales", "fr-CA fr en"),
                ("claims_locales", "de"),
                ("acr_values", "urn:mace:incommon:iap:silver"),
                ("login_hint", "alice"),
                ("frobnicate", "yes"),
            ],
        );

        assert_eq!(request.login_hint.as_deref(), Some("alice"));
        assert_eq!(request.prompt, Prompt::default());
        let long_hint = "a".repeat(MAX_LOGIN_HINT_LEN + 1);
        let request = request_with(&w, &client, &[("login_hint", &long_hint)]);
        assert_eq!(request.login_hint, None);
    }

    #[test]
    fn the_new_parameters_are_single_valued() {
        let w = world();
        let (client, _) = w.client(AuthMethod::ClientSecretBasic);
        for name in [
            "prompt",
            "max_age",
            "login_hint",
            "display",
            "ui_locales",
            "claims_locales",
            "acr_values",
            "id_token_hint",
        ] {
            let value = if name == "prompt" { "login" } else { "1" };
            assert_eq!(
                redirected_code(&w, &code_request(&client, &[(name, value), (name, value)])),
                "invalid_request",
                "{name}"
            );
        }
    }

    #[test]
    fn offline_access_survives_only_with_prompt_consent_and_a_code() {
        let w = world();
        let (mut client, _) = w.client(AuthMethod::None);
        client.metadata.scope = Scope::parse("profile offline_access").unwrap();
        client.metadata.grant_types = vec![GrantType::AuthorizationCode, GrantType::Implicit];
        client.metadata.response_types = vec![ResponseType::Code, ResponseType::Token];
        w.reregister(&client);
        let scope = "profile offline_access";

        let without_consent = request_with(&w, &client, &[("scope", scope)]);
        let with_login = request_with(&w, &client, &[("scope", scope), ("prompt", "login")]);
        let with_consent = request_with(&w, &client, &[("scope", scope), ("prompt", "consent")]);
        let implicit = w
            .services
            .validate_authorization(&Params::from_pairs([
                ("response_type", "token"),
                ("client_id", client.id.as_str()),
                ("scope", scope),
                ("prompt", "consent"),
            ]))
            .unwrap();

        assert_eq!(without_consent.scope.to_string(), "profile");
        assert_eq!(with_login.scope.to_string(), "profile");
        assert_eq!(with_consent.scope.to_string(), scope);
        assert_eq!(implicit.scope.to_string(), "profile");
        // The consent page is never skipped for it, even when remembered.
        w.services
            .remember_consent(&with_consent, &w.alice.id)
            .unwrap();
        let remembered = w
            .services
            .next_step(&with_consent, signed_in(&w.alice.id, Some(t0())));
        assert_eq!(remembered.unwrap(), NextStep::Consent);
    }

    fn t0() -> Timestamp {
        crate::testing::t(0)
    }

    #[test]
    fn without_a_session_the_user_logs_in_and_prompt_none_is_login_required() {
        let w = world();
        let (client, _) = w.client(AuthMethod::ClientSecretBasic);
        let plain = request_with(&w, &client, &[]);
        let none = request_with(&w, &client, &[("prompt", "none")]);

        assert_eq!(
            w.services.next_step(&plain, ANONYMOUS).unwrap(),
            NextStep::LogIn { again: false }
        );
        // Untrusted client, nobody signed in: the open-redirector interstitial.
        assert_eq!(
            refusal(w.services.next_step(&none, ANONYMOUS)),
            (false, "login_required".to_owned())
        );
        w.store.set_client_trusted(&client.id, true).unwrap();
        let none = request_with(&w, &client, &[("prompt", "none")]);
        assert_eq!(
            refusal(w.services.next_step(&none, ANONYMOUS)),
            (true, "login_required".to_owned())
        );
    }

    #[test]
    fn consent_is_asked_once_then_remembered_for_the_same_or_fewer_scopes() {
        let w = world();
        let (client, _) = w.client(AuthMethod::ClientSecretBasic);
        let session = signed_in(&w.alice.id, Some(t0()));
        let profile = request_with(&w, &client, &[("scope", "profile")]);
        let none = request_with(&w, &client, &[("scope", "profile"), ("prompt", "none")]);

        assert_eq!(
            w.services.next_step(&profile, session).unwrap(),
            NextStep::Consent
        );
        assert_eq!(
            refusal(w.services.next_step(&none, session)),
            (true, "consent_required".to_owned())
        );

        w.services.remember_consent(&profile, &w.alice.id).unwrap();

        assert_eq!(
            w.services.next_step(&profile, session).unwrap(),
            NextStep::Issue
        );
        assert_eq!(
            w.services.next_step(&none, session).unwrap(),
            NextStep::Issue
        );
        let both = request_with(&w, &client, &[("scope", "profile email")]);
        assert_eq!(
            w.services.next_step(&both, session).unwrap(),
            NextStep::Consent
        );
        let forced = request_with(&w, &client, &[("scope", "profile"), ("prompt", "consent")]);
        assert_eq!(
            w.services.next_step(&forced, session).unwrap(),
            NextStep::Consent
        );
        // Another user's consent is not alice's.
        let bob = crate::testing::sample_user("bob", "another horse");
        crate::ports::UserRepository::insert_user(&*w.store, &bob).unwrap();
        assert_eq!(
            w.services
                .next_step(&profile, signed_in(&bob.id, Some(t0())))
                .unwrap(),
            NextStep::Consent
        );
    }

    #[test]
    fn remembered_consent_is_not_enough_for_a_public_client_on_a_non_https_redirect() {
        // RFC 6749 §10.2: a loopback or private-use redirect of a public
        // client can be claimed by any local program.
        let w = world();
        let (client, _) = w.client(AuthMethod::None);
        let session = signed_in(&w.alice.id, Some(t0()));
        let https = request_with(&w, &client, &[("scope", "profile")]);
        w.services.remember_consent(&https, &w.alice.id).unwrap();
        let mut loopback = https.clone();
        loopback.redirect_to = "http://127.0.0.1:8400/cb".to_owned();
        let mut private_use = https.clone();
        private_use.redirect_to = "com.example.app:/cb".to_owned();

        assert_eq!(
            w.services.next_step(&https, session).unwrap(),
            NextStep::Issue
        );
        for request in [&loopback, &private_use] {
            assert_eq!(
                w.services.next_step(request, session).unwrap(),
                NextStep::Consent,
                "{}",
                request.redirect_to
            );
        }
        w.store.set_client_trusted(&client.id, true).unwrap();
        loopback.client.trusted = true;
        assert_eq!(
            w.services.next_step(&loopback, session).unwrap(),
            NextStep::Issue
        );
    }

    #[test]
    fn remembered_consent_grows_and_keeps_its_first_date() {
        let w = world();
        let (client, _) = w.client(AuthMethod::ClientSecretBasic);
        let profile = request_with(&w, &client, &[("scope", "profile")]);
        let email = request_with(&w, &client, &[("scope", "email")]);

        w.services.remember_consent(&profile, &w.alice.id).unwrap();
        w.clock.set(crate::testing::t(50));
        w.services.remember_consent(&email, &w.alice.id).unwrap();

        let stored = w
            .store
            .find_consent(&w.alice.id, &client.id)
            .unwrap()
            .unwrap();
        assert_eq!(stored.scope.to_string(), "profile email");
        assert_eq!(stored.granted_at, t0());
        // Revoking the app forgets it.
        w.services
            .revoke_app(&w.alice.id, client.id.as_str())
            .unwrap();
        assert_eq!(w.store.find_consent(&w.alice.id, &client.id).unwrap(), None);
    }

    #[test]
    fn consents_go_with_their_user_or_client() {
        use crate::ports::{ClientRepository, UserRepository};
        for delete_client in [false, true] {
            let w = world();
            let (client, _) = w.client(AuthMethod::ClientSecretBasic);
            let request = request_with(&w, &client, &[]);
            w.services.remember_consent(&request, &w.alice.id).unwrap();
            if delete_client {
                w.store.delete_client(&client.id).unwrap();
            } else {
                w.store.delete_user(&w.alice.id).unwrap();
            }
            assert!(w.store.consents_of(&w.alice.id).unwrap().is_empty());
            // And a consent for what no longer exists is refused.
            assert!(matches!(
                w.services.remember_consent(&request, &w.alice.id),
                Err(AuthorizeError::ToUser(_))
            ));
        }
    }

    #[test]
    fn prompt_login_and_select_account_ask_for_the_password_until_it_is_entered() {
        let w = world();
        let (client, _) = w.client(AuthMethod::ClientSecretBasic);
        for prompt in ["login", "select_account", "login consent"] {
            let request = request_with(&w, &client, &[("prompt", prompt)]);
            let session = signed_in(&w.alice.id, Some(t0()));

            assert_eq!(
                w.services.next_step(&request, session).unwrap(),
                NextStep::LogIn { again: true },
                "{prompt}"
            );
            let fresh = BrowserSession {
                fresh_login: true,
                ..session
            };
            assert_eq!(
                w.services.next_step(&request, fresh).unwrap(),
                NextStep::Consent,
                "{prompt}"
            );
        }
    }

    #[test]
    fn max_age_asks_for_the_password_when_the_login_is_older() {
        let w = world();
        let (client, _) = w.client(AuthMethod::ClientSecretBasic);
        w.clock.set(crate::testing::t(100));
        let at = |secs| signed_in(&w.alice.id, Some(crate::testing::t(secs)));
        let step = |max_age: &str, session| {
            let request = request_with(&w, &client, &[("max_age", max_age)]);
            w.services.next_step(&request, session)
        };
        let again = NextStep::LogIn { again: true };

        assert_eq!(step("60", at(0)).unwrap(), again);
        assert_eq!(step("100", at(0)).unwrap(), NextStep::Consent);
        assert_eq!(step("3600", at(0)).unwrap(), NextStep::Consent);
        // An unknown login time is too old for any max_age.
        assert_eq!(step("3600", signed_in(&w.alice.id, None)).unwrap(), again);
        // max_age=0 is prompt=login, even for a login this second…
        assert_eq!(step("0", at(100)).unwrap(), again);
        // …and is satisfied by the login it asked for.
        let fresh = BrowserSession {
            fresh_login: true,
            ..at(100)
        };
        assert_eq!(step("0", fresh).unwrap(), NextStep::Consent);
        // With prompt=none a too-old login is login_required.
        let none = request_with(&w, &client, &[("max_age", "60"), ("prompt", "none")]);
        assert_eq!(
            refusal(w.services.next_step(&none, at(0))),
            (true, "login_required".to_owned())
        );
    }

    #[test]
    fn id_token_hint_must_be_ours_for_this_client_even_expired() {
        let w = world();
        let (client, _) = w.client(AuthMethod::ClientSecretBasic);
        let (other, _) = w.client_with_id(AuthMethod::ClientSecretBasic, "client-other");
        let ours = id_token(&w, w.alice.id, &client, "https://auth.example.com");
        let foreign_issuer = id_token(&w, w.alice.id, &client, "https://evil.example");
        let other_audience = id_token(&w, w.alice.id, &other, "https://auth.example.com");
        // Long after the token expired (Core §3.1.2.1: the hint may be).
        w.clock.set(crate::testing::t(100_000));

        let request = request_with(&w, &client, &[("id_token_hint", &ours)]);
        assert_eq!(request.id_token_hint.unwrap().subject, w.alice.id);
        for bad in [
            "not-a-jwt",
            "fake.99.RS256",
            &foreign_issuer,
            &other_audience,
        ] {
            assert_eq!(
                redirected_code(&w, &code_request(&client, &[("id_token_hint", bad)])),
                "invalid_request",
                "{bad}"
            );
        }
    }

    #[test]
    fn id_token_hint_of_another_user_is_login_required_with_prompt_none() {
        let w = world();
        let (client, _) = w.client(AuthMethod::ClientSecretBasic);
        let bob = crate::testing::sample_user("bob", "another horse");
        crate::ports::UserRepository::insert_user(&*w.store, &bob).unwrap();
        let alices = id_token(&w, w.alice.id, &client, "https://auth.example.com");
        let bobs = id_token(&w, bob.id, &client, "https://auth.example.com");
        let session = signed_in(&w.alice.id, Some(t0()));
        let consented = request_with(&w, &client, &[]);
        w.services
            .remember_consent(&consented, &w.alice.id)
            .unwrap();
        let with = |hint: &str, prompt: Option<&str>| {
            let mut extra = vec![("id_token_hint", hint)];
            extra.extend(prompt.map(|p| ("prompt", p)));
            request_with(&w, &client, &extra)
        };

        assert_eq!(
            w.services
                .next_step(&with(&alices, Some("none")), session)
                .unwrap(),
            NextStep::Issue
        );
        assert_eq!(
            refusal(w.services.next_step(&with(&bobs, Some("none")), session)),
            (true, "login_required".to_owned())
        );
        // Without prompt=none the user may sign in as bob; signing in again
        // as alice does not satisfy the hint.
        assert_eq!(
            w.services.next_step(&with(&bobs, None), session).unwrap(),
            NextStep::LogIn { again: true }
        );
        let fresh = BrowserSession {
            fresh_login: true,
            ..session
        };
        assert_eq!(
            refusal(w.services.next_step(&with(&bobs, None), fresh)),
            (true, "login_required".to_owned())
        );
    }

    #[test]
    fn connected_apps_show_remembered_consents_without_tokens() {
        let w = world();
        let (client, _) = w.client(AuthMethod::ClientSecretBasic);
        let request = request_with(&w, &client, &[("scope", "email")]);
        w.services.remember_consent(&request, &w.alice.id).unwrap();

        let apps = w.services.connected_apps(&w.alice.id).unwrap();

        assert_eq!(apps.len(), 1);
        assert!(apps[0].grant.is_none());
        let consent = apps[0].consent.as_ref().unwrap();
        assert_eq!(consent.scope.to_string(), "email");
        assert_eq!(consent.granted_at, t0());
    }
}
