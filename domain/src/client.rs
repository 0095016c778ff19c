//! Clients and their registered metadata (RFC 6749 §2, RFC 7591 §2 names).
//!
//! Registration is validated as a whole: redirect URIs by the rules of
//! [`crate::redirect_uri`], grant and response types against what the server
//! offers and against each other (RFC 7591 §2.1), the auth method against the
//! known ones, the scope against the server's scopes.

use std::fmt;

use crate::display_text::first_deceptive;
use crate::id_token::JwsAlgorithm;
use crate::ids::{ClientId, UserId};
use crate::redirect_uri::RedirectUri;
use crate::scope::Scope;
use crate::secret::SecretDigest;
use crate::time::{Lifetime, Timestamp};

/// A grant type a client may use at the token endpoint (RFC 7591 `grant_types`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum GrantType {
    /// `authorization_code` (RFC 6749 §4.1).
    AuthorizationCode,
    /// `implicit` (RFC 6749 §4.2); used at the authorization endpoint only.
    Implicit,
    /// `password` (RFC 6749 §4.3).
    Password,
    /// `client_credentials` (RFC 6749 §4.4).
    ClientCredentials,
    /// `refresh_token` (RFC 6749 §6).
    RefreshToken,
}

impl GrantType {
    /// Every grant type the server implements.
    pub const ALL: [Self; 5] = [
        Self::AuthorizationCode,
        Self::Implicit,
        Self::Password,
        Self::ClientCredentials,
        Self::RefreshToken,
    ];

    /// The wire name.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::AuthorizationCode => "authorization_code",
            Self::Implicit => "implicit",
            Self::Password => "password",
            Self::ClientCredentials => "client_credentials",
            Self::RefreshToken => "refresh_token",
        }
    }

    /// Parses a wire name.
    #[must_use]
    pub fn parse(value: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|g| g.as_str() == value)
    }
}

/// A response type at the authorization endpoint (RFC 7591 `response_types`;
/// OpenID Connect Core §3.2.2.1 adds `id_token` and `id_token token`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ResponseType {
    /// `code`: the authorization code flow.
    Code,
    /// `token`: the implicit flow (RFC 6749 §4.2).
    Token,
    /// `id_token`: the OpenID implicit flow with an ID token only.
    IdToken,
    /// `id_token token`: the OpenID implicit flow, ID token and access token.
    IdTokenToken,
}

impl ResponseType {
    /// Every response type the server implements.
    pub const ALL: [Self; 4] = [Self::Code, Self::Token, Self::IdToken, Self::IdTokenToken];

    /// The wire name (a space-separated list for `id_token token`, written
    /// in the order OpenID Connect Core §3.2.2.1 uses).
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Code => "code",
            Self::Token => "token",
            Self::IdToken => "id_token",
            Self::IdTokenToken => "id_token token",
        }
    }

    /// Parses a wire name. A response type of several values is a set: the
    /// order of the values does not matter (OAuth 2.0 Multiple Response Type
    /// Encoding Practices §5), so `token id_token` is `id_token token`; a
    /// repeated value or extra spaces are not accepted.
    #[must_use]
    pub fn parse(value: &str) -> Option<Self> {
        if let Some(exact) = Self::ALL.into_iter().find(|r| r.as_str() == value) {
            return Some(exact);
        }
        (value == "token id_token").then_some(Self::IdTokenToken)
    }

    /// The grant this response type belongs to: `code` the authorization
    /// code grant, every other the implicit grant (RFC 6749 §4.2, Core §3.2).
    #[must_use]
    pub fn grant_type(self) -> GrantType {
        match self {
            Self::Code => GrantType::AuthorizationCode,
            Self::Token | Self::IdToken | Self::IdTokenToken => GrantType::Implicit,
        }
    }

    /// Whether the response goes in the fragment (RFC 6749 §4.2.2, Core
    /// §3.2.2.5): every implicit response type.
    #[must_use]
    pub fn in_fragment(self) -> bool {
        self.grant_type() == GrantType::Implicit
    }

    /// Whether the authorization response itself carries an ID token.
    #[must_use]
    pub fn issues_id_token(self) -> bool {
        matches!(self, Self::IdToken | Self::IdTokenToken)
    }

    /// Whether the authorization response itself carries an access token.
    #[must_use]
    pub fn issues_access_token(self) -> bool {
        matches!(self, Self::Token | Self::IdTokenToken)
    }
}

/// How a client authenticates at the token endpoint (RFC 7591 §2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AuthMethod {
    /// HTTP Basic with `client_id:client_secret` (RFC 6749 §2.3.1).
    ClientSecretBasic,
    /// `client_id` and `client_secret` in the form body (RFC 6749 §2.3.1).
    ClientSecretPost,
    /// A public client: `client_id` only (RFC 6749 §2.1).
    None,
}

impl AuthMethod {
    /// Every method the server implements.
    pub const ALL: [Self; 3] = [Self::ClientSecretBasic, Self::ClientSecretPost, Self::None];

    /// The wire name.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ClientSecretBasic => "client_secret_basic",
            Self::ClientSecretPost => "client_secret_post",
            Self::None => "none",
        }
    }

    /// Parses a wire name.
    #[must_use]
    pub fn parse(value: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|m| m.as_str() == value)
    }

    /// Whether clients of this method hold a secret (RFC 6749 §2.1).
    #[must_use]
    pub fn is_confidential(self) -> bool {
        !matches!(self, Self::None)
    }
}

