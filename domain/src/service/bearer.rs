//! Bearer token validation for protected resources (RFC 6750).
//!
//! The token is read from the `Authorization` header (§2.1; the scheme is
//! case-insensitive) and, where a resource accepts it, from the
//! `access_token` member of a form-encoded POST body (§2.2: UserInfo, Core
//! §5.3.1); never from the URL (RFC 9700 §4.3.2).

use crate::error::StoreError;
use crate::secret::SecretDigest;
use crate::token::{TokenKind, TokenRecord};
use crate::user::User;

use super::Services;

/// Why a bearer request is refused (RFC 6750 §3.1).
#[derive(Debug)]
pub enum BearerError {
    /// No bearer credentials at all: 401 with a bare challenge.
    Missing,
    /// A malformed `Authorization: Bearer` header or body token: 400
    /// `invalid_request`.
    Malformed,
    /// The token was sent by more than one method, or more than once in
    /// the body (RFC 6750 §2: "MUST NOT use more than one method"): 400
    /// `invalid_request`.
    Repeated,
    /// Unknown, expired, revoked or non-access token: 401 `invalid_token`.
    InvalidToken,
    /// The token lacks the scope: 403 `insufficient_scope`.
    InsufficientScope(&'static str),
    /// The resource is about a user and the token has none (client
    /// credentials): 403 `insufficient_scope`.
    NoUser(&'static str),
    /// The store failed.
    Store(StoreError),
}

impl From<StoreError> for BearerError {
    fn from(error: StoreError) -> Self {
        Self::Store(error)
    }
}

/// A validated access token and its user.
#[derive(Debug)]
pub struct BearerGrant {
    /// The token record.
    pub token: TokenRecord,
    /// Its user.
    pub user: User,
}

/// Longest bearer token read.
const MAX_TOKEN_LEN: usize = 1024;

/// Extracts the token of an `Authorization: Bearer <token>` header.
///
/// # Errors
/// `Missing` for no header or another scheme; `Malformed` when the value is
/// not exactly one `b64token` (RFC 6750 §2.1).
pub fn parse_bearer_header(header: Option<&str>) -> Result<&str, BearerError> {
    let header = header.ok_or(BearerError::Missing)?;
    let (scheme, rest) = header.split_once(' ').unwrap_or((header, ""));
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(BearerError::Missing);
    }
    checked_token(rest.trim_matches(' '))
}

/// `token` when it is one `b64token` of at most [`MAX_TOKEN_LEN`] bytes
/// (RFC 6750 §2.1), else `Malformed`.
fn checked_token(token: &str) -> Result<&str, BearerError> {
    let body = token.trim_end_matches('=');
    let valid = !body.is_empty()
        && token.len() <= MAX_TOKEN_LEN
        && body.bytes().all(|b| {
            b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'+' | b'/')
        });
    if valid {
        Ok(token)
    } else {
        Err(BearerError::Malformed)
    }
}

/// The one token of a request that may carry it in the `Authorization`
/// header or as `access_token` in a form-encoded body (`body_tokens`: every
/// such value sent, RFC 6750 §2.2).
///
/// # Errors
/// `Repeated` when both carry one or the body has several (§2: one method,
/// once; `invalid_request`, §3.1); `Missing` when neither does; `Malformed`
/// for a token off the syntax.
pub fn presented_token<'a>(
    header: Option<&'a str>,
    body_tokens: &[&'a str],
) -> Result<&'a str, BearerError> {
    let from_header = match parse_bearer_header(header) {
        Err(BearerError::Missing) => None,
        other => Some(other),
    };
    match (from_header, body_tokens) {
        (Some(_), [_, ..]) | (None, [_, _, ..]) => Err(BearerError::Repeated),
        (Some(parsed), []) => parsed,
        (None, [token]) => checked_token(token),
        (None, []) => Err(BearerError::Missing),
    }
}

impl Services {
    /// Validates the bearer token of a request to a resource about its user
    /// that needs `required_scope`.
    ///
    /// # Errors
    /// A [`BearerError`].
    pub fn authenticate_bearer(
        &self,
        authorization: Option<&str>,
        required_scope: &'static str,
    ) -> Result<BearerGrant, BearerError> {
        let token = parse_bearer_header(authorization)?;
        let (record, user) = self.active_access_token(token)?;
        if !record.scope.contains(required_scope) {
            return Err(BearerError::InsufficientScope(required_scope));
        }
        if record.user_id.is_none() {
            return Err(BearerError::NoUser(required_scope));
        }
        let user = user.ok_or(BearerError::InvalidToken)?;
        Ok(BearerGrant {
            token: record,
            user,
        })
    }

