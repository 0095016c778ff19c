//! Errors of the protocol core.
//!
//! [`ErrorCode`] holds the error codes of RFC 6749 §4.1.2.1 and §5.2, RFC 6750
//! §3.1 and RFC 7009 §2.2.1. [`OAuthError`] pairs a code with a description
//! that is always safe to show to the caller: it never carries a secret or an
//! internal cause. [`StoreError`] is what the ports return.

use std::borrow::Cow;
use std::fmt;

/// An OAuth 2.0 error code, as sent on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorCode {
    /// The request is missing a required parameter, includes an invalid
    /// parameter value, includes a parameter more than once, or is otherwise
    /// malformed (RFC 6749 §5.2).
    InvalidRequest,
    /// Client authentication failed (RFC 6749 §5.2).
    InvalidClient,
    /// The grant or refresh token is invalid, expired, revoked, does not match
    /// the redirection URI, or was issued to another client (RFC 6749 §5.2).
    InvalidGrant,
    /// The client is not authorized to use this grant or response type
    /// (RFC 6749 §4.1.2.1, §5.2).
    UnauthorizedClient,
    /// The grant type is not supported by the authorization server (RFC 6749 §5.2).
    UnsupportedGrantType,
    /// The response type is not supported by the authorization server
    /// (RFC 6749 §4.1.2.1).
    UnsupportedResponseType,
    /// The requested scope is invalid, unknown, malformed, or exceeds the
    /// scope granted (RFC 6749 §5.2).
    InvalidScope,
    /// The resource owner or authorization server denied the request
    /// (RFC 6749 §4.1.2.1).
    AccessDenied,
    /// The server met an unexpected condition (RFC 6749 §4.1.2.1).
    ServerError,
    /// The server is temporarily unable to handle the request (RFC 6749 §4.1.2.1).
    TemporarilyUnavailable,
    /// The access token is expired, revoked, malformed, or invalid (RFC 6750 §3.1).
    InvalidToken,
    /// The request requires higher privileges than the access token provides
    /// (RFC 6750 §3.1).
    InsufficientScope,
    /// The server does not support revocation of the presented token type
    /// (RFC 7009 §2.2.1).
    UnsupportedTokenType,
    /// Too many failed attempts; try again later. Not an RFC 6749 code: it is
    /// sent with HTTP 429 and `Retry-After` (RFC 6585 §4).
    SlowDown,
    /// `prompt=none`, and the user must log in first (OpenID Connect Core
    /// 1.0 §3.1.2.6).
    LoginRequired,
    /// `prompt=none`, and the user must consent first (Core §3.1.2.6).
    ConsentRequired,
    /// `prompt=none`, and the request needs some other user interaction
    /// (Core §3.1.2.6).
    InteractionRequired,
    /// The `request` parameter is not supported (Core §3.1.2.6, §6.1).
    RequestNotSupported,
    /// The `request_uri` parameter is not supported (Core §3.1.2.6, §6.2).
    RequestUriNotSupported,
}

impl ErrorCode {
    /// The code's wire string.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::InvalidRequest => "invalid_request",
            Self::InvalidClient => "invalid_client",
            Self::InvalidGrant => "invalid_grant",
            Self::UnauthorizedClient => "unauthorized_client",
            Self::UnsupportedGrantType => "unsupported_grant_type",
            Self::UnsupportedResponseType => "unsupported_response_type",
            Self::InvalidScope => "invalid_scope",
            Self::AccessDenied => "access_denied",
            Self::ServerError => "server_error",
            Self::TemporarilyUnavailable => "temporarily_unavailable",
            Self::InvalidToken => "invalid_token",
            Self::InsufficientScope => "insufficient_scope",
            Self::UnsupportedTokenType => "unsupported_token_type",
            Self::SlowDown => "slow_down",
            Self::LoginRequired => "login_required",
            Self::ConsentRequired => "consent_required",
            Self::InteractionRequired => "interaction_required",
            Self::RequestNotSupported => "request_not_supported",
            Self::RequestUriNotSupported => "request_uri_not_supported",
        }
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An OAuth error: a code and a description safe to show to anyone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OAuthError {
    /// The RFC error code.
    pub code: ErrorCode,
    /// A human-readable description; never contains a secret.
    pub description: Cow<'static, str>,
    /// For `slow_down`: seconds until the caller may try again.
    pub retry_after: Option<i64>,
    /// The security event this error stands for, if any: the adapter logs it
    /// by this value, never by the description's text.
    pub event: Option<SecurityEvent>,
}