impl fmt::Display for AuthMethod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The metadata a client registers (RFC 7591 §2 field names).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientMetadata {
    /// Human-readable name shown on the consent page.
    pub client_name: String,
    /// Home page of the client, if given.
    pub client_uri: Option<String>,
    /// Registered redirection endpoints, exact-match.
    pub redirect_uris: Vec<RedirectUri>,
    /// Grant types the client may use.
    pub grant_types: Vec<GrantType>,
    /// Response types the client may use.
    pub response_types: Vec<ResponseType>,
    /// The most the client may ask for.
    pub scope: Scope,
    /// How the client authenticates at the token endpoint.
    pub token_endpoint_auth_method: AuthMethod,
    /// Where the browser may go after an RP-initiated logout, exact-match
    /// (RP-Initiated Logout 1.0 §3.1); validated like `redirect_uris`.
    pub post_logout_redirect_uris: Vec<RedirectUri>,
    /// How the client's ID tokens are signed (Registration 1.0 §2; RS256 by
    /// default; `none` and HMAC are never accepted).
    pub id_token_signed_response_alg: JwsAlgorithm,
    /// The `max_age` of the client's requests that send none (Registration
    /// 1.0 §2 `default_max_age`).
    pub default_max_age: Option<Lifetime>,
    /// Whether the client's ID tokens always carry `auth_time`
    /// (Registration 1.0 §2 `require_auth_time`).
    pub require_auth_time: bool,
}

impl ClientMetadata {
    /// Whether `uri` is exactly one of the registered
    /// `post_logout_redirect_uris` (RP-Initiated Logout 1.0 §3: a simple
    /// string comparison, no loopback port exception).
    #[must_use]
    pub fn allows_post_logout_redirect(&self, uri: &str) -> bool {
        self.post_logout_redirect_uris
            .iter()
            .any(|registered| registered.as_str() == uri)
    }

    /// Whether `grant` is registered.
    #[must_use]
    pub fn allows_grant(&self, grant: GrantType) -> bool {
        self.grant_types.contains(&grant)
    }

    /// Whether `response_type` is registered.
    #[must_use]
    pub fn allows_response_type(&self, response_type: ResponseType) -> bool {
        self.response_types.contains(&response_type)
    }
}

/// A registered client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Client {
    /// Public identifier.
    pub id: ClientId,
    /// The user who registered the client.
    pub owner: UserId,
    /// Digest of the secret; `None` for public clients.
    pub secret_digest: Option<SecretDigest>,
    /// Registered metadata.
    pub metadata: ClientMetadata,
    /// When the client was registered (RFC 7591 `client_id_issued_at`).
    pub issued_at: Timestamp,
    /// Registered or vouched for by the operator. Only trusted clients get
    /// automatic error redirects for visitors who are not signed in (RFC
    /// 9700 §4.11.2): anyone may register a client, so an untrusted
    /// redirect URI could be a phishing page.
    pub trusted: bool,
}

impl Client {
    /// Whether the client is confidential (holds a secret).
    #[must_use]
    pub fn is_confidential(&self) -> bool {
        self.metadata.token_endpoint_auth_method.is_confidential()
    }
}

/// The fields of a registration form or command, before validation. The
/// list fields hold one value per entry; blank entries are ignored.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RegistrationInput {
    /// `client_name`.
    pub client_name: String,
    /// `client_uri`.
    pub client_uri: String,
    /// `redirect_uris`.
    pub redirect_uris: Vec<String>,
    /// `grant_types`.
    pub grant_types: Vec<String>,
    /// `response_types`.
    pub response_types: Vec<String>,
    /// `scope`.
    pub scope: String,
    /// `token_endpoint_auth_method`.
    pub token_endpoint_auth_method: String,
    /// `post_logout_redirect_uris`.
    pub post_logout_redirect_uris: Vec<String>,
    /// `id_token_signed_response_alg` (blank: RS256).
    pub id_token_signed_response_alg: String,
    /// `default_max_age` in seconds (blank: none).
    pub default_max_age: String,
    /// `require_auth_time`.
    pub require_auth_time: bool,
}

/// One problem with a registration, attached to the field it concerns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    /// The field name, as in [`RegistrationInput`] (RFC 7591 names).
    pub field: &'static str,
    /// What is wrong, safe to show.
    pub message: String,
}

/// What the server offers, against which registrations are checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerCapabilities {
    /// Grant types enabled on this server.
    pub grant_types: Vec<GrantType>,
    /// Response types enabled on this server.
    pub response_types: Vec<ResponseType>,
    /// Scopes this server knows.
    pub scopes: Scope,
    /// Most redirect URIs one client may register (`MAX_REDIRECT_URIS_PER_CLIENT`).
    pub max_redirect_uris: usize,
}

impl ServerCapabilities {
    /// Everything implemented, with the given scopes after the OpenID
    /// Connect ones, which are always known ([`Scope::with_openid_scopes`]).
    #[must_use]
    pub fn all(scopes: Scope) -> Self {
        Self {
            grant_types: GrantType::ALL.to_vec(),
            response_types: ResponseType::ALL.to_vec(),
            scopes: scopes.with_openid_scopes(),
            max_redirect_uris: DEFAULT_MAX_REDIRECT_URIS,
        }
    }

    /// These capabilities with `disabled` grants switched off. The implicit
    /// grant is the only user of response types `token` (RFC 6749 §4.2.1),
    /// `id_token` and `id_token token` (Core §3.2), so switching it off
    /// removes those response types too.
    #[must_use]
    pub fn without(mut self, disabled: &[GrantType]) -> Self {
        self.grant_types.retain(|g| !disabled.contains(g));
        if disabled.contains(&GrantType::Implicit) {
            self.response_types
                .retain(|r| r.grant_type() != GrantType::Implicit);
        }
        self
    }
}

