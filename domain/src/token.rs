//! Access and refresh tokens (RFC 6749 §1.4, §1.5, §6; RFC 9700 §4.14).
//!
//! Tokens are stored as digests, one record per token, each in a
//! [`FamilyId`]. A refresh token is rotated on every use: it is marked
//! `rotated_at` and a new one is issued in the same family. Presenting a
//! rotated refresh token again, outside a short grace window for concurrent
//! duplicates, revokes the whole family.

use crate::id_token::Authentication;
use crate::ids::{ClientId, FamilyId, TokenId, UserId};
use crate::scope::Scope;
use crate::secret::{PlainSecret, SecretDigest};
use crate::time::{Lifetime, Timestamp};

/// Which kind of token a record is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TokenKind {
    /// A bearer access token (RFC 6750).
    Access,
    /// A refresh token (RFC 6749 §1.5).
    Refresh,
}

impl TokenKind {
    /// The stored name, which is also the RFC 7009 `token_type_hint` value.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Access => "access_token",
            Self::Refresh => "refresh_token",
        }
    }

    /// Parses the stored name.
    #[must_use]
    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "access_token" => Some(Self::Access),
            "refresh_token" => Some(Self::Refresh),
            _ => None,
        }
    }
}

/// One stored token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenRecord {
    /// Identifier.
    pub id: TokenId,
    /// The family (grant) it descends from.
    pub family: FamilyId,
    /// Access or refresh.
    pub kind: TokenKind,
    /// SHA-256 of the token.
    pub digest: SecretDigest,
    /// The client it was issued to.
    pub client_id: ClientId,
    /// The resource owner, `None` for client credentials.
    pub user_id: Option<UserId>,
    /// The scope granted.
    pub scope: Scope,
    /// When it was issued.
    pub issued_at: Timestamp,
    /// When it expires.
    pub expires_at: Timestamp,
    /// When it was revoked, if it was.
    pub revoked_at: Option<Timestamp>,
    /// When a refresh token was exchanged for a new one, if it was.
    pub rotated_at: Option<Timestamp>,
    /// The authentication of the OpenID grant the token descends from,
    /// repeated in the ID token a refresh returns (Core §12.2); `None`
    /// outside OpenID grants (password, client credentials, plain OAuth).
    pub authentication: Option<Authentication>,
}

impl TokenRecord {
    /// Whether the token can be used at `now`: not revoked, not expired and,
    /// for a refresh token, not rotated.
    #[must_use]
    pub fn is_active(&self, now: Timestamp) -> bool {
        self.revoked_at.is_none() && now < self.expires_at && self.rotated_at.is_none()
    }
}

/// Lifetimes of what the server issues.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lifetimes {
    /// Authorization codes (default 60 s; RFC 6749 §4.1.2 says at most 10 min).
    pub code: Lifetime,
    /// Access tokens (default 1 h).
    pub access_token: Lifetime,
    /// ID tokens' `exp` (default 1 h; OpenID Connect Core §2).
    pub id_token: Lifetime,
    /// Refresh tokens, absolute from the start of the family: rotation never
    /// extends it (default 30 days).
    pub refresh_token: Lifetime,
    /// How long after a rotation a duplicate of the old refresh token is
    /// refused without revoking the family (default 10 s).
    pub refresh_grace: Lifetime,
}

impl Default for Lifetimes {
    fn default() -> Self {
        Self {
            code: Lifetime::at_least_one_second(60),
            access_token: Lifetime::at_least_one_second(3600),
            id_token: Lifetime::at_least_one_second(3600),
            refresh_token: Lifetime::at_least_one_second(30 * 24 * 3600),
            refresh_grace: Lifetime::at_least_one_second(10),
        }
    }
}

/// Tokens to be stored for one issuance: an access token and, for grants
/// that issue one, a refresh token, all in one family.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewTokens {
    /// The access token record.
    pub access: TokenRecord,
    /// The refresh token record, if any.
    pub refresh: Option<TokenRecord>,
}

/// What the token endpoint returns once (RFC 6749 §5.1): the secrets in clear.
#[derive(Debug)]
pub struct IssuedTokens {
    /// The access token.
    pub access_token: PlainSecret,
    /// Seconds until the access token expires.
    pub expires_in: i64,
    /// The scope granted (always sent).
    pub scope: Scope,
    /// The refresh token, if one was issued.
    pub refresh_token: Option<PlainSecret>,
    /// The ID token (a compact JWS), for OpenID requests (Core §3.1.3.3).
    pub id_token: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{sample_token, t};

    #[test]
    fn token_is_active_only_before_expiry_and_while_not_revoked_or_rotated() {
        let token = sample_token(TokenKind::Refresh, t(0), t(100));

        assert!(token.is_active(t(50)));
        assert!(!token.is_active(t(100)));
        assert!(!TokenRecord {
            revoked_at: Some(t(10)),
            ..token.clone()
        }
        .is_active(t(50)));
        assert!(!TokenRecord {
            rotated_at: Some(t(10)),
            ..token
        }
        .is_active(t(50)));
    }
}