/// A security event a client endpoint reports (SECURITY.md LG-02). The
/// adapter logs it under [`SecurityEvent::as_str`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SecurityEvent {
    /// A spent authorization code was replayed by its holder; the tokens
    /// issued from it are revoked (RFC 6749 §4.1.2, RFC 9700 §4.5).
    CodeReuseDetected,
    /// A rotated refresh token was reused; its family is revoked (RFC 9700
    /// §4.14.2).
    RefreshReuseDetected,
    /// Client authentication failed (RFC 6749 §5.2 `invalid_client`), or was
    /// slowed down past the per-address limit.
    ClientAuthFailed,
    /// The token endpoint refused a request for another reason.
    TokenRefused,
    /// The revocation endpoint refused a request.
    RevocationRefused,
    /// The introspection endpoint refused a request.
    IntrospectionRefused,
}

impl SecurityEvent {
    /// The event's name in the logs.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::CodeReuseDetected => "code_reuse_detected",
            Self::RefreshReuseDetected => "refresh_reuse_detected",
            Self::ClientAuthFailed => "client_auth_failed",
            Self::TokenRefused => "token_refused",
            Self::RevocationRefused => "revocation_refused",
            Self::IntrospectionRefused => "introspection_refused",
        }
    }

    /// Whether the event reports a replay that revoked tokens.
    #[must_use]
    pub fn is_replay(self) -> bool {
        matches!(self, Self::CodeReuseDetected | Self::RefreshReuseDetected)
    }
}

impl fmt::Display for SecurityEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

macro_rules! constructors {
    ($($(#[$doc:meta])* $name:ident => $code:ident;)*) => {
        $(
            $(#[$doc])*
            pub fn $name(description: impl Into<Cow<'static, str>>) -> Self {
                Self::new(ErrorCode::$code, description)
            }
        )*
    };
}

impl OAuthError {
    /// An error with the given code and description.
    pub fn new(code: ErrorCode, description: impl Into<Cow<'static, str>>) -> Self {
        Self {
            code,
            description: description.into(),
            retry_after: None,
            event: None,
        }
    }

    /// The same error, standing for the security `event`.
    #[must_use]
    pub fn with_event(self, event: SecurityEvent) -> Self {
        Self {
            event: Some(event),
            ..self
        }
    }

    /// `invalid_client`: always the security event
    /// [`SecurityEvent::ClientAuthFailed`] (every `invalid_client` a client
    /// endpoint answers is a failed client authentication).
    pub fn invalid_client(description: impl Into<Cow<'static, str>>) -> Self {
        Self::new(ErrorCode::InvalidClient, description).with_event(SecurityEvent::ClientAuthFailed)
    }

    constructors! {
        /// `invalid_request`.
        invalid_request => InvalidRequest;
        /// `invalid_grant`.
        invalid_grant => InvalidGrant;
        /// `unauthorized_client`.
        unauthorized_client => UnauthorizedClient;
        /// `unsupported_grant_type`.
        unsupported_grant_type => UnsupportedGrantType;
        /// `unsupported_response_type`.
        unsupported_response_type => UnsupportedResponseType;
        /// `invalid_scope`.
        invalid_scope => InvalidScope;
        /// `access_denied`.
        access_denied => AccessDenied;
        /// `server_error`.
        server_error => ServerError;
        /// `temporarily_unavailable`.
        temporarily_unavailable => TemporarilyUnavailable;
        /// `invalid_token`.
        invalid_token => InvalidToken;
        /// `insufficient_scope`.
        insufficient_scope => InsufficientScope;
        /// `unsupported_token_type`.
        unsupported_token_type => UnsupportedTokenType;
        /// `login_required` (Core §3.1.2.6).
        login_required => LoginRequired;
        /// `consent_required` (Core §3.1.2.6).
        consent_required => ConsentRequired;
        /// `interaction_required` (Core §3.1.2.6).
        interaction_required => InteractionRequired;
        /// `request_not_supported` (Core §6.1).
        request_not_supported => RequestNotSupported;
        /// `request_uri_not_supported` (Core §6.2).
        request_uri_not_supported => RequestUriNotSupported;
    }

    /// Too many failed attempts: try again in `seconds` (HTTP 429).
    #[must_use]
    pub fn slow_down(seconds: i64) -> Self {
        Self {
            retry_after: Some(seconds.max(1)),
            ..Self::new(
                ErrorCode::SlowDown,
                "too many failed attempts; try again later",
            )
        }
    }

    /// The error for a parameter sent more than once (RFC 6749 §3.1, §3.2).
    #[must_use]
    pub fn repeated(name: &str) -> Self {
        Self::invalid_request(format!("parameter '{name}' is repeated"))
    }

    /// The error for a required parameter that is absent.
    #[must_use]
    pub fn missing(name: &str) -> Self {
        Self::invalid_request(format!("parameter '{name}' is missing"))
    }
}

impl fmt::Display for OAuthError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code, self.description)
    }
}