impl ClientMetadata {
    /// Validates a registration, reporting every problem at once.
    ///
    /// # Errors
    /// One [`FieldError`] per problem found.
    pub fn validate(
        input: &RegistrationInput,
        server: &ServerCapabilities,
    ) -> Result<Self, Vec<FieldError>> {
        let mut errors = size_errors(input, server.max_redirect_uris);
        let oversize: Vec<&'static str> = errors.iter().map(|e| e.field).collect();
        // An oversize field gets its size message only, not one per rule.
        let mut fail = |field: &'static str, message: String| {
            if !oversize.contains(&field) {
                errors.push(FieldError { field, message });
            }
        };

        let client_name = validate_client_name(&input.client_name).unwrap_or_else(|message| {
            fail("client_name", message);
            String::new()
        });
        let client_uri = validate_client_uri(&input.client_uri).unwrap_or_else(|message| {
            fail("client_uri", message);
            None
        });

        let auth_method = AuthMethod::parse(input.token_endpoint_auth_method.trim());
        if auth_method.is_none() {
            fail(
                "token_endpoint_auth_method",
                "must be client_secret_basic, client_secret_post or none".to_owned(),
            );
        }

        let mut redirect_uris = Vec::new();
        for raw in non_blank(&input.redirect_uris) {
            match RedirectUri::parse(raw) {
                Ok(uri) if !redirect_uris.contains(&uri) => redirect_uris.push(uri),
                Ok(_) => {}
                Err(error) => fail("redirect_uris", format!("{raw}: {error}")),
            }
        }

        let mut post_logout_redirect_uris = Vec::new();
        for raw in non_blank(&input.post_logout_redirect_uris) {
            match RedirectUri::parse(raw) {
                Ok(uri) if !post_logout_redirect_uris.contains(&uri) => {
                    post_logout_redirect_uris.push(uri);
                }
                Ok(_) => {}
                Err(error) => fail("post_logout_redirect_uris", format!("{raw}: {error}")),
            }
        }
        let id_token_signed_response_alg =
            validate_id_token_alg(&input.id_token_signed_response_alg).unwrap_or_else(|message| {
                fail("id_token_signed_response_alg", message);
                JwsAlgorithm::Rs256
            });
        let default_max_age =
            validate_default_max_age(&input.default_max_age).unwrap_or_else(|message| {
                fail("default_max_age", message);
                None
            });

        let grant_types = enabled_choices(
            &input.grant_types,
            ("grant_types", "grant type"),
            &server.grant_types,
            GrantType::parse,
            &mut fail,
        );
        if grant_types.is_empty() && non_blank(&input.grant_types).next().is_none() {
            fail(
                "grant_types",
                "at least one grant type is required".to_owned(),
            );
        }

        let response_types = enabled_choices(
            &input.response_types,
            ("response_types", "response type"),
            &server.response_types,
            ResponseType::parse,
            &mut fail,
        );

        let scope = match Scope::parse(&input.scope) {
            Ok(scope) if scope.is_subset_of(&server.scopes) => scope,
            Ok(_) => {
                fail("scope", format!("may only contain: {}", server.scopes));
                Scope::default()
            }
            Err(_) => {
                fail("scope", "is malformed".to_owned());
                Scope::default()
            }
        };

        // RFC 7591 §2.1: grant types and response types must agree.
        let has = |g| grant_types.contains(&g);
        let code = response_types.contains(&ResponseType::Code);
        let token = response_types
            .iter()
            .any(|r| r.grant_type() == GrantType::Implicit);
        if has(GrantType::AuthorizationCode) != code {
            fail(
                "response_types",
                "response type code goes with grant type authorization_code, and only with it"
                    .to_owned(),
            );
        }
        if has(GrantType::Implicit) != token {
            fail(
                "response_types",
                "response types token, id_token and id_token token go with grant type \
                 implicit, and only with it"
                    .to_owned(),
            );
        }
        if (code || token) && non_blank(&input.redirect_uris).next().is_none() {
            fail(
                "redirect_uris",
                "at least one redirect URI is required for the code and implicit flows".to_owned(),
            );
        }
        if has(GrantType::RefreshToken)
            && !has(GrantType::AuthorizationCode)
            && !has(GrantType::Password)
        {
            fail(
                "grant_types",
                "refresh_token needs authorization_code or password, which issue refresh tokens"
                    .to_owned(),
            );
        }
        if let Some(method) = auth_method {
            if has(GrantType::Implicit) && method.is_confidential() {
                fail(
                    "token_endpoint_auth_method",
                    "implicit is for public clients: use none".to_owned(),
                );
            }
            if !method.is_confidential() {
                for g in [GrantType::ClientCredentials, GrantType::Password] {
                    if has(g) {
                        fail(
                            "grant_types",
                            format!("{} needs a confidential client (not none)", g.as_str()),
                        );
                    }
                }
            }
        }

        match auth_method {
            Some(token_endpoint_auth_method) if errors.is_empty() => Ok(Self {
                client_name,
                client_uri,
                redirect_uris,
                grant_types,
                response_types,
                scope,
                token_endpoint_auth_method,
                post_logout_redirect_uris,
                id_token_signed_response_alg,
                default_max_age,
                require_auth_time: input.require_auth_time,
            }),
            _ => Err(errors),
        }
    }
}

/// The kinds of application the registration form offers first, as
/// Keycloak and Auth0 do; each fills grant types, response types and the
/// auth method with values that pass [`ClientMetadata::validate`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApplicationType {
    /// A web application with a back end that keeps a secret (RFC 6749
    /// §2.1 confidential): code flow with a refresh token.
    Web,
    /// A single-page or native app, which cannot keep a secret (RFC 6749
    /// §2.1 public; RFC 8252): code flow with PKCE, auth method `none`.
    Public,
    /// A machine-to-machine service acting for itself (RFC 6749 §4.4).
    Machine,
}

impl ApplicationType {
    /// Every application type, in the form's order.
    pub const ALL: [Self; 3] = [Self::Web, Self::Public, Self::Machine];