    /// The access token `token` names, if it is one and active, with its
    /// user (none for a client-credentials token).
    ///
    /// # Errors
    /// `InvalidToken` for an unknown, expired, revoked or refresh token; a
    /// store failure.
    pub(crate) fn active_access_token(
        &self,
        token: &str,
    ) -> Result<(TokenRecord, Option<User>), BearerError> {
        let now = self.ports.clock.now();
        self.ports
            .tokens
            .find_token_with_user(&SecretDigest::of(token))?
            .filter(|(t, _)| t.kind == TokenKind::Access && t.is_active(now))
            .ok_or(BearerError::InvalidToken)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::AuthMethod;
    use crate::params::Params;
    use crate::service::fixtures::{world, ALICE_PASSWORD};
    use proptest::prelude::*;

    #[test]
    fn header_parsing_follows_rfc_6750() {
        // No bearer credentials at all (answered without an error code,
        // §3.1) versus a header off the §2.1 syntax (`invalid_request`).
        for header in [None, Some("Basic abc")] {
            let parsed = parse_bearer_header(header);
            assert!(matches!(parsed, Err(BearerError::Missing)), "{header:?}");
        }
        for header in ["Bearer", "Bearer a b", "Bearer é"] {
            let parsed = parse_bearer_header(Some(header));
            assert!(matches!(parsed, Err(BearerError::Malformed)), "{header}");
        }
        assert_eq!(
            parse_bearer_header(Some("bearer abc-_.~+/==")).unwrap(),
            "abc-_.~+/=="
        );
    }

    #[test]
    fn tokens_are_checked_for_kind_scope_and_user() {
        let w = world();
        let (client, secret) = w.client(AuthMethod::ClientSecretPost);
        let id = client.id.as_str();
        let issue = |pairs: &[(&str, &str)]| {
            let mut all = vec![("client_id", id), ("client_secret", secret.as_str())];
            all.extend_from_slice(pairs);
            w.services
                .token(None, &Params::from_pairs(all))
                .unwrap()
                .tokens
        };
        let user_tokens = issue(&[
            ("grant_type", "password"),
            ("username", "alice"),
            ("password", ALICE_PASSWORD),
        ]);
        let email_only = issue(&[
            ("grant_type", "password"),
            ("username", "alice"),
            ("password", ALICE_PASSWORD),
            ("scope", "email"),
        ]);
        let app_token = issue(&[("grant_type", "client_credentials")]);
        let check = |token: &str| {
            w.services
                .authenticate_bearer(Some(&format!("Bearer {token}")), "profile")
        };

        assert_eq!(
            check(user_tokens.access_token.expose()).unwrap().user.id,
            w.alice.id
        );
        assert!(matches!(
            check(user_tokens.refresh_token.unwrap().expose()),
            Err(BearerError::InvalidToken)
        ));
        assert!(matches!(
            check(email_only.access_token.expose()),
            Err(BearerError::InsufficientScope("profile"))
        ));
        assert!(matches!(
            check(app_token.access_token.expose()),
            Err(BearerError::NoUser(_))
        ));
        assert!(matches!(check("unknown"), Err(BearerError::InvalidToken)));
    }

    #[test]
    fn one_token_by_one_method_rfc_6750_section_2() {
        let header = Some("Bearer abc");
        assert_eq!(presented_token(header, &[]).unwrap(), "abc");
        assert_eq!(presented_token(None, &["abc"]).unwrap(), "abc");
        // Another scheme is no bearer token: the body's is the one.
        assert_eq!(
            presented_token(Some("Basic Zm9v"), &["abc"]).unwrap(),
            "abc"
        );
        for (header, body) in [
            (header, &["abc"][..]),
            (header, &["def"][..]),
            (None, &["abc", "abc"][..]),
            (Some("Bearer"), &["abc"][..]),
        ] {
            assert!(
                matches!(presented_token(header, body), Err(BearerError::Repeated)),
                "{header:?} {body:?}"
            );
        }
        assert!(matches!(
            presented_token(None, &[]),
            Err(BearerError::Missing)
        ));
        for bad in ["", "a b", "é", "abc?"] {
            assert!(
                matches!(presented_token(None, &[bad]), Err(BearerError::Malformed)),
                "{bad:?}"
            );
        }
        assert!(matches!(
            presented_token(Some("Bearer a b"), &[]),
            Err(BearerError::Malformed)
        ));
    }

    proptest! {
        #[test]
        fn header_parser_never_panics(header in "\\PC{0,64}") {
            let _ = parse_bearer_header(Some(&header));
        }
    }
}