impl std::error::Error for OAuthError {}

/// What a repository port can fail with.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A unique key already exists (for example a username or client id).
    #[error("the record already exists")]
    Conflict,
    /// A user or client the write refers to does not exist (any more): it
    /// was deleted between two steps of the request (a foreign key failed).
    /// Each use case answers it with its protocol's error, never a 5xx.
    #[error("a record it refers to no longer exists")]
    Gone,
    /// The store cannot be reached right now (pool timeout, closed connection,
    /// locked database); the request may be retried.
    #[error("the store is unavailable")]
    Unavailable(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// Any other failure of the store.
    #[error("the store failed")]
    Other(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl From<StoreError> for OAuthError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::Unavailable(_) => {
                Self::temporarily_unavailable("the service is temporarily unavailable")
            }
            // The use cases that can meet it map it more precisely (the
            // token endpoint to invalid_client or invalid_grant).
            StoreError::Gone => {
                Self::invalid_grant("the user or client of this request no longer exists")
            }
            StoreError::Conflict | StoreError::Other(_) => {
                Self::server_error("the server met an unexpected condition")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn security_event_names_are_the_logged_ones() {
        let names: Vec<_> = [
            SecurityEvent::CodeReuseDetected,
            SecurityEvent::RefreshReuseDetected,
            SecurityEvent::ClientAuthFailed,
            SecurityEvent::TokenRefused,
            SecurityEvent::RevocationRefused,
            SecurityEvent::IntrospectionRefused,
        ]
        .map(SecurityEvent::as_str)
        .into();
        assert_eq!(
            names,
            [
                "code_reuse_detected",
                "refresh_reuse_detected",
                "client_auth_failed",
                "token_refused",
                "revocation_refused",
                "introspection_refused",
            ]
        );
    }

    #[test]
    fn invalid_client_is_a_failed_client_authentication_and_others_are_no_event() {
        assert_eq!(
            OAuthError::invalid_client("x").event,
            Some(SecurityEvent::ClientAuthFailed)
        );
        assert_eq!(OAuthError::invalid_grant("x").event, None);
        assert_eq!(OAuthError::slow_down(5).event, None);
    }

    #[test]
    fn unavailable_store_maps_to_temporarily_unavailable() {
        let error: OAuthError = StoreError::Unavailable("pool timed out".into()).into();

        assert_eq!(error.code, ErrorCode::TemporarilyUnavailable);
        assert!(!error.description.contains("pool"));
    }

    #[test]
    fn wire_strings_are_the_rfc_codes() {
        assert_eq!(ErrorCode::InvalidGrant.as_str(), "invalid_grant");
        assert_eq!(
            ErrorCode::UnsupportedTokenType.as_str(),
            "unsupported_token_type"
        );
        assert_eq!(
            OAuthError::repeated("scope").code,
            ErrorCode::InvalidRequest
        );
    }
}