    /// The form value.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Web => "web",
            Self::Public => "spa",
            Self::Machine => "machine",
        }
    }

    /// Parses a form value.
    #[must_use]
    pub fn parse(value: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.as_str() == value)
    }

    /// The grant types this type uses, among those `server` enables.
    #[must_use]
    pub fn grant_types(self, server: &ServerCapabilities) -> Vec<GrantType> {
        let wanted: &[GrantType] = match self {
            Self::Web | Self::Public => &[GrantType::AuthorizationCode, GrantType::RefreshToken],
            Self::Machine => &[GrantType::ClientCredentials],
        };
        wanted
            .iter()
            .copied()
            .filter(|g| server.grant_types.contains(g))
            .collect()
    }

    /// The response types this type uses (`code` goes with
    /// `authorization_code`, RFC 7591 §2.1).
    #[must_use]
    pub fn response_types(self) -> Vec<ResponseType> {
        match self {
            Self::Web | Self::Public => vec![ResponseType::Code],
            Self::Machine => Vec::new(),
        }
    }

    /// The token endpoint auth method this type uses.
    #[must_use]
    pub fn auth_method(self) -> AuthMethod {
        match self {
            Self::Web | Self::Machine => AuthMethod::ClientSecretBasic,
            Self::Public => AuthMethod::None,
        }
    }

    /// The registration fields this type fills in (grant types, response
    /// types, auth method), as a form sends them; the others empty.
    #[must_use]
    pub fn preset(self, server: &ServerCapabilities) -> RegistrationInput {
        RegistrationInput {
            grant_types: self
                .grant_types(server)
                .iter()
                .map(|g| g.as_str().to_owned())
                .collect(),
            response_types: self
                .response_types()
                .iter()
                .map(|r| r.as_str().to_owned())
                .collect(),
            token_endpoint_auth_method: self.auth_method().as_str().to_owned(),
            ..RegistrationInput::default()
        }
    }
}

/// Default of `MAX_REDIRECT_URIS_PER_CLIENT`.
pub const DEFAULT_MAX_REDIRECT_URIS: usize = 20;
/// Longest `client_name`, in characters (the consent page shows it).
pub const MAX_CLIENT_NAME_CHARS: usize = 100;
/// Longest `client_uri`, in bytes (about what browsers and proxies accept).
pub const MAX_CLIENT_URI_BYTES: usize = 2000;
/// Longest redirect URI, in bytes.
pub const MAX_REDIRECT_URI_BYTES: usize = 2000;
/// Longest `scope`, in bytes.
pub const MAX_SCOPE_BYTES: usize = 1000;
/// Longest single grant type, response type or auth method value, in bytes
/// (the longest known name is 19 bytes).
pub const MAX_NAME_VALUE_BYTES: usize = 64;
/// Most grant or response type entries (there are five and two).
pub const MAX_TYPE_ENTRIES: usize = 10;
/// Longest `default_max_age`, in seconds (ten years: longer means nothing).
pub const MAX_DEFAULT_MAX_AGE_SECONDS: i64 = 10 * 365 * 24 * 3600;

/// Size limits of every metadata value (RFC 7591 §2 sets none; a record
/// is stored, listed and rendered, so one account must not make it huge),
/// checked before any other rule. One error per oversize field, which
/// never repeats the value.
fn size_errors(input: &RegistrationInput, max_redirect_uris: usize) -> Vec<FieldError> {
    let mut errors = Vec::new();
    let mut fail = |field: &'static str, message: String| {
        errors.push(FieldError { field, message });
    };
    if input.client_name.trim().chars().count() > MAX_CLIENT_NAME_CHARS {
        fail(
            "client_name",
            format!("must be at most {MAX_CLIENT_NAME_CHARS} characters"),
        );
    }
    if input.client_uri.trim().len() > MAX_CLIENT_URI_BYTES {
        fail(
            "client_uri",
            format!("must be at most {MAX_CLIENT_URI_BYTES} bytes"),
        );
    }
    let redirect_uris: Vec<&str> = non_blank(&input.redirect_uris).collect();
    if redirect_uris.len() > max_redirect_uris {
        fail(
            "redirect_uris",
            format!("at most {max_redirect_uris} redirect URIs per client"),
        );
    } else if redirect_uris
        .iter()
        .any(|u| u.len() > MAX_REDIRECT_URI_BYTES)
    {
        fail(
            "redirect_uris",
            format!("each redirect URI must be at most {MAX_REDIRECT_URI_BYTES} bytes"),
        );
    }
    if input.scope.len() > MAX_SCOPE_BYTES {
        fail("scope", format!("must be at most {MAX_SCOPE_BYTES} bytes"));
    }
    for (field, values) in [
        ("grant_types", &input.grant_types),
        ("response_types", &input.response_types),
    ] {
        let values: Vec<&str> = non_blank(values).collect();
        if values.len() > MAX_TYPE_ENTRIES || values.iter().any(|v| v.len() > MAX_NAME_VALUE_BYTES)
        {
            fail(
                field,
                format!(
                    "at most {MAX_TYPE_ENTRIES} values of at most {MAX_NAME_VALUE_BYTES} bytes"
                ),
            );
        }
    }
    if input.token_endpoint_auth_method.trim().len() > MAX_NAME_VALUE_BYTES {
        fail(
            "token_endpoint_auth_method",
            format!("must be at most {MAX_NAME_VALUE_BYTES} bytes"),
        );
    }
    // The same limits as `redirect_uris`: the same kind of value, stored
    // and shown the same way.
    let post_logout: Vec<&str> = non_blank(&input.post_logout_redirect_uris).collect();
    if post_logout.len() > max_redirect_uris {
        fail(
            "post_logout_redirect_uris",
            format!("at most {max_redirect_uris} post-logout redirect URIs per client"),
        );
    } else if post_logout.iter().any(|u| u.len() > MAX_REDIRECT_URI_BYTES) {
        fail(
            "post_logout_redirect_uris",
            format!("each post-logout redirect URI must be at most {MAX_REDIRECT_URI_BYTES} bytes"),
        );
    }
    for (field, value) in [
        (
            "id_token_signed_response_alg",
            &input.id_token_signed_response_alg,
        ),
        ("default_max_age", &input.default_max_age),
    ] {
        if value.trim().len() > MAX_NAME_VALUE_BYTES {
            fail(
                field,
                format!("must be at most {MAX_NAME_VALUE_BYTES} bytes"),
            );
        }
    }
    errors
}

