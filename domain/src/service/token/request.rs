//! The token request, parsed (RFC 6749 §3.2, §4.1.3, §4.3.2, §4.4.2, §6).
//!
//! [`TokenRequest::parse`] reads the form once into one variant per grant,
//! carrying that grant's fields; the grants never read the form themselves.
//! Each field is read with the repetition rule of RFC 6749 §3.2 (a
//! parameter at most once) and the required ones must be present.

use std::fmt;

use crate::client::{Client, GrantType};
use crate::error::OAuthError;
use crate::params::Params;
use crate::scope::Scope;
use crate::secret::PlainSecret;

use super::super::Policy;

/// A grant type of the token endpoint. The implicit grant has no variant:
/// it is an authorization-endpoint response type (RFC 6749 §4.2), so no
/// token request can name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TokenGrantType {
    /// `authorization_code` (RFC 6749 §4.1.3).
    AuthorizationCode,
    /// `password` (RFC 6749 §4.3).
    Password,
    /// `client_credentials` (RFC 6749 §4.4).
    ClientCredentials,
    /// `refresh_token` (RFC 6749 §6).
    RefreshToken,
}

impl TokenGrantType {
    /// The token-endpoint grant named `value`, if any.
    #[must_use]
    pub fn parse(value: &str) -> Option<Self> {
        match GrantType::parse(value)? {
            GrantType::AuthorizationCode => Some(Self::AuthorizationCode),
            GrantType::Password => Some(Self::Password),
            GrantType::ClientCredentials => Some(Self::ClientCredentials),
            GrantType::RefreshToken => Some(Self::RefreshToken),
            GrantType::Implicit => None,
        }
    }

    /// The grant type as registered for clients and servers.
    #[must_use]
    pub fn grant_type(self) -> GrantType {
        match self {
            Self::AuthorizationCode => GrantType::AuthorizationCode,
            Self::Password => GrantType::Password,
            Self::ClientCredentials => GrantType::ClientCredentials,
            Self::RefreshToken => GrantType::RefreshToken,
        }
    }

    /// The `grant_type` of a request, when this server has it enabled.
    ///
    /// # Errors
    /// `invalid_request` when it is missing or repeated,
    /// `unsupported_grant_type` when it is unknown or disabled.
    pub(crate) fn requested(params: &Params, policy: &Policy) -> Result<Self, OAuthError> {
        match params.get("grant_type")? {
            None => Err(OAuthError::missing("grant_type")),
            Some(raw) => Self::parse(raw)
                .filter(|g| policy.grant_enabled(g.grant_type()))
                .ok_or_else(|| {
                    OAuthError::unsupported_grant_type("the grant type is not supported")
                }),
        }
    }

    /// The grant's own rule about which authenticated clients may use it,
    /// checked with `unauthorized_client` before the request is read.
    ///
    /// # Errors
    /// `unauthorized_client`.
    pub(crate) fn check_client(self, client: &Client) -> Result<(), OAuthError> {
        match self {
            Self::ClientCredentials => super::client_credentials::check_client(client),
            Self::AuthorizationCode | Self::Password | Self::RefreshToken => Ok(()),
        }
    }
}

impl From<TokenGrantType> for GrantType {
    fn from(grant: TokenGrantType) -> Self {
        grant.grant_type()
    }
}

/// A token request: the grant and its fields.
#[derive(Debug)]
pub enum TokenRequest<'a> {
    /// RFC 6749 §4.1.3 with RFC 7636 §4.5.
    AuthorizationCode {
        /// `code`.
        code: PlainSecret,
        /// `redirect_uri`, as sent: compared exactly with the one of the
        /// authorization request (§4.1.3), never normalised.
        redirect_uri: Option<&'a str>,
        /// `code_verifier`, as sent. Its syntax is checked with the proof
        /// (client, then redirect URI, then verifier), so that a malformed
        /// verifier on someone else's code tells nothing more than a wrong
        /// one (RFC 9700 §4.5).
        code_verifier: Option<&'a str>,
    },
    /// RFC 6749 §4.3.2.
    Password {
        /// `username`, as sent: looked up as is, so that a name that could
        /// never be registered fails like a wrong password.
        username: &'a str,
        /// `password`.
        password: PlainSecret,
        /// `scope`.
        scope: ScopeRequest<'a>,
    },
    /// RFC 6749 §4.4.2.
    ClientCredentials {
        /// `scope`.
        scope: ScopeRequest<'a>,
    },
    /// RFC 6749 §6.
    RefreshToken {
        /// `refresh_token`.
        refresh_token: PlainSecret,
        /// `scope`.
        scope: ScopeRequest<'a>,
    },
}

impl<'a> TokenRequest<'a> {
    /// Parses a whole token request: its `grant_type`, then the grant's
    /// fields.
    ///
    /// # Errors
    /// As [`TokenGrantType::requested`] and [`Self::of_grant`].
    pub fn parse(params: &'a Params, policy: &Policy) -> Result<Self, OAuthError> {
        Self::of_grant(TokenGrantType::requested(params, policy)?, params)
    }