/// Validates an `id_token_signed_response_alg` (blank: RS256, the default
/// of Registration 1.0 §2). `none` and the HMAC algorithms are refused: an
/// unsigned token proves nothing, and an HMAC one could be made by the
/// client itself, so neither could serve as an `id_token_hint`.
///
/// # Errors
/// The message to show on the field.
pub fn validate_id_token_alg(raw: &str) -> Result<JwsAlgorithm, String> {
    let value = raw.trim();
    if value.is_empty() {
        return Ok(JwsAlgorithm::Rs256);
    }
    JwsAlgorithm::parse(value).ok_or_else(|| {
        let supported: Vec<&str> = JwsAlgorithm::ALL.iter().map(|a| a.as_str()).collect();
        if value.eq_ignore_ascii_case("none") || value.to_ascii_uppercase().starts_with("HS") {
            format!(
                "unsigned and HMAC ID tokens are not offered: use {}",
                supported.join(", ")
            )
        } else {
            format!("must be one of {}", supported.join(", "))
        }
    })
}

/// Validates a `default_max_age` (blank: none): whole seconds, from 1 to
/// [`MAX_DEFAULT_MAX_AGE_SECONDS`].
///
/// # Errors
/// The message to show on the field.
pub fn validate_default_max_age(raw: &str) -> Result<Option<Lifetime>, String> {
    let value = raw.trim();
    if value.is_empty() {
        return Ok(None);
    }
    value
        .parse::<i64>()
        .ok()
        .filter(|s| (1..=MAX_DEFAULT_MAX_AGE_SECONDS).contains(s))
        .and_then(Lifetime::from_seconds)
        .map(Some)
        .ok_or_else(|| {
            format!("must be a whole number of seconds from 1 to {MAX_DEFAULT_MAX_AGE_SECONDS}")
        })
}

/// Validates a `client_name`: trimmed, 1 to [`MAX_CLIENT_NAME_CHARS`] characters,
/// and nothing that would make the consent sentence read otherwise than it
/// is stored (see [`crate::display_text`]).
///
/// # Errors
/// The message to show on the field.
pub fn validate_client_name(raw: &str) -> Result<String, String> {
    let name = raw.trim();
    if name.is_empty() || name.chars().count() > MAX_CLIENT_NAME_CHARS {
        return Err(format!(
            "is required, at most {MAX_CLIENT_NAME_CHARS} characters"
        ));
    }
    match first_deceptive(name) {
        Some(c) => Err(format!(
            "must not contain control, invisible or text-direction characters (found U+{:04X})",
            u32::from(c)
        )),
        None => Ok(name.to_owned()),
    }
}

/// Validates a `client_uri` (blank: none): an http or https URL with a host
/// and no userinfo (`https://bank.example@evil.example/` names evil.example;
/// RFC 3986 §7.6), nor any character that [`first_deceptive`] refuses.
///
/// # Errors
/// The message to show on the field.
pub fn validate_client_uri(raw: &str) -> Result<Option<String>, String> {
    let uri = raw.trim();
    if uri.is_empty() {
        return Ok(None);
    }
    let parsed = (uri.len() <= MAX_CLIENT_URI_BYTES)
        .then(|| url::Url::parse(uri).ok())
        .flatten()
        .filter(|u| matches!(u.scheme(), "https" | "http") && u.host().is_some());
    let Some(parsed) = parsed else {
        return Err("must be an http or https URL".to_owned());
    };
    if !parsed.username().is_empty()
        || parsed.password().is_some()
        || authority_of(uri).contains('@')
    {
        return Err("must not contain userinfo (user@ before the host)".to_owned());
    }
    if first_deceptive(uri).is_some() {
        return Err("must not contain control, invisible or text-direction characters".to_owned());
    }
    Ok(Some(uri.to_owned()))
}

/// The authority part of an absolute URI as written (after `scheme://`, up
/// to the first `/`, `?` or `#`).
fn authority_of(uri: &str) -> &str {
    let rest = uri.split_once("://").map_or("", |(_, rest)| rest);
    rest.split(['/', '?', '#', '\\']).next().unwrap_or("")
}