    /// Reads the fields of `grant` from the form.
    ///
    /// # Errors
    /// `invalid_request` for a missing required field or a repeated one.
    pub fn of_grant(grant: TokenGrantType, params: &'a Params) -> Result<Self, OAuthError> {
        let secret = |name| {
            params
                .require(name)
                .map(|value| PlainSecret::new(value.to_owned()))
        };
        Ok(match grant {
            TokenGrantType::AuthorizationCode => Self::AuthorizationCode {
                code: secret("code")?,
                redirect_uri: params.get("redirect_uri")?,
                code_verifier: params.get("code_verifier")?,
            },
            TokenGrantType::Password => Self::Password {
                username: params.require("username")?,
                password: secret("password")?,
                scope: ScopeRequest::read(params)?,
            },
            TokenGrantType::ClientCredentials => Self::ClientCredentials {
                scope: ScopeRequest::read(params)?,
            },
            TokenGrantType::RefreshToken => Self::RefreshToken {
                refresh_token: secret("refresh_token")?,
                scope: ScopeRequest::read(params)?,
            },
        })
    }

    /// The grant this request is for.
    #[must_use]
    pub fn grant_type(&self) -> TokenGrantType {
        match self {
            Self::AuthorizationCode { .. } => TokenGrantType::AuthorizationCode,
            Self::Password { .. } => TokenGrantType::Password,
            Self::ClientCredentials { .. } => TokenGrantType::ClientCredentials,
            Self::RefreshToken { .. } => TokenGrantType::RefreshToken,
        }
    }
}

/// The `scope` of a token request (RFC 6749 §3.3), resolved against what
/// the grant allows when the grant gets to it: a malformed or too wide
/// scope is refused after the grant's own checks, as before the request was
/// typed.
///
/// The form is read only then, so that even a repeated `scope`
/// (`invalid_request`) is reported after the grant's own checks: a replayed
/// refresh token still revokes its family (RFC 9700 §4.14.2) whatever else
/// the request carries.
#[derive(Clone, Copy)]
pub struct ScopeRequest<'a>(&'a Params);

impl<'a> ScopeRequest<'a> {
    // Infallible today; kept a `Result` so the variants read alike.
    #[allow(clippy::unnecessary_wraps)]
    fn read(params: &'a Params) -> Result<Self, OAuthError> {
        Ok(Self(params))
    }

    /// The scope to grant: the requested one within `allowed`, or `allowed`
    /// when none was requested.
    ///
    /// # Errors
    /// `invalid_request` for a repeated `scope`, `invalid_scope` (see
    /// [`Scope::resolve`]).
    pub fn resolve(self, allowed: &Scope) -> Result<Scope, OAuthError> {
        Scope::resolve(self.0.get("scope")?, allowed)
    }
}

impl fmt::Debug for ScopeRequest<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("ScopeRequest")
            .field(&self.0.get("scope").ok().flatten())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorCode;
    use crate::service::fixtures::world;

    fn parse(pairs: &[(&str, &str)]) -> Result<TokenGrantType, OAuthError> {
        let params = Params::from_pairs(pairs.iter().copied());
        TokenRequest::parse(&params, &world().services.policy).map(|r| r.grant_type())
    }

    #[test]
    fn implicit_is_not_a_token_grant_type() {
        assert_eq!(TokenGrantType::parse("implicit"), None);
        for grant in GrantType::ALL {
            let token_grant = TokenGrantType::parse(grant.as_str());
            assert_eq!(token_grant.is_none(), grant == GrantType::Implicit);
            assert!(token_grant.is_none_or(|g| g.grant_type() == grant));
        }
    }

    #[test]
    fn each_grant_reads_its_required_fields() {
        assert_eq!(
            parse(&[("grant_type", "refresh_token"), ("refresh_token", "r")]).unwrap(),
            TokenGrantType::RefreshToken
        );
        for missing in [
            &[("grant_type", "authorization_code")][..],
            &[("grant_type", "password"), ("username", "alice")],
            &[("grant_type", "password"), ("password", "pw")],
            &[("grant_type", "refresh_token")],
        ] {
            assert_eq!(
                parse(missing).unwrap_err().code,
                ErrorCode::InvalidRequest,
                "{missing:?}"
            );
        }
    }

    #[test]
    fn a_repeated_scope_is_invalid_request_when_the_grant_resolves_it() {
        let params = Params::from_pairs([
            ("grant_type", "client_credentials"),
            ("scope", "a"),
            ("scope", "b"),
        ]);
        let request = TokenRequest::parse(&params, &world().services.policy).unwrap();
        let TokenRequest::ClientCredentials { scope } = request else {
            panic!("{request:?}");
        };
        let allowed = Scope::parse("a b").unwrap();
        assert_eq!(
            scope.resolve(&allowed).unwrap_err().code,
            ErrorCode::InvalidRequest
        );
    }

    #[test]
    fn a_parsed_request_does_not_show_its_secrets() {
        let params = Params::from_pairs([
            ("grant_type", "password"),
            ("username", "alice"),
            ("password", "hunter2-secret"),
        ]);
        let request = TokenRequest::parse(&params, &world().services.policy).unwrap();

        let shown = format!("{request:?}");

        assert!(!shown.contains("hunter2-secret"), "{shown}");
        assert!(shown.contains("alice"), "{shown}");
    }
}