/// The distinct values among `raw` that parse and that the server enables,
/// in the order given; each other one is reported under `field` (`what`
/// names the kind of value in the message).
fn enabled_choices<T: Copy + PartialEq>(
    raw: &[String],
    (field, what): (&'static str, &str),
    enabled: &[T],
    parse: impl Fn(&str) -> Option<T>,
    fail: &mut impl FnMut(&'static str, String),
) -> Vec<T> {
    let mut chosen = Vec::new();
    for raw in non_blank(raw) {
        match parse(raw) {
            Some(value) if !enabled.contains(&value) => {
                fail(field, format!("{raw} is not enabled on this server"));
            }
            Some(value) if !chosen.contains(&value) => chosen.push(value),
            Some(_) => {}
            None => fail(field, format!("{raw} is not a supported {what}")),
        }
    }
    chosen
}

fn non_blank(values: &[String]) -> impl Iterator<Item = &str> {
    values.iter().map(|v| v.trim()).filter(|v| !v.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn server() -> ServerCapabilities {
        ServerCapabilities::all(Scope::parse("profile email").unwrap())
    }

    #[test]
    fn disabling_implicit_removes_the_token_response_type() {
        let capabilities = server().without(&[GrantType::Implicit]);

        assert!(!capabilities.grant_types.contains(&GrantType::Implicit));
        assert!(capabilities.grant_types.contains(&GrantType::Password));
        assert_eq!(capabilities.response_types, vec![ResponseType::Code]);
    }

    #[test]
    fn disabling_password_keeps_both_response_types() {
        let capabilities = server().without(&[GrantType::Password]);

        assert!(!capabilities.grant_types.contains(&GrantType::Password));
        assert!(capabilities.grant_types.contains(&GrantType::Implicit));
        assert_eq!(capabilities.response_types, ResponseType::ALL.to_vec());
    }

    fn web_app() -> RegistrationInput {
        RegistrationInput {
            client_name: "Web app".to_owned(),
            client_uri: "https://client.example.com".to_owned(),
            redirect_uris: vec!["https://client.example.com/cb".to_owned()],
            grant_types: vec!["authorization_code".to_owned(), "refresh_token".to_owned()],
            response_types: vec!["code".to_owned()],
            scope: "profile".to_owned(),
            token_endpoint_auth_method: "client_secret_basic".to_owned(),
            ..RegistrationInput::default()
        }
    }

    fn fields(result: Result<ClientMetadata, Vec<FieldError>>) -> Vec<&'static str> {
        result.unwrap_err().into_iter().map(|e| e.field).collect()
    }

    /// The fields a registration of `input` is refused on, by [`server`].
    fn refused_fields(input: &RegistrationInput) -> Vec<&'static str> {
        fields(ClientMetadata::validate(input, &server()))
    }

    #[test]
    fn a_well_formed_web_app_registers() {
        let metadata = ClientMetadata::validate(&web_app(), &server()).unwrap();

        assert_eq!(
            metadata.token_endpoint_auth_method,
            AuthMethod::ClientSecretBasic
        );
        assert!(metadata.allows_grant(GrantType::RefreshToken));
        assert!(metadata.allows_response_type(ResponseType::Code));
    }

    #[test]
    fn javascript_redirect_uri_is_refused_on_its_field() {
        let input = RegistrationInput {
            redirect_uris: vec!["javascript:alert(1)//".to_owned()],
            ..web_app()
        };

        assert_eq!(refused_fields(&input), vec!["redirect_uris"]);
    }

    #[test]
    fn unknown_or_disabled_grant_types_are_refused() {
        let input = RegistrationInput {
            grant_types: vec!["authorization_code".to_owned(), "urn:bogus".to_owned()],
            ..web_app()
        };
        assert_eq!(refused_fields(&input), vec!["grant_types"]);

        let mut no_password = server();
        no_password
            .grant_types
            .retain(|g| *g != GrantType::Password);
        let input = RegistrationInput {
            grant_types: vec!["authorization_code".to_owned(), "password".to_owned()],
            ..web_app()
        };
        assert_eq!(
            fields(ClientMetadata::validate(&input, &no_password)),
            vec!["grant_types"]
        );
    }

    #[test]
    fn implicit_needs_auth_method_none() {
        let input = RegistrationInput {
            grant_types: vec!["implicit".to_owned()],
            response_types: vec!["token".to_owned()],
            ..web_app()
        };

        assert_eq!(refused_fields(&input), vec!["token_endpoint_auth_method"]);
    }

    #[test]
    fn openid_implicit_response_types_register_with_the_implicit_grant_only() {
        let spa = |response_types: &[&str], grant_types: &[&str]| RegistrationInput {
            grant_types: grant_types.iter().map(|g| (*g).to_owned()).collect(),
            response_types: response_types.iter().map(|r| (*r).to_owned()).collect(),
            token_endpoint_auth_method: "none".to_owned(),
            ..web_app()
        };

        let metadata = ClientMetadata::validate(
            &spa(&["id_token", "token id_token"], &["implicit"]),
            &server(),
        )
        .unwrap();
        assert_eq!(
            metadata.response_types,
            [ResponseType::IdToken, ResponseType::IdTokenToken]
        );
        assert!(refused_fields(&spa(&["id_token"], &["authorization_code"]))
            .contains(&"response_types"));
        assert!(
            refused_fields(&spa(&["code", "id_token"], &["authorization_code"]))
                .contains(&"response_types")
        );
        assert!(refused_fields(&spa(&["id_token code"], &["implicit"])).contains(&"response_types"));
    }

    #[test]
    fn multi_valued_response_types_are_sets_and_disabling_implicit_removes_them() {
        assert_eq!(
            ResponseType::parse("id_token token"),
            Some(ResponseType::IdTokenToken)
        );
        assert_eq!(
            ResponseType::parse("token id_token"),
            Some(ResponseType::IdTokenToken)
        );
        for bad in [
            "id_token  token",
            "id_token token token",
            "ID_TOKEN",
            " id_token",
        ] {
            assert_eq!(ResponseType::parse(bad), None, "{bad:?}");
        }
        for r in ResponseType::ALL {
            assert_eq!(ResponseType::parse(r.as_str()), Some(r));
        }
        let off = server().without(&[GrantType::Implicit]);
        assert_eq!(off.response_types, [ResponseType::Code]);
        assert_eq!(server().response_types, ResponseType::ALL);
    }

    #[test]
    fn the_openid_scopes_are_always_known() {
        let bare = ServerCapabilities::all(Scope::default());
        assert_eq!(
            bare.scopes.to_string(),
            "openid profile email offline_access"
        );
        let extra = ServerCapabilities::all(Scope::parse("email calendar").unwrap());
        assert_eq!(
            extra.scopes.to_string(),
            "openid profile email offline_access calendar"
        );
    }

    #[test]
    fn response_types_must_agree_with_grant_types() {
        let input = RegistrationInput {
            response_types: vec!["token".to_owned()],
            ..web_app()
        };

        assert!(refused_fields(&input).contains(&"response_types"));
    }

    #[test]
    fn public_clients_cannot_use_client_credentials_or_password() {
        let input = RegistrationInput {
            grant_types: vec!["client_credentials".to_owned()],
            response_types: vec![],
            token_endpoint_auth_method: "none".to_owned(),
            ..web_app()
        };

        assert_eq!(refused_fields(&input), vec!["grant_types"]);
    }

    #[test]
    fn scope_outside_the_server_scopes_is_refused() {
        let input = RegistrationInput {
            scope: "profile admin".to_owned(),
            ..web_app()
        };

        assert_eq!(refused_fields(&input), vec!["scope"]);
    }

    #[test]
    fn names_with_bidi_controls_or_invisible_characters_are_refused() {
        for name in [
            "Bank\u{202E}tnuocca",
            "Good \u{2066}app\u{2069}",
            "Pay\u{200B}Pal",
            "Pay\u{200D}Pal",
            "App\u{FEFF}",
            "\u{061C}App",
            "App\u{E0041}",
            "App\u{00AD}x",
            "Line\nbreak",
            "Tab\there",
        ] {
            let input = RegistrationInput {
                client_name: name.to_owned(),
                ..web_app()
            };
            assert_eq!(refused_fields(&input), vec!["client_name"], "{name:?}");
        }
        assert_eq!(
            validate_client_name("  Café 日本 🚀  ").unwrap(),
            "Café 日本 🚀"
        );
    }

    #[test]
    fn client_uri_with_userinfo_or_hidden_characters_is_refused() {
        for uri in [
            "https://your-bank.example@evil.example/",
            "https://user:pass@evil.example/",
            "https://@evil.example/",
            "https://:@evil.example/",
            "https://evil.example/\u{202E}moc.knab",
            "https://evil.example/a\u{200B}",
            "ftp://files.example.com/",
        ] {
            let input = RegistrationInput {
                client_uri: uri.to_owned(),
                ..web_app()
            };
            assert_eq!(refused_fields(&input), vec!["client_uri"], "{uri:?}");
        }
        assert_eq!(validate_client_uri(" ").unwrap(), None);
        assert_eq!(
            validate_client_uri("https://app.example.com/about?x=a@b#@")
                .unwrap()
                .as_deref(),
            Some("https://app.example.com/about?x=a@b#@")
        );
    }

    #[test]
    fn unknown_auth_method_and_empty_name_are_each_reported() {
        let input = RegistrationInput {
            client_name: " ".to_owned(),
            token_endpoint_auth_method: "private_key_jwt".to_owned(),
            ..web_app()
        };

        let found = refused_fields(&input);
        assert!(found.contains(&"client_name"));
        assert!(found.contains(&"token_endpoint_auth_method"));
    }

    #[test]
    fn oversize_fields_are_refused_each_on_its_field_without_echoing_the_value() {
        let long = format!(
            "https://client.example.com/{}",
            "a".repeat(MAX_REDIRECT_URI_BYTES)
        );
        let input = RegistrationInput {
            client_name: "n".repeat(MAX_CLIENT_NAME_CHARS + 1),
            client_uri: long.clone(),
            redirect_uris: vec![long.clone()],
            scope: "profile ".repeat(200),
            grant_types: vec!["x".repeat(MAX_NAME_VALUE_BYTES + 1)],
            response_types: vec!["code".to_owned(); MAX_TYPE_ENTRIES + 1],
            token_endpoint_auth_method: "m".repeat(MAX_NAME_VALUE_BYTES + 1),
            post_logout_redirect_uris: vec![long.clone()],
            id_token_signed_response_alg: "a".repeat(MAX_NAME_VALUE_BYTES + 1),
            default_max_age: "9".repeat(MAX_NAME_VALUE_BYTES + 1),
            require_auth_time: false,
        };

        let errors = ClientMetadata::validate(&input, &server()).unwrap_err();

        let mut found: Vec<&str> = errors.iter().map(|e| e.field).collect();
        found.sort_unstable();
        assert_eq!(
            found,
            vec![
                "client_name",
                "client_uri",
                "default_max_age",
                "grant_types",
                "id_token_signed_response_alg",
                "post_logout_redirect_uris",
                "redirect_uris",
                "response_types",
                "scope",
                "token_endpoint_auth_method"
            ]
        );
        assert!(
            errors.iter().all(|e| !e.message.contains("aaaa")),
            "{errors:?}"
        );
    }

    #[test]
    fn values_at_the_size_limits_are_accepted() {
        let uri = format!(
            "https://client.example.com/{}",
            "a".repeat(MAX_REDIRECT_URI_BYTES - 27)
        );
        assert_eq!(uri.len(), MAX_REDIRECT_URI_BYTES);
        let input = RegistrationInput {
            client_name: "é".repeat(MAX_CLIENT_NAME_CHARS),
            client_uri: uri.clone(),
            redirect_uris: vec![uri],
            ..web_app()
        };

        assert!(ClientMetadata::validate(&input, &server()).is_ok());
    }

    #[test]
    fn more_redirect_uris_than_the_server_allows_are_refused() {
        let mut limited = server();
        limited.max_redirect_uris = 2;
        let uris = |n: usize| {
            (0..n)
                .map(|i| format!("https://client.example.com/cb{i}"))
                .collect::<Vec<_>>()
        };

        let two = RegistrationInput {
            redirect_uris: uris(2),
            ..web_app()
        };
        let three = RegistrationInput {
            redirect_uris: uris(3),
            ..web_app()
        };

        assert!(ClientMetadata::validate(&two, &limited).is_ok());
        assert_eq!(
            fields(ClientMetadata::validate(&three, &limited)),
            vec!["redirect_uris"]
        );
    }

    #[test]
    fn openid_metadata_defaults_to_rs256_without_max_age() {
        let metadata = ClientMetadata::validate(&web_app(), &server()).unwrap();

        assert_eq!(metadata.id_token_signed_response_alg, JwsAlgorithm::Rs256);
        assert_eq!(metadata.default_max_age, None);
        assert!(!metadata.require_auth_time);
        assert!(metadata.post_logout_redirect_uris.is_empty());
    }

    #[test]
    fn openid_metadata_is_kept_when_valid() {
        let input = RegistrationInput {
            post_logout_redirect_uris: vec![
                "https://client.example.com/bye".to_owned(),
                " ".to_owned(),
                "https://client.example.com/bye".to_owned(),
                "http://127.0.0.1:8080/signed-out".to_owned(),
            ],
            id_token_signed_response_alg: "EdDSA".to_owned(),
            default_max_age: " 3600 ".to_owned(),
            require_auth_time: true,
            ..web_app()
        };

        let metadata = ClientMetadata::validate(&input, &server()).unwrap();

        assert_eq!(
            metadata
                .post_logout_redirect_uris
                .iter()
                .map(RedirectUri::as_str)
                .collect::<Vec<_>>(),
            vec![
                "https://client.example.com/bye",
                "http://127.0.0.1:8080/signed-out"
            ]
        );
        assert_eq!(metadata.id_token_signed_response_alg, JwsAlgorithm::EdDsa);
        assert_eq!(metadata.default_max_age.map(Lifetime::seconds), Some(3600));
        assert!(metadata.require_auth_time);
    }

    #[test]
    fn post_logout_redirect_uris_follow_the_redirect_uri_rules() {
        for bad in [
            "javascript:alert(1)//",
            "http://client.example.com/bye",
            "https://client.example.com/bye#x",
            "https://user@client.example.com/bye",
            "/relative",
        ] {
            let input = RegistrationInput {
                post_logout_redirect_uris: vec![bad.to_owned()],
                ..web_app()
            };
            assert_eq!(
                refused_fields(&input),
                vec!["post_logout_redirect_uris"],
                "{bad}"
            );
        }
        let mut limited = server();
        limited.max_redirect_uris = 2;
        let three = RegistrationInput {
            post_logout_redirect_uris: (0..3)
                .map(|i| format!("https://client.example.com/bye{i}"))
                .collect(),
            ..web_app()
        };
        assert_eq!(
            fields(ClientMetadata::validate(&three, &limited)),
            vec!["post_logout_redirect_uris"]
        );
    }

    #[test]
    fn post_logout_redirects_match_exactly() {
        let input = RegistrationInput {
            post_logout_redirect_uris: vec!["http://127.0.0.1:8080/bye?x=1".to_owned()],
            ..web_app()
        };
        let metadata = ClientMetadata::validate(&input, &server()).unwrap();

        assert!(metadata.allows_post_logout_redirect("http://127.0.0.1:8080/bye?x=1"));
        for other in [
            "http://127.0.0.1:9090/bye?x=1",
            "http://127.0.0.1:8080/bye",
            "http://127.0.0.1:8080/bye?x=1&y=2",
            "http://127.0.0.1:8080/BYE?x=1",
        ] {
            assert!(!metadata.allows_post_logout_redirect(other), "{other}");
        }
    }

    #[test]
    fn unsigned_hmac_or_unknown_id_token_algorithms_are_refused() {
        for bad in ["none", "HS256", "HS512", "rs256", "PS256", "ES512"] {
            let input = RegistrationInput {
                id_token_signed_response_alg: bad.to_owned(),
                ..web_app()
            };
            assert_eq!(
                refused_fields(&input),
                vec!["id_token_signed_response_alg"],
                "{bad}"
            );
        }
        for good in ["RS256", "ES256", "EdDSA", ""] {
            assert!(validate_id_token_alg(good).is_ok(), "{good}");
        }
    }

    #[test]
    fn default_max_age_must_be_positive_whole_seconds() {
        for bad in ["0", "-5", "1.5", "abc", "315360001", "99999999999999999999"] {
            let input = RegistrationInput {
                default_max_age: bad.to_owned(),
                ..web_app()
            };
            assert_eq!(refused_fields(&input), vec!["default_max_age"], "{bad}");
        }
        assert_eq!(
            validate_default_max_age("1")
                .unwrap()
                .map(Lifetime::seconds),
            Some(1)
        );
        assert_eq!(
            validate_default_max_age("315360000")
                .unwrap()
                .map(Lifetime::seconds),
            Some(MAX_DEFAULT_MAX_AGE_SECONDS)
        );
    }

    #[test]
    fn every_application_type_fills_a_registration_that_validates() {
        for capabilities in [server(), {
            let mut s = server();
            s.grant_types
                .retain(|g| !matches!(g, GrantType::Implicit | GrantType::Password));
            s
        }] {
            for app in ApplicationType::ALL {
                assert_eq!(ApplicationType::parse(app.as_str()), Some(app));
                let preset = app.preset(&capabilities);
                let input = RegistrationInput {
                    grant_types: preset.grant_types,
                    response_types: preset.response_types,
                    token_endpoint_auth_method: preset.token_endpoint_auth_method,
                    ..web_app()
                };
                let metadata = ClientMetadata::validate(&input, &capabilities)
                    .unwrap_or_else(|e| panic!("{app:?}: {e:?}"));
                assert_eq!(metadata.token_endpoint_auth_method, app.auth_method());
            }
        }
    }
}
